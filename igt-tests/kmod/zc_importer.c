// SPDX-License-Identifier: GPL-2.0
/*
 * zc_importer: a test-only dma-buf importer for the xen-zcopy tests.
 *
 * vkms reads an imported buffer through vmap and vgem through mmap; a
 * display unit instead maps the attachment and reads what the sg table
 * names. This module does the same for a dma-buf fd given to its misc
 * device: attach, map, report the DMA segments and whether they are one
 * contiguous range (refusing the buffer otherwise on request, as
 * drm_gem_dma_prime_import_sg_table does), and read or write the bytes
 * through the sg table's pages.
 *
 * Two devices: "plain" has the platform's DMA ops for a device without
 * an IOMMU (swiotlb-xen on x86 PV, dma-direct for a device registered like
 * this on arm64, whose addresses are then guest-physical); "spy" has DMA
 * ops of its own whose addresses are guest-physical addresses, as for a
 * device behind an IOMMU that uses the p2m, and which log every cache
 * maintenance call the exporter makes for it (begin/end_cpu_access), so
 * that a test can check them where caches are coherent or emulated.
 */

#include <linux/dma-buf.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "zc_importer.h"

static struct platform_device *zc_imp_plain, *zc_imp_spy;

static DEFINE_SPINLOCK(zc_imp_log_lock);
static struct zc_imp_sync_log zc_imp_log;

static void zc_imp_log_sync(bool for_cpu, struct scatterlist *sgl, int nents,
			    enum dma_data_direction dir)
{
	struct zc_imp_sync *rec;
	struct scatterlist *sg;
	u64 bytes = 0;
	int i;

	for_each_sg(sgl, sg, nents, i)
		bytes += sg_dma_len(sg);

	spin_lock(&zc_imp_log_lock);
	if (zc_imp_log.count < ZC_IMP_LOG_MAX) {
		rec = &zc_imp_log.rec[zc_imp_log.count];
		rec->for_cpu = for_cpu;
		rec->dir = dir;
		rec->nents = nents;
		rec->bytes = bytes;
	}
	zc_imp_log.count++;
	spin_unlock(&zc_imp_log_lock);
}

static dma_addr_t zc_imp_spy_map_page(struct device *dev, struct page *page,
				      unsigned long offset, size_t size,
				      enum dma_data_direction dir,
				      unsigned long attrs)
{
	return page_to_phys(page) + offset;
}

static int zc_imp_spy_map_sg(struct device *dev, struct scatterlist *sgl,
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

static void zc_imp_spy_sync_for_cpu(struct device *dev,
				    struct scatterlist *sgl, int nents,
				    enum dma_data_direction dir)
{
	zc_imp_log_sync(true, sgl, nents, dir);
}

static void zc_imp_spy_sync_for_device(struct device *dev,
				       struct scatterlist *sgl, int nents,
				       enum dma_data_direction dir)
{
	zc_imp_log_sync(false, sgl, nents, dir);
}

static const struct dma_map_ops zc_imp_spy_ops = {
	.map_page = zc_imp_spy_map_page,
	.map_sg = zc_imp_spy_map_sg,
	.sync_sg_for_cpu = zc_imp_spy_sync_for_cpu,
	.sync_sg_for_device = zc_imp_spy_sync_for_device,
};

/* What one open file keeps mapped (ZC_IMP_KEEP). */
struct zc_imp_file {
	struct mutex lock; /* protects the fields below */
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
};

static void zc_imp_unmap(struct dma_buf *dmabuf,
			 struct dma_buf_attachment *attach,
			 struct sg_table *sgt)
{
	if (sgt)
		dma_buf_unmap_attachment_unlocked(attach, sgt,
						  DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, attach);
	dma_buf_put(dmabuf);
}

static void zc_imp_release_kept(struct zc_imp_file *f)
{
	if (!f->dmabuf)
		return;
	zc_imp_unmap(f->dmabuf, f->attach, f->sgt);
	f->dmabuf = NULL;
	f->attach = NULL;
	f->sgt = NULL;
}

/* The same rule as drm_prime_get_contiguous_size(). */
static u64 zc_imp_contig_size(struct sg_table *sgt)
{
	dma_addr_t expected = sg_dma_address(sgt->sgl);
	struct scatterlist *sg;
	u64 size = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		unsigned int len = sg_dma_len(sg);

		if (!len || sg_dma_address(sg) != expected)
			break;
		expected += len;
		size += len;
	}
	return size;
}

