#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The xen-zcopy testbed: QEMU (TCG) boots Debian's Xen 4.17 with Debian's
# stock 6.1 kernel as a PV Dom0, loads vkms (built from linux-source-6.1),
# vgem, gntdev, gntalloc and xen_drm_zcopy, runs the tests inside and
# reports. Everything comes from Debian's registry by package name.
#
#   testbed.sh check [GLOB]   run the suite (GLOB selects bin or bin@subtest)
#   testbed.sh demo           run tools/zcopy_demo in Dom0, then (x86, with
#                             the DomU) tools/displ_demo: a DomU's picture
#                             through displ-be to vkms, read back through
#                             vkms' writeback connector; the PNGs of what
#                             the guest drew and what vkms scanned out go
#                             to build/demo/
#   testbed.sh bench          run tools/bench (zcopy_bench) in Dom0, write
#                             build/bench/bench-ARCH.csv, then the table and
#                             chart of every arch measured (tools/bench/report.sh)
#   testbed.sh bench-all      bench, then bench-arm64 (make bench)
#   testbed.sh bench-backend  tools/displ-be's CPU per flip, zero copy vs
#                             --copy, at 1280x720 and 1920x1080, frontend-
#                             and backend-allocated buffers (with the DomU);
#                             build/bench/backend-amd64.{csv,txt}
#   testbed.sh setup          install, fetch and build only
#   testbed.sh check-arm64 [GLOB], demo-arm64, setup-arm64
#                             the same on arm64 (the R-Car architecture):
#                             Xen 4.17 arm64 + Debian's arm64 6.1 kernel as an
#                             auto-translated Dom0 on qemu-system-aarch64 virt
#   testbed.sh check-all [GLOB]  check, then check-arm64 (make check); the
#                             last line counts both runs
#
# Environment: TESTS=GLOB (same as the argument), TESTBED_TIMEOUT=seconds,
# TESTBED_DOMU=0 to run without the PV DomU (cross-domain tests then skip),
# TESTBED_BARE=0 to skip the boot without Xen (testbed@refuses-without-xen),
# TESTBED_MODULE_KO=path a module built elsewhere to load instead of the
# tree's, TESTBED_REUSE_INITRD=1 with it: no install or build, the last
# run's initramfs with that module put in (tools/mutate.sh),
# TESTBED_ARCH=arm64 (same as the -arm64 commands), TESTBED_ARM64=0 to
# leave the arm64 run out of check-all, TESTBED_LINT=0 to leave out make
# lint (check-all runs it when no GLOB is given), TESTBED_ORACLE_TRACE=1
# to print every sample of the harness' oracles (igt-tests/lib/zc_oracle.h),
# TESTBED_KERNEL=debug (make check-debug, amd64 only) to boot Dom0 and
# the DomU on the debug kernel tools/testbed/debug-kernel.sh builds (lockdep,
# kmemleak, DEBUG_OBJECTS, KFENCE, ...) instead of Debian's image; its
# caches live in build/testbed-debug/ and build/debug-kernel/.
# TESTBED_LIBXENZCOPY_DEB= a libxenzcopy0 .deb (make deb) whose library the
# amd64 Dom0 gets instead of build/lib's, as a board that installed the
# package has it; TESTBED_DEB_DIR= a folder of make deb's packages whose
# library, udev rule and modules-load.d file the amd64 Dom0 gets (check-all
# builds them first and passes build/deb; TESTBED_DEB=0 leaves that out).
# ZC_BENCH=setup,domu,frame,scale selects the benchmark's sections.
# FUZZ_CALLS=N and ZC_FUZZ_SEED=S reach igt-tests/zcopy_fuzz@random-calls
# in the guest (steps, default 100000, and the seed to replay); above 100000
# default the time limits grow with N. TESTBED_SUBTEST_TIMEOUT=seconds
# sets the per-subtest limit of the harness and zc_runner (a loaded host).
# TESTBED_IGT_RUNNER=/path/to/igt_runner (x86 check, opt-in: CI has no
# IGT) runs the suite under IGT's own runner instead of zc_runner, built
# from IGT's source as Documentation/gpu/xen-zcopy.rst says; igt_results
# is taken from beside it (TESTBED_IGT_RESULTS= elsewhere). Both and the
# libraries they load go into Dom0's /opt/igt/bin; Dom0 runs
# "igt_runner -m --inactivity-timeout 120", and the host judges the
# verdicts of results.json (build/testbed/igt-results.json) against the
# manifest as zc_runner would: pass, or a skip it expects.
# Caches live in build/testbed/ (build/testbed-arm64/) (git-ignored): a
# second run skips them.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T0=$(date +%s%N)

cmd=${1:-check}
case $cmd in
*-arm64) TESTBED_ARCH=arm64; cmd=${cmd%-arm64} ;;
esac
# The guest architecture: amd64 (x86 PV Dom0) or arm64 (auto-translated
# Dom0, the path R-Car boards take). The amd64 run resolves the kernel ABI
# (build/testbed/kver); the arm64 run uses the same one.
GARCH=${TESTBED_ARCH:-amd64}
case $GARCH in
amd64 | x86 | x86_64) GARCH=amd64; CACHE=$TOP/build/testbed ;;
arm64 | aarch64) GARCH=arm64; CACHE=$TOP/build/testbed-arm64 ;;
*) echo "testbed: error: unknown TESTBED_ARCH $GARCH" >&2; exit 2 ;;
esac
DEBUG_KERNEL=0
case ${TESTBED_KERNEL:-debian} in
debian) ;;
debug)
	[ "$GARCH" = amd64 ] || { echo "testbed: error: TESTBED_KERNEL=debug is amd64 only" >&2; exit 2; }
	DEBUG_KERNEL=1 CACHE=$TOP/build/testbed-debug
	# Every check costs: the same suite takes longer.
	TESTBED_TIMEOUT=${TESTBED_TIMEOUT:-5400} ;;
*) echo "testbed: error: unknown TESTBED_KERNEL $TESTBED_KERNEL" >&2; exit 2 ;;
esac
# Extra arguments of every guest kernel (Dom0, DomU, bare). The debug
# kernel poisons freed pages and checks the poison when it allocates them
# again (page poisoning takes precedence over init_on_free in 6.1), and
# scans for leaks at the end of the run (dom0-init.sh); zc.kernel=debug
# tells Dom0's init to have the oracles allow for it (dom0-init.sh).
GUEST_KARGS=
[ "$DEBUG_KERNEL" = 1 ] && GUEST_KARGS="page_poison=1 kmemleak=on zc.kernel=debug"
ZC_KVER_FILE=$TOP/build/testbed/kver
ZC_APT_LOGDIR=$CACHE
# shellcheck source=tools/lib/host.sh
. "$TOP/tools/lib/host.sh"

# What the guest runs: the module, test and tool binaries (per arch).
MODULE_KO=$TOP/drivers/gpu/drm/xen/xen_drm_zcopy.ko
# TESTBED_MODULE_KO: a module built elsewhere (tools/mutate.sh's mutants)
# that the guest loads instead; the tree's own is then not built.
MODULE_KO=${TESTBED_MODULE_KO:-$MODULE_KO}
TESTS_BUILD=$TOP/build/igt-tests
TOOLS_BUILD=$TOP/build/tools
# libxenzcopy as the tests and tools link it: shared on amd64 (it goes
# into the guest's library directory), static on arm64.
XZC_LIB=$TOP/build/lib
GUEST_LIBDIR=/usr/lib/x86_64-linux-gnu
BUSYBOX=/bin/busybox

# Host packages: the emulator, kernel headers and source for the Dom0
# kernel, the initramfs userland and the libraries the tests link.
# libc6-dev-i386 and lib32gcc-12-dev let gcc -m32 build zcopy_compat32's
# i386 child (not gcc-multilib: it conflicts with gcc-aarch64-linux-gnu).
HOST_PACKAGES="qemu-system-x86 busybox-static kmod cpio xz-utils gcc make patch
	libdrm-dev libxen-dev pkg-config sparse libxenmisc4.17 libxenstore4 libyajl2
	libgcc-s1 gnuplot-nox libc6-dev-i386 lib32gcc-12-dev libpng-dev"

# Modules the Dom0 needs besides ours and vkms (their dependencies follow).
GUEST_MODULES="xen-gntdev xen-gntalloc vgem drm_kms_helper drm_shmem_helper"

