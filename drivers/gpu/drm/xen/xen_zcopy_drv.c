// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: the device, its ioctls and the module.
 *
 * The driver has no KMS part. It registers a GEM + PRIME capable DRM device
 * whose primary node a para-virtual display backend opens to turn grant
 * references into dma-bufs and dma-bufs into grant references.
 */

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_print.h>
#include <drm/drm_prime.h>

#include <xen/page.h>
#include <xen/xen.h>

#include "xen_zcopy_drm.h"
#include "xen_zcopy_drv.h"

struct xen_zcopy_stats xen_zcopy_stats;
struct xen_zcopy_faults xen_zcopy_faults;

unsigned int xen_zcopy_max_pages = 65536;

/*
 * The limit sizes the per-buffer arrays FROM_REFS and imports allocate, so
 * it is kept to what the largest geometry needs: 0 or a value near 2^32
 * would refuse everything or let a backend ask kvcalloc() for more than
 * INT_MAX bytes, which WARNs.
 */
static int xen_zcopy_max_pages_set(const char *val,
				   const struct kernel_param *kp)
{
	unsigned int pages;
	int ret;

	ret = kstrtouint(val, 0, &pages);
	if (ret)
		return ret;
	if (!pages || pages > XEN_ZCOPY_MAX_PAGES_LIMIT) {
		pr_notice(XEN_ZCOPY_DRIVER_NAME ": max_pages must be 1..%lu, not %u\n",
			  XEN_ZCOPY_MAX_PAGES_LIMIT, pages);
		return -EINVAL;
	}
	WRITE_ONCE(*(unsigned int *)kp->arg, pages);
	return 0;
}

static const struct kernel_param_ops xen_zcopy_max_pages_ops = {
	.set = xen_zcopy_max_pages_set,
	.get = param_get_uint,
};

module_param_cb(max_pages, &xen_zcopy_max_pages_ops, &xen_zcopy_max_pages,
		0644);
MODULE_PARM_DESC(max_pages,
		 "Largest buffer DUMB_FROM_REFS maps or PRIME imports, in pages (default 65536 = 256 MiB, at most 262144 = 1 GiB)");

/*
 * Dom0's maptrack table holds about 256k grant maps by default and every
 * backend of every guest shares it; on x86 PV a page of a buffer takes two
 * (the kernel mapping is a grant map too), plus one per user-mapped page.
 * Dom0's grant table holds 32k grants by default. The defaults leave at
 * least half of each to the rest, while a 4K frame takes 8100 pages.
 */
struct xen_zcopy_limits xen_zcopy_limits = {
	.domain_pages = 32768,
	.domain_buffers = 1024,
	.total_pages = 65536,
	.domain_granted = 16384,
};

/* The quotas may be changed at run time; 0 would refuse everything. */
static int xen_zcopy_limit_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (!v || v > INT_MAX)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops xen_zcopy_limit_ops = {
	.set = xen_zcopy_limit_set,
	.get = param_get_uint,
};

module_param_cb(domain_pages, &xen_zcopy_limit_ops,
		&xen_zcopy_limits.domain_pages, 0644);
MODULE_PARM_DESC(domain_pages,
		 "Pages of one domain's grants DUMB_FROM_REFS keeps mapped at once (default 32768 = 128 MiB)");
module_param_cb(domain_buffers, &xen_zcopy_limit_ops,
		&xen_zcopy_limits.domain_buffers, 0644);
MODULE_PARM_DESC(domain_buffers,
		 "DUMB_FROM_REFS buffers of one domain's grants at once (default 1024)");
module_param_cb(total_pages, &xen_zcopy_limit_ops,
		&xen_zcopy_limits.total_pages, 0644);
MODULE_PARM_DESC(total_pages,
		 "Pages of all domains' grants DUMB_FROM_REFS keeps mapped at once (default 65536 = 256 MiB)");
