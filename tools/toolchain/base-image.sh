#!/usr/bin/env bash
# Ensures a Python base image exists for the example builds and prints its
# name on the last line of stdout. The real python:3.10-slim is tried first;
# where it cannot be pulled (no Docker Hub here) an offline stand-in is built
# from Debian's packages, carrying the example's Python stack as OS packages.
# The stand-in is Debian 13 (trixie): Python 3.13, FastAPI 0.115, pydantic 2,
# scikit-learn 1.4, PyTorch 2.6 (CPU). It sets PIP_NO_INDEX=1 and
# PIP_NO_DEPS=1: pip then takes what the OS ships ("Requirement already
# satisfied") instead of failing to reach PyPI; and PIP_NO_BUILD_ISOLATION=0,
# which (pip's inverted PIP_NO_* booleans) turns build isolation OFF, so
# `pip install .` of a project builds with the OS's setuptools and wheel
# instead of trying to download them into an isolated build environment.
. "$(dirname "$0")/lib.sh"

REAL="${ML_DOCKER_UPSTREAM_BASE_IMAGE:-python:3.10-slim}"
OFFLINE="${ML_DOCKER_OFFLINE_BASE_IMAGE:-ml-docker/python-offline:3.13-trixie}"
SUITE=trixie
PACKAGES=python3,python3-venv,python3-pip,ca-certificates,passwd
PACKAGES+=,python3-sklearn,python3-pandas,python3-joblib,python3-numpy
PACKAGES+=,python3-fastapi,python3-uvicorn,python3-yaml,python3-pydantic,python3-httpx
# PyTorch (CPU), for a PyTorch example project. Its cost, measured here:
# the image is 1.28 GB with it and 406 MB without (libtorch2.6, and through
# libopenmpi40 -> libucx0 a ROCm/LLVM 17 chain, all hard dependencies), and
# the build takes about 20 s more CPU (86 s against 66 s, user + sys).
PACKAGES+=,python3-torch
PACKAGES+=,python3-setuptools,python3-wheel
# What model servers written by others commonly import (settings, logging,
# form uploads, metrics, fast JSON) and the build backends their
# pyproject.toml names, so those projects build and serve here as they would
# from PyPI. flit is Debian's package of flit_core.
PACKAGES+=,python3-pydantic-settings,python3-dotenv,python3-python-multipart
PACKAGES+=,python3-loguru,python3-structlog,python3-prometheus-client,python3-orjson
PACKAGES+=,python3-poetry-core,python3-hatchling,flit,python3-pdm-backend
PACKAGES="${ML_DOCKER_OFFLINE_BASE_PACKAGES:-$PACKAGES}"

pick() { say "base image: $1 ($2)" >&2; echo "$1"; }

if docker_cli image inspect "$REAL" >/dev/null 2>&1; then
  pick "$REAL" "upstream image, already present"; exit 0
fi
if timeout 20 docker_cli pull -q "$REAL" >/dev/null 2>&1; then
  pick "$REAL" "upstream image, pulled"; exit 0
fi
# The package list is part of the image's identity: a machine that built the
# stand-in before the list changed builds it again instead of reusing it.
PACKAGES_SUM=$(printf '%s' "$SUITE $PACKAGES" | sha256sum | cut -c1-16)
if [ "$(docker_cli image inspect -f '{{ index .Config.Labels "ml-docker.base-packages" }}' "$OFFLINE" 2>/dev/null)" = "$PACKAGES_SUM" ]; then
  pick "$OFFLINE" "offline stand-in for $REAL, which cannot be pulled here; reused"; exit 0
fi

command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
say "$REAL cannot be pulled: building $OFFLINE from Debian $SUITE's packages (about 90 s of CPU; longer on a busy machine)" >&2
ROOTFS=$(mktemp -d /tmp/ml-docker-rootfs.XXXXXX)
# In memory when there is room (the root file system is about 1.3 GB): dpkg's
# many small writes, the strip and the tar then never wait for the disk.
if [ "$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)" -ge 8 ]; then
  mount -t tmpfs -o size=6g,mode=0755 ml-docker-rootfs "$ROOTFS" 2>/dev/null || true
fi
cleanup() {
  mountpoint -q "$ROOTFS" && umount "$ROOTFS"
  rm -rf "$ROOTFS"
}
trap cleanup EXIT
started=$SECONDS
# mmdebstrap rather than debootstrap: apt resolves and downloads in a few
# seconds what debootstrap's shell resolver and serial downloads take about a
# minute for, and its hooks let us change how the packages are configured:
# - dpkg --force-unsafe-io while building (no fsync per file; removed after);
# - Python byte-compilation postponed: each package's postinst calls
#   py3compile, one process at a time (about 50 s of CPU for this stack);
#   a no-op py3compile stands in while installing, then compileall compiles
#   everything once on every core, leaving out test suites (a third of the
#   files), and the real py3compile is put back for later installs;
# - like Debian's slim images (python:*-slim's base): no docs, man pages or
#   translations, for this install and any later apt-get install.
LOG="$TOOLCHAIN_STATE/mmdebstrap.log"
HOOKS="$(cd "$(dirname "$0")" && pwd)/base-image-hooks.sh"
mmdebstrap --variant=minbase --include="$PACKAGES" --format=directory \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --setup-hook="sh '$HOOKS' setup \"\$1\"" \
  --essential-hook="sh '$HOOKS' essential \"\$1\"" \
  --customize-hook="sh '$HOOKS' customize \"\$1\"" \
  "$SUITE" "$ROOTFS" http://deb.debian.org/debian >"$LOG" 2>&1 \
  || { tail -n 20 "$LOG" >&2; die "mmdebstrap failed; see $LOG"; }
[ -x "$ROOTFS/usr/bin/py3compile" ] && [ ! -e "$ROOTFS/usr/bin/py3compile.ml-docker" ] \
  || die "py3compile was not restored in the rootfs; see $LOG"
bootstrapped=$SECONDS
# Like python:*-slim: no compilers (scipy's Debian packaging pulls g++ in).
python3 "$(dirname "$0")/strip-compilers.py" "$ROOTFS" >&2
chroot "$ROOTFS" apt-get check >/dev/null || die "the stripped rootfs has broken dependencies"
# Keep the image lean: no apt lists or package caches in the base layer.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb
stripped=$SECONDS
tar -C "$ROOTFS" -c . | docker_cli import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  -c 'ENV PIP_NO_INDEX=1 PIP_NO_DEPS=1 PIP_NO_BUILD_ISOLATION=0' \
  -c "LABEL ml-docker.base-packages=$PACKAGES_SUM" \
  -c 'CMD ["python3"]' - "$OFFLINE" >/dev/null
say "base image: built in $((SECONDS - started)) s (mmdebstrap $((bootstrapped - started)) s, strip $((stripped - bootstrapped)) s, import $((SECONDS - stripped)) s)" >&2
pick "$OFFLINE" "offline stand-in for $REAL, built now"
