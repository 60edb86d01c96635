// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input to the xen_drm_zcopy ioctls: each gets its documented errno,
 * no kernel warning (the runner fails a subtest on any KERN_WARNING), and
 * leaves nothing behind: after every failed call the driver's counters are
 * back at their baseline, including after a partial grant mapping.
 * Also the permission model: only authenticated clients of the primary
 * node may call the ioctls.
 */

#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
/* 64 x 64 XRGB8888 = 4 pages. */
#define W		64
#define H		64
#define NPAGES		4
#define MAX_PAGES	"/sys/module/xen_drm_zcopy/parameters/max_pages"
#define DOMID_FIRST_RESERVED	0x7ff0
#define DOMID_SELF		0x7ff2
/* No such domain exists in the testbed (Dom0 is alone). */
#define DOMID_ABSENT		42

static struct zc_stats base;

/* Nothing leaked: a failed call must leave every counter as it was. */
#define check_baseline() \
	zc_baseline_check(&base, 2000, "a failed call left something behind")

static int from_refs_raw(int fd, struct drm_xen_zcopy_dumb_from_refs *req)
{
	return ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, req) ? -errno : 0;
}

static int from_refs(int fd, const uint32_t *refs, uint32_t n, uint64_t domid,
		     uint32_t w, uint32_t h, uint32_t bpp, uint32_t flags)
{
	struct drm_xen_zcopy_dumb_from_refs req = {
		.num_grefs = n,
		.grefs = (uint32_t *)refs,
		.otherend_id = domid,
		.dumb = { .width = w, .height = h, .bpp = bpp, .flags = flags },
	};
	int ret = from_refs_raw(fd, &req);

	/* A call that was expected to fail but did not: do not leak it. */
	if (!ret)
		zc_gem_close(fd, req.dumb.handle);
	return ret;
}

/* A page that is certainly not mapped. */
static void *unmapped_address(void)
{
	void *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	zc_assert(p != MAP_FAILED);
	zc_assert_ok(munmap(p, PAGE));
	return p;
}

static struct zc_gntalloc ga;

static void grant_pages(uint32_t n, uint16_t to, bool writable)
{
	zc_assert_ok(zc_gntalloc_alloc(&ga, to, n, writable));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
}

/* The positive control: the refs and geometry used below are good. */
static void test_control(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES + 1, 0, true);
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	zc_assert_eq(r.dumb.pitch, W * 4);
	zc_assert_eq(r.dumb.size, NPAGES * PAGE);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	/* More refs than the geometry needs: the object has them all. */
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES + 1, 0, W, H, 32, &r));
	zc_assert_eq(r.dumb.size, (NPAGES + 1) * PAGE);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	close(fd);
	check_baseline();
}

struct geometry {
	uint32_t w, h, bpp, flags;
};

static void test_bad_geometry(void)
{
	static const struct geometry bad[] = {
		{ 0, H, 32, 0 }, { W, 0, 32, 0 }, { 0, 0, 0, 0 },
		{ W, H, 0, 0 }, { W, H, 1, 0 }, { W, H, 12, 0 },
		{ W, H, 33, 0 }, { W, H, 64, 0 }, { W, H, 0xffffffff, 0 },
		{ W, H, 32, 1 }, { W, H, 32, 0x80000000 },
		{ 16385, 1, 32, 0 }, { 1, 16385, 32, 0 },
		{ 0xffffffff, 1, 32, 0 }, { 1, 0xffffffff, 32, 0 },
		{ 0xffffffff, 0xffffffff, 0xffffffff, 0 },
		{ 0x40000000, 0x40000000, 32, 0 },
	};
	unsigned int i;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, 0, true);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zc_info("%ux%u bpp %u flags 0x%x\n", bad[i].w, bad[i].h,
			bad[i].bpp, bad[i].flags);
		zc_assert_errno(from_refs(fd, ga.refs, NPAGES, 0, bad[i].w,
					  bad[i].h, bad[i].bpp, bad[i].flags),
				EINVAL);
		check_baseline();
	}
	close(fd);
}

