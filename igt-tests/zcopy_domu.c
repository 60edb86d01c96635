// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-domain tests: a real frontend in a PV DomU. The testbed starts the
 * DomU and its agent (tools/domu-agent), which grants and maps buffers on
 * request through XenStore (lib/zc_domu.h). On x86 PV Dom0 this is where
 * foreign frames matter: Xen refuses a page-table entry of Dom0 for a
 * DomU's frame unless Xen writes it through a grant map, so the driver's
 * vmap (vkms composition) and mmap paths are tested with real foreign
 * frames here, which self-grants cannot do.
 *
 * Without a DomU (TESTBED_DOMU=0) every subtest skips.
 */

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zc_domu.h"
#include "zc_fixture.h"
#include "zc_drm.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define W	1024
#define H	768
#define PITCH	(W * 4)
#define PAGE	4096
#define PAGES	((PITCH * H + PAGE - 1) / PAGE)

#define SEED_A	11
#define SEED_B	12
#define SEED_C	13

enum { ST_FROM_REFS, ST_MAPPED, ST_IMPORTED, ST_GRANTED, ST_DEFERRED,
       ST_WAIT, ST_PV_VMAP, ST_PV_USER };

static struct zc_domu domu;
static struct zc_stats base;

static void check_baseline(void *data)
{
	(void)data;
	if (zc_stats_wait_baseline(&base, 5000))
		zc_info("driver counters not back to baseline\n");
}

static void start(void)
{
	int ret = zc_domu_open(&domu);

	if (ret == -ENODEV)
		zc_skip("no DomU: the testbed runs without one (TESTBED_DOMU=0) or it did not start");
	zc_assert_f(ret == 0, "the DomU agent does not answer: %d (%s)", ret,
		    strerror(-ret));
	zc_require(zc_stats_read(&base) == 0);
	/* Fixtures run in reverse: the baseline check last, after the reset. */
	zc_at_exit(check_baseline, NULL);
	zc_at_exit(zc_domu_release, &domu);
	zc_domu_ok(&domu, "reset");
}

static void finish(void)
{
	zc_assert_f(zc_stats_wait_baseline(&base, 5000) == 0,
		    "driver counters not back to baseline after closing all");
}

