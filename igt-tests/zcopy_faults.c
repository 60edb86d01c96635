// SPDX-License-Identifier: GPL-2.0
/*
 * Grant operations that fail where a healthy Xen does not fail them on
 * demand: an unmap Xen refuses (the page must never be reused), a map
 * refused because this domain's maptrack table is full (ENOMEM, and
 * nothing of the buffer left). The driver's test hooks in debugfs
 * (xen_zcopy_fail_*) make the N-th next operation fail.
 */

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
/* 64 x 64 XRGB8888 = 4 pages. */
#define W		64
#define H		64
#define NPAGES		4
#define SEED		0x5eed

/* Indexes into struct zc_stats, in the order of zc_stat_names. */
enum { ST_OBJECTS, ST_MAPPED, ST_IMPORTED, ST_GRANTED, ST_DEFERRED,
	ST_WAIT, ST_PV_VMAP, ST_PV_USER, ST_LEAKED };

static struct zc_stats base;
static struct zc_gntalloc ga;

/* @n pages granted to Dom0 itself, holding a pattern: the frontend. */
static void grant_pages(uint32_t n)
{
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, n, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	zc_fill_pattern(ga.map, W, n * PAGE / (W * 4), W * 4, SEED);
}

static void fault_path(const char *hook, char *path, size_t len)
{
	char file[64];

	snprintf(file, sizeof(file), "xen_zcopy_fail_%s", hook);
	zc_require(zc_debugfs_path(file, path, len) == 0);
}

static void fault_clear(void *hook)
{
	char path[128];

	fault_path(hook, path, sizeof(path));
	zc_write_long(path, 0);
}

/* Makes the @nth next operation of hook @hook fail. */
static void fault_arm(const char *hook, long nth)
{
	char path[128];

	fault_path(hook, path, sizeof(path));
	zc_assert_ok(zc_write_long(path, nth));
	zc_at_exit(fault_clear, (void *)hook);
}

static long fault_left(const char *hook)
{
	char path[128];

	fault_path(hook, path, sizeof(path));
	return zc_read_long(path);
}

static int kmsg_fd = -1;

/* Kernel log records from now on are read by kmsg_scan(). */
static void kmsg_mark(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	zc_assert(kmsg_fd >= 0);
	lseek(kmsg_fd, 0, SEEK_END);
}

/*
 * Reads the records since the mark: fails the subtest if one says the
 * kernel itself is hurt; returns the level of the last one containing
 * @text (-1 if none).
 */
static int kmsg_scan(const char *text)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "general protection", "Call Trace",
	};
	int level = -1;
	char rec[8192];
	unsigned int i;
	ssize_t n;

	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			zc_assert_f(!strstr(rec, bad[i]), "kernel: %s", rec);
		if (text && strstr(rec, text))
			level = atoi(rec) & 7;
	}
	return level;
}

struct waiter {
	int fd;
	uint32_t handle;
	int ret;
};

static void *wait_thread(void *data)
{
	struct waiter *w = data;

	w->ret = zc_wait_free(w->fd, w->handle, 20000);
	return NULL;
}

/*
 * Xen refuses to unmap one page of a buffer: that page is leaked for good
 * (it still shows the frontend's frame), the others are unmapped and
 * freed, and the buffer is gone for WAIT_FREE.
 */
