// SPDX-License-Identifier: GPL-2.0
/*
 * The driver as a security boundary: only a privileged backend maps
 * another domain's memory or grants ours, malformed calls keep nothing,
 * quotas bound what one domain can make Dom0 hold, user mappings cannot
 * pin foreign pages, and the device cannot be unbound under its users.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>

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
#define PARAMS		"/sys/module/xen_drm_zcopy/parameters/"
#define NOBODY		65534

static struct zc_stats base;

#define check_baseline() \
	zc_baseline_check(&base, 3000, "a refused call left something behind")

static struct zc_gntalloc ga;

/* @n pages granted to Dom0 itself: the frontend of these subtests. */
static void grant_pages(uint32_t n)
{
	zc_assert_ok(zc_gntalloc_alloc(&ga, 0, n, true));
	zc_at_exit(zc_gntalloc_cleanup, &ga);
}

/* A vgem dumb buffer of @w x @h, exported: *@vgem stays open. */
static int vgem_dmabuf(int *vgem, uint32_t w, uint32_t h)
{
	struct zc_dumb d;
	int dmabuf;

	*vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(*vgem >= 0);
	zc_assert_ok(zc_dumb_create(*vgem, w, h, 32, &d));
	zc_assert_ok(zc_prime_export(*vgem, d.handle, &dmabuf));
	return dmabuf;
}

/* Waits for @pid; the child's exit code. */
static int child_status(pid_t pid)
{
	int status;

	zc_assert_eq(waitpid(pid, &status, 0), pid);
	zc_assert_f(WIFEXITED(status), "child killed by signal %d",
		    WTERMSIG(status));
	return WEXITSTATUS(status);
}

/*
 * In a child: FROM_REFS and FROM_REFS2 of the granted pages and TO_REFS
 * and TO_REFS2 of @import must all fail with -EPERM. Exit code: 0, or a
 * bit per call that did not.
 */
static int expect_eperm(int fd, uint32_t import)
{
	uint32_t refs[8] = { 0 };
	struct drm_xen_zcopy_from_refs2 r2 = {
		.grefs = (uintptr_t)ga.refs,
		.num_grefs = NPAGES,
		.fourcc = DRM_FORMAT_XRGB8888,
		.width = W,
		.height = H,
		.pitches = { W * 4 },
	};
	struct drm_xen_zcopy_to_refs2 t2 = {
		.grefs = (uintptr_t)refs,
		.num_grefs = NPAGES,
		.handle = import,
	};
	int ret, fail = 0;

	ret = zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, NULL);
	if (ret != -EPERM) {
		fprintf(stderr, "FROM_REFS: %d, expected -EPERM\n", ret);
		fail |= 1;
	}
	ret = zc_to_refs(fd, import, refs, NPAGES, 0);
	if (ret != -EPERM || refs[0]) {
		fprintf(stderr, "TO_REFS: %d (ref %u), expected -EPERM\n", ret,
			refs[0]);
		fail |= 2;
	}
	ret = ioctl(fd, DRM_IOCTL_XEN_ZCOPY_FROM_REFS2, &r2) ? -errno : 0;
	if (ret != -EPERM) {
		fprintf(stderr, "FROM_REFS2: %d, expected -EPERM\n", ret);
		fail |= 8;
	}
	ret = ioctl(fd, DRM_IOCTL_XEN_ZCOPY_TO_REFS2, &t2) ? -errno : 0;
	if (ret != -EPERM || refs[0]) {
		fprintf(stderr, "TO_REFS2: %d (ref %u), expected -EPERM\n", ret,
			refs[0]);
		fail |= 16;
	}
	return fail;
}

/* WAIT_FREE2 polling @wait_handle on @fd: -errno or 0. */
static int wait_free2_poll(int fd, uint32_t wait_handle)
{
	struct drm_xen_zcopy_wait_free2 w = { .wait_handle = wait_handle };

	return ioctl(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2, &w) ? -errno : 0;
}

/* WAIT_FD of @wait_handle on @fd: the fd, or -errno. */
static int wait_fd(int fd, uint32_t wait_handle)
{
	struct drm_xen_zcopy_wait_fd w = { .wait_handle = wait_handle };

	return ioctl(fd, DRM_IOCTL_XEN_ZCOPY_WAIT_FD, &w) ? -errno : (int)w.fd;
}

