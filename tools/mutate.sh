#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make mutate: runs the test suite against deliberately broken variants of
# the driver (igt-tests/mutants/*.patch), one at a time, and tells which
# subtests killed each. A mutant no test kills means a missing test.
#
# Each patch starts with comment lines before its diff:
#   # what the bug is (one line)
#   # tests: GLOB[,GLOB...]   the subtests that should kill it (zc_runner
#                             globs; MUTATE_FULL=1 runs the whole suite)
#   # arch: amd64 arm64       where it is run (default: amd64); "debug":
#                             x86 PV on make check-debug's kernel
#                             (tools/testbed/debug-kernel.sh), for bugs
#                             only its checkers see
#
# The patch is applied to a copy of the driver's sources under
# build/mutate/tree-ARCH/ (never to the working tree), the module built
# there against the testbed's headers, the patch reverted, and
# tools/testbed/testbed.sh run with TESTBED_MODULE_KO pointing at a copy
# of the module; after the first run it only swaps the module into the
# initramfs (TESTBED_REUSE_INITRD=1).
#
# Environment: MUTANTS='GLOB...' selects patches by file name (default: all),
# MUTATE_ARCHS="amd64 arm64 debug" the architectures to run (default amd64;
# a mutant runs on those of its arches that are listed), MUTATE_FULL=1 runs
# the whole suite for each mutant, MUTATE_BASELINE=0 skips the run of the
# unmutated driver on the union of the mutants' globs (which must pass:
# otherwise a "kill" proves nothing).
#
# Output: build/mutate/NAME-ARCH.log per run, build/mutate/results-ARCHS.txt, a
# table "mutant | arch | killed by | verdict". Exits 1 if a mutant
# survived or a patch does not apply or build, 2 if the baseline fails.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/mutate
MUT_DIR=$TOP/igt-tests/mutants
ARCHS=${MUTATE_ARCHS:-amd64}

die() { echo "mutate: error: $*" >&2; exit 2; }
log() { echo "mutate: $*"; }

mkdir -p "$OUT"

# A patch's header field ("# tests: ..."), or empty.
field() { sed -n "/^diff --git/q; s/^# $2: *//p" "$1" | head -1; }

patches=()
for g in ${MUTANTS:-*}; do
	for p in "$MUT_DIR"/${g%.patch}.patch; do
		[ -f "$p" ] && patches+=("$p")
	done
done
[ ${#patches[@]} -gt 0 ] || die "no patch in igt-tests/mutants matches '${MUTANTS:-*}'"

# The testbed's caches give the kernel headers (the amd64 run resolves the
# ABI; tools/arm64.sh fetches the arm64 headers).
setup_arch() {
	case $1 in
	amd64)
		[ -f "$TOP/build/testbed/kver" ] || TESTBED_ARM64=0 bash "$TOP/tools/testbed/testbed.sh" setup
		;;
	arm64)
		[ -f "$TOP/build/testbed/kver" ] || TESTBED_ARM64=0 bash "$TOP/tools/testbed/testbed.sh" setup
		bash "$TOP/tools/arm64.sh" >"$OUT/arm64-headers.log" 2>&1 ||
			{ tail "$OUT/arm64-headers.log"; die "tools/arm64.sh failed"; }
		;;
	debug)
		bash "$TOP/tools/testbed/debug-kernel.sh" build >"$OUT/debug-kernel.log" 2>&1 ||
			{ tail "$OUT/debug-kernel.log"; die "the debug kernel does not build"; }
		;;
	*) die "unknown arch '$1' (amd64, arm64 or debug)" ;;
	esac
}

