/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Xen zero-copy helper DRM driver: shared definitions.
 *
 * Locking. Where two locks meet, the order is:
 *  - xen_zcopy_object.lock -> mmap_lock (TO_REFS writes the refs out with
 *    the grant state held, interruptibly, so that a failed write takes
 *    fresh grants back before anyone saw them; no path takes the object
 *    lock under mmap_lock: the mmap handlers never do);
 *  - xen_zcopy_object.lock -> xen_zcopy_device.acct_lock and
 *    -> xen_zcopy_device.deferred_lock (TO_REFS charges the grantee and
 *    defers the grants it cannot take back at once);
 *  - xen_zcopy_device.deferred_lock -> acct_lock (a deferred grant that
 *    ends gives its page back to the grantee's quota);
 *  - mmap_lock -> xen_zcopy_pv_umap.lock (the interval notifier; a
 *    spinlock, nothing sleeps under it).
 * Nothing is released to an exporter, and no GEM reference is dropped,
 * under deferred_lock: freeing an imported object takes that lock.
 * wait_lock, objects_lock and acct_lock take no other lock.
 */

#ifndef __XEN_ZCOPY_DRV_H
#define __XEN_ZCOPY_DRV_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>

#include <xen/grant_table.h>

#define XEN_ZCOPY_DRIVER_NAME	"xen_drm_zcopy"

/* Largest width or height DUMB_FROM_REFS accepts. */
#define XEN_ZCOPY_MAX_DIM	16384

/* Largest max_pages: a XEN_ZCOPY_MAX_DIM square at 32 bpp, 1 GiB. */
#define XEN_ZCOPY_MAX_PAGES_LIMIT \
	((unsigned long)XEN_ZCOPY_MAX_DIM * XEN_ZCOPY_MAX_DIM * 4 / PAGE_SIZE)

/*
 * A caller's bad input gets an errno and a debug line (drm.debug=0x2), never
 * a line at notice level or above: a backend's or frontend's mistake is not
 * a kernel problem, and callers must not be able to flood the log.
 */
#define xen_zcopy_bad_input(drm, fmt, ...) \
	drm_dbg(drm, "%s[%d]: " fmt, current->comm, task_pid_nr(current), \
		##__VA_ARGS__)

/**
 * struct xen_zcopy_device - the driver's DRM device
 * @drm: the DRM device
 * @wait_lock: protects @wait_idr, @freed_waits, @nr_freed_waits and the
 *	state of each struct xen_zcopy_wait
 * @wait_idr: wait handles of DUMB_FROM_REFS buffers, allocated cyclically
 * @freed_waits: published handles of freed buffers, oldest first
 * @nr_freed_waits: length of @freed_waits
 * @deferred_lock: protects @deferred and @deferred_delay_ms
 * @deferred: grants the other end still mapped when they were to end
 * @deferred_work: retries ending the grants on @deferred
 * @deferred_delay_ms: the next retry's delay; grows while nothing ends
 * @objects_lock: protects @objects
 * @objects: every live GEM object of the device, for debugfs
 * @acct_lock: protects @domains and the totals below
 * @domains: per-domain use (struct xen_zcopy_domain), by domain id
 * @total_mapped: pages of all FROM_REFS buffers
 * @granted: imported dma-bufs with grants (TO_REFS), by dma-buf address:
 *	a dma-buf is granted through one object only, whichever file
 *	imported it
 */
struct xen_zcopy_device {
	struct drm_device drm;

	struct mutex wait_lock; /* protects wait_idr, freed_waits */
	struct idr wait_idr;
	struct list_head freed_waits;
	unsigned int nr_freed_waits;

	struct mutex deferred_lock; /* protects deferred */
	struct list_head deferred;
	struct delayed_work deferred_work;
	unsigned int deferred_delay_ms;

	struct mutex objects_lock; /* protects objects */
	struct list_head objects;

	struct mutex acct_lock; /* protects domains and total_mapped */
	struct xarray domains;
	unsigned long total_mapped;

	struct xarray granted;
};

static inline struct xen_zcopy_device *to_xen_zcopy(struct drm_device *drm)
{
	return container_of(drm, struct xen_zcopy_device, drm);
}

/**
 * struct xen_zcopy_wait - what DUMB_WAIT_FREE, WAIT_FREE2 and WAIT_FD wait on
 * @refcount: held by the buffer, the idr while published, every waiter
 *	and every wait fd
 * @freed: completed once the buffer is freed and its grants unmapped
 * @wq: woken then too, for poll() of wait fds
 * @owner: the DRM file that created the buffer; NULL once it is closed
 * @id: the wait handle
 * @waiters: calls waiting now, for debugfs
 * @published: @id is in &xen_zcopy_device.wait_idr
 * @v1_visible: DUMB_WAIT_FREE can find it: buffer alive, @owner open;
 *	counted in wait_handles
 * @freed_node: entry in &xen_zcopy_device.freed_waits once freed
 */
struct xen_zcopy_wait {
	struct kref refcount;
	struct completion freed;
	wait_queue_head_t wq;
	struct drm_file *owner;
	u32 id;
	atomic_t waiters;
	bool published;
	bool v1_visible;
	struct list_head freed_node;
};

/**
 * struct xen_zcopy_domain - what the driver holds of one domain
 * @mapped_pages: pages of this domain's grants in FROM_REFS buffers
 * @buffers: FROM_REFS buffers made of this domain's grants
 * @granted_pages: our pages granted to this domain, deferred ones included
 * @deferred_refs: of @granted_pages, grants that could not end yet
 *
 * Bounded by the domain_* module parameters, so that one frontend cannot
 * use up what the backends of every guest share: Dom0's maptrack and
 * grant table and its memory for ballooned pages.
 */
struct xen_zcopy_domain {
	unsigned long mapped_pages;
	unsigned int buffers;
	unsigned long granted_pages;
	unsigned long deferred_refs;
};

struct xen_zcopy_pv_kmap;

/* Where the pages of a GEM object come from. */
enum xen_zcopy_kind {
	/* Mapped from a frontend's grant references (DUMB_FROM_REFS). */
	XEN_ZCOPY_FROM_REFS,
	/* Imported from another driver's dma-buf, may be granted (TO_REFS). */
	XEN_ZCOPY_IMPORTED,
};

/**
 * struct xen_zcopy_object - a GEM object of this driver
 * @base: the GEM object
 * @kind: where the pages come from
 * @num_pages: size of the object in pages
 * @node: entry in &xen_zcopy_device.objects
 * @lock: IMPORTED: protects the grant state (@grefs, @otherend_id)
 * @otherend_id: FROM_REFS: the granting domain; IMPORTED: the grantee
 * @grefs: FROM_REFS: the mapped refs; IMPORTED: the refs granted by TO_REFS
 * @charged: FROM_REFS: the buffer is charged to @otherend_id's quota
 * @readonly: FROM_REFS: the grants are mapped read-only; IMPORTED: the
 *	pages are granted read-only
 * @contiguous: FROM_REFS: @pages are one DMA allocation whose frames were
 *	given back to Xen, so the grants sit at consecutive guest frames
 * @contig_page: FROM_REFS, @contiguous: the first page of that allocation
 * @contig_dma: FROM_REFS, @contiguous: its DMA address
 * @contig_frames: FROM_REFS, @contiguous: its guest frames, for giving
 *	them back to Xen and taking them again (teardown does not allocate)
 * @map_handles: FROM_REFS: grant handles of the mapping into @pages
 * @pages: FROM_REFS: pages the grants are mapped into
 * @mapped: FROM_REFS: all grants are mapped into @pages
 * @unmap_data: FROM_REFS: the queue entry of the grant unmap;
 *	gnttab_unmap_refs_sync() arms a delayed work item inside it without
 *	marking it as on the stack, so it cannot be a local
 * @wait: FROM_REFS: completed when the object is gone
 * @vaddr: FROM_REFS: the kernel mapping of all pages, made with the
 *	buffer: a vmap cannot fail once the buffer exists, and costs
 *	nothing per frame
 * @pv_kmap: x86 PV: the grant mapping behind @vaddr
 * @sgt: IMPORTED: the exporter's table mapped for this device
 */
struct xen_zcopy_object {
	struct drm_gem_object base;
	enum xen_zcopy_kind kind;
	unsigned int num_pages;
	struct list_head node;
	struct mutex lock; /* TO_REFS grants */

	domid_t otherend_id;
	grant_ref_t *grefs;
	bool charged;
	bool readonly;
	bool contiguous;
	struct page *contig_page;
	dma_addr_t contig_dma;
	xen_pfn_t *contig_frames;

	grant_handle_t *map_handles;
	struct page **pages;
	bool mapped;
	struct gntab_unmap_queue_data unmap_data;
	struct xen_zcopy_wait *wait;
	void *vaddr;
	struct xen_zcopy_pv_kmap *pv_kmap;

	struct sg_table *sgt;
};

static inline struct xen_zcopy_object *to_xen_zcopy_obj(struct drm_gem_object *obj)
{
	return container_of(obj, struct xen_zcopy_object, base);
}

/* GNTMAP_* flags of the mapping of a FROM_REFS buffer's grants. */
static inline u32 xen_zcopy_map_flags(const struct xen_zcopy_object *zobj)
{
	return GNTMAP_host_map | (zobj->readonly ? GNTMAP_readonly : 0);
}

/* Counters shown in debugfs; tests compare them with a baseline. */
struct xen_zcopy_stats {
	atomic_t from_refs_objects;
	atomic_t mapped_grants;
	atomic_t imported_objects;
	atomic_t granted_refs;
	atomic_t deferred_refs;
	atomic_t wait_handles;
	atomic_t pv_vmap_grants;
	atomic_t pv_user_grants;
	atomic_t leaked_pages;
	atomic_t contig_pages;
};

extern struct xen_zcopy_stats xen_zcopy_stats;
extern unsigned int xen_zcopy_max_pages;

/**
 * struct xen_zcopy_faults - test hooks: grant operations made to fail
 * @map: countdown to the FROM_REFS grant map op that fails with
 *	GNTST_no_space (Xen really refuses it)
 * @unmap: countdown to the FROM_REFS grant unmap op reported failed
 *	after Xen ran it
 * @pte_unmap: countdown to the x86 PV grant PTE unmap op reported failed
 *	after Xen ran it
 *
 * Error paths a healthy Xen never takes on demand; set by root through
 * debugfs, and doing nothing while 0.
 */
struct xen_zcopy_faults {
	atomic_t map;
	atomic_t unmap;
	atomic_t pte_unmap;
};

extern struct xen_zcopy_faults xen_zcopy_faults;

/* Counts down @countdown; true for the operation that makes it reach 0. */
static inline bool xen_zcopy_fault(atomic_t *countdown)
{
	return atomic_read(countdown) && !atomic_dec_if_positive(countdown);
}

/**
 * struct xen_zcopy_limits - the quotas (module parameters)
 * @domain_pages: pages of one domain's grants mapped at once
 * @domain_buffers: FROM_REFS buffers of one domain's grants at once
 * @total_pages: pages mapped from all domains at once
 * @domain_granted: our pages granted to one domain at once
 */
struct xen_zcopy_limits {
	unsigned int domain_pages;
	unsigned int domain_buffers;
	unsigned int total_pages;
	unsigned int domain_granted;
};

extern struct xen_zcopy_limits xen_zcopy_limits;

/* xen_zcopy_drv.c */
int xen_zcopy_charge_map(struct xen_zcopy_device *zdev, domid_t domid,
			 unsigned int pages);
void xen_zcopy_uncharge_map(struct xen_zcopy_device *zdev, domid_t domid,
			    unsigned int pages);
int xen_zcopy_charge_grant(struct xen_zcopy_device *zdev, domid_t domid,
			   unsigned int pages);
void xen_zcopy_uncharge_grant(struct xen_zcopy_device *zdev, domid_t domid,
			      unsigned int pages);
void xen_zcopy_charge_deferred(struct xen_zcopy_device *zdev, domid_t domid,
			       long refs);
void xen_zcopy_debugfs_init(struct drm_minor *minor);

/* xen_zcopy_gem.c */
struct xen_zcopy_object *xen_zcopy_object_create(struct drm_device *drm,
						 enum xen_zcopy_kind kind,
						 unsigned int num_pages);
void xen_zcopy_object_free(struct drm_gem_object *obj);
void xen_zcopy_objects_show(struct xen_zcopy_device *zdev,
			    struct seq_file *m);
struct drm_gem_object *xen_zcopy_prime_import(struct drm_device *drm,
					      struct dma_buf *dma_buf);
struct drm_gem_object *
xen_zcopy_prime_import_sg_table(struct drm_device *drm,
				struct dma_buf_attachment *attach,
				struct sg_table *sgt);

/* xen_zcopy_from_refs.c */
int xen_zcopy_from_refs_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
int xen_zcopy_from_refs2_ioctl(struct drm_device *drm, void *data,
			       struct drm_file *file);
void xen_zcopy_from_refs2_undo(struct drm_file *file, void *data);
void xen_zcopy_from_refs_release(struct xen_zcopy_object *zobj);
bool xen_zcopy_can_contig(void);

/* xen_zcopy_to_refs.c */
int xen_zcopy_to_refs_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int xen_zcopy_to_refs2_ioctl(struct drm_device *drm, void *data,
			     struct drm_file *file);
void xen_zcopy_to_refs_release(struct xen_zcopy_object *zobj);
void xen_zcopy_deferred_show(struct xen_zcopy_device *zdev,
			     struct seq_file *m);
void xen_zcopy_deferred_init(struct xen_zcopy_device *zdev);
void xen_zcopy_deferred_fini(struct xen_zcopy_device *zdev);

/* xen_zcopy_wait.c */
void xen_zcopy_wait_init(struct xen_zcopy_device *zdev);
void xen_zcopy_wait_fini(struct xen_zcopy_device *zdev);
struct xen_zcopy_wait *xen_zcopy_wait_create(struct xen_zcopy_device *zdev,
					     struct drm_file *file);
void xen_zcopy_wait_signal(struct xen_zcopy_device *zdev,
			   struct xen_zcopy_wait *wait);
void xen_zcopy_wait_file_close(struct xen_zcopy_device *zdev,
			       struct drm_file *file);
int xen_zcopy_wait_free_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
int xen_zcopy_wait_free2_ioctl(struct drm_device *drm, void *data,
			       struct drm_file *file);
int xen_zcopy_wait_fd_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
void xen_zcopy_wait_fd_undo(struct drm_file *file, void *data);

/* xen_zcopy_pv_map.c: x86 PV only, see the comment there. */
bool xen_zcopy_needs_pv_maps(void);
struct xen_zcopy_pv_kmap *xen_zcopy_pv_kmap(struct xen_zcopy_object *zobj,
					    void **vaddr);
void xen_zcopy_pv_kunmap(struct xen_zcopy_pv_kmap *kmap);
int xen_zcopy_pv_mmap(struct xen_zcopy_object *zobj,
		      struct vm_area_struct *vma, unsigned long first);
void xen_zcopy_pv_set_dma_ops(struct device *dev);
int xen_zcopy_pv_dma_to_gfn(dma_addr_t addr, unsigned long *gfn);

#endif /* __XEN_ZCOPY_DRV_H */
