// SPDX-License-Identifier: GPL-2.0
/*
 * Resource limits: the max_pages module parameter and large DUMB_FROM_REFS
 * buffers, and Dom0's grant table exhausted by DUMB_TO_REFS. A limit gives
 * a clean errno and a notice, what was granted or mapped before keeps
 * working and is released in full.
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE	4096

#define ST_GRANTED	3

#define MAX_PAGES	"/sys/module/xen_drm_zcopy/parameters/max_pages"
#define DOMAIN_GRANTED	"/sys/module/xen_drm_zcopy/parameters/domain_granted"
#define GNTALLOC_LIMIT	"/sys/module/xen_gntalloc/parameters/limit"

static struct zc_stats base;

/* Parameters changed by a subtest are restored when it ends. */
static long saved_max_pages = -1, saved_gntalloc_limit = -1;

static void params_save(void)
{
	saved_max_pages = zc_param_save(MAX_PAGES);
	saved_gntalloc_limit = zc_param_save(GNTALLOC_LIMIT);
	zc_require(saved_max_pages > 0 && saved_gntalloc_limit > 0);
}

/*
 * max_pages bounds DUMB_FROM_REFS and imports; it can be changed at run
 * time, but not to a value the driver cannot allocate for.
 */
static void test_max_pages_param(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	struct zc_gntalloc ga;
	struct zc_dumb d;
	uint32_t h;
	int fd, vgem, dmabuf, ret;

	zc_baseline_start_drained(&base);
	params_save();
	zc_info("max_pages %ld\n", saved_max_pages);

	ga.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, 301, true));
	fd = zc_xen_open();
	zc_assert(fd >= 0);

	/*
	 * Nonsense is refused and leaves the value alone: a limit of 2^31
	 * pages would let FROM_REFS ask kvcalloc() for more than INT_MAX
	 * bytes, which WARNs.
	 */
	ret = zc_write_long(MAX_PAGES, 1L << 31);
	if (!ret) {
		zc_info("max_pages=2^31 accepted; FROM_REFS of 2^29 refs: %d\n",
			zc_from_refs(fd, ga.refs, 1U << 29, 0, 16, 16, 32, NULL));
		zc_write_long(MAX_PAGES, saved_max_pages);
	}
	zc_assert_errno(ret, EINVAL);
	zc_assert_errno(zc_write_long(MAX_PAGES, 0), EINVAL);
	zc_assert_errno(zc_write_long(MAX_PAGES, 4294967295L), EINVAL);
	zc_assert_errno(zc_write_long(MAX_PAGES, -1), EINVAL);
	zc_assert_eq(zc_read_long(MAX_PAGES), saved_max_pages);

	/* 1024x300 XRGB8888 is exactly 300 pages. */
	zc_assert_ok(zc_write_long(MAX_PAGES, 300));
	zc_assert_eq(zc_read_long(MAX_PAGES), 300);
	zc_assert_ok(zc_from_refs(fd, ga.refs, 300, 0, 1024, 300, 32, &r));
	zc_assert_eq(r.dumb.size, 300 * PAGE);
	zc_drm_debug_on();
	zc_kmsg_mark();
	zc_assert_errno(zc_from_refs(fd, ga.refs, 301, 0, 1024, 300, 32, NULL),
			E2BIG);
	zc_assert_eq(zc_kmsg_find("the limit is max_pages=300"), 7);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));

	/* Imports are bounded by it too. */
	vgem = zc_drm_open_driver("vgem", NULL);
	if (vgem >= 0) {
		zc_assert_ok(zc_dumb_create(vgem, 1024, 301, 32, &d));
		zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
		zc_assert_errno(zc_prime_import(fd, dmabuf, &h), EINVAL);
		zc_assert_ok(zc_write_long(MAX_PAGES, 301));
		zc_assert_ok(zc_prime_import(fd, dmabuf, &h));
		zc_assert_ok(zc_gem_close(fd, h));
		close(dmabuf);
		close(vgem);
	}

	/* Lowering the limit leaves existing buffers alone. */
	zc_assert_ok(zc_from_refs(fd, ga.refs, 301, 0, 1024, 300, 32, &r));
	zc_assert_ok(zc_write_long(MAX_PAGES, 1));
	zc_assert_errno(zc_from_refs(fd, ga.refs, 2, 0, 1024, 1, 32, NULL),
			E2BIG);
	{
		uint8_t *p = zc_dumb_map(fd, r.dumb.handle, r.dumb.size);

		zc_assert(p);
		ga.map[300 * PAGE + 11] = 0x3d;
		zc_assert_eq(p[300 * PAGE + 11], 0x3d);
		munmap(p, r.dumb.size);
	}

	close(fd);
	zc_gntalloc_free(&ga);
	zc_params_restore();
	zc_assert_eq(zc_read_long(MAX_PAGES), saved_max_pages);
	zc_baseline_finish(&base, 5000);
}

