#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make arm64: cross-builds xen_drm_zcopy.ko for Debian's arm64 6.1 kernel
# (the R-Car architecture; there CONFIG_XEN_PV is off and the driver maps
# foreign pages the auto-translated way).
#
#   tools/arm64.sh [MAKE-ARGS...]     e.g. tools/arm64.sh W=1
#
# The arm64 headers package cannot be installed beside the amd64 toolchain,
# so it is downloaded (apt-get download, after dpkg --add-architecture
# arm64) and unpacked into build/arm64/root. Its Makefile includes the
# architecture-independent linux-headers-<N>-common tree and its scripts
# link points at linux-kbuild-6.1, whose host tools serve every
# architecture: both are installed on the host. The ABI number N is the
# testbed's (build/testbed/kver).
#
# Output: build/arm64/xen_drm_zcopy.ko. Fails on any compiler or modpost
# warning, or if the result is not an aarch64 module for that kernel.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/arm64
TESTBED_CACHE=$TOP/build/testbed

die() { echo "arm64: error: $*" >&2; exit 2; }
log() { echo "arm64: $*"; }

mkdir -p "$OUT" "$TESTBED_CACHE"

ZC_APT_LOGDIR=$OUT
# shellcheck source=tools/lib/host.sh
. "$TOP/tools/lib/host.sh"




fetch_headers() {
	local pkg=linux-headers-$ABI-arm64 deb
	ROOT=$OUT/root
	KDIR=$ROOT/usr/src/$pkg
	[ -f "$KDIR/Module.symvers" ] && [ -L "$ROOT/usr/lib/linux-kbuild-6.1" ] && return 0

	apt_add_arm64
	apt-cache show "$pkg:arm64" >/dev/null 2>&1 || apt_update
	mkdir -p "$OUT/debs"
	rm -f "$OUT"/debs/"$pkg"_*.deb
	log "apt-get download $pkg:arm64"
	(cd "$OUT/debs" && apt-get "${APT_OPTS[@]}" download "$pkg:arm64" >"$OUT/download.log" 2>&1) ||
		{ tail "$OUT/download.log"; die "apt-get download $pkg:arm64 failed"; }
	deb=$(ls "$OUT"/debs/"$pkg"_*_arm64.deb)
	rm -rf "$ROOT"
	dpkg -x "$deb" "$ROOT"
	# The tree's scripts/ and tools/ links point at ../../lib/linux-kbuild-6.1.
	mkdir -p "$ROOT/usr/lib"
	ln -sfn /usr/lib/linux-kbuild-6.1 "$ROOT/usr/lib/linux-kbuild-6.1"
	[ -f "$KDIR/Module.symvers" ] || die "$deb has no Module.symvers"
}

resolve_kernel
ABI=${KVER%-amd64}
apt_install gcc-aarch64-linux-gnu make file linux-kbuild-6.1 "linux-headers-$ABI-common"
fetch_headers

# A private copy of the sources (same layout as the tree, for the Kbuild's
# relative include path), so the host build's objects are left alone.
SRC=$OUT/src
DRV=$SRC/drivers/gpu/drm/xen
rm -rf "$SRC"
mkdir -p "$DRV" "$SRC/include/uapi/drm"
cp "$TOP"/drivers/gpu/drm/xen/{Kbuild,*.c,*.h} "$DRV/"
cp "$TOP/include/uapi/drm/xen_zcopy_drm.h" "$SRC/include/uapi/drm/"

log "building against $KDIR ($*)"
if ! make -C "$KDIR" M="$DRV" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- "$@" modules \
	>"$OUT/build.log" 2>&1; then
	sed "s|$SRC/||g" "$OUT/build.log" | tail -30
	die "the arm64 build failed (build/arm64/build.log)"
fi
if grep -E 'warning:|error:|WARNING:|ERROR:' "$OUT/build.log" | sed "s|$SRC/||g"; then
	die "the arm64 build has warnings (build/arm64/build.log)"
fi

cp "$DRV/xen_drm_zcopy.ko" "$OUT/xen_drm_zcopy.ko"
desc=$(file -b "$OUT/xen_drm_zcopy.ko")
vermagic=$(/sbin/modinfo -F vermagic "$OUT/xen_drm_zcopy.ko" 2>/dev/null ||
	   modinfo -F vermagic "$OUT/xen_drm_zcopy.ko")
case $desc in
*"ARM aarch64"*) ;;
*) die "not an aarch64 module: $desc" ;;
esac
case $vermagic in
"$ABI-arm64 "*aarch64*) ;;
*) die "unexpected vermagic: $vermagic" ;;
esac
log "ok: build/arm64/xen_drm_zcopy.ko"
log "  $desc"
log "  vermagic: $vermagic"
