// SPDX-License-Identifier: GPL-2.0
/*
 * DRM helpers for the xen-zcopy tests (see zc_drm.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/dma-buf.h>

#include "zc_drm.h"

static int zc_is_driver(int fd, const char *name)
{
	drmVersionPtr v = drmGetVersion(fd);
	int match = v && !strcmp(v->name, name);

	drmFreeVersion(v);
	return match;
}

int zc_drm_open_driver(const char *name, int *minor)
{
	char path[64];
	int i, fd;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (zc_is_driver(fd, name)) {
			if (minor)
				*minor = i;
			return fd;
		}
		close(fd);
	}
	return -1;
}

int zc_drm_has_render_node(const char *name)
{
	char path[64];
	int i, fd, found = 0;

	for (i = 128; i < 192 && !found; i++) {
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		found = zc_is_driver(fd, name);
		close(fd);
	}
	return found;
}

int zc_dumb_create(int fd, uint32_t w, uint32_t h, uint32_t bpp,
		   struct zc_dumb *d)
{
	struct drm_mode_create_dumb c = { .width = w, .height = h, .bpp = bpp };

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return -errno;
	d->handle = c.handle;
	d->pitch = c.pitch;
	d->size = c.size;
	return 0;
}

void *zc_dumb_map(int fd, uint32_t handle, size_t size)
{
	struct drm_mode_map_dumb m = { .handle = handle };
	void *p;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.offset);
	return p == MAP_FAILED ? NULL : p;
}

int zc_gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &c) ? -errno : 0;
}

int zc_prime_export(int fd, uint32_t handle, int *dmabuf)
{
	return drmPrimeHandleToFD(fd, handle, DRM_CLOEXEC | DRM_RDWR, dmabuf) ?
	       -errno : 0;
}

int zc_prime_import(int fd, int dmabuf, uint32_t *handle)
{
	return drmPrimeFDToHandle(fd, dmabuf, handle) ? -errno : 0;
}

void *zc_dmabuf_map(int dmabuf, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);

	return p == MAP_FAILED ? NULL : p;
}

int zc_dmabuf_sync(int dmabuf, int start)
{
	struct dma_buf_sync s = {
		.flags = DMA_BUF_SYNC_RW |
			 (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END),
	};

	return drmIoctl(dmabuf, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

static uint32_t zc_pattern_px(uint32_t x, uint32_t y, uint32_t seed)
{
	return ((x * 2654435761u) ^ (y * 40503u) ^ (seed * 2246822519u)) &
	       0x00ffffff;
}

long zc_check_pattern(const void *px, uint32_t w, uint32_t h, uint32_t pitch,
		      uint32_t seed)
{
	uint32_t x, y;

	for (y = 0; y < h; y++) {
		const uint32_t *row =
			(const uint32_t *)((const uint8_t *)px + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			if (row[x] != zc_pattern_px(x, y, seed))
				return (long)y * pitch + x * 4;
	}
	return -1;
}

void zc_fill_pattern(void *px, uint32_t w, uint32_t h, uint32_t pitch,
		     uint32_t seed)
{
	uint32_t x, y;

	for (y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)px + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			row[x] = zc_pattern_px(x, y, seed);
	}
}

void zc_fill_solid(void *px, uint32_t w, uint32_t h, uint32_t pitch,
		   uint32_t colour)
{
	uint32_t x, y;

	for (y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)px + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			row[x] = colour;
	}
}

static int zc_crc_control(int minor, const char *source)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/dri/%d/crtc-0/crc/control", minor);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, source, strlen(source)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int zc_kms_init(struct zc_kms *k, uint32_t w, uint32_t h)
{
	drmModeConnector *con = NULL;
	drmModeRes *res;
	int i, ret = -ENOENT;

	memset(k, 0, sizeof(*k));
	k->crc_fd = -1;
	k->fd = zc_drm_open_driver("vkms", &k->minor);
	if (k->fd < 0)
		return -ENODEV;

	res = drmModeGetResources(k->fd);
	if (!res || !res->count_crtcs)
		goto err;
	k->crtc_id = res->crtcs[0];

	for (i = 0; i < res->count_connectors && ret; i++) {
		int m;

		con = drmModeGetConnector(k->fd, res->connectors[i]);
		if (!con)
			continue;
		if (con->connection == DRM_MODE_CONNECTED) {
			for (m = 0; m < con->count_modes; m++)
				if (con->modes[m].hdisplay == w &&
				    con->modes[m].vdisplay == h) {
					k->mode = con->modes[m];
					k->conn_id = con->connector_id;
					ret = 0;
					break;
				}
		}
		drmModeFreeConnector(con);
	}
	drmModeFreeResources(res);
	if (ret)
		goto err;
	return 0;
err:
	close(k->fd);
	k->fd = -1;
	return ret;
}

int zc_kms_show(struct zc_kms *k, uint32_t handle, uint32_t pitch)
{
	return zc_kms_show_at(k, handle, pitch, 0);
}

int zc_kms_show_at(struct zc_kms *k, uint32_t handle, uint32_t pitch,
		   uint32_t offset)
{
	uint32_t handles[4] = { handle }, pitches[4] = { pitch };
	uint32_t offsets[4] = { offset };
	uint32_t fb, old = k->fb_id;
	char path[128];

	if (drmModeAddFB2(k->fd, k->mode.hdisplay, k->mode.vdisplay,
			  DRM_FORMAT_XRGB8888, handles, pitches, offsets, &fb, 0))
		return -errno;
	if (drmModeSetCrtc(k->fd, k->crtc_id, fb, 0, 0, &k->conn_id, 1,
			   &k->mode)) {
		int err = -errno;

		drmModeRmFB(k->fd, fb);
		return err;
	}
	k->fb_id = fb;
	if (old)
		drmModeRmFB(k->fd, old);

	/* CRCs are only produced while the CRTC is on. */
	if (k->crc_fd < 0) {
		int ret = zc_crc_control(k->minor, "auto");

		if (ret)
			return ret;
		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/dri/%d/crtc-0/crc/data", k->minor);
		k->crc_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (k->crc_fd < 0)
			return -errno;
	}
	return 0;
}

