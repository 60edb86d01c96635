// SPDX-License-Identifier: GPL-2.0
/*
 * The child of igt-tests/zcopy_compat32: one xen_drm_zcopy call sequence
 * per run, made by a 32-bit process (i386 or armhf) on a 64-bit kernel,
 * or by the same source built 64-bit as the reference. It uses only libc
 * and the UAPI header, so it needs no 32-bit libdrm, and reports what it
 * saw as "key=value" lines on stdout; the parent makes the grants (the
 * Debian 6.1 gntalloc and gntdev have no compat_ioctl), passes the DRM
 * and dma-buf fds it opened, and asserts.
 *
 *	zc_c32 abi
 *	zc_c32 from-refs FD DOMID W H BPP SEED NEWSEED REF...
 *	zc_c32 to-refs FD DMABUF DOMID NPAGES
 *	zc_c32 wait-free FD WAIT_HANDLE MS
 *	zc_c32 gem-close FD HANDLE
 *	zc_c32 caps FD
 *	zc_c32 from-refs2 FD DOMID W H SEED NEWSEED REF...
 *	zc_c32 to-refs2 FD DMABUF DOMID NPAGES
 *	zc_c32 wait-free2 FD WAIT_HANDLE MS
 *	zc_c32 bad FD
 *
 * Exit status 0 when the sequence ran (the ioctls' results are in the
 * output), 2 for a bad command line.
 */

/* DRM mmap offsets start at 4 GiB on a 64-bit kernel: mmap2 for them. */
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "xen_zcopy_drm.h"
#include "zc_c32.h"

#define PAGE		4096
#define MAX_REFS	64
/* DRM_FORMAT_XRGB8888, without drm_fourcc.h. */
#define FOURCC_XR24	0x34325258u

/* The sizes that give a 32-bit caller its own v1 ioctl numbers. */
#if defined(__i386__)
_Static_assert(sizeof(struct drm_xen_zcopy_dumb_from_refs) == 52, "i386 v1");
_Static_assert(sizeof(struct drm_xen_zcopy_dumb_to_refs) == 20, "i386 v1");
#elif defined(__arm__)
_Static_assert(sizeof(struct drm_xen_zcopy_dumb_from_refs) == 56, "armhf v1");
_Static_assert(sizeof(struct drm_xen_zcopy_dumb_to_refs) == 24, "armhf v1");
#endif

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static unsigned long num(const char *s)
{
	return strtoul(s, NULL, 0);
}

static void usage(void)
{
	fprintf(stderr, "zc_c32: bad command line (see the source)\n");
	exit(2);
}