# A copy of the driver's sources per arch, made once per invocation:
# each patch is applied to it, built and reverted, so that only the
# files a patch touches are compiled again.
fresh_tree() {
	local dir=$OUT/tree-$1
	rm -rf "$dir"
	mkdir -p "$dir/drivers/gpu/drm/xen" "$dir/include/uapi/drm"
	cp "$TOP"/drivers/gpu/drm/xen/{Kbuild,*.c,*.h} "$dir/drivers/gpu/drm/xen/"
	rm -f "$dir"/drivers/gpu/drm/xen/*.mod.c
	cp "$TOP/include/uapi/drm/xen_zcopy_drm.h" "$dir/include/uapi/drm/"
}

# git apply [$3] of patch $2 in directory $1. The copy lies inside this
# repository, where git apply would take the paths as relative to its
# top and skip them all: the ceiling keeps git from finding the
# repository, so it patches the copy like any directory.
patch_tree() {
	(cd "$1" && GIT_CEILING_DIRECTORIES=$OUT git apply -v ${3:+"$3"} "$2")
}

# Builds the driver with patch $1 (empty: unmutated) for arch $2; prints
# the path of a copy of the module, build/mutate/NAME-ARCH/xen_drm_zcopy.ko.
build_mutant() {
	local patch=$1 arch=$2 name dir=$OUT/tree-$2 kdir ok=1 blog
	name=$(basename "${patch:-baseline}" .patch)
	blog=$OUT/$name-$arch.build.log
	if [ -n "$patch" ] && ! patch_tree "$dir" "$patch" >"$blog" 2>&1; then
		echo "$name does not apply: $(head -3 "$blog")" >&2
		return 1
	fi
	[ -n "$patch" ] || : >"$blog"
	if [ "$arch" = amd64 ]; then
		kdir=/usr/src/linux-headers-$(cat "$TOP/build/testbed/kver")
		make -C "$kdir" M="$dir/drivers/gpu/drm/xen" modules >>"$blog" 2>&1 || ok=0
	elif [ "$arch" = debug ]; then
		make -C "$TOP/build/debug-kernel/obj" M="$dir/drivers/gpu/drm/xen" modules >>"$blog" 2>&1 || ok=0
	else
		kdir=$TOP/build/arm64/root/usr/src/linux-headers-$(sed 's/-amd64$//' "$TOP/build/testbed/kver")-arm64
		make -C "$kdir" M="$dir/drivers/gpu/drm/xen" ARCH=arm64 \
			CROSS_COMPILE=aarch64-linux-gnu- modules >>"$blog" 2>&1 || ok=0
	fi
	if [ "$ok" = 1 ]; then
		mkdir -p "$OUT/$name-$arch"
		cp "$dir/drivers/gpu/drm/xen/xen_drm_zcopy.ko" "$OUT/$name-$arch/"
	fi
	if [ -n "$patch" ] && ! patch_tree "$dir" "$patch" -R >>"$blog" 2>&1; then
		fresh_tree "$arch"
	fi
	if [ "$ok" != 1 ]; then
		tail -20 "$blog" >&2
		return 1
	fi
	echo "$OUT/$name-$arch/xen_drm_zcopy.ko"
}

# Runs the testbed on module $1, arch $2, glob $3 (empty: everything);
# its output goes to $4. Prints the failed names, comma-separated, or
# "-" if the run passed.
run_testbed() {
	local ko=$1 arch=$2 glob=$3 log=$4 cmd=check fails envs kernel=debian
	[ "$arch" = arm64 ] && cmd=check-arm64
	[ "$arch" = debug ] && kernel=debug
	# Narrow globs need neither the DomU nor the boot without Xen.
	if [ "${MUTATE_FULL:-0}" = 1 ]; then
		envs=(TESTBED_DOMU="${TESTBED_DOMU:-1}" TESTBED_BARE=1)
	else
		envs=(TESTBED_DOMU="${TESTBED_DOMU:-0}" TESTBED_BARE=0)
	fi
	# The first run packs the initramfs; the next ones only swap the module.
	envs+=(TESTBED_REUSE_INITRD="$packed")
	env TESTBED_MODULE_KO="$ko" TESTBED_LINT=0 TESTBED_KERNEL=$kernel "${envs[@]}" \
		bash "$TOP/tools/testbed/testbed.sh" "$cmd" ${glob:+"$glob"} >"$log" 2>&1 || true
	# arm64 runs prefix their names with "arm64:".
	fails=$(sed -nE 's/^\[FAIL\] (arm64:)?([^ :]+).*/\2/p' "$log" | sort -u | paste -sd, -)
	if ! grep -Eq '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log"; then
		fails=${fails:+$fails,}testbed@no-summary
	fi
	echo "${fails:--}"
}

