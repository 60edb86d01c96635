// SPDX-License-Identifier: GPL-2.0
/*
 * Shared subtest fixtures (see zc_fixture.h).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zc_fixture.h"

void zc_baseline_start(struct zc_stats *base)
{
	zc_require(zc_stats_read(base) == 0);
}

void zc_baseline_start_drained(struct zc_stats *base)
{
	zc_stat_wait("deferred_refs", 0, 3000);
	zc_baseline_start(base);
}

int zc_baseline_open(struct zc_stats *base)
{
	int fd;

	zc_assert_ok(zc_stats_read(base));
	fd = zc_xen_open();
	zc_require(fd >= 0);
	return fd;
}

bool zc_is_pv(void)
{
	char type[16] = "";
	FILE *f = fopen("/sys/hypervisor/guest_type", "r");

	if (f) {
		if (!fgets(type, sizeof(type), f))
			type[0] = '\0';
		fclose(f);
	}
	return !strncmp(type, "PV", 2) && type[2] != 'H';
}

void zc_close_cleanup(void *fdp)
{
	int *fd = fdp;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void zc_gntalloc_cleanup(void *ga)
{
	zc_gntalloc_free(ga);
}

void zc_kms_cleanup(void *kms)
{
	zc_kms_fini(kms);
}

void zc_kms_get(struct zc_kms *k, uint32_t w, uint32_t h)
{
	int ret = zc_kms_init(k, w, h);

	zc_require(ret != -ENODEV);
	zc_assert_ok(ret);
	zc_at_exit(zc_kms_cleanup, k);
}

uint32_t *zc_kms_native(struct zc_kms *k, uint32_t w, uint32_t h,
			struct zc_dumb *d)
{
	uint32_t *px;

	zc_assert_ok(zc_dumb_create(k->fd, w, h, 32, d));
	px = zc_dumb_map(k->fd, d->handle, d->size);
	zc_assert(px);
	return px;
}