static void cmd_abi(void)
{
	printf("bits=%zu\n", sizeof(long) * 8);
	printf("from_refs=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS);
	printf("to_refs=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS);
	printf("wait_free=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE);
	printf("get_caps=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_GET_CAPS);
	printf("from_refs2=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_FROM_REFS2);
	printf("to_refs2=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_TO_REFS2);
	printf("wait_free2=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2);
	printf("wait_fd=0x%08lx\n", (unsigned long)DRM_IOCTL_XEN_ZCOPY_WAIT_FD);
}

static int dmabuf_sync(int dmabuf, unsigned long long flags)
{
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_RW };

	return xioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &s);
}

/*
 * Checks pattern @seed through an mmap of the dma-buf and of the GEM
 * handle (MODE_MAP_DUMB), then writes pattern @newseed through the
 * dma-buf for the parent to find on its side.
 */
static void bytes_through_maps(int fd, uint32_t handle, int dmabuf,
			       size_t size, uint32_t seed, uint32_t newseed)
{
	struct drm_mode_map_dumb md = { .handle = handle };
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	if (p == MAP_FAILED) {
		printf("dmabuf_map=%d\n", -errno);
	} else {
		printf("dmabuf_map=0\n");
		printf("sync_start=%d\n", dmabuf_sync(dmabuf, DMA_BUF_SYNC_START));
		printf("dmabuf_check=%ld\n", zc_c32_check(p, size, seed));
		zc_c32_fill(p, size, newseed);
		printf("sync_end=%d\n", dmabuf_sync(dmabuf, DMA_BUF_SYNC_END));
		printf("wrote=%u\n", newseed);
		munmap(p, size);
	}

	printf("map_dumb=%d\n", xioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md));
	printf("map_offset=0x%llx\n", (unsigned long long)md.offset);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, (off_t)md.offset);
	if (p == MAP_FAILED) {
		printf("dumb_map=%d\n", -errno);
		return;
	}
	printf("dumb_map=0\n");
	printf("dumb_check=%ld\n", zc_c32_check(p, size, newseed));
	munmap(p, size);
}

static int prime_export(int fd, uint32_t handle, int *dmabuf)
{
	struct drm_prime_handle ph = {
		.handle = handle,
		.flags = DRM_CLOEXEC | DRM_RDWR,
	};
	int ret = xioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph);

	*dmabuf = ph.fd;
	return ret;
}

static uint32_t parse_refs(int argc, char **argv, uint32_t *refs)
{
	int i;

	if (argc > MAX_REFS)
		usage();
	for (i = 0; i < argc; i++)
		refs[i] = num(argv[i]);
	return argc;
}

static void cmd_from_refs(int argc, char **argv)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	uint32_t refs[MAX_REFS];
	int fd, dmabuf, ret;

	if (argc < 8)
		usage();
	memset(&r, 0, sizeof(r));
	fd = num(argv[0]);
	r.otherend_id = num(argv[1]);
	r.dumb.width = num(argv[2]);
	r.dumb.height = num(argv[3]);
	r.dumb.bpp = num(argv[4]);
	r.num_grefs = parse_refs(argc - 7, argv + 7, refs);
	r.grefs = refs;

	ret = xioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &r);
	printf("ret=%d\n", ret);
	if (ret)
		return;
	printf("handle=%u\npitch=%u\nsize=%llu\nwait_handle=%u\n",
	       r.dumb.handle, r.dumb.pitch, (unsigned long long)r.dumb.size,
	       r.wait_handle);
	ret = prime_export(fd, r.dumb.handle, &dmabuf);
	printf("prime=%d\n", ret);
	if (ret)
		return;
	bytes_through_maps(fd, r.dumb.handle, dmabuf, r.dumb.size,
			   num(argv[5]), num(argv[6]));
	close(dmabuf);
}

static void cmd_from_refs2(int argc, char **argv)
{
	struct drm_xen_zcopy_from_refs2 r;
	uint32_t refs[MAX_REFS];
	int fd, ret;

	if (argc < 7)
		usage();
	memset(&r, 0, sizeof(r));
	fd = num(argv[0]);
	r.domid = num(argv[1]);
	r.width = num(argv[2]);
	r.height = num(argv[3]);
	r.num_grefs = parse_refs(argc - 6, argv + 6, refs);
	r.grefs = (uintptr_t)refs;
	r.flags = DRM_XEN_ZCOPY_FROM_REFS2_DMABUF_FD;
	r.fourcc = FOURCC_XR24;
	r.pitches[0] = r.width * 4;

	ret = xioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r);
	printf("ret=%d\n", ret);
	if (ret)
		return;
	printf("handle=%u\nsize=%llu\nwait_handle=%u\ndmabuf_fd_ok=%d\n",
	       r.handle, (unsigned long long)r.size, r.wait_handle,
	       r.dmabuf_fd >= 0);
	if (r.dmabuf_fd < 0)
		return;
	bytes_through_maps(fd, r.handle, r.dmabuf_fd, r.size, num(argv[4]),
			   num(argv[5]));
	close(r.dmabuf_fd);
}

