// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: DUMB_TO_REFS, grants for the pages of a
 * buffer imported from the real display or GPU driver.
 *
 * The frames are taken from the DMA addresses of the exporter's table as
 * mapped for this device, never from sg_page(): an exporter may hand out
 * tables whose pages are not ours to look at. This device has no IOMMU:
 * when auto-translated a DMA address is the guest physical address Xen
 * knows the frame by; on x86 PV the device has DMA ops of its own whose
 * addresses are pseudo-physical, and the p2m gives each page's machine
 * frame (swiotlb-xen would bounce multi-page segments that are not
 * machine-contiguous, see xen_zcopy_pv_map.c).
 *
 * The grants end when the object is freed. If the frontend still maps a
 * page then, ending its grant fails; the attachment (and so the exporter's
 * pages) is kept until a retry succeeds, so the page is never freed or
 * reused under the frontend. While such grants are pending the module
 * holds a reference to itself and cannot be unloaded.
 */

#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>
#include <linux/uaccess.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>

#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "xen_zcopy_drm.h"
#include "xen_zcopy_drv.h"

/* How often ending deferred grants is retried. */
#define XEN_ZCOPY_DEFERRED_RETRY_MS	100

/**
 * struct xen_zcopy_deferred - grants of a freed buffer still mapped remotely
 * @node: entry in &xen_zcopy_device.deferred
 * @attach: the import attachment, keeping the exporter's pages alive
 * @sgt: the exporter's table mapped for @attach
 * @refs: the grants not ended yet, at the front of the array
 * @count: number of entries of @refs still to end
 * @domid: the domain that maps them
 */
struct xen_zcopy_deferred {
	struct list_head node;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	grant_ref_t *refs;
	unsigned int count;
	domid_t domid;
};

static void xen_zcopy_release_import(struct dma_buf_attachment *attach,
				     struct sg_table *sgt)
{
	struct dma_buf *dma_buf = attach->dmabuf;

	dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dma_buf, attach);
	dma_buf_put(dma_buf);
}

/*
 * Ends the grants of @refs that the other end no longer maps. The ones it
 * still maps are moved to the front; returns how many remain.
 */
static unsigned int xen_zcopy_end_grants(grant_ref_t *refs, unsigned int count)
{
	unsigned int i, busy = 0;

	for (i = 0; i < count; i++) {
		if (gnttab_try_end_foreign_access(refs[i]))
			continue;
		refs[busy++] = refs[i];
	}
	atomic_sub(count - busy, &xen_zcopy_stats.granted_refs);
	return busy;
}

static void xen_zcopy_deferred_work(struct work_struct *work)
{
	struct xen_zcopy_device *zdev =
		container_of(work, struct xen_zcopy_device, deferred_work.work);
	struct xen_zcopy_deferred *d, *tmp;
	unsigned int left;
	bool empty;

	mutex_lock(&zdev->deferred_lock);
	list_for_each_entry_safe(d, tmp, &zdev->deferred, node) {
		left = xen_zcopy_end_grants(d->refs, d->count);
		atomic_sub(d->count - left, &xen_zcopy_stats.deferred_refs);
		d->count = left;
		if (left)
			continue;

		list_del(&d->node);
		xen_zcopy_release_import(d->attach, d->sgt);
		kvfree(d->refs);
		kfree(d);
	}
	empty = list_empty(&zdev->deferred);
	if (!empty)
		schedule_delayed_work(&zdev->deferred_work,
				      msecs_to_jiffies(XEN_ZCOPY_DEFERRED_RETRY_MS));
	mutex_unlock(&zdev->deferred_lock);

	/* Taken when the list became non-empty; see xen_zcopy_deferred_fini(). */
	if (empty)
		module_put(THIS_MODULE);
}

void xen_zcopy_deferred_init(struct xen_zcopy_device *zdev)
{
	mutex_init(&zdev->deferred_lock);
	INIT_LIST_HEAD(&zdev->deferred);
	INIT_DELAYED_WORK(&zdev->deferred_work, xen_zcopy_deferred_work);
}

