"""Removes compilers and development headers from a debootstrapped rootfs.

Debian's python3-scipy depends on python3-pythran, which pulls g++ and the
Python headers into any root filesystem that carries scikit-learn. The
offline stand-in must look like python:*-slim, which has no compiler, so the
packages are purged and the dependencies on them are dropped from dpkg's
status file; `apt-get check` then passes and later `apt-get install` works.
Usage: python3 strip-compilers.py ROOTFS
"""
import re
import subprocess
import sys

ROOTFS = sys.argv[1]
PATTERN = re.compile(
    r"^(g\+\+|gcc|cpp|c\+\+)(-\d+)?$|^(g\+\+|gcc|cpp)-\d+-x86-64-linux-gnu$|-dev$|^python3-pythran$|^binutils|^libgcc-\d+-dev$|^build-essential$|^dpkg-dev$|^make$"
)
STATUS = f"{ROOTFS}/var/lib/dpkg/status"

installed = subprocess.run(
    ["chroot", ROOTFS, "dpkg-query", "-W", "-f=${Package}\n"], check=True, capture_output=True, text=True
).stdout.split()
doomed = sorted(p for p in installed if PATTERN.search(p))
if doomed:
    subprocess.run(["chroot", ROOTFS, "dpkg", "--purge", "--force-depends", *doomed], check=True, capture_output=True)

text = open(STATUS).read()
gone = set(doomed)


def prune(field_value: str) -> str:
    keep = []
    for group in field_value.split(","):
        alternatives = [a for a in group.split("|") if a.strip().split(" ")[0].split(":")[0] not in gone]
        if alternatives:
            keep.append("|".join(alternatives).strip())
    return ", ".join(keep)


out = []
for stanza in text.split("\n\n"):
    lines = []
    for line in stanza.split("\n"):
        m = re.match(r"^(Depends|Pre-Depends|Recommends): (.*)$", line)
        if m:
            value = prune(m.group(2))
            if not value:
                continue
            line = f"{m.group(1)}: {value}"
        lines.append(line)
    out.append("\n".join(lines))
open(STATUS, "w").write("\n\n".join(out))
print(f"removed {len(doomed)} compiler/dev packages")