/*
 * In a child: the orphaned handle @orphan (its file closed) is a
 * privileged backend's to wait on, not this one's. Exit bits 32 and 64.
 */
static int expect_orphan_hidden(int fd, uint32_t orphan)
{
	int ret, fail = 0;

	ret = wait_free2_poll(fd, orphan);
	if (ret != -ENOENT) {
		fprintf(stderr, "WAIT_FREE2 of an orphan: %d, expected -ENOENT\n",
			ret);
		fail |= 32;
	}
	ret = wait_fd(fd, orphan);
	if (ret != -ENOENT) {
		fprintf(stderr, "WAIT_FD of an orphan: %d, expected -ENOENT\n",
			ret);
		if (ret >= 0)
			close(ret);
		fail |= 64;
	}
	return fail;
}

/*
 * A backend process that opened the node as root and then gave up its
 * privilege (a dropped uid, or CAP_SYS_ADMIN dropped with capset) may
 * still wait for its buffers, but not map or grant any more (with the v1
 * or the v2 calls), nor wait on the orphaned buffers of a closed file.
 */
static void test_cap_sys_admin(void)
{
	struct drm_xen_zcopy_dumb_from_refs r, o;
	int fd, fd2, vgem, dmabuf, orphan_buf, how;
	uint32_t import;
	pid_t pid;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);
	dmabuf = vgem_dmabuf(&vgem, W, H);
	zc_assert_ok(zc_prime_import(fd, dmabuf, &import));
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));

	/* An orphan: exported by a file that then closed. */
	fd2 = zc_xen_open();
	zc_assert(fd2 >= 0);
	zc_assert_ok(zc_from_refs(fd2, ga.refs, NPAGES, 0, W, H, 32, &o));
	zc_assert_ok(zc_prime_export(fd2, o.dumb.handle, &orphan_buf));
	close(fd2);
	/* A privileged backend may wait on it. */
	zc_assert_errno(wait_free2_poll(fd, o.wait_handle), ETIMEDOUT);

	for (how = 0; how < 2; how++) {
		pid = fork();
		zc_assert(pid >= 0);
		if (pid == 0) {
			int fail;

			if (how == 0 &&
			    (setresgid(NOBODY, NOBODY, NOBODY) ||
			     setresuid(NOBODY, NOBODY, NOBODY)))
				_exit(10);
			if (how == 1 && zc_drop_sys_admin())
				_exit(11);
			fail = expect_eperm(fd, import);
			/* The buffer's owner file may still wait for it. */
			if (zc_wait_free(fd, r.wait_handle, 0) != -ETIMEDOUT)
				fail |= 4;
			fail |= expect_orphan_hidden(fd, o.wait_handle);
			_exit(fail);
		}
		zc_assert_f(child_status(pid) == 0,
			    "%s: a call was not refused (see above)",
			    how ? "without CAP_SYS_ADMIN" : "as uid 65534");
	}
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 2 * NPAGES);
	zc_assert_eq(zc_stat("granted_refs"), base.v[3]);
	close(orphan_buf);
	zc_assert_ok(wait_free2_poll(fd, o.wait_handle));

	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	zc_assert_ok(zc_gem_close(fd, import));
	close(dmabuf);
	close(vgem);
	close(fd);
	check_baseline();
}

static char node_path[64];
static mode_t node_mode;

static void restore_node_mode(void *unused)
{
	(void)unused;
	chmod(node_path, node_mode);
}

/*
 * The node made world-accessible (what a seat ACL would do): a user who
 * opens it while no master holds it becomes master, and so authenticated,
 * but may neither map nor grant.
 */