# A second domain: Dom0 runs the Xen toolstack from its initramfs and starts
# a PV DomU (same kernel, its own busybox initramfs) whose agent plays the
# frontend of the cross-domain tests (igt-tests/zcopy_domu.c).
DOMU=${TESTBED_DOMU:-1}
XEN_UTILS_DEBS="xen-utils-4.17 xen-utils-common xenstore-utils"
TOOLSTACK_MODULES="xen-evtchn xen-privcmd xenfs"
XEN_TOOLS="xl oxenstored xenconsoled xenconsole xen-init-dom0 libxl-save-helper"
DOMU_MODULES="xen-gntalloc xen-gntdev drm_xen_front"

# Milliseconds since $1 (nanoseconds since the epoch), as seconds.
secs_since() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
log() { printf '[%6ss] %s\n' "$(secs_since "$T0")" "$*"; }
die() { echo "testbed: error: $*" >&2; exit 2; }

# IGT's own runner instead of zc_runner (TESTBED_IGT_RUNNER, x86 check).
IGT_RUN=0
IGT_RUNNER=${TESTBED_IGT_RUNNER:-}
if [ -n "$IGT_RUNNER" ] && [ "$cmd" = check ]; then
	if [ "$GARCH" = amd64 ]; then
		IGT_RESULTS=${TESTBED_IGT_RESULTS:-$(dirname "$IGT_RUNNER")/igt_results}
		[ -x "$IGT_RUNNER" ] || die "TESTBED_IGT_RUNNER: $IGT_RUNNER is not an executable"
		[ -x "$IGT_RESULTS" ] ||
			die "no igt_results beside $IGT_RUNNER (build runner/igt_results, or TESTBED_IGT_RESULTS=)"
		IGT_RUN=1
	else
		echo "testbed: TESTBED_IGT_RUNNER is x86 only: the arm64 run uses zc_runner"
	fi
fi

# A glob of the runner's (GLOB: comma-separated globs of bin or
# bin@subtest) as the extended regex of the igt@BIN@SUBTEST names it
# selects (dom0-init.sh gives igt_runner the same).
glob_ere() {
	echo "^igt@($(echo "$1" | sed 's/[.^$+(){}|\\]/\\&/g; s/\*/.*/g; s/?/./g; s/,/|/g'))(@.*)?\$"
}

# host_gate NAME TAG CLEAN CMD...: runs CMD into build/NAME.log and adds
# its "[PASS] TAG@" and "[FAIL] TAG@" lines to P and F (check-all's
# counts); a gate that neither printed CLEAN nor a failure failed.
host_gate() {
	local name=$1 tag=$2 clean=$3 log=$TOP/build/$1.log gp gf
	shift 3
	echo "==== $name ===="
	"$@" 2>&1 | tee "$log" || true
	gp=$(grep -c "^\[PASS\] $tag@" "$log" || true)
	gf=$(grep -c "^\[FAIL\] $tag@" "$log" || true)
	if ! grep -Eq "$clean" "$log" && [ "$gf" -eq 0 ]; then
		echo "[FAIL] $name did not finish"
		gf=1
	fi
	P=$((P + gp)) F=$((F + gf))
}

# Runs a step, printing its name and how long it took.
step() {
	local name=$1 s
	shift
	s=$(date +%s%N)
	log "$name..."
	"$@"
	log "$name: done ($(secs_since "$s")s)"
}



install_host() {
	apt_install $HOST_PACKAGES "linux-headers-$KVER" linux-source-6.1
	local v_img v_src
	v_img=$(apt-cache show "linux-image-$KVER" | awk '/^Version:/ { print $2; exit }')
	v_src=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	[ "$v_img" = "$v_src" ] ||
		echo "  note: linux-image-$KVER is $v_img, linux-source-6.1 is $v_src"
}

fetch_guest() {
	local d=$CACHE/debs
	mkdir -p "$d"
	if [ ! -f "$CACHE/image/boot/vmlinuz-$KVER" ]; then
		(cd "$d" && apt-get download -q "linux-image-$KVER" >/dev/null 2>&1) ||
			die "apt-get download linux-image-$KVER failed"
		rm -rf "$CACHE/image"
		dpkg -x "$d"/linux-image-"$KVER"_*.deb "$CACHE/image"
		depmod -b "$CACHE/image" "$KVER"
	fi
	if [ ! -f "$CACHE/xen.elf" ]; then
		(cd "$d" && apt-get download -q xen-hypervisor-4.17-amd64 >/dev/null 2>&1) ||
			die "apt-get download xen-hypervisor-4.17-amd64 failed"
		rm -rf "$CACHE/xen"
		dpkg -x "$d"/xen-hypervisor-4.17-amd64_*.deb "$CACHE/xen"
		# QEMU's -kernel boots the 32-bit multiboot ELF inside the .gz.
		zcat "$CACHE"/xen/boot/xen-4.17-amd64.gz >"$CACHE/xen.elf"
	fi
}

# The Xen toolstack for Dom0 (xl, oxenstored, xenconsoled, ...). Its
# libraries are the host's, which libxen-dev pulls in at the same version.
fetch_toolstack() {
	local d=$CACHE/debs v_utils v_lib
	[ "$DOMU" = 1 ] || return 0
	if [ ! -x "$CACHE/xentools/usr/lib/xen-4.17/bin/xl" ]; then
		mkdir -p "$d"
		(cd "$d" && apt-get download -q $XEN_UTILS_DEBS >/dev/null 2>&1) ||
			die "apt-get download $XEN_UTILS_DEBS failed"
		rm -rf "$CACHE/xentools"
		for p in $XEN_UTILS_DEBS; do
			dpkg -x "$(ls "$d/${p}"_*.deb | tail -1)" "$CACHE/xentools"
		done
	fi
	v_utils=$(ls "$d"/xen-utils-4.17_*.deb | tail -1 | sed 's/.*_\(.*\)_amd64.deb/\1/;s/%3a/:/')
	v_lib=$(dpkg-query -W -f='${Version}' libxenmisc4.17)
	[ "$v_utils" = "$v_lib" ] ||
		echo "  note: xen-utils-4.17 is $v_utils, the host's libxenmisc4.17 is $v_lib"
}

# vkms of linux-source-6.1 with the testbed's fix of its vblank deadlock
# (tools/testbed/vkms-vblank-deadlock.patch says why).
build_vkms() {
	local src=$CACHE/vkms kdir=${VKMS_KDIR:-/usr/src/linux-headers-$KVER}
	local fix=$TOP/tools/testbed/vkms-vblank-deadlock.patch
	[ -f "$src/vkms.ko" ] && [ "$src/vkms.ko" -nt "$fix" ] && return 0
	rm -rf "$src" "$CACHE/vkms-tree"
	mkdir -p "$CACHE/vkms-tree"
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$CACHE/vkms-tree" \
		linux-source-6.1/drivers/gpu/drm/vkms
	mv "$CACHE/vkms-tree/linux-source-6.1/drivers/gpu/drm/vkms" "$src"
	rm -rf "$CACHE/vkms-tree"
	patch -s -p1 -d "$src" <"$fix" || die "the vkms fix does not apply"
	make -C "$kdir" M="$src" CONFIG_DRM_VKMS=m ${VKMS_MAKE_ARGS:-} modules \
		>"$CACHE/vkms-build.log" 2>&1 || { tail -20 "$CACHE/vkms-build.log"; die "vkms build failed"; }
}

