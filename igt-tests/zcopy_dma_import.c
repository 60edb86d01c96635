// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA path of a real importer: a display unit maps the dma-buf's
 * attachment and reads what the sg table names, where vkms reads through
 * vmap and vgem through mmap. The test-only module igt-tests/kmod
 * (/dev/zc_importer) does that, and reads or writes the bytes through the
 * sg table's pages. Also: FROM_REFS2_CONTIGUOUS, which gives importers
 * that need one contiguous DMA range (drm_gem_dma) a buffer they accept;
 * the cache maintenance the export asks of an importer's device around
 * CPU access (DMA_BUF_IOCTL_SYNC); and mmap faults past the first page.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/dma-buf.h>

#include "kmod/zc_importer.h"
#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
/* Enough pages that a non-contiguous buffer is one by more than chance. */
#define NPAGES		64
/* The frame vkms shows for the contiguous scanout. */
#define FW		1024
#define FH		768
#define FPAGES		(FW * FH * 4 / PAGE)
#define SEED		0x5a

/* enum dma_data_direction */
#define DMA_BIDIRECTIONAL	0
#define DMA_TO_DEVICE		1
#define DMA_FROM_DEVICE		2

static struct zc_stats base;

static int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261U;

	while (n--) {
		h ^= *p++;
		h *= 16777619;
	}
	return h;
}

static int imp = -1;

static void imp_open(void)
{
	imp = open("/dev/zc_importer", O_RDWR | O_CLOEXEC);
	if (imp < 0)
		zc_skip("no /dev/zc_importer (igt-tests/kmod not loaded): %s",
			strerror(errno));
	zc_at_exit(zc_close_cleanup, &imp);
}

/* Maps @dmabuf with @flags and reads or writes [@ofs, @ofs + @len) at @buf. */
static int imp_map(int dmabuf, uint32_t flags, void *buf, uint64_t ofs,
		   uint64_t len, struct zc_imp_map *out)
{
	struct zc_imp_map m = {
		.fd = dmabuf,
		.flags = flags,
		.buf = (uintptr_t)buf,
		.offset = ofs,
		.len = len,
	};
	int ret = ioctl_err(imp, ZC_IMP_IOC_MAP, &m);

	if (out)
		*out = m;
	zc_info("import flags 0x%x: %d, size %llu nents %u dma_nents %u contiguous %llu first 0x%llx\n",
		flags, ret, (unsigned long long)m.size, m.nents, m.dma_nents,
		(unsigned long long)m.contig_size,
		(unsigned long long)m.dma_first);
	return ret;
}

static bool can_contig(int fd)
{
	struct drm_xen_zcopy_get_caps c = { 0 };

	zc_assert_ok(ioctl_err(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c));
	return c.caps & DRM_XEN_ZCOPY_CAP_CONTIGUOUS;
}

static int zfd = -1, dmabuf = -1;
static struct zc_gntalloc ga;

/*
 * @n self-granted pages holding a pattern, a FROM_REFS2 buffer on them
 * with @flags and its dma-buf in dmabuf; returns the FROM_REFS2 result.
 */
static struct drm_xen_zcopy_from_refs2 from_refs(uint32_t n, uint32_t w,
						 uint32_t h, uint32_t flags,
						 int *err)
{
	struct drm_xen_zcopy_from_refs2 r = {
		.num_grefs = n,
		.flags = flags | DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD,
		.fourcc = DRM_FORMAT_XRGB8888,
		.width = w,
		.height = h,
		.pitches = { w * 4 },
	};

	if (ga.fd < 0 || !ga.map) {
		ga.fd = -1;
		zc_assert_ok(zc_gntalloc_alloc(&ga, 0, n, true));
		zc_at_exit(zc_gntalloc_cleanup, &ga);
		zc_fill_pattern(ga.map, n * PAGE / 64, 16, n * PAGE / 16, SEED);
	}
	if (zfd < 0) {
		zfd = zc_xen_open();
		zc_assert(zfd >= 0);
		zc_at_exit(zc_close_cleanup, &zfd);
	}
	r.grefs = (uintptr_t)ga.refs;
	*err = ioctl_err(zfd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r);
	if (!*err) {
		dmabuf = r.dmabuf_fd;
		zc_at_exit(zc_close_cleanup, &dmabuf);
	}
	return r;
}

