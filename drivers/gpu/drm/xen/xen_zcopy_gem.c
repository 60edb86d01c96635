// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: GEM objects and their dma-buf exports.
 *
 * An object is either made from a frontend's grant references (its pages
 * are foreign frames mapped into ballooned pages) or imported from another
 * driver's dma-buf (its pages belong to that driver and may be granted to a
 * frontend). Only the first kind is exported; an imported object re-exports
 * the original dma-buf, as the PRIME core does for every driver.
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <drm/drm_prime.h>
#include <drm/drm_vma_manager.h>

#include "xen_zcopy_drv.h"

/*
 * Auto-translated mappings are PFN maps: the core mm keeps no reference to
 * the pages, so nothing can pin them through a user mapping (get_user_pages
 * refuses VM_PFNMAP: no vmsplice, O_DIRECT or io_uring fixed buffer),
 * and unmapping the grants never waits for such a pin to go. Entries are
 * inserted on fault, so a zapped one (MADV_DONTNEED, page-table reclaim)
 * comes back on the next access. vm_pgoff is the page index in the buffer
 * (xen_zcopy_mmap_pages() drops the fake offset).
 */
static vm_fault_t xen_zcopy_vm_fault(struct vm_fault *vmf)
{
	struct drm_gem_object *obj = vmf->vma->vm_private_data;
	struct xen_zcopy_object *zobj = to_xen_zcopy_obj(obj);

	if (vmf->pgoff >= zobj->num_pages)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vmf->vma, vmf->address,
			      page_to_pfn(zobj->pages[vmf->pgoff]));
}

static const struct vm_operations_struct xen_zcopy_vm_ops = {
	.fault = xen_zcopy_vm_fault,
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

/*
 * One entry per page: neighbouring ballooned pages hold unrelated foreign
 * frames, and swiotlb-xen bounces a segment that is not contiguous in
 * machine memory, which would hide the frontend's pages from the importer.
 */
static struct sg_table *xen_zcopy_get_sg_table(struct drm_gem_object *obj)
{
	struct xen_zcopy_object *zobj = to_xen_zcopy_obj(obj);
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int i;
	int ret;

	if (zobj->kind != XEN_ZCOPY_FROM_REFS)
		return ERR_PTR(-EINVAL);

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);

	ret = sg_alloc_table(sgt, zobj->num_pages, GFP_KERNEL);
	if (ret) {
		kfree(sgt);
		return ERR_PTR(ret);
	}

	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, zobj->pages[i], PAGE_SIZE, 0);

	return sgt;
}

/*
 * The kernel mapping exists as long as the buffer (see struct
 * xen_zcopy_object): importers that compose with the CPU map the buffer
 * in every commit, and a vmap that fails there is a WARN in the core.
 */
static int xen_zcopy_vmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	struct xen_zcopy_object *zobj = to_xen_zcopy_obj(obj);

	if (zobj->kind != XEN_ZCOPY_FROM_REFS || !zobj->vaddr)
		return -EOPNOTSUPP;
	iosys_map_set_vaddr(map, zobj->vaddr);
	return 0;
}

static void xen_zcopy_vunmap(struct drm_gem_object *obj,
			     struct iosys_map *map)
{
}

/*
 * Maps pages [@first, @first + vma_pages(@vma)) of @zobj. The caller holds
 * a GEM reference for the vma, which the vma's close drops.
 */
static int xen_zcopy_mmap_pages(struct xen_zcopy_object *zobj,
				struct vm_area_struct *vma, unsigned long first)
{
	unsigned long count = vma_pages(vma);

	if (zobj->kind != XEN_ZCOPY_FROM_REFS ||
	    first > zobj->num_pages || count > zobj->num_pages - first)
		return -EINVAL;

	/*
	 * A private mapping that may become writable would copy a page on
	 * write that nobody shares, and PFN maps cannot be copied on write.
	 */
	if (is_cow_mapping(vma->vm_flags))
		return -EINVAL;
	/* A read-only buffer is mapped read-only, now and after mprotect(). */
	if (zobj->readonly) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vma->vm_flags &= ~VM_MAYWRITE;
	}

	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;

	if (xen_zcopy_needs_pv_maps())
		return xen_zcopy_pv_mmap(zobj, vma, first);

	vma->vm_flags |= VM_IO | VM_PFNMAP;
	vma->vm_ops = &xen_zcopy_vm_ops;
	vma->vm_private_data = &zobj->base;
	/* The fault handler finds a page by vm_pgoff: make it the index. */
	vma->vm_pgoff = first;
	return 0;
}

/*
 * mmap of the DRM node, at the offset DRM_IOCTL_MODE_MAP_DUMB gave. Only
 * FROM_REFS objects have an offset: an import is the exporter's to map,
 * through its own dma-buf.
 */
static int xen_zcopy_gem_mmap(struct drm_gem_object *obj,
			      struct vm_area_struct *vma)
{
	return xen_zcopy_mmap_pages(to_xen_zcopy_obj(obj), vma,
				    vma->vm_pgoff -
				    drm_vma_node_start(&obj->vma_node));
}

