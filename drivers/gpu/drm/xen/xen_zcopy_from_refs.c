// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: DUMB_FROM_REFS, a dumb buffer made of a
 * frontend's grant references.
 *
 * The refs are mapped in one batch into ballooned pages (the mapping a
 * block or network backend would make), so the pages have struct pages,
 * DMA addresses (swiotlb-xen translates the foreign frames) and, on x86 PV,
 * a kernel linear address. The mapping lasts until the GEM object is freed,
 * that is until the backend closed its handle and every importer and
 * exported dma-buf let go.
 */

#include <linux/dma-mapping.h>
#include <linux/fdtable.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <drm/drm_file.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_print.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime.h>

#include <xen/features.h>
#include <xen/grant_table.h>
#include <xen/interface/grant_table.h>
#include <xen/mem-reservation.h>
#include <xen/page.h>

#include "xen_zcopy_drm.h"
#include "xen_zcopy_drv.h"

/* A frontend's grant that cannot be mapped: what the backend is told. */
static int xen_zcopy_map_failed(struct xen_zcopy_object *zobj,
				unsigned int page, int16_t status)
{
	xen_zcopy_bad_input(zobj->base.dev,
			    "FROM_REFS: cannot map ref %u (page %u) of domain %u: %d\n",
			    zobj->grefs[page], page, zobj->otherend_id, status);

	switch (status) {
	case GNTST_bad_domain:
		return -ESRCH;
	case GNTST_no_device_space:
	case GNTST_no_space:
		/* Our maptrack table (or an IOMMU) is full, for now. */
		return -ENOMEM;
	case GNTST_eagain:
		return -EAGAIN;
	default:
		/* Not granted to us, ended, read-only, or not a ref at all. */
		return -EINVAL;
	}
}

static unsigned long xen_zcopy_page_kaddr(struct page *page)
{
	return (unsigned long)pfn_to_kaddr(page_to_pfn(page));
}

/* Grants unmapped per hypercall batch; the ops live on the stack. */
#define XEN_ZCOPY_UNMAP_BATCH	32

/*
 * Gives pages back to the pool. Entries set to NULL are pages whose grant
 * could not be unmapped: they still show the other domain's frame and
 * must never be reused, so they are left out, leaked for good.
 */
static void xen_zcopy_free_pages(struct page **pages, unsigned int n)
{
	unsigned int i, keep = 0;

	for (i = 0; i < n; i++)
		if (pages[i])
			pages[keep++] = pages[i];
	gnttab_free_pages(keep, pages);
	memset(pages, 0, n * sizeof(*pages));
}

/*
 * CONTIGUOUS buffers. A display unit that scans out from one DMA address
 * (drm_gem_dma helpers) takes a buffer only if its DMA addresses follow
 * each other. In an auto-translated domain a device whose DMA addresses
 * are guest frames (an IOMMU that uses the p2m, such as R-Car's IPMMU, or
 * a domain mapped 1:1) sees that when the grants are mapped at consecutive
 * guest frames. Ballooned pages are wherever the balloon found them, so
 * the range comes from the DMA allocator and its frames are given back
 * to Xen to make room for the grants, as gntdev's DMA buffers do.
 *
 * An x86 PV domain cannot offer this: its DMA addresses are machine
 * addresses, and the frontend's frames are wherever Xen put them.
 */
bool xen_zcopy_can_contig(void)
{
	return xen_feature(XENFEAT_auto_translated_physmap);
}

/* Gives the frames of @zobj's range back to Xen; returns how many went. */
static int xen_zcopy_contig_release_frames(struct xen_zcopy_object *zobj)
{
	xenmem_reservation_va_mapping_reset(zobj->num_pages, zobj->pages);
	return xenmem_reservation_decrease(zobj->num_pages,
					   zobj->contig_frames);
}

/* Takes the first @count frames back from Xen; 0 or how many it did. */
static int xen_zcopy_contig_populate(struct xen_zcopy_object *zobj,
				     unsigned int count)
{
	int done;

	done = xenmem_reservation_increase(count, zobj->contig_frames);
	if (done != count)
		return done;
	xenmem_reservation_va_mapping_update(count, zobj->pages,
					     zobj->contig_frames);
	return 0;
}