void xen_zcopy_deferred_fini(struct xen_zcopy_device *zdev)
{
	/*
	 * The module cannot be unloaded while grants are deferred, but the
	 * work that dropped the last module reference may still be running.
	 */
	cancel_delayed_work_sync(&zdev->deferred_work);
	WARN_ON(!list_empty(&zdev->deferred));
	mutex_destroy(&zdev->deferred_lock);
}

void xen_zcopy_to_refs_release(struct xen_zcopy_object *zobj)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(zobj->base.dev);
	struct dma_buf_attachment *attach = zobj->base.import_attach;
	struct xen_zcopy_deferred *d;
	unsigned int left = 0;

	if (zobj->grefs)
		left = xen_zcopy_end_grants(zobj->grefs, zobj->num_pages);
	if (!left) {
		xen_zcopy_release_import(attach, zobj->sgt);
		return;
	}

	xen_zcopy_ratelimited(dev_info, zdev->drm.dev,
			      "domain %u still maps %u of %u granted pages, ending access later\n",
			      zobj->otherend_id, left, zobj->num_pages);

	d = kzalloc(sizeof(*d), GFP_KERNEL | __GFP_NOFAIL);
	d->attach = attach;
	d->sgt = zobj->sgt;
	d->refs = zobj->grefs;
	d->count = left;
	d->domid = zobj->otherend_id;
	zobj->grefs = NULL;
	atomic_add(left, &xen_zcopy_stats.deferred_refs);

	mutex_lock(&zdev->deferred_lock);
	if (list_empty(&zdev->deferred))
		__module_get(THIS_MODULE);
	list_add_tail(&d->node, &zdev->deferred);
	schedule_delayed_work(&zdev->deferred_work,
			      msecs_to_jiffies(XEN_ZCOPY_DEFERRED_RETRY_MS));
	mutex_unlock(&zdev->deferred_lock);
}

/*
 * Takes back grants nobody was told of. Should a guessing domain map one
 * meanwhile, the grant table core defers ending it.
 */
static void xen_zcopy_revoke_unpublished(grant_ref_t *refs, unsigned int n)
{
	while (n--)
		gnttab_end_foreign_access(refs[n], NULL);
}

/*
 * The frame of the page at DMA address @addr of this device. On x86 PV our
 * own DMA ops give pseudo-physical addresses and the p2m gives the frame;
 * auto-translated domains see bus addresses of the frames themselves.
 */
static int xen_zcopy_dma_to_gfn(struct drm_device *drm, unsigned int page,
				dma_addr_t addr, unsigned long *gfn)
{
	phys_addr_t phys;

	if (!PAGE_ALIGNED(addr)) {
		xen_zcopy_bad_input(drm, "TO_REFS: cannot grant page %u: unaligned\n",
				    page);
		return -EINVAL;
	}

	if (xen_zcopy_needs_pv_maps()) {
		if (xen_zcopy_pv_dma_to_gfn(addr, gfn)) {
			xen_zcopy_bad_input(drm,
					    "TO_REFS: cannot grant page %u: not RAM of this domain\n",
					    page);
			return -EINVAL;
		}
		return 0;
	}

	phys = dma_to_phys(drm->dev, addr);
	/* Granting a bounce buffer would hide the real page. */
	if (is_swiotlb_buffer(drm->dev, phys)) {
		xen_zcopy_bad_input(drm, "TO_REFS: cannot grant page %u: bounced by swiotlb\n",
				    page);
		return -EIO;
	}
	*gfn = XEN_PFN_DOWN(phys);
	return 0;
}