static void print_refs(const uint32_t *refs, uint32_t n)
{
	uint32_t i;

	printf("refs=");
	for (i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", refs[i]);
	printf("\n");
}

static void cmd_to_refs(int argc, char **argv, int v2)
{
	struct drm_prime_handle ph = { 0 };
	uint32_t refs[MAX_REFS];
	uint32_t n;
	int fd, ret;

	if (argc != 4)
		usage();
	fd = num(argv[0]);
	ph.fd = num(argv[1]);
	n = num(argv[3]);
	if (n > MAX_REFS)
		usage();
	memset(refs, 0, sizeof(refs));
	ret = xioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &ph);
	printf("import=%d\nhandle=%u\n", ret, ph.handle);
	if (ret)
		return;
	if (v2) {
		struct drm_xen_zcopy_to_refs2 t = {
			.grefs = (uintptr_t)refs,
			.num_grefs = n,
			.domid = num(argv[2]),
			.handle = ph.handle,
		};

		ret = xioctl(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t);
	} else {
		struct drm_xen_zcopy_dumb_to_refs t;

		memset(&t, 0, sizeof(t));
		t.grefs = refs;
		t.num_grefs = n;
		t.otherend_id = num(argv[2]);
		t.handle = ph.handle;
		ret = xioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &t);
	}
	printf("ret=%d\n", ret);
	if (!ret)
		print_refs(refs, n);
}

