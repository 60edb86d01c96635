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

/*
 * How often ending deferred grants is retried: soon at first, then less
 * and less often while the other end keeps them mapped.
 */
#define XEN_ZCOPY_DEFERRED_RETRY_MS	100
#define XEN_ZCOPY_DEFERRED_RETRY_MAX_MS	10000

/**
 * struct xen_zcopy_deferred - grants still mapped remotely when they were
 *	to end, and what keeps their pages alive until they do
 * @node: entry in &xen_zcopy_device.deferred
 * @obj: grants a call could not hand out: a reference to the object, whose
 *	import holds the pages
 * @attach: grants of a freed object: the import attachment itself
 * @sgt: the exporter's table mapped for @attach
 * @refs: the grants not ended yet, at the front of the array
 * @count: number of entries of @refs still to end
 * @domid: the domain that maps them
 * @dma_buf: the granted dma-buf, its key in &xen_zcopy_device.granted
 * @since: jiffies when the grants were to end
 */
struct xen_zcopy_deferred {
	struct list_head node;
	struct drm_gem_object *obj;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	grant_ref_t *refs;
	unsigned int count;
	domid_t domid;
	struct dma_buf *dma_buf;
	unsigned long since;
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
 * Ends the grants of @refs that @domid no longer maps and gives them back
 * to its quota. The ones it still maps are moved to the front; returns
 * how many remain.
 */
static unsigned int xen_zcopy_end_grants(struct xen_zcopy_device *zdev,
					 domid_t domid, grant_ref_t *refs,
					 unsigned int count)
{
	unsigned int i, busy = 0;

	for (i = 0; i < count; i++) {
		if (gnttab_try_end_foreign_access(refs[i]))
			continue;
		refs[busy++] = refs[i];
	}
	atomic_sub(count - busy, &xen_zcopy_stats.granted_refs);
	xen_zcopy_uncharge_grant(zdev, domid, count - busy);
	return busy;
}

/* Everything a deferred entry kept alive goes; its grants have ended. */
static void xen_zcopy_deferred_free(struct xen_zcopy_device *zdev,
				    struct xen_zcopy_deferred *d)
{
	xa_erase(&zdev->granted, (unsigned long)d->dma_buf);
	if (d->obj)
		drm_gem_object_put(d->obj);
	else
		xen_zcopy_release_import(d->attach, d->sgt);
	kvfree(d->refs);
	kfree(d);
}

static void xen_zcopy_deferred_work(struct work_struct *work)
{
	struct xen_zcopy_device *zdev =
		container_of(work, struct xen_zcopy_device, deferred_work.work);
	struct xen_zcopy_deferred *d, *tmp;
	unsigned int left, ended = 0;
	LIST_HEAD(done);
	bool empty;

	mutex_lock(&zdev->deferred_lock);
	list_for_each_entry_safe(d, tmp, &zdev->deferred, node) {
		left = xen_zcopy_end_grants(zdev, d->domid, d->refs, d->count);
		xen_zcopy_charge_deferred(zdev, d->domid,
					  -(long)(d->count - left));
		ended += d->count - left;
		d->count = left;
		if (!left)
			list_move_tail(&d->node, &done);
	}
	empty = list_empty(&zdev->deferred);
	if (ended)
		zdev->deferred_delay_ms = XEN_ZCOPY_DEFERRED_RETRY_MS;
	else
		zdev->deferred_delay_ms = min(zdev->deferred_delay_ms * 2,
					      XEN_ZCOPY_DEFERRED_RETRY_MAX_MS);
	if (!empty)
		schedule_delayed_work(&zdev->deferred_work,
				      msecs_to_jiffies(zdev->deferred_delay_ms));
	mutex_unlock(&zdev->deferred_lock);

	/* Outside the lock: the last put of an object takes it again. */
	list_for_each_entry_safe(d, tmp, &done, node)
		xen_zcopy_deferred_free(zdev, d);

	/* Taken when the list became non-empty; see xen_zcopy_deferred_fini(). */
	if (empty)
		module_put(THIS_MODULE);
}

void xen_zcopy_deferred_init(struct xen_zcopy_device *zdev)
{
	mutex_init(&zdev->deferred_lock);
	INIT_LIST_HEAD(&zdev->deferred);
	INIT_DELAYED_WORK(&zdev->deferred_work, xen_zcopy_deferred_work);
	zdev->deferred_delay_ms = XEN_ZCOPY_DEFERRED_RETRY_MS;
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

void xen_zcopy_deferred_show(struct xen_zcopy_device *zdev, struct seq_file *m)
{
	struct xen_zcopy_deferred *d;

	mutex_lock(&zdev->deferred_lock);
	list_for_each_entry(d, &zdev->deferred, node)
		seq_printf(m, "deferred domain %u refs %u for %u s%s\n", d->domid,
			   d->count, jiffies_to_msecs(jiffies - d->since) / 1000,
			   d->obj ? " (of a live buffer)" : "");
	seq_printf(m, "deferred retry %u ms\n", zdev->deferred_delay_ms);
	mutex_unlock(&zdev->deferred_lock);
}

/*
 * Ends the @count grants of @refs (a kvmalloc()ed array) to @domid, which
 * are the grants of @dma_buf. Those the other end still maps stay granted
 * and their pages alive: @obj (a GEM reference is taken) or else @attach
 * and @sgt are kept until the last of them ends. Returns true if all
 * ended at once; then the caller still owns @refs, @attach and @sgt.
 */
static bool xen_zcopy_end_or_defer(struct xen_zcopy_device *zdev,
				   domid_t domid, struct dma_buf *dma_buf,
				   grant_ref_t *refs, unsigned int count,
				   struct drm_gem_object *obj,
				   struct dma_buf_attachment *attach,
				   struct sg_table *sgt)
{
	struct xen_zcopy_deferred *d;
	unsigned int left;

	left = xen_zcopy_end_grants(zdev, domid, refs, count);
	if (!left) {
		xa_erase(&zdev->granted, (unsigned long)dma_buf);
		return true;
	}

	drm_dbg(&zdev->drm, "domain %u still maps %u of %u granted pages, ending access later\n",
		domid, left, count);

	d = kzalloc(sizeof(*d), GFP_KERNEL | __GFP_NOFAIL);
	if (obj)
		drm_gem_object_get(obj);
	d->obj = obj;
	d->attach = attach;
	d->sgt = sgt;
	d->refs = refs;
	d->count = left;
	d->domid = domid;
	d->dma_buf = dma_buf;
	d->since = jiffies;
	xen_zcopy_charge_deferred(zdev, domid, left);

	mutex_lock(&zdev->deferred_lock);
	if (list_empty(&zdev->deferred))
		__module_get(THIS_MODULE);
	list_add_tail(&d->node, &zdev->deferred);
	zdev->deferred_delay_ms = XEN_ZCOPY_DEFERRED_RETRY_MS;
	mod_delayed_work(system_wq, &zdev->deferred_work,
			 msecs_to_jiffies(XEN_ZCOPY_DEFERRED_RETRY_MS));
	mutex_unlock(&zdev->deferred_lock);
	return false;
}

void xen_zcopy_to_refs_release(struct xen_zcopy_object *zobj)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(zobj->base.dev);
	struct dma_buf_attachment *attach = zobj->base.import_attach;

	if (zobj->grefs &&
	    !xen_zcopy_end_or_defer(zdev, zobj->otherend_id, attach->dmabuf,
				    zobj->grefs, zobj->num_pages, NULL,
				    attach, zobj->sgt)) {
		/* The deferred entry owns them now. */
		zobj->grefs = NULL;
		return;
	}
	xen_zcopy_release_import(attach, zobj->sgt);
}

/*
 * Takes back grants of @zobj that the caller was not told of. Should the
 * grantee have mapped one meanwhile (a guess), it stays granted, and the
 * object with it, until the grantee lets go.
 */
static void xen_zcopy_revoke_unpublished(struct xen_zcopy_object *zobj,
					 grant_ref_t *refs, unsigned int n,
					 domid_t domid)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(zobj->base.dev);

