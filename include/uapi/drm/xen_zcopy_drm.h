/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Xen zero-copy helper DRM driver (xen_drm_zcopy): user-space interface.
 *
 * The driver lets a para-virtual display backend in a privileged Xen domain
 * hand a frontend's buffers to a real display driver without copying:
 *
 * - DUMB_FROM_REFS maps the frontend's grant references and wraps them in a
 *   dumb GEM object that the backend exports with DRM_IOCTL_PRIME_HANDLE_TO_FD;
 * - DUMB_TO_REFS grants the pages of a PRIME buffer imported with
 *   DRM_IOCTL_PRIME_FD_TO_HANDLE (allocated by the real display driver) to
 *   the frontend's domain;
 * - DUMB_WAIT_FREE waits until a buffer made by DUMB_FROM_REFS is gone and
 *   its grants are unmapped.
 *
 * The layout is binary compatible with the xen-zcopy v1 proposal, so
 * backends written for it work unchanged.
 */

#ifndef __XEN_ZCOPY_DRM_H
#define __XEN_ZCOPY_DRM_H

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/** XENDRM_ZCOPY_DRIVER_NAME: name reported by DRM_IOCTL_VERSION. */
#define XENDRM_ZCOPY_DRIVER_NAME	"xen_drm_zcopy"

/**
 * struct drm_xen_zcopy_dumb_from_refs - create a dumb buffer from grant refs
 *
 * @num_grefs: in, number of grant references in @grefs; at least enough
 *	pages for @dumb.size, at most the module's max_pages limit.
 * @grefs: in, user pointer to @num_grefs grant references, in page order.
 * @otherend_id: in, domain id of the domain that granted the pages.
 * @dumb: in: @dumb.width, @dumb.height, @dumb.bpp (a multiple of 8, at
 *	most 32), @dumb.flags must be 0; out: @dumb.handle (GEM handle on the
 *	calling file), @dumb.pitch (width * bpp / 8, no padding) and
 *	@dumb.size (@num_grefs pages, the size of the GEM object).
 * @wait_handle: out, handle for DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE. Handles
 *	are allocated cyclically and are not reused soon after a buffer is
 *	freed, so a stale handle gets -ENOENT rather than another buffer.
 *
 * Errors, checked in this order (a failed call maps and keeps nothing):
 * -EINVAL for a bad geometry (width or height 0 or above 16384, bpp not
 * 8, 16, 24 or 32, flags set); -E2BIG for @num_grefs above max_pages;
 * -EINVAL for fewer refs than the geometry needs or a reserved
 * @otherend_id (DOMID_FIRST_RESERVED and above, DOMID_SELF included);
 * -EFAULT if @grefs cannot be read; -ESRCH if domain @otherend_id does
 * not exist; -EINVAL if any ref cannot be mapped (not a ref, not granted
 * to this domain, granted read-only, access ended); -ENOMEM, or -EAGAIN
 * if Xen asks to retry. -EACCES for a client that is not authenticated.
 */
struct drm_xen_zcopy_dumb_from_refs {
	__u32 num_grefs;
	/* user-space pointer to grant references of length num_grefs */
	__u32 *grefs;
	__u64 otherend_id;
	struct drm_mode_create_dumb dumb;
	__u32 wait_handle;
};

/**
 * struct drm_xen_zcopy_dumb_to_refs - grant the pages of an imported buffer
 *
 * @num_grefs: in, number of entries in @grefs; must equal the number of
 *	pages of the buffer.
 * @grefs: in, user pointer to an array of @num_grefs grant references that
 *	the driver fills, in page order.
 * @otherend_id: in, domain id of the domain the pages are granted to.
 * @handle: in, GEM handle of a buffer imported into this device with
 *	DRM_IOCTL_PRIME_FD_TO_HANDLE from another driver's dma-buf.
 *
 * The grants last until the GEM object is freed. Calling it again for the
 * same buffer and domain returns the same references.
 *
 * Errors: -EINVAL for a reserved @otherend_id, for a buffer that was not
 * imported from another driver (DUMB_FROM_REFS buffers included) or a
 * @num_grefs other than its number of pages; -ENOENT for an unknown
 * @handle; -EBUSY if the buffer is already granted to another domain;
 * -EFAULT if @grefs cannot be written (grants made by this call are
 * revoked, earlier ones kept); -EIO if the exporter's pages reach this
 * device only through swiotlb bounce buffers; -E2BIG for a buffer larger
 * than this domain's grant table can ever hold (or over 65535 pages);
 * -ENOSPC or -ENOMEM when out of grant references or memory for now;
 * -EACCES for a client that is not
 * authenticated.
 * Whether domain @otherend_id exists is not checked.
 */
struct drm_xen_zcopy_dumb_to_refs {
	__u32 num_grefs;
	/* user-space pointer to grant references of length num_grefs */
	__u32 *grefs;
	__u64 otherend_id;
	__u32 handle;
};

/**
 * struct drm_xen_zcopy_dumb_wait_free - wait until a buffer is freed
 *
 * @wait_handle: in, the handle DUMB_FROM_REFS returned.
 * @wait_to_ms: in, timeout in milliseconds.
 *
 * Returns 0 once the buffer is gone: every GEM handle closed, every exported
 * dma-buf released by all importers, and every grant unmapped. Fails with
 * -ETIMEDOUT after @wait_to_ms (0 polls), with -ENOENT for an unknown or
 * already freed handle or one of another DRM file (a handle goes with the
 * file that created the buffer), with -EACCES for a client that is not
 * authenticated, and with -EINTR when a
 * signal arrives first. An interrupted wait is never restarted, even for a
 * handler installed with SA_RESTART (a restart would wait the whole
 * @wait_to_ms again): call again to wait on. A close() of the DRM fd by
 * another thread does not end a wait on it: the file, and the GEM handles
 * it holds, are released only once the wait has returned.
 */
struct drm_xen_zcopy_dumb_wait_free {
	__u32 wait_handle;
	__u32 wait_to_ms;
};

#define DRM_XEN_ZCOPY_DUMB_FROM_REFS	0x00
#define DRM_XEN_ZCOPY_DUMB_TO_REFS	0x01
#define DRM_XEN_ZCOPY_DUMB_WAIT_FREE	0x02

#define DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_FROM_REFS, \
		 struct drm_xen_zcopy_dumb_from_refs)

#define DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_TO_REFS, \
		 struct drm_xen_zcopy_dumb_to_refs)

#define DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_WAIT_FREE, \
		 struct drm_xen_zcopy_dumb_wait_free)

#if defined(__cplusplus)
}
#endif

#endif /* __XEN_ZCOPY_DRM_H */