static u32 zc_imp_fnv(u32 h, const u8 *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 16777619;
	}
	return h;
}

/* zc_imp_access() with the sg table's page links as the exporter made them. */
static int zc_imp_access_pages(struct sg_table *sgt, u64 offset, u64 len,
			       u8 __user *ubuf, bool write, u32 *csum)
{
	struct sg_page_iter piter;
	u64 pos = 0, end = offset + len;
	u32 h = 2166136261U;
	int ret = 0;

	for_each_sgtable_page(sgt, &piter, 0) {
		u64 from = max(pos, offset), to = min(pos + PAGE_SIZE, end);
		u8 *va;

		if (from < to) {
			va = kmap_local_page(sg_page_iter_page(&piter));
			if (write) {
				if (copy_from_user(va + (from - pos),
						   ubuf + (from - offset),
						   to - from))
					ret = -EFAULT;
			} else if (copy_to_user(ubuf + (from - offset),
						va + (from - pos), to - from)) {
				ret = -EFAULT;
			}
			if (!ret)
				h = zc_imp_fnv(h, va + (from - pos), to - from);
			kunmap_local(va);
			if (ret)
				return ret;
		}
		pos += PAGE_SIZE;
		if (pos >= end)
			break;
	}
	*csum = h;
	return 0;
}

/*
 * With CONFIG_DMABUF_DEBUG, dma_buf_map_attachment() hands importers an sg
 * table whose page links are XORed with ~0xff, so that one that uses the
 * struct pages (which an importer should not) faults; the core undoes it
 * before the exporter sees the table again. This module reads the pages on
 * purpose, to compare bytes, so it undoes the mix-up while it reads and
 * redoes it after.
 */
static void zc_imp_toggle_page_links(struct sg_table *sgt)
{
	struct scatterlist *sg;
	int i;

	if (!IS_ENABLED(CONFIG_DMABUF_DEBUG))
		return;
	for_each_sgtable_sg(sgt, sg, i)
		sg->page_link ^= ~0xffUL;
}

/*
 * Copies [@offset, @offset + @len) of the buffer from or to @ubuf through
 * the pages the sg table names, one page at a time.
 */
static int zc_imp_access(struct sg_table *sgt, u64 offset, u64 len,
			 u8 __user *ubuf, bool write, u32 *csum)
{
	int ret;

	zc_imp_toggle_page_links(sgt);
	ret = zc_imp_access_pages(sgt, offset, len, ubuf, write, csum);
	zc_imp_toggle_page_links(sgt);
	return ret;
}

static long zc_imp_map(struct zc_imp_file *f, struct zc_imp_map __user *uarg)
{
	struct dma_buf_attachment *attach;
	struct zc_imp_map req;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct device *dev;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~(ZC_IMP_REQUIRE_CONTIG | ZC_IMP_WRITE | ZC_IMP_SPY |
			  ZC_IMP_KEEP) || req.pad)
		return -EINVAL;

	dmabuf = dma_buf_get(req.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (req.offset > dmabuf->size || req.len > dmabuf->size - req.offset) {
		dma_buf_put(dmabuf);
		return -EINVAL;
	}

	dev = req.flags & ZC_IMP_SPY ? &zc_imp_spy->dev : &zc_imp_plain->dev;
	attach = dma_buf_attach(dmabuf, dev);
	if (IS_ERR(attach)) {
		dma_buf_put(dmabuf);
		return PTR_ERR(attach);
	}
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		sgt = NULL;
		goto out;
	}

	req.size = dmabuf->size;
	req.nents = sgt->orig_nents;
	req.dma_nents = sgt->nents;
	req.dma_first = sg_dma_address(sgt->sgl);
	req.contig_size = zc_imp_contig_size(sgt);
	req.csum = 0;

	if ((req.flags & ZC_IMP_REQUIRE_CONTIG) &&
	    req.contig_size < dmabuf->size) {
		ret = -EINVAL;
		goto out_report;
	}
	if (req.len) {
		ret = zc_imp_access(sgt, req.offset, req.len,
				    u64_to_user_ptr(req.buf),
				    req.flags & ZC_IMP_WRITE, &req.csum);
		if (ret)
			goto out;
	}
	ret = 0;

	if (req.flags & ZC_IMP_KEEP) {
		mutex_lock(&f->lock);
		zc_imp_release_kept(f);
		f->dmabuf = dmabuf;
		f->attach = attach;
		f->sgt = sgt;
		mutex_unlock(&f->lock);
		dmabuf = NULL;
	}

