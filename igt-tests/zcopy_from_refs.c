// SPDX-License-Identifier: GPL-2.0
/*
 * DUMB_FROM_REFS, the frontend-to-display path: pages a "frontend" granted
 * (gntalloc, domid 0) become a dumb buffer of xen_drm_zcopy, which is
 * exported with PRIME and scanned out by vkms, imported by vgem and mapped
 * by the CPU, all without a copy.
 */

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define W	1024
#define H	768
#define PITCH	(W * 4)
#define PAGE	4096
#define PAGES	((PITCH * H + PAGE - 1) / PAGE)

#define SEED_A	1
#define SEED_B	2

static struct zc_stats base;

static struct zc_kms kms;

/*
 * vkms with a native buffer @nd, its CRCs with pattern A and B (which must
 * differ) in @crc_a and @crc_b, then our buffer @b holding A imported by
 * vkms and shown instead. Returns the CRC of ours.
 */
static uint32_t show_ours(struct zc_gbuf *b, struct zc_dumb *nd,
			  uint32_t *crc_a, uint32_t *crc_b)
{
	uint32_t handle, crc, *px;

	zc_kms_get(&kms, W, H);
	px = zc_kms_native(&kms, W, H, nd);
	*crc_a = zc_kms_native_crc(&kms, nd, px, SEED_A);
	*crc_b = zc_kms_native_crc(&kms, nd, px, SEED_B);
	zc_assert_neq(*crc_a, *crc_b);

	zc_gbuf_get(b, W, H, SEED_A);
	zc_assert_ok(zc_prime_import(kms.fd, b->dmabuf, &handle));
	zc_assert_ok(zc_kms_show(&kms, handle, b->req.dumb.pitch));
	/* The framebuffer holds the object; the handle is not needed. */
	zc_assert_ok(zc_gem_close(kms.fd, handle));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	return crc;
}

