// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: CPU mappings of foreign frames on x86 PV.
 *
 * A PV domain writes its own page tables and Xen validates every present
 * entry against the owner of the frame it names: an entry for a frame of
 * another domain is refused, even while that frame is grant-mapped into one
 * of our ballooned pages. So vmap() or vm_insert_page() of a DUMB_FROM_REFS
 * page works for a self-grant (the frame is ours) and faults for a real
 * frontend. This is why upstream gntdev-dmabuf refuses to export on PV.
 *
 * Here Xen writes the entries itself: every ref is grant-mapped once more
 * with GNTMAP_contains_pte, at the machine address of the page-table entry
 * that is to point at it, as xenbus_map_ring_valloc() does for rings and
 * gntdev for user mappings. Each such mapping has its own grant handle and
 * is undone by the unmap hypercall, which also clears the entry and flushes
 * the TLB.
 *
 * - vmap: vmap() of a scratch page with PAGE_NONE reserves the range and
 *   its page tables (the entries are not present, so no TLB caches them),
 *   then Xen replaces each entry with the grant mapping.
 * - mmap: the entries of the user VMA are allocated with
 *   apply_to_page_range() and filled by Xen. An interval notifier unmaps
 *   the grants before the core zaps the entries (munmap, exit, mremap,
 *   mprotect), since Xen refuses an implicit unmap of a grant entry. The
 *   VMA is not copied on fork and cannot be split; after an mremap or
 *   mprotect it has no pages and access faults with SIGBUS. Clearing the
 *   soft-dirty bits, which leaves VM_PFNMAP entries alone, keeps it.
 *
 * igt-tests/zcopy_domu.c checks both paths with the frames of a real PV
 * DomU (self-grants cannot: their frames are Dom0's own). With plain
 * vmap() and vm_insert_page() instead, vkms' composition oopses on a
 * not-present kernel entry and a user access never completes.
 *
 * Auto-translated guests (arm64, x86 PVH/HVM) map the ballooned pages the
 * usual way: their page tables name guest frames, not machine frames.
 *
 * DMA addresses of this device: swiotlb-xen, the DMA ops of a PV domain,
 * treats every segment like one transfer of real hardware and bounces a
 * segment that is contiguous in pseudo-physical memory but not in machine
 * memory, as a domain's memory is after ballooning. This device never does
 * DMA: it only turns the addresses of an imported buffer into frames to
 * grant, page by page. So it gets DMA ops of its own whose addresses are
 * pseudo-physical addresses, which never bounce, and the frames come from
 * the p2m, one page at a time.
 */

#include <linux/dma-map-ops.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>

#include <drm/drm_gem.h>
#include <drm/drm_print.h>

#include <xen/grant_table.h>
#include <xen/xen.h>

#include "xen_zcopy_drv.h"

bool xen_zcopy_needs_pv_maps(void)
{
	return IS_ENABLED(CONFIG_XEN_PV) && xen_pv_domain();
}

#ifdef CONFIG_XEN_PV

#include <asm/xen/hypercall.h>
#include <asm/xen/page.h>

/* Grants unmapped per hypercall; the ops live on the stack. */
#define XEN_ZCOPY_PV_UNMAP_BATCH	32

/**
 * struct xen_zcopy_pv_kmap - a kernel mapping made of grant entries
 * @vaddr: start of the mapping
 * @scratch: the page vmap() was given to reserve the range
 * @count: number of pages
 * @pte_maddr: machine addresses of the page-table entries
 * @handles: grant handles of the mappings
 */
struct xen_zcopy_pv_kmap {
	void *vaddr;
	struct page *scratch;
	unsigned int count;
	u64 *pte_maddr;
	grant_handle_t *handles;
};

/**
 * struct xen_zcopy_pv_umap - a user mapping made of grant entries
 * @notifier: unmaps the grants before the core changes the entries
 * @refcount: one per VMA sharing this mapping (mremap makes a second)
 * @zobj: the mapped object; each VMA holds a GEM reference
 * @lock: serialises the unmap from the notifier and from the last close
 * @start: user address of the first page
 * @count: number of pages
 * @flags: GNTMAP_* flags of the mappings
 * @mapped: the grants are mapped
 * @pte_maddr: machine addresses of the page-table entries
 * @handles: grant handles of the mappings
 */
struct xen_zcopy_pv_umap {
	struct mmu_interval_notifier notifier;
	struct kref refcount;
	struct xen_zcopy_object *zobj;
	spinlock_t lock; /* protects mapped and handles */
	unsigned long start;
	unsigned int count;
	u32 flags;
	bool mapped;
	u64 *pte_maddr;
	grant_handle_t *handles;
};

/* Returns how many of the @n grants stay mapped. */
static unsigned int xen_zcopy_pv_unmap_batch(struct gnttab_unmap_grant_ref *ops,
					     unsigned int n)
{
	unsigned int failed = 0;

	if (HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, ops, n)) {
		pr_err_ratelimited(XEN_ZCOPY_DRIVER_NAME ": grant PTE unmap hypercall failed\n");
		return n;
	}
	while (n--) {
		/* Test hook: as if Xen had refused this op. */
		if (xen_zcopy_fault(&xen_zcopy_faults.pte_unmap))
			ops[n].status = GNTST_general_error;
		if (ops[n].status == GNTST_okay)
			continue;
		pr_err_ratelimited(XEN_ZCOPY_DRIVER_NAME ": grant PTE unmap: status %d\n",
				   ops[n].status);
		failed++;
	}
	return failed;
}

