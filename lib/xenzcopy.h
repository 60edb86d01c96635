/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libxenzcopy: the user-space side of xen_drm_zcopy.
 *
 * A display backend in a privileged Xen domain uses it to turn a
 * frontend's grant references into a dma-buf (frontend-allocated
 * buffers), to grant the pages of another driver's dma-buf to a frontend
 * (backend-allocated buffers) and to learn when a buffer made from grant
 * references is gone, so that it can answer the frontend's DBUF_DESTROY.
 *
 * The library speaks both interfaces of the driver: the v2 ioctls when
 * DRM_IOCTL_XEN_ZCOPY_GET_CAPS announces them, else the v1 ioctls of the
 * 2018 proposal, with the same results wherever v1 can express the call
 * and -EOPNOTSUPP where it cannot.
 *
 * Every function that can fail returns 0 (or a non-negative value) on
 * success and a negative errno on failure; errno itself is left alone
 * where possible and never carries the result. xzc_strerror() turns a
 * result into text. A struct xzc_dev may be used by several threads at
 * once, except that xzc_close() must be the last call on it.
 */
#ifndef XENZCOPY_H
#define XENZCOPY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An open xen_drm_zcopy device; opaque. */
struct xzc_dev;

/* Use the v1 ioctls even when the driver has v2 (to test the fallback). */
#define XZC_OPEN_FORCE_V1	(1U << 0)

/**
 * xzc_open() - open the xen_drm_zcopy device
 * @devp: out, the device; set only on success.
 * @flags: XZC_OPEN_* bits.
 *
 * Finds the device through libdrm's device list (drmGetDevices2()): the
 * first primary node whose driver, as drmGetVersion() reports it, is
 * "xen_drm_zcopy". Opens it O_RDWR | O_CLOEXEC and asks the driver what it
 * offers (see xzc_get_caps()); a driver that does not know GET_CAPS is
 * used through its v1 ioctls.
 *
 * Return: 0; -ENODEV if no such device exists (module not loaded, not on
 * Xen); when a primary node could not be opened and none of the others is
 * xen_drm_zcopy, that open() error instead (-EACCES for a caller that is
 * not root: the node is 0600 root); -EINVAL for unknown @flags; -ENOMEM;
 * the error of GET_CAPS other than -EINVAL and -ENOTTY.
 */
int xzc_open(struct xzc_dev **devp, unsigned int flags);

/**
 * xzc_close() - close the device
 * @dev: the device, or NULL (nothing happens).
 *
 * Closes the DRM file: every GEM handle still open on it goes, and with
 * them the buffers nothing else holds. dma-buf fds and wait fds stay valid.
 */
void xzc_close(struct xzc_dev *dev);

/**
 * xzc_fd() - the DRM file descriptor of the device
 * @dev: the device.
 *
 * For ioctls the library does not wrap (PRIME export of a handle, GEM
 * close). The fd belongs to @dev: do not close it.
 *
 * Return: the file descriptor.
 */
int xzc_fd(const struct xzc_dev *dev);

/* Same values as DRM_XEN_ZCOPY_CAP_* in <drm/xen_zcopy_drm.h>. */
#define XZC_CAP_V2		(1ULL << 0)
#define XZC_CAP_WAIT_FD		(1ULL << 1)
#define XZC_CAP_READ_ONLY	(1ULL << 2)
#define XZC_CAP_COMPAT32	(1ULL << 3)

/**
 * struct xzc_caps - what the driver offers
 * @caps: XZC_CAP_* bits; 0 for a v1-only driver (or XZC_OPEN_FORCE_V1).
 * @max_pages: the largest buffer xzc_from_refs() maps now, in pages; 0 if
 *	the driver does not say (v1).
 */
struct xzc_caps {
	uint64_t caps;
	uint32_t max_pages;
};

/**
 * xzc_get_caps() - ask the driver what it offers
 * @dev: the device.
 * @caps: out, the answer.
 *
 * Issues DRM_IOCTL_XEN_ZCOPY_GET_CAPS now (max_pages is a module parameter
 * that may change). A driver that fails it with -EINVAL or -ENOTTY has
 * only the v1 ioctls: @caps is then zero and the call succeeds.
 *
 * Return: 0, or the error of GET_CAPS (-EACCES for a client that is not
 * authenticated).
 */