static void test_num_grefs(void)
{
	static uint32_t many[NPAGES * 2];
	long limit = zc_read_long(MAX_PAGES);
	int fd;

	fd = zc_baseline_open(&base);
	zc_assert(limit > 0);
	grant_pages(NPAGES, 0, true);
	memcpy(many, ga.refs, NPAGES * sizeof(uint32_t));

	/* None, or too few for the geometry. */
	zc_assert_errno(from_refs(fd, ga.refs, 0, 0, W, H, 32, 0), EINVAL);
	zc_assert_errno(from_refs(fd, NULL, 0, 0, W, H, 32, 0), EINVAL);
	zc_assert_errno(from_refs(fd, ga.refs, NPAGES - 1, 0, W, H, 32, 0),
			EINVAL);
	zc_assert_errno(from_refs(fd, ga.refs, 1, 0, W, H + 1, 32, 0), EINVAL);
	check_baseline();

	/* More than max_pages: -E2BIG before the refs are even read. */
	zc_assert_errno(from_refs(fd, ga.refs, limit + 1, 0, W, H, 32, 0), E2BIG);
	zc_assert_errno(from_refs(fd, ga.refs, 0xffffffff, 0, W, H, 32, 0), E2BIG);
	zc_assert_errno(from_refs(fd, NULL, 0x80000000, 0, W, H, 32, 0), E2BIG);
	/* A geometry larger than max_pages cannot be satisfied at all. */
	zc_assert_errno(from_refs(fd, ga.refs, 16384 * 16384 / 1024, 0, 16384,
				  16384, 32, 0), E2BIG);
	check_baseline();

	/* Within every limit, but the array cannot be read: -EFAULT. */
	zc_assert_errno(from_refs(fd, NULL, 2 * NPAGES, 0, W, H, 32, 0),
			EFAULT);
	check_baseline();
	close(fd);
}

/* A list where only one ref (first, middle or last) is bad. */
static void check_one_bad_ref(int fd, uint32_t n, uint32_t bad_at,
			      uint32_t bad_ref)
{
	static uint32_t refs[64];

	memcpy(refs, ga.refs, n * sizeof(uint32_t));
	refs[bad_at] = bad_ref;
	zc_info("%u refs, ref %u = %#x\n", n, bad_at, bad_ref);
	zc_assert_errno(from_refs(fd, refs, n, 0, W, n * 16, 32, 0), EINVAL);
	/* The good refs were mapped and unmapped again. */
	check_baseline();
}

static void test_invalid_refs(void)
{
	static uint32_t refs[NPAGES];
	int fd, i;

	fd = zc_baseline_open(&base);
	grant_pages(32, 0, true);

	/* Not refs at all. */
	for (i = 0; i < NPAGES; i++)
		refs[i] = 0x0fffffff - i;
	zc_assert_errno(from_refs(fd, refs, NPAGES, 0, W, H, 32, 0), EINVAL);
	memset(refs, 0xff, sizeof(refs));
	zc_assert_errno(from_refs(fd, refs, NPAGES, 0, W, H, 32, 0), EINVAL);
	check_baseline();

	/* Partial mappings are unwound. */
	check_one_bad_ref(fd, NPAGES, NPAGES - 1, 0x0fffffff);
	check_one_bad_ref(fd, NPAGES, 0, 0x0fffffff);
	check_one_bad_ref(fd, NPAGES, 1, 0xffffffff);
	/* More than one unmap batch (32) mapped before the bad one. */
	check_one_bad_ref(fd, 32, 31, 0x0fffffff);
	/* Ref 0 is reserved (the toolstack's), never granted to us. */
	check_one_bad_ref(fd, NPAGES, NPAGES - 1, 0);

	/* The same good refs still map: nothing was left half-done. */
	zc_assert_ok(zc_from_refs(fd, ga.refs, 32, 0, W, 32 * 16, 32, NULL));
	close(fd);
	check_baseline();
}