/*
 * Never sleeps: the notifier may call it where sleeping is not allowed.
 * Returns how many grants stay mapped because Xen refused to unmap them.
 */
static unsigned int xen_zcopy_pv_unmap_ptes(const u64 *pte_maddr,
					    grant_handle_t *handles,
					    unsigned int count, u32 flags)
{
	struct gnttab_unmap_grant_ref ops[XEN_ZCOPY_PV_UNMAP_BATCH];
	unsigned int i, n = 0, failed = 0;

	for (i = 0; i < count; i++) {
		if (handles[i] == INVALID_GRANT_HANDLE)
			continue;
		gnttab_set_unmap_op(&ops[n++], pte_maddr[i], flags, handles[i]);
		handles[i] = INVALID_GRANT_HANDLE;
		if (n == ARRAY_SIZE(ops)) {
			failed += xen_zcopy_pv_unmap_batch(ops, n);
			n = 0;
		}
	}
	if (n)
		failed += xen_zcopy_pv_unmap_batch(ops, n);
	return failed;
}

/*
 * Maps refs [@first, @first + @count) of @zobj at the entries @pte_maddr,
 * all or none.
 */
static int xen_zcopy_pv_map_ptes(struct xen_zcopy_object *zobj,
				 unsigned long first, unsigned int count,
				 const u64 *pte_maddr, grant_handle_t *handles,
				 u32 flags)
{
	struct gnttab_map_grant_ref *ops;
	unsigned int i;
	int ret = 0;

	ops = kvcalloc(count, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;

	for (i = 0; i < count; i++)
		gnttab_set_map_op(&ops[i], pte_maddr[i], flags,
				  zobj->grefs[first + i], zobj->otherend_id);

	if (HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, ops, count)) {
		kvfree(ops);
		return -EFAULT;
	}

	for (i = 0; i < count; i++) {
		if (ops[i].status == GNTST_okay) {
			handles[i] = ops[i].handle;
			continue;
		}
		handles[i] = INVALID_GRANT_HANDLE;
		if (!ret)
			drm_dbg(zobj->base.dev,
				"cannot map grant ref %u of domain %u again: status %d (access ended?)\n",
				zobj->grefs[first + i], zobj->otherend_id,
				ops[i].status);
		ret = -EIO;
	}
	kvfree(ops);

	if (ret)
		xen_zcopy_pv_unmap_ptes(pte_maddr, handles, count, flags);
	return ret;
}