static void put_buffer(const struct drm_xen_zcopy_from_refs2 *r)
{
	struct drm_xen_zcopy_wait_free2 w = { .wait_handle = r->wait_handle };
	struct timespec ts;

	zc_assert_ok(zc_gem_close(zfd, r->handle));
	close(dmabuf);
	dmabuf = -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.deadline_ns = (ts.tv_sec + 5) * 1000000000LL + ts.tv_nsec;
	zc_assert_ok(ioctl_err(zfd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w));
	zc_assert_eq(w.status, DRM_XEN_ZCOPY_WAIT_FREED);
}

/*
 * The frontend's bytes read through the importer's sg table equal what the
 * frontend wrote, at every offset; the importer's writes reach the
 * frontend's pages.
 */
static void check_bytes(uint32_t n, uint32_t flags)
{
	size_t size = (size_t)n * PAGE;
	struct zc_imp_map m;
	uint8_t *buf;
	size_t ofs;

	buf = malloc(size);
	zc_assert(buf);
	memset(buf, 0xee, size);
	zc_assert_ok(imp_map(dmabuf, flags, buf, 0, size, &m));
	zc_assert_eq(m.size, size);
	zc_assert_eq(m.nents, n);
	zc_assert_f(memcmp(buf, ga.map, size) == 0,
		    "the sg table's pages do not hold the frontend's bytes");
	zc_assert_eq(m.csum, fnv(ga.map, size));

	/* A range across a page boundary, and the last bytes. */
	ofs = size / 2 - 100;
	zc_assert_ok(imp_map(dmabuf, flags, buf, ofs, 200, &m));
	zc_assert(memcmp(buf, ga.map + ofs, 200) == 0);
	zc_assert_ok(imp_map(dmabuf, flags, buf, size - 16, 16, &m));
	zc_assert(memcmp(buf, ga.map + size - 16, 16) == 0);

	/* The importer writes; the frontend sees it. */
	for (ofs = 0; ofs < 300; ofs++)
		buf[ofs] = (uint8_t)(ofs * 7 + 1);
	zc_assert_ok(imp_map(dmabuf, flags | ZC_IMP_WRITE, buf,
			     size - PAGE - 150, 300, &m));
	zc_assert_f(memcmp(buf, ga.map + size - PAGE - 150, 300) == 0,
		    "the importer's writes did not reach the frontend");
	zc_assert_eq(m.csum, fnv(buf, 300));
	free(buf);
}

static void test_from_refs_bytes(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	int err;

	zc_baseline_start(&base);
	imp_open();
	r = from_refs(NPAGES, 64, 64, 0, &err);
	zc_assert_ok(err);
	check_bytes(NPAGES, 0);
	check_bytes(NPAGES, ZC_IMP_SPY);
	put_buffer(&r);
	zc_baseline_finish(&base, 3000);
}

/*
 * TO_REFS: a vgem buffer granted by the driver, mapped by a frontend
 * (gntdev); its writes are what the importer reads through the exporter's
 * (vgem's) sg table, and the importer's writes are what it sees.
 */
