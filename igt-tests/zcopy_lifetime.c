// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime: buffers outlive the DRM file that made them for as long as an
 * importer (vkms scanning out, vgem) or a mapping holds them, and are
 * released completely when the last holder lets go, whether the backend
 * closes its files in order or is killed with SIGKILL. The module cannot
 * be unloaded while anything of it is alive, and unloads cleanly after.
 */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
#define KW		640
#define KH		480
#define KPAGES		(KW * KH * 4 / PAGE)
/* Pages of the vgem buffer granted with TO_REFS. */
#define VPAGES		4

enum { S_OBJS, S_MAPPED, S_IMPORTED, S_GRANTED, S_DEFERRED, S_WAIT,
       S_PV_VMAP, S_PV_USER };

static struct zc_stats base;
static struct zc_gntalloc ga;
static struct zc_kms kms;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define check_baseline() \
	zc_baseline_check(&base, 5000, "something was not released")

static void stat_is(int i, long value)
{
	struct zc_stats now;

	zc_assert_ok(zc_stats_read(&now));
	zc_assert_f(now.v[i] == value, "%s is %ld, expected %ld",
		    zc_stat_names[i], now.v[i], value);
}

/* A vgem buffer imported into @fd: the kind of buffer TO_REFS grants. */
static uint32_t import_vgem(int fd, int vgem, uint32_t pages, uint8_t **cpu)
{
	struct zc_dumb d;
	uint32_t h;
	int dmabuf;

	zc_assert_ok(zc_dumb_create(vgem, 64, pages * 16, 32, &d));
	if (cpu) {
		*cpu = zc_dumb_map(vgem, d.handle, d.size);
		zc_assert(*cpu);
	}
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(fd, dmabuf, &h));
	close(dmabuf);
	zc_assert_ok(zc_gem_close(vgem, d.handle));
	return h;
}

/*
 * The backend closes its DRM file while vkms scans the buffer out and
 * vgem holds an import: the buffer lives on (vkms still shows the
 * frontend's pages), the file's wait handle and its imported, granted
 * buffer go at once, and everything else goes with the last holder.
 */
static void test_close_fd_live_export_import(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	uint32_t kh, vh, ih, crc1, crc2, crc;
	static uint32_t refs[VPAGES];
	int fd, vgem, dmabuf;

	close(zc_baseline_open(&base));
	zc_kms_get(&kms, KW, KH);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	fd = zc_xen_open();
	zc_assert(fd >= 0);

	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, KPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	zc_fill_pattern(ga.map, KW, KH, KW * 4, 1);
	zc_assert_ok(zc_from_refs(fd, ga.refs, KPAGES, 0, KW, KH, 32, &r));

	zc_assert_ok(zc_prime_export(fd, r.dumb.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(kms.fd, dmabuf, &kh));
	zc_assert_ok(zc_prime_import(vgem, dmabuf, &vh));
	close(dmabuf);
	zc_assert_ok(zc_kms_show(&kms, kh, r.dumb.pitch));
	zc_assert_ok(zc_gem_close(kms.fd, kh));
	zc_assert_ok(zc_crc_current(&kms, &crc1));

	/* And a vgem buffer granted to the frontend. */
	ih = import_vgem(fd, vgem, VPAGES, NULL);
	zc_assert_ok(zc_to_refs(fd, ih, refs, VPAGES, 0));
	stat_is(S_GRANTED, base.v[S_GRANTED] + VPAGES);
	stat_is(S_IMPORTED, base.v[S_IMPORTED] + 1);
	stat_is(S_WAIT, base.v[S_WAIT] + 1);

	/* The backend goes away without closing any handle. */
	close(fd);
	stat_is(S_WAIT, base.v[S_WAIT]);
	stat_is(S_IMPORTED, base.v[S_IMPORTED]);
	stat_is(S_GRANTED, base.v[S_GRANTED]);
	stat_is(S_OBJS, base.v[S_OBJS] + 1);
	stat_is(S_MAPPED, base.v[S_MAPPED] + KPAGES);

	/* vkms still reads the frontend's pages. */
	zc_fill_pattern(ga.map, KW, KH, KW * 4, 2);
	zc_assert_ok(zc_crc_current(&kms, &crc2));
	zc_assert_neq(crc1, crc2);
	zc_fill_pattern(ga.map, KW, KH, KW * 4, 1);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc1);

	/* vgem lets go: vkms still holds it. */
	zc_assert_ok(zc_gem_close(vgem, vh));
	close(vgem);
	sleep_ms(100);
	stat_is(S_MAPPED, base.v[S_MAPPED] + KPAGES);
	stat_is(S_OBJS, base.v[S_OBJS] + 1);

	/* vkms lets go: all gone. */
	zc_kms_fini(&kms);
	check_baseline();
}