int xzc_get_caps(struct xzc_dev *dev, struct xzc_caps *caps);

/**
 * struct xzc_geometry - the frame a buffer holds
 * @fourcc: DRM_FORMAT_* of the frame.
 * @width: width in pixels.
 * @height: height in pixels.
 * @pitches: bytes per line of each plane the format has, others 0.
 * @offsets: byte offset of each plane's first pixel (@offsets[0] is
 *	displif's data_ofs), others 0.
 *
 * The same values the backend gives DRM_IOCTL_MODE_ADDFB2 later.
 */
struct xzc_geometry {
	uint32_t fourcc;
	uint32_t width;
	uint32_t height;
	uint32_t pitches[4];
	uint32_t offsets[4];
};

/* Map the frontend's grants read-only (needs XZC_CAP_READ_ONLY). */
#define XZC_FROM_REFS_READ_ONLY	(1U << 0)

/**
 * struct xzc_buffer - a buffer made from grant references
 * @handle: GEM handle on the device's file; close it with
 *	xzc_close_handle() when the backend no longer needs it.
 * @dmabuf_fd: dma-buf of the buffer (O_CLOEXEC; read-write unless the
 *	buffer is read-only), for the real display driver; close() it.
 * @wait_handle: for xzc_wait_free() and xzc_wait_fd().
 * @size: size of the buffer in bytes (the number of refs in pages).
 */
struct xzc_buffer {
	uint32_t handle;
	int32_t dmabuf_fd;
	uint32_t wait_handle;
	uint64_t size;
};

/**
 * xzc_from_refs() - a buffer from a frontend's grant references
 * @dev: the device.
 * @refs: @num_refs grant references, in page order.
 * @num_refs: number of references, the size of the buffer in pages.
 * @domid: the domain that granted them.
 * @geom: the frame the buffer holds.
 * @flags: XZC_FROM_REFS_* bits.
 * @buf: out, the buffer; set only on success.
 *
 * Maps the grants and returns a GEM handle and a dma-buf of them: with v2
 * in one FROM_REFS2 call (DMABUF_FD), with v1 through DUMB_FROM_REFS and
 * DRM_IOCTL_PRIME_HANDLE_TO_FD. v1 knows only single-plane formats of 8,
 * 16, 24 or 32 bits per pixel whose lines follow each other without
 * padding from the buffer's first byte.
 *
 * Return: 0; -EOPNOTSUPP if the driver has only v1 and the call needs v2
 * (@flags, a format v1 cannot express, a pitch other than width * cpp,
 * a non-zero offset); -EINVAL for unknown @flags, a NULL @geom, or a
 * first pitch too small for @width; the driver's errors otherwise (see
 * <drm/xen_zcopy_drm.h>).
 */
int xzc_from_refs(struct xzc_dev *dev, const uint32_t *refs,
		  uint32_t num_refs, uint32_t domid,
		  const struct xzc_geometry *geom, unsigned int flags,
		  struct xzc_buffer *buf);

/* Grant the pages read-only (needs XZC_CAP_READ_ONLY). */
#define XZC_TO_REFS_READ_ONLY	(1U << 0)

/**
 * xzc_to_refs() - grant the pages of a dma-buf to a frontend
 * @dev: the device.
 * @dmabuf_fd: a dma-buf of another driver (the real display driver's
 *	buffer, for be-alloc).
 * @domid: the domain to grant the pages to.
 * @flags: XZC_TO_REFS_* bits.
 * @refs: out, @num_refs grant references, in page order.
 * @num_refs: the number of pages of the dma-buf (xzc_dmabuf_pages()).
 * @handle: out, the GEM handle of the import; set only on success.
 *
 * Imports @dmabuf_fd (DRM_IOCTL_PRIME_FD_TO_HANDLE) and grants its pages
 * (TO_REFS2, or DUMB_TO_REFS for a v1 driver). The grants last until the
 * GEM object is freed: close @handle with xzc_close_handle() once the
 * frontend no longer maps the pages. On failure the import is closed
 * again; since an import of a dma-buf already imported on this file
 * returns the same handle, do not call it for such a dma-buf.
 *
 * Return: 0; -EOPNOTSUPP for XZC_TO_REFS_READ_ONLY on a driver without
 * v2; -EINVAL for unknown @flags; the error of the import or of the
 * driver otherwise.
 */
