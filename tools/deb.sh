#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the Debian packages of debian/ (xen-zcopy-dkms, libxenzcopy0,
# libxenzcopy-dev), built with dpkg-buildpackage -us -uc -b from a clean
# copy of the tree in build/deb/src (so build/ and the tree's objects stay
# out of it), then checked by lintian. The .debs, the .changes and
# lintian's output (build/deb/lintian.log) land in build/deb. Installs
# the build tools from Debian's registry by package name. Exits non-zero
# if the build fails or lintian reports an error or warning.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/deb

die() { echo "deb: error: $*" >&2; exit 2; }

mkdir -p "$OUT"
ZC_APT_LOGDIR=$OUT
# shellcheck source=tools/lib/host.sh
. "$TOP/tools/lib/host.sh"

apt_install dpkg-dev debhelper dh-dkms libdrm-dev pkg-config gcc make lintian

# The tracked files, as git has them in the work tree.
rm -rf "$OUT/src" "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$OUT/src"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$TOP" && xargs -0 cp --parents -t "$OUT/src" 2>/dev/null || true)
[ -f "$OUT/src/debian/control" ] || die "no debian/ in the copy"

echo "deb: dpkg-buildpackage -us -uc -b (log: build/deb/build.log)"
if ! (cd "$OUT/src" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	tail -30 "$OUT/build.log"
	die "dpkg-buildpackage failed"
fi
ls -1 "$OUT"/*.deb

echo "deb: lintian (log: build/deb/lintian.log)"
lintian --info --display-info --pedantic "$OUT"/*.changes >"$OUT/lintian.log" 2>&1 || true
cat "$OUT/lintian.log"
if grep -E '^[EW]: ' "$OUT/lintian.log" >/dev/null; then
	die "lintian reports errors or warnings"
fi
echo "deb: lintian clean of errors and warnings"
