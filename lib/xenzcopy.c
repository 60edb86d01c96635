// SPDX-License-Identifier: GPL-2.0
/*
 * libxenzcopy: xen_drm_zcopy's v2 ioctls, with a fallback to v1 (see
 * xenzcopy.h for the interface).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>

#include "xen_zcopy_drm.h"
#include "xenzcopy.h"

#define XZC_EXPORT __attribute__((visibility("default")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct xzc_dev {
	int fd;
	unsigned int open_flags;
	/* DRM_XEN_ZCOPY_CAP_* as GET_CAPS answered at open, 0 for v1. */
	uint64_t caps;
};

/*
 * An ioctl as a -errno result. Restarts on EINTR and EAGAIN as drmIoctl()
 * does: none of the calls made through it waits, so a restart is always
 * the same request.
 */
static int xzc_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

/* GET_CAPS; a driver without it answers -EINVAL or -ENOTTY: v1 only. */
static int xzc_query_caps(int fd, struct drm_xen_zcopy_get_caps *gc)
{
	int ret;

	memset(gc, 0, sizeof(*gc));
	ret = xzc_ioctl(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS, gc);
	if (ret == -EINVAL || ret == -ENOTTY) {
		memset(gc, 0, sizeof(*gc));
		return 0;
	}
	return ret;
}

static int xzc_is_zcopy(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);
	int match = v && v->name && !strcmp(v->name, XENDRM_ZCOPY_DRIVER_NAME);

	drmFreeVersion(v);
	return match;
}