# The tests' own importer (igt-tests/kmod), built from the tree every run
# against the same headers as vkms.
build_importer() {
	local src=$CACHE/zc_importer kdir=${VKMS_KDIR:-/usr/src/linux-headers-$KVER}
	rm -rf "$src"
	mkdir -p "$src"
	cp "$TOP"/igt-tests/kmod/Kbuild "$TOP"/igt-tests/kmod/*.[ch] "$src/"
	make -C "$kdir" M="$src" ${VKMS_MAKE_ARGS:-} modules \
		>"$CACHE/zc_importer-build.log" 2>&1 ||
		{ tail -20 "$CACHE/zc_importer-build.log"; die "zc_importer build failed"; }
}

build_project() {
	: >"$CACHE/build.log"
	[ -n "${TESTBED_MODULE_KO:-}" ] ||
	make -C "$TOP" module KDIR="$KDIR" >"$CACHE/build.log" 2>&1 ||
		{ tail -30 "$CACHE/build.log"; die "xen_drm_zcopy.ko does not build"; }
	make -C "$TOP" tests tools domu-agent >>"$CACHE/build.log" 2>&1 ||
		{ tail -30 "$CACHE/build.log"; die "tests or tools do not build"; }
}

# Copies a module and everything it depends on into the guest root.
copy_module_closure() {
	local root=$1 mod=$2 line f
	line=$(grep -E "/$mod\.ko(\.xz)?:" "$CACHE/image/lib/modules/$KVER/modules.dep") ||
		die "module $mod not in the Dom0 kernel"
	for f in ${line/:/}; do
		mkdir -p "$root/lib/modules/$KVER/$(dirname "$f")"
		cp "$CACHE/image/lib/modules/$KVER/$f" "$root/lib/modules/$KVER/$f"
	done
}

# Copies binaries and the shared libraries they load. The project's own
# libxenzcopy goes where a package installs it, so the guest's loader
# finds it as on a board (no rpath, no LD_LIBRARY_PATH); so does any
# other library from outside the system's directories (the libigt of an
# IGT build tree, TESTBED_IGT_RUNNER).
copy_binaries() {
	local root=$1 dest=$2 b lib to libs
	shift 2
	mkdir -p "$root$dest"
	for b in "$@"; do
		cp "$b" "$root$dest/"
		# Foreign (arm64) binaries are linked statically.
		[ "$GARCH" = amd64 ] || continue
		libs=$(LD_LIBRARY_PATH=$XZC_LIB ldd "$b" 2>/dev/null || true)
		if echo "$libs" | grep 'not found' >/dev/null; then
			echo "$libs" | grep 'not found'
			die "$b needs a library the host does not have"
		fi
		for lib in $(echo "$libs" | grep -o '/[^ ]*'); do
			to=$lib
			case $lib in
			/lib/* | /lib64/* | /usr/lib/*) ;;
			*) to=$GUEST_LIBDIR/${lib##*/} ;;
			esac
			[ -e "$root$to" ] && continue
			mkdir -p "$root$(dirname "$to")"
			cp -L "$lib" "$root$to"
		done
	done
}

# zcopy_compat32's children in /opt/zcopy/compat32: the 64-bit reference
# and the 32-bit program, with the i386 loader and the libraries it names
# from the host's libc6-i386 (ldd cannot run a 32-bit binary here). The
# armhf one is static.
add_compat32() {
	local root=$1 dir=$TESTS_BUILD/compat32 c32 interp lib f
	[ -f "$dir/zc_c64" ] || return 0
	copy_binaries "$root" /opt/zcopy/compat32 "$dir/zc_c64"
	c32=$dir/zc_c32
	[ -f "$c32" ] || { echo "  no 32-bit child built: zcopy_compat32 will skip"; return 0; }
	cp "$c32" "$root/opt/zcopy/compat32/"
	interp=$(readelf -l "$c32" | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
	[ -n "$interp" ] || return 0
	mkdir -p "$root$(dirname "$interp")" "$root/lib32"
	cp -L "$interp" "$root$interp"
	for lib in $(readelf -d "$c32" | sed -n 's/.*Shared library: \[\(.*\)\]$/\1/p'); do
		f=$(ls /lib32/"$lib" /usr/lib32/"$lib" 2>/dev/null | head -1 || true)
		[ -n "$f" ] || die "$lib, which the 32-bit child needs, is not in /lib32 (libc6-i386)"
		cp -L "$f" "$root/lib32/$lib"
	done
}

# make deb's packages as a board that installed them has them: the
# library (copy_binaries() then keeps it), the udev rule, the
# modules-load.d file with its line uncommented as the administrator of a
# backend domain does (Dom0's /init loads what it names) and the DKMS
# source. /etc/zcopy-debs tells the runner (--have deb) and the tests.
add_debs() {
	local root=$1 p deb
	: >"$root/etc/zcopy-debs"
	for p in libxenzcopy0 xen-zcopy-dkms; do
		deb=$(ls "$TESTBED_DEB_DIR/${p}"_*.deb 2>/dev/null | tail -1 || true)
		[ -n "$deb" ] || die "no $p .deb in $TESTBED_DEB_DIR (make deb)"
		dpkg -x "$deb" "$root" || die "cannot unpack $deb"
		dpkg-deb --show "$deb" >>"$root/etc/zcopy-debs"
	done
	sed -i 's/^#[[:space:]]*xen_drm_zcopy[[:space:]]*$/xen_drm_zcopy/' \
		"$root/etc/modules-load.d/xen-zcopy.conf"
	echo "  packages: $(paste -sd ',' "$root/etc/zcopy-debs")"
}

# The DomU's initramfs: busybox, gntalloc, gntdev, drm_xen_front, the agent.
make_domu_initramfs() {
	local root=$CACHE/domu-root m
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/modules/"$KVER"}
	cp /bin/busybox "$root/bin/busybox"
	"$root/bin/busybox" --list | while read -r m; do
		[ -e "$root/bin/$m" ] || ln -s busybox "$root/bin/$m"
	done
	for m in $DOMU_MODULES; do
		copy_module_closure "$root" "$m"
	done
	cp "$CACHE"/image/lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$KVER/"
	depmod -b "$root" "$KVER"
	install -m 0755 "$TOP/build/domu/zc_domu_agent" "$root/bin/zc_domu_agent"
	install -m 0755 "$TOP/tools/testbed/domu-init.sh" "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$CACHE/domu-initrd.gz"
}

# The toolstack, the DomU's kernel, initramfs and xl config in Dom0's root.
add_toolstack() {
	local root=$1 x=$CACHE/xentools t bins=() libgcc
	for t in $XEN_TOOLS; do
		bins+=("$x/usr/lib/xen-4.17/bin/$t")
	done
	copy_binaries "$root" /opt/xen/bin "${bins[@]}" "$x/usr/bin/xenstore"
	for t in read write ls list rm exists watch chmod; do
		ln -s xenstore "$root/opt/xen/bin/xenstore-$t"
	done
	# glibc dlopens libgcc_s (pthread_cancel, backtraces): xl aborts without.
	libgcc=$(gcc -print-file-name=libgcc_s.so.1)
	libgcc=$(readlink -f "$libgcc")
	[ -f "$libgcc" ] || libgcc=/lib/x86_64-linux-gnu/libgcc_s.so.1
	mkdir -p "$root/lib/x86_64-linux-gnu"
	cp -L "$libgcc" "$root/lib/x86_64-linux-gnu/libgcc_s.so.1"
	mkdir -p "$root/etc/xen" "$root/var"
	cp "$x/etc/xen/xl.conf" "$x/etc/xen/oxenstored.conf" "$root/etc/xen/"
	ln -s /run "$root/var/run"

	mkdir -p "$root/opt/zcopy/domu"
	cp "$CACHE/image/boot/vmlinuz-$KVER" "$root/opt/zcopy/domu/vmlinuz"
	cp "$CACHE/domu-initrd.gz" "$root/opt/zcopy/domu/initrd.gz"
	cat >"$root/opt/zcopy/domu/domu.cfg" <<-CFG
	name = "zc-domu"
	type = "pv"
	kernel = "/opt/zcopy/domu/vmlinuz"
	ramdisk = "/opt/zcopy/domu/initrd.gz"
	extra = "console=hvc0 loglevel=5${GUEST_KARGS:+ $GUEST_KARGS}"
	memory = 256
	vcpus = 1
	on_crash = "preserve"
	CFG
}