/* What the child reports once it holds everything. */
struct child_report {
	uint32_t refs[VPAGES];
	uint32_t wait_handle;
};

static void *child_waiter(void *data)
{
	struct drm_xen_zcopy_dumb_from_refs *r = data;

	/* Killed while blocked here. */
	zc_wait_free(r->dumb.handle, r->wait_handle, 600000);
	return NULL;
}

/* In the child: take every kind of reference there is, then sleep. */
static void __attribute__((noreturn))
child_hold_everything(int report_fd, bool scanout)
{
	static struct drm_xen_zcopy_dumb_from_refs r, wr;
	struct child_report rep = { };
	uint32_t vh, ih, kh;
	uint8_t *px, *px2, *vcpu;
	int fd, vgem, dmabuf;
	pthread_t t;

	fd = zc_xen_open();
	vgem = zc_drm_open_driver("vgem", NULL);
	if (fd < 0 || vgem < 0)
		_exit(10);
	if (zc_from_refs(fd, ga.refs, KPAGES, 0, KW, KH, 32, &r))
		_exit(11);
	/* Exported, CPU-mapped twice, imported by vgem. */
	if (zc_prime_export(fd, r.dumb.handle, &dmabuf))
		_exit(12);
	px = mmap(NULL, KPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		  dmabuf, 0);
	px2 = zc_dumb_map(fd, r.dumb.handle, KPAGES * PAGE);
	if (px == MAP_FAILED || !px2)
		_exit(13);
	px[0] = px2[1];
	if (zc_prime_import(vgem, dmabuf, &vh))
		_exit(14);
	if (scanout) {
		if (zc_kms_init(&kms, KW, KH) ||
		    zc_prime_import(kms.fd, dmabuf, &kh) ||
		    zc_kms_show(&kms, kh, r.dumb.pitch))
			_exit(15);
	}

	/* A vgem buffer imported and granted to the frontend. */
	ih = import_vgem(fd, vgem, VPAGES, &vcpu);
	memset(vcpu, 0x3c, VPAGES * PAGE);
	if (zc_to_refs(fd, ih, rep.refs, VPAGES, 0))
		_exit(16);

	/* A thread blocked in WAIT_FREE (on a copy of the file). */
	wr = r;
	wr.dumb.handle = fd;	/* the fd, for child_waiter */
	if (pthread_create(&t, NULL, child_waiter, &wr))
		_exit(17);

	rep.wait_handle = r.wait_handle;
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(18);
	for (;;)
		pause();
}

/*
 * SIGKILL a backend that holds buffers in every way: FROM_REFS buffers
 * exported, mmapped, imported by vgem (and scanned out by vkms), a vgem
 * buffer granted with TO_REFS, a thread in WAIT_FREE. Everything goes
 * back to the baseline; if the frontend still maps the granted pages,
 * their grants end (and the pages are freed) only after it unmaps.
 */