module_param_cb(domain_granted, &xen_zcopy_limit_ops,
		&xen_zcopy_limits.domain_granted, 0644);
MODULE_PARM_DESC(domain_granted,
		 "Pages DUMB_TO_REFS keeps granted to one domain at once, grants it still maps after they were freed included (default 16384)");

/* The entry of @domid, created if @create; NULL if absent or no memory. */
static struct xen_zcopy_domain *
xen_zcopy_domain_get(struct xen_zcopy_device *zdev, domid_t domid, bool create)
{
	struct xen_zcopy_domain *dom;

	lockdep_assert_held(&zdev->acct_lock);
	dom = xa_load(&zdev->domains, domid);
	if (dom || !create)
		return dom;

	dom = kzalloc(sizeof(*dom), GFP_KERNEL);
	if (!dom)
		return NULL;
	if (xa_err(xa_store(&zdev->domains, domid, dom, GFP_KERNEL))) {
		kfree(dom);
		return NULL;
	}
	return dom;
}

/* Drops the entry of @domid once it holds nothing. */
static void xen_zcopy_domain_put(struct xen_zcopy_device *zdev, domid_t domid,
				 struct xen_zcopy_domain *dom)
{
	if (dom->mapped_pages || dom->buffers || dom->granted_pages ||
	    dom->deferred_refs)
		return;
	xa_erase(&zdev->domains, domid);
	kfree(dom);
}

/*
 * Charges a FROM_REFS buffer of @pages to @domid before anything is
 * allocated for it: -EDQUOT over the domain's quota, -ENOSPC over the
 * device's.
 */
int xen_zcopy_charge_map(struct xen_zcopy_device *zdev, domid_t domid,
			 unsigned int pages)
{
	struct xen_zcopy_domain *dom;
	int ret = 0;

	mutex_lock(&zdev->acct_lock);
	dom = xen_zcopy_domain_get(zdev, domid, true);
	if (!dom) {
		ret = -ENOMEM;
	} else if (dom->mapped_pages + pages >
		   READ_ONCE(xen_zcopy_limits.domain_pages) ||
		   dom->buffers >= READ_ONCE(xen_zcopy_limits.domain_buffers)) {
		xen_zcopy_bad_input(&zdev->drm,
				    "FROM_REFS: domain %u has %lu pages in %u buffers, %u more are over its quota\n",
				    domid, dom->mapped_pages, dom->buffers,
				    pages);
		ret = -EDQUOT;
	} else if (zdev->total_mapped + pages >
		   READ_ONCE(xen_zcopy_limits.total_pages)) {
		xen_zcopy_bad_input(&zdev->drm,
				    "FROM_REFS: %lu pages mapped, %u more are over total_pages\n",
				    zdev->total_mapped, pages);
		ret = -ENOSPC;
	} else {
		dom->mapped_pages += pages;
		dom->buffers++;
		zdev->total_mapped += pages;
	}
	if (ret && dom)
		xen_zcopy_domain_put(zdev, domid, dom);
	mutex_unlock(&zdev->acct_lock);
	return ret;
}

void xen_zcopy_uncharge_map(struct xen_zcopy_device *zdev, domid_t domid,
			    unsigned int pages)
{
	struct xen_zcopy_domain *dom;

	mutex_lock(&zdev->acct_lock);
	dom = xen_zcopy_domain_get(zdev, domid, false);
	if (!WARN_ON(!dom || dom->mapped_pages < pages || !dom->buffers)) {
		dom->mapped_pages -= pages;
		dom->buffers--;
		zdev->total_mapped -= pages;
		xen_zcopy_domain_put(zdev, domid, dom);
	}
	mutex_unlock(&zdev->acct_lock);
}