/* The first primary node of xen_drm_zcopy in libdrm's device list. */
static int xzc_find_node(void)
{
	drmDevicePtr *devs;
	int i, n, fd, ret = -ENODEV;

	/* No /dev/dri at all is no device, not a missing file. */
	n = drmGetDevices2(0, NULL, 0);
	if (n <= 0)
		return n < 0 && n != -ENOENT ? n : -ENODEV;
	devs = calloc(n, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	n = drmGetDevices2(0, devs, n);
	if (n < 0) {
		free(devs);
		return n;
	}
	for (i = 0; i < n; i++) {
		if (!(devs[i]->available_nodes & (1 << DRM_NODE_PRIMARY)))
			continue;
		fd = open(devs[i]->nodes[DRM_NODE_PRIMARY], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			/*
			 * Another driver's node may be closed to us: look on,
			 * and say why only if no node turns out to be ours.
			 */
			if (ret == -ENODEV)
				ret = -errno;
			continue;
		}
		if (xzc_is_zcopy(fd)) {
			ret = fd;
			break;
		}
		close(fd);
	}
	drmFreeDevices(devs, n);
	free(devs);
	return ret;
}

XZC_EXPORT int xzc_open(struct xzc_dev **devp, unsigned int flags)
{
	struct drm_xen_zcopy_get_caps gc;
	struct xzc_dev *dev;
	int fd, ret;

	if (flags & ~XZC_OPEN_FORCE_V1)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	fd = xzc_find_node();
	if (fd < 0) {
		free(dev);
		return fd;
	}
	dev->fd = fd;
	dev->open_flags = flags;
	if (!(flags & XZC_OPEN_FORCE_V1)) {
		ret = xzc_query_caps(fd, &gc);
		if (ret) {
			xzc_close(dev);
			return ret;
		}
		dev->caps = gc.caps;
	}
	*devp = dev;
	return 0;
}

XZC_EXPORT void xzc_close(struct xzc_dev *dev)
{
	if (!dev)
		return;
	close(dev->fd);
	free(dev);
}

XZC_EXPORT int xzc_fd(const struct xzc_dev *dev)
{
	return dev->fd;
}

XZC_EXPORT int xzc_get_caps(struct xzc_dev *dev, struct xzc_caps *caps)
{
	struct drm_xen_zcopy_get_caps gc = { 0 };
	int ret;

	if (!(dev->open_flags & XZC_OPEN_FORCE_V1)) {
		ret = xzc_query_caps(dev->fd, &gc);
		if (ret)
			return ret;
	}
	caps->caps = gc.caps;
	caps->max_pages = gc.max_pages;
	return 0;
}

static int xzc_has(const struct xzc_dev *dev, uint64_t cap)
{
	return (dev->caps & cap) == cap;
}

/* Bytes per pixel of the single-plane formats v1 can express, else 0. */
static uint32_t xzc_v1_cpp(uint32_t fourcc)
{
	static const struct {
		uint32_t fourcc;
		uint32_t cpp;
	} formats[] = {
		{ DRM_FORMAT_C8, 1 }, { DRM_FORMAT_R8, 1 },
		{ DRM_FORMAT_RGB332, 1 }, { DRM_FORMAT_BGR233, 1 },
		{ DRM_FORMAT_RGB565, 2 }, { DRM_FORMAT_BGR565, 2 },
		{ DRM_FORMAT_XRGB1555, 2 }, { DRM_FORMAT_ARGB1555, 2 },
		{ DRM_FORMAT_XRGB4444, 2 }, { DRM_FORMAT_ARGB4444, 2 },
		{ DRM_FORMAT_YUYV, 2 }, { DRM_FORMAT_YVYU, 2 },
		{ DRM_FORMAT_UYVY, 2 }, { DRM_FORMAT_VYUY, 2 },
		{ DRM_FORMAT_RGB888, 3 }, { DRM_FORMAT_BGR888, 3 },
		{ DRM_FORMAT_XRGB8888, 4 }, { DRM_FORMAT_ARGB8888, 4 },
		{ DRM_FORMAT_XBGR8888, 4 }, { DRM_FORMAT_ABGR8888, 4 },
		{ DRM_FORMAT_RGBX8888, 4 }, { DRM_FORMAT_RGBA8888, 4 },
		{ DRM_FORMAT_BGRX8888, 4 }, { DRM_FORMAT_BGRA8888, 4 },
		{ DRM_FORMAT_XRGB2101010, 4 }, { DRM_FORMAT_ARGB2101010, 4 },
		{ DRM_FORMAT_XBGR2101010, 4 }, { DRM_FORMAT_ABGR2101010, 4 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(formats); i++)
		if (formats[i].fourcc == fourcc)
			return formats[i].cpp;
	return 0;
}

/*
 * The dumb geometry of DUMB_FROM_REFS for @geom: v1 takes width, height
 * and bpp and lays the lines out back to back from offset 0.
 */
static int xzc_v1_dumb(const struct xzc_geometry *geom,
		       struct drm_mode_create_dumb *dumb)
{
	uint32_t cpp = xzc_v1_cpp(geom->fourcc);
	uint64_t line;
	int i;

	if (!cpp)
		return -EOPNOTSUPP;
	line = (uint64_t)geom->width * cpp;
	if (geom->pitches[0] < line)
		return -EINVAL;
	if (geom->pitches[0] != line || geom->offsets[0])
		return -EOPNOTSUPP;
	for (i = 1; i < 4; i++)
		if (geom->pitches[i] || geom->offsets[i])
			return -EOPNOTSUPP;
	memset(dumb, 0, sizeof(*dumb));
	dumb->width = geom->width;
	dumb->height = geom->height;
	dumb->bpp = cpp * 8;
	return 0;
}

static int xzc_from_refs_v2(struct xzc_dev *dev, const uint32_t *refs,
			    uint32_t num_refs, uint32_t domid,
			    const struct xzc_geometry *geom, unsigned int flags,
			    struct xzc_buffer *buf)
{
	struct drm_xen_zcopy_from_refs2 req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.grefs = (uintptr_t)refs;
	req.num_grefs = num_refs;
	req.domid = domid;
	req.flags = DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD;
	if (flags & XZC_FROM_REFS_READ_ONLY)
		req.flags |= DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY;
	req.fourcc = geom->fourcc;
	req.width = geom->width;
	req.height = geom->height;
	memcpy(req.pitches, geom->pitches, sizeof(req.pitches));
	memcpy(req.offsets, geom->offsets, sizeof(req.offsets));
	req.dmabuf_fd = -1;
	ret = xzc_ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &req);
	if (ret)
		return ret;
	buf->handle = req.handle;
	buf->dmabuf_fd = req.dmabuf_fd;
	buf->wait_handle = req.wait_handle;
	buf->size = req.size;
	return 0;
}

static int xzc_from_refs_v1(struct xzc_dev *dev, const uint32_t *refs,
			    uint32_t num_refs, uint32_t domid,
			    const struct xzc_geometry *geom, unsigned int flags,
			    struct xzc_buffer *buf)
{
	struct drm_xen_zcopy_dumb_from_refs req;
	struct drm_prime_handle prime;
	int ret;

	if (flags & XZC_FROM_REFS_READ_ONLY)
		return -EOPNOTSUPP;
	memset(&req, 0, sizeof(req));
	ret = xzc_v1_dumb(geom, &req.dumb);
	if (ret)
		return ret;
	req.num_grefs = num_refs;
	req.grefs = (uint32_t *)refs;
	req.otherend_id = domid;
	ret = xzc_ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &req);
	if (ret)
		return ret;

	memset(&prime, 0, sizeof(prime));
	prime.handle = req.dumb.handle;
	prime.flags = DRM_CLOEXEC | DRM_RDWR;
	ret = xzc_ioctl(dev->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
	if (ret) {
		/* Nothing else holds the buffer: this frees it. */
		xzc_close_handle(dev, req.dumb.handle);
		return ret;
	}
	buf->handle = req.dumb.handle;
	buf->dmabuf_fd = prime.fd;
	buf->wait_handle = req.wait_handle;
	buf->size = req.dumb.size;
	return 0;
}

XZC_EXPORT int xzc_from_refs(struct xzc_dev *dev, const uint32_t *refs,
			     uint32_t num_refs, uint32_t domid,
			     const struct xzc_geometry *geom, unsigned int flags,
			     struct xzc_buffer *buf)
{
	if (!geom || (flags & ~XZC_FROM_REFS_READ_ONLY))
		return -EINVAL;
	if (xzc_has(dev, XZC_CAP_V2)) {
		if ((flags & XZC_FROM_REFS_READ_ONLY) &&
		    !xzc_has(dev, XZC_CAP_READ_ONLY))
			return -EOPNOTSUPP;
		return xzc_from_refs_v2(dev, refs, num_refs, domid, geom,
					flags, buf);
	}
	return xzc_from_refs_v1(dev, refs, num_refs, domid, geom, flags, buf);
}

XZC_EXPORT int xzc_to_refs(struct xzc_dev *dev, int dmabuf_fd, uint32_t domid,
			   unsigned int flags, uint32_t *refs,
			   uint32_t num_refs, uint32_t *handle)
{
	struct drm_prime_handle prime;
	int ret;

	if (flags & ~XZC_TO_REFS_READ_ONLY)
		return -EINVAL;
	if ((flags & XZC_TO_REFS_READ_ONLY) &&
	    !xzc_has(dev, XZC_CAP_V2 | XZC_CAP_READ_ONLY))
		return -EOPNOTSUPP;

	memset(&prime, 0, sizeof(prime));
	prime.fd = dmabuf_fd;
	ret = xzc_ioctl(dev->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime);
	if (ret)
		return ret;

	if (xzc_has(dev, XZC_CAP_V2)) {
		struct drm_xen_zcopy_to_refs2 req;

		memset(&req, 0, sizeof(req));
		req.grefs = (uintptr_t)refs;
		req.num_grefs = num_refs;
		req.domid = domid;
		req.handle = prime.handle;
		if (flags & XZC_TO_REFS_READ_ONLY)
			req.flags = DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY;
		ret = xzc_ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &req);
	} else {
		struct drm_xen_zcopy_dumb_to_refs req;

		memset(&req, 0, sizeof(req));
		req.num_grefs = num_refs;
		req.grefs = refs;
		req.otherend_id = domid;
		req.handle = prime.handle;
		ret = xzc_ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &req);
	}
	if (ret) {
		xzc_close_handle(dev, prime.handle);
		return ret;
	}
	*handle = prime.handle;
	return 0;
}