/*
 * mmap of an exported dma-buf; vm_pgoff is the page offset in the buffer.
 * Not drm_gem_prime_mmap(): it would overwrite vm_private_data, which the
 * x86 PV mapping needs for itself.
 */
static int xen_zcopy_dmabuf_mmap(struct dma_buf *dma_buf,
				 struct vm_area_struct *vma)
{
	struct drm_gem_object *obj = dma_buf->priv;
	int ret;

	drm_gem_object_get(obj);
	ret = xen_zcopy_mmap_pages(to_xen_zcopy_obj(obj), vma, vma->vm_pgoff);
	if (ret)
		drm_gem_object_put(obj);
	return ret;
}

/*
 * Importers that read with the CPU after a device wrote (or the other way
 * round) need the caches of non-coherent devices synced.
 */
static int xen_zcopy_dmabuf_cpu_sync(struct dma_buf *dma_buf,
				     enum dma_data_direction dir, bool begin)
{
	struct dma_buf_attachment *attach;

	dma_resv_lock(dma_buf->resv, NULL);
	list_for_each_entry(attach, &dma_buf->attachments, node) {
		if (!attach->sgt)
			continue;
		if (begin)
			dma_sync_sgtable_for_cpu(attach->dev, attach->sgt, dir);
		else
			dma_sync_sgtable_for_device(attach->dev, attach->sgt,
						    dir);
	}
	dma_resv_unlock(dma_buf->resv);
	return 0;
}

static int xen_zcopy_dmabuf_begin_cpu_access(struct dma_buf *dma_buf,
					     enum dma_data_direction dir)
{
	return xen_zcopy_dmabuf_cpu_sync(dma_buf, dir, true);
}

static int xen_zcopy_dmabuf_end_cpu_access(struct dma_buf *dma_buf,
					   enum dma_data_direction dir)
{
	return xen_zcopy_dmabuf_cpu_sync(dma_buf, dir, false);
}

static const struct dma_buf_ops xen_zcopy_dmabuf_ops = {
	.cache_sgt_mapping = true,
	.attach = drm_gem_map_attach,
	.detach = drm_gem_map_detach,
	.map_dma_buf = drm_gem_map_dma_buf,
	.unmap_dma_buf = drm_gem_unmap_dma_buf,
	.release = drm_gem_dmabuf_release,
	.mmap = xen_zcopy_dmabuf_mmap,
	.vmap = drm_gem_dmabuf_vmap,
	.vunmap = drm_gem_dmabuf_vunmap,
	.begin_cpu_access = xen_zcopy_dmabuf_begin_cpu_access,
	.end_cpu_access = xen_zcopy_dmabuf_end_cpu_access,
};

static struct dma_buf *xen_zcopy_gem_export(struct drm_gem_object *obj,
					    int flags)
{
	struct dma_buf_export_info exp_info = {
		.exp_name = XEN_ZCOPY_DRIVER_NAME,
		.owner = THIS_MODULE,
		.ops = &xen_zcopy_dmabuf_ops,
		.size = obj->size,
		.flags = flags,
		.priv = obj,
		.resv = obj->resv,
	};

	if (to_xen_zcopy_obj(obj)->kind != XEN_ZCOPY_FROM_REFS)
		return ERR_PTR(-EINVAL);

	return drm_gem_dmabuf_export(obj->dev, &exp_info);
}

static const struct drm_gem_object_funcs xen_zcopy_gem_funcs = {
	.free = xen_zcopy_object_free,
	.export = xen_zcopy_gem_export,
	.get_sg_table = xen_zcopy_get_sg_table,
	.vmap = xen_zcopy_vmap,
	.vunmap = xen_zcopy_vunmap,
	.mmap = xen_zcopy_gem_mmap,
	.vm_ops = &xen_zcopy_vm_ops,
};

struct xen_zcopy_object *xen_zcopy_object_create(struct drm_device *drm,
						 enum xen_zcopy_kind kind,
						 unsigned int num_pages)
{
	struct xen_zcopy_device *zdev = to_xen_zcopy(drm);
	struct xen_zcopy_object *zobj;
	int ret;

	zobj = kzalloc(sizeof(*zobj), GFP_KERNEL);
	if (!zobj)
		return ERR_PTR(-ENOMEM);

	zobj->kind = kind;
	zobj->num_pages = num_pages;
	INIT_LIST_HEAD(&zobj->node);
	mutex_init(&zobj->lock);
	zobj->base.funcs = &xen_zcopy_gem_funcs;

	if (kind == XEN_ZCOPY_FROM_REFS) {
		zobj->grefs = kvcalloc(num_pages, sizeof(*zobj->grefs),
				       GFP_KERNEL);
		zobj->map_handles = kvcalloc(num_pages,
					     sizeof(*zobj->map_handles),
					     GFP_KERNEL);
		zobj->pages = kvcalloc(num_pages, sizeof(*zobj->pages),
				       GFP_KERNEL);
		if (!zobj->grefs || !zobj->map_handles || !zobj->pages) {
			ret = -ENOMEM;
			goto err_free;
		}
	}

	drm_gem_private_object_init(drm, &zobj->base,
				    (size_t)num_pages << PAGE_SHIFT);

	if (kind == XEN_ZCOPY_FROM_REFS) {
		/* DRM_IOCTL_MODE_MAP_DUMB returns this offset. */
		ret = drm_gem_create_mmap_offset(&zobj->base);
		if (ret) {
			drm_gem_object_release(&zobj->base);
			goto err_free;
		}
		atomic_inc(&xen_zcopy_stats.from_refs_objects);
	} else {
		atomic_inc(&xen_zcopy_stats.imported_objects);
	}

	mutex_lock(&zdev->objects_lock);
	list_add_tail(&zobj->node, &zdev->objects);
	mutex_unlock(&zdev->objects_lock);
	return zobj;

err_free:
	kvfree(zobj->pages);
	kvfree(zobj->map_handles);
	kvfree(zobj->grefs);
	mutex_destroy(&zobj->lock);
	kfree(zobj);
	return ERR_PTR(ret);
}