/* Charges @pages grants to @domid: -EDQUOT over its quota. */
int xen_zcopy_charge_grant(struct xen_zcopy_device *zdev, domid_t domid,
			   unsigned int pages)
{
	struct xen_zcopy_domain *dom;
	int ret = 0;

	mutex_lock(&zdev->acct_lock);
	dom = xen_zcopy_domain_get(zdev, domid, true);
	if (!dom) {
		ret = -ENOMEM;
	} else if (dom->granted_pages + pages >
		   READ_ONCE(xen_zcopy_limits.domain_granted)) {
		xen_zcopy_bad_input(&zdev->drm,
				    "TO_REFS: domain %u has %lu of our pages (%lu of them ending), %u more are over its quota\n",
				    domid, dom->granted_pages,
				    dom->deferred_refs, pages);
		ret = -EDQUOT;
		xen_zcopy_domain_put(zdev, domid, dom);
	} else {
		dom->granted_pages += pages;
	}
	mutex_unlock(&zdev->acct_lock);
	return ret;
}

void xen_zcopy_uncharge_grant(struct xen_zcopy_device *zdev, domid_t domid,
			      unsigned int pages)
{
	struct xen_zcopy_domain *dom;

	if (!pages)
		return;
	mutex_lock(&zdev->acct_lock);
	dom = xen_zcopy_domain_get(zdev, domid, false);
	if (!WARN_ON(!dom || dom->granted_pages < pages)) {
		dom->granted_pages -= pages;
		xen_zcopy_domain_put(zdev, domid, dom);
	}
	mutex_unlock(&zdev->acct_lock);
}

/* @refs (signed) grants of @domid's charge became or stopped being deferred. */
void xen_zcopy_charge_deferred(struct xen_zcopy_device *zdev, domid_t domid,
			       long refs)
{
	struct xen_zcopy_domain *dom;

	if (!refs)
		return;
	mutex_lock(&zdev->acct_lock);
	dom = xen_zcopy_domain_get(zdev, domid, false);
	if (!WARN_ON(!dom || (long)dom->deferred_refs + refs < 0)) {
		dom->deferred_refs += refs;
		xen_zcopy_domain_put(zdev, domid, dom);
	}
	mutex_unlock(&zdev->acct_lock);
	atomic_add(refs, &xen_zcopy_stats.deferred_refs);
}

/**
 * struct xen_zcopy_ioctl_desc - one of the driver's ioctls
 * @cmd: the whole ioctl number: direction, size, type and number
 * @func: the handler, given a kernel copy of the argument
 * @undo: FROM_REFS: takes back what @func made when the result cannot be
 *	written to the caller, so that a failed call keeps nothing
 * @maps: the call maps foreign memory or grants ours: CAP_SYS_ADMIN only
 * @writes: the argument has fields the handler fills in
 * @name: for debug lines
 */
struct xen_zcopy_ioctl_desc {
	unsigned int cmd;
	int (*func)(struct drm_device *drm, void *data, struct drm_file *file);
	void (*undo)(struct drm_file *file, void *data);
	bool maps;
	bool writes;
	const char *name;
};

static void xen_zcopy_from_refs_undo(struct drm_file *file, void *data)
{
	struct drm_xen_zcopy_dumb_from_refs *req = data;

	drm_gem_handle_delete(file, req->dumb.handle);
}

static int xen_zcopy_get_caps_ioctl(struct drm_device *drm, void *data,
				    struct drm_file *file)
{
	struct drm_xen_zcopy_get_caps *req = data;

	if (req->flags || req->reserved[0] || req->reserved[1])
		return -EINVAL;
	req->caps = DRM_XEN_ZCOPY_CAP_V2 | DRM_XEN_ZCOPY_CAP_WAIT_FD |
		    DRM_XEN_ZCOPY_CAP_READ_ONLY |
		    (IS_ENABLED(CONFIG_COMPAT) ? DRM_XEN_ZCOPY_CAP_COMPAT32 : 0) |
		    (xen_zcopy_can_contig() ? DRM_XEN_ZCOPY_CAP_CONTIGUOUS : 0);
	req->max_pages = READ_ONCE(xen_zcopy_max_pages);
	return 0;
}