XZC_EXPORT int64_t xzc_dmabuf_pages(int dmabuf_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	off_t size = lseek(dmabuf_fd, 0, SEEK_END);

	if (size < 0)
		return -errno;
	if (page <= 0 || size % page || size / page > INT32_MAX)
		return -EINVAL;
	return size / page;
}

XZC_EXPORT int xzc_close_handle(struct xzc_dev *dev, uint32_t handle)
{
	struct drm_gem_close req;

	memset(&req, 0, sizeof(req));
	req.handle = handle;
	return xzc_ioctl(dev->fd, DRM_IOCTL_GEM_CLOSE, &req);
}

static int64_t xzc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

XZC_EXPORT int64_t xzc_deadline_ms(uint32_t ms)
{
	return xzc_now_ns() + (int64_t)ms * 1000000;
}

static int xzc_wait_free_v2(struct xzc_dev *dev, uint32_t wait_handle,
			    int64_t deadline_ns)
{
	struct drm_xen_zcopy_wait_free2 req;
	int ret;

	/* The deadline is absolute: asking again after a signal is exact. */
	do {
		memset(&req, 0, sizeof(req));
		req.deadline_ns = deadline_ns;
		req.wait_handle = wait_handle;
		ret = ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &req);
	} while (ret == -1 && errno == EINTR);
	if (ret == -1)
		return -errno;
	return req.status == DRM_XEN_ZCOPY_WAIT_FREED ? 0 : -EIO;
}

