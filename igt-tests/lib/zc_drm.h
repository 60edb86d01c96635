/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DRM helpers for the xen-zcopy tests: nodes by driver name, dumb buffers,
 * PRIME, a minimal vkms modeset and the vkms CRC from debugfs.
 */
#ifndef ZC_DRM_H
#define ZC_DRM_H

#include <stddef.h>
#include <stdint.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

/* Opens the primary node of driver @name; stores its minor. -1 if none. */
int zc_drm_open_driver(const char *name, int *minor);
/* Whether a render node of driver @name exists. */
int zc_drm_has_render_node(const char *name);

struct zc_dumb {
	uint32_t handle;
	uint32_t pitch;
	uint64_t size;
};

/* Returns 0 or -errno. */
int zc_dumb_create(int fd, uint32_t w, uint32_t h, uint32_t bpp,
		   struct zc_dumb *d);
/* mmap of a GEM handle through MODE_MAP_DUMB; NULL on failure. */
void *zc_dumb_map(int fd, uint32_t handle, size_t size);
int zc_gem_close(int fd, uint32_t handle);
/* PRIME wrappers: 0 or -errno. */
int zc_prime_export(int fd, uint32_t handle, int *dmabuf);
int zc_prime_import(int fd, int dmabuf, uint32_t *handle);

/* mmap of a dma-buf fd itself (offset 0, shared, read-write); NULL on failure. */
void *zc_dmabuf_map(int dmabuf, size_t size);
/* DMA_BUF_IOCTL_SYNC around CPU access: @start 1 begins, 0 ends. 0 or -errno. */
int zc_dmabuf_sync(int dmabuf, int start);

/*
 * Offset of the first byte that differs from zc_fill_pattern(@seed) in a
 * WxH XRGB8888 frame of @pitch, or -1 if the whole frame matches.
 */
long zc_check_pattern(const void *px, uint32_t w, uint32_t h, uint32_t pitch,
		      uint32_t seed);

/* XRGB8888 pattern that depends on @seed everywhere in the frame. */
void zc_fill_pattern(void *px, uint32_t w, uint32_t h, uint32_t pitch,
		     uint32_t seed);
/* Solid XRGB8888 colour. */
void zc_fill_solid(void *px, uint32_t w, uint32_t h, uint32_t pitch,
		   uint32_t colour);

struct zc_kms {
	int fd;
	int minor;
	uint32_t crtc_id;
	uint32_t conn_id;
	uint32_t fb_id;
	drmModeModeInfo mode;
	int crc_fd;
};

/* Finds vkms, a connected connector and a WxH mode. 0 or -errno. */
int zc_kms_init(struct zc_kms *k, uint32_t w, uint32_t h);
/* Scans out @handle (XRGB8888, @pitch) on the CRTC; replaces the old fb. */
int zc_kms_show(struct zc_kms *k, uint32_t handle, uint32_t pitch);
/* The same, with the frame starting @offset bytes into the buffer. */
int zc_kms_show_at(struct zc_kms *k, uint32_t handle, uint32_t pitch,
		   uint32_t offset);
/* Disables the CRTC, removes the fb, stops CRCs, closes the node. */
void zc_kms_fini(struct zc_kms *k);
/*
 * The CRC of what the CRTC shows now: skips queued entries, then waits
 * until @stable consecutive new entries agree (under TCG vkms computes a
 * CRC slower than one per vblank, so values repeat). 0 or -errno.
 */
int zc_crc_current(struct zc_kms *k, uint32_t *crc);

#endif /* ZC_DRM_H */
