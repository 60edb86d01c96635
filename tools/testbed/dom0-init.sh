#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the testbed's Dom0 (busybox). Loads the modules, starts the Xen
# toolstack and a PV DomU (zc.domu=1), runs what the kernel command line
# asks for (zc.mode=check|demo|bench|bare, zc.tests=GLOB, zc.bench=WHAT) and prints it between
# markers the host reads back, then the whole dmesg and the DomU's console.
# zc.runner=igt: check runs the suite under IGT's igt_runner (/opt/igt/bin,
# which testbed.sh copies in with TESTBED_IGT_RUNNER) instead of zc_runner.

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

mode=check
expect=/opt/zcopy/expected.txt
tests=
domu=0
bench=
runner=zc
for arg in $(cat /proc/cmdline); do
	case $arg in
	zc.mode=*) mode=${arg#zc.mode=} ;;
	zc.tests=*) tests=${arg#zc.tests=} ;;
	zc.domu=*) domu=${arg#zc.domu=} ;;
	zc.runner=*) runner=${arg#zc.runner=} ;;
	zc.oracle_trace=1) export ZC_ORACLE_TRACE=1 ;;
	# The debug kernel: empty slabs SLUB keeps cached would count in
	# Slab, and every object is bigger there, with its red zones and
	# kmemleak's record of it (igt-tests/lib/zc_oracle.h).
	zc.kernel=debug) export ZC_ORACLE_SHRINK_SLABS=1 ZC_ORACLE_SLAB_KB=6144 ;;
	# igt-tests/zcopy_fuzz: how many steps, from which seed.
	zc.fuzz_calls=*) export FUZZ_CALLS=${arg#zc.fuzz_calls=} ;;
	zc.fuzz_seed=*) export ZC_FUZZ_SEED=${arg#zc.fuzz_seed=} ;;
	zc.subtest_timeout=*) subtest_timeout=${arg#zc.subtest_timeout=} ;;
	zc.bench=*) bench=${arg#zc.bench=} ;;
	# The backend benchmark runs subtests the manifest expects to skip.
	zc.bench_backend=1) expect= ;;
	esac
done

# A long fuzzing run (FUZZ_CALLS above 100000 steps) gets
# the per-subtest time limits of the harness and zc_runner scaled with it.
if [ "${FUZZ_CALLS:-0}" -gt 100000 ] 2>/dev/null; then
	export ZC_SUBTEST_TIMEOUT_S=$((300 * ((FUZZ_CALLS + 99999) / 100000)))
fi
# Or as the command line says (a loaded host: TESTBED_SUBTEST_TIMEOUT).
[ -n "${subtest_timeout:-}" ] && export ZC_SUBTEST_TIMEOUT_S=$subtest_timeout

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Waits up to $1 tenths of a second for the command in the other arguments.
wait_for() {
	local n=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		sleep 0.1
	done
}

# The Xen toolstack from the initramfs, then the DomU whose agent the
# cross-domain tests drive. /run/zc-domu holds its domid once the agent
# answers; the tests skip without it.
start_domu() {
	local t0 t1 t2 id
	t0=$(uptime_s)
	for m in xen-evtchn xen-privcmd xenfs; do
		modprobe "$m" || echo "init: modprobe $m failed"
	done
	mkdir -p /proc/xen /run/xen /run/xenstored /var/lib/xen /var/lib/xenstored \
		/var/log/xen/console /var/lock
	mount -t xenfs xenfs /proc/xen || return 1
	oxenstored --pid-file /run/xen/xenstored.pid || return 1
	wait_for 100 xenstore-read -s / || { echo "init: xenstored does not answer"; return 1; }
	xen-init-dom0 >/tmp/xen-init-dom0.log 2>&1 || { cat /tmp/xen-init-dom0.log; return 1; }
	xenconsoled --log=guest --log-dir=/var/log/xen/console || return 1
	t1=$(uptime_s)
	xl create /opt/zcopy/domu/domu.cfg >/tmp/xl-create.log 2>&1 ||
		{ cat /tmp/xl-create.log; return 1; }
	id=$(xl domid zc-domu) || return 1
	t2=$(uptime_s)
	if ! wait_for 600 xenstore-read "/local/domain/$id/data/zc/ready"; then
		echo "init: the DomU's agent did not come up"
		return 1
	fi
	echo "$id" >/run/zc-domu
	echo "@@ZC DOMU-READY domid $id up in $(awk "BEGIN { t = $(uptime_s); printf \"%.1fs (toolstack %.1fs, xl create %.1fs, DomU boot to agent %.1fs)\", t - $t0, $t1 - $t0, $t2 - $t1, t - $t2 }"), Dom0 uptime $(uptime_s)s"
}