void zc_kms_fini(struct zc_kms *k)
{
	if (k->fd < 0)
		return;
	if (k->crc_fd >= 0)
		close(k->crc_fd);
	drmModeSetCrtc(k->fd, k->crtc_id, 0, 0, 0, NULL, 0, NULL);
	if (k->fb_id)
		drmModeRmFB(k->fd, k->fb_id);
	close(k->fd);
	k->fd = -1;
	k->crc_fd = -1;
	k->fb_id = 0;
}

/* One entry "0x<frame> 0x<crc>"; waits up to @ms. 0, -EAGAIN or -errno. */
static int zc_crc_read(struct zc_kms *k, int ms, uint32_t *crc)
{
	struct pollfd pfd = { .fd = k->crc_fd, .events = POLLIN };
	unsigned int frame, value;
	char line[128];
	ssize_t n;

	if (ms && poll(&pfd, 1, ms) <= 0)
		return -EAGAIN;
	n = read(k->crc_fd, line, sizeof(line) - 1);
	if (n < 0)
		return -errno;
	line[n] = '\0';
	if (sscanf(line, "%x %x", &frame, &value) != 2)
		return -EIO;
	*crc = value;
	return 0;
}

/*
 * vkms composes in a worker; when a composition takes longer than a vblank
 * (always, under TCG) it reports the same CRC for every frame it covered,
 * all at once. So equal entries prove nothing unless they come from
 * different compositions: count a value only when it arrives in a new
 * burst, that is after read() found nothing and poll() had to wait.
 */
int zc_crc_current(struct zc_kms *k, uint32_t *crc)
{
	const int stable = 3;
	uint32_t c, last = 0;
	int bursts = 0, reads, ret;

	if (k->crc_fd < 0)
		return -EINVAL;
	/* Entries queued so far may show an older frame. */
	while (zc_crc_read(k, 0, &c) == 0)
		;

	for (reads = 0; reads < 2000; reads++) {
		bool new_burst = false;

		ret = zc_crc_read(k, 0, &c);
		if (ret == -EAGAIN || ret == -EWOULDBLOCK) {
			ret = zc_crc_read(k, 10000, &c);
			new_burst = true;
		}
		if (ret)
			return ret;
		if (c != last || !bursts) {
			/* A composition may still show the old content. */
			last = c;
			bursts = 0;
			if (new_burst)
				bursts = 1;
			continue;
		}
		if (new_burst && ++bursts >= stable) {
			*crc = c;
			return 0;
		}
	}
	return -ETIMEDOUT;
}