out_report:
	/* A refusal still says what the buffer looked like. */
	if (copy_to_user(uarg, &req, sizeof(req)) && !ret)
		ret = -EFAULT;
out:
	if (dmabuf)
		zc_imp_unmap(dmabuf, attach, sgt);
	return ret;
}

static long zc_imp_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct zc_imp_file *f = file->private_data;
	struct zc_imp_sync_log log;

	switch (cmd) {
	case ZC_IMP_IOC_MAP:
		return zc_imp_map(f, (struct zc_imp_map __user *)arg);
	case ZC_IMP_IOC_SYNC_LOG:
		spin_lock(&zc_imp_log_lock);
		log = zc_imp_log;
		memset(&zc_imp_log, 0, sizeof(zc_imp_log));
		spin_unlock(&zc_imp_log_lock);
		return copy_to_user((void __user *)arg, &log, sizeof(log)) ?
		       -EFAULT : 0;
	case ZC_IMP_IOC_RELEASE:
		mutex_lock(&f->lock);
		zc_imp_release_kept(f);
		mutex_unlock(&f->lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

static int zc_imp_open(struct inode *inode, struct file *file)
{
	struct zc_imp_file *f;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	file->private_data = f;
	return 0;
}

static int zc_imp_release(struct inode *inode, struct file *file)
{
	struct zc_imp_file *f = file->private_data;

	zc_imp_release_kept(f);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static const struct file_operations zc_imp_fops = {
	.owner = THIS_MODULE,
	.open = zc_imp_open,
	.release = zc_imp_release,
	.unlocked_ioctl = zc_imp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice zc_imp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "zc_importer",
	.fops = &zc_imp_fops,
	.mode = 0600,
};

static struct platform_device *zc_imp_register(const char *name)
{
	struct platform_device_info info = {
		.name = name,
		.id = PLATFORM_DEVID_NONE,
		.dma_mask = DMA_BIT_MASK(64),
	};

	return platform_device_register_full(&info);
}

static int __init zc_imp_init(void)
{
	int ret;

	zc_imp_plain = zc_imp_register("zc_importer_plain");
	if (IS_ERR(zc_imp_plain))
		return PTR_ERR(zc_imp_plain);
	zc_imp_spy = zc_imp_register("zc_importer_spy");
	if (IS_ERR(zc_imp_spy)) {
		ret = PTR_ERR(zc_imp_spy);
		goto err_plain;
	}
	set_dma_ops(&zc_imp_spy->dev, &zc_imp_spy_ops);

	ret = misc_register(&zc_imp_misc);
	if (ret)
		goto err_spy;
	dev_info(&zc_imp_plain->dev, "DMA ops: %s\n",
		 get_dma_ops(&zc_imp_plain->dev) ? "the platform's" :
		 "dma-direct");
	return 0;

err_spy:
	platform_device_unregister(zc_imp_spy);
err_plain:
	platform_device_unregister(zc_imp_plain);
	return ret;
}

static void __exit zc_imp_exit(void)
{
	misc_deregister(&zc_imp_misc);
	platform_device_unregister(zc_imp_spy);
	platform_device_unregister(zc_imp_plain);
}

module_init(zc_imp_init);
module_exit(zc_imp_exit);

MODULE_DESCRIPTION("Test-only dma-buf importer for the xen-zcopy tests");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