make_initramfs() {
	local root=$CACHE/root m
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,etc,lib/modules/"$KVER"/extra}
	cp "$BUSYBOX" "$root/bin/busybox"
	# The host's busybox-static names the applets (same Debian version).
	/bin/busybox --list | while read -r m; do
		[ -e "$root/bin/$m" ] || ln -s busybox "$root/bin/$m"
	done

	for m in $GUEST_MODULES $([ "$DOMU" = 1 ] && echo "$TOOLSTACK_MODULES"); do
		copy_module_closure "$root" "$m"
	done
	cp "$CACHE/vkms/vkms.ko" "$MODULE_KO" "$CACHE/zc_importer/zc_importer.ko" \
		"$root/lib/modules/$KVER/extra/"
	cp "$CACHE"/image/lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$KVER/"
	depmod -b "$root" "$KVER"

	local tests=() tools=()
	# copy_binaries() keeps a library the root already has.
	if [ -n "${TESTBED_LIBXENZCOPY_DEB:-}" ] && [ "$GARCH" = amd64 ]; then
		dpkg -x "$TESTBED_LIBXENZCOPY_DEB" "$root" ||
			die "cannot unpack $TESTBED_LIBXENZCOPY_DEB"
		echo "  libxenzcopy from $(basename "$TESTBED_LIBXENZCOPY_DEB")"
	fi
	[ -n "${TESTBED_DEB_DIR:-}" ] && [ "$GARCH" = amd64 ] && add_debs "$root"
	[ -d "$TESTS_BUILD/tests" ] && tests=("$TESTS_BUILD"/tests/*)
	[ -d "$TOOLS_BUILD" ] && tools=("$TOOLS_BUILD"/*)
	[ ${#tests[@]} -gt 0 ] && copy_binaries "$root" /opt/zcopy/tests "${tests[@]}"
	[ -x "$TESTS_BUILD/zc_runner" ] &&
		copy_binaries "$root" /opt/zcopy/bin "$TESTS_BUILD/zc_runner"
	add_compat32 "$root"
	# What the run must execute on this architecture (igt-tests/expected/).
	cp "$TOP/igt-tests/expected/$GARCH.txt" "$root/opt/zcopy/expected.txt"
	[ ${#tools[@]} -gt 0 ] && copy_binaries "$root" /opt/zcopy/bin "${tools[@]}"
	[ "$IGT_RUN" = 1 ] && copy_binaries "$root" /opt/igt/bin "$IGT_RUNNER" "$IGT_RESULTS"

	if [ "$DOMU" = 1 ]; then
		make_domu_initramfs
		add_toolstack "$root"
	fi

	install -m 0755 "$TOP/tools/testbed/dom0-init.sh" "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$CACHE/initrd.gz"
	cp "$CACHE/initrd.gz" "$CACHE/initrd-base.gz"
}

# The last initramfs with MODULE_KO in place of its module: the kernel
# unpacks concatenated archives in order, a later file replacing an
# earlier one (TESTBED_REUSE_INITRD=1, for tools/mutate.sh's mutants).
add_module_initramfs() {
	local root=$CACHE/root-module
	rm -rf "$root"
	mkdir -p "$root/lib/modules/$KVER/extra"
	cp "$MODULE_KO" "$root/lib/modules/$KVER/extra/xen_drm_zcopy.ko"
	{
		cat "$CACHE/initrd-base.gz"
		(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1)
	} >"$CACHE/initrd.gz"
}

# Runs a QEMU command line ($2...) with its console in $1, under the
# overall timeout $tmo, and kills it when the console stays silent for
# TESTBED_SILENCE seconds (default 330: longer than zc_runner's per-subtest
# limit of 180 s plus the slowest DomU restart), so a hung guest costs
# minutes, not the whole timeout. Returns 124 for either. Before it kills
# a silent guest it asks the guest for its state through the console's
# input (hang_dump), so that a hang leaves a diagnosis in the log.
run_qemu() {
	local log=$1 silence=${TESTBED_SILENCE:-330} pid size last=-1 quiet=0 rc=0
	local fifo infd
	shift
	# The console's input: a FIFO this shell keeps open for writing.
	fifo=$(mktemp -u "$CACHE/console-in.XXXXXX")
	mkfifo "$fifo"
	exec {infd}<>"$fifo"
	# Appending: the lines this shell adds must not be overwritten.
	: >"$log"
	timeout "$tmo" "$@" <"$fifo" >>"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" != "$last" ]; then
			last=$size
			quiet=0
			continue
		fi
		quiet=$((quiet + 5))
		if [ "$quiet" -ge "$silence" ]; then
			echo "  the guest printed nothing for ${silence}s: hung; asking Dom0 and Xen for their state"
			echo "@@ZC TESTBED: guest silent for ${silence}s, dumping state" >>"$log"
			hang_dump "$infd"
			echo "@@ZC TESTBED: QEMU stopped" >>"$log"
			kill "$pid" 2>/dev/null
			pkill -P "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			exec {infd}>&-
			rm -f "$fifo"
			return 124
		fi
	done
	wait "$pid" || rc=$?
	exec {infd}>&-
	rm -f "$fifo"
	return $rc
}

# A silent guest's state, written into its console log through the
# console's input (fd $1). Serial input goes to Dom0 first: hvc's sysrq
# prefix ^O asks the Dom0 kernel for its blocked tasks (w) and every CPU's
# backtrace (l), if it still runs. Three ^A switch the input to Xen, whose
# debug key 0 dumps Dom0's vCPUs (registers and raw guest stack), which
# works when Dom0 itself is stuck. (Debian's image ships a placeholder
# System.map: the raw addresses are named with linux-image-*-dbg.)
hang_dump() {
	local fd=$1
	printf '\017w' >&"$fd"
	sleep 10
	printf '\017l' >&"$fd"
	sleep 10
	printf '\001\001\001' >&"$fd"
	sleep 2
	printf '0' >&"$fd"
	sleep 15
}

# Boots Xen + Dom0 with the given extra kernel arguments; the console
# goes to $CACHE/console.log.
boot_xen() {
	local args=${1//,/,,} tmo=${TESTBED_TIMEOUT:-1500} rc=0
	# -initrd separates its modules by commas: a comma of ours is doubled.
	# 2 GB: Dom0 keeps 512 MB, the rest is free for the DomU. RDRAND
	# spares xl create a wait for the kernel's entropy.
	run_qemu "$CACHE/console.log" \
		qemu-system-x86_64 -cpu qemu64,+rdrand -m 2048 -smp 2 \
		-nographic -no-reboot -monitor none \
		-kernel "$CACHE/xen.elf" \
		-append "dom0_mem=${DOM0_MEM:-512M,max:512M} console=com1 com1=115200,8n1 noreboot${XEN_EXTRA:+ $XEN_EXTRA}" \
		-initrd "$CACHE/image/boot/vmlinuz-$KVER console=hvc0 panic=-1 quiet${GUEST_KARGS:+ $GUEST_KARGS} $args,$CACHE/initrd.gz" \
		|| rc=$?
	[ $rc -eq 124 ] && echo "  QEMU stopped: timed out after ${tmo}s or hung"
	return 0
}

# The same kernel without Xen: the module must refuse to load.
boot_bare() {
	timeout 300 qemu-system-x86_64 -cpu qemu64 -m 512 -smp 1 -nographic \
		-no-reboot -monitor none \
		-kernel "$CACHE/image/boot/vmlinuz-$KVER" -initrd "$CACHE/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet${GUEST_KARGS:+ $GUEST_KARGS} zc.mode=bare" \
		</dev/null >"$CACHE/console-bare.log" 2>&1 || true
}

# ---- arm64: an auto-translated Dom0 on qemu-system-aarch64 virt ----
#
# The arm64 kernel image, Xen, busybox and the headers are downloaded
# (apt-get download + dpkg -x) since they cannot be installed beside the
# amd64 system; the module is cross-built by tools/arm64.sh, vkms against
# the same arm64 headers, the tests statically against libdrm.a from
# libdrm-dev:arm64 unpacked into a sysroot (with libxen-dev:arm64's headers).

# gcc-arm-linux-gnueabihf and libc6-dev-armhf-cross: zcopy_compat32's
# armhf child (static), run by the arm64 kernel's 32-bit compat layer.
ARM64_HOST_PACKAGES="qemu-system-arm device-tree-compiler gcc-aarch64-linux-gnu
	libc6-dev-arm64-cross busybox-static kmod cpio xz-utils gcc make patch file pkg-config
	linux-kbuild-6.1 gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
ARM64_SYSROOT_DEBS="libdrm-dev libxen-dev"

arm64_setup_vars() {
	ABI=${KVER%-amd64}
	HOST_KVER=$KVER
	KVER=$ABI-arm64
	SYSROOT=$CACHE/sysroot
	MODULE_KO=${TESTBED_MODULE_KO:-$TOP/build/arm64/xen_drm_zcopy.ko}
	TESTS_BUILD=$CACHE/igt-tests
	TOOLS_BUILD=$CACHE/tools
	XZC_LIB=$CACHE/lib
	BUSYBOX=$CACHE/busybox/bin/busybox
	VKMS_KDIR=$TOP/build/arm64/root/usr/src/linux-headers-$KVER
	VKMS_MAKE_ARGS="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"
}

install_host_arm64() {
	apt_install $ARM64_HOST_PACKAGES "linux-headers-$ABI-common" linux-source-6.1
	apt_add_arm64
	apt-cache show "linux-image-$KVER-unsigned:arm64" >/dev/null 2>&1 || apt_update
}

# Downloads package $1 (arch arm64) into the deb cache and unpacks it into $2.
fetch_arm64_deb() {
	local d=$CACHE/debs p=$1 deb
	mkdir -p "$d"
	deb=$(ls "$d/${p}"_*_arm64.deb 2>/dev/null | tail -1 || true)
	if [ -z "$deb" ]; then
		(cd "$d" && apt-get download -q "$p:arm64" >/dev/null 2>&1) ||
			die "apt-get download $p:arm64 failed"
		deb=$(ls "$d/${p}"_*_arm64.deb | tail -1)
	fi
	dpkg -x "$deb" "$2"
}

fetch_guest_arm64() {
	local p
	if [ ! -f "$CACHE/image/boot/vmlinuz-$KVER" ]; then
		rm -rf "$CACHE/image"
		fetch_arm64_deb "linux-image-$KVER-unsigned" "$CACHE/image"
		depmod -b "$CACHE/image" "$KVER"
	fi
	if [ ! -f "$CACHE/xen/boot/xen-4.17-arm64" ]; then
		rm -rf "$CACHE/xen"
		fetch_arm64_deb xen-hypervisor-4.17-arm64 "$CACHE/xen"
	fi
	if [ ! -x "$BUSYBOX" ]; then
		rm -rf "$CACHE/busybox"
		fetch_arm64_deb busybox-static "$CACHE/busybox"
	fi
	if [ ! -f "$SYSROOT/usr/lib/aarch64-linux-gnu/libdrm.a" ] ||
	   [ ! -f "$SYSROOT/usr/include/xen/sys/gntdev.h" ]; then
		rm -rf "$SYSROOT"
		for p in $ARM64_SYSROOT_DEBS; do
			fetch_arm64_deb "$p" "$SYSROOT"
		done
	fi
}

# The module (tools/arm64.sh, which also fetches the arm64 headers), then
# the tests and tools, static aarch64 binaries.
build_project_arm64() {
	bash "$TOP/tools/arm64.sh" >"$CACHE/build.log" 2>&1 ||
		{ tail -30 "$CACHE/build.log"; die "the arm64 xen_drm_zcopy.ko does not build"; }
	local env=(PKG_CONFIG_LIBDIR="$SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig"
		   PKG_CONFIG_SYSROOT_DIR="$SYSROOT"
		   CFLAGS="-O2 -g -static -I$SYSROOT/usr/include")
	env "${env[@]}" make -C "$TOP/lib" CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar \
		BUILD="$XZC_LIB" static >>"$CACHE/build.log" 2>&1 &&
	env "${env[@]}" make -C "$TOP/igt-tests" CC=aarch64-linux-gnu-gcc BUILD="$TESTS_BUILD" \
		XZC_LIB="$XZC_LIB" CC32="arm-linux-gnueabihf-gcc -static" \
		>>"$CACHE/build.log" 2>&1 &&
	env "${env[@]}" make -C "$TOP/tools" CC=aarch64-linux-gnu-gcc BUILD="$TOOLS_BUILD" \
		XZC_LIB="$XZC_LIB" >>"$CACHE/build.log" 2>&1 ||
		{ tail -30 "$CACHE/build.log"; die "arm64 tests or tools do not build"; }
}

ARM64_QEMU=(qemu-system-aarch64 -machine virt,virtualization=on,gic-version=3
	    -cpu cortex-a57 -smp 2 -m 2048 -nographic -no-reboot -monitor none)

# Xen on arm64 takes its command lines and the Dom0 kernel and initramfs
# (which QEMU's loader devices place in memory) from /chosen in the DTB.
make_dtb_arm64() {
	local args=$1 dtb=$CACHE/xen.dtb ksize isize
	[ -f "$CACHE/virt.dtb" ] ||
		"${ARM64_QEMU[@]}" -machine dumpdtb="$CACHE/virt.dtb" >/dev/null 2>&1 ||
		die "qemu-system-aarch64 cannot dump its DTB"
	ksize=$(stat -c %s "$CACHE/image/boot/vmlinuz-$KVER")
	isize=$(stat -c %s "$CACHE/initrd.gz")
	cp "$CACHE/virt.dtb" "$dtb"
	fdtput -t i "$dtb" /chosen '#address-cells' 2
	fdtput -t i "$dtb" /chosen '#size-cells' 2
	fdtput -t s "$dtb" /chosen xen,xen-bootargs \
		"console=dtuart dtuart=/pl011@9000000 dom0_mem=${DOM0_MEM:-512M,max:512M} noreboot${XEN_EXTRA:+ $XEN_EXTRA}"
	fdtput -t s "$dtb" /chosen xen,dom0-bootargs \
		"console=hvc0 earlycon=xen rdinit=/init panic=-1 quiet $args"
	fdtput -c "$dtb" /chosen/module@0 /chosen/module@1
	fdtput -t s "$dtb" /chosen/module@0 compatible multiboot,kernel multiboot,module
	fdtput -t x "$dtb" /chosen/module@0 reg 0 0x4a000000 0 "$(printf '%x' "$ksize")"
	fdtput -t s "$dtb" /chosen/module@1 compatible multiboot,ramdisk multiboot,module
	fdtput -t x "$dtb" /chosen/module@1 reg 0 0x4e000000 0 "$(printf '%x' "$isize")"
}

boot_xen_arm64() {
	local args=$1 tmo=${TESTBED_TIMEOUT:-1500} rc=0
	make_dtb_arm64 "$args"
	run_qemu "$CACHE/console.log" \
		"${ARM64_QEMU[@]}" -kernel "$CACHE/xen/boot/xen-4.17-arm64" \
		-dtb "$CACHE/xen.dtb" \
		-device loader,file="$CACHE/image/boot/vmlinuz-$KVER",addr=0x4a000000 \
		-device loader,file="$CACHE/initrd.gz",addr=0x4e000000 \
		|| rc=$?
	[ $rc -eq 124 ] && echo "  QEMU stopped: timed out after ${tmo}s or hung"
	return 0
}

boot_bare_arm64() {
	timeout 300 qemu-system-aarch64 -machine virt -cpu cortex-a57 -m 512 -smp 1 \
		-nographic -no-reboot -monitor none \
		-kernel "$CACHE/image/boot/vmlinuz-$KVER" -initrd "$CACHE/initrd.gz" \
		-append "console=ttyAMA0 panic=-1 quiet zc.mode=bare" \
		</dev/null >"$CACHE/console-bare.log" 2>&1 || true
}

# The host's PNG writer for the demo (tools/ppm2png, libpng).
build_ppm2png() {
	mkdir -p "$TOP/build/demo"
	# shellcheck disable=SC2046 # pkg-config's flags are words
	gcc -O2 -Wall -Wextra -o "$TOP/build/demo/ppm2png" "$TOP/tools/ppm2png/ppm2png.c" \
		$(pkg-config --cflags --libs libpng) || die "tools/ppm2png does not build"
}

# The demo's pictures: what vkms scanned out (its writeback connector) and
# what the guest drew, from the console into build/demo/ as PPM and PNG;
# they must be the same pixels. Fails loudly on anything missing,
# corrupted in transit or different.
demo_pictures() {
	local d=$TOP/build/demo f got ok=0
	rm -f "$d"/*.ppm "$d"/*.png "$d"/*.gz
	for f in capture guest; do
		if ! console_file "$f.ppm" "$d/$f.ppm"; then
			echo "testbed: FAIL: the demo's $f.ppm did not arrive"
			ok=1
			continue
		fi
		"$d/ppm2png" "$d/$f.ppm" "$d/$f.png" || { ok=1; continue; }
		echo "demo: ${d#"$TOP"/}/$f.png"
	done
	[ $ok -eq 0 ] || return 1
	if got=$("$d/ppm2png" --compare "$d/guest.ppm" "$d/capture.ppm"); then
		echo "demo: what vkms scanned out against what the guest drew: $got"
	else
		echo "testbed: FAIL: what vkms scanned out against what the guest drew: $got"
		return 1
	fi
}

# The backend benchmark's table from its CSV (w,h,mode,be_alloc,flips,
# wall ms,cpu ms,sampled ms): per mode and allocation, --copy's CPU per
# flip over zero copy's first, by utime + stime and by the sampler, then
# both paths' figures.
bench_backend_table() {
	awk -F, '
	{ k = $1 "x" $2 "," $4; if (!(k in m)) ks[++n] = k; m[k] = 1
	  f[k "," $3] = $5; w[k "," $3] = $6; c[k "," $3] = $7; s[k "," $3] = $8 }
	END {
		printf "%-10s %-9s %7s %7s | %8s %8s %7s | %8s %8s %7s\n", "mode", "buffers",
			"copy/zc", "sampled", "zc ms/fl", "sampled", "zc fl/s",
			"copy", "sampled", "copy fl/s"
		for (i = 1; i <= n; i++) {
			k = ks[i]; split(k, a, ",")
			z = k ",zero-copy"; y = k ",copy"
			zc = 0; cp = 0; zs = 0; cs = 0; zr = 0; cr = 0
			ratio = "n/a"; sratio = "n/a"; buf = "frontend"
			if (f[z] > 0) { zc = c[z] / f[z]; zs = s[z] / f[z]; zr = f[z] * 1000 / w[z] }
			if (f[y] > 0) { cp = c[y] / f[y]; cs = s[y] / f[y]; cr = f[y] * 1000 / w[y] }
			if (zc > 0 && cp > 0) ratio = sprintf("%.1fx", cp / zc)
			if (zs > 0 && cs > 0) sratio = sprintf("%.1fx", cs / zs)
			if (a[2] == 1) buf = "be-alloc"
			printf "%-10s %-9s %7s %7s | %8.2f %8.2f %7.1f | %8.2f %8.2f %7.1f\n", a[1], buf,
				ratio, sratio, zc, zs, zr, cp, cs, cr
		}
	}' "$1"
}

# Prints the lines between two console markers (CRs and NULs removed).
between() {
	tr -d '\r\000' <"$1" | sed -n "/@@ZC $2\$/,/@@ZC $3/p" | sed '1d;$d'
}

# The debug kernel's checkers print their own headers too: SLUB ("BUG
# kmalloc-64 (Not tainted): Poison overwritten"), KFENCE, DEBUG_OBJECTS,
# kmemleak, page poisoning.
BAD_DMESG='Oops|BUG:|WARNING:|Call Trace|KASAN|list_del corruption|general protection|Kernel panic|kernel BUG'
BAD_DMESG+='|BUG [^ ]+ \((Not t|T)ainted|KFENCE:|ODEBUG:|circular locking|unreferenced object|pagealloc: memory corruption'

HOST_PASSED=0
HOST_FAILED=0
# Result names of the arm64 run start with "arm64:".
RESULT_PREFIX=
[ "$GARCH" = arm64 ] && RESULT_PREFIX=arm64:
host_result() {
	if [ "$2" = ok ]; then
		HOST_PASSED=$((HOST_PASSED + 1))
		echo "[PASS] ${RESULT_PREFIX}testbed@$1"
	else
		HOST_FAILED=$((HOST_FAILED + 1))
		echo "[FAIL] ${RESULT_PREFIX}testbed@$1"
	fi
}

show_console_tail() {
	echo "---- last lines of $1 ----"
	tr -d '\r' <"$1" | tail -60
	echo "----"
}

# A file Dom0's init sent (gzip'ed, base64, between markers with the
# md5sum of the .gz) into $2; fails when it is missing or damaged.
console_file() {
	local name=$1 out=$2 sum got
	sum=$(tr -d '\r\000' <"$CACHE/console.log" |
		sed -n "s/^@@ZC BEGIN-FILE $name.gz \([0-9a-f]*\)\$/\1/p" | tail -1)
	[ -n "$sum" ] || { echo "testbed: Dom0 sent no $name"; return 1; }
	tr -d '\r\000' <"$CACHE/console.log" |
		sed -n "/^@@ZC BEGIN-FILE $name.gz /,/^@@ZC END-FILE/p" | sed '1d;$d' |
		base64 -d >"$out.gz" 2>/dev/null || true
	got=$(md5sum <"$out.gz" | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then
		echo "testbed: $name came through the console damaged (md5 $got, sent $sum)"
		return 1
	fi
	gunzip -f "$out.gz"
}

# igt_runner's verdicts ("igt@BIN@SUBTEST: VERDICT" lines in $1) judged
# as zc_runner judges its own against the manifest $2 (features $3, the
# run's selection regex $4): pass, or a skip the manifest expects, passes
# or skips; any other verdict, a result the manifest does not name, a pass
# it expects to skip and a subtest it names that the run selected but
# igt_runner did not report fail. Prints the counts per verdict, the
# results that are not a pass, and zc_runner's summary line.
igt_judge() {
	awk -v have=" $3 " -v sel="$4" '
	FNR == NR {
		sub(/#.*/, "")
		if (!NF)
			next
		k = "igt@" $1
		order[++n] = k
		skip[k] = $2 == "skip" || ($2 == "skip-without" && index(have, " " $3 " ") == 0)
		next
	}
	/^igt@[^ ]*: [a-z-]+$/ {
		name = substr($1, 1, length($1) - 1)
		v = $2
		seen[name] = 1
		if (!(v in count))
			verdicts[++nv] = v
		count[v]++
		why = ""
		if (!(name in skip))
			why = "not in the manifest"
		else if (v == "pass" && skip[name])
			why = "the manifest expects skip"
		else if (v == "skip" && !skip[name])
			why = "not expected to skip"
		else if (v != "pass" && v != "skip")
			why = "not pass"
		if (why != "") {
			failed++
			bad[++nb] = "[FAIL] " name ": " v " (" why ")"
		} else if (v == "skip") {
			skipped++
			bad[++nb] = "[SKIP] " name ": skip (expected)"
		} else {
			passed++
		}
	}
	END {
		line = ""
		for (i = 1; i <= nv; i++)
			line = line (i > 1 ? ", " : "") verdicts[i] " " count[verdicts[i]]
		printf "igt_runner: %d results: %s\n", passed + failed + skipped, line
		for (i = 1; i <= nb; i++)
			print bad[i]
		for (i = 1; i <= n; i++) {
			if (order[i] in seen || (sel != "" && order[i] !~ sel))
				continue
			failed++
			print "[FAIL] " order[i] ": notrun (expected by the manifest, not in results.json)"
		}
		printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
	}' "$2" "$1"
}

