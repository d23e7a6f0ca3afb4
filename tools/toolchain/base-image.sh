#!/usr/bin/env bash
# Ensures a Python base image exists for the example builds and prints its
# name on the last line of stdout. The real python:3.10-slim is tried first;
# where it cannot be pulled (no Docker Hub here) an offline stand-in is built
# from Debian's packages, carrying the example's Python stack as OS packages.
# It sets PIP_NO_INDEX=1 and PIP_NO_DEPS=1: pip then takes what the OS ships
# ("Requirement already satisfied") instead of failing to reach PyPI.
. "$(dirname "$0")/lib.sh"

REAL="${ML_DOCKER_UPSTREAM_BASE_IMAGE:-python:3.10-slim}"
OFFLINE="${ML_DOCKER_OFFLINE_BASE_IMAGE:-ml-docker/python-offline:3.11-bookworm}"
PACKAGES=python3,python3-venv,python3-pip,ca-certificates,passwd,python3-sklearn,python3-pandas,python3-joblib,python3-fastapi,python3-uvicorn,python3-yaml

pick() { say "base image: $1 ($2)" >&2; echo "$1"; }

if docker_cli image inspect "$REAL" >/dev/null 2>&1; then
  pick "$REAL" "upstream image, already present"; exit 0
fi
if timeout 20 docker_cli pull -q "$REAL" >/dev/null 2>&1; then
  pick "$REAL" "upstream image, pulled"; exit 0
fi
if docker_cli image inspect "$OFFLINE" >/dev/null 2>&1; then
  pick "$OFFLINE" "offline stand-in for $REAL, which cannot be pulled here; reused"; exit 0
fi

command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
say "$REAL cannot be pulled: building $OFFLINE from Debian's packages (about a minute)" >&2
ROOTFS=$(mktemp -d /tmp/ml-docker-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" http://deb.debian.org/debian \
  >"$TOOLCHAIN_STATE/debootstrap.log" 2>&1 \
  || { tail -n 20 "$TOOLCHAIN_STATE/debootstrap.log" >&2; die "debootstrap failed; see $TOOLCHAIN_STATE/debootstrap.log"; }
# Like python:*-slim: no compilers (scipy's Debian packaging pulls g++ in).
python3 "$(dirname "$0")/strip-compilers.py" "$ROOTFS" >&2
chroot "$ROOTFS" apt-get check >/dev/null || die "the stripped rootfs has broken dependencies"
# Keep the image lean: no apt lists or package caches in the base layer.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb
tar -C "$ROOTFS" -c . | docker_cli import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  -c 'ENV PIP_NO_INDEX=1 PIP_NO_DEPS=1' \
  -c 'CMD ["python3"]' - "$OFFLINE" >/dev/null
pick "$OFFLINE" "offline stand-in for $REAL, built now"