	if (xen_zcopy_end_or_defer(zdev, domid, zobj->base.import_attach->dmabuf,
				   refs, n, &zobj->base, NULL, NULL))
		kvfree(refs);
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

/*
 * Grants every page of the imported buffer to @domid, all or none. The
 * grants count against @domid's quota, and a dma-buf is granted through
 * one object only: another file's import of it gets -EBUSY.
 */
static int xen_zcopy_grant_pages(struct xen_zcopy_object *zobj, domid_t domid,
				 bool readonly)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(zobj->base.dev);
	struct dma_buf *dma_buf = zobj->base.import_attach->dmabuf;
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

	ret = xa_insert(&zdev->granted, (unsigned long)dma_buf,
			xa_mk_value(domid), GFP_KERNEL);
	if (ret == -EBUSY)
		xen_zcopy_bad_input(drm, "TO_REFS: dma-buf granted through another import\n");
	if (ret)
		return ret;

	ret = xen_zcopy_charge_grant(zdev, domid, n);
	if (ret)
		goto err_erase;

	refs = kvcalloc(n, sizeof(*refs), GFP_KERNEL);
	if (!refs) {
		ret = -ENOMEM;
		goto err_uncharge;
	}

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
		gnttab_grant_foreign_access_ref(refs[i], domid, gfn, readonly);
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
	zobj->readonly = readonly;
	atomic_add(n, &xen_zcopy_stats.granted_refs);
	return 0;

err_end:
	gnttab_free_grant_references(head);
	/* The claimed refs end below, charged like the others. */
	atomic_add(i, &xen_zcopy_stats.granted_refs);
	xen_zcopy_uncharge_grant(zdev, domid, n - i);
	xen_zcopy_revoke_unpublished(zobj, refs, i, domid);
	return ret;
err_free:
	kvfree(refs);
err_uncharge:
	xen_zcopy_uncharge_grant(zdev, domid, n);
err_erase:
	xa_erase(&zdev->granted, (unsigned long)dma_buf);
	return ret;
}

