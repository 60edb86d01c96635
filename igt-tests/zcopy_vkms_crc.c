// SPDX-License-Identifier: GPL-2.0
/*
 * The CRC path the driver tests rely on: a native vkms dumb buffer gives a
 * CRC that is stable across frames and depends on the content.
 */

#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_igt.h"

#define W 1024
#define H 768

static struct zc_kms kms;

static void test_crc_stable(void)
{
	uint32_t a, b, *px;
	struct zc_dumb d;

	zc_kms_get(&kms, W, H);
	px = zc_kms_native(&kms, W, H, &d);
	zc_fill_solid(px, W, H, d.pitch, 0x00ff0000);
	zc_assert_ok(zc_kms_show(&kms, d.handle, d.pitch));
	zc_assert_ok(zc_crc_current(&kms, &a));
	usleep(300000);
	zc_assert_ok(zc_crc_current(&kms, &b));
	zc_assert_eq(a, b);
}

static void test_crc_differs_by_colour(void)
{
	uint32_t red, blue, again, *px;
	struct zc_dumb d;

	zc_kms_get(&kms, W, H);
	px = zc_kms_native(&kms, W, H, &d);
	zc_fill_solid(px, W, H, d.pitch, 0x00ff0000);
	zc_assert_ok(zc_kms_show(&kms, d.handle, d.pitch));
	zc_assert_ok(zc_crc_current(&kms, &red));

	zc_fill_solid(px, W, H, d.pitch, 0x000000ff);
	zc_assert_ok(zc_crc_current(&kms, &blue));
	zc_assert_neq(red, blue);

	zc_fill_solid(px, W, H, d.pitch, 0x00ff0000);
	zc_assert_ok(zc_crc_current(&kms, &again));
	zc_assert_eq(again, red);
}

static const struct zc_subtest subtests[] = {
	{ "crc-stable", test_crc_stable },
	{ "crc-differs-by-colour", test_crc_differs_by_colour },
	{ }
};

ZC_MAIN(subtests)
