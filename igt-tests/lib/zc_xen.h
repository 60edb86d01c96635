/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xen_drm_zcopy ioctls as -errno returning calls, and the driver's
 * debugfs counters.
 */
#ifndef ZC_XEN_H
#define ZC_XEN_H

#include <stddef.h>
#include <stdint.h>

#include "xen_zcopy_drm.h"

int zc_xen_open(void);

/* DUMB_FROM_REFS; fills @out (handle, pitch, size, wait_handle). */
int zc_from_refs(int fd, const uint32_t *refs, uint32_t n, uint64_t domid,
		 uint32_t w, uint32_t h, uint32_t bpp,
		 struct drm_xen_zcopy_dumb_from_refs *out);
int zc_to_refs(int fd, uint32_t handle, uint32_t *refs, uint32_t n,
	       uint64_t domid);
int zc_wait_free(int fd, uint32_t wait_handle, uint32_t ms);

/*
 * The path of the driver's debugfs file @file, under its DRM minor
 * (/sys/kernel/debug/dri/N/). 0, or -ENOENT if the driver has none.
 */
int zc_debugfs_path(const char *file, char *path, size_t len);

/* A counter of the driver's xen_zcopy_stats, -1 if unreadable. */
long zc_stat(const char *name);
/* Waits up to @ms for counter @name to equal @value. 0 or -ETIMEDOUT. */
int zc_stat_wait(const char *name, long value, int ms);

/* All counters, to compare with a baseline. */
#define ZC_NR_STATS 10
struct zc_stats {
	long v[ZC_NR_STATS];
};
extern const char *const zc_stat_names[ZC_NR_STATS];
int zc_stats_read(struct zc_stats *s);
/* Waits up to @ms until every counter equals @base; prints the ones that
 * differ on timeout. 0 or -ETIMEDOUT. */
int zc_stats_wait_baseline(const struct zc_stats *base, int ms);

/* A number read from a sysfs or debugfs file, -1 if it cannot be read. */
long zc_read_long(const char *path);
/* Writes @v to @path: 0 or -errno of the open or the write. */
int zc_write_long(const char *path, long v);

#endif /* ZC_XEN_H */