static void close_fd(void *data)
{
	int *fd = data;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The DomU grants @pages pages to @to as slot @name; refs in @refs. */
static void domu_grant(const char *name, uint32_t pages, int to,
		       uint32_t *refs)
{
	zc_domu_ok(&domu, "alloc %s %u %d", name, pages, to);
	zc_assert_ok(zc_domu_get_refs(&domu, refs, pages));
}

/* Compares @px with pattern @seed; reports the first difference. */
static void assert_pattern_wh(const void *px, uint32_t w, uint32_t h,
			      uint32_t pitch, uint32_t seed, const char *what)
{
	uint32_t *want = malloc((size_t)pitch * h);
	uint32_t x, y;

	zc_assert(want);
	zc_fill_pattern(want, w, h, pitch, seed);
	for (y = 0; y < h; y++) {
		const uint32_t *a = (const uint32_t *)((const uint8_t *)px + (size_t)y * pitch);
		const uint32_t *b = (const uint32_t *)((const uint8_t *)want + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			zc_assert_f(a[x] == b[x],
				    "%s: pixel %u,%u is 0x%08x, pattern %u has 0x%08x",
				    what, x, y, a[x], seed, b[x]);
	}
	free(want);
}

static void assert_pattern(const void *px, uint32_t pitch, uint32_t seed,
			   const char *what)
{
	assert_pattern_wh(px, W, H, pitch, seed, what);
}

/* A DUMB_FROM_REFS buffer on refs the DomU granted. */
struct from_buf {
	int fd;
	struct drm_xen_zcopy_dumb_from_refs req;
	int dmabuf;
};

static void from_buf_put(struct from_buf *b)
{
	if (b->dmabuf >= 0)
		close(b->dmabuf);
	if (b->fd >= 0)
		close(b->fd);
	b->dmabuf = -1;
	b->fd = -1;
}

static void from_buf_cleanup(void *data)
{
	from_buf_put(data);
}

static void from_buf_get(struct from_buf *b, const uint32_t *refs)
{
	b->fd = -1;
	b->dmabuf = -1;
	zc_at_exit(from_buf_cleanup, b);
	b->fd = zc_xen_open();
	zc_assert(b->fd >= 0);
	zc_assert_ok(zc_from_refs(b->fd, refs, PAGES, domu.domid, W, H, 32,
				  &b->req));
	zc_assert_eq(b->req.dumb.pitch, PITCH);
	zc_assert_ok(zc_prime_export(b->fd, b->req.dumb.handle, &b->dmabuf));
}

static struct zc_kms kms;

static void kms_cleanup(void *data)
{
	zc_kms_fini(data);
}

static void kms_get(void)
{
	int ret = zc_kms_init(&kms, W, H);

	zc_require(ret != -ENODEV);
	zc_assert_ok(ret);
	zc_at_exit(kms_cleanup, &kms);
}

/* The CRC of a native vkms buffer showing pattern @seed. */
static uint32_t native_crc(uint32_t seed)
{
	struct zc_dumb d;
	uint32_t crc, *px;

	zc_assert_ok(zc_dumb_create(kms.fd, W, H, 32, &d));
	px = zc_dumb_map(kms.fd, d.handle, d.size);
	zc_assert(px);
	zc_fill_pattern(px, W, H, d.pitch, seed);
	zc_assert_ok(zc_kms_show(&kms, d.handle, d.pitch));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	munmap(px, d.size);
	zc_assert_ok(zc_gem_close(kms.fd, d.handle));
	/*
	 * Capture off until the next show: vkms queues a CRC per vblank and
	 * logs an error once 128 are unread, as they would be while the DomU
	 * works under a loaded emulator.
	 */
	close_fd(&kms.crc_fd);
	return crc;
}

/* Scans out our buffer on vkms (vkms vmaps it to compose). */
static void show_ours(struct from_buf *b)
{
	uint32_t handle;

	zc_assert_ok(zc_prime_import(kms.fd, b->dmabuf, &handle));
	zc_assert_ok(zc_kms_show(&kms, handle, b->req.dumb.pitch));
	zc_assert_ok(zc_gem_close(kms.fd, handle));
}

/*
 * CRC capture off and on around slow steps: vkms queues one entry per
 * vblank and logs an error once 128 are unread.
 */
static void crc_pause(void)
{
	close_fd(&kms.crc_fd);
}

static void crc_resume(void)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-0/crc/control",
		 kms.minor);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	zc_assert(fd >= 0);
	zc_assert_eq(write(fd, "auto", 4), 4);
	close(fd);
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-0/crc/data",
		 kms.minor);
	kms.crc_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	zc_assert(kms.crc_fd >= 0);
}

/* Waits until the CRC is @want (the DomU's write reaches a composition). */
static uint32_t crc_wait_for(uint32_t want)
{
	uint32_t crc = 0;
	int i;

	for (i = 0; i < 10; i++) {
		zc_assert_ok(zc_crc_current(&kms, &crc));
		if (crc == want)
			break;
	}
	return crc;
}

static void test_agent_ping(void)
{
	char text[64];

	start();
	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "ping"));
	zc_assert_eq(atoi(text), domu.domid);
	zc_assert_neq(domu.domid, 0);
	zc_info("DomU %d answers; Dom0 is %s\n", domu.domid,
		zc_is_pv() ? "x86 PV" : "not x86 PV");
}

/*
 * FROM_REFS on the DomU's pages; our own mmap (MODE_MAP_DUMB) and the
 * dma-buf's mmap show the DomU's bytes, and Dom0's writes reach the DomU.
 */
