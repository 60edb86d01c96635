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
 * The v1 ioctls (0x00-0x02) are binary compatible with the xen-zcopy v1
 * proposal, so backends written for it work unchanged; 32-bit processes
 * may call them on a 64-bit kernel (their structures differ in size, so
 * their ioctl numbers do too). The v2 ioctls (0x03-0x07) carry no
 * pointers, have the same layout for 32- and 64-bit callers, reject
 * unknown flags and non-zero reserved fields with -EINVAL (so that they
 * can grow), and are announced by DRM_IOCTL_XEN_ZCOPY_GET_CAPS.
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

/* The v2 ioctls FROM_REFS2, TO_REFS2 and WAIT_FREE2 exist. */
#define DRM_XEN_ZCOPY_CAP_V2		(1ULL << 0)
/* DRM_IOCTL_XEN_ZCOPY_WAIT_FD exists. */
#define DRM_XEN_ZCOPY_CAP_WAIT_FD	(1ULL << 1)
/* DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY and DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY. */
#define DRM_XEN_ZCOPY_CAP_READ_ONLY	(1ULL << 2)
/* The v1 ioctls accept 32-bit callers. */
#define DRM_XEN_ZCOPY_CAP_COMPAT32	(1ULL << 3)
/* DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS works in this domain (not x86 PV). */
#define DRM_XEN_ZCOPY_CAP_CONTIGUOUS	(1ULL << 4)

/**
 * struct drm_xen_zcopy_get_caps - what this driver offers
 *
 * @caps: out, DRM_XEN_ZCOPY_CAP_* bits.
 * @max_pages: out, the largest buffer DUMB_FROM_REFS and FROM_REFS2 map
 *	now, in pages (the max_pages module parameter).
 * @flags: in, must be 0.
 * @reserved: in, must be 0.
 *
 * Any authenticated client may call it. Errors: -EINVAL for a non-zero
 * @flags or @reserved.
 */
struct drm_xen_zcopy_get_caps {
	__u64 caps;
	__u32 max_pages;
	__u32 flags;
	__u64 reserved[2];
};

/* Map the grants read-only (GNTMAP_readonly): the frontend may grant so. */
#define DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY	(1U << 0)
/* Also return a dma-buf of the buffer in @dmabuf_fd (O_CLOEXEC). */
#define DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD	(1U << 1)
/*
 * Map the grants at consecutive guest frames of a DMA-allocated range, for
 * importers that need one contiguous DMA segment (auto-translated domains
 * only, see DRM_XEN_ZCOPY_CAP_CONTIGUOUS).
 */
#define DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS	(1U << 2)

/**
 * struct drm_xen_zcopy_from_refs2 - a buffer from grant refs, v2
 *
 * @grefs: in, user address of @num_grefs grant references (__u32), in
 *	page order.
 * @num_grefs: in, number of references: the buffer's size in pages, at
 *	most the max_pages module parameter and the quotas.
 * @domid: in, the domain that granted the pages (below 0x7ff0).
 * @flags: in, DRM_XEN_ZCOPY_FROM_REFS2_* bits.
 * @fourcc: in, the DRM format (DRM_FORMAT_*) of the frame.
 * @width: in, width of the frame in pixels, 1 to 16384.
 * @height: in, height of the frame in pixels, 1 to 16384.
 * @pitches: in, bytes per line of each plane the format has; the others
 *	must be 0. At least what @width needs.
 * @offsets: in, byte offset of each plane's first pixel in the buffer;
 *	@offsets[0] is displif's data_ofs. Every plane must lie within the
 *	buffer; unused entries must be 0.
 * @size: out, the size of the buffer in bytes (@num_grefs pages).
 * @handle: out, GEM handle on the calling file.
 * @dmabuf_fd: out, a dma-buf fd of the buffer with
 *	DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD (read-only for a read-only
 *	buffer), else -1.
 * @wait_handle: out, for WAIT_FREE2, WAIT_FD and DUMB_WAIT_FREE.
 * @pad: must be 0.
 * @reserved: must be 0.
 *
 * A read-only buffer cannot be mapped for writing (-EACCES) and its
 * kernel mapping is read-only: give it only to importers that read it.
 *
 * With DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS the grants are mapped into one
 * range of consecutive guest frames that the driver takes from the DMA
 * allocator (and whose memory it gives back to Xen while the buffer
 * lives): an importer whose DMA addresses are guest addresses (a device
 * behind an IOMMU that uses the p2m, or a domain mapped 1:1) sees one
 * contiguous segment, as display drivers built on drm_gem_dma require.
 * The buffer counts against the same quotas and is freed as any other.
 * The driver checks the geometry so that the backend can pass it to
 * DRM_IOCTL_MODE_ADDFB2 as it is; it does not interpret the pixels.
 *
 * Errors: those of DUMB_FROM_REFS, and -EINVAL for unknown @flags,
 * non-zero @pad or @reserved, an unknown @fourcc, a @pitches entry too
 * small for @width, a plane beyond the buffer, or a non-zero entry of a
 * plane the format does not have; -EOPNOTSUPP for
 * DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS in an x86 PV domain, whose DMA
 * addresses are machine addresses that no guest-frame range makes
 * contiguous (checked after the frame, before the refs); -ENOMEM also when
 * no contiguous range of @num_grefs pages can be allocated.
 */
struct drm_xen_zcopy_from_refs2 {
	__u64 grefs;
	__u32 num_grefs;
	__u32 domid;
	__u32 flags;
	__u32 fourcc;
	__u32 width;
	__u32 height;
	__u32 pitches[4];
	__u32 offsets[4];
	__u64 size;
	__u32 handle;
	__s32 dmabuf_fd;
	__u32 wait_handle;
	__u32 pad;
	__u64 reserved[4];
};

