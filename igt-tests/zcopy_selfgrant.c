// SPDX-License-Identifier: GPL-2.0
/*
 * Self-grants, the stand-in for a frontend inside Dom0: a page granted to
 * domid 0 by gntalloc and mapped back by gntdev shows the same bytes.
 */

#include "zc_gnt.h"
#include "zc_igt.h"

#define PAGE 4096

static void check_both_ways(uint32_t pages)
{
	struct zc_gntalloc ga;
	struct zc_gntdev gd;
	uint32_t i, p;

	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, pages, true));
	zc_assert_ok(zc_gntdev_map(&gd, 0, ga.refs, pages, true));

	for (p = 0; p < pages; p++)
		for (i = 0; i < PAGE; i++)
			ga.map[p * PAGE + i] = (uint8_t)(i * 31 + p * 7 + 1);
	for (p = 0; p < pages; p++)
		for (i = 0; i < PAGE; i++)
			zc_assert_eq(gd.map[p * PAGE + i],
				     (uint8_t)(i * 31 + p * 7 + 1));

	for (i = 0; i < pages * PAGE; i++)
		gd.map[i] = (uint8_t)~i;
	for (i = 0; i < pages * PAGE; i++)
		zc_assert_eq(ga.map[i], (uint8_t)~i);

	zc_gntdev_unmap(&gd);
	zc_gntalloc_free(&ga);
}

static void test_gntalloc_to_gntdev(void)
{
	check_both_ways(1);
}

static void test_multi_page(void)
{
	check_both_ways(16);
}

static const struct zc_subtest subtests[] = {
	{ "gntalloc-to-gntdev", test_gntalloc_to_gntdev },
	{ "multi-page", test_multi_page },
	{ }
};

ZC_MAIN(subtests)