static void test_world_accessible_node(void)
{
	struct stat st;
	int fd, minor;
	pid_t pid;

	zc_baseline_start(&base);
	grant_pages(NPAGES);
	fd = zc_drm_open_driver(XENDRM_ZCOPY_DRIVER_NAME, &minor);
	zc_require(fd >= 0);
	close(fd);
	snprintf(node_path, sizeof(node_path), "/dev/dri/card%d", minor);
	zc_assert_ok(stat(node_path, &st));
	node_mode = st.st_mode & 07777;
	zc_at_exit(restore_node_mode, NULL);
	zc_assert_ok(chmod(node_path, 0666));

	pid = fork();
	zc_assert(pid >= 0);
	if (pid == 0) {
		if (setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(10);
		fd = open(node_path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(11);
		/* Nobody else held it: this file is the master. */
		if (!drmIsMaster(fd))
			_exit(12);
		_exit(expect_eperm(fd, 1));
	}
	zc_assert_f(child_status(pid) == 0,
		    "an unprivileged master was not refused (see above)");
	check_baseline();
}

/* Runs @cmd on a fresh file with @arg; -errno or 0. */
static int raw_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/*
 * The driver's numbers with another direction or size: DRM's own
 * dispatch would take them (zero-filling or truncating the argument);
 * the driver refuses them, so that no call half-succeeds.
 */
static void test_malformed_ioctl(void)
{
	static const unsigned long cmds[] = {
		DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS,
		DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS,
		DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE,
	};
	uint64_t arg[16];
	unsigned int i, v;
	int fd, ret;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);
	for (i = 0; i < 3; i++) {
		unsigned long nr = _IOC_NR(cmds[i]), size = _IOC_SIZE(cmds[i]);
		const unsigned long bad[] = {
			_IOC(_IOC_WRITE, DRM_IOCTL_BASE, nr, size),
			_IOC(_IOC_READ, DRM_IOCTL_BASE, nr, size),
			_IOC(_IOC_NONE, DRM_IOCTL_BASE, nr, 0),
			_IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, nr, size - 4),
			_IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, nr, size + 8),
		};

		for (v = 0; v < sizeof(bad) / sizeof(bad[0]); v++) {
			struct drm_xen_zcopy_dumb_from_refs *r = (void *)arg;

			/* A FROM_REFS argument that would succeed as such. */
			memset(arg, 0, sizeof(arg));
			r->num_grefs = NPAGES;
			r->grefs = ga.refs;
			r->dumb.width = W;
			r->dumb.height = H;
			r->dumb.bpp = 32;
			ret = raw_ioctl(fd, bad[v], arg);
			zc_assert_f(ret == -EINVAL,
				    "ioctl 0x%08lx (for 0x%08lx): %d, expected -EINVAL",
				    bad[v], cmds[i], ret);
			zc_assert_eq(r->dumb.handle, 0);
		}
	}
	check_baseline();
	close(fd);
}

/*
 * The holes the v1 structs have on 64-bit are ignored: v1 backends that
 * set up their argument with designated initializers leave whatever the
 * stack held there, and must keep working.
 */
static void test_padding(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	struct drm_xen_zcopy_dumb_to_refs t;
	uint32_t refs[NPAGES], import;
	int fd, vgem, dmabuf;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);

	memset(&r, 0xa5, sizeof(r));
	r.num_grefs = NPAGES;
	r.grefs = ga.refs;
	r.otherend_id = 0;
	r.dumb.width = W;
	r.dumb.height = H;
	r.dumb.bpp = 32;
	r.dumb.flags = 0;
	zc_assert_ok(raw_ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS, &r));
	zc_assert_eq(r.dumb.size, NPAGES * PAGE);
	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));

	dmabuf = vgem_dmabuf(&vgem, W, H);
	zc_assert_ok(zc_prime_import(fd, dmabuf, &import));
	memset(&t, 0xa5, sizeof(t));
	t.num_grefs = NPAGES;
	t.grefs = refs;
	t.otherend_id = 0;
	t.handle = import;
	zc_assert_ok(raw_ioctl(fd, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS, &t));
	zc_assert_ok(zc_gem_close(fd, import));
	close(dmabuf);
	close(vgem);
	close(fd);
	check_baseline();
}

/*
 * One dma-buf, imported by two files of the driver: it is granted to one
 * domain, through one import, until those grants end.
 */