/* Grant the pages read-only: the frontend can only read them. */
#define DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY	(1U << 0)

/**
 * struct drm_xen_zcopy_to_refs2 - grant an imported buffer's pages, v2
 *
 * @grefs: in, user address of an array of @num_grefs __u32 that the driver
 *	fills with the references, in page order.
 * @num_grefs: in, must equal the number of pages of the buffer.
 * @domid: in, the domain the pages are granted to (below 0x7ff0).
 * @handle: in, GEM handle of a buffer imported with
 *	DRM_IOCTL_PRIME_FD_TO_HANDLE from another driver's dma-buf.
 * @flags: in, DRM_XEN_ZCOPY_TO_REFS2_* bits.
 * @reserved: must be 0.
 *
 * As DUMB_TO_REFS; calling it again for the same buffer, domain and flags
 * returns the same references, other flags get -EBUSY.
 */
struct drm_xen_zcopy_to_refs2 {
	__u64 grefs;
	__u32 num_grefs;
	__u32 domid;
	__u32 handle;
	__u32 flags;
	__u64 reserved[2];
};

/* WAIT_FREE2 status: the buffer is gone and its grants are unmapped. */
#define DRM_XEN_ZCOPY_WAIT_FREED	1

/**
 * struct drm_xen_zcopy_wait_free2 - wait until a buffer is freed, v2
 *
 * @deadline_ns: in, CLOCK_MONOTONIC time in nanoseconds to give up at; a
 *	time already past polls.
 * @wait_handle: in, the wait handle of the buffer.
 * @flags: in, must be 0.
 * @status: out, DRM_XEN_ZCOPY_WAIT_FREED on success.
 * @pad: must be 0.
 * @reserved: must be 0.
 *
 * Returns 0 with @status DRM_XEN_ZCOPY_WAIT_FREED once the buffer is gone,
 * also when it went before the call: the driver remembers the most recent
 * 1024 freed buffers until a WAIT_FREE2 or WAIT_FD learns of them. The
 * handle is usable by the file that created the buffer and, once that file
 * is closed, by any caller with CAP_SYS_ADMIN: a restarted backend can
 * still wait for the buffers of its previous run before it answers
 * DBUF_DESTROY.
 *
 * Errors: -ENOENT for a handle that never existed, belongs to another
 * file that is still open, or was freed long ago (forgotten);
 * -ETIMEDOUT at @deadline_ns; -EINTR, or a transparent restart with the
 * same deadline for a handler with SA_RESTART, when a signal arrives;
 * -EINVAL for non-zero @flags, @pad or @reserved.
 */
struct drm_xen_zcopy_wait_free2 {
	__s64 deadline_ns;
	__u32 wait_handle;
	__u32 flags;
	__u32 status;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct drm_xen_zcopy_wait_fd - a pollable fd for a buffer's end
 *
 * @wait_handle: in, the wait handle of the buffer, usable as for WAIT_FREE2.
 * @flags: in, must be 0.
 * @fd: out, a file descriptor (O_CLOEXEC) that polls readable (POLLIN)
 *	once the buffer is freed and its grants are unmapped; read() of it
 *	then returns an 8-byte 1, and blocks before (or fails with -EAGAIN
 *	when opened non-blocking; use fcntl). The fd holds no reference to
 *	the buffer.
 * @reserved: must be 0.
 *
 * Errors: as WAIT_FREE2 for the handle; -EMFILE, -ENOMEM.
 */
struct drm_xen_zcopy_wait_fd {
	__u32 wait_handle;
	__u32 flags;
	__s32 fd;
	__u32 reserved[3];
};

#define DRM_XEN_ZCOPY_DUMB_FROM_REFS	0x00
#define DRM_XEN_ZCOPY_DUMB_TO_REFS	0x01
#define DRM_XEN_ZCOPY_DUMB_WAIT_FREE	0x02
#define DRM_XEN_ZCOPY_GET_CAPS		0x03
#define DRM_XEN_ZCOPY_FROM_REFS2	0x04
#define DRM_XEN_ZCOPY_TO_REFS2		0x05
#define DRM_XEN_ZCOPY_WAIT_FREE2	0x06
#define DRM_XEN_ZCOPY_WAIT_FD		0x07

#define DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_FROM_REFS, \
		 struct drm_xen_zcopy_dumb_from_refs)

#define DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_TO_REFS, \
		 struct drm_xen_zcopy_dumb_to_refs)

#define DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_WAIT_FREE, \
		 struct drm_xen_zcopy_dumb_wait_free)

#define DRM_IOCTL_XEN_ZCOPY_GET_CAPS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_GET_CAPS, \
		 struct drm_xen_zcopy_get_caps)

#define DRM_IOCTL_XEN_ZCOPY_FROM_REFS2 \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_FROM_REFS2, \
		 struct drm_xen_zcopy_from_refs2)

#define DRM_IOCTL_XEN_ZCOPY_TO_REFS2 \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_TO_REFS2, \
		 struct drm_xen_zcopy_to_refs2)

#define DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2 \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_WAIT_FREE2, \
		 struct drm_xen_zcopy_wait_free2)

#define DRM_IOCTL_XEN_ZCOPY_WAIT_FD \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_WAIT_FD, \
		 struct drm_xen_zcopy_wait_fd)

#if defined(__cplusplus)
}
#endif

#endif /* __XEN_ZCOPY_DRM_H */