static void test_to_refs_round_trip(void)
{
	static struct zc_gntdev gd;
	static int vfd = -1, vbuf = -1;
	struct drm_xen_zcopy_to_refs2 t = { 0 };
	uint32_t refs[NPAGES], h;
	size_t size = NPAGES * PAGE, i;
	struct zc_imp_map m;
	struct zc_dumb d;
	uint8_t *buf;

	zc_baseline_start(&base);
	imp_open();
	vfd = zc_drm_open_driver("vgem", NULL);
	zc_require(vfd >= 0);
	zc_at_exit(zc_close_cleanup, &vfd);
	zc_assert_ok(zc_dumb_create(vfd, 64, NPAGES * PAGE / 256, 32, &d));
	zc_assert_eq(d.size, size);
	zc_assert_ok(zc_prime_export(vfd, d.handle, &vbuf));
	zc_at_exit(zc_close_cleanup, &vbuf);

	zfd = zc_xen_open();
	zc_assert(zfd >= 0);
	zc_at_exit(zc_close_cleanup, &zfd);
	zc_assert_ok(zc_prime_import(zfd, vbuf, &h));
	t.grefs = (uintptr_t)refs;
	t.num_grefs = NPAGES;
	t.handle = h;
	zc_assert_ok(ioctl_err(zfd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t));
	gd.fd = -1;
	zc_assert_ok(zc_gntdev_map(&gd, 0, refs, NPAGES, true));

	zc_fill_pattern(gd.map, 64, NPAGES * PAGE / 256, 256, SEED + 1);
	buf = malloc(size);
	zc_assert(buf);
	zc_assert_ok(imp_map(vbuf, 0, buf, 0, size, &m));
	zc_assert_eq(m.nents > 0, 1);
	zc_assert_f(memcmp(buf, gd.map, size) == 0,
		    "the frontend's writes are not in the exporter's sg pages");
	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	zc_assert_ok(imp_map(vbuf, ZC_IMP_WRITE, buf, 0, size, &m));
	zc_assert_f(memcmp(buf, gd.map, size) == 0,
		    "the importer's writes did not reach the frontend");
	free(buf);

	zc_gntdev_unmap(&gd);
	zc_assert_ok(zc_gem_close(zfd, h));
	close(zfd);
	zfd = -1;
	close(vbuf);
	vbuf = -1;
	close(vfd);
	vfd = -1;
	zc_baseline_finish(&base, 5000);
}

static void sync_ioctl(uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	zc_assert_ok(ioctl_err(dmabuf, DMA_BUF_IOCTL_SYNC, &s));
}

/*
 * Each DMA_BUF_IOCTL_SYNC reaches the attached device's cache maintenance
 * once, in the direction it names, over the whole buffer: begin to the
 * CPU, end back to the device. Caches cannot be watched under TCG or on
 * x86; the calls can.
 */