static void xen_zcopy_contig_dma_free(struct xen_zcopy_object *zobj)
{
	unsigned int i;

	/* The grant code keeps the mapped ref in page->private. */
	for (i = 0; i < zobj->num_pages; i++)
		set_page_private(nth_page(zobj->contig_page, i), 0);
	dma_free_pages(zobj->base.dev->dev,
		       (size_t)zobj->num_pages << PAGE_SHIFT, zobj->contig_page,
		       zobj->contig_dma, DMA_BIDIRECTIONAL);
	zobj->contig_page = NULL;
}

static int xen_zcopy_contig_alloc(struct xen_zcopy_object *zobj)
{
	struct device *dev = zobj->base.dev->dev;
	unsigned int i, n = zobj->num_pages;
	size_t size = (size_t)n << PAGE_SHIFT;
	struct page *page;
	int done, ret;

	zobj->contig_frames = kvcalloc(n, sizeof(*zobj->contig_frames),
				       GFP_KERNEL);
	if (!zobj->contig_frames)
		return -ENOMEM;

	/* Zeroed by the allocator: no data of ours goes to Xen with it. */
	page = dma_alloc_pages(dev, size, &zobj->contig_dma, DMA_BIDIRECTIONAL,
			       GFP_KERNEL | __GFP_NOWARN);
	if (!page) {
		drm_dbg(zobj->base.dev,
			"FROM_REFS: no contiguous DMA range of %u pages\n", n);
		ret = -ENOMEM;
		goto err_frames;
	}
	zobj->contig_page = page;
	for (i = 0; i < n; i++) {
		zobj->pages[i] = nth_page(page, i);
		zobj->contig_frames[i] = xen_page_to_gfn(zobj->pages[i]);
	}
	/*
	 * The zeroing may still sit in the CPU's caches: written back now,
	 * nothing lands on the frames once they are Xen's again.
	 */
	dma_sync_single_for_device(dev, zobj->contig_dma, size,
				   DMA_BIDIRECTIONAL);

	done = xen_zcopy_contig_release_frames(zobj);
	if (done != n) {
		drm_err(zobj->base.dev,
			"cannot give %u frames back to Xen (%d done)\n", n, done);
		ret = -ENOMEM;
		/* A range with frames missing is not the allocator's again. */
		if (done > 0 && xen_zcopy_contig_populate(zobj, done)) {
			drm_err(zobj->base.dev,
				"cannot repopulate a DMA range: %u pages leaked\n",
				n);
			atomic_add(n, &xen_zcopy_stats.leaked_pages);
			goto err_leak;
		}
		goto err_dma;
	}

	ret = gnttab_pages_set_private(n, zobj->pages);
	if (ret)
		goto err_populate;

	atomic_add(n, &xen_zcopy_stats.contig_pages);
	return 0;

err_populate:
	if (xen_zcopy_contig_populate(zobj, n)) {
		drm_err(zobj->base.dev,
			"cannot repopulate a DMA range: %u pages leaked\n", n);
		atomic_add(n, &xen_zcopy_stats.leaked_pages);
		goto err_leak;
	}
err_dma:
	xen_zcopy_contig_dma_free(zobj);
err_leak:
	memset(zobj->pages, 0, n * sizeof(*zobj->pages));
err_frames:
	kvfree(zobj->contig_frames);
	zobj->contig_frames = NULL;
	return ret;
}

/*
 * Gives the range back: its frames to us again, then the pages to the DMA
 * allocator. @zobj->pages may be in another order than the range (a
 * failed map moves the mapped pages to the front). A page whose grant
 * could not be unmapped (NULL) still shows another domain's frame, and
 * the range is freed only whole: it is all leaked then.
 */
static void xen_zcopy_contig_free(struct xen_zcopy_object *zobj)
{
	unsigned int i, n = zobj->num_pages, stuck = 0;

	for (i = 0; i < n; i++)
		if (!zobj->pages[i])
			stuck++;
	atomic_sub(n, &xen_zcopy_stats.contig_pages);
	if (stuck) {
		/* xen_zcopy_unmap_refs() counted the stuck pages already. */
		drm_err(zobj->base.dev,
			"contiguous buffer of %u pages leaked: %u grants stay mapped\n",
			n, stuck);
		atomic_add(n - stuck, &xen_zcopy_stats.leaked_pages);
		goto out;
	}

	gnttab_pages_clear_private(n, zobj->pages);
	if (xen_zcopy_contig_populate(zobj, n)) {
		drm_err(zobj->base.dev,
			"cannot repopulate a DMA range: %u pages leaked\n", n);
		atomic_add(n, &xen_zcopy_stats.leaked_pages);
		goto out;
	}
	xen_zcopy_contig_dma_free(zobj);
out:
	memset(zobj->pages, 0, n * sizeof(*zobj->pages));
	kvfree(zobj->contig_frames);
	zobj->contig_frames = NULL;
}