static void check_kill(bool scanout, bool frontend_maps)
{
	struct child_report rep;
	struct zc_gntdev gd;
	int status, p[2], i;
	pid_t pid;

	close(zc_baseline_open(&base));
	if (scanout) {
		int fd = zc_drm_open_driver("vkms", NULL);

		zc_require(fd >= 0);
		close(fd);
	}
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, KPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	zc_fill_pattern(ga.map, KW, KH, KW * 4, 3);
	zc_assert_ok(pipe(p));

	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_hold_everything(p[1], scanout);
	}
	close(p[1]);
	if (read(p[0], &rep, sizeof(rep)) != sizeof(rep)) {
		waitpid(pid, &status, 0);
		zc_assert_f(0, "child failed to set up: exit %d",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}

	stat_is(S_OBJS, base.v[S_OBJS] + 1);
	stat_is(S_MAPPED, base.v[S_MAPPED] + KPAGES);
	stat_is(S_IMPORTED, base.v[S_IMPORTED] + 1);
	stat_is(S_GRANTED, base.v[S_GRANTED] + VPAGES);
	stat_is(S_WAIT, base.v[S_WAIT] + 1);
	/* Only x86 PV maps grant by grant; auto-translated maps the pages. */
	stat_is(S_PV_USER, base.v[S_PV_USER] + (zc_is_pv() ? 2 * KPAGES : 0));
	if (scanout)
		stat_is(S_PV_VMAP, base.v[S_PV_VMAP] + (zc_is_pv() ? KPAGES : 0));

	if (frontend_maps) {
		zc_assert_ok(zc_gntdev_map(&gd, 0, rep.refs, VPAGES, false));
		for (i = 0; i < VPAGES * PAGE; i += 997)
			zc_assert_eq(gd.map[i], 0x3c);
	}

	zc_assert_ok(kill(pid, SIGKILL));
	zc_assert_eq(waitpid(pid, &status, 0), pid);
	zc_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (scanout) {
		/*
		 * Removing the dead master's framebuffer only disabled the
		 * plane: switch the CRTC off for the tests that follow.
		 */
		zc_assert_ok(zc_kms_init(&kms, KW, KH));
		zc_kms_fini(&kms);
	}

	if (frontend_maps) {
		/* The grants stay until the frontend unmaps; so do the pages. */
		zc_assert_ok(zc_stat_wait("from_refs_objects", base.v[S_OBJS], 5000));
		sleep_ms(300);
		stat_is(S_DEFERRED, base.v[S_DEFERRED] + VPAGES);
		stat_is(S_GRANTED, base.v[S_GRANTED] + VPAGES);
		for (i = 0; i < VPAGES * PAGE; i += 997)
			zc_assert_eq(gd.map[i], 0x3c);
		zc_gntdev_unmap(&gd);
	}
	check_baseline();
}

static void test_kill9(void)
{
	check_kill(false, false);
}

static void test_kill9_scanout(void)
{
	check_kill(true, false);
}

static void test_kill9_frontend_maps(void)
{
	check_kill(false, true);
}

/* In the child: make, share, map, grant and drop buffers, forever. */
static void __attribute__((noreturn)) child_churn(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	uint32_t refs[VPAGES], vh, ih;
	int fd, vgem, dmabuf, n;
	uint8_t *px, *px2;

	fd = zc_xen_open();
	vgem = zc_drm_open_driver("vgem", NULL);
	if (fd < 0 || vgem < 0)
		_exit(10);
	for (n = 0;; n++) {
		if (zc_from_refs(fd, ga.refs, 8, 0, 64, 128, 32, &r) ||
		    zc_prime_export(fd, r.dumb.handle, &dmabuf))
			_exit(11);
		px = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  dmabuf, 0);
		px2 = zc_dumb_map(fd, r.dumb.handle, 8 * PAGE);
		if (px == MAP_FAILED || !px2 || zc_prime_import(vgem, dmabuf, &vh))
			_exit(12);
		px[n % (8 * PAGE)] = px2[0];
		ih = import_vgem(fd, vgem, VPAGES, NULL);
		if (zc_to_refs(fd, ih, refs, VPAGES, 0))
			_exit(13);
		zc_wait_free(fd, r.wait_handle, 0);
		/* Let go in an order that changes every round. */
		if (n & 1) {
			close(dmabuf);
			zc_gem_close(fd, r.dumb.handle);
		} else {
			zc_gem_close(fd, r.dumb.handle);
			close(dmabuf);
		}
		if (n & 2)
			munmap(px, 8 * PAGE);
		zc_gem_close(vgem, vh);
		zc_gem_close(fd, ih);
		if (!(n & 2))
			munmap(px, 8 * PAGE);
		munmap(px2, 8 * PAGE);
	}
}

/*
 * SIGKILL a backend at random points of its work, many times: whatever
 * it was doing, everything is released and the counters return to the
 * baseline each time. The seed is fixed, so a failure repeats.
 */
static void test_kill9_random(void)
{
	int i, status;
	pid_t pid;

	close(zc_baseline_open(&base));
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, 8, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	srand(20261125);

	for (i = 0; i < 40; i++) {
		int delay = rand() % 150;

		pid = fork();
		zc_assert(pid >= 0);
		if (pid == 0)
			child_churn();
		sleep_ms(delay);
		zc_assert_ok(kill(pid, SIGKILL));
		zc_assert_eq(waitpid(pid, &status, 0), pid);
		zc_assert_f(WIFSIGNALED(status),
			    "round %d: the child exited with %d by itself", i,
			    WEXITSTATUS(status));
		zc_assert_f(zc_stats_wait_baseline(&base, 5000) == 0,
			    "round %d: killed after %d ms, not released", i,
			    delay);
	}
}

/* Module unload: refused while busy, clean afterwards. */

