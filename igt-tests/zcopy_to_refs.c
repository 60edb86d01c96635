// SPDX-License-Identifier: GPL-2.0
/*
 * DUMB_TO_REFS, the display-to-frontend path: a buffer the real display
 * driver (vkms) or another GEM driver (vgem) allocated is imported into
 * xen_drm_zcopy with PRIME and its pages are granted; a "frontend" (gntdev,
 * domid 0) maps the refs and draws straight into the exporter's pages.
 */

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define W	1024
#define H	768
#define PAGE	4096

#define SEED_A	11
#define SEED_B	12

static struct zc_stats base;

/* Counters as indices of zc_stat_names. */
#define ST_IMPORTED	2
#define ST_GRANTED	3
#define ST_DEFERRED	4

/*
 * An exporter's dumb buffer, its CPU mapping, its dma-buf and our import
 * of it with the refs granted to domid 0.
 */
struct zc_exp {
	int efd;		/* exporter's node */
	struct zc_dumb d;
	uint8_t *px;		/* exporter's own mmap */
	int dmabuf;
	int zfd;		/* our node */
	uint32_t zh;		/* our handle of the import */
	uint32_t pages;
	uint32_t *refs;
	struct zc_gntdev gd;
};

static void exp_put(struct zc_exp *e)
{
	zc_gntdev_unmap(&e->gd);
	if (e->zfd >= 0)
		close(e->zfd);
	if (e->dmabuf >= 0)
		close(e->dmabuf);
	if (e->px)
		munmap(e->px, e->d.size);
	free(e->refs);
	e->zfd = -1;
	e->dmabuf = -1;
	e->px = NULL;
	e->refs = NULL;
}

static void exp_cleanup(void *data)
{
	exp_put(data);
}

/* Imports a dumb buffer of @efd into our node and grants it to domid 0. */
static void exp_get(struct zc_exp *e, int efd, uint32_t w, uint32_t h)
{
	long imported, granted;

	memset(e, 0, sizeof(*e));
	e->efd = efd;
	e->dmabuf = -1;
	e->zfd = -1;
	e->gd.fd = -1;
	zc_at_exit(exp_cleanup, e);

	zc_assert_ok(zc_dumb_create(efd, w, h, 32, &e->d));
	e->px = zc_dumb_map(efd, e->d.handle, e->d.size);
	zc_assert(e->px);
	memset(e->px, 0, e->d.size);
	zc_assert_ok(zc_prime_export(efd, e->d.handle, &e->dmabuf));

	imported = zc_stat("imported_objects");
	granted = zc_stat("granted_refs");
	e->zfd = zc_xen_open();
	zc_assert(e->zfd >= 0);
	zc_assert_ok(zc_prime_import(e->zfd, e->dmabuf, &e->zh));
	zc_assert_eq(zc_stat("imported_objects"), imported + 1);

	e->pages = e->d.size / PAGE;
	e->refs = calloc(e->pages, sizeof(*e->refs));
	zc_assert(e->refs);
	zc_assert_ok(zc_to_refs(e->zfd, e->zh, e->refs, e->pages, 0));
	zc_assert_eq(zc_stat("granted_refs"), granted + e->pages);
}

/* The frontend maps all granted pages. */
static void exp_map(struct zc_exp *e)
{
	zc_assert_ok(zc_gntdev_map(&e->gd, 0, e->refs, e->pages, true));
}

/* Bytes cross both ways between the frontend and the exporter's mmap. */
static void check_both_ways(struct zc_exp *e, uint32_t w, uint32_t h)
{
	long off;

	zc_fill_pattern(e->gd.map, w, h, e->d.pitch, SEED_A);
	off = zc_check_pattern(e->px, w, h, e->d.pitch, SEED_A);
	zc_assert_f(off == -1, "exporter sees a difference at byte %ld", off);

	zc_fill_pattern(e->px, w, h, e->d.pitch, SEED_B);
	off = zc_check_pattern(e->gd.map, w, h, e->d.pitch, SEED_B);
	zc_assert_f(off == -1, "frontend sees a difference at byte %ld", off);
}

static struct zc_kms kms;