# The suite under IGT's own runner, as a CI that builds IGT runs it
# (Documentation/gpu/xen-zcopy.rst): multiple mode, the inactivity limit
# the documentation gives, one line "igt@BIN@SUBTEST: VERDICT" per result
# of results.json between markers; the host judges them against the
# manifest. GLOB ($1, comma-separated globs of bin or bin@subtest) becomes
# the runner's -t regex. -l verbose: the console shows every subtest start
# and result, as zc_runner's copy of the tests' output does.
run_igt() {
	local glob=$1 res=/tmp/igt-results
	set --
	[ -n "$glob" ] && set -- -t "^igt@($(echo "$glob" |
		sed 's/[.^$+(){}|\\]/\\&/g; s/\*/.*/g; s/?/./g; s/,/|/g'))(@.*)?\$"
	echo "igt_runner -m --inactivity-timeout 120 -l verbose $* /opt/zcopy/tests $res"
	igt_runner -m --inactivity-timeout 120 -l verbose "$@" /opt/zcopy/tests $res
	echo "igt_runner: exit $?"
	# The runner writes results.json when it ends; igt_results builds it
	# from what a runner that stopped early left.
	[ -f $res/results.json ] || igt_results $res || return 1
	[ -f $res/results.json ] || return 1
	# results.json is json-c's pretty print: every key of a test's
	# object on a line of its own, strings (out, err, dmesg) on one line.
	echo "@@ZC BEGIN-IGT"
	awk '/^    "igt@[^"]*":\{$/ { split($0, a, "\""); name = a[2] }
	     /^      "result":"/ { split($0, a, "\""); print name ": " a[4] }' \
		$res/results.json
	echo "@@ZC END-IGT"
}

# What the DomU printed on its console, and Xen's view of the domains.
report_domu() {
	echo "@@ZC BEGIN-DOMU-LOG"
	xl list 2>&1
	for f in /var/log/xen/console/guest-*.log; do
		[ -f "$f" ] || continue
		echo "---- $f"
		cat "$f"
	done
	echo "@@ZC END-DOMU-LOG"
}

# The debug kernel's kmemleak: what boot left unreferenced is not the
# run's (nothing of ours is loaded yet); reported once, then forgotten.
KMEMLEAK=/sys/kernel/debug/kmemleak
if [ "$mode" = check ] && [ -w $KMEMLEAK ]; then
	echo scan >$KMEMLEAK
	echo "@@ZC KMEMLEAK at boot: $(grep -c 'unreferenced object' $KMEMLEAK) suspects (not counted)"
	echo clear >$KMEMLEAK
fi

if [ "$mode" = bare ]; then
	modprobe xen_drm_zcopy 2>/dev/null
	echo "@@ZC BARE modprobe-rc=$?"
	dmesg | grep xen_drm_zcopy
	poweroff -f
fi

# Log the fault address of a test that dies of a signal (arm64 default: off).
echo 1 >/proc/sys/debug/exception-trace 2>/dev/null
# Every sysrq function: the testbed asks a silent Dom0 for its blocked
# tasks and backtraces through the console (tools/testbed/testbed.sh).
echo 1 >/proc/sys/kernel/sysrq

# No fbdev console on vkms: it would keep the CRTC on for the whole run,
# and under a loaded TCG host every late vblank logs a KERN_WARNING
# ("vblank timer overrun") that the runner counts against a test.
modprobe drm_kms_helper fbdev_emulation=0 ||
	echo "init: modprobe drm_kms_helper failed"

