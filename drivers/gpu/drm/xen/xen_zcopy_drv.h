/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Xen zero-copy helper DRM driver: shared definitions.
 *
 * Locking. Where two locks meet, the order is:
 *  - dma_buf->lock (dma_buf_vmap) -> xen_zcopy_object.lock (vmap state);
 *  - xen_zcopy_object.lock -> mmap_lock (TO_REFS writes the refs out with
 *    the grant state held, so that a failed write takes fresh grants back
 *    before anyone saw them; no path takes the object lock under
 *    mmap_lock: the mmap handlers never do);
 *  - xen_zcopy_device.deferred_lock -> the exporter's dma_resv (releasing
 *    the attachment of a buffer whose grants ended late);
 *  - mmap_lock -> xen_zcopy_pv_umap.lock (the interval notifier; a
 *    spinlock, nothing sleeps under it).
 * xen_zcopy_device.wait_lock nests in nothing and takes nothing.
 */

#ifndef __XEN_ZCOPY_DRV_H
#define __XEN_ZCOPY_DRV_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#include <drm/drm_device.h>
#include <drm/drm_gem.h>

#include <xen/grant_table.h>

#define XEN_ZCOPY_DRIVER_NAME	"xen_drm_zcopy"

/* Largest width or height DUMB_FROM_REFS accepts. */
#define XEN_ZCOPY_MAX_DIM	16384

/* Largest max_pages: a XEN_ZCOPY_MAX_DIM square at 32 bpp, 1 GiB. */
#define XEN_ZCOPY_MAX_PAGES_LIMIT \
	((unsigned long)XEN_ZCOPY_MAX_DIM * XEN_ZCOPY_MAX_DIM * 4 / PAGE_SIZE)

/*
 * Rate-limited like dev_*_ratelimited(), but without their "N callbacks
 * suppressed" line, which the kernel logs at KERN_WARNING once the
 * interval is over: a flood of a backend's mistakes must not end in a
 * warning.
 */
#define xen_zcopy_ratelimited(dev_printk_fn, dev, fmt, ...)		\
do {									\
	static struct ratelimit_state _rs =				\
		RATELIMIT_STATE_INIT_FLAGS(_rs,				\
					   DEFAULT_RATELIMIT_INTERVAL,	\
					   DEFAULT_RATELIMIT_BURST,	\
					   RATELIMIT_MSG_ON_RELEASE);	\
									\
	if (__ratelimit(&_rs))						\
		dev_printk_fn(dev, fmt, ##__VA_ARGS__);			\
} while (0)

/*
 * Every bad input gets an errno and one rate-limited line at notice level
 * (below KERN_WARNING: a backend's mistake is not a kernel problem).
 */
#define xen_zcopy_bad_input(drm, fmt, ...) \
	xen_zcopy_ratelimited(dev_notice, (drm)->dev, "%s[%d]: " fmt, \
			      current->comm, task_pid_nr(current), \
			      ##__VA_ARGS__)

/**
 * struct xen_zcopy_device - the driver's DRM device
 * @drm: the DRM device
 * @wait_lock: protects @wait_idr
 * @wait_idr: wait handles of DUMB_FROM_REFS buffers, allocated cyclically
 * @deferred_lock: protects @deferred
 * @deferred: grants of freed buffers the other end still maps
 * @deferred_work: retries ending the grants on @deferred
 */
struct xen_zcopy_device {
	struct drm_device drm;

	struct mutex wait_lock; /* protects wait_idr */
	struct idr wait_idr;

	struct mutex deferred_lock; /* protects deferred */
	struct list_head deferred;
	struct delayed_work deferred_work;
};

static inline struct xen_zcopy_device *to_xen_zcopy(struct drm_device *drm)
{
	return container_of(drm, struct xen_zcopy_device, drm);
}

/**
 * struct xen_zcopy_wait - what DUMB_WAIT_FREE waits on
 * @refcount: held by the buffer and by every waiter
 * @freed: completed once the buffer is freed and its grants unmapped
 * @owner: the DRM file that created the buffer; others get -ENOENT
 * @id: the wait handle
 */
struct xen_zcopy_wait {
	struct kref refcount;
	struct completion freed;
	struct drm_file *owner;
	u32 id;
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
 * @lock: protects @vmap_count, @vaddr, @pv_kmap and the grant state below
 * @otherend_id: FROM_REFS: the granting domain; IMPORTED: the grantee
 * @grefs: FROM_REFS: the mapped refs; IMPORTED: the refs granted by TO_REFS
 * @map_handles: FROM_REFS: grant handles of the mapping into @pages
 * @pages: FROM_REFS: pages the grants are mapped into
 * @mapped: FROM_REFS: all grants are mapped into @pages
 * @wait: FROM_REFS: completed when the object is gone
 * @vmap_count: number of kernel mappings handed out through @vaddr
 * @vaddr: the kernel mapping of all pages, while @vmap_count > 0
 * @pv_kmap: x86 PV: the grant mapping behind @vaddr
 * @sgt: IMPORTED: the exporter's table mapped for this device
 */
struct xen_zcopy_object {
	struct drm_gem_object base;
	enum xen_zcopy_kind kind;
	unsigned int num_pages;
	struct mutex lock; /* vmap state, TO_REFS grants */

	domid_t otherend_id;
	grant_ref_t *grefs;

	grant_handle_t *map_handles;
	struct page **pages;
	bool mapped;
	struct xen_zcopy_wait *wait;
	unsigned int vmap_count;
	void *vaddr;
	struct xen_zcopy_pv_kmap *pv_kmap;

	struct sg_table *sgt;
};

static inline struct xen_zcopy_object *to_xen_zcopy_obj(struct drm_gem_object *obj)
{
	return container_of(obj, struct xen_zcopy_object, base);
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
};

extern struct xen_zcopy_stats xen_zcopy_stats;
extern unsigned int xen_zcopy_max_pages;

/* xen_zcopy_gem.c */
struct xen_zcopy_object *xen_zcopy_object_create(struct drm_device *drm,
						 enum xen_zcopy_kind kind,
						 unsigned int num_pages);
void xen_zcopy_object_free(struct drm_gem_object *obj);
struct drm_gem_object *xen_zcopy_prime_import(struct drm_device *drm,
					      struct dma_buf *dma_buf);
struct drm_gem_object *
xen_zcopy_prime_import_sg_table(struct drm_device *drm,
				struct dma_buf_attachment *attach,
				struct sg_table *sgt);

/* xen_zcopy_from_refs.c */
int xen_zcopy_from_refs_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
void xen_zcopy_from_refs_release(struct xen_zcopy_object *zobj);

/* xen_zcopy_to_refs.c */
int xen_zcopy_to_refs_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
void xen_zcopy_to_refs_release(struct xen_zcopy_object *zobj);
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