#define XEN_ZCOPY_IOCTL(ioctl, _func, _undo, _maps, _writes)		\
	[DRM_XEN_ZCOPY_##ioctl] = {					\
		.cmd = DRM_IOCTL_XEN_ZCOPY_##ioctl,			\
		.func = _func,						\
		.undo = _undo,						\
		.maps = _maps,						\
		.writes = _writes,					\
		.name = #ioctl,						\
	}

static const struct xen_zcopy_ioctl_desc xen_zcopy_ioctls[] = {
	XEN_ZCOPY_IOCTL(DUMB_FROM_REFS, xen_zcopy_from_refs_ioctl,
			xen_zcopy_from_refs_undo, true, true),
	XEN_ZCOPY_IOCTL(DUMB_TO_REFS, xen_zcopy_to_refs_ioctl, NULL, true,
			false),
	XEN_ZCOPY_IOCTL(DUMB_WAIT_FREE, xen_zcopy_wait_free_ioctl, NULL, false,
			false),
	XEN_ZCOPY_IOCTL(GET_CAPS, xen_zcopy_get_caps_ioctl, NULL, false, true),
	XEN_ZCOPY_IOCTL(FROM_REFS2, xen_zcopy_from_refs2_ioctl,
			xen_zcopy_from_refs2_undo, true, true),
	XEN_ZCOPY_IOCTL(TO_REFS2, xen_zcopy_to_refs2_ioctl, NULL, true, false),
	XEN_ZCOPY_IOCTL(WAIT_FREE2, xen_zcopy_wait_free2_ioctl, NULL, false,
			true),
	XEN_ZCOPY_IOCTL(WAIT_FD, xen_zcopy_wait_fd_ioctl,
			xen_zcopy_wait_fd_undo, false, true),
};

/* The largest argument of the driver's ioctls. */
#define XEN_ZCOPY_IOCTL_MAX_SIZE	128

/*
 * The driver's ioctl of number @nr (counted from DRM_COMMAND_BASE) that
 * @cmd names, NULL if @cmd is not one of the driver's numbers at all.
 */
static const struct xen_zcopy_ioctl_desc *xen_zcopy_ioctl_desc(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != DRM_IOCTL_BASE || nr < DRM_COMMAND_BASE ||
	    nr - DRM_COMMAND_BASE >= ARRAY_SIZE(xen_zcopy_ioctls))
		return NULL;
	return &xen_zcopy_ioctls[nr - DRM_COMMAND_BASE];
}

/* The permission checks, before the argument is even read. */
static int xen_zcopy_ioctl_permit(struct drm_file *file,
				  const struct xen_zcopy_ioctl_desc *desc)
{
	/* What DRM_AUTH checks: the master, or a client it authenticated. */
	if (!file->authenticated)
		return -EACCES;
	/*
	 * Mapping another domain's pages, or granting ours, is what only a
	 * privileged backend may do, like /dev/xen/gntdev's root-only node:
	 * a user who opened the node first, or was given it, may not.
	 */
	if (desc->maps && !capable(CAP_SYS_ADMIN)) {
		drm_dbg(file->minor->dev, "%s[%d]: %s needs CAP_SYS_ADMIN\n",
			current->comm, task_pid_nr(current), desc->name);
		return -EPERM;
	}
	return 0;
}

static int xen_zcopy_ioctl_mismatch(struct drm_file *file, unsigned int cmd,
				    const struct xen_zcopy_ioctl_desc *desc)
{
	drm_dbg(file->minor->dev, "%s[%d]: ioctl 0x%08x is not %s (0x%08x)\n",
		current->comm, task_pid_nr(current), cmd, desc->name,
		desc->cmd);
	return -EINVAL;
}

