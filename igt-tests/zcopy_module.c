// SPDX-License-Identifier: GPL-2.0
/*
 * The module is loaded in Dom0, its DRM node is found by driver name, it
 * has no render node, and it unloads and reloads cleanly.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_igt.h"
#include "zc_xen.h"

static void test_driver_loaded(void)
{
	static const char *const files[] = {
		"xen_zcopy_stats", "xen_zcopy_domains", "xen_zcopy_buffers",
	};
	char path[128];
	struct stat st;
	unsigned int i;
	int fd, minor;

	zc_assert_ok(stat("/sys/module/xen_drm_zcopy", &st));
	/* debugfs under the device's own DRM minor, not a global folder. */
	zc_assert(access("/sys/kernel/debug/xen_zcopy", F_OK) != 0);
	fd = zc_drm_open_driver(XENDRM_ZCOPY_DRIVER_NAME, &minor);
	zc_assert(fd >= 0);
	close(fd);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/%s",
			 minor, files[i]);
		zc_assert_f(access(path, R_OK) == 0, "%s", path);
	}
}

static void test_node_by_name(void)
{
	drmVersionPtr v;
	int fd;

	fd = zc_xen_open();
	zc_assert_f(fd >= 0, "no primary node of driver " XENDRM_ZCOPY_DRIVER_NAME);
	v = drmGetVersion(fd);
	zc_assert(v);
	zc_assert(!strcmp(v->name, XENDRM_ZCOPY_DRIVER_NAME));
	zc_assert_eq(v->version_major, 1);
	drmFreeVersion(v);
	close(fd);
}

static void test_no_render_node(void)
{
	/* The ioctls map foreign memory: no unprivileged render clients. */
	zc_assert(!zc_drm_has_render_node(XENDRM_ZCOPY_DRIVER_NAME));
}

static void test_stats_idle(void)
{
	struct zc_stats s;
	int i;

	zc_assert_ok(zc_stats_read(&s));
	for (i = 0; i < ZC_NR_STATS; i++)
		zc_assert_f(s.v[i] == 0, "%s is %ld with no buffer alive",
			    zc_stat_names[i], s.v[i]);
}

static void test_unload_reload(void)
{
	int fd;

	zc_require(access("/bin/modprobe", X_OK) == 0);
	zc_assert_ok(syscall(SYS_delete_module, "xen_drm_zcopy", O_NONBLOCK));
	zc_assert(zc_xen_open() < 0);
	zc_assert(access("/sys/module/xen_drm_zcopy", F_OK) != 0);

	zc_assert_eq(system("/bin/modprobe xen_drm_zcopy"), 0);
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	close(fd);
}

static void test_busy_while_open(void)
{
	int fd = zc_xen_open();

	zc_assert(fd >= 0);
	/* An open file pins the module. */
	zc_assert_errno(syscall(SYS_delete_module, "xen_drm_zcopy", O_NONBLOCK),
			EWOULDBLOCK);
	close(fd);
}

static const struct zc_subtest subtests[] = {
	{ "driver-loaded", test_driver_loaded },
	{ "node-by-name", test_node_by_name },
	{ "no-render-node", test_no_render_node },
	{ "stats-idle", test_stats_idle },
	{ "busy-while-open", test_busy_while_open },
	{ "unload-reload", test_unload_reload },
	{ }
};

ZC_MAIN(subtests)