/*
 * A large FROM_REFS buffer, exactly max_pages long: 8192x2048 XRGB8888,
 * 64 MiB, 16384 pages, mapped whole by the CPU; one page more is refused.
 */
#define BIG_W		8192
#define BIG_H		2048
#define BIG_PAGES	(BIG_W * 4 / PAGE * BIG_H)

static void test_large_from_refs(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	struct zc_gntalloc ga;
	size_t size = (size_t)BIG_PAGES * PAGE, off;
	uint8_t *p;
	int fd, dmabuf;

	zc_baseline_start_drained(&base);
	params_save();
	zc_require(zc_mem_available_kb() > 3 * (long)(size / 1024));
	zc_assert_ok(zc_write_long(GNTALLOC_LIMIT, BIG_PAGES + 1024));
	zc_assert_ok(zc_write_long(MAX_PAGES, BIG_PAGES));

	ga.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, BIG_PAGES, true));
	for (off = 0; off < size; off += PAGE)
		ga.map[off] = (uint8_t)(off / PAGE * 7 + 1);
	fd = zc_xen_open();
	zc_assert(fd >= 0);

	zc_assert_errno(zc_from_refs(fd, ga.refs, BIG_PAGES + 1, 0, BIG_W,
				     BIG_H, 32, NULL), E2BIG);
	zc_assert_ok(zc_from_refs(fd, ga.refs, BIG_PAGES, 0, BIG_W, BIG_H, 32,
				  &r));
	zc_assert_eq(r.dumb.size, size);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + BIG_PAGES);

	zc_assert_ok(zc_prime_export(fd, r.dumb.handle, &dmabuf));
	p = zc_dmabuf_map(dmabuf, size);
	zc_assert(p);
	/* Every page is the frontend's page of the same index. */
	for (off = 0; off < size; off += PAGE)
		zc_assert_f(p[off] == (uint8_t)(off / PAGE * 7 + 1),
			    "page %zu", off / PAGE);
	p[size - 1] = 0xab;
	zc_assert_eq(ga.map[size - 1], 0xab);
	zc_assert_ok(munmap(p, size));
	close(dmabuf);

	close(fd);
	zc_assert_ok(zc_stat_wait("mapped_grants", base.v[1], 10000));
	zc_gntalloc_free(&ga);
	zc_baseline_finish(&base, 5000);
}

/*
 * Dom0's grant table exhausted by TO_REFS: vgem buffers of 8 MiB are
 * imported and granted until the table is full. The failing call gives
 * ENOSPC and a notice, grants nothing, and every earlier grant still maps
 * and is ended when its buffer goes.
 */
#define EX_W		1024
#define EX_H		2048
#define EX_PAGES	(EX_W * 4 * EX_H / PAGE)
#define EX_MAX		40

struct ex_buf {
	struct zc_dumb d;
	int dmabuf;
	uint32_t zh;
	uint32_t *refs;
};

static int ex_vgem = -1, ex_fd = -1;
static struct ex_buf ex[EX_MAX];
static int ex_count;