static void xen_zcopy_pv_kmap_free(struct xen_zcopy_pv_kmap *kmap)
{
	if (kmap->vaddr)
		vunmap(kmap->vaddr);
	if (kmap->scratch)
		__free_page(kmap->scratch);
	kvfree(kmap->handles);
	kvfree(kmap->pte_maddr);
	kfree(kmap);
}

struct xen_zcopy_pv_kmap *xen_zcopy_pv_kmap(struct xen_zcopy_object *zobj,
					    void **vaddr)
{
	unsigned int i, n = zobj->num_pages, level;
	struct xen_zcopy_pv_kmap *kmap;
	struct page **pages;
	pte_t *pte;
	int ret;

	kmap = kzalloc(sizeof(*kmap), GFP_KERNEL);
	if (!kmap)
		return ERR_PTR(-ENOMEM);
	kmap->count = n;
	kmap->pte_maddr = kvcalloc(n, sizeof(*kmap->pte_maddr), GFP_KERNEL);
	kmap->handles = kvcalloc(n, sizeof(*kmap->handles), GFP_KERNEL);
	kmap->scratch = alloc_page(GFP_KERNEL);
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!kmap->pte_maddr || !kmap->handles || !kmap->scratch || !pages) {
		ret = -ENOMEM;
		goto err_free;
	}

	for (i = 0; i < n; i++)
		pages[i] = kmap->scratch;
	kmap->vaddr = vmap(pages, n, VM_MAP, PAGE_NONE);
	if (!kmap->vaddr) {
		ret = -ENOMEM;
		goto err_free;
	}

	/*
	 * The entries of one page-table page are consecutive in one machine
	 * frame: one walk per page-table page. (A walk per entry was a tenth
	 * of DUMB_FROM_REFS on x86 PV.)
	 */
	for (i = 0; i < n; i++) {
		unsigned long addr = (unsigned long)kmap->vaddr + i * PAGE_SIZE;

		if (i && (addr & ~PMD_MASK)) {
			kmap->pte_maddr[i] = kmap->pte_maddr[i - 1] + sizeof(*pte);
			continue;
		}
		pte = lookup_address(addr, &level);
		if (WARN_ON(!pte || level != PG_LEVEL_4K)) {
			ret = -EFAULT;
			goto err_free;
		}
		kmap->pte_maddr[i] = arbitrary_virt_to_machine(pte).maddr;
	}

	ret = xen_zcopy_pv_map_ptes(zobj, 0, n, kmap->pte_maddr, kmap->handles,
				    xen_zcopy_map_flags(zobj) |
				    GNTMAP_contains_pte);
	if (ret)
		goto err_free;

	kvfree(pages);
	atomic_add(n, &xen_zcopy_stats.pv_vmap_grants);
	*vaddr = kmap->vaddr;
	return kmap;

err_free:
	kvfree(pages);
	xen_zcopy_pv_kmap_free(kmap);
	return ERR_PTR(ret);
}

void xen_zcopy_pv_kunmap(struct xen_zcopy_pv_kmap *kmap)
{
	/* Xen clears the entries; vunmap() then finds them empty. */
	if (xen_zcopy_pv_unmap_ptes(kmap->pte_maddr, kmap->handles,
				    kmap->count,
				    GNTMAP_host_map | GNTMAP_contains_pte)) {
		/*
		 * Entries Xen would not clear still point at foreign frames,
		 * and the kernel may not clear them itself: the range is
		 * never given back.
		 */
		pr_err_ratelimited(XEN_ZCOPY_DRIVER_NAME ": kernel mapping at %p leaked\n",
				   kmap->vaddr);
		kmap->vaddr = NULL;
	}
	atomic_sub(kmap->count, &xen_zcopy_stats.pv_vmap_grants);
	xen_zcopy_pv_kmap_free(kmap);
}