static void test_from_refs_mmap(void)
{
	uint32_t refs[PAGES];
	static struct from_buf b;
	char text[256];
	void *px, *dpx;

	start();
	domu_grant("a", PAGES, 0, refs);
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_A);
	from_buf_get(&b, refs);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED] + PAGES);

	px = zc_dumb_map(b.fd, b.req.dumb.handle, b.req.dumb.size);
	zc_assert(px);
	/* On x86 PV each page of the mapping is a grant map Xen wrote. */
	zc_assert_eq(zc_stat("pv_user_grants"),
		     base.v[ST_PV_USER] + (zc_is_pv() ? PAGES : 0));
	assert_pattern(px, PITCH, SEED_A, "MAP_DUMB mmap of the DomU's pages");

	dpx = mmap(NULL, b.req.dumb.size, PROT_READ, MAP_SHARED, b.dmabuf, 0);
	zc_assert(dpx != MAP_FAILED);
	assert_pattern(dpx, PITCH, SEED_A, "dma-buf mmap of the DomU's pages");

	/* The other way: Dom0 writes, the DomU reads its own pages. */
	zc_fill_pattern(px, W, H, PITCH, SEED_B);
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "check a %u %u %u %u", W, H,
			  PITCH, SEED_B) == 0, "DomU sees: %s", text);
	/* And the DomU's next write shows through both mappings. */
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_C);
	assert_pattern(px, PITCH, SEED_C, "MAP_DUMB mmap after the DomU wrote");
	assert_pattern(dpx, PITCH, SEED_C, "dma-buf mmap after the DomU wrote");

	munmap(dpx, b.req.dumb.size);
	munmap(px, b.req.dumb.size);
	zc_assert_eq(zc_stat("pv_user_grants"), base.v[ST_PV_USER]);
	from_buf_put(&b);
	finish();

	/* Dom0 let go of every mapping: the DomU ends access at once. */
	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "free a"));
	zc_assert_f(!strcmp(text, "clean"), "DomU: %s", text);
}

/*
 * FROM_REFS -> PRIME -> vkms: the scanout of the DomU's pages has the CRC
 * of a native buffer with the same pattern, and a write by the DomU
 * changes the next CRC (vkms composes through our vmap: on x86 PV a grant
 * map of each page at a kernel address).
 */
static void test_from_refs_vkms_crc(void)
{
	uint32_t refs[PAGES], crc_a, crc_b, crc;
	static struct from_buf b;
	char text[64];

	start();
	kms_get();
	crc_a = native_crc(SEED_A);
	crc_b = native_crc(SEED_B);
	zc_assert_neq(crc_a, crc_b);

	domu_grant("a", PAGES, 0, refs);
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_A);
	from_buf_get(&b, refs);
	show_ours(&b);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_info("native A 0x%08x, B 0x%08x, DomU's buffer 0x%08x\n", crc_a,
		crc_b, crc);
	zc_assert_eq(crc, crc_a);
	zc_assert_eq(zc_stat("pv_vmap_grants"),
		     base.v[ST_PV_VMAP] + (zc_is_pv() ? PAGES : 0));

	/* Live: the DomU writes into the scanned-out pages. */
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_B);
	crc = crc_wait_for(crc_b);
	zc_assert_eq(crc, crc_b);

	zc_kms_fini(&kms);
	from_buf_put(&b);
	finish();
	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "free a"));
	zc_assert_f(!strcmp(text, "clean"), "DomU: %s", text);
}

/* A dumb buffer of @drv exported, imported by us and granted to the DomU. */
struct to_buf {
	int drv_fd;
	struct zc_dumb d;
	void *px;
	int dmabuf;
	int fd;
	uint32_t handle;
	uint32_t refs[PAGES];
};

static void to_buf_put(struct to_buf *t)
{
	if (t->px)
		munmap(t->px, t->d.size);
	t->px = NULL;
	close_fd(&t->dmabuf);
	close_fd(&t->fd);
}

static void to_buf_cleanup(void *data)
{
	to_buf_put(data);
}