static void test_cpu_access_sync(void)
{
	static const struct {
		uint64_t flags;
		uint32_t for_cpu, dir;
	} cases[] = {
		{ DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ, 1, DMA_FROM_DEVICE },
		{ DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ, 0, DMA_FROM_DEVICE },
		{ DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE, 1, DMA_TO_DEVICE },
		{ DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE, 0, DMA_TO_DEVICE },
		{ DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW, 1, DMA_BIDIRECTIONAL },
		{ DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW, 0, DMA_BIDIRECTIONAL },
	};
	struct drm_xen_zcopy_from_refs2 r;
	struct zc_imp_sync_log log;
	unsigned int i;
	int err;

	zc_baseline_start(&base);
	imp_open();
	r = from_refs(NPAGES, 64, 64, 0, &err);
	zc_assert_ok(err);
	zc_assert_ok(imp_map(dmabuf, ZC_IMP_SPY | ZC_IMP_KEEP, NULL, 0, 0,
			     NULL));
	zc_assert_ok(ioctl_err(imp, ZC_IMP_IOC_SYNC_LOG, &log));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sync_ioctl(cases[i].flags);
		zc_assert_ok(ioctl_err(imp, ZC_IMP_IOC_SYNC_LOG, &log));
		zc_info("sync 0x%llx: %u calls, for_cpu %u dir %u nents %u bytes %llu\n",
			(unsigned long long)cases[i].flags, log.count,
			log.rec[0].for_cpu, log.rec[0].dir, log.rec[0].nents,
			(unsigned long long)log.rec[0].bytes);
		zc_assert_f(log.count == 1, "case %u: %u calls", i, log.count);
		zc_assert_eq(log.rec[0].for_cpu, cases[i].for_cpu);
		zc_assert_eq(log.rec[0].dir, cases[i].dir);
		zc_assert_eq(log.rec[0].nents, NPAGES);
		zc_assert_eq(log.rec[0].bytes, (uint64_t)NPAGES * PAGE);
	}

	/* A detached device is not synced any more. */
	zc_assert_ok(ioctl_err(imp, ZC_IMP_IOC_RELEASE, NULL));
	sync_ioctl(DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	sync_ioctl(DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	zc_assert_ok(ioctl_err(imp, ZC_IMP_IOC_SYNC_LOG, &log));
	zc_assert_eq(log.count, 0);

	put_buffer(&r);
	zc_baseline_finish(&base, 3000);
}

/*
 * x86 PV has no contiguous buffers: the flag is refused with EOPNOTSUPP
 * and GET_CAPS does not offer it. Auto-translated domains offer it.
 */
static void test_contiguous_caps(void)
{
	int err;

	zc_baseline_start(&base);
	zfd = zc_xen_open();
	zc_assert(zfd >= 0);
	zc_at_exit(zc_close_cleanup, &zfd);
	if (zc_is_pv()) {
		zc_assert(!can_contig(zfd));
		from_refs(4, 32, 32, DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS, &err);
		zc_assert_eq(err, -EOPNOTSUPP);
		zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);
	} else {
		zc_assert(can_contig(zfd));
	}
	zc_baseline_finish(&base, 3000);
}

/*
 * Without the flag a buffer's pages are wherever the pool of ballooned
 * pages had them: an importer that needs one contiguous DMA range refuses
 * the buffer. The pool may hand out an ascending run by chance; it is a
 * stack (x86's unpopulated pages, arm64's balloon), so a second buffer
 * made after the first is freed gets the same pages in reverse order,
 * which is no ascending run.
 */
static void test_non_contiguous_rejected(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	struct zc_imp_map m;
	int err, attempt;

	zc_baseline_start(&base);
	imp_open();
	for (attempt = 0; attempt < 2; attempt++) {
		r = from_refs(NPAGES, 64, 64, 0, &err);
		zc_assert_ok(err);
		err = imp_map(dmabuf, ZC_IMP_SPY | ZC_IMP_REQUIRE_CONTIG, NULL,
			      0, 0, &m);
		if (err != -EINVAL) {
			/* Accepted: then it really is one range. */
			zc_assert_ok(err);
			zc_assert_eq(m.contig_size, m.size);
			zc_info("attempt %d: contiguous by chance\n", attempt);
			put_buffer(&r);
			continue;
		}
		zc_assert(m.contig_size < m.size);
		if (!zc_is_pv())
			zc_assert_eq(imp_map(dmabuf, ZC_IMP_REQUIRE_CONTIG,
					     NULL, 0, 0, &m), -EINVAL);
		put_buffer(&r);
		break;
	}
	zc_assert_f(attempt < 2, "two buffers in a row were contiguous");
	zc_baseline_finish(&base, 3000);
}

/*
 * With the flag the same importer takes it, on both devices, and reads
 * the frontend's bytes; the range goes back when the buffer goes.
 */