static void test_dmabuf_granted_once(void)
{
	uint32_t refs[NPAGES], refs2[NPAGES], ha, hb;
	int a, b, vgem, dmabuf;

	a = zc_baseline_open(&base);
	b = zc_xen_open();
	zc_assert(b >= 0);
	dmabuf = vgem_dmabuf(&vgem, W, H);
	zc_assert_ok(zc_prime_import(a, dmabuf, &ha));
	zc_assert_ok(zc_prime_import(b, dmabuf, &hb));

	zc_assert_ok(zc_to_refs(a, ha, refs, NPAGES, 0));
	zc_assert_errno(zc_to_refs(b, hb, refs2, NPAGES, 0), EBUSY);
	zc_assert_errno(zc_to_refs(b, hb, refs2, NPAGES, 1), EBUSY);
	zc_assert_eq(zc_stat("granted_refs"), base.v[3] + NPAGES);

	/* Once the first import's grants end, the second may grant it. */
	zc_assert_ok(zc_gem_close(a, ha));
	zc_assert_ok(zc_stat_wait("granted_refs", base.v[3], 3000));
	zc_assert_ok(zc_to_refs(b, hb, refs2, NPAGES, 0));
	zc_assert_ok(zc_gem_close(b, hb));

	close(dmabuf);
	close(vgem);
	close(b);
	close(a);
	check_baseline();
}

/* Sets module parameter @name for the rest of the subtest. */
static void set_param(const char *name, long v)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	zc_assert_f(zc_param_save(path) > 0, "no parameter %s", name);
	zc_assert_ok(zc_write_long(path, v));
}

/*
 * Quotas: pages and buffers of one granting domain, pages of all domains,
 * and our pages granted to one domain; each refused before anything is
 * allocated, with its own errno, and shown in debugfs.
 */
static void test_quotas(void)
{
	struct drm_xen_zcopy_dumb_from_refs r1, r2;
	uint32_t refs[2 * NPAGES], import;
	int fd, vgem, dmabuf;

	fd = zc_baseline_open(&base);
	grant_pages(3 * NPAGES);

	set_param("domain_pages", 2 * NPAGES);
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r1));
	zc_assert_ok(zc_from_refs(fd, ga.refs + NPAGES, NPAGES, 0, W, H, 32,
				  &r2));
	zc_assert(zc_debugfs_has("xen_zcopy_domains",
			      "domain 0 mapped_pages 8 buffers 2"));
	zc_assert_errno(zc_from_refs(fd, ga.refs + 2 * NPAGES, NPAGES, 0, W, H,
				     32, NULL), EDQUOT);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 2 * NPAGES);
	zc_assert_ok(zc_gem_close(fd, r2.dumb.handle));
	zc_assert_ok(zc_stat_wait("mapped_grants", base.v[1] + NPAGES, 3000));

	/* A buffer count of its own. */
	set_param("domain_buffers", 1);
	zc_assert_errno(zc_from_refs(fd, ga.refs + NPAGES, NPAGES, 0, W, H, 32,
				     NULL), EDQUOT);
	set_param("domain_buffers", 100);

	/* All domains together. */
	set_param("domain_pages", 100);
	set_param("total_pages", NPAGES + 2);
	zc_assert_errno(zc_from_refs(fd, ga.refs + NPAGES, NPAGES, 0, W, H, 32,
				     NULL), ENOSPC);
	zc_assert_ok(zc_gem_close(fd, r1.dumb.handle));
	zc_params_restore();

	/* Grants to one domain. */
	set_param("domain_granted", NPAGES);
	dmabuf = vgem_dmabuf(&vgem, W, 2 * H);
	zc_assert_ok(zc_prime_import(fd, dmabuf, &import));
	zc_assert_errno(zc_to_refs(fd, import, refs, 2 * NPAGES, 0), EDQUOT);
	zc_assert_eq(zc_stat("granted_refs"), base.v[3]);
	set_param("domain_granted", 2 * NPAGES);
	zc_assert_ok(zc_to_refs(fd, import, refs, 2 * NPAGES, 0));
	zc_assert(zc_debugfs_has("xen_zcopy_domains", "granted_pages 8"));
	zc_assert_ok(zc_gem_close(fd, import));

	close(dmabuf);
	close(vgem);
	close(fd);
	check_baseline();
	zc_assert(!zc_debugfs_has("xen_zcopy_domains", "domain 0 "));
}