static void to_buf_get(struct to_buf *t, int drv_fd)
{
	memset(t, 0, sizeof(*t));
	t->dmabuf = -1;
	t->fd = -1;
	t->drv_fd = drv_fd;
	zc_at_exit(to_buf_cleanup, t);

	zc_assert_ok(zc_dumb_create(drv_fd, W, H, 32, &t->d));
	zc_assert_eq(t->d.pitch, PITCH);
	t->px = zc_dumb_map(drv_fd, t->d.handle, t->d.size);
	zc_assert(t->px);
	memset(t->px, 0, t->d.size);
	zc_assert_ok(zc_prime_export(drv_fd, t->d.handle, &t->dmabuf));

	t->fd = zc_xen_open();
	zc_assert(t->fd >= 0);
	zc_assert_ok(zc_prime_import(t->fd, t->dmabuf, &t->handle));
	zc_assert_ok(zc_to_refs(t->fd, t->handle, t->refs, PAGES, domu.domid));
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + PAGES);
}

/* The DomU maps the refs as slot @name and writes pattern @seed. */
static void domu_map_and_fill(struct to_buf *t, const char *name,
			      uint32_t seed)
{
	zc_assert_ok(zc_domu_put_refs(&domu, t->refs, PAGES));
	zc_domu_ok(&domu, "map %s 0 %u", name, PAGES);
	zc_domu_ok(&domu, "fill %s %u %u %u %u", name, W, H, PITCH, seed);
}

/*
 * TO_REFS of a vkms buffer: the DomU maps the refs and writes, Dom0 sees
 * the bytes in vkms' own mmap and in the CRC of the scanout.
 */
static void test_to_refs_vkms(void)
{
	uint32_t crc_a, crc_b, crc;
	static struct to_buf t;
	char text[256];

	start();
	kms_get();
	crc_a = native_crc(SEED_A);
	crc_b = native_crc(SEED_B);

	to_buf_get(&t, kms.fd);
	domu_map_and_fill(&t, "v", SEED_A);
	assert_pattern(t.px, PITCH, SEED_A, "vkms mmap after the DomU wrote");

	zc_assert_ok(zc_kms_show(&kms, t.d.handle, t.d.pitch));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);

	zc_domu_ok(&domu, "fill v %u %u %u %u", W, H, PITCH, SEED_B);
	assert_pattern(t.px, PITCH, SEED_B, "vkms mmap after the DomU wrote again");
	crc = crc_wait_for(crc_b);
	zc_assert_eq(crc, crc_b);

	/* Dom0 writes, the DomU reads through its grant mapping. */
	zc_fill_pattern(t.px, W, H, PITCH, SEED_C);
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "check v %u %u %u %u", W, H,
			  PITCH, SEED_C) == 0, "DomU sees: %s", text);

	zc_domu_ok(&domu, "unmap v");
	zc_kms_fini(&kms);
	to_buf_put(&t);
	finish();
}

/* TO_REFS of a vgem buffer, both directions. */
static void test_to_refs_vgem(void)
{
	static struct to_buf t;
	char text[256];
	static int vgem;

	start();
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(close_fd, &vgem);

	to_buf_get(&t, vgem);
	domu_map_and_fill(&t, "g", SEED_A);
	assert_pattern(t.px, PITCH, SEED_A, "vgem mmap after the DomU wrote");
	zc_fill_pattern(t.px, W, H, PITCH, SEED_B);
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "check g %u %u %u %u", W, H,
			  PITCH, SEED_B) == 0, "DomU sees: %s", text);

	zc_domu_ok(&domu, "unmap g");
	to_buf_put(&t);
	finish();
}

/*
 * Dom0 closes a buffer it granted (TO_REFS) while the DomU still maps it:
 * the driver cannot end access, defers it and keeps the pages; the DomU
 * keeps reading and writing them. Once the DomU unmaps, the driver's
 * retry ends the grants and every counter returns to the baseline.
 */