static void ex_cleanup(void *data)
{
	int i;

	(void)data;
	for (i = 0; i < ex_count; i++) {
		if (ex[i].dmabuf >= 0)
			close(ex[i].dmabuf);
		free(ex[i].refs);
	}
	if (ex_fd >= 0)
		close(ex_fd);
	if (ex_vgem >= 0)
		close(ex_vgem);
	ex_count = 0;
	ex_fd = -1;
	ex_vgem = -1;
}

/* Imports a fresh 8 MiB vgem buffer; returns the TO_REFS result. */
static int ex_add(void)
{
	struct ex_buf *e = &ex[ex_count++];
	uint32_t *px;

	e->dmabuf = -1;
	zc_assert_ok(zc_dumb_create(ex_vgem, EX_W, EX_H, 32, &e->d));
	zc_assert_eq(e->d.size, (uint64_t)EX_PAGES * PAGE);
	px = zc_dumb_map(ex_vgem, e->d.handle, e->d.size);
	zc_assert(px);
	px[0] = 0x1000 + ex_count;
	px[e->d.size / 4 - 1] = 0x2000 + ex_count;
	munmap(px, e->d.size);
	zc_assert_ok(zc_prime_export(ex_vgem, e->d.handle, &e->dmabuf));
	zc_assert_ok(zc_gem_close(ex_vgem, e->d.handle));
	zc_assert_ok(zc_prime_import(ex_fd, e->dmabuf, &e->zh));
	e->refs = calloc(EX_PAGES, sizeof(uint32_t));
	zc_assert(e->refs);
	return zc_to_refs(ex_fd, e->zh, e->refs, EX_PAGES, 0);
}

/* The frontend maps the first and last page of buffer @i and reads its marks. */
static void ex_check(int i)
{
	uint32_t two[2] = { ex[i].refs[0], ex[i].refs[EX_PAGES - 1] };
	struct zc_gntdev m;

	m.fd = -1;
	zc_assert_ok(zc_gntdev_map(&m, 0, two, 2, false));
	zc_assert_eq(((uint32_t *)m.map)[0], 0x1000 + i + 1);
	zc_assert_eq(((uint32_t *)(m.map + PAGE))[PAGE / 4 - 1], 0x2000 + i + 1);
	zc_gntdev_unmap(&m);
}

static void test_grant_exhaustion(void)
{
	long granted, avail;
	int i, ret = 0, level;

	zc_baseline_start_drained(&base);
	/* The grant table, not the per-domain quota, is what runs out here. */
	zc_assert(zc_param_save(DOMAIN_GRANTED) > 0);
	zc_assert_ok(zc_write_long(DOMAIN_GRANTED, 1L << 30));

	ex_vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(ex_vgem >= 0);
	zc_at_exit(ex_cleanup, NULL);
	ex_fd = zc_xen_open();
	zc_assert(ex_fd >= 0);
	avail = zc_mem_available_kb();
	zc_info("MemAvailable %ld kB\n", avail);

	zc_drm_debug_on();
	zc_kmsg_mark();
	while (ex_count < EX_MAX) {
		/* Keep 96 MiB for the rest of Dom0. */
		if (zc_mem_available_kb() < 96 * 1024 + EX_PAGES * 4)
			break;
		ret = ex_add();
		if (ret)
			break;
	}
	granted = zc_stat("granted_refs") - base.v[ST_GRANTED];
	zc_info("%d buffers, %ld refs granted, last TO_REFS: %d\n", ex_count,
		granted, ret);
	zc_require(ret);
	zc_assert_errno(ret, ENOSPC);
	level = zc_kmsg_find("TO_REFS: no ");
	zc_assert_f(level == 7, "no debug line for the refusal (level %d)",
		    level);

	/* Nothing of the failed call stays granted. */
	zc_assert_eq(granted, (long)(ex_count - 1) * EX_PAGES);
	zc_assert_eq(ex[ex_count - 1].refs[0], 0);
	/* And it fails the same way again, without side effects. */
	zc_assert_errno(zc_to_refs(ex_fd, ex[ex_count - 1].zh,
				   ex[ex_count - 1].refs, EX_PAGES, 0), ENOSPC);
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED] + granted);

	/* Everything granted before still maps. */
	for (i = 0; i < ex_count - 1; i++)
		ex_check(i);

	/* Freeing one buffer makes room for the one that failed. */
	zc_assert_ok(zc_gem_close(ex_fd, ex[0].zh));
	zc_assert_ok(zc_stat_wait("granted_refs",
				  base.v[ST_GRANTED] + granted - EX_PAGES, 3000));
	zc_assert_ok(zc_to_refs(ex_fd, ex[ex_count - 1].zh,
				ex[ex_count - 1].refs, EX_PAGES, 0));
	ex_check(ex_count - 1);

	/* All go with the file. */
	close(ex_fd);
	ex_fd = -1;
	ex_cleanup(NULL);
	zc_baseline_finish(&base, 5000);
}

