#!/bin/sh
# mmdebstrap hooks of base-image.sh: sh base-image-hooks.sh STAGE ROOTFS
#   setup      dpkg without fsync while the image is built
#   essential  a no-op py3compile while the Python packages are configured
#              (their postinst scripts call it one package at a time)
#   customize  the real py3compile back, then one byte-compilation of the
#              Python packages on every core, test suites left out; the
#              fsync setting removed again
set -eu
stage=$1
root=$2
PY3COMPILE=/usr/bin/py3compile
UNSAFE_IO=/etc/dpkg/dpkg.cfg.d/ml-docker-unsafe-io

case "$stage" in
  setup)
    mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io >"$root$UNSAFE_IO"
    ;;
  essential)
    chroot "$root" dpkg-divert --quiet --local --rename --divert "$PY3COMPILE.ml-docker" --add "$PY3COMPILE"
    printf '#!/bin/sh\n# stand-in while the base image is built; see base-image-hooks.sh\nexit 0\n' >"$root$PY3COMPILE"
    chmod 755 "$root$PY3COMPILE"
    ;;
  customize)
    rm -f "$root$PY3COMPILE"
    chroot "$root" dpkg-divert --quiet --local --rename --divert "$PY3COMPILE.ml-docker" --remove "$PY3COMPILE"
    [ -x "$root$PY3COMPILE" ] || { echo "py3compile missing after the divert was removed" >&2; exit 1; }
    # -x: a regular expression searched in each path. Test suites are never
    # imported by an application; a later `py3compile -p PKG` would still
    # compile them, as Debian does.
    chroot "$root" python3 -m compileall -q -j 0 -x '/tests?/' /usr/lib/python3/dist-packages /usr/share/python3 >/dev/null
    rm -f "$root$UNSAFE_IO"
    ;;
  *)
    echo "usage: base-image-hooks.sh setup|essential|customize ROOTFS" >&2
    exit 2
    ;;
esac
