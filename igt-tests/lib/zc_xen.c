// SPDX-License-Identifier: GPL-2.0
/*
 * xen_drm_zcopy ioctl wrappers and debugfs counters (see zc_xen.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "zc_drm.h"
#include "zc_xen.h"

const char *const zc_stat_names[ZC_NR_STATS] = {
	"from_refs_objects", "mapped_grants", "imported_objects",
	"granted_refs", "deferred_refs", "wait_handles", "pv_vmap_grants",
	"pv_user_grants", "leaked_pages", "contig_pages",
};

int zc_xen_open(void)
{
	return zc_drm_open_driver(XENDRM_ZCOPY_DRIVER_NAME, NULL);
}

int zc_from_refs(int fd, const uint32_t *refs, uint32_t n, uint64_t domid,
		 uint32_t w, uint32_t h, uint32_t bpp,
		 struct drm_xen_zcopy_dumb_from_refs *out)
{
	struct drm_xen_zcopy_dumb_from_refs req = {
		.num_grefs = n,
		.grefs = (uint32_t *)refs,
		.otherend_id = domid,
		.dumb = { .width = w, .height = h, .bpp = bpp },
	};

	if (drmIoctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &req))
		return -errno;
	if (out)
		*out = req;
	return 0;
}

int zc_to_refs(int fd, uint32_t handle, uint32_t *refs, uint32_t n,
	       uint64_t domid)
{
	struct drm_xen_zcopy_dumb_to_refs req = {
		.num_grefs = n,
		.grefs = refs,
		.otherend_id = domid,
		.handle = handle,
	};

	return drmIoctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &req) ? -errno : 0;
}

int zc_wait_free(int fd, uint32_t wait_handle, uint32_t ms)
{
	struct drm_xen_zcopy_dumb_wait_free req = {
		.wait_handle = wait_handle,
		.wait_to_ms = ms,
	};

	/* Not drmIoctl(): it would restart on EINTR, hiding the signal. */
	return ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, &req) ? -errno : 0;
}

int zc_debugfs_path(const char *file, char *path, size_t len)
{
	int minor;

	/* Primary minors are 0-63; the driver has no other node. */
	for (minor = 0; minor < 64; minor++) {
		snprintf(path, len, "/sys/kernel/debug/dri/%d/%s", minor, file);
		if (!access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

int zc_stats_read(struct zc_stats *s)
{
	char path[128];
	char name[64];
	long value;
	int i, found = 0;
	FILE *f;

	if (zc_debugfs_path("xen_zcopy_stats", path, sizeof(path)))
		return -ENOENT;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	memset(s, 0, sizeof(*s));
	while (fscanf(f, "%63s %ld", name, &value) == 2) {
		for (i = 0; i < ZC_NR_STATS; i++)
			if (!strcmp(name, zc_stat_names[i])) {
				s->v[i] = value;
				found++;
			}
	}
	fclose(f);
	return found == ZC_NR_STATS ? 0 : -EIO;
}

long zc_stat(const char *name)
{
	struct zc_stats s;
	int i;

	if (zc_stats_read(&s))
		return -1;
	for (i = 0; i < ZC_NR_STATS; i++)
		if (!strcmp(name, zc_stat_names[i]))
			return s.v[i];
	return -1;
}

static void zc_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int zc_stat_wait(const char *name, long value, int ms)
{
	for (; ms >= 0; ms -= 20) {
		if (zc_stat(name) == value)
			return 0;
		zc_sleep_ms(20);
	}
	return -ETIMEDOUT;
}

int zc_stats_wait_baseline(const struct zc_stats *base, int ms)
{
	struct zc_stats now;
	int i;

	for (; ms >= 0; ms -= 20) {
		if (!zc_stats_read(&now) &&
		    !memcmp(&now, base, sizeof(now)))
			return 0;
		zc_sleep_ms(20);
	}
	for (i = 0; i < ZC_NR_STATS; i++)
		if (now.v[i] != base->v[i])
			fprintf(stderr, "  stat %s: %ld, baseline %ld\n",
				zc_stat_names[i], now.v[i], base->v[i]);
	return -ETIMEDOUT;
}

long zc_read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int zc_write_long(const char *path, long v)
{
	char buf[32];
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld\n", v);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}