/*
 * A CPU mapping of a buffer must not let its holder pin the frontend's
 * pages (vmsplice into a pipe nobody reads, O_DIRECT, io_uring): the
 * grants could then never be unmapped. Mappings are PFN maps, which
 * get_user_pages() refuses.
 */
static void test_no_gup_pin(void)
{
	static struct zc_gbuf b;
	static int pipefd[2];
	int i;
	struct iovec iov;
	uint8_t *maps[2];
	ssize_t n;

	zc_baseline_start(&base);
	zc_gbuf_get(&b, W, H, 1);
	zc_assert_ok(pipe(pipefd));
	zc_at_exit(zc_close_cleanup, &pipefd[0]);
	zc_at_exit(zc_close_cleanup, &pipefd[1]);

	maps[0] = zc_dmabuf_map(b.dmabuf, NPAGES * PAGE);
	zc_assert(maps[0]);
	maps[1] = zc_dumb_map(b.fd, b.req.dumb.handle, NPAGES * PAGE);
	zc_assert(maps[1]);
	for (i = 0; i < 2; i++) {
		iov.iov_base = maps[i] + PAGE;
		iov.iov_len = PAGE;
		errno = 0;
		n = vmsplice(pipefd[1], &iov, 1, 0);
		zc_assert_f(n < 0 && errno == EFAULT,
			    "vmsplice of mapping %d: %zd (errno %d)", i, n,
			    errno);
		/* The bytes are there: the mapping itself works. */
		zc_assert_eq(maps[i][PAGE + 7], b.ga.map[PAGE + 7]);
		zc_assert_ok(munmap(maps[i], NPAGES * PAGE));
	}

	/* Nothing holds the pages: the buffer goes at once. */
	zc_assert_ok(zc_gem_close(b.fd, b.req.dumb.handle));
	close(b.dmabuf);
	b.dmabuf = -1;
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);
	zc_gbuf_put(&b);
	zc_baseline_finish(&base, 3000);
}

/* Tearing the device down under its users is not offered. */
static void test_unbind_refused(void)
{
	static const char *const paths[] = {
		"/sys/bus/platform/drivers/" XENDRM_ZCOPY_DRIVER_NAME "/unbind",
		"/sys/bus/platform/drivers/" XENDRM_ZCOPY_DRIVER_NAME "/bind",
		"/sys/bus/platform/devices/" XENDRM_ZCOPY_DRIVER_NAME "/driver/unbind",
	};
	unsigned int i;

	zc_assert_ok(access("/sys/bus/platform/drivers/" XENDRM_ZCOPY_DRIVER_NAME,
			    F_OK));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		zc_assert_f(access(paths[i], F_OK) != 0, "%s exists", paths[i]);
}

/* Areas of /proc/vmallocinfo made by the driver, and their bytes. */
static long driver_vmalloc_bytes(long *areas)
{
	char line[512];
	long bytes = 0;
	FILE *f;

	*areas = 0;
	f = fopen("/proc/vmallocinfo", "r");
	zc_assert(f);
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');

		/* The driver's vmap() calls, whichever function made them. */
		if (!sp || !strstr(line, "[" XENDRM_ZCOPY_DRIVER_NAME "]") ||
		    !strstr(line, " vmap"))
			continue;
		bytes += strtol(sp + 1, NULL, 10);
		(*areas)++;
	}
	fclose(f);
	return bytes;
}

/*
 * The kernel mapping of a buffer is made with it, so that an importer's
 * vmap cannot fail later (a WARN in the dma-buf core) and costs nothing
 * per frame; it goes with the buffer. Seen in the kernel's own list of
 * vmalloc areas, not in the driver's counters.
 */