/* Writes the result of a successful @desc call out, or takes it back. */
static int xen_zcopy_ioctl_write(struct drm_file *file,
				 const struct xen_zcopy_ioctl_desc *desc,
				 void __user *uarg, const void *udata,
				 size_t size, void *kdata)
{
	if (!copy_to_user(uarg, udata, size))
		return 0;
	drm_dbg(file->minor->dev, "%s[%d]: %s: cannot write the result, undone\n",
		current->comm, task_pid_nr(current), desc->name);
	if (desc->undo)
		desc->undo(file, kdata);
	return -EFAULT;
}

/*
 * The driver's own ioctls do not go through drm_ioctl(): it accepts any
 * direction and size for a known number (zero-filling and truncating the
 * argument), and it writes the result back after the handler succeeded,
 * when a failure can no longer be undone. Here the number must match
 * exactly, the permission checks come first, and a result that cannot
 * be written back takes the call back. Everything else is the core's.
 */
static long xen_zcopy_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	const struct xen_zcopy_ioctl_desc *desc = xen_zcopy_ioctl_desc(cmd);
	struct drm_file *file = filp->private_data;
	void __user *uarg = (void __user *)arg;
	u8 kdata[XEN_ZCOPY_IOCTL_MAX_SIZE];
	int ret;

	BUILD_BUG_ON(sizeof(struct drm_xen_zcopy_from_refs2) > sizeof(kdata));

	if (!desc)
		return drm_ioctl(filp, cmd, arg);
	if (cmd != desc->cmd)
		return xen_zcopy_ioctl_mismatch(file, cmd, desc);
	ret = xen_zcopy_ioctl_permit(file, desc);
	if (ret)
		return ret;

	/*
	 * The holes the v1 structs have on 64-bit are not checked: C leaves
	 * them undefined in a struct set up with designated initializers,
	 * so v1 backends send whatever the stack held there.
	 */
	if (copy_from_user(kdata, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;

	ret = desc->func(file->minor->dev, kdata, file);
	if (ret || !desc->writes)
		return ret;
	return xen_zcopy_ioctl_write(file, desc, uarg, kdata, _IOC_SIZE(cmd),
				     kdata);
}

#ifdef CONFIG_COMPAT
/*
 * The v1 structures as a 32-bit process lays them out: a 4-byte pointer,
 * and on x86 4-byte aligned 64-bit fields, so other sizes and ioctl
 * numbers. The v2 structures are the same for both and need no help.
 */
struct xen_zcopy_compat_from_refs {
	u32 num_grefs;
	compat_uptr_t grefs;
	compat_u64 otherend_id;
	struct {
		u32 height;
		u32 width;
		u32 bpp;
		u32 flags;
		u32 handle;
		u32 pitch;
		compat_u64 size;
	} dumb;
	u32 wait_handle;
};

struct xen_zcopy_compat_to_refs {
	u32 num_grefs;
	compat_uptr_t grefs;
	compat_u64 otherend_id;
	u32 handle;
};

#define XEN_ZCOPY_COMPAT_FROM_REFS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_FROM_REFS, \
		 struct xen_zcopy_compat_from_refs)
#define XEN_ZCOPY_COMPAT_TO_REFS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_TO_REFS, \
		 struct xen_zcopy_compat_to_refs)

static long xen_zcopy_compat_from_refs(struct drm_file *file,
				       const struct xen_zcopy_ioctl_desc *desc,
				       void __user *uarg)
{
	struct drm_xen_zcopy_dumb_from_refs req = { };
	struct xen_zcopy_compat_from_refs c;
	int ret;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	req.num_grefs = c.num_grefs;
	req.grefs = (__force __u32 *)compat_ptr(c.grefs);
	req.otherend_id = c.otherend_id;
	req.dumb.height = c.dumb.height;
	req.dumb.width = c.dumb.width;
	req.dumb.bpp = c.dumb.bpp;
	req.dumb.flags = c.dumb.flags;

	ret = desc->func(file->minor->dev, &req, file);
	if (ret)
		return ret;

	c.dumb.handle = req.dumb.handle;
	c.dumb.pitch = req.dumb.pitch;
	c.dumb.size = req.dumb.size;
	c.wait_handle = req.wait_handle;
	return xen_zcopy_ioctl_write(file, desc, uarg, &c, sizeof(c), &req);
}