static void test_unmap_fail_leaks(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	pthread_t thread;
	struct waiter w;
	int fd, i;

	/*
	 * Where grant maps take ballooned pages (arm64), a leaked page lowers
	 * Dom0's memory for good, which the run's oracle forbids.
	 */
	zc_require(zc_is_pv());
	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED] + NPAGES);

	/* A backend waiting for the buffer to go, as before DBUF_DESTROY. */
	w = (struct waiter){ .fd = fd, .handle = r.wait_handle, .ret = 1 };
	zc_assert_eq(pthread_create(&thread, NULL, wait_thread, &w), 0);
	for (i = 0; i < 300 && !zc_debugfs_has("xen_zcopy_buffers", "waiters 1"); i++)
		usleep(10 * 1000);
	zc_assert(zc_debugfs_has("xen_zcopy_buffers", "waiters 1"));

	kmsg_mark();
	fault_arm("unmap", 2);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	zc_assert_eq(pthread_join(thread, NULL), 0);
	zc_assert_eq(w.ret, 0);
	zc_assert_eq(fault_left("unmap"), 0);

	zc_assert_eq(zc_stat("leaked_pages"), base.v[ST_LEAKED] + 1);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED]);
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[ST_OBJECTS]);
	zc_assert_eq(kmsg_scan("page leaked"), 3);

	/* The frontend's pages are its own again: a new buffer maps them. */
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	close(fd);
	base.v[ST_LEAKED]++;
	zc_baseline_finish(&base, 3000);
}

/* Areas of /proc/vmallocinfo made by the driver's vmap() calls. */
static long driver_vmalloc_areas(void)
{
	char line[512];
	long areas = 0;
	FILE *f;

	f = fopen("/proc/vmallocinfo", "r");
	zc_assert(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[" XENDRM_ZCOPY_DRIVER_NAME "]") &&
		    strstr(line, " vmap"))
			areas++;
	fclose(f);
	return areas;
}

/*
 * x86 PV: Xen refuses to clear one grant PTE of a buffer's kernel
 * mapping. The kernel may not clear that entry itself, so the whole
 * virtual range stays reserved (seen in the kernel's own list of vmalloc
 * areas), never handed out again; the buffer's pages are unmapped.
 */
static void test_pte_unmap_fail_keeps_va(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	long areas0;
	int fd;

	zc_require(zc_is_pv());
	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);
	areas0 = driver_vmalloc_areas();
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	zc_assert_eq(driver_vmalloc_areas(), areas0 + 1);

	kmsg_mark();
	fault_arm("pte_unmap", 3);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	zc_assert_eq(fault_left("pte_unmap"), 0);
	zc_assert_eq(driver_vmalloc_areas(), areas0 + 1);
	zc_assert_eq(kmsg_scan("kernel mapping at"), 3);

	zc_assert_eq(zc_stat("pv_vmap_grants"), base.v[ST_PV_VMAP]);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED]);
	zc_assert_eq(zc_stat("leaked_pages"), base.v[ST_LEAKED]);

	/* The next buffer gets a range of its own, which goes with it. */
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	zc_assert_eq(driver_vmalloc_areas(), areas0 + 2);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	zc_assert_eq(driver_vmalloc_areas(), areas0 + 1);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

/*
 * Xen's maptrack table of this domain is full at the third page of the
 * batch (GNTST_no_space): the call fails with ENOMEM ("not now"), the
 * pages mapped before and after are unmapped again, and nothing of the
 * buffer stays; the same refs map once there is room.
 */
static void test_map_fail_unwinds(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	uint8_t *px;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);
	kmsg_mark();
	fault_arm("map", 3);
	zc_assert_errno(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, NULL),
			ENOMEM);
	zc_assert_eq(fault_left("map"), 0);
	kmsg_scan(NULL);
	zc_assert_f(zc_stats_wait_baseline(&base, 0) == 0,
		    "a failed map left something behind");

	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	px = zc_dumb_map(fd, r.dumb.handle, NPAGES * PAGE);
	zc_assert(px);
	zc_assert_eq(zc_check_pattern(px, W, H, W * 4, SEED), -1);
	zc_assert_ok(munmap(px, NPAGES * PAGE));
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static const struct zc_subtest subtests[] = {
	{ "unmap-fail-leaks", test_unmap_fail_leaks,
	  .dmesg_ignore = "cannot unmap ref [0-9]+ of domain [0-9]+ .*page leaked" },
	{ "pte-unmap-fail-keeps-va", test_pte_unmap_fail_keeps_va,
	  .dmesg_ignore = "grant PTE unmap: status|kernel mapping at .* leaked" },
	{ "map-fail-unwinds", test_map_fail_unwinds },
	{ }
};

ZC_MAIN(subtests)