static void test_kernel_map_at_create(void)
{
	struct drm_xen_zcopy_dumb_from_refs r;
	long areas0, areas, bytes0, bytes;
	int fd;

	fd = zc_baseline_open(&base);
	grant_pages(NPAGES);
	bytes0 = driver_vmalloc_bytes(&areas0);
	zc_assert_ok(zc_from_refs(fd, ga.refs, NPAGES, 0, W, H, 32, &r));
	bytes = driver_vmalloc_bytes(&areas);
	zc_assert_eq(areas, areas0 + 1);
	/* The pages and vmalloc's guard page. */
	zc_assert_eq(bytes, bytes0 + (NPAGES + 1) * PAGE);
	if (zc_is_pv())
		zc_assert_eq(zc_stat("pv_vmap_grants"), base.v[6] + NPAGES);

	zc_assert_ok(zc_gem_close(fd, r.dumb.handle));
	bytes = driver_vmalloc_bytes(&areas);
	zc_assert_eq(areas, areas0);
	zc_assert_eq(bytes, bytes0);
	close(fd);
	check_baseline();
}

static struct zc_gntdev frontend_map;

static void frontend_unmap(void *m)
{
	if (((struct zc_gntdev *)m)->fd >= 0)
		zc_gntdev_unmap(m);
}

/*
 * A buffer freed while the grantee still maps one of its pages: the grant
 * is deferred, charged to that domain and listed in debugfs until the
 * grantee lets go.
 */
static void test_deferred_visible(void)
{
	uint32_t refs[NPAGES], import;
	int fd, vgem, dmabuf;

	fd = zc_baseline_open(&base);
	dmabuf = vgem_dmabuf(&vgem, W, H);
	zc_assert_ok(zc_prime_import(fd, dmabuf, &import));
	zc_assert_ok(zc_to_refs(fd, import, refs, NPAGES, 0));

	frontend_map.fd = -1;
	zc_at_exit(frontend_unmap, &frontend_map);
	zc_assert_ok(zc_gntdev_map(&frontend_map, 0, refs + 1, 1, true));
	zc_assert_ok(zc_gem_close(fd, import));
	close(dmabuf);

	zc_assert_ok(zc_stat_wait("deferred_refs", base.v[4] + 1, 3000));
	zc_assert(zc_debugfs_has("xen_zcopy_buffers", "deferred domain 0 refs 1 "));
	zc_assert(zc_debugfs_has("xen_zcopy_domains",
			      "granted_pages 1 deferred_refs 1"));

	zc_gntdev_unmap(&frontend_map);
	frontend_map.fd = -1;
	zc_assert_ok(zc_stat_wait("deferred_refs", base.v[4], 3000));
	zc_assert(!zc_debugfs_has("xen_zcopy_buffers", "deferred domain"));
	close(vgem);
	close(fd);
	check_baseline();
}

/* 256 x 64 XRGB8888: 16 pages, whose 16 refs take 64 bytes. */
#define TO_W		256
#define TO_PAGES	16

struct to_refs_call {
	int fd;
	uint32_t handle;
	uint32_t *refs;
	int ret;
};

static void *to_refs_thread(void *data)
{
	struct to_refs_call *c = data;

	c->ret = zc_to_refs(c->fd, c->handle, c->refs, TO_PAGES, 0);
	return NULL;
}

/* The dma-bufs alive in the kernel (not the driver's own count). */
static long dmabufs_alive(void)
{
	struct zc_oracle o;

	zc_oracle_read(&o);
	return o.dmabufs;
}

static int wait_dmabufs(long n, int ms)
{
	for (; ms > 0; ms -= 100) {
		if (dmabufs_alive() == n)
			return 0;
		usleep(100 * 1000);
	}
	return dmabufs_alive() == n ? 0 : -ETIMEDOUT;
}

/*
 * DUMB_TO_REFS fails to write its refs back after the grants exist, and
 * a grantee that guessed one of them (here: read it from the half that
 * was written) already maps it. That grant cannot end: it stays, and the
 * buffer's pages with it, even after the backend closed everything, until
 * the grantee unmaps; then it ends and everything is back. The copy is
 * held at the second page of the refs array by userfaultfd, then made to
 * fail by unmapping that page.
 */
