// SPDX-License-Identifier: GPL-2.0
/*
 * The CRC path the driver tests rely on: a native vkms dumb buffer gives a
 * CRC that is stable across frames and depends on the content.
 */

#include <sys/mman.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_igt.h"

#define W 1024
#define H 768

static struct zc_kms kms;

static void kms_cleanup(void *data)
{
	zc_kms_fini(data);
}

static uint32_t *native_buffer(struct zc_dumb *d)
{
	uint32_t *px;

	zc_assert_ok(zc_dumb_create(kms.fd, W, H, 32, d));
	px = zc_dumb_map(kms.fd, d->handle, d->size);
	zc_assert(px);
	return px;
}

static void setup(void)
{
	int ret = zc_kms_init(&kms, W, H);

	zc_require(ret != -ENODEV);
	zc_assert_ok(ret);
	zc_at_exit(kms_cleanup, &kms);
}

static void test_crc_stable(void)
{
	uint32_t a, b, *px;
	struct zc_dumb d;

	setup();
	px = native_buffer(&d);
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

	setup();
	px = native_buffer(&d);
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