/* Refs that exist but are not granted to us, or not any more. */
static void test_refs_not_ours(void)
{
	struct zc_gntalloc other;
	uint32_t ended[NPAGES];
	int fd;

	fd = zc_baseline_open(&base);

	/* Granted by domain 0 to another domain, not to us. */
	zc_assert_ok(zc_gntalloc_alloc(&other, 1, NPAGES, true));
	zc_assert_errno(from_refs(fd, other.refs, NPAGES, 0, W, H, 32, 0),
			EINVAL);
	zc_gntalloc_free(&other);
	check_baseline();

	/* Granted read-only: the backend maps buffers writable. */
	zc_assert_ok(zc_gntalloc_alloc(&other, 0, NPAGES, false));
	zc_assert_errno(from_refs(fd, other.refs, NPAGES, 0, W, H, 32, 0),
			EINVAL);
	zc_gntalloc_free(&other);
	check_baseline();

	/* Granted, then access ended by the frontend. */
	zc_assert_ok(zc_gntalloc_alloc(&other, 0, NPAGES, true));
	memcpy(ended, other.refs, sizeof(ended));
	zc_gntalloc_free(&other);
	zc_assert_errno(from_refs(fd, ended, NPAGES, 0, W, H, 32, 0), EINVAL);
	check_baseline();
	close(fd);
}

static void test_bad_domid(void)
{
	static const uint64_t reserved[] = {
		DOMID_FIRST_RESERVED, DOMID_SELF, 0x7ff1, 0x7ff3, 0x7ff4,
		0xffff, 0x10000, 1ULL << 32, ~0ULL,
	};
	unsigned int i;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, 0, true);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		zc_info("domid %#llx\n", (unsigned long long)reserved[i]);
		zc_assert_errno(from_refs(fd, ga.refs, NPAGES, reserved[i], W, H,
					  32, 0), EINVAL);
	}
	check_baseline();

	/* A valid id, but no such domain. */
	zc_assert_errno(from_refs(fd, ga.refs, NPAGES, DOMID_ABSENT, W, H, 32, 0),
			ESRCH);
	zc_assert_errno(from_refs(fd, ga.refs, NPAGES, DOMID_FIRST_RESERVED - 1,
				  W, H, 32, 0), ESRCH);
	check_baseline();
	close(fd);
}

static void test_bad_pointer_from_refs(void)
{
	uint32_t *edge;
	uint8_t *two;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, 0, true);

	zc_assert_errno(from_refs(fd, NULL, NPAGES, 0, W, H, 32, 0), EFAULT);
	zc_assert_errno(from_refs(fd, unmapped_address(), NPAGES, 0, W, H, 32, 0),
			EFAULT);
	zc_assert_errno(from_refs(fd, (void *)0xffff888000000000ULL, NPAGES, 0,
				  W, H, 32, 0), EFAULT);

	/* The array starts on a readable page and runs into a hole. */
	two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(two != MAP_FAILED);
	zc_assert_ok(munmap(two + PAGE, PAGE));
	edge = (uint32_t *)(two + PAGE) - (NPAGES - 1);
	memcpy(edge, ga.refs, (NPAGES - 1) * sizeof(uint32_t));
	zc_assert_errno(from_refs(fd, edge, NPAGES, 0, W, H, 32, 0), EFAULT);
	check_baseline();
	munmap(two, PAGE);
	close(fd);
}

/* A buffer of another driver (vgem), imported into ours. */
static uint32_t import_vgem(int fd, int vgem, uint32_t pages)
{
	struct zc_dumb d;
	uint32_t h;
	int dmabuf;

	zc_assert_ok(zc_dumb_create(vgem, W, pages * 16, 32, &d));
	zc_assert_eq(d.size, pages * PAGE);
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(fd, dmabuf, &h));
	close(dmabuf);
	zc_assert_ok(zc_gem_close(vgem, d.handle));
	return h;
}

static int vgem = -1;