static void test_to_refs_revoke_mapped(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	uint8_t *area, *px, saved[PAGE];
	uint32_t *refs, import, ref;
	struct to_refs_call c;
	struct uffd_msg msg;
	pthread_t thread;
	int fd, vgem, dmabuf, uffd;
	struct zc_dumb d;
	long bufs0;

	bufs0 = dmabufs_alive();
	fd = zc_baseline_open(&base);
	vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(vgem >= 0);
	zc_assert_ok(zc_dumb_create(vgem, TO_W, H, 32, &d));
	px = zc_dumb_map(vgem, d.handle, TO_PAGES * PAGE);
	zc_assert(px);
	zc_fill_pattern(px, TO_W, H, TO_W * 4, 0x70);
	zc_assert_ok(zc_prime_export(vgem, d.handle, &dmabuf));
	zc_assert_ok(zc_prime_import(fd, dmabuf, &import));

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	zc_require(uffd >= 0);
	zc_assert_ok(ioctl(uffd, UFFDIO_API, &api));
	area = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zc_assert(area != MAP_FAILED);
	memset(area, 0, PAGE);
	reg.range.start = (uintptr_t)area + PAGE;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	zc_assert_ok(ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* Half the refs on the first page, half on the second. */
	refs = (uint32_t *)(area + PAGE) - TO_PAGES / 2;
	c = (struct to_refs_call){ .fd = fd, .handle = import, .refs = refs };
	zc_assert_eq(pthread_create(&thread, NULL, to_refs_thread, &c), 0);
	zc_assert_eq(read(uffd, &msg, sizeof(msg)), sizeof(msg));
	zc_assert_eq(msg.event, UFFD_EVENT_PAGEFAULT);
	zc_assert_eq(msg.arg.pagefault.address & ~(uint64_t)(PAGE - 1),
		     (uintptr_t)area + PAGE);
	zc_assert_eq(zc_stat("granted_refs"), base.v[3] + TO_PAGES);
	/* Refs 0-7 are Xen's own: a written ref is above them. */
	ref = refs[0];
	zc_assert_f(ref >= 8, "no ref written before the fault (%u)", ref);

	frontend_map.fd = -1;
	zc_at_exit(frontend_unmap, &frontend_map);
	zc_assert_ok(zc_gntdev_map(&frontend_map, 0, &ref, 1, true));
	zc_assert_eq(memcmp(frontend_map.map, px, PAGE), 0);

	/* The rest of the copy faults for good. */
	zc_assert_ok(munmap(area + PAGE, PAGE));
	close(uffd);
	zc_assert_eq(pthread_join(thread, NULL), 0);
	zc_assert_eq(c.ret, -EFAULT);
	zc_assert_ok(munmap(area, PAGE));

	zc_assert_eq(zc_stat("granted_refs"), base.v[3] + 1);
	zc_assert_eq(zc_stat("deferred_refs"), base.v[4] + 1);
	zc_assert(zc_debugfs_has("xen_zcopy_buffers",
			      "deferred domain 0 refs 1 "));

	/* The backend lets go of everything; the grantee's page stays. */
	memcpy(saved, px, PAGE);
	zc_assert_ok(munmap(px, TO_PAGES * PAGE));
	zc_assert_ok(zc_gem_close(fd, import));
	close(dmabuf);
	close(vgem);
	close(fd);
	zc_assert_eq(dmabufs_alive(), bufs0 + 1);
	zc_assert_eq(memcmp(frontend_map.map, saved, PAGE), 0);
	frontend_map.map[7] ^= 0xff;
	zc_assert_eq(frontend_map.map[7], saved[7] ^ 0xff);

	/* Unmapped: the grant ends at the next retry (at most 10 s). */
	zc_gntdev_unmap(&frontend_map);
	frontend_map.fd = -1;
	zc_assert_ok(zc_stat_wait("deferred_refs", base.v[4], 12000));
	zc_assert_ok(wait_dmabufs(bufs0, 3000));
	check_baseline();
	zc_assert(!zc_debugfs_has("xen_zcopy_domains", "domain 0 "));
}

/* The driver's current retry interval of deferred grants, in ms. */
static long deferred_retry_ms(void)
{
	char path[128], line[256];
	long ms = -1;
	FILE *f;

	zc_assert_ok(zc_debugfs_path("xen_zcopy_buffers", path, sizeof(path)));
	f = fopen(path, "r");
	zc_assert(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "deferred retry %ld ms", &ms) == 1)
			break;
	fclose(f);
	return ms;
}