/*
 * Grants the pages of the imported buffer @handle of @file to @domid, or
 * finds the grants an earlier call made, and writes the refs to @grefs.
 */
static int xen_zcopy_to_refs(struct drm_device *drm, struct drm_file *file,
			     u32 handle, u64 domid, u64 grefs, u32 num_grefs,
			     bool readonly)
{
	struct xen_zcopy_object *zobj;
	struct drm_gem_object *obj;
	grant_ref_t *fresh = NULL;
	int ret = 0;

	if (domid >= DOMID_FIRST_RESERVED) {
		xen_zcopy_bad_input(drm, "TO_REFS: bad domain id %llu\n", domid);
		return -EINVAL;
	}

	obj = drm_gem_object_lookup(file, handle);
	if (!obj) {
		xen_zcopy_bad_input(drm, "TO_REFS: no buffer with handle %u\n",
				    handle);
		return -ENOENT;
	}
	zobj = to_xen_zcopy_obj(obj);

	if (zobj->kind != XEN_ZCOPY_IMPORTED) {
		xen_zcopy_bad_input(drm, "TO_REFS: handle %u is not an imported buffer\n",
				    handle);
		ret = -EINVAL;
		goto out_put;
	}
	if (num_grefs != zobj->num_pages) {
		xen_zcopy_bad_input(drm, "TO_REFS: %u refs for a buffer of %u pages\n",
				    num_grefs, zobj->num_pages);
		ret = -EINVAL;
		goto out_put;
	}

	/* Held across the copy out: see the lock order in xen_zcopy_drv.h. */
	if (mutex_lock_interruptible(&zobj->lock)) {
		ret = -ERESTARTSYS;
		goto out_put;
	}
	if (zobj->grefs) {
		if (zobj->otherend_id != domid || zobj->readonly != readonly) {
			xen_zcopy_bad_input(drm, "TO_REFS: buffer already granted to domain %u%s\n",
					    zobj->otherend_id,
					    zobj->readonly ? " read-only" : "");
			ret = -EBUSY;
			goto out_unlock;
		}
	} else {
		ret = xen_zcopy_grant_pages(zobj, domid, readonly);
		if (ret)
			goto out_unlock;
		fresh = zobj->grefs;
	}

	if (copy_to_user(u64_to_user_ptr(grefs), zobj->grefs,
			 array_size(zobj->num_pages, sizeof(*zobj->grefs)))) {
		xen_zcopy_bad_input(drm, "TO_REFS: cannot write the refs\n");
		ret = -EFAULT;
		if (fresh) {
			zobj->grefs = NULL;
			xen_zcopy_revoke_unpublished(zobj, fresh,
						     zobj->num_pages,
						     zobj->otherend_id);
		}
	}

out_unlock:
	mutex_unlock(&zobj->lock);
out_put:
	drm_gem_object_put(obj);
	return ret;
}

int xen_zcopy_to_refs_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct drm_xen_zcopy_dumb_to_refs *req = data;

	/* The v1 ABI carries a plain pointer: take it as a user address. */
	return xen_zcopy_to_refs(drm, file, req->handle, req->otherend_id,
				 (u64)(uintptr_t)req->grefs, req->num_grefs,
				 false);
}

int xen_zcopy_to_refs2_ioctl(struct drm_device *drm, void *data,
			     struct drm_file *file)
{
	struct drm_xen_zcopy_to_refs2 *req = data;

	if (req->flags & ~DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY ||
	    req->reserved[0] || req->reserved[1]) {
		xen_zcopy_bad_input(drm, "TO_REFS2: unknown flags 0x%x or reserved fields set\n",
				    req->flags);
		return -EINVAL;
	}
	return xen_zcopy_to_refs(drm, file, req->handle, req->domid,
				 req->grefs, req->num_grefs,
				 req->flags & DRM_XEN_ZCOPY_TO_REFS2_READ_ONLY);
}