/*
 * TO_REFS of a buffer of 65536 pages or more, which no grant table of
 * Dom0 can hold at once (and 65536 does not fit the u16 count of
 * gnttab_alloc_grant_references()): E2BIG, nothing granted, no oops.
 */
static void test_to_refs_huge(void)
{
	uint32_t *refs, zh, n;
	struct zc_dumb d;
	int vgem, fd, dmabuf;

	zc_baseline_start_drained(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_require(zc_mem_available_kb() > 256 * 1024 + 40 * 1024);
	params_save();

	/* 16384x4096 XRGB8888: 256 MiB, 65536 pages. */
	zc_assert_ok(zc_write_long(MAX_PAGES, 65536));
	zc_assert_ok(zc_dumb_create(vgem, 16384, 4096, 32, &d));
	n = d.size / PAGE;
	zc_assert_eq(n, 65536);
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_ok(zc_gem_close(vgem, d.handle));
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_assert_ok(zc_prime_import(fd, dmabuf, &zh));
	refs = calloc(n, sizeof(*refs));
	zc_assert(refs);

	zc_drm_debug_on();
	zc_kmsg_mark();
	zc_assert_errno(zc_to_refs(fd, zh, refs, n, 0), E2BIG);
	zc_assert_eq(zc_kmsg_find("TO_REFS: 65536 pages are more than"), 7);
	zc_assert_eq(zc_stat("granted_refs"), base.v[ST_GRANTED]);
	zc_assert_eq(refs[0], 0);
	zc_assert_eq(refs[n - 1], 0);

	free(refs);
	close(fd);
	close(dmabuf);
	close(vgem);
	zc_baseline_finish(&base, 5000);
}

/*
 * A backend that keeps making the same mistake, or a frontend that keeps
 * sending bad refs: bad input is logged at debug level only, so that no
 * caller can flood the kernel log, at any level a user sees by default.
 */
static void test_bad_input_flood(void)
{
	int fd, i, level;

	zc_baseline_start_drained(&base);
	fd = zc_xen_open();
	zc_assert(fd >= 0);
	zc_kmsg_mark();

	for (i = 0; i < 200; i++)
		zc_assert_errno(zc_from_refs(fd, NULL, 1, 0, 0, 1, 32, NULL),
				EINVAL);
	level = zc_kmsg_worst_level();
	zc_assert_f(level > 5, "a flood of bad input was logged at level %d",
		    level);

	/* With the driver's debug lines on, each call says why. */
	zc_drm_debug_on();
	zc_kmsg_mark();
	zc_assert_errno(zc_from_refs(fd, NULL, 1, 0, 0, 1, 32, NULL), EINVAL);
	zc_assert_eq(zc_kmsg_find("FROM_REFS: bad geometry"), 7);
	close(fd);
	zc_baseline_finish(&base, 5000);
}

static const struct zc_subtest subtests[] = {
	{ "max-pages-param", test_max_pages_param },
	{ "large-from-refs", test_large_from_refs },
	{ "grant-exhaustion", test_grant_exhaustion },
	{ "to-refs-huge", test_to_refs_huge },
	{ "bad-input-flood", test_bad_input_flood },
	{ }
};

ZC_MAIN(subtests)
