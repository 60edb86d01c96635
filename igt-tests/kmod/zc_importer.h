/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * zc_importer: a test-only dma-buf importer (/dev/zc_importer) that maps a
 * dma-buf's attachment as a DMA device does and touches its bytes through
 * the pages of the sg table, for the xen-zcopy tests.
 */
#ifndef ZC_IMPORTER_H
#define ZC_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Refuse a buffer whose DMA addresses are not one contiguous range. */
#define ZC_IMP_REQUIRE_CONTIG	(1U << 0)
/* Write the bytes at @buf into the buffer instead of reading them out. */
#define ZC_IMP_WRITE		(1U << 1)
/*
 * Attach the spy device instead of the plain one: its DMA addresses are
 * guest-physical addresses (a device behind an IOMMU that uses the p2m)
 * and it records the cache maintenance the exporter asks of it.
 */
#define ZC_IMP_SPY		(1U << 2)
/* Keep the attachment mapped until ZC_IMP_IOC_RELEASE or close. */
#define ZC_IMP_KEEP		(1U << 3)

/**
 * struct zc_imp_map - attach, map and access a dma-buf
 * @fd: in, the dma-buf
 * @flags: in, ZC_IMP_*
 * @buf: in, user buffer of @len bytes (read into or written from)
 * @offset: in, first byte of the buffer to access
 * @len: in, bytes to access (0: none)
 * @size: out, the dma-buf's size
 * @nents: out, entries of the sg table
 * @dma_nents: out, mapped DMA segments
 * @contig_size: out, bytes from the start whose DMA addresses follow each
 *	other (what drm_gem_dma's import checks)
 * @dma_first: out, DMA address of the first segment
 * @csum: out, FNV-1a of the bytes accessed
 * @pad: 0
 */
struct zc_imp_map {
	__s32 fd;
	__u32 flags;
	__u64 buf;
	__u64 offset;
	__u64 len;
	__u64 size;
	__u32 nents;
	__u32 dma_nents;
	__u64 contig_size;
	__u64 dma_first;
	__u32 csum;
	__u32 pad;
};

#define ZC_IMP_LOG_MAX	16

/**
 * struct zc_imp_sync - one cache maintenance call on the spy device
 * @for_cpu: 1 for sync_sg_for_cpu, 0 for sync_sg_for_device
 * @dir: enum dma_data_direction
 * @nents: entries synced
 * @pad: 0
 * @bytes: bytes synced
 */
struct zc_imp_sync {
	__u32 for_cpu;
	__u32 dir;
	__u32 nents;
	__u32 pad;
	__u64 bytes;
};

/**
 * struct zc_imp_sync_log - the spy device's calls since the last read
 * @count: out, calls made (may exceed ZC_IMP_LOG_MAX: only the first
 *	ZC_IMP_LOG_MAX are in @rec)
 * @pad: 0
 * @rec: out, the calls, oldest first
 */
struct zc_imp_sync_log {
	__u32 count;
	__u32 pad;
	struct zc_imp_sync rec[ZC_IMP_LOG_MAX];
};

#define ZC_IMP_IOC_MAP		_IOWR('Z', 0x40, struct zc_imp_map)
#define ZC_IMP_IOC_SYNC_LOG	_IOR('Z', 0x41, struct zc_imp_sync_log)
#define ZC_IMP_IOC_RELEASE	_IO('Z', 0x42)

#endif /* ZC_IMPORTER_H */