# Reads the run's output back: the runner's lines, its summary, dmesg.
report_check() {
	local con=$CACHE/console.log out passed=0 failed=0 skipped=0 summary
	# Not grep -q: with pipefail, tr dying of SIGPIPE after an early match
	# fails the pipeline (it did, once the console grew with the DomU's).
	if ! tr -d '\r\000' <"$con" | grep '@@ZC END-RUN' >/dev/null; then
		show_console_tail "$con"
		host_result vm-booted fail
	else
		host_result vm-booted ok
	fi

	out=$(between "$con" BEGIN-RUN END-RUN)
	if [ "$IGT_RUN" = 1 ]; then
		# igt_runner's own lines stay in the console log; the verdicts
		# are judged here, and results.json is kept for a look.
		between "$con" BEGIN-IGT END-IGT >"$CACHE/igt-verdicts.txt"
		console_file results.json "$CACHE/igt-results.json" &&
			echo "testbed: igt_runner's results: ${CACHE#"$TOP"/}/igt-results.json"
		out=$(igt_judge "$CACHE/igt-verdicts.txt" "$TOP/igt-tests/expected/$GARCH.txt" \
			"$([ "$DOMU_RUN" = 1 ] && echo domu) $([ -n "${TESTBED_DEB_DIR:-}" ] && echo deb)" \
			"$([ -n "$glob" ] && glob_ere "$glob")")
		[ -s "$CACHE/igt-verdicts.txt" ] || out="$out
testbed: igt_runner reported no verdicts (no results.json?)
0 passed, 1 failed, 0 skipped"
	fi
	[ -n "$out" ] && echo "$out" | sed -E "s/^\[(PASS|FAIL|SKIP)\] /&$RESULT_PREFIX/"
	summary=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1 || true)
	if [ -n "$summary" ]; then
		passed=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
		failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		skipped=$(echo "$summary" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
		skipped=${skipped:-0}
	else
		echo "testbed: the runner printed no summary line"
		failed=$((failed + 1))
	fi

	# A module Dom0's init could not load leaves tests to skip or fail
	# for a reason of the testbed's, not theirs.
	if tr -d '\r\000' <"$con" | grep -E 'init: modprobe .* failed' >"$CACHE/modprobe-failed.log"; then
		cat "$CACHE/modprobe-failed.log"
		host_result modules-loaded fail
	else
		host_result modules-loaded ok
	fi

	between "$con" BEGIN-DMESG END-DMESG >"$CACHE/dmesg.log"
	if [ ! -s "$CACHE/dmesg.log" ]; then
		host_result dmesg-clean fail
	elif grep -nE "$BAD_DMESG" "$CACHE/dmesg.log" >"$CACHE/dmesg-bad.log"; then
		echo "testbed: kernel trouble in dmesg (${CACHE#"$TOP"/}/dmesg.log):"
		head -40 "$CACHE/dmesg-bad.log"
		host_result dmesg-clean fail
	else
		host_result dmesg-clean ok
	fi

	# State the driver does not write, over the whole run (tools/zc_oracle).
	between "$con" BEGIN-ORACLE END-ORACLE
	if tr -d '\r\000' <"$con" | grep '@@ZC END-ORACLE rc=0' >/dev/null; then
		host_result run-oracles ok
	else
		host_result run-oracles fail
	fi

	if [ "$DOMU_RUN" = 1 ]; then
		report_domu "$con"
	fi

	# kmemleak (the debug kernel): what Dom0's init found unreferenced
	# after the run, past what boot had left.
	if [ "$DEBUG_KERNEL" = 1 ]; then
		between "$con" BEGIN-KMEMLEAK END-KMEMLEAK >"$CACHE/kmemleak.log"
		if ! tr -d '\r\000' <"$con" | grep '@@ZC END-KMEMLEAK' >/dev/null; then
			echo "testbed: no kmemleak report from Dom0"
			host_result kmemleak-clean fail
		elif grep 'unreferenced object' "$CACHE/kmemleak.log" >/dev/null; then
			echo "testbed: kmemleak found leaks (${CACHE#"$TOP"/}/kmemleak.log):"
			head -60 "$CACHE/kmemleak.log"
			host_result kmemleak-clean fail
		else
			host_result kmemleak-clean ok
		fi
	fi

	if [ "${TESTBED_BARE:-1}" = 0 ]; then
		: # not booted (TESTBED_BARE=0)
	elif tr -d '\r' <"$CACHE/console-bare.log" | grep '@@ZC BARE modprobe-rc=[1-9]' >/dev/null &&
	   tr -d '\r' <"$CACHE/console-bare.log" | grep 'xen_drm_zcopy: not running on Xen' >/dev/null; then
		host_result refuses-without-xen ok
	else
		show_console_tail "$CACHE/console-bare.log"
		host_result refuses-without-xen fail
	fi

	passed=$((passed + HOST_PASSED))
	failed=$((failed + HOST_FAILED))
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# The DomU: it came up, and its console (xenconsoled's log, printed by
# Dom0 at the end) shows no kernel trouble.
report_domu() {
	local con=$1 up
	up=$(tr -d '\r' <"$con" | sed -n 's/.*@@ZC DOMU-READY \(.*\)/\1/p' | tail -1)
	if [ -n "$up" ]; then
		echo "testbed: DomU $up"
		host_result domu-booted ok
	else
		tr -d '\r' <"$con" | grep '@@ZC DOMU' || true
		host_result domu-booted fail
	fi
	between "$con" BEGIN-DOMU-LOG END-DOMU-LOG >"$CACHE/domu-console.log"
	if [ ! -s "$CACHE/domu-console.log" ]; then
		host_result domu-dmesg-clean fail
	elif grep -nE "$BAD_DMESG|zc_domu_agent exited" "$CACHE/domu-console.log" >"$CACHE/domu-bad.log"; then
		echo "testbed: kernel trouble in the DomU's console (build/testbed/domu-console.log):"
		head -40 "$CACHE/domu-bad.log"
		host_result domu-dmesg-clean fail
	else
		host_result domu-dmesg-clean ok
	fi
}

# Whether a run of GLOB needs the DomU: only the cross-domain tests use it,
# so a run of other tests spares its boot.
domu_wanted() {
	local g
	[ -n "$1" ] || return 0
	# GLOB may be a comma-separated list (zc_runner takes any of them).
	for g in ${1//,/ }; do
		case $g in
		zcopy_domu* | zcopy_displ_be* | zcopy_d[*?[]* | [*?[]*) return 0 ;;
		esac
	done
	return 1
}

prepare() {
	mkdir -p "$CACHE"
	step "resolving the Dom0 kernel" resolve_kernel
	if [ "${TESTBED_REUSE_INITRD:-0}" = 1 ] && [ -n "${TESTBED_MODULE_KO:-}" ] &&
	   [ -f "$CACHE/initrd-base.gz" ]; then
		[ "$GARCH" = arm64 ] && arm64_setup_vars
		# The kernel the last initramfs was packed for.
		[ "$DEBUG_KERNEL" = 1 ] && KVER=$(bash "$TOP/tools/testbed/debug-kernel.sh" release)
		step "putting $(basename "$MODULE_KO") into the last initramfs" add_module_initramfs
		return
	fi
	if [ "$GARCH" = arm64 ]; then
		prepare_arm64
		return
	fi
	step "installing host packages" install_host
	KDIR=/usr/src/linux-headers-$KVER
	if [ "$DEBUG_KERNEL" = 1 ]; then
		step "building the debug kernel (tools/testbed/debug-kernel.sh)" \
			bash "$TOP/tools/testbed/debug-kernel.sh" install "$CACHE/image"
		KVER=$(bash "$TOP/tools/testbed/debug-kernel.sh" release)
		KDIR=$TOP/build/debug-kernel/obj
		VKMS_KDIR=$KDIR
		# vkms.ko of an older build of the tree would not load.
		[ "$CACHE/vkms/vkms.ko" -nt "$CACHE/image/boot/vmlinuz-$KVER" ] || rm -rf "$CACHE/vkms"
	fi
	log "Dom0 kernel $KVER"
	step "fetching Xen and the Dom0 kernel" fetch_guest
	if [ "$DOMU" = 1 ]; then step "fetching the Xen toolstack" fetch_toolstack; fi
	step "building vkms from linux-source-6.1" build_vkms
	step "building the tests' zc_importer.ko" build_importer
	step "building xen_drm_zcopy.ko, tests and tools" build_project
	step "packing the Dom0 initramfs" make_initramfs
}

prepare_arm64() {
	arm64_setup_vars
	log "Dom0 kernel $KVER (arm64)"
	step "installing host packages (arm64 cross tools)" install_host_arm64
	step "fetching Xen, the Dom0 kernel, busybox and libdrm for arm64" fetch_guest_arm64
	step "cross-building xen_drm_zcopy.ko, tests and tools for arm64" build_project_arm64
	step "building vkms from linux-source-6.1 for arm64" build_vkms
	step "building the tests' zc_importer.ko for arm64" build_importer
	step "packing the Dom0 initramfs" make_initramfs
}

# Boot functions per architecture.
boot_xen_any() { if [ "$GARCH" = arm64 ]; then boot_xen_arm64 "$@"; else boot_xen "$@"; fi; }
boot_bare_any() { if [ "$GARCH" = arm64 ]; then boot_bare_arm64; else boot_bare; fi; }

if [ "$GARCH" = arm64 ]; then
	# No Xen toolstack for arm64 in the initramfs: no DomU (yet).
	DOMU=0
fi

case $cmd in
setup)
	prepare
	;;
check-all)
	# x86 PV, then arm64 auto-translated; one summary line for both.
	glob=${2:-${TESTS:-}}
	P=0 F=0 S=0
	runs="check"
	[ "${TESTBED_ARM64:-1}" = 0 ] || runs="check check-arm64"
	# A fresh clone has no build/ yet: tee needs it for the first log.
	mkdir -p "$TOP/build"
	touch "$TOP/build/.check-all-start"
	# The Debian packages first (make deb, lintian included): the x86
	# run then boots with their library, udev rule and modules-load.d
	# file in place of the tree's (zcopy_lib@packaged checks it).
	debs=
	if [ -z "$glob" ] && [ "${TESTBED_DEB:-1}" != 0 ]; then
		s=$(date +%s%N)
		host_gate deb deb '^[0-9]+ passed, 0 failed$' bash "$TOP/tools/deb.sh"
		echo "deb: $(secs_since "$s")s"
		grep -q '^\[PASS\] deb@build' "$TOP/build/deb.log" && debs=$TOP/build/deb
	fi
	for r in $runs; do
		echo "==== testbed.sh $r${glob:+ $glob} ===="
		TESTBED_ARCH= TESTBED_DEB_DIR=$debs bash "$0" "$r" ${glob:+"$glob"} |
			tee "$TOP/build/$r.log" || true
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$TOP/build/$r.log" | tail -1 || true)
		if [ -z "$line" ]; then
			echo "[FAIL] testbed.sh $r did not finish"
			F=$((F + 1))
			continue
		fi
		set -- $line
		P=$((P + $1)) F=$((F + $3)) S=$((S + $5))
	done
	# Gates on the host, counted like the runs: the driver's own
	# (checkpatch --strict, W=1, sparse, kernel-doc, arm64), libxenzcopy's
	# unit tests and the module built through DKMS. Each prints
	# "[PASS|FAIL] TAG@check" lines and a closing line.
	if [ -z "$glob" ]; then
		[ "${TESTBED_LINT:-1}" = 0 ] ||
			host_gate lint lint '^lint: clean$' bash "$TOP/tools/lint.sh"
		host_gate lib-test lib '^[0-9]+ passed, 0 failed$' make -s -C "$TOP" lib-test
		host_gate dkms-check dkms '^[0-9]+ passed, 0 failed$' bash "$TOP/tools/dkms-check.sh"
	fi
	# CI may keep only the end of the output: name what failed right
	# above the summary, with the reason each line gives.
	if [ "$F" -ne 0 ]; then
		echo "==== what failed ===="
		for r in deb $runs lint lib-test dkms-check; do
			[ "$TOP/build/$r.log" -nt "$TOP/build/.check-all-start" ] || continue
			grep -h '^\[FAIL\]' "$TOP/build/$r.log" | cut -c1-300 | head -20 || true
		done
	fi
	echo "$P passed, $F failed, $S skipped"
	[ "$F" -eq 0 ]
	;;
check)
	glob=${2:-${TESTS:-}}
	DOMU_RUN=$DOMU
	domu_wanted "$glob" || DOMU_RUN=0
	prepare
	[ "${TESTBED_BARE:-1}" = 0 ] ||
		step "booting the kernel without Xen (module must refuse)" boot_bare_any
	# A long fuzzing run: 300 s more per 100000 steps.
	if [ "${FUZZ_CALLS:-0}" -gt 100000 ]; then
		TESTBED_TIMEOUT=${TESTBED_TIMEOUT:-$((1500 + 300 * ((FUZZ_CALLS + 99999) / 100000)))}
	fi
	# igt_runner prints a subtest's start and result, not its output: the
	# console stays quiet for as long as the longest subtest takes (the
	# harness' limit is 900 s), and the runner's inactivity limit of 120 s
	# catches a hung test before that.
	[ "$IGT_RUN" = 1 ] && TESTBED_SILENCE=${TESTBED_SILENCE:-960}
	step "booting Xen + Dom0 and running the tests" boot_xen_any "zc.mode=check zc.domu=$DOMU_RUN${glob:+ zc.tests=$glob}$([ "$IGT_RUN" = 1 ] && echo " zc.runner=igt")${TESTBED_ORACLE_TRACE:+ zc.oracle_trace=1}${TESTBED_BENCH_BACKEND:+ zc.bench_backend=1}${FUZZ_CALLS:+ zc.fuzz_calls=$FUZZ_CALLS}${ZC_FUZZ_SEED:+ zc.fuzz_seed=$ZC_FUZZ_SEED}${TESTBED_SUBTEST_TIMEOUT:+ zc.subtest_timeout=$TESTBED_SUBTEST_TIMEOUT}"
	report_check
	;;