static void test_vkms_buffer(void)
{
	uint32_t crc_a, crc_b, crc, *npx;
	struct zc_dumb nd;
	static struct zc_exp e;

	zc_baseline_start_drained(&base);
	zc_kms_get(&kms, W, H);

	/* References: a native buffer the CPU fills. */
	npx = zc_kms_native(&kms, W, H, &nd);
	crc_a = zc_kms_native_crc(&kms, &nd, npx, SEED_A);
	crc_b = zc_kms_native_crc(&kms, &nd, npx, SEED_B);
	zc_assert_neq(crc_a, crc_b);

	exp_get(&e, kms.fd, W, H);
	exp_map(&e);
	check_both_ways(&e, W, H);

	/* The frontend draws A into the vkms buffer, which is scanned out. */
	zc_fill_pattern(e.gd.map, W, H, e.d.pitch, SEED_A);
	zc_assert_ok(zc_kms_show(&kms, e.d.handle, e.d.pitch));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_info("native A 0x%08x, B 0x%08x, granted 0x%08x\n", crc_a, crc_b,
		crc);
	zc_assert_eq(crc, crc_a);

	/* Live: the next frame shows what the frontend drew since. */
	zc_fill_pattern(e.gd.map, W, H, e.d.pitch, SEED_B);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_b);

	zc_kms_fini(&kms);
	exp_put(&e);
	zc_baseline_finish(&base, 3000);
}

static void test_vgem_buffer(void)
{
	/* One each: exp_get() registers a fixture on it. */
	static struct zc_exp e, e2;
	int vgem;

	zc_baseline_start_drained(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);

	exp_get(&e, vgem, W, H);
	exp_map(&e);
	check_both_ways(&e, W, H);

	/* A buffer whose size is not a whole number of rows. */
	exp_put(&e);
	zc_assert_ok(zc_gem_close(vgem, e.d.handle));
	zc_baseline_finish(&base, 3000);
	exp_get(&e2, vgem, 333, 77);
	exp_map(&e2);
	check_both_ways(&e2, 333, 77);

	exp_put(&e2);
	close(vgem);
	zc_baseline_finish(&base, 3000);
}

static void test_same_refs_twice(void)
{
	uint32_t *again;
	static struct zc_exp e;
	uint32_t i;
	int vgem;

	zc_baseline_start_drained(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);

	exp_get(&e, vgem, 256, 64);
	again = calloc(e.pages, sizeof(*again));
	zc_assert(again);

	zc_assert_ok(zc_to_refs(e.zfd, e.zh, again, e.pages, 0));
	for (i = 0; i < e.pages; i++)
		zc_assert_eq(again[i], e.refs[i]);
	/* No second set of grants was made. */
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + e.pages);

	/* Refs are distinct: one page, one grant. */
	for (i = 1; i < e.pages; i++)
		zc_assert_neq(e.refs[i], e.refs[0]);

	/* Importing the same dma-buf again gives the same object and refs. */
	{
		uint32_t zh2;

		zc_assert_ok(zc_prime_import(e.zfd, e.dmabuf, &zh2));
		zc_assert_eq(zh2, e.zh);
	}

	memset(again, 0, e.pages * sizeof(*again));
	zc_assert_errno(zc_to_refs(e.zfd, e.zh, again, e.pages, 1), EBUSY);
	for (i = 0; i < e.pages; i++)
		zc_assert_eq(again[i], 0);
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + e.pages);

	/* The refs still work after the refusal. */
	exp_map(&e);
	check_both_ways(&e, 256, 64);

	free(again);
	exp_put(&e);
	close(vgem);
	zc_baseline_finish(&base, 3000);
}