static int xen_zcopy_alloc_map_pages(struct xen_zcopy_object *zobj)
{
	if (zobj->contiguous)
		return xen_zcopy_contig_alloc(zobj);
	return gnttab_alloc_pages(zobj->num_pages, zobj->pages);
}

static void xen_zcopy_free_map_pages(struct xen_zcopy_object *zobj)
{
	if (zobj->contiguous)
		xen_zcopy_contig_free(zobj);
	else
		xen_zcopy_free_pages(zobj->pages, zobj->num_pages);
}

/*
 * Unmaps the first @count pages of @zobj, whose grants are all mapped.
 * Works in small batches so that teardown never has to allocate. A page
 * whose unmap failed is taken out of @zobj->pages (see
 * xen_zcopy_free_pages()).
 */
static void xen_zcopy_unmap_refs(struct xen_zcopy_object *zobj,
				 unsigned int count)
{
	struct gnttab_unmap_grant_ref unmap_ops[XEN_ZCOPY_UNMAP_BATCH];
	struct gntab_unmap_queue_data *unmap_data = &zobj->unmap_data;
	unsigned int done, i, batch, leaked = 0;
	int ret;

	for (done = 0; done < count; done += batch) {
		batch = min_t(unsigned int, count - done, XEN_ZCOPY_UNMAP_BATCH);
		for (i = 0; i < batch; i++) {
			gnttab_set_unmap_op(&unmap_ops[i],
					    xen_zcopy_page_kaddr(zobj->pages[done + i]),
					    xen_zcopy_map_flags(zobj),
					    zobj->map_handles[done + i]);
			/* Stays so if the hypercall does not run at all. */
			unmap_ops[i].status = GNTST_general_error;
		}

		/* Waits until nobody holds a reference to the pages. */
		memset(unmap_data, 0, sizeof(*unmap_data));
		unmap_data->unmap_ops = unmap_ops;
		unmap_data->pages = &zobj->pages[done];
		unmap_data->count = batch;
		ret = gnttab_unmap_refs_sync(unmap_data);

		for (i = 0; i < batch; i++) {
			/* Test hook: as if Xen had refused this op. */
			if (xen_zcopy_fault(&xen_zcopy_faults.unmap))
				unmap_ops[i].status = GNTST_general_error;
			if (!ret && unmap_ops[i].status == GNTST_okay)
				continue;
			drm_err_ratelimited(zobj->base.dev,
					    "cannot unmap ref %u of domain %u (%d, status %d): page leaked\n",
					    zobj->grefs[done + i],
					    zobj->otherend_id, ret,
					    unmap_ops[i].status);
			zobj->pages[done + i] = NULL;
			leaked++;
		}
	}

	atomic_sub(count, &xen_zcopy_stats.mapped_grants);
	atomic_add(leaked, &xen_zcopy_stats.leaked_pages);
}

/* Maps all refs of @zobj or none: a failure unwinds what was mapped. */
static int xen_zcopy_map_refs(struct xen_zcopy_object *zobj)
{
	struct drm_device *drm = zobj->base.dev;
	unsigned int n = zobj->num_pages, i, ok = 0;
	struct gnttab_map_grant_ref *map_ops;
	int ret, first_err = 0;

	ret = xen_zcopy_alloc_map_pages(zobj);
	if (ret)
		return ret;

	map_ops = kvcalloc(n, sizeof(*map_ops), GFP_KERNEL);
	if (!map_ops) {
		ret = -ENOMEM;
		goto err_free_pages;
	}

	for (i = 0; i < n; i++) {
		gnttab_set_map_op(&map_ops[i],
				  xen_zcopy_page_kaddr(zobj->pages[i]),
				  xen_zcopy_map_flags(zobj), zobj->grefs[i],
				  zobj->otherend_id);
		/* Test hook: without a mapping flag Xen refuses the op. */
		if (xen_zcopy_fault(&xen_zcopy_faults.map))
			map_ops[i].flags = 0;
	}

	ret = gnttab_map_refs(map_ops, NULL, zobj->pages, n);
	if (ret) {
		/* The hypercall itself failed: nothing is mapped. */
		drm_err(drm, "grant map hypercall failed: %d\n", ret);
		goto err_free_ops;
	}
	/* ... and reports it as a full maptrack table would. */
	for (i = 0; i < n; i++)
		if (!map_ops[i].flags && map_ops[i].status != GNTST_okay)
			map_ops[i].status = GNTST_no_space;

	/*
	 * Keep the mapped pages at the front so that one unmap call undoes
	 * them; the failed slots hold no mapping.
	 */
	for (i = 0; i < n; i++) {
		if (map_ops[i].status == GNTST_okay) {
			zobj->map_handles[ok] = map_ops[i].handle;
			swap(zobj->pages[ok], zobj->pages[i]);
			ok++;
		} else if (!first_err) {
			first_err = xen_zcopy_map_failed(zobj, i,
							 map_ops[i].status);
		}
	}
	atomic_add(ok, &xen_zcopy_stats.mapped_grants);

	if (first_err) {
		xen_zcopy_unmap_refs(zobj, ok);
		ret = first_err;
		goto err_free_ops;
	}

	kvfree(map_ops);
	zobj->mapped = true;
	return 0;

err_free_ops:
	kvfree(map_ops);
err_free_pages:
	xen_zcopy_free_map_pages(zobj);
	return ret;
}