static void xen_zcopy_pv_umap_unmap(struct xen_zcopy_pv_umap *umap)
{
	spin_lock(&umap->lock);
	if (umap->mapped) {
		xen_zcopy_pv_unmap_ptes(umap->pte_maddr, umap->handles,
					umap->count, umap->flags);
		atomic_sub(umap->count, &xen_zcopy_stats.pv_user_grants);
		umap->mapped = false;
	}
	spin_unlock(&umap->lock);
}

static bool xen_zcopy_pv_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct xen_zcopy_pv_umap *umap =
		container_of(mni, struct xen_zcopy_pv_umap, notifier);

	/*
	 * Clearing the soft-dirty bits (/proc/PID/clear_refs) announces the
	 * whole address space but skips VM_PFNMAP mappings: ours stay.
	 */
	if (range->event == MMU_NOTIFY_SOFT_DIRTY)
		return true;

	mmu_interval_set_seq(mni, cur_seq);
	xen_zcopy_pv_umap_unmap(umap);
	return true;
}

static const struct mmu_interval_notifier_ops xen_zcopy_pv_mn_ops = {
	.invalidate = xen_zcopy_pv_invalidate,
};

static void xen_zcopy_pv_umap_free(struct xen_zcopy_pv_umap *umap)
{
	kvfree(umap->handles);
	kvfree(umap->pte_maddr);
	kfree(umap);
}

static void xen_zcopy_pv_umap_release(struct kref *kref)
{
	struct xen_zcopy_pv_umap *umap =
		container_of(kref, struct xen_zcopy_pv_umap, refcount);

	mmu_interval_notifier_remove(&umap->notifier);
	xen_zcopy_pv_umap_unmap(umap);
	xen_zcopy_pv_umap_free(umap);
}

static void xen_zcopy_pv_vm_open(struct vm_area_struct *vma)
{
	struct xen_zcopy_pv_umap *umap = vma->vm_private_data;

	kref_get(&umap->refcount);
	drm_gem_object_get(&umap->zobj->base);
}

static void xen_zcopy_pv_vm_close(struct vm_area_struct *vma)
{
	struct xen_zcopy_pv_umap *umap = vma->vm_private_data;
	struct drm_gem_object *obj = &umap->zobj->base;

	kref_put(&umap->refcount, xen_zcopy_pv_umap_release);
	drm_gem_object_put(obj);
}

