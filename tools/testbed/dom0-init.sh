#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the testbed's Dom0 (busybox). Loads the modules, runs what the
# kernel command line asks for (zc.mode=check|demo|bare, zc.tests=GLOB)
# and prints it between markers the host reads back, then the whole dmesg.

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

mode=check
tests=
for arg in $(cat /proc/cmdline); do
	case $arg in
	zc.mode=*) mode=${arg#zc.mode=} ;;
	zc.tests=*) tests=${arg#zc.tests=} ;;
	esac
done

if [ "$mode" = bare ]; then
	modprobe xen_drm_zcopy 2>/dev/null
	echo "@@ZC BARE modprobe-rc=$?"
	dmesg | grep xen_drm_zcopy
	poweroff -f
fi

# No fbdev console on vkms: it would keep the CRTC on for the whole run,
# and under a loaded TCG host every late vblank logs a KERN_WARNING
# ("vblank timer overrun") that the runner counts against a test.
modprobe drm_kms_helper fbdev_emulation=0 ||
	echo "init: modprobe drm_kms_helper failed"

for m in xen-gntdev xen-gntalloc vgem vkms xen_drm_zcopy; do
	modprobe "$m" || echo "init: modprobe $m failed"
done

export PATH=/opt/zcopy/bin:/bin
echo "@@ZC BEGIN-RUN"
case $mode in
demo)
	/opt/zcopy/bin/zcopy_demo
	rc=$?
	;;
*)
	if [ -x /opt/zcopy/bin/zc_runner ]; then
		/opt/zcopy/bin/zc_runner /opt/zcopy/tests $tests
		rc=$?
	else
		echo "init: no test runner in the initramfs"
		rc=1
	fi
	;;
esac
echo "@@ZC END-RUN rc=$rc"
echo "@@ZC BEGIN-DMESG"
dmesg
echo "@@ZC END-DMESG"
poweroff -f