/*
 * The kernel mapping of the whole buffer, made once with the buffer: on
 * x86 PV from grant PTE maps (see xen_zcopy_pv_map.c), elsewhere a vmap()
 * of the pages.
 */
static int xen_zcopy_kmap(struct xen_zcopy_object *zobj)
{
	struct xen_zcopy_pv_kmap *kmap;

	if (xen_zcopy_needs_pv_maps()) {
		kmap = xen_zcopy_pv_kmap(zobj, &zobj->vaddr);
		if (IS_ERR(kmap))
			return PTR_ERR(kmap);
		zobj->pv_kmap = kmap;
		return 0;
	}

	zobj->vaddr = vmap(zobj->pages, zobj->num_pages, VM_MAP,
			   zobj->readonly ? PAGE_KERNEL_RO : PAGE_KERNEL);
	return zobj->vaddr ? 0 : -ENOMEM;
}

static void xen_zcopy_kunmap(struct xen_zcopy_object *zobj)
{
	if (zobj->pv_kmap)
		xen_zcopy_pv_kunmap(zobj->pv_kmap);
	else if (zobj->vaddr)
		vunmap(zobj->vaddr);
	zobj->pv_kmap = NULL;
	zobj->vaddr = NULL;
}

void xen_zcopy_from_refs_release(struct xen_zcopy_object *zobj)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(zobj->base.dev);

	xen_zcopy_kunmap(zobj);
	if (zobj->mapped) {
		xen_zcopy_unmap_refs(zobj, zobj->num_pages);
		xen_zcopy_free_map_pages(zobj);
		zobj->mapped = false;
	}
	if (zobj->charged)
		xen_zcopy_uncharge_map(zdev, zobj->otherend_id,
				       zobj->num_pages);

	/* Only now is the buffer really gone for the frontend. */
	if (zobj->wait)
		xen_zcopy_wait_signal(zdev, zobj->wait);
}

/*
 * Checks the geometry with overflow-safe math. Returns the number of pages
 * the buffer needs, or 0 if the geometry is invalid.
 */
static unsigned int xen_zcopy_dumb_pages(struct drm_mode_create_dumb *dumb)
{
	u32 pitch;
	u64 size;

	if (dumb->flags || !dumb->width || !dumb->height ||
	    dumb->width > XEN_ZCOPY_MAX_DIM || dumb->height > XEN_ZCOPY_MAX_DIM)
		return 0;

	switch (dumb->bpp) {
	case 8:
	case 16:
	case 24:
	case 32:
		break;
	default:
		return 0;
	}

	if (check_mul_overflow(dumb->width, dumb->bpp / 8, &pitch) ||
	    check_mul_overflow((u64)pitch, (u64)dumb->height, &size))
		return 0;

	dumb->pitch = pitch;
	return DIV_ROUND_UP_ULL(size, PAGE_SIZE);
}

/* What a DUMB_FROM_REFS or FROM_REFS2 call asks for, once checked. */
struct xen_zcopy_from_refs_req {
	u64 grefs;
	u32 num_grefs;
	u32 min_pages;
	u64 domid;
	bool readonly;
	bool contiguous;
};

/*
 * Maps the refs of @r into a new buffer with a handle on @file; fills
 * @handle, @wait_handle and @size. Checks what the geometry does not:
 * the number of refs and the domain id, then the quotas before anything
 * is allocated.
 */