/* One notifier covers the whole mapping: a part of it cannot go alone. */
static int xen_zcopy_pv_vm_may_split(struct vm_area_struct *vma,
				     unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct xen_zcopy_pv_vm_ops = {
	.open = xen_zcopy_pv_vm_open,
	.close = xen_zcopy_pv_vm_close,
	.may_split = xen_zcopy_pv_vm_may_split,
};

static int xen_zcopy_pv_collect_pte(pte_t *pte, unsigned long addr,
				    void *data)
{
	struct xen_zcopy_pv_umap *umap = data;

	umap->pte_maddr[(addr - umap->start) >> PAGE_SHIFT] =
		arbitrary_virt_to_machine(pte).maddr;
	return 0;
}

int xen_zcopy_pv_mmap(struct xen_zcopy_object *zobj,
		      struct vm_area_struct *vma, unsigned long first)
{
	unsigned long size = vma->vm_end - vma->vm_start;
	struct xen_zcopy_pv_umap *umap;
	int ret;

	umap = kzalloc(sizeof(*umap), GFP_KERNEL);
	if (!umap)
		return -ENOMEM;
	umap->count = vma_pages(vma);
	umap->pte_maddr = kvcalloc(umap->count, sizeof(*umap->pte_maddr),
				   GFP_KERNEL);
	umap->handles = kvcalloc(umap->count, sizeof(*umap->handles),
				 GFP_KERNEL);
	if (!umap->pte_maddr || !umap->handles) {
		ret = -ENOMEM;
		goto err_free;
	}

	kref_init(&umap->refcount);
	spin_lock_init(&umap->lock);
	umap->zobj = zobj;
	umap->start = vma->vm_start;
	umap->flags = GNTMAP_host_map | GNTMAP_application_map |
		      GNTMAP_contains_pte |
		      /* marks the entry special for the core mm */
		      (1 << _GNTMAP_guest_avail0);
	if (!(vma->vm_flags & VM_WRITE))
		umap->flags |= GNTMAP_readonly;

	/* The caller holds mmap_lock for writing. */
	ret = mmu_interval_notifier_insert_locked(&umap->notifier, vma->vm_mm,
						  vma->vm_start, size,
						  &xen_zcopy_pv_mn_ops);
	if (ret)
		goto err_free;

	ret = apply_to_page_range(vma->vm_mm, vma->vm_start, size,
				  xen_zcopy_pv_collect_pte, umap);
	if (ret)
		goto err_remove;

	ret = xen_zcopy_pv_map_ptes(zobj, first, umap->count, umap->pte_maddr,
				    umap->handles, umap->flags);
	if (ret)
		goto err_remove;

	umap->mapped = true;
	atomic_add(umap->count, &xen_zcopy_stats.pv_user_grants);

	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTCOPY;
	vma->vm_ops = &xen_zcopy_pv_vm_ops;
	vma->vm_private_data = umap;
	return 0;

err_remove:
	mmu_interval_notifier_remove(&umap->notifier);
err_free:
	xen_zcopy_pv_umap_free(umap);
	return ret;
}

static dma_addr_t xen_zcopy_pv_dma_map_page(struct device *dev,
					    struct page *page,
					    unsigned long offset, size_t size,
					    enum dma_data_direction dir,
					    unsigned long attrs)
{
	return page_to_phys(page) + offset;
}

static int xen_zcopy_pv_dma_map_sg(struct device *dev, struct scatterlist *sgl,
				   int nents, enum dma_data_direction dir,
				   unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = sg_phys(sg);
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

/* Nothing to unmap or sync: no bounce buffers, and x86 is coherent. */
static const struct dma_map_ops xen_zcopy_pv_dma_ops = {
	.map_page = xen_zcopy_pv_dma_map_page,
	.map_sg = xen_zcopy_pv_dma_map_sg,
};

void xen_zcopy_pv_set_dma_ops(struct device *dev)
{
	if (xen_zcopy_needs_pv_maps())
		set_dma_ops(dev, &xen_zcopy_pv_dma_ops);
}

int xen_zcopy_pv_dma_to_gfn(dma_addr_t addr, unsigned long *gfn)
{
	unsigned long pfn = PHYS_PFN(addr), mfn;

	if (!pfn_valid(pfn))
		return -EINVAL;

	/* Only our own RAM can be granted: not MMIO, not a foreign frame. */
	mfn = __pfn_to_mfn(pfn);
	if (mfn == INVALID_P2M_ENTRY ||
	    (mfn & (FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT)))
		return -EINVAL;

	*gfn = mfn;
	return 0;
}

#else /* !CONFIG_XEN_PV */

void xen_zcopy_pv_set_dma_ops(struct device *dev)
{
}

int xen_zcopy_pv_dma_to_gfn(dma_addr_t addr, unsigned long *gfn)
{
	return -EOPNOTSUPP;
}

struct xen_zcopy_pv_kmap *xen_zcopy_pv_kmap(struct xen_zcopy_object *zobj,
					    void **vaddr)
{
	return ERR_PTR(-EOPNOTSUPP);
}

void xen_zcopy_pv_kunmap(struct xen_zcopy_pv_kmap *kmap)
{
}

int xen_zcopy_pv_mmap(struct xen_zcopy_object *zobj,
		      struct vm_area_struct *vma, unsigned long first)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_XEN_PV */
