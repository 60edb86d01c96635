#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug kernel of `make check-debug`: Debian's linux-source-6.1 built
# from x86_64_defconfig plus tools/testbed/debug.config (Xen PV Dom0/DomU,
# the DRM modules the testbed loads, and the kernel's own checkers:
# lockdep, DEBUG_LIST, DEBUG_OBJECTS, kmemleak, KFENCE, SLUB debugging,
# page poisoning, init_on_free, DEBUG_VM, DMABUF_DEBUG), with the fixes
# tools/testbed/debug-kernel-*.patch applied to the sources.
#
#   debug-kernel.sh build     configure and build (cached), print the tree
#   debug-kernel.sh install DIR   build, then put bzImage and the modules
#                             into DIR (DIR/boot/vmlinuz-REL, DIR/lib/modules)
#   debug-kernel.sh release   the kernel release string (after build)
#
# The tree is build/debug-kernel/obj (also the KDIR the module and vkms
# are built against). It is rebuilt when linux-source-6.1's version, the
# fragment, the fixes or the compiler change (build/debug-kernel/key); kbuild only
# recompiles what a changed option touches.
#
# No KASAN: an x86 PV guest cannot run it in 6.1. Xen PV enters through
# xen_start_kernel(), which never calls kasan_early_init() (only
# x86_64_start_kernel() does), and kasan_init() switches to its own page
# tables with load_cr3() and writes them natively, while a PV guest's page
# tables are read-only to it and only Xen loads CR3. KFENCE and SLUB's red
# zones and poisoning cover out-of-bounds and use-after-free instead.
#
# The build runs at nice 19 with -j2 (DEBUG_KERNEL_JOBS): it shares the
# machine.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DK=$TOP/build/debug-kernel
SRC=$DK/linux-source-6.1
OBJ=$DK/obj
FRAGMENT=$TOP/tools/testbed/debug.config
# Fixes of linux-source-6.1 the debug run needs (each file says why).
PATCHES=("$TOP"/tools/testbed/debug-kernel-*.patch)
JOBS=${DEBUG_KERNEL_JOBS:-2}
ZC_APT_LOGDIR=$DK

die() { echo "debug-kernel: error: $*" >&2; exit 2; }
# shellcheck source=tools/lib/host.sh
. "$TOP/tools/lib/host.sh"

# What a kernel build needs besides gcc and make.
BUILD_PACKAGES="linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils kmod patch"

secs() { echo $(($(date +%s) - $1)); }

key() {
	{
		dpkg-query -W -f='${Version}\n' linux-source-6.1
		sha256sum <"$FRAGMENT"
		cat "${PATCHES[@]}" | sha256sum
		gcc --version | head -1
	} | sha256sum | cut -d' ' -f1
}

# Every option the fragment sets must have its value in the result:
# olddefconfig drops what a dependency forbids, silently.
check_config() {
	local line k want got bad=0
	while read -r line; do
		case $line in
		CONFIG_*=*) k=${line%%=*} want=${line#*=} ;;
		"# CONFIG_"*" is not set") k=${line#\# } k=${k%% *} want=n ;;
		*) continue ;;
		esac
		got=$(sed -n "s/^$k=//p" "$OBJ/.config")
		[ -n "$got" ] || got=n
		if [ "$got" != "$want" ]; then
			echo "  $k: the fragment wants $want, the config has $got"
			bad=1
		fi
	done <"$FRAGMENT"
	[ $bad = 0 ] || die "tools/testbed/debug.config does not apply to linux-source-6.1"
}

build() {
	local k t0 srcver
	apt_install $BUILD_PACKAGES
	k=$(key)
	if [ -f "$DK/key" ] && [ "$(cat "$DK/key")" = "$k" ] &&
	   [ -f "$OBJ/arch/x86/boot/bzImage" ]; then
		echo "  debug kernel $(cat "$OBJ/include/config/kernel.release") (cached)"
		return 0
	fi
	rm -f "$DK/key"
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	srcver="$srcver $(cat "${PATCHES[@]}" | sha256sum | cut -c1-16)"
	if [ ! -f "$DK/source-version" ] || [ "$(cat "$DK/source-version")" != "$srcver" ]; then
		# The object tree stays when only the fixes changed: the
		# sources keep the tarball's times, so kbuild recompiles what
		# a fix touches and nothing else.
		[ -f "$DK/source-version" ] &&
			[ "$(cut -d' ' -f1 "$DK/source-version")" = "${srcver%% *}" ] ||
			rm -rf "$OBJ"
		rm -rf "$SRC"
		mkdir -p "$DK"
		t0=$(date +%s)
		tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$DK"
		for p in "${PATCHES[@]}"; do
			patch -s -p1 -d "$SRC" <"$p" || die "$(basename "$p") does not apply"
		done
		echo "$srcver" >"$DK/source-version"
		echo "  extracted linux-source-6.1 ${srcver%% *}, ${#PATCHES[@]} fix(es) applied ($(secs "$t0")s)"
	fi
	mkdir -p "$OBJ"
	make -s -C "$SRC" O="$OBJ" x86_64_defconfig >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$FRAGMENT" \
		>"$DK/merge-config.log" 2>&1 || { tail "$DK/merge-config.log"; die "merge_config failed"; }
	make -s -C "$SRC" O="$OBJ" olddefconfig >>"$DK/merge-config.log" 2>&1 ||
		{ tail "$DK/merge-config.log"; die "olddefconfig failed"; }
	check_config
	t0=$(date +%s)
	echo "  building $(make -s -C "$SRC" O="$OBJ" kernelrelease) (nice -n 19 make -j$JOBS; log in build/debug-kernel/build.log)"
	nice -n 19 make -C "$SRC" O="$OBJ" -j"$JOBS" bzImage modules >"$DK/build.log" 2>&1 ||
		{ tail -30 "$DK/build.log"; die "the debug kernel does not build"; }
	echo "$(date -u +%FT%TZ) build $(secs "$t0")s" >>"$DK/build-times"
	echo "  built in $(secs "$t0")s"
	echo "$k" >"$DK/key"
}

# Installs the kernel and its modules into $1 (the testbed's image tree),
# once per build.
install_tree() {
	local dest=$1 rel
	build
	rel=$(cat "$OBJ/include/config/kernel.release")
	if [ -f "$dest/.debug-kernel-key" ] && cmp -s "$dest/.debug-kernel-key" "$DK/key" &&
	   [ -f "$dest/boot/vmlinuz-$rel" ]; then
		return 0
	fi
	rm -rf "$dest"
	mkdir -p "$dest/boot"
	cp "$OBJ/arch/x86/boot/bzImage" "$dest/boot/vmlinuz-$rel"
	cp "$OBJ/.config" "$dest/boot/config-$rel"
	nice -n 19 make -s -C "$SRC" O="$OBJ" INSTALL_MOD_PATH="$dest" modules_install \
		>"$DK/modules-install.log" 2>&1 ||
		{ tail "$DK/modules-install.log"; die "modules_install failed"; }
	cp "$DK/key" "$dest/.debug-kernel-key"
}

case ${1:-build} in
build) build; echo "$OBJ" ;;
install) [ -n "${2:-}" ] || die "install needs a directory"; install_tree "$2" ;;
release) cat "$OBJ/include/config/kernel.release" ;;
*) sed -n 's/^#   //p' "$0"; exit 2 ;;
esac