static void test_dom0_closes_while_domu_maps(void)
{
	static struct to_buf t;
	char text[256];
	static int vgem;

	start();
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(close_fd, &vgem);

	to_buf_get(&t, vgem);
	domu_map_and_fill(&t, "g", SEED_A);
	assert_pattern(t.px, PITCH, SEED_A, "vgem mmap after the DomU wrote");
	zc_assert_ok(zc_gem_close(vgem, t.d.handle));
	to_buf_put(&t);

	zc_assert_eq(zc_stat("deferred_refs"), base.v[ST_DEFERRED] + PAGES);
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + PAGES);
	/* The pages stay alive and granted while the DomU maps them. */
	usleep(300000);
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "check g %u %u %u %u", W, H,
			  PITCH, SEED_A) == 0, "DomU sees: %s", text);
	zc_domu_ok(&domu, "fill g %u %u %u %u", W, H, PITCH, SEED_B);
	zc_assert_eq(zc_stat("deferred_refs"), base.v[ST_DEFERRED] + PAGES);

	zc_domu_ok(&domu, "unmap g");
	finish();
}

struct waiter {
	int fd;
	uint32_t handle;
	int ret;
	volatile int done;
};

static void *wait_free_thread(void *data)
{
	struct waiter *w = data;

	w->ret = zc_wait_free(w->fd, w->handle, 20000);
	w->done = 1;
	return NULL;
}

/*
 * The release handshake across domains: Dom0 closes its buffer while vkms
 * still scans it out; WAIT_FREE blocks until vkms lets go and the grants
 * are unmapped; only then is the DomU told, and it ends access to its
 * pages without any deferral (nobody maps them any more).
 */
static void test_wait_free_handshake(void)
{
	uint32_t refs[PAGES], crc_a, crc;
	struct waiter w = { 0 };
	static struct from_buf b;
	pthread_t thr;
	char text[64];

	start();
	kms_get();
	crc_a = native_crc(SEED_A);

	domu_grant("a", PAGES, 0, refs);
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_A);
	from_buf_get(&b, refs);
	show_ours(&b);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);

	/* The backend is done with the buffer; the display is not. */
	zc_assert_ok(zc_gem_close(b.fd, b.req.dumb.handle));
	close_fd(&b.dmabuf);
	zc_assert_errno(zc_wait_free(b.fd, b.req.wait_handle, 200), ETIMEDOUT);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED] + PAGES);

	w.fd = b.fd;
	w.handle = b.req.wait_handle;
	zc_assert_ok(-pthread_create(&thr, NULL, wait_free_thread, &w));
	usleep(300000);
	zc_assert_f(!w.done, "WAIT_FREE returned %d while vkms scans out", w.ret);
	/* Still shown, still the DomU's bytes. */
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);

	zc_kms_fini(&kms);
	pthread_join(thr, NULL);
	zc_assert_eq(w.ret, 0);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED]);
	zc_assert_eq(zc_stat("pv_vmap_grants"), base.v[ST_PV_VMAP]);

	/* Now the frontend may free: its grants end at once. */
	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "free a"));
	zc_assert_f(!strcmp(text, "clean"), "DomU: %s", text);
	from_buf_put(&b);
	finish();
}

/*
 * The DomU ends access while Dom0 still maps its pages: the DomU kernel
 * defers the end (Xen keeps the frames for Dom0), Dom0 keeps reading the
 * bytes and releases cleanly; the DomU's kernel then ends the grants on
 * its next retry, and the refs no longer map. A small buffer: the DomU
 * kernel retries only 10 deferred grants a second.
 */