static void test_to_refs(void)
{
	static uint32_t refs[NPAGES + 1], again[NPAGES];
	struct drm_xen_zcopy_dumb_from_refs r;
	struct zc_stats granted, orig;
	uint32_t h, h2;
	void *ro;
	int fd;

	fd = zc_baseline_open(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(zc_close_cleanup, &vgem);
	orig = base;
	h = import_vgem(fd, vgem, NPAGES);
	/* The import is the new baseline of this subtest. */
	zc_assert_ok(zc_stats_read(&base));

	/* Unknown handles. */
	zc_assert_errno(zc_to_refs(fd, 0, refs, NPAGES, 0), ENOENT);
	zc_assert_errno(zc_to_refs(fd, h + 1000, refs, NPAGES, 0), ENOENT);

	/* Bad domain ids. */
	zc_assert_errno(zc_to_refs(fd, h, refs, NPAGES, DOMID_FIRST_RESERVED),
			EINVAL);
	zc_assert_errno(zc_to_refs(fd, h, refs, NPAGES, DOMID_SELF), EINVAL);
	zc_assert_errno(zc_to_refs(fd, h, refs, NPAGES, 1ULL << 32), EINVAL);

	/* The count must be the number of pages. */
	zc_assert_errno(zc_to_refs(fd, h, refs, 0, 0), EINVAL);
	zc_assert_errno(zc_to_refs(fd, h, refs, NPAGES - 1, 0), EINVAL);
	zc_assert_errno(zc_to_refs(fd, h, refs, NPAGES + 1, 0), EINVAL);
	zc_assert_errno(zc_to_refs(fd, h, refs, 0xffffffff, 0), EINVAL);

	/* Nowhere to write the refs: the fresh grants are revoked. */
	zc_assert_errno(zc_to_refs(fd, h, NULL, NPAGES, 0), EFAULT);
	zc_assert_errno(zc_to_refs(fd, h, unmapped_address(), NPAGES, 0), EFAULT);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(ro != MAP_FAILED);
	zc_assert_errno(zc_to_refs(fd, h, ro, NPAGES, 0), EFAULT);
	check_baseline();

	/* Granted once; the same call gives the same refs. */
	zc_assert_ok(zc_to_refs(fd, h, refs, NPAGES, 0));
	zc_assert_eq(zc_stat("granted_refs"), base.v[3] + NPAGES);
	zc_assert_ok(zc_to_refs(fd, h, again, NPAGES, 0));
	zc_assert(!memcmp(refs, again, sizeof(again)));
	zc_assert_ok(zc_stats_read(&granted));

	/* Already granted to another domain. */
	zc_assert_errno(zc_to_refs(fd, h, again, NPAGES, 1), EBUSY);
	/* A bad pointer now does not take the existing grants back. */
	zc_assert_errno(zc_to_refs(fd, h, ro, NPAGES, 0), EFAULT);
	zc_assert_errno(zc_to_refs(fd, h, NULL, NPAGES, 0), EFAULT);
	zc_assert_f(zc_stats_wait_baseline(&granted, 1000) == 0,
		    "a failed call changed the existing grants");

	/* Our own FROM_REFS buffer is not an imported one. */
	grant_pages(NPAGES, 0, true);
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	zc_assert_errno(zc_to_refs(fd, r.dumb.handle, again, NPAGES, 0), EINVAL);
	/* Nor is it after a round trip through PRIME. */
	{
		int dmabuf;

		zc_assert_ok(zc_prime_export(fd, r.dumb.handle, &dmabuf));
		zc_assert_ok(zc_prime_import(fd, dmabuf, &h2));
		close(dmabuf);
		zc_assert_eq(h2, r.dumb.handle);
		zc_assert_errno(zc_to_refs(fd, h2, again, NPAGES, 0), EINVAL);
	}
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));

	zc_assert_ok(zc_gem_close(fd, h));
	zc_assert_errno(zc_to_refs(fd, h, again, NPAGES, 0), ENOENT);
	close(fd);
	/* The grants end with the object. */
	base = orig;
	check_baseline();
}

/*
 * The driver cannot tell whether a domain exists: granting to an absent
 * one succeeds (nobody can map it) and the grants end with the object.
 */
static void test_to_refs_absent_domain(void)
{
	static uint32_t refs[NPAGES];
	uint32_t h;
	int fd;

	fd = zc_baseline_open(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(zc_close_cleanup, &vgem);
	h = import_vgem(fd, vgem, NPAGES);
	zc_assert_ok(zc_to_refs(fd, h, refs, NPAGES, DOMID_ABSENT));
	zc_assert_eq(zc_stat("granted_refs"), base.v[3] + NPAGES);
	zc_assert_ok(zc_gem_close(fd, h));
	close(fd);
	check_baseline();
}

static void test_create_dumb_refused(void)
{
	struct drm_mode_map_dumb m = { .handle = 1 };
	struct zc_dumb d;
	int fd;

	fd = zc_baseline_open(&base);
	zc_assert_errno(zc_dumb_create(fd, W, H, 32, &d), EOPNOTSUPP);
	zc_assert_errno(drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m), ENOENT);
	/* No ioctl beyond the three of the UAPI. */
	zc_assert_errno(ioctl(fd, DRM_IOWR(DRM_COMMAND_BASE + 0x03,
					   struct drm_xen_zcopy_dumb_wait_free),
			      &m), EINVAL);
	close(fd);
	check_baseline();
}