bench-backend)
	# The real backend's CPU per flip, zero copy against --copy
	# (igt-tests/zcopy_displ_be.c, bench-* subtests); their "@bench,"
	# lines become build/bench/backend-amd64.csv and a table.
	rc=0
	TESTBED_BENCH_BACKEND=1 bash "$0" check 'zcopy_displ_be@bench-*' || rc=1
	mkdir -p "$TOP/build/bench"
	tr -d '\r\000' <"$CACHE/console.log" | sed -n 's/.*@bench,//p' >"$TOP/build/bench/backend-amd64.csv"
	bench_backend_table "$TOP/build/bench/backend-amd64.csv" | tee "$TOP/build/bench/backend-amd64.txt"
	exit $rc
	;;
demo)
	prepare
	[ "$DOMU" = 1 ] && step "building ppm2png (the demo's PNG writer, host)" build_ppm2png
	step "booting Xen + Dom0 and running the demo" boot_xen_any "zc.mode=demo zc.domu=$DOMU"
	out=$(between "$CACHE/console.log" BEGIN-RUN END-RUN)
	if [ -z "$out" ]; then
		show_console_tail "$CACHE/console.log"
		die "the demo did not run"
	fi
	echo "$out"
	rc=$(tr -d '\r' <"$CACHE/console.log" | sed -n 's/.*@@ZC END-RUN rc=//p')
	[ "$DOMU" = 1 ] && { demo_pictures || rc=1; }
	# A demo that matched but made the kernel complain did not work.
	between "$CACHE/console.log" BEGIN-DMESG END-DMESG >"$CACHE/dmesg.log"
	if grep -nE "$BAD_DMESG" "$CACHE/dmesg.log" >"$CACHE/dmesg-bad.log"; then
		echo "testbed: kernel trouble in dmesg (build/testbed/dmesg.log):"
		head -40 "$CACHE/dmesg-bad.log"
		rc=1
	else
		echo "dmesg: no oops, BUG or WARN"
	fi
	if [ "$DOMU" = 1 ]; then
		between "$CACHE/console.log" BEGIN-DOMU-LOG END-DOMU-LOG >"$CACHE/domu-console.log"
		if [ ! -s "$CACHE/domu-console.log" ] ||
		   grep -nE "$BAD_DMESG|zc_domu_agent exited" "$CACHE/domu-console.log" >"$CACHE/domu-bad.log"; then
			echo "testbed: trouble in the DomU's console (build/testbed/domu-console.log):"
			head -40 "$CACHE/domu-bad.log" 2>/dev/null
			rc=1
		else
			echo "DomU console: no oops, BUG or WARN"
		fi
	fi
	[ "${rc:-1}" = 0 ] && echo "demo: passed" || echo "demo: FAILED"
	exit "${rc:-1}"
	;;