static void test_domu_ends_early(void)
{
	const uint32_t w = 128, h = 64, pitch = w * 4, pages = pitch * h / PAGE;
	struct drm_xen_zcopy_dumb_from_refs req;
	uint32_t refs[8];
	char text[64];
	void *px;
	static int fd;

	start();
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_at_exit(close_fd, &fd);
	domu_grant("a", pages, 0, refs);
	zc_domu_ok(&domu, "fill a %u %u %u %u", w, h, pitch, SEED_A);
	zc_assert_ok(zc_from_refs(fd, refs, pages, domu.domid, w, h, 32, &req));
	px = zc_dumb_map(fd, req.dumb.handle, req.dumb.size);
	zc_assert(px);

	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "free a"));
	zc_info("DomU ended access while mapped: %s\n", text);
	zc_assert_f(!strcmp(text, "deferred 8"), "DomU: %s", text);

	/* The frames stay with Dom0 until it unmaps. */
	assert_pattern_wh(px, w, h, pitch, SEED_A, "mmap after the DomU ended access");
	munmap(px, req.dumb.size);
	close_fd(&fd);
	finish();

	/* Unmapped: the DomU's kernel ends the grants on its next retry. */
	zc_assert_f(zc_domu_cmd(&domu, text, sizeof(text), "settle %u 5000", pages) == 0,
		    "DomU ended %s of %u deferred grants", text, pages);
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_assert_errno(zc_from_refs(fd, refs, pages, domu.domid, w, h, 32, &req),
			EINVAL);
	finish();
}

/*
 * FROM_REFS with refs the DomU did not grant to Dom0: granted to another
 * domain, never granted (ended), claimed from the wrong domain or from
 * one that does not exist. Each fails with its errno and leaves nothing.
 */
static void test_bad_refs(void)
{
	struct drm_xen_zcopy_dumb_from_refs req;
	uint32_t refs[4];
	char text[64];
	static int fd;

	start();
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_at_exit(close_fd, &fd);

	/* Granted by the DomU, but to a domain that is not us. */
	domu_grant("other", 4, domu.domid + 100, refs);
	zc_assert_errno(zc_from_refs(fd, refs, 4, domu.domid, 64, 64, 32, &req),
			EINVAL);
	zc_domu_ok(&domu, "free other");

	/* Granted to us, then ended before we map. */
	domu_grant("ended", 4, 0, refs);
	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "free ended"));
	zc_assert_f(!strcmp(text, "clean"), "DomU: %s", text);
	zc_assert_errno(zc_from_refs(fd, refs, 4, domu.domid, 64, 64, 32, &req),
			EINVAL);

	/* Granted to us, but claimed from a domain that does not exist. */
	domu_grant("nodom", 4, 0, refs);
	zc_assert_errno(zc_from_refs(fd, refs, 4, 0x7000, 64, 64, 32, &req),
			ESRCH);
	/* Refs beyond any grant table. */
	refs[0] = refs[1] = refs[2] = refs[3] = 0x7fffffff;
	zc_assert_errno(zc_from_refs(fd, refs, 4, domu.domid, 64, 64, 32, &req),
			EINVAL);
	zc_domu_ok(&domu, "free nodom");
	finish();
}

/*
 * The backend dies (SIGKILL) holding a FROM_REFS buffer of the DomU's
 * pages mapped into its address space (on x86 PV: grant entries Xen
 * wrote into its page tables) and exported: the exit tears everything
 * down, the counters return to the baseline and the DomU then ends access
 * to its pages without deferral.
 */