void xen_zcopy_object_free(struct drm_gem_object *obj)
{
	struct xen_zcopy_object *zobj = to_xen_zcopy_obj(obj);
	struct xen_zcopy_device *zdev = to_xen_zcopy(obj->dev);

	mutex_lock(&zdev->objects_lock);
	list_del(&zobj->node);
	mutex_unlock(&zdev->objects_lock);

	if (zobj->kind == XEN_ZCOPY_FROM_REFS) {
		xen_zcopy_from_refs_release(zobj);
		atomic_dec(&xen_zcopy_stats.from_refs_objects);
	} else {
		xen_zcopy_to_refs_release(zobj);
		atomic_dec(&xen_zcopy_stats.imported_objects);
	}

	drm_gem_object_release(obj);
	kvfree(zobj->pages);
	kvfree(zobj->map_handles);
	kvfree(zobj->grefs);
	mutex_destroy(&zobj->lock);
	kfree(zobj);
}

static const char *const xen_zcopy_kind_names[] = {
	[XEN_ZCOPY_FROM_REFS] = "from_refs",
	[XEN_ZCOPY_IMPORTED] = "imported",
};

/*
 * One line per live object. Handles and the export are read without the
 * core's locks: a snapshot for people, not for decisions.
 */
void xen_zcopy_objects_show(struct xen_zcopy_device *zdev, struct seq_file *m)
{
	struct xen_zcopy_object *zobj;

	mutex_lock(&zdev->objects_lock);
	list_for_each_entry(zobj, &zdev->objects, node) {
		struct drm_gem_object *obj = &zobj->base;

		seq_printf(m, "buffer %s pages %u handles %u exported %d",
			   xen_zcopy_kind_names[zobj->kind], zobj->num_pages,
			   READ_ONCE(obj->handle_count),
			   !!READ_ONCE(obj->dma_buf));
		if (zobj->kind == XEN_ZCOPY_FROM_REFS) {
			seq_printf(m, " domain %u mapped %d", zobj->otherend_id,
				   zobj->mapped);
			if (zobj->wait)
				seq_printf(m, " wait_handle %u waiters %d",
					   zobj->wait->id,
					   atomic_read(&zobj->wait->waiters));
		} else {
			struct dma_buf_attachment *attach =
				READ_ONCE(obj->import_attach);

			/* The core sets it once the import is complete. */
			if (attach)
				seq_printf(m, " exporter %s",
					   attach->dmabuf->exp_name);
			if (READ_ONCE(zobj->grefs))
				seq_printf(m, " granted_to %u",
					   READ_ONCE(zobj->otherend_id));
		}
		seq_putc(m, '\n');
	}
	mutex_unlock(&zdev->objects_lock);
}

/* Our own dma-buf comes back as the object it was made from. */
struct drm_gem_object *xen_zcopy_prime_import(struct drm_device *drm,
					      struct dma_buf *dma_buf)
{
	if (dma_buf->ops == &xen_zcopy_dmabuf_ops) {
		struct drm_gem_object *obj = dma_buf->priv;

		if (obj->dev == drm) {
			drm_gem_object_get(obj);
			return obj;
		}
	}

	return drm_gem_prime_import(drm, dma_buf);
}

struct drm_gem_object *
xen_zcopy_prime_import_sg_table(struct drm_device *drm,
				struct dma_buf_attachment *attach,
				struct sg_table *sgt)
{
	struct xen_zcopy_object *zobj;
	size_t size = attach->dmabuf->size;

	if (!size || !PAGE_ALIGNED(size) ||
	    size >> PAGE_SHIFT > READ_ONCE(xen_zcopy_max_pages)) {
		xen_zcopy_bad_input(drm, "cannot import a dma-buf of %zu bytes\n",
				    size);
		return ERR_PTR(-EINVAL);
	}

	zobj = xen_zcopy_object_create(drm, XEN_ZCOPY_IMPORTED,
				       size >> PAGE_SHIFT);
	if (IS_ERR(zobj))
		return ERR_CAST(zobj);

	zobj->sgt = sgt;
	return &zobj->base;
}