bench-all)
	# Both architectures of one run: no stale CSV mixes in.
	rm -f "$TOP"/build/bench/bench-*.csv
	rc=0
	TESTBED_ARCH= bash "$0" bench || rc=1
	TESTBED_ARCH= bash "$0" bench-arm64 || rc=1
	exit $rc
	;;
bench)
	prepare
	# Room for the scale runs: Dom0's maptrack (4M handles, 1000 mapped
	# 1080p buffers take 4M on x86 PV) and its grant table (the 32400
	# page self-grant). Long quiet stretches are long measurements.
	# Dom0 gets most of the machine's memory, the DomU (x86) 256M. Xen logs
	# why it refuses a guest's grant operation (guest_loglvl).
	XEN_EXTRA="gnttab_max_maptrack_frames=16384 gnttab_max_frames=256 guest_loglvl=all"
	DOM0_MEM=1536M,max:1536M
	# A PV Dom0's xen clocksource advances in steps of milliseconds under
	# TCG (its vCPUs' clocks drift and reads are clamped to the last value
	# returned): the TSC gives the microseconds the setup figures need.
	# (QEMU's -initrd splits at commas: zc.bench gets "+" instead.)
	clock=
	[ "$GARCH" = amd64 ] && clock=" tsc=reliable clocksource=tsc"
	# The DomU's grants (section domu) where the testbed has a DomU.
	bench_domu=0
	case ${ZC_BENCH:-domu} in *domu*) [ "$DOMU" = 1 ] && bench_domu=1 ;; esac
	TESTBED_TIMEOUT=${TESTBED_TIMEOUT:-3600} TESTBED_SILENCE=${TESTBED_SILENCE:-900} \
		step "booting Xen + Dom0 and running the benchmark" \
		boot_xen_any "zc.mode=bench zc.domu=$bench_domu${ZC_BENCH:+ zc.bench=${ZC_BENCH//,/+}}$clock"
	out=$(between "$CACHE/console.log" BEGIN-RUN END-RUN)
	if [ -z "$out" ]; then
		show_console_tail "$CACHE/console.log"
		die "the benchmark did not run"
	fi
	echo "$out" | grep -v '^@csv,' || true
	mkdir -p "$TOP/build/bench"
	echo "$out" | sed -n "s/^@csv,/$GARCH,/p" >"$TOP/build/bench/bench-$GARCH.csv"
	between "$CACHE/console.log" BEGIN-DMESG END-DMESG >"$CACHE/dmesg.log"
	rc=$(tr -d '\r' <"$CACHE/console.log" | sed -n 's/.*@@ZC END-RUN rc=//p')
	if grep -nE "$BAD_DMESG" "$CACHE/dmesg.log" >"$CACHE/dmesg-bad.log"; then
		echo "testbed: kernel trouble in dmesg (${CACHE#"$TOP"/}/dmesg.log):"
		head -40 "$CACHE/dmesg-bad.log"
		rc=1
	fi
	bash "$TOP/tools/bench/report.sh" "$TOP/build/bench" || rc=1
	exit "${rc:-1}"
	;;
*)
	sed -n 's/^#   //p' "$0"
	exit 2
	;;
esac