static void test_grants_end_on_free(void)
{
	struct zc_gntdev one;
	/* One each: exp_get() registers a fixture on it. */
	static struct zc_exp e, e2;
	long off;
	int vgem;

	zc_baseline_start_drained(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);

	/* Nobody maps the pages: freeing ends every grant at once. */
	exp_get(&e, vgem, W, H);
	zc_assert_ok(zc_gem_close(e.zfd, e.zh));
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED]);
	zc_assert_eq(zc_stat("imported_objects"), base.v[ST_IMPORTED]);
	zc_assert_eq(zc_stat("deferred_refs"), base.v[ST_DEFERRED]);
	exp_put(&e);
	zc_assert_ok(zc_gem_close(vgem, e.d.handle));
	zc_baseline_finish(&base, 3000);

	/*
	 * The frontend still maps one page when the buffer is freed, and the
	 * exporter let go of it too: the grant of that page is kept, and so
	 * the page, until the frontend unmaps it.
	 */
	exp_get(&e2, vgem, W, H);
	one.fd = -1;
	zc_assert_ok(zc_gntdev_map(&one, 0, &e2.refs[e2.pages / 2], 1, true));
	memset(one.map, 0x3c, PAGE);
	zc_assert_eq(e2.px[(size_t)(e2.pages / 2) * PAGE + 17], 0x3c);

	munmap(e2.px, e2.d.size);
	e2.px = NULL;
	zc_assert_ok(zc_gem_close(vgem, e2.d.handle));
	close(e2.dmabuf);
	e2.dmabuf = -1;
	close(e2.zfd);	/* frees our import */
	e2.zfd = -1;

	zc_assert_eq(zc_stat("imported_objects"), base.v[ST_IMPORTED]);
	zc_assert_eq(zc_stat("deferred_refs"), base.v[ST_DEFERRED] + 1);
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + 1);
	/* Retries do not end a grant that is still mapped. */
	usleep(400000);
	zc_assert_eq(zc_stat("deferred_refs"), base.v[ST_DEFERRED] + 1);

	/* The page is still the frontend's, with its content. */
	for (off = 0; off < PAGE; off++)
		zc_assert_eq(one.map[off], 0x3c);

	zc_gntdev_unmap(&one);
	zc_assert_ok(zc_stat_wait("deferred_refs", base.v[ST_DEFERRED], 3000));
	zc_assert_ok(zc_stat_wait("granted_refs", base.v[ST_GRANTED], 3000));
	exp_put(&e2);
	close(vgem);
	zc_baseline_finish(&base, 3000);
}

#define BALLOON	"/sys/devices/system/xen_memory/xen_memory0/"

/* Sets the balloon target and waits (up to 20 s) until Dom0 reaches it. */
static int balloon_to(long kb)
{
	int i, ret = zc_write_long(BALLOON "target_kb", kb);

	for (i = 0; !ret && i < 200; i++) {
		if (zc_read_long(BALLOON "info/current_kb") == kb)
			return 0;
		usleep(100000);
	}
	return ret ? ret : -ETIMEDOUT;
}

static long balloon_target = -1;

static void balloon_restore(void *data)
{
	(void)data;
	if (balloon_target > 0)
		balloon_to(balloon_target);
}

/*
 * After Dom0 gave memory back to Xen and took it again (what a balloon
 * driver or a toolstack does at any time), its pages are no longer
 * machine-contiguous where they are pseudo-physically contiguous. Buffers
 * allocated then must still be granted page by page, without bouncing
 * their segments through swiotlb (a bounce buffer is not the exporter's
 * page, and the 64 MiB of swiotlb are soon full).
 */
static void test_after_balloon(void)
{
	static struct zc_exp e[8];
	const char *tlb = "/sys/kernel/debug/swiotlb/io_tlb_used";
	long tlb_used;
	int vgem, vkms, i;

	zc_baseline_start_drained(&base);
	balloon_target = zc_read_long(BALLOON "target_kb");
	zc_require(balloon_target > 0 && access(BALLOON "target_kb", W_OK) == 0);
	vgem = zc_drm_open_driver("vgem", NULL);
	vkms = zc_drm_open_driver("vkms", NULL);
	zc_require(vgem >= 0 && vkms >= 0);

	zc_at_exit(balloon_restore, NULL);
	zc_assert_ok(balloon_to(balloon_target - 128 * 1024));
	zc_assert_ok(balloon_to(balloon_target));
	tlb_used = zc_read_long(tlb);

	for (i = 0; i < 8; i++) {
		exp_get(&e[i], i & 1 ? vkms : vgem, W, H);
		exp_map(&e[i]);
		check_both_ways(&e[i], W, H);
	}
	/* Importing for grants took no bounce buffers. */
	zc_info("swiotlb slots used: %ld -> %ld\n", tlb_used, zc_read_long(tlb));
	if (tlb_used >= 0)
		zc_assert_eq(zc_read_long(tlb), tlb_used);

	for (i = 0; i < 8; i++)
		exp_put(&e[i]);
	close(vkms);
	close(vgem);
	zc_baseline_finish(&base, 3000);
}

static const struct zc_subtest subtests[] = {
	{ "vkms-buffer", test_vkms_buffer },
	{ "vgem-buffer", test_vgem_buffer },
	{ "same-refs-twice", test_same_refs_twice },
	{ "grants-end-on-free", test_grants_end_on_free },
	{ "after-balloon", test_after_balloon },
	{ }
};

ZC_MAIN(subtests)
