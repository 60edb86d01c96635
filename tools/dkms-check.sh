#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make dkms-check: the module builds through DKMS, from the source tree
# that make dkms-install and the xen-zcopy-dkms package install, against
# the testbed's Debian kernel headers (build/testbed/kver when those are
# installed, else the newest linux-headers-6.1.*-amd64, else the kernel
# testbed.sh would resolve). DKMS works in build/dkms (its source, build
# and install trees), so the host's /usr/src, /var/lib/dkms/<modules> and
# /lib/modules stay as they are; only the MOK key pair Debian's dkms
# signs modules with is created in /var/lib/dkms on its first use, as on
# any machine that builds a DKMS module. Installs dkms and the headers from
# Debian's registry by package name. Prints one [PASS]/[FAIL] line per
# check and "N passed, N failed" last; exits non-zero on a failure.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/dkms

die() { echo "dkms-check: error: $*" >&2; exit 2; }

mkdir -p "$OUT"
ZC_APT_LOGDIR=$OUT
# shellcheck source=tools/lib/host.sh
. "$TOP/tools/lib/host.sh"

pick_kernel() {
	local f=$TOP/build/testbed/kver newest
	if [ -f "$f" ] && [ -d "/usr/src/linux-headers-$(cat "$f")" ]; then
		KVER=$(cat "$f")
		return
	fi
	newest=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$newest" ]; then
		KVER=${newest#/usr/src/linux-headers-}
		return
	fi
	resolve_kernel
}

passed=0
failed=0
result() {
	if [ "$2" = ok ]; then
		echo "[PASS] dkms@$1"
		passed=$((passed + 1))
	else
		echo "[FAIL] dkms@$1"
		failed=$((failed + 1))
	fi
}

# One dkms step; its output goes to build/dkms/<step>.log.
dkms_step() {
	local name=$1
	shift
	if dkms "$@" --sourcetree "$OUT/src" --dkmstree "$OUT/tree" \
		--installtree "$OUT/install" >"$OUT/$name.log" 2>&1; then
		result "$name" ok
	else
		tail -30 "$OUT/$name.log"
		result "$name" fail
		return 1
	fi
}

pick_kernel
apt_install dkms kmod make gcc "linux-headers-$KVER"
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")
[ -n "$VERSION" ] || die "no PACKAGE_VERSION in dkms.conf"
echo "dkms-check: xen-zcopy $VERSION against $KVER, $(dkms --version 2>&1 | head -1)"

rm -rf "$OUT/src" "$OUT/tree" "$OUT/install"
mkdir -p "$OUT/src" "$OUT/tree" "$OUT/install"
make -s -C "$TOP" dkms-source DKMS_SRC="$OUT/src/xen-zcopy-$VERSION"

ko=$OUT/tree/xen-zcopy/$VERSION/$KVER/$(uname -m)/module/xen_drm_zcopy.ko
if dkms_step add add -m xen-zcopy -v "$VERSION" &&
   dkms_step build build -m xen-zcopy -v "$VERSION" -k "$KVER" \
	--kernelsourcedir "/usr/src/linux-headers-$KVER"; then
	# Debian's dkms may compress the module it keeps.
	ko=$(ls "$ko"* 2>/dev/null | head -1 || true)
	if [ -n "$ko" ] && [ "$(modinfo -F name "$ko")" = xen_drm_zcopy ] &&
	   modinfo -F vermagic "$ko" | grep -q "^$KVER "; then
		result module-vermagic ok
	else
		echo "  module: ${ko:-none}, vermagic: $( [ -n "$ko" ] && modinfo -F vermagic "$ko")"
		result module-vermagic fail
	fi
	# Signed with dkms' MOK, as Secure Boot needs (see README).
	if [ -n "$ko" ] && [ -n "$(modinfo -F signer "$ko")" ]; then
		result module-signed ok
	else
		result module-signed fail
	fi
	if dkms status -m xen-zcopy -v "$VERSION" -k "$KVER" --dkmstree "$OUT/tree" \
		--sourcetree "$OUT/src" --installtree "$OUT/install" 2>&1 | grep -q ': built'; then
		result status-built ok
	else
		dkms status --dkmstree "$OUT/tree" --sourcetree "$OUT/src" 2>&1 | tail -5
		result status-built fail
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