static void cmd_wait_free(int argc, char **argv)
{
	struct drm_xen_zcopy_dumb_wait_free w;

	if (argc != 3)
		usage();
	w.wait_handle = num(argv[1]);
	w.wait_to_ms = num(argv[2]);
	printf("ret=%d\n", xioctl(num(argv[0]), DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, &w));
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void cmd_wait_free2(int argc, char **argv)
{
	struct drm_xen_zcopy_wait_free2 w;

	if (argc != 3)
		usage();
	memset(&w, 0, sizeof(w));
	w.wait_handle = num(argv[1]);
	w.deadline_ns = now_ns() + num(argv[2]) * 1000000LL;
	printf("ret=%d\n", xioctl(num(argv[0]), DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w));
	printf("status=%u\n", w.status);
}

static void cmd_gem_close(int argc, char **argv)
{
	struct drm_gem_close c = { 0 };

	if (argc != 2)
		usage();
	c.handle = num(argv[1]);
	printf("ret=%d\n", xioctl(num(argv[0]), DRM_IOCTL_GEM_CLOSE, &c));
}

static void cmd_caps(int argc, char **argv)
{
	struct drm_xen_zcopy_get_caps c;
	int ret;

	if (argc != 1)
		usage();
	memset(&c, 0, sizeof(c));
	ret = xioctl(num(argv[0]), DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c);
	printf("ret=%d\ncaps=0x%llx\nmax_pages=%u\n", ret,
	       (unsigned long long)c.caps, c.max_pages);
}

/*
 * Calls that must fail, each with the errno a 64-bit caller gets for the
 * same request: the parent compares this list with the reference's.
 */
static void cmd_bad(int argc, char **argv)
{
	static uint32_t refs[4] = { 0xfffff0, 0xfffff1, 0xfffff2, 0xfffff3 };
	struct drm_xen_zcopy_dumb_from_refs fr;
	struct drm_xen_zcopy_dumb_to_refs tr;
	struct drm_xen_zcopy_dumb_wait_free wf = { .wait_handle = 0x7fffffff };
	struct drm_xen_zcopy_from_refs2 f2;
	struct drm_xen_zcopy_to_refs2 t2;
	struct drm_xen_zcopy_wait_free2 w2;
	struct drm_xen_zcopy_get_caps gc;
	int fd;

	if (argc != 1)
		usage();
	fd = num(argv[0]);

#define FR_RESET() do { memset(&fr, 0, sizeof(fr)); fr.num_grefs = 4; \
	fr.grefs = refs; fr.dumb.width = 64; fr.dumb.height = 64; \
	fr.dumb.bpp = 32; } while (0)
#define BAD(name, cmd, arg) \
	printf("%s=%d\n", name, xioctl(fd, cmd, arg))

	FR_RESET();
	fr.dumb.bpp = 7;
	BAD("v1-from-refs-bpp", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.dumb.width = 0;
	BAD("v1-from-refs-width0", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.dumb.flags = 1;
	BAD("v1-from-refs-flags", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.num_grefs = 0xffffffffu;
	BAD("v1-from-refs-too-many", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.num_grefs = 3;
	BAD("v1-from-refs-too-few", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.otherend_id = 0x7ff0;
	BAD("v1-from-refs-domid-reserved", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	/* The upper half of the 64-bit field must not be lost on the way. */
	fr.otherend_id = 1ULL << 32;
	BAD("v1-from-refs-domid-high", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.grefs = NULL;
	BAD("v1-from-refs-grefs-null", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	fr.grefs = (uint32_t *)(uintptr_t)PAGE;
	BAD("v1-from-refs-grefs-bad", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	FR_RESET();
	BAD("v1-from-refs-not-granted", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &fr);
	BAD("v1-from-refs-arg-null", DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, NULL);

	memset(&tr, 0, sizeof(tr));
	tr.num_grefs = 4;
	tr.grefs = refs;
	tr.handle = 0x7fffffff;
	BAD("v1-to-refs-no-handle", DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &tr);
	tr.otherend_id = 0x7ff0;
	BAD("v1-to-refs-domid-reserved", DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &tr);
	BAD("v1-to-refs-arg-null", DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, NULL);

	BAD("v1-wait-free-no-handle", DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, &wf);

	/* A v1 number of neither layout: not the driver's. */
	FR_RESET();
	BAD("v1-from-refs-other-size",
	    DRM_IOWR(DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_FROM_REFS, uint32_t[10]),
	    &fr);

	memset(&gc, 0, sizeof(gc));
	gc.flags = 1;
	BAD("v2-get-caps-flags", DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &gc);

	memset(&f2, 0, sizeof(f2));
	f2.grefs = (uintptr_t)refs;
	f2.num_grefs = 4;
	f2.fourcc = FOURCC_XR24;
	f2.width = 64;
	f2.height = 64;
	f2.pitches[0] = 256;
	f2.flags = 1u << 31;
	BAD("v2-from-refs2-flags", DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &f2);
	f2.flags = 0;
	f2.reserved[3] = 1;
	BAD("v2-from-refs2-reserved", DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &f2);
	f2.reserved[3] = 0;
	/*
	 * Above 128 TiB, beyond any process' addresses: cut down to 32 bits
	 * it would be @refs of a 32-bit caller (-EINVAL, not -EFAULT).
	 */
	f2.grefs = 0xdead00000000ULL | (uintptr_t)refs;
	BAD("v2-from-refs2-grefs-high", DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &f2);
	f2.grefs = (uintptr_t)refs;
	BAD("v2-from-refs2-not-granted", DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &f2);

	memset(&t2, 0, sizeof(t2));
	t2.grefs = (uintptr_t)refs;
	t2.num_grefs = 4;
	t2.handle = 0x7fffffff;
	BAD("v2-to-refs2-no-handle", DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t2);
	t2.reserved[0] = 1;
	BAD("v2-to-refs2-reserved", DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t2);

	memset(&w2, 0, sizeof(w2));
	w2.wait_handle = 0x7fffffff;
	BAD("v2-wait-free2-no-handle", DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w2);
	w2.pad = 1;
	BAD("v2-wait-free2-pad", DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w2);
#undef BAD
#undef FR_RESET
}

int main(int argc, char **argv)
{
	const char *cmd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "abi"))
		cmd_abi();
	else if (!strcmp(cmd, "from-refs"))
		cmd_from_refs(argc, argv);
	else if (!strcmp(cmd, "from-refs2"))
		cmd_from_refs2(argc, argv);
	else if (!strcmp(cmd, "to-refs"))
		cmd_to_refs(argc, argv, 0);
	else if (!strcmp(cmd, "to-refs2"))
		cmd_to_refs(argc, argv, 1);
	else if (!strcmp(cmd, "wait-free"))
		cmd_wait_free(argc, argv);
	else if (!strcmp(cmd, "wait-free2"))
		cmd_wait_free2(argc, argv);
	else if (!strcmp(cmd, "gem-close"))
		cmd_gem_close(argc, argv);
	else if (!strcmp(cmd, "caps"))
		cmd_caps(argc, argv);
	else if (!strcmp(cmd, "bad"))
		cmd_bad(argc, argv);
	else
		usage();
	return 0;
}