static int xen_zcopy_from_refs(struct drm_device *drm, struct drm_file *file,
			       const struct xen_zcopy_from_refs_req *r,
			       u32 *handle, u32 *wait_handle, u64 *size)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(drm);
	unsigned int max_pages = READ_ONCE(xen_zcopy_max_pages);
	struct xen_zcopy_object *zobj;
	struct xen_zcopy_wait *wait;
	int ret;

	if (r->num_grefs > max_pages) {
		xen_zcopy_bad_input(drm, "FROM_REFS: %u refs, the limit is max_pages=%u\n",
				    r->num_grefs, max_pages);
		return -E2BIG;
	}
	if (r->num_grefs < r->min_pages) {
		xen_zcopy_bad_input(drm, "FROM_REFS: %u refs for a frame that needs %u\n",
				    r->num_grefs, r->min_pages);
		return -EINVAL;
	}
	if (r->domid >= DOMID_FIRST_RESERVED) {
		xen_zcopy_bad_input(drm, "FROM_REFS: bad domain id %llu\n",
				    r->domid);
		return -EINVAL;
	}

	ret = xen_zcopy_charge_map(zdev, r->domid, r->num_grefs);
	if (ret)
		return ret;

	zobj = xen_zcopy_object_create(drm, XEN_ZCOPY_FROM_REFS, r->num_grefs);
	if (IS_ERR(zobj)) {
		xen_zcopy_uncharge_map(zdev, r->domid, r->num_grefs);
		return PTR_ERR(zobj);
	}
	zobj->otherend_id = r->domid;
	zobj->charged = true;
	zobj->readonly = r->readonly;
	zobj->contiguous = r->contiguous;

	if (copy_from_user(zobj->grefs, u64_to_user_ptr(r->grefs),
			   array_size(r->num_grefs, sizeof(*zobj->grefs)))) {
		xen_zcopy_bad_input(drm, "FROM_REFS: cannot read the refs\n");
		ret = -EFAULT;
		goto out_put;
	}

	ret = xen_zcopy_map_refs(zobj);
	if (ret)
		goto out_put;

	ret = xen_zcopy_kmap(zobj);
	if (ret) {
		drm_dbg(drm, "FROM_REFS: no kernel mapping of %u pages: %d\n",
			zobj->num_pages, ret);
		goto out_put;
	}

	wait = xen_zcopy_wait_create(zdev, file);
	if (IS_ERR(wait)) {
		ret = PTR_ERR(wait);
		goto out_put;
	}
	zobj->wait = wait;

	ret = drm_gem_handle_create(file, &zobj->base, handle);
	if (ret)
		goto out_put;

	*size = zobj->base.size;
	*wait_handle = wait->id;

out_put:
	/* On success the handle holds the object; on failure this frees it. */
	drm_gem_object_put(&zobj->base);
	return ret;
}

int xen_zcopy_from_refs_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_xen_zcopy_dumb_from_refs *req = data;
	struct drm_mode_create_dumb *dumb = &req->dumb;
	struct xen_zcopy_from_refs_req r = {
		/* The v1 ABI carries a plain pointer: take it as a user address. */
		.grefs = (u64)(uintptr_t)req->grefs,
		.num_grefs = req->num_grefs,
		.domid = req->otherend_id,
	};

	r.min_pages = xen_zcopy_dumb_pages(dumb);
	if (!r.min_pages) {
		xen_zcopy_bad_input(drm, "FROM_REFS: bad geometry %ux%u bpp %u flags 0x%x\n",
				    dumb->width, dumb->height, dumb->bpp,
				    dumb->flags);
		return -EINVAL;
	}
	return xen_zcopy_from_refs(drm, file, &r, &dumb->handle,
				   &req->wait_handle, &dumb->size);
}

/*
 * Formats FROM_REFS2 takes: what displif defines, and the usual YUV
 * layouts. drm_format_info() WARNs on a format it does not know, so a
 * caller's fourcc must be one of these before it is asked.
 */
