// SPDX-License-Identifier: GPL-2.0
/*
 * Xen zero-copy helper DRM driver: the device, its ioctls and the module.
 *
 * The driver has no KMS part. It registers a GEM + PRIME capable DRM device
 * whose primary node a para-virtual display backend opens to turn grant
 * references into dma-bufs and dma-bufs into grant references.
 */

#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_prime.h>

#include <xen/page.h>
#include <xen/xen.h>

#include "xen_zcopy_drm.h"
#include "xen_zcopy_drv.h"

struct xen_zcopy_stats xen_zcopy_stats;

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
 * The ioctls map another domain's memory or grant ours to it: only an
 * authenticated client of the primary node may call them, never a render
 * node client (the driver has no render node).
 */
static const struct drm_ioctl_desc xen_zcopy_ioctls[] = {
	DRM_IOCTL_DEF_DRV(XEN_ZCOPY_DUMB_FROM_REFS, xen_zcopy_from_refs_ioctl,
			  DRM_AUTH),
	DRM_IOCTL_DEF_DRV(XEN_ZCOPY_DUMB_TO_REFS, xen_zcopy_to_refs_ioctl,
			  DRM_AUTH),
	DRM_IOCTL_DEF_DRV(XEN_ZCOPY_DUMB_WAIT_FREE, xen_zcopy_wait_free_ioctl,
			  DRM_AUTH),
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

DEFINE_DRM_GEM_FOPS(xen_zcopy_fops);

static const struct drm_driver xen_zcopy_driver = {
	.driver_features	= DRIVER_GEM,
	.postclose		= xen_zcopy_postclose,
	.prime_handle_to_fd	= drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle	= drm_gem_prime_fd_to_handle,
	.gem_prime_import	= xen_zcopy_prime_import,
	.gem_prime_import_sg_table = xen_zcopy_prime_import_sg_table,
	.dumb_create		= xen_zcopy_dumb_create,
	.dumb_map_offset	= drm_gem_dumb_map_offset,
	.ioctls			= xen_zcopy_ioctls,
	.num_ioctls		= ARRAY_SIZE(xen_zcopy_ioctls),
	.fops			= &xen_zcopy_fops,
	.name			= XEN_ZCOPY_DRIVER_NAME,
	.desc			= "Xen PV display zero-copy helper",
	.date			= "20261124",
	.major			= 1,
	.minor			= 0,
};

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
	platform_set_drvdata(pdev, zdev);

	ret = drm_dev_register(&zdev->drm, 0);
	if (ret) {
		xen_zcopy_deferred_fini(zdev);
		xen_zcopy_wait_fini(zdev);
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
	xen_zcopy_deferred_fini(zdev);
	xen_zcopy_wait_fini(zdev);
	return 0;
}

static struct platform_driver xen_zcopy_platform_driver = {
	.probe	= xen_zcopy_probe,
	.remove	= xen_zcopy_remove,
	.driver	= {
		.name = XEN_ZCOPY_DRIVER_NAME,
	},
};

static struct platform_device *xen_zcopy_pdev;
static struct dentry *xen_zcopy_debugfs;

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
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xen_zcopy_stats);

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

	xen_zcopy_debugfs = debugfs_create_dir("xen_zcopy", NULL);
	debugfs_create_file("stats", 0444, xen_zcopy_debugfs, NULL,
			    &xen_zcopy_stats_fops);
	return 0;
}

static void __exit xen_zcopy_exit(void)
{
	debugfs_remove_recursive(xen_zcopy_debugfs);
	platform_device_unregister(xen_zcopy_pdev);
	platform_driver_unregister(&xen_zcopy_platform_driver);
}

module_init(xen_zcopy_init);
module_exit(xen_zcopy_exit);

MODULE_DESCRIPTION("Xen para-virtual display zero-copy helper");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