/* Grants every page of the imported buffer to @domid, all or none. */
static int xen_zcopy_grant_pages(struct xen_zcopy_object *zobj, domid_t domid)
{
	struct drm_device *drm = zobj->base.dev;
	unsigned int n = zobj->num_pages, i = 0;
	struct sg_dma_page_iter iter;
	grant_ref_t head, *refs;
	unsigned long gfn;
	int ret;

	/*
	 * gnttab_alloc_grant_references() takes a u16 count: 65536 pages
	 * would reserve nothing and let the claims below run dry. No grant
	 * table of ours holds that many (nor more than its maximum size)
	 * anyway: -E2BIG says "never", -ENOSPC below says "not now".
	 */
	if (n > min_t(unsigned long, U16_MAX,
		      (unsigned long)gnttab_max_grant_frames() *
		      (XEN_PAGE_SIZE / sizeof(struct grant_entry_v1)))) {
		xen_zcopy_bad_input(drm, "TO_REFS: %u pages are more than the grant table holds\n",
				    n);
		return -E2BIG;
	}

	refs = kvcalloc(n, sizeof(*refs), GFP_KERNEL);
	if (!refs)
		return -ENOMEM;

	ret = gnttab_alloc_grant_references(n, &head);
	if (ret) {
		xen_zcopy_bad_input(drm, "TO_REFS: no %u free grant references\n", n);
		goto err_free;
	}

	for_each_sgtable_dma_page(zobj->sgt, &iter, 0) {
		if (i == n)
			break;
		ret = xen_zcopy_dma_to_gfn(drm, i, sg_page_iter_dma_address(&iter),
					   &gfn);
		if (ret)
			goto err_end;
		refs[i] = gnttab_claim_grant_reference(&head);
		gnttab_grant_foreign_access_ref(refs[i], domid, gfn, 0);
		i++;
	}
	if (i != n) {
		xen_zcopy_bad_input(drm, "TO_REFS: the exporter mapped %u of %u pages\n",
				    i, n);
		ret = -EINVAL;
		goto err_end;
	}

	gnttab_free_grant_references(head);
	zobj->grefs = refs;
	zobj->otherend_id = domid;
	atomic_add(n, &xen_zcopy_stats.granted_refs);
	return 0;

err_end:
	xen_zcopy_revoke_unpublished(refs, i);
	gnttab_free_grant_references(head);
err_free:
	kvfree(refs);
	return ret;
}

int xen_zcopy_to_refs_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct drm_xen_zcopy_dumb_to_refs *req = data;
	struct xen_zcopy_object *zobj;
	struct drm_gem_object *obj;
	bool fresh = false;
	int ret = 0;

	if (req->otherend_id >= DOMID_FIRST_RESERVED) {
		xen_zcopy_bad_input(drm, "TO_REFS: bad domain id %llu\n",
				    req->otherend_id);
		return -EINVAL;
	}

	obj = drm_gem_object_lookup(file, req->handle);
	if (!obj) {
		xen_zcopy_bad_input(drm, "TO_REFS: no buffer with handle %u\n",
				    req->handle);
		return -ENOENT;
	}
	zobj = to_xen_zcopy_obj(obj);

	if (zobj->kind != XEN_ZCOPY_IMPORTED) {
		xen_zcopy_bad_input(drm, "TO_REFS: handle %u is not an imported buffer\n",
				    req->handle);
		ret = -EINVAL;
		goto out_put;
	}
	if (req->num_grefs != zobj->num_pages) {
		xen_zcopy_bad_input(drm, "TO_REFS: %u refs for a buffer of %u pages\n",
				    req->num_grefs, zobj->num_pages);
		ret = -EINVAL;
		goto out_put;
	}

	mutex_lock(&zobj->lock);
	if (zobj->grefs) {
		if (zobj->otherend_id != req->otherend_id) {
			xen_zcopy_bad_input(drm, "TO_REFS: buffer already granted to domain %u\n",
					    zobj->otherend_id);
			ret = -EBUSY;
			goto out_unlock;
		}
	} else {
		ret = xen_zcopy_grant_pages(zobj, req->otherend_id);
		if (ret)
			goto out_unlock;
		fresh = true;
	}

	if (copy_to_user(u64_to_user_ptr((u64)(uintptr_t)req->grefs),
			 zobj->grefs,
			 array_size(zobj->num_pages, sizeof(*zobj->grefs)))) {
		xen_zcopy_bad_input(drm, "TO_REFS: cannot write the refs\n");
		ret = -EFAULT;
		if (fresh) {
			xen_zcopy_revoke_unpublished(zobj->grefs, zobj->num_pages);
			atomic_sub(zobj->num_pages, &xen_zcopy_stats.granted_refs);
			kvfree(zobj->grefs);
			zobj->grefs = NULL;
		}
	}

out_unlock:
	mutex_unlock(&zobj->lock);
out_put:
	drm_gem_object_put(obj);
	return ret;
}