static void test_contiguous_accepted(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	struct zc_imp_map m;
	int err;

	zc_baseline_start(&base);
	imp_open();
	zfd = zc_xen_open();
	zc_assert(zfd >= 0);
	zc_at_exit(zc_close_cleanup, &zfd);
	zc_require(can_contig(zfd));
	r = from_refs(NPAGES, 64, 64, DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS,
		      &err);
	zc_assert_ok(err);
	zc_assert_eq(zc_stat("contig_pages"), base.v[9] + NPAGES);
	zc_assert_ok(imp_map(dmabuf, ZC_IMP_REQUIRE_CONTIG, NULL, 0, 0, &m));
	zc_assert_eq(m.contig_size, (uint64_t)NPAGES * PAGE);
	zc_assert_ok(imp_map(dmabuf, ZC_IMP_SPY | ZC_IMP_REQUIRE_CONTIG, NULL,
			     0, 0, &m));
	zc_assert_eq(m.contig_size, (uint64_t)NPAGES * PAGE);
	check_bytes(NPAGES, ZC_IMP_REQUIRE_CONTIG);
	check_bytes(NPAGES, ZC_IMP_REQUIRE_CONTIG | ZC_IMP_SPY);
	put_buffer(&r);
	zc_assert_eq(zc_stat("contig_pages"), base.v[9]);
	zc_baseline_finish(&base, 3000);
}

/*
 * All or nothing: a bad ref in the middle fails the call, and the range
 * and its frames are given back at once.
 */
static void test_contiguous_all_or_nothing(void)
{
	struct drm_xen_zcopy_from_refs2 r;
	uint32_t saved;
	int err;

	zc_baseline_start(&base);
	imp_open();
	zfd = zc_xen_open();
	zc_assert(zfd >= 0);
	zc_at_exit(zc_close_cleanup, &zfd);
	zc_require(can_contig(zfd));
	ga.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, NPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	saved = ga.refs[NPAGES / 2];
	ga.refs[NPAGES / 2] = 0x7fffff;
	r = from_refs(NPAGES, 64, 64, DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS,
		      &err);
	zc_assert_eq(err, -EINVAL);
	(void)r;
	zc_assert_eq(zc_stat("contig_pages"), base.v[9]);
	zc_baseline_check(&base, 3000, "a failed contiguous call kept something");
	ga.refs[NPAGES / 2] = saved;
	r = from_refs(NPAGES, 64, 64, DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS,
		      &err);
	zc_assert_ok(err);
	zc_assert_ok(imp_map(dmabuf, ZC_IMP_REQUIRE_CONTIG, NULL, 0, 0, NULL));
	put_buffer(&r);
	zc_baseline_finish(&base, 3000);
}

/*
 * A contiguous frame scans out on vkms with the CRC of a native buffer
 * holding the same pixels.
 */
static void test_contiguous_scanout_crc(void)
{
	static struct zc_kms kms;
	struct drm_xen_zcopy_from_refs2 r;
	uint32_t native_crc, crc, h, *npx;
	struct zc_imp_map m;
	struct zc_dumb nd;
	int err;

	zc_baseline_start(&base);
	imp_open();
	zfd = zc_xen_open();
	zc_assert(zfd >= 0);
	zc_at_exit(zc_close_cleanup, &zfd);
	zc_require(can_contig(zfd));

	/*
	 * The buffer first: once vkms computes CRCs, a slow step before they
	 * are read overflows its CRC queue (a kernel error line).
	 */
	ga.fd = -1;
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, FPAGES, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
	zc_fill_pattern(ga.map, FW, FH, FW * 4, SEED);
	r = from_refs(FPAGES, FW, FH, DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS,
		      &err);
	zc_assert_ok(err);
	zc_assert_ok(imp_map(dmabuf, ZC_IMP_REQUIRE_CONTIG, NULL, 0, 0, &m));

	zc_kms_get(&kms, FW, FH);
	npx = zc_kms_native(&kms, FW, FH, &nd);
	zc_fill_pattern(npx, FW, FH, nd.pitch, SEED);
	zc_assert_ok(zc_kms_show(&kms, nd.handle, nd.pitch));
	zc_assert_ok(zc_crc_current(&kms, &native_crc));

	zc_assert_ok(zc_prime_import(kms.fd, dmabuf, &h));
	zc_assert_ok(zc_kms_show(&kms, h, FW * 4));
	zc_assert_ok(zc_gem_close(kms.fd, h));
	zc_assert_ok(zc_crc_current(&kms, &crc));
	zc_info("native 0x%08x, contiguous zero-copy 0x%08x\n", native_crc,
		crc);
	zc_assert_eq(crc, native_crc);
	zc_kms_fini(&kms);
	put_buffer(&r);
	zc_baseline_finish(&base, 3000);
}

