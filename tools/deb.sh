#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the Debian packages of debian/ (xen-zcopy-dkms, libxenzcopy0,
# libxenzcopy-dev), built with dpkg-buildpackage -us -uc -b from a clean
# copy of the tree in build/deb/src (so build/ and the tree's objects stay
# out of it), then checked by lintian. The .debs, the .changes and
# lintian's output (build/deb/lintian.log) land in build/deb. Installs
# the build tools from Debian's registry by package name. Prints one
# [PASS]/[FAIL] deb@CHECK line per check (the build, lintian, the files
# each package must hold) and "N passed, N failed" last, as make check's
# host gates do; exits non-zero if the build fails or a check fails.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/deb

die() { echo "deb: error: $*" >&2; exit 2; }

passed=0
failed=0
result() {
	if [ "$2" = ok ]; then
		echo "[PASS] deb@$1"
		passed=$((passed + 1))
	else
		echo "[FAIL] deb@$1"
		failed=$((failed + 1))
	fi
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

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
	result build fail
	finish
fi
ls -1 "$OUT"/*.deb
result build ok

echo "deb: lintian (log: build/deb/lintian.log)"
lintian --info --display-info --pedantic "$OUT"/*.changes >"$OUT/lintian.log" 2>&1 || true
cat "$OUT/lintian.log"
if grep -E '^[EW]: ' "$OUT/lintian.log" >/dev/null; then
	echo "deb: lintian reports errors or warnings"
	result lintian fail
else
	echo "deb: lintian clean of errors and warnings"
	result lintian ok
fi

# contains PACKAGE PATH...: the .deb of PACKAGE holds every PATH.
contains() {
	local p=$1 deb list f ok=ok
	shift
	deb=$(ls "$OUT/${p}"_*.deb 2>/dev/null | tail -1 || true)
	[ -n "$deb" ] || { echo "deb: no $p .deb"; result "contents-$p" fail; return; }
	list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
	for f in "$@"; do
		if ! printf '%s\n' "$list" | grep -Ex "$f" >/dev/null; then
			echo "deb: $p has no $f"
			ok=fail
		fi
	done
	result "contents-$p" $ok
}
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")
contains xen-zcopy-dkms /lib/udev/rules.d/72-xen-zcopy.rules \
	/etc/modules-load.d/xen-zcopy.conf "/usr/src/xen-zcopy-$ver/dkms.conf" \
	"/usr/src/xen-zcopy-$ver/drivers/gpu/drm/xen/xen_zcopy_drv.c"
contains libxenzcopy0 '/usr/lib/[a-z0-9_-]+/libxenzcopy\.so\.0(\..*)?'
contains libxenzcopy-dev /usr/include/xenzcopy.h /usr/include/drm/xen_zcopy_drm.h \
	'/usr/lib/[a-z0-9_-]+/pkgconfig/xenzcopy\.pc'
finish