static void test_backend_killed(void)
{
	uint32_t refs[PAGES];
	int pipefd[2], status;
	char text[64], c;
	pid_t pid;

	start();
	domu_grant("a", PAGES, 0, refs);
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_A);
	zc_assert_ok(pipe(pipefd));

	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		struct drm_xen_zcopy_dumb_from_refs req;
		volatile uint32_t *px;
		int fd = zc_xen_open(), dmabuf;

		if (fd < 0 || zc_from_refs(fd, refs, PAGES, domu.domid, W, H, 32, &req) ||
		    zc_prime_export(fd, req.dumb.handle, &dmabuf))
			_exit(1);
		px = zc_dumb_map(fd, req.dumb.handle, req.dumb.size);
		if (!px)
			_exit(1);
		c = px[0] == (((0 * 2654435761u) ^ (0 * 40503u) ^
			       (SEED_A * 2246822519u)) & 0x00ffffff) ? 'y' : 'n';
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	zc_assert_eq(read(pipefd[0], &c, 1), 1);
	zc_assert_f(c == 'y', "the child did not read the DomU's pattern");
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED] + PAGES);
	zc_assert_eq(zc_stat("pv_user_grants"),
		     base.v[ST_PV_USER] + (zc_is_pv() ? PAGES : 0));

	kill(pid, SIGKILL);
	zc_assert_eq(waitpid(pid, &status, 0), pid);
	zc_assert(WIFSIGNALED(status));
	finish();
	zc_assert_ok(zc_domu_cmd(&domu, text, sizeof(text), "free a"));
	zc_assert_f(!strcmp(text, "clean"), "DomU: %s", text);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * xl destroy of the DomU while Dom0 scans out its pages (FROM_REFS) and
 * while it maps a vgem buffer Dom0 granted (TO_REFS): Dom0 keeps the
 * frames it maps (the domain lingers as a zombie), releases everything
 * without a warning, counters return to the baseline, the domain goes,
 * and its refs then fail with ESRCH. The DomU is created again after.
 */
static void test_destroy_while_in_use(void)
{
	uint32_t refs[PAGES], crc_a, crc;
	static struct from_buf b;
	static struct to_buf t;
	char cmd[64];
	long long t0;
	static int vgem;
	int id;

	start();
	id = domu.domid;
	zc_at_exit(zc_domu_recreate_cleanup, NULL);
	kms_get();
	crc_a = native_crc(SEED_A);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(close_fd, &vgem);

	to_buf_get(&t, vgem);
	domu_map_and_fill(&t, "g", SEED_B);
	assert_pattern(t.px, PITCH, SEED_B, "vgem mmap after the DomU wrote");

	domu_grant("a", PAGES, 0, refs);
	zc_domu_ok(&domu, "fill a %u %u %u %u", W, H, PITCH, SEED_A);
	from_buf_get(&b, refs);
	show_ours(&b);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);

	/* No reset of the agent: it is about to die with everything held. */
	zc_domu_close(&domu);
	snprintf(cmd, sizeof(cmd), "xl destroy %d", id);
	crc_pause();
	zc_assert_eq(system(cmd), 0);
	crc_resume();

	/* Dom0 still scans out the dead domain's frames. */
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[ST_MAPPED] + PAGES);

	zc_kms_fini(&kms);
	from_buf_put(&b);
	to_buf_put(&t);
	finish();

	t0 = now_ms();
	while (zc_domu_exists(id) && now_ms() - t0 < 10000)
		usleep(200000);
	zc_assert_f(!zc_domu_exists(id), "domain %d still exists %lld ms after Dom0 let go",
		    id, now_ms() - t0);

	b.fd = zc_xen_open();
	zc_assert(b.fd >= 0);
	zc_assert_errno(zc_from_refs(b.fd, refs, PAGES, id, W, H, 32, &b.req),
			ESRCH);
	from_buf_put(&b);
	finish();
}

static const struct zc_subtest subtests[] = {
	{ "agent-ping", test_agent_ping },
	{ "from-refs-mmap", test_from_refs_mmap },
	{ "from-refs-vkms-crc", test_from_refs_vkms_crc },
	{ "to-refs-vkms", test_to_refs_vkms },
	{ "to-refs-vgem", test_to_refs_vgem },
	{ "dom0-closes-while-domu-maps", test_dom0_closes_while_domu_maps },
	{ "wait-free-handshake", test_wait_free_handshake },
	{ "domu-ends-early", test_domu_ends_early },
	{ "bad-refs", test_bad_refs },
	{ "backend-killed", test_backend_killed },
	/* Last: it destroys the DomU (and creates it again). */
	{ "destroy-while-in-use", test_destroy_while_in_use,
	  .oracle = ZC_ORACLE_DOMU_GONE },
	{ }
};

ZC_MAIN(subtests)