static long xen_zcopy_compat_to_refs(struct drm_file *file,
				     const struct xen_zcopy_ioctl_desc *desc,
				     void __user *uarg)
{
	struct drm_xen_zcopy_dumb_to_refs req = { };
	struct xen_zcopy_compat_to_refs c;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	req.num_grefs = c.num_grefs;
	req.grefs = (__force __u32 *)compat_ptr(c.grefs);
	req.otherend_id = c.otherend_id;
	req.handle = c.handle;
	return desc->func(file->minor->dev, &req, file);
}

/* 32-bit callers: the v1 calls translated, the rest as for 64-bit ones. */
static long xen_zcopy_compat_ioctl(struct file *filp, unsigned int cmd,
				   unsigned long arg)
{
	const struct xen_zcopy_ioctl_desc *desc = xen_zcopy_ioctl_desc(cmd);
	struct drm_file *file = filp->private_data;
	int ret;

	if (!desc)
		return drm_compat_ioctl(filp, cmd, arg);
	if (cmd != XEN_ZCOPY_COMPAT_FROM_REFS &&
	    cmd != XEN_ZCOPY_COMPAT_TO_REFS)
		return xen_zcopy_ioctl(filp, cmd, (unsigned long)compat_ptr(arg));

	ret = xen_zcopy_ioctl_permit(file, desc);
	if (ret)
		return ret;
	if (cmd == XEN_ZCOPY_COMPAT_FROM_REFS)
		return xen_zcopy_compat_from_refs(file, desc, compat_ptr(arg));
	return xen_zcopy_compat_to_refs(file, desc, compat_ptr(arg));
}
#else
#define xen_zcopy_compat_ioctl NULL
#endif

static const struct file_operations xen_zcopy_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = xen_zcopy_ioctl,
	.compat_ioctl = xen_zcopy_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.mmap = drm_gem_mmap,
};

/*
 * The DRM core serves DRM_IOCTL_MODE_MAP_DUMB only to drivers that have a
 * dumb_create hook. Buffers of this driver come from DUMB_FROM_REFS, so
 * the hook exists only to refuse plain dumb buffers with a clear message.
 */
static int xen_zcopy_dumb_create(struct drm_file *file, struct drm_device *drm,
				 struct drm_mode_create_dumb *args)
{
	xen_zcopy_bad_input(drm, "CREATE_DUMB is not supported, use DUMB_FROM_REFS\n");
	return -EOPNOTSUPP;
}

static void xen_zcopy_postclose(struct drm_device *drm, struct drm_file *file)
{
	xen_zcopy_wait_file_close(to_xen_zcopy(drm), file);
}

static const struct drm_driver xen_zcopy_driver = {
	.driver_features	= DRIVER_GEM,
	.postclose		= xen_zcopy_postclose,
	.prime_handle_to_fd	= drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle	= drm_gem_prime_fd_to_handle,
	.gem_prime_import	= xen_zcopy_prime_import,
	.gem_prime_import_sg_table = xen_zcopy_prime_import_sg_table,
	.dumb_create		= xen_zcopy_dumb_create,
	.dumb_map_offset	= drm_gem_dumb_map_offset,
	.debugfs_init		= xen_zcopy_debugfs_init,
	.fops			= &xen_zcopy_fops,
	.name			= XEN_ZCOPY_DRIVER_NAME,
	.desc			= "Xen PV display zero-copy helper",
	.date			= "20261124",
	.major			= 1,
	.minor			= 0,
};