# The union of the mutants' globs, per arch.
union_globs() {
	local arch=$1 p globs=() a
	for p in "${patches[@]}"; do
		a=$(field "$p" arch)
		case " ${a:-amd64} " in *" $arch "*) ;; *) continue ;; esac
		globs+=("$(field "$p" tests)")
	done
	printf '%s\n' "${globs[@]}" | tr , '\n' | sed '/^$/d' | sort -u | paste -sd, -
}

survivors=0
broken=0
results=$OUT/results-${ARCHS// /-}.txt
{
	echo "# make mutate, $(date -u '+%Y-%m-%d %H:%M UTC'), MUTATE_ARCHS='$ARCHS'${MUTATE_FULL:+, whole suite}"
	echo "mutant | arch | killed by | verdict"
} >"$results"

# Whether this invocation packed the arch's initramfs already.
packed_after() {
	if grep -q 'packing the Dom0 initramfs: done' "$1"; then packed=1; fi
}

for arch in $ARCHS; do
	setup_arch "$arch"
	fresh_tree "$arch"
	packed=0
	if [ "${MUTATE_BASELINE:-1}" = 1 ]; then
		glob=""
		[ "${MUTATE_FULL:-0}" = 1 ] || glob=$(union_globs "$arch")
		ko=$(build_mutant "" "$arch") || die "the unmutated driver does not build"
		i=0
		# Xen keeps 1 KiB of Dom0's command line (the kernel's path
		# and the other arguments included): a long union is run in
		# parts.
		parts=ALL
		[ -z "$glob" ] || parts=$(echo "$glob" | tr , '\n' | awk '
			{ if (n && l + length($0) > 850) { print c; c = ""; l = 0; n = 0 }
			  c = n ? c "," $0 : $0; l += length($0) + 1; n++ }
			END { if (n) print c }')
		for chunk in $parts; do
			[ "$chunk" != ALL ] || chunk=""
			i=$((i + 1))
			log "baseline ($arch, part $i): the unmutated driver on ${chunk:-the whole suite}"
			fails=$(run_testbed "$ko" "$arch" "$chunk" "$OUT/baseline-$arch-$i.log")
			packed_after "$OUT/baseline-$arch-$i.log"
			if [ "$fails" != - ]; then
				echo "baseline | $arch | $fails | FAILS" | tee -a "$results"
				die "the unmutated driver fails ($fails): see build/mutate/baseline-$arch-$i.log"
			fi
			log "baseline ($arch, part $i): passes"
		done
	fi
	for p in "${patches[@]}"; do
		name=$(basename "$p" .patch)
		a=$(field "$p" arch)
		case " ${a:-amd64} " in *" $arch "*) ;; *) continue ;; esac
		glob=$(field "$p" tests)
		[ "${MUTATE_FULL:-0}" = 1 ] && glob=""
		s=$(date +%s)
		if ! ko=$(build_mutant "$p" "$arch"); then
			echo "$name | $arch | (does not apply or build) | BROKEN" | tee -a "$results"
			broken=$((broken + 1))
			continue
		fi
		log "$name ($arch): running ${glob:-the whole suite}"
		fails=$(run_testbed "$ko" "$arch" "$glob" "$OUT/$name-$arch.log")
		packed_after "$OUT/$name-$arch.log"
		if [ "$fails" = - ]; then
			verdict=SURVIVED
			survivors=$((survivors + 1))
		else
			verdict=KILLED
		fi
		echo "$name | $arch | $fails | $verdict ($(($(date +%s) - s)) s)" | tee -a "$results"
	done
done

echo
cat "$results"
total=$(grep -cE '\| (KILLED|SURVIVED|BROKEN)' "$results" || true)
echo "$total runs, $survivors survived, $broken broken"
[ "$survivors" -eq 0 ] && [ "$broken" -eq 0 ]