/*
 * mmap faults at non-zero offsets: a map of the dma-buf that starts in the
 * middle, one of only the last page, and the DRM node's map read at every
 * page; each page holds the frontend's bytes for its place.
 */
static void check_mmaps(uint32_t n)
{
	size_t size = (size_t)n * PAGE, i;
	struct drm_mode_map_dumb md = { 0 };
	struct drm_xen_zcopy_from_refs2 r;
	uint8_t *p;
	int err;

	r = from_refs(n, 64, 64, can_contig(zfd) ?
		      DRM_XEN_ZCOPY_FROM_REFS2_CONTIGUOUS : 0, &err);
	zc_assert_ok(err);

	p = mmap(NULL, size / 2, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf,
		 size / 2);
	zc_assert(p != MAP_FAILED);
	/* Last page first: faults in no particular order. */
	for (i = n / 2; i-- > 0;)
		zc_assert_f(memcmp(p + i * PAGE, ga.map + size / 2 + i * PAGE,
				   PAGE) == 0, "page %zu", n / 2 + i);
	p[PAGE + 3] = 0xa5;
	zc_assert_eq(ga.map[size / 2 + PAGE + 3], 0xa5);
	munmap(p, size / 2);

	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, dmabuf, size - PAGE);
	zc_assert(p != MAP_FAILED);
	zc_assert(memcmp(p, ga.map + size - PAGE, PAGE) == 0);
	munmap(p, PAGE);

	/*
	 * The DRM node maps a GEM object only whole (the core looks the
	 * offset up exactly): fault its last page first, then the middle.
	 */
	md.handle = r.handle;
	zc_assert_ok(ioctl_err(zfd, DRM_IOCTL_MODE_MAP_DUMB, &md));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, zfd,
		 md.offset);
	zc_assert(p != MAP_FAILED);
	zc_assert(memcmp(p + size - PAGE, ga.map + size - PAGE, PAGE) == 0);
	zc_assert(memcmp(p + size / 2 - PAGE, ga.map + size / 2 - PAGE,
			 2 * PAGE) == 0);
	p[size / 2 - 5] = 0x5a;
	zc_assert_eq(ga.map[size / 2 - 5], 0x5a);
	zc_assert(memcmp(p, ga.map, size) == 0);
	munmap(p, size);
	put_buffer(&r);
}

static void test_mmap_offsets(void)
{
	zc_baseline_start(&base);
	zfd = zc_xen_open();
	zc_assert(zfd >= 0);
	zc_at_exit(zc_close_cleanup, &zfd);
	ga.fd = -1;
	check_mmaps(NPAGES);
	zc_baseline_finish(&base, 3000);
}

static const struct zc_subtest subtests[] = {
	{ "from-refs-bytes", test_from_refs_bytes },
	{ "to-refs-round-trip", test_to_refs_round_trip },
	{ "cpu-access-sync", test_cpu_access_sync },
	{ "contiguous-caps", test_contiguous_caps },
	{ "non-contiguous-rejected", test_non_contiguous_rejected },
	{ "contiguous-accepted", test_contiguous_accepted },
	{ "contiguous-all-or-nothing", test_contiguous_all_or_nothing },
	{ "contiguous-scanout-crc", test_contiguous_scanout_crc },
	{ "mmap-offsets", test_mmap_offsets },
	{ }
};

ZC_MAIN(subtests)