/* Every buffer, and so every charge and grant, is gone before the device. */
static void xen_zcopy_device_fini(struct xen_zcopy_device *zdev)
{
	xen_zcopy_deferred_fini(zdev);
	xen_zcopy_wait_fini(zdev);
	WARN_ON(!list_empty(&zdev->objects));
	WARN_ON(!xa_empty(&zdev->domains));
	WARN_ON(!xa_empty(&zdev->granted));
	xa_destroy(&zdev->domains);
	xa_destroy(&zdev->granted);
	mutex_destroy(&zdev->acct_lock);
	mutex_destroy(&zdev->objects_lock);
}

static int xen_zcopy_probe(struct platform_device *pdev)
{
	struct xen_zcopy_device *zdev;
	int ret;

	/*
	 * TO_REFS turns the DMA addresses of an imported buffer into frame
	 * numbers: the whole address space must be reachable without
	 * bouncing. On x86 PV the addresses are pseudo-physical ones of our
	 * own DMA ops (see xen_zcopy_pv_map.c).
	 */
	xen_zcopy_pv_set_dma_ops(&pdev->dev);
	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	zdev = devm_drm_dev_alloc(&pdev->dev, &xen_zcopy_driver,
				  struct xen_zcopy_device, drm);
	if (IS_ERR(zdev))
		return PTR_ERR(zdev);

	xen_zcopy_wait_init(zdev);
	xen_zcopy_deferred_init(zdev);
	mutex_init(&zdev->objects_lock);
	INIT_LIST_HEAD(&zdev->objects);
	mutex_init(&zdev->acct_lock);
	xa_init(&zdev->domains);
	xa_init(&zdev->granted);
	platform_set_drvdata(pdev, zdev);

	ret = drm_dev_register(&zdev->drm, 0);
	if (ret) {
		xen_zcopy_device_fini(zdev);
		return ret;
	}

	drm_info(&zdev->drm, "ready: %s domain, CPU maps of foreign pages %s\n",
		 xen_pv_domain() ? "PV" : "auto-translated",
		 xen_zcopy_needs_pv_maps() ? "via grant PTE maps" :
					     "via the linear map");
	return 0;
}

static int xen_zcopy_remove(struct platform_device *pdev)
{
	struct xen_zcopy_device *zdev = platform_get_drvdata(pdev);

	drm_dev_unregister(&zdev->drm);
	xen_zcopy_device_fini(zdev);
	return 0;
}

static struct platform_driver xen_zcopy_platform_driver = {
	.probe	= xen_zcopy_probe,
	.remove	= xen_zcopy_remove,
	.driver	= {
		.name = XEN_ZCOPY_DRIVER_NAME,
		/*
		 * Unbinding through sysfs would tear the device down under
		 * open files, live buffers and grants the other end still
		 * maps; the device goes with the module, which open files
		 * and such grants pin.
		 */
		.suppress_bind_attrs = true,
	},
};

static struct platform_device *xen_zcopy_pdev;

static int xen_zcopy_stats_show(struct seq_file *m, void *unused)
{
	struct xen_zcopy_stats *s = &xen_zcopy_stats;

	seq_printf(m, "from_refs_objects %d\n", atomic_read(&s->from_refs_objects));
	seq_printf(m, "mapped_grants %d\n", atomic_read(&s->mapped_grants));
	seq_printf(m, "imported_objects %d\n", atomic_read(&s->imported_objects));
	seq_printf(m, "granted_refs %d\n", atomic_read(&s->granted_refs));
	seq_printf(m, "deferred_refs %d\n", atomic_read(&s->deferred_refs));
	seq_printf(m, "wait_handles %d\n", atomic_read(&s->wait_handles));
	seq_printf(m, "pv_vmap_grants %d\n", atomic_read(&s->pv_vmap_grants));
	seq_printf(m, "pv_user_grants %d\n", atomic_read(&s->pv_user_grants));
	seq_printf(m, "leaked_pages %d\n", atomic_read(&s->leaked_pages));
	seq_printf(m, "contig_pages %d\n", atomic_read(&s->contig_pages));
	return 0;
}