static const u32 xen_zcopy_formats[] = {
	DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888, DRM_FORMAT_RGB888, DRM_FORMAT_BGR888,
	DRM_FORMAT_RGB565, DRM_FORMAT_XRGB4444, DRM_FORMAT_ARGB4444,
	DRM_FORMAT_XRGB1555, DRM_FORMAT_ARGB1555, DRM_FORMAT_XRGB2101010,
	DRM_FORMAT_ARGB2101010, DRM_FORMAT_YUYV, DRM_FORMAT_YVYU,
	DRM_FORMAT_UYVY, DRM_FORMAT_VYUY, DRM_FORMAT_NV12, DRM_FORMAT_NV21,
	DRM_FORMAT_NV16, DRM_FORMAT_NV61, DRM_FORMAT_YUV420,
	DRM_FORMAT_YVU420,
};

/*
 * Checks a FROM_REFS2 frame and returns the bytes its planes reach into
 * the buffer, or 0 if it is invalid. Overflow-safe: 64-bit sums of 32-bit
 * values.
 */
static u64 xen_zcopy_frame_bytes(const struct drm_xen_zcopy_from_refs2 *req)
{
	const struct drm_format_info *info = NULL;
	u64 end, min_pitch, bytes = 0;
	unsigned int i;
	int w, h;

	for (i = 0; i < ARRAY_SIZE(xen_zcopy_formats); i++)
		if (req->fourcc == xen_zcopy_formats[i])
			info = drm_format_info(req->fourcc);
	if (!info || !req->width || !req->height ||
	    req->width > XEN_ZCOPY_MAX_DIM || req->height > XEN_ZCOPY_MAX_DIM)
		return 0;

	for (i = 0; i < ARRAY_SIZE(req->pitches); i++) {
		if (i >= info->num_planes) {
			if (req->pitches[i] || req->offsets[i])
				return 0;
			continue;
		}
		w = drm_format_info_plane_width(info, req->width, i);
		min_pitch = drm_format_info_min_pitch(info, i, w);
		if (req->pitches[i] < min_pitch)
			return 0;
		h = drm_format_info_plane_height(info, req->height, i);
		end = req->offsets[i] + (u64)req->pitches[i] * (h - 1) +
		      min_pitch;
		bytes = max(bytes, end);
	}
	return bytes;
}

int xen_zcopy_from_refs2_ioctl(struct drm_device *drm, void *data,
			       struct drm_file *file)
{
	struct drm_xen_zcopy_from_refs2 *req = data;
	struct xen_zcopy_from_refs_req r = {
		.grefs = req->grefs,
		.num_grefs = req->num_grefs,
		.domid = req->domid,
		.readonly = req->flags & DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY,
		.contiguous = req->flags & DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS,
	};
	u64 bytes;
	int ret;

	if (req->flags & ~(DRM_XEN_ZCOPY_FROM_REFS2_READ_ONLY |
			   DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD |
			   DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS) ||
	    req->pad || memchr_inv(req->reserved, 0, sizeof(req->reserved))) {
		xen_zcopy_bad_input(drm, "FROM_REFS2: unknown flags 0x%x or reserved fields set\n",
				    req->flags);
		return -EINVAL;
	}
	bytes = xen_zcopy_frame_bytes(req);
	if (!bytes) {
		xen_zcopy_bad_input(drm, "FROM_REFS2: bad frame %ux%u %p4cc pitch %u ofs %u\n",
				    req->width, req->height, &req->fourcc,
				    req->pitches[0], req->offsets[0]);
		return -EINVAL;
	}
	r.min_pages = min_t(u64, DIV_ROUND_UP_ULL(bytes, PAGE_SIZE), U32_MAX);
	if (r.contiguous && !xen_zcopy_can_contig()) {
		xen_zcopy_bad_input(drm, "FROM_REFS2: no contiguous buffers in a PV domain\n");
		return -EOPNOTSUPP;
	}

	ret = xen_zcopy_from_refs(drm, file, &r, &req->handle,
				  &req->wait_handle, &req->size);
	if (ret)
		return ret;

	req->dmabuf_fd = -1;
	if (req->flags & DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD) {
		ret = drm_gem_prime_handle_to_fd(drm, file, req->handle,
						 O_CLOEXEC | (r.readonly ?
							      O_RDONLY : O_RDWR),
						 &req->dmabuf_fd);
		if (ret) {
			drm_gem_handle_delete(file, req->handle);
			req->dmabuf_fd = -1;
		}
	}
	return ret;
}

void xen_zcopy_from_refs2_undo(struct drm_file *file, void *data)
{
	struct drm_xen_zcopy_from_refs2 *req = data;

	if (req->dmabuf_fd >= 0)
		close_fd(req->dmabuf_fd);
	drm_gem_handle_delete(file, req->handle);
}