/* Kernel log records since the last call that mention the driver. */
static int driver_log_lines(int *kmsg)
{
	char rec[8192];
	int lines = 0;
	ssize_t n;

	if (*kmsg < 0) {
		*kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		zc_assert(*kmsg >= 0);
		lseek(*kmsg, 0, SEEK_END);
		return 0;
	}
	for (;;) {
		n = read(*kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return lines;
		rec[n] = '\0';
		if (strstr(rec, "zcopy") || strstr(rec, "zero-copy"))
			lines++;
	}
}

/*
 * Deferred grants are bounded and seen: while the grantee keeps a page of
 * a freed buffer mapped, the grant is listed per domain, its retries back
 * off (up to one every 10 s) without logging anything, and the exporter's
 * buffer stays; once the grantee unmaps, the grant ends within the
 * longest interval, and Dom0's free grant references (counted by granting
 * them all, outside the driver) are what they were.
 */
static void test_deferred_backoff(void)
{
	uint32_t refs[NPAGES], import;
	int fd, vgem, dmabuf, kmsg = -1;
	long grefs0, bufs0, ms = -1;
	int i;

	grefs0 = zc_oracle_free_grefs();
	zc_require(grefs0 > 0);
	bufs0 = dmabufs_alive();
	fd = zc_baseline_open(&base);
	dmabuf = vgem_dmabuf(&vgem, W, H);
	zc_assert_ok(zc_prime_import(fd, dmabuf, &import));
	zc_assert_ok(zc_to_refs(fd, import, refs, NPAGES, 0));
	frontend_map.fd = -1;
	zc_at_exit(frontend_unmap, &frontend_map);
	zc_assert_ok(zc_gntdev_map(&frontend_map, 0, refs + 2, 1, true));

	zc_assert_ok(zc_gem_close(fd, import));
	close(dmabuf);
	close(vgem);
	zc_assert_ok(zc_stat_wait("deferred_refs", base.v[4] + 1, 3000));
	driver_log_lines(&kmsg);
	zc_assert(zc_debugfs_has("xen_zcopy_domains",
			      "domain 0 mapped_pages 0 buffers 0 granted_pages 1 deferred_refs 1"));

	/* Each retry that ends nothing doubles the interval: 100 ms, 200 ... */
	for (i = 0; i < 200; i++) {
		ms = deferred_retry_ms();
		if (ms >= 1600)
			break;
		usleep(100 * 1000);
	}
	zc_assert_f(ms >= 1600, "retry interval still %ld ms", ms);
	zc_assert_eq(zc_stat("deferred_refs"), base.v[4] + 1);
	zc_assert_eq(dmabufs_alive(), bufs0 + 1);
	zc_assert_eq(driver_log_lines(&kmsg), 0);

	zc_gntdev_unmap(&frontend_map);
	frontend_map.fd = -1;
	zc_assert_ok(zc_stat_wait("deferred_refs", base.v[4], 12000));
	zc_assert_ok(wait_dmabufs(bufs0, 3000));
	zc_assert(!zc_debugfs_has("xen_zcopy_buffers", "deferred domain"));
	zc_assert(!zc_debugfs_has("xen_zcopy_domains", "domain 0 "));
	close(kmsg);
	close(fd);
	check_baseline();
	zc_assert_eq(zc_oracle_free_grefs(), grefs0);
}

static const struct zc_subtest subtests[] = {
	{ "cap-sys-admin", test_cap_sys_admin },
	{ "world-accessible-node", test_world_accessible_node },
	{ "malformed-ioctl", test_malformed_ioctl },
	{ "padding", test_padding },
	{ "dmabuf-granted-once", test_dmabuf_granted_once },
	{ "quotas", test_quotas },
	{ "no-gup-pin", test_no_gup_pin },
	{ "unbind-refused", test_unbind_refused },
	{ "kernel-map-at-create", test_kernel_map_at_create },
	{ "deferred-visible", test_deferred_visible },
	{ "to-refs-revoke-mapped", test_to_refs_revoke_mapped },
	/* Counting Dom0's free grant references fills its grant table. */
	{ "deferred-backoff", test_deferred_backoff,
	  .dmesg_ignore = "max_grant_frames reached" },
	{ }
};

ZC_MAIN(subtests)