static struct xen_zcopy_device *xen_zcopy_seq_dev(struct seq_file *m)
{
	struct drm_info_node *node = m->private;

	return to_xen_zcopy(node->minor->dev);
}

static int xen_zcopy_domains_show(struct seq_file *m, void *unused)
{
	struct xen_zcopy_device *zdev = xen_zcopy_seq_dev(m);
	struct xen_zcopy_limits *l = &xen_zcopy_limits;
	struct xen_zcopy_domain *dom;
	unsigned long domid;

	seq_printf(m, "quota domain_pages %u domain_buffers %u total_pages %u domain_granted %u\n",
		   READ_ONCE(l->domain_pages), READ_ONCE(l->domain_buffers),
		   READ_ONCE(l->total_pages), READ_ONCE(l->domain_granted));
	mutex_lock(&zdev->acct_lock);
	seq_printf(m, "total mapped_pages %lu\n", zdev->total_mapped);
	xa_for_each(&zdev->domains, domid, dom)
		seq_printf(m, "domain %lu mapped_pages %lu buffers %u granted_pages %lu deferred_refs %lu\n",
			   domid, dom->mapped_pages, dom->buffers,
			   dom->granted_pages, dom->deferred_refs);
	mutex_unlock(&zdev->acct_lock);
	return 0;
}

static int xen_zcopy_buffers_show(struct seq_file *m, void *unused)
{
	struct xen_zcopy_device *zdev = xen_zcopy_seq_dev(m);

	xen_zcopy_objects_show(zdev, m);
	xen_zcopy_deferred_show(zdev, m);
	return 0;
}

static const struct drm_info_list xen_zcopy_debugfs_list[] = {
	{ "xen_zcopy_stats", xen_zcopy_stats_show },
	{ "xen_zcopy_domains", xen_zcopy_domains_show },
	{ "xen_zcopy_buffers", xen_zcopy_buffers_show },
};

void xen_zcopy_debugfs_init(struct drm_minor *minor)
{
	drm_debugfs_create_files(xen_zcopy_debugfs_list,
				 ARRAY_SIZE(xen_zcopy_debugfs_list),
				 minor->debugfs_root, minor);
	debugfs_create_atomic_t("xen_zcopy_fail_map", 0600,
				minor->debugfs_root, &xen_zcopy_faults.map);
	debugfs_create_atomic_t("xen_zcopy_fail_unmap", 0600,
				minor->debugfs_root, &xen_zcopy_faults.unmap);
	debugfs_create_atomic_t("xen_zcopy_fail_pte_unmap", 0600,
				minor->debugfs_root,
				&xen_zcopy_faults.pte_unmap);
}

static int __init xen_zcopy_init(void)
{
	int ret;

	/* Grants are 4 KiB pages; the driver maps one grant per page. */
	BUILD_BUG_ON(PAGE_SIZE != XEN_PAGE_SIZE);

	if (!xen_domain()) {
		pr_notice(XEN_ZCOPY_DRIVER_NAME ": not running on Xen, not loading\n");
		return -ENODEV;
	}

	ret = platform_driver_register(&xen_zcopy_platform_driver);
	if (ret)
		return ret;

	xen_zcopy_pdev = platform_device_register_simple(XEN_ZCOPY_DRIVER_NAME,
							 PLATFORM_DEVID_NONE,
							 NULL, 0);
	if (IS_ERR(xen_zcopy_pdev)) {
		platform_driver_unregister(&xen_zcopy_platform_driver);
		return PTR_ERR(xen_zcopy_pdev);
	}

	return 0;
}

static void __exit xen_zcopy_exit(void)
{
	platform_device_unregister(xen_zcopy_pdev);
	platform_driver_unregister(&xen_zcopy_platform_driver);
}

module_init(xen_zcopy_init);
module_exit(xen_zcopy_exit);

MODULE_DESCRIPTION("Xen para-virtual display zero-copy helper");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