# With make deb's packages unpacked, the driver is loaded as
# systemd-modules-load would: by what /etc/modules-load.d names.
zcopy=xen_drm_zcopy
if [ -f /etc/zcopy-debs ]; then
	zcopy=$(cat /etc/modules-load.d/*.conf 2>/dev/null | sed 's/[#;].*//' | tr -s ' \t' '\n')
	[ -n "$zcopy" ] || echo "init: /etc/modules-load.d names no module"
fi
# vkms with its overlay planes: zcopy_displ_be@two-connectors shows a
# second guest connector on one. A plane nobody enables is not composed,
# so every other test's CRC is what it is without them.
for m in xen-gntdev xen-gntalloc vgem vkms $zcopy zc_importer; do
	args=
	[ "$m" = vkms ] && args=enable_overlay=1
	modprobe "$m" $args || echo "init: modprobe $m failed"
done

export PATH=/opt/zcopy/bin:/opt/xen/bin:/bin
if [ "$domu" = 1 ] && [ -x /opt/xen/bin/xl ]; then
	start_domu || echo "@@ZC DOMU-FAILED (cross-domain tests will skip)"
fi

# State the driver does not write, compared over the whole run (the
# harness compares the cheap part around every subtest too).
[ "$mode" = check ] && zc_oracle start /run/zc-oracle-run

echo "@@ZC BEGIN-RUN"
case $mode in
demo)
	/opt/zcopy/bin/zcopy_demo
	rc=$?
	# With the DomU: the pipeline from a real guest, whose pictures the
	# host gets after END-RUN.
	if [ -s /run/zc-domu ]; then
		echo
		/opt/zcopy/bin/displ_demo /tmp/demo || rc=1
	elif [ "$domu" = 1 ]; then
		echo "FAIL: no DomU for the pipeline demo"
		rc=1
	fi
	;;
bench)
	# zc.bench=setup+frame+scale (default all) selects the sections.
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	/opt/zcopy/bin/zcopy_bench $(echo "$bench" | tr -d ' ')
	rc=$?
	;;
*)
	if [ "$runner" = igt ]; then
		if [ -x /opt/igt/bin/igt_runner ]; then
			PATH=$PATH:/opt/igt/bin run_igt "$tests"
			rc=$?
		else
			echo "init: no igt_runner in the initramfs"
			rc=1
		fi
	elif [ -x /opt/zcopy/bin/zc_runner ]; then
		/opt/zcopy/bin/zc_runner ${expect:+--expect $expect} \
			$([ "$domu" = 1 ] && echo --have domu) \
			$([ -f /etc/zcopy-debs ] && echo --have deb) /opt/zcopy/tests $tests
		rc=$?
	else
		echo "init: no test runner in the initramfs"
		rc=1
	fi
	;;
esac
echo "@@ZC END-RUN rc=$rc"
# Files for the host, gzip'ed and in base64 between markers that carry
# the md5sum of the .gz (a console may drop or mix in characters).
files=
[ "$mode" = demo ] && files="/tmp/demo/capture.ppm /tmp/demo/guest.ppm"
[ "$runner" = igt ] && files=/tmp/igt-results/results.json
if [ -n "$files" ]; then
	for f in $files; do
		[ -f "$f" ] || continue
		gzip -9 -c "$f" >"$f.gz"
		echo "@@ZC BEGIN-FILE ${f##*/}.gz $(md5sum <"$f.gz" | cut -d' ' -f1)"
		base64 "$f.gz"
		echo "@@ZC END-FILE"
	done
fi
if [ "$mode" = check ]; then
	echo "@@ZC BEGIN-ORACLE"
	zc_oracle end /run/zc-oracle-run
	echo "@@ZC END-ORACLE rc=$?"
fi
# Leaks of the run: the driver unloaded first (what it frees on unload is
# no leak, what it forgets is), objects older than kmemleak's minimum age
# of 5 s, two scans so a pointer only in flight is not taken for none.
if [ "$mode" = check ] && [ -w $KMEMLEAK ]; then
	echo "@@ZC BEGIN-KMEMLEAK"
	rmmod xen_drm_zcopy 2>&1 || echo "(xen_drm_zcopy stays loaded)"
	sleep 6
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	cat $KMEMLEAK
	echo "@@ZC END-KMEMLEAK"
fi
echo "@@ZC BEGIN-DMESG"
dmesg
echo "@@ZC END-DMESG"
[ "$domu" = 1 ] && [ -x /opt/xen/bin/xl ] && report_domu
poweroff -f
