#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the testbed's PV DomU (busybox): loads gntalloc, gntdev and
# drm_xen_front, and runs zc_domu_agent, the frontend the cross-domain
# tests drive through XenStore. Its output goes to hvc0, which xenconsoled
# logs in Dom0.

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp

for m in xen-gntalloc xen-gntdev; do
	modprobe "$m" || echo "domu-init: modprobe $m failed"
done
# gntalloc's default limit (1024 pages) is below one 1080p frame; the
# guest's memory bounds what the agent can grant anyway.
echo 16384 >/sys/module/xen_gntalloc/parameters/limit ||
	echo "domu-init: cannot raise gntalloc's limit"

# The frontend of the vdispl device zcopy_domu_vdispl attaches. modprobe
# waits for the devices present at load time: in the background.
modprobe drm_xen_front &

# The agent reports a grant whose end is deferred (still mapped by Dom0)
# from this pr_debug line of gnttab_end_foreign_access().
for c in /proc/dynamic_debug/control /sys/kernel/debug/dynamic_debug/control; do
	[ -w "$c" ] && echo 'file drivers/xen/grant-table.c +p' >"$c" 2>/dev/null && break
done

echo "domu-init: up $(cut -d' ' -f1 /proc/uptime)s, starting the agent"
/bin/zc_domu_agent
echo "domu-init: zc_domu_agent exited rc=$?"
while :; do
	sleep 3600
done