static void test_vkms_crc_match(void)
{
	uint32_t crc_a, crc_b, crc;
	struct zc_dumb nd;
	static struct zc_gbuf b;

	zc_baseline_start(&base);
	crc = show_ours(&b, &nd, &crc_a, &crc_b);
	zc_assert_eq(nd.pitch, PITCH);
	zc_info("native A 0x%08x, B 0x%08x, zero-copy 0x%08x\n", crc_a, crc_b,
		crc);
	zc_assert_eq(crc, crc_a);
	zc_assert_neq(crc, crc_b);

	/* vkms holds a vmap of our buffer while it scans it out. */
	zc_assert_eq(zc_stat("pv_vmap_grants"),
		     base.v[6] + (zc_is_pv() ? PAGES : 0));
	zc_kms_fini(&kms);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

static void test_vkms_crc_live(void)
{
	uint32_t crc_a, crc_b, crc;
	struct zc_dumb nd;
	static struct zc_gbuf b;

	zc_baseline_start(&base);
	crc = show_ours(&b, &nd, &crc_a, &crc_b);
	zc_assert_eq(crc, crc_a);

	/* The frontend draws into its granted pages: no flip, no copy. */
	zc_fill_pattern(b.ga.map, W, H, PITCH, SEED_B);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_b);

	/* And back, to rule out a one-off refresh. */
	zc_fill_pattern(b.ga.map, W, H, PITCH, SEED_A);
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_assert_eq(crc, crc_a);

	zc_kms_fini(&kms);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/*
 * vgem as a second importer. The 6.1 DRM core refuses MODE_MAP_DUMB for an
 * imported object (drm_gem_dumb_map_offset), so vgem's CPU view of it is
 * the dma-buf vgem hands back when it re-exports the import: ours, through
 * our dma-buf mmap. The import alone must keep the buffer alive.
 */
static void test_vgem_import_mmap(void)
{
	uint32_t vh, vh2;
	long off, mapped;
	static struct zc_gbuf b;
	int vgem, fd2, ret;
	uint8_t *p;
	void *vp;

	zc_baseline_start(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);

	zc_gbuf_get(&b, W, H, SEED_A);
	mapped = zc_stat("mapped_grants");
	zc_assert_eq(mapped, base.v[1] + PAGES);

	zc_assert_ok(zc_prime_import(vgem, b.dmabuf, &vh));
	/* The same dma-buf imported twice is one object in vgem. */
	zc_assert_ok(zc_prime_import(vgem, b.dmabuf, &vh2));
	zc_assert_eq(vh, vh2);

	/* Only vgem holds the buffer now. */
	close(b.dmabuf);
	b.dmabuf = -1;
	zc_assert_ok(zc_gem_close(b.fd, b.req.dumb.handle));
	close(b.fd);
	b.fd = -1;
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[0] + 1);
	zc_assert_eq(zc_stat("mapped_grants"), mapped);

	vp = zc_dumb_map(vgem, vh, (size_t)PAGES * PAGE);
	if (vp) {
		zc_info("vgem maps the import itself\n");
		zc_assert_eq(zc_check_pattern(vp, W, H, PITCH, SEED_A), -1);
		munmap(vp, (size_t)PAGES * PAGE);
	}

	zc_assert_ok(zc_prime_export(vgem, vh, &fd2));
	p = zc_dmabuf_map(fd2, (size_t)PAGES * PAGE);
	zc_assert(p);
	zc_assert_ok(zc_dmabuf_sync(fd2, 1));
	off = zc_check_pattern(p, W, H, PITCH, SEED_A);
	zc_assert_f(off == -1, "pattern differs at byte %ld", off);
	/* Still the frontend's pages: its writes show at once. */
	zc_fill_pattern(b.ga.map, W, H, PITCH, SEED_B);
	off = zc_check_pattern(p, W, H, PITCH, SEED_B);
	zc_assert_f(off == -1, "pattern differs at byte %ld", off);
	zc_assert_ok(zc_dmabuf_sync(fd2, 0));
	munmap(p, (size_t)PAGES * PAGE);
	close(fd2);

	ret = zc_gem_close(vgem, vh);
	zc_assert_ok(ret);
	close(vgem);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* Reads and writes through @p, a CPU mapping of the buffer of @b. */
static void check_cpu_map(struct zc_gbuf *b, uint8_t *p)
{
	long off;

	off = zc_check_pattern(p, W, H, PITCH, SEED_A);
	zc_assert_f(off == -1, "pattern differs at byte %ld", off);

	zc_fill_pattern(p, W, H, PITCH, SEED_B);
	off = zc_check_pattern(b->ga.map, W, H, PITCH, SEED_B);
	zc_assert_f(off == -1, "frontend sees a difference at byte %ld", off);

	zc_fill_pattern(b->ga.map, W, H, PITCH, SEED_A);
	off = zc_check_pattern(p, W, H, PITCH, SEED_A);
	zc_assert_f(off == -1, "mapping sees a difference at byte %ld", off);
}

static void test_own_mmap(void)
{
	size_t size = (size_t)PAGES * PAGE;
	long user0;
	static struct zc_gbuf b;
	uint8_t *p;

	zc_baseline_start(&base);
	zc_gbuf_get(&b, W, H, SEED_A);
	zc_assert_eq(b.req.dumb.size, size);
	user0 = zc_stat("pv_user_grants");

	/* The DRM node: MODE_MAP_DUMB offset + mmap. */
	p = zc_dumb_map(b.fd, b.req.dumb.handle, size);
	zc_assert(p);
	/* On x86 PV every page is a grant mapping of its own. */
	zc_assert_eq(zc_stat("pv_user_grants"), user0 + (zc_is_pv() ? PAGES : 0));
	check_cpu_map(&b, p);
	zc_assert_ok(munmap(p, size));
	zc_assert_eq(zc_stat("pv_user_grants"), user0);

	/* The dma-buf fd itself. */
	p = zc_dmabuf_map(b.dmabuf, size);
	zc_assert(p);
	zc_assert_ok(zc_dmabuf_sync(b.dmabuf, 1));
	check_cpu_map(&b, p);
	zc_assert_ok(zc_dmabuf_sync(b.dmabuf, 0));

	/* A mapping keeps the buffer alive after every handle is gone. */
	close(b.dmabuf);
	b.dmabuf = -1;
	close(b.fd);
	b.fd = -1;
	zc_assert_eq(zc_stat("from_refs_objects"), base.v[0] + 1);
	zc_assert_eq(zc_check_pattern(p, W, H, PITCH, SEED_A), -1);
	zc_assert_ok(munmap(p, size));

	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

static void check_geometry(struct zc_gntalloc *ga, int fd, uint32_t w,
			   uint32_t h, uint32_t bpp, uint32_t nrefs)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	uint32_t pitch = w * bpp / 8;
	uint8_t *p;
	long off;

	zc_assert_ok(zc_from_refs(fd, ga->refs, nrefs, 0, w, h, bpp, &r));
	zc_info("%ux%u bpp %u, %u refs: pitch %u size %llu\n", w, h, bpp,
		nrefs, r.dumb.pitch, (unsigned long long)r.dumb.size);
	zc_assert_eq(r.dumb.pitch, pitch);
	zc_assert_eq(r.dumb.size, (uint64_t)nrefs * PAGE);
	zc_assert(r.dumb.handle != 0);

	/* Every one of the refs is in the buffer, in order: the last too. */
	memset(ga->map, 0, (size_t)nrefs * PAGE);
	ga->map[(size_t)nrefs * PAGE - 1] = 0x5a;
	ga->map[0] = 0xa5;
	p = zc_dumb_map(fd, r.dumb.handle, r.dumb.size);
	zc_assert(p);
	zc_assert_eq(p[0], 0xa5);
	zc_assert_eq(p[(size_t)nrefs * PAGE - 1], 0x5a);
	for (off = 1; off < (long)nrefs * PAGE - 1; off++)
		zc_assert_eq(p[off], 0);
	munmap(p, r.dumb.size);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
}

static void test_dumb_geometry(void)
{
	struct zc_gntalloc ga;
	int fd;

	zc_baseline_start(&base);
	ga.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, 160, true));
	fd = zc_xen_open();
	zc_assert(fd >= 0);

	/* Exact fits, odd pitches, partial last pages. */
	check_geometry(&ga, fd, 1024, 64, 32, 64);
	check_geometry(&ga, fd, 100, 10, 24, 1);
	check_geometry(&ga, fd, 640, 480, 16, 150);
	check_geometry(&ga, fd, 333, 7, 8, 1);
	check_geometry(&ga, fd, 1, 1, 32, 1);
	/* More refs than the geometry needs: the object takes them all. */
	check_geometry(&ga, fd, 640, 480, 16, 153);
	check_geometry(&ga, fd, 100, 10, 24, 160);
	/* One ref short is refused. */
	zc_assert_errno(zc_from_refs(fd, ga.refs, 149, 0, 640, 480, 16, NULL),
			EINVAL);

	close(fd);
	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 3000);
}

static const struct zc_subtest subtests[] = {
	{ "vkms-crc-match", test_vkms_crc_match },
	{ "vkms-crc-live", test_vkms_crc_live },
	{ "vgem-import-mmap", test_vgem_import_mmap },
	{ "own-mmap", test_own_mmap },
	{ "dumb-geometry", test_dumb_geometry },
	{ }
};

ZC_MAIN(subtests)