/* DUMB_WAIT_FREE takes a relative timeout: the time left, rounded up. */
static uint32_t xzc_ms_left(int64_t deadline_ns)
{
	int64_t left = deadline_ns - xzc_now_ns();

	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

static int xzc_wait_free_v1(struct xzc_dev *dev, uint32_t wait_handle,
			    int64_t deadline_ns)
{
	struct drm_xen_zcopy_dumb_wait_free req;
	bool seen = false;
	int ret;

	/*
	 * The driver never restarts an interrupted wait (that would wait the
	 * whole timeout again), and its timeout is counted in jiffies: ask
	 * again with what is left until the deadline has really passed.
	 * v1 forgets a handle once its buffer is gone, so -ENOENT for a
	 * handle an earlier round found means the buffer went in between.
	 */
	for (;;) {
		memset(&req, 0, sizeof(req));
		req.wait_handle = wait_handle;
		req.wait_to_ms = xzc_ms_left(deadline_ns);
		ret = ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, &req);
		if (!ret)
			return 0;
		ret = -errno;
		if (ret == -ENOENT && seen)
			return 0;
		if (ret != -EINTR && ret != -ETIMEDOUT)
			return ret;
		seen = true;
		if (!req.wait_to_ms || xzc_now_ns() >= deadline_ns)
			return -ETIMEDOUT;
	}
}

XZC_EXPORT int xzc_wait_free(struct xzc_dev *dev, uint32_t wait_handle,
			     int64_t deadline_ns)
{
	if (xzc_has(dev, XZC_CAP_V2))
		return xzc_wait_free_v2(dev, wait_handle, deadline_ns);
	return xzc_wait_free_v1(dev, wait_handle, deadline_ns);
}

XZC_EXPORT int xzc_wait_fd(struct xzc_dev *dev, uint32_t wait_handle)
{
	struct drm_xen_zcopy_wait_fd req;
	int ret;

	if (!xzc_has(dev, XZC_CAP_WAIT_FD))
		return -EOPNOTSUPP;
	memset(&req, 0, sizeof(req));
	req.wait_handle = wait_handle;
	ret = xzc_ioctl(dev->fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FD, &req);
	return ret ? ret : req.fd;
}

XZC_EXPORT const char *xzc_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EOPNOTSUPP:
		return "not supported by the driver (its v1 interface cannot express the call)";
	case ENODEV:
		return "no xen_drm_zcopy device (module not loaded, or not running on Xen)";
	case ENOENT:
		return "unknown handle, or the buffer is already gone";
	case ETIMEDOUT:
		return "the buffer is still in use at the deadline";
	case EACCES:
		return "permission denied (needs CAP_SYS_ADMIN and an authenticated DRM client)";
	case E2BIG:
		return "buffer larger than the driver's max_pages or the grant table allows";
	case ESRCH:
		return "no such domain";
	default:
		return strerror(err);
	}
}