/*
 * A bad pointer for the ioctl's own argument: -EFAULT. When only the copy
 * back fails (a read-only argument), the buffer FROM_REFS made is taken
 * back at once: the call fails and keeps nothing.
 */
static void test_bad_arg_pointer(void)
{
	struct drm_xen_zcopy_dumb_from_refs *ro;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES, 0, true);
	zc_assert_errno(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, NULL),
			EFAULT);
	zc_assert_errno(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, NULL),
			EFAULT);
	zc_assert_errno(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE, NULL),
			EFAULT);
	zc_assert_errno(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS,
			      unmapped_address()), EFAULT);
	check_baseline();

	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(ro != MAP_FAILED);
	ro->num_grefs = NPAGES;
	ro->grefs = ga.refs;
	ro->dumb.width = W;
	ro->dumb.height = H;
	ro->dumb.bpp = 32;
	zc_assert_ok(mprotect(ro, PAGE, PROT_READ));
	zc_assert_errno(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, ro),
			EFAULT);
	check_baseline();
	/* And the same refs map again. */
	zc_assert_ok(mprotect(ro, PAGE, PROT_READ | PROT_WRITE));
	zc_assert_ok(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, ro));
	zc_assert_ok(zc_gem_close(fd, ro->dumb.handle));
	munmap(ro, PAGE);
	close(fd);
	check_baseline();
}

/* max_pages bounds imports too; it can be changed at run time. */
static void test_max_pages_param(void)
{
	struct zc_dumb d;
	uint32_t h;
	int fd, dmabuf;

	fd = zc_baseline_open(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_at_exit(zc_close_cleanup, &vgem);
	grant_pages(NPAGES, 0, true);
	zc_param_save(MAX_PAGES);
	zc_assert_ok(zc_write_long(MAX_PAGES, 2));
	zc_assert_eq(zc_read_long(MAX_PAGES), 2);

	zc_assert_errno(from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, 0), E2BIG);
	zc_assert_ok(from_refs(fd, ga.refs, 2, 0, W, 32, 32, 0));

	/* A 4-page buffer of another driver cannot be imported now. */
	zc_assert_ok(zc_dumb_create(vgem, W, H, 32, &d));
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_errno(zc_prime_import(fd, dmabuf, &h), EINVAL);
	check_baseline();

	zc_params_restore();
	zc_assert_ok(zc_prime_import(fd, dmabuf, &h));
	zc_assert_eq(zc_stat("imported_objects"), base.v[2] + 1);
	close(dmabuf);
	close(fd);
	check_baseline();
}

/* Drops CAP_SYS_ADMIN, which makes a DRM client authenticated by itself. */
/* The three ioctls, whatever their arguments: -errno of each. */
static void all_three(int fd, int ret[3])
{
	uint32_t refs[NPAGES] = { 0 };
	struct drm_xen_zcopy_dumb_from_refs r = {
		.num_grefs = NPAGES, .grefs = refs,
		.dumb = { .width = W, .height = H, .bpp = 32 },
	};

	ret[0] = from_refs_raw(fd, &r);
	ret[1] = zc_to_refs(fd, 1, refs, NPAGES, 0);
	ret[2] = zc_wait_free(fd, 0, 0);
}

/*
 * A client that is neither master nor authenticated by the master gets
 * -EACCES from every ioctl of the driver; once the master authenticates
 * it, the calls pass DRM's check, and without CAP_SYS_ADMIN the driver's
 * own refuses mapping and granting (-EPERM, before the bad arguments are
 * even looked at); WAIT_FREE fails for the unknown handle.
 */