static int unload(void)
{
	return syscall(SYS_delete_module, "xen_drm_zcopy", O_NONBLOCK) ? -errno : 0;
}

static void reload(void *data)
{
	(void)data;
	if (access("/sys/module/xen_drm_zcopy", F_OK))
		if (system("/bin/modprobe xen_drm_zcopy"))
			fprintf(stderr, "modprobe xen_drm_zcopy failed\n");
}

static void unload_and_reload(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	struct zc_gntalloc g;
	struct zc_stats s;
	int fd, i, ret;

	/* The deferred work may still hold the module for a moment. */
	for (i = 0; i < 50; i++) {
		ret = unload();
		if (ret != -EWOULDBLOCK && ret != -EAGAIN)
			break;
		sleep_ms(100);
	}
	zc_assert_ok(ret);
	zc_assert(access("/sys/module/xen_drm_zcopy", F_OK) != 0);
	zc_assert(zc_xen_open() < 0);
	reload(NULL);

	/* A fresh module: idle counters, and it works. */
	zc_assert_ok(zc_stats_read(&s));
	for (i = 0; i < ZC_NR_STATS; i++)
		zc_assert_f(s.v[i] == 0, "%s is %ld after reload",
			    zc_stat_names[i], s.v[i]);
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_assert_ok(zc_gntalloc_alloc(&g, 0, 1, true));
	zc_assert_ok(zc_from_refs(fd, g.refs, 1, 0, 64, 16, 32, &r));
	stat_is(S_MAPPED, 1);
	close(fd);
	zc_gntalloc_free(&g);
	zc_assert_ok(zc_stat_wait("mapped_grants", 0, 5000));
}

static void unload_setup(void)
{
	zc_require(access("/bin/modprobe", X_OK) == 0);
	zc_at_exit(reload, NULL);
	close(zc_baseline_open(&base));
	/* Unloading resets the counters: only test from an idle driver. */
	zc_assert_f(!base.v[S_OBJS] && !base.v[S_IMPORTED] && !base.v[S_DEFERRED],
		    "the driver is not idle");
}

/* An exported dma-buf pins the module after its DRM file is closed. */
static void test_unload_busy_dmabuf(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	int fd, dmabuf;

	unload_setup();
	fd = zc_xen_open();
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, 2, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	zc_assert_ok(zc_from_refs(fd, ga.refs, 2, 0, 64, 32, 32, &r));
	zc_assert_ok(zc_prime_export(fd, r.dumb.handle, &dmabuf));
	close(fd);

	zc_assert_errno(unload(), EWOULDBLOCK);
	stat_is(S_MAPPED, base.v[S_MAPPED] + 2);
	close(dmabuf);
	check_baseline();
	unload_and_reload();
}

/* Grants the frontend still maps pin the module until it unmaps. */
static void test_unload_busy_deferred(void)
{
	static uint32_t refs[VPAGES];
	struct zc_gntdev gd;
	int fd, vgem;
	uint32_t h;

	unload_setup();
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	fd = zc_xen_open();
	h = import_vgem(fd, vgem, VPAGES, NULL);
	close(vgem);
	zc_assert_ok(zc_to_refs(fd, h, refs, VPAGES, 0));
	zc_assert_ok(zc_gntdev_map(&gd, 0, refs, VPAGES, true));
	close(fd);

	stat_is(S_IMPORTED, base.v[S_IMPORTED]);
	stat_is(S_DEFERRED, base.v[S_DEFERRED] + VPAGES);
	zc_assert_errno(unload(), EWOULDBLOCK);
	sleep_ms(300);
	zc_assert_errno(unload(), EWOULDBLOCK);

	zc_gntdev_unmap(&gd);
	check_baseline();
	unload_and_reload();
}

/* After a backend was killed holding everything, the module unloads. */
static void test_unload_after_kill(void)
{
	unload_setup();
	check_kill(true, true);
	unload_and_reload();
}

static const struct zc_subtest subtests[] = {
	{ "close-fd-live-export-import", test_close_fd_live_export_import },
	{ "kill9", test_kill9 },
	{ "kill9-scanout", test_kill9_scanout },
	{ "kill9-frontend-maps", test_kill9_frontend_maps },
	{ "kill9-random", test_kill9_random },
	{ "unload-busy-dmabuf", test_unload_busy_dmabuf },
	{ "unload-busy-deferred", test_unload_busy_deferred },
	{ "unload-after-kill", test_unload_after_kill },
	{ }
};

ZC_MAIN(subtests)