int xzc_to_refs(struct xzc_dev *dev, int dmabuf_fd, uint32_t domid,
		unsigned int flags, uint32_t *refs, uint32_t num_refs,
		uint32_t *handle);

/**
 * xzc_dmabuf_pages() - the size of a dma-buf in pages
 * @dmabuf_fd: the dma-buf.
 *
 * Return: the number of pages (lseek() to its end, in the system's page
 * size), or a negative errno (-EINVAL if the size is not a whole number
 * of pages or over 2^31 pages).
 */
int64_t xzc_dmabuf_pages(int dmabuf_fd);

/**
 * xzc_close_handle() - close a GEM handle
 * @dev: the device.
 * @handle: a handle of xzc_from_refs() or xzc_to_refs().
 *
 * DRM_IOCTL_GEM_CLOSE. The buffer goes once nothing else holds it (its
 * dma-buf fds and importers); then the grants of xzc_from_refs() are
 * unmapped, those of xzc_to_refs() ended.
 *
 * Return: 0, or -EINVAL for an unknown handle.
 */
int xzc_close_handle(struct xzc_dev *dev, uint32_t handle);

/**
 * xzc_deadline_ms() - a deadline @ms milliseconds from now
 * @ms: milliseconds.
 *
 * Return: CLOCK_MONOTONIC now plus @ms, in nanoseconds, for
 * xzc_wait_free().
 */
int64_t xzc_deadline_ms(uint32_t ms);

/**
 * xzc_wait_free() - wait until a buffer made from refs is gone
 * @dev: the device.
 * @wait_handle: the buffer's wait handle (struct xzc_buffer).
 * @deadline_ns: CLOCK_MONOTONIC time in nanoseconds to give up at; a time
 *	already past polls.
 *
 * Returns once every GEM handle, dma-buf and importer let go of the buffer
 * and its grants are unmapped: the frontend may then reuse the pages.
 * Signals do not end the wait: an interrupted wait goes on until
 * @deadline_ns. Uses WAIT_FREE2, or DUMB_WAIT_FREE with the time left in
 * milliseconds for a v1 driver.
 *
 * Return: 0 once the buffer is gone; -ETIMEDOUT at the deadline; -ENOENT
 * for an unknown handle, one of another DRM file, or (v1 only, and v2
 * long after) a buffer already gone: a v1 backend that closed everything
 * before it waits takes -ENOENT as "freed".
 */
int xzc_wait_free(struct xzc_dev *dev, uint32_t wait_handle,
		  int64_t deadline_ns);

/**
 * xzc_wait_fd() - a pollable fd for a buffer's end
 * @dev: the device.
 * @wait_handle: the buffer's wait handle.
 *
 * The fd (O_CLOEXEC) polls readable once the buffer is gone, for a
 * backend's event loop; close() it.
 *
 * Return: the fd; -EOPNOTSUPP if the driver has no WAIT_FD
 * (XZC_CAP_WAIT_FD); -ENOENT as xzc_wait_free(); -EMFILE, -ENOMEM.
 */
int xzc_wait_fd(struct xzc_dev *dev, uint32_t wait_handle);

/**
 * xzc_strerror() - text for a result of this library
 * @err: a negative errno returned by a xzc_ function (or its absolute
 *	value).
 *
 * Explains the results that mean something particular here (for example
 * -EOPNOTSUPP: the driver's v1 interface cannot do it), and gives
 * strerror()'s text for the others.
 *
 * Return: a static string; never NULL.
 */
const char *xzc_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* XENZCOPY_H */