static void test_unauthenticated(void)
{
	int master, status, to_child[2], to_parent[2];
	drm_magic_t magic;
	pid_t pid;

	master = zc_baseline_open(&base);
	/* Nobody else holds the node: the first opener is its master. */
	zc_assert_ok(drmSetMaster(master));
	zc_assert_ok(pipe(to_child));
	zc_assert_ok(pipe(to_parent));

	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		int fd, ret[3], fail = 0;
		char c;

		if (zc_drop_sys_admin())
			_exit(10);
		fd = zc_xen_open();
		if (fd < 0)
			_exit(11);
		all_three(fd, ret);
		if (ret[0] != -EACCES || ret[1] != -EACCES || ret[2] != -EACCES) {
			fprintf(stderr, "unauthenticated: %d %d %d\n", ret[0],
				ret[1], ret[2]);
			fail |= 1;
		}
		if (drmGetMagic(fd, &magic) ||
		    write(to_parent[1], &magic, sizeof(magic)) != sizeof(magic) ||
		    read(to_child[0], &c, 1) != 1)
			_exit(12);
		all_three(fd, ret);
		if (ret[0] != -EPERM || ret[1] != -EPERM || ret[2] != -ENOENT) {
			fprintf(stderr, "authenticated: %d %d %d\n", ret[0],
				ret[1], ret[2]);
			fail |= 2;
		}
		_exit(fail);
	}
	zc_assert_eq(read(to_parent[0], &magic, sizeof(magic)), sizeof(magic));
	zc_assert_ok(drmAuthMagic(master, magic));
	zc_assert_eq(write(to_child[1], "x", 1), 1);
	zc_assert_eq(waitpid(pid, &status, 0), pid);
	zc_assert(WIFEXITED(status));
	zc_assert_eq(WEXITSTATUS(status), 0);

	/*
	 * With no master at all, DRM makes the next opener the master,
	 * privileged or not; the driver still refuses it the calls that
	 * map or grant. A file opened while it is master stays
	 * unauthenticated, also after the master is closed.
	 */
	zc_assert_ok(drmDropMaster(master));
	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		int first, second, ret[3], fail = 0;

		if (zc_drop_sys_admin())
			_exit(10);
		first = zc_xen_open();
		second = zc_xen_open();
		if (first < 0 || second < 0)
			_exit(11);
		all_three(first, ret);
		if (ret[0] != -EPERM || ret[1] != -EPERM || ret[2] != -ENOENT) {
			fprintf(stderr, "first opener: %d %d %d\n", ret[0],
				ret[1], ret[2]);
			fail |= 1;
		}
		all_three(second, ret);
		if (ret[0] != -EACCES || ret[1] != -EACCES || ret[2] != -EACCES) {
			fprintf(stderr, "second opener: %d %d %d\n", ret[0],
				ret[1], ret[2]);
			fail |= 2;
		}
		close(first);
		all_three(second, ret);
		if (ret[0] != -EACCES || ret[1] != -EACCES || ret[2] != -EACCES) {
			fprintf(stderr, "after the master closed: %d %d %d\n",
				ret[0], ret[1], ret[2]);
			fail |= 4;
		}
		_exit(fail);
	}
	zc_assert_eq(waitpid(pid, &status, 0), pid);
	zc_assert(WIFEXITED(status));
	zc_assert_eq(WEXITSTATUS(status), 0);
	close(master);
	check_baseline();
}

static const struct zc_subtest subtests[] = {
	{ "control", test_control },
	{ "bad-geometry", test_bad_geometry },
	{ "num-grefs", test_num_grefs },
	{ "invalid-refs", test_invalid_refs },
	{ "refs-not-ours", test_refs_not_ours },
	{ "bad-domid", test_bad_domid },
	{ "bad-pointer-from-refs", test_bad_pointer_from_refs },
	{ "to-refs", test_to_refs },
	{ "to-refs-absent-domain", test_to_refs_absent_domain },
	{ "create-dumb-refused", test_create_dumb_refused },
	{ "bad-arg-pointer", test_bad_arg_pointer },
	{ "max-pages-param", test_max_pages_param },
	{ "unauthenticated", test_unauthenticated },
	{ }
};

ZC_MAIN(subtests)
