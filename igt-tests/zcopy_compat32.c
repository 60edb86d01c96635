// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit callers on a 64-bit kernel: an i386 process on x86_64, an armhf
 * one on arm64. Their v1 structures are laid out differently (a 4-byte
 * pointer; on i386 4-byte aligned 64-bit fields), so their v1 ioctl
 * numbers differ and the driver's compat_ioctl must translate them; the
 * v2 ones are the same and must just work, as must the DRM core's calls
 * (PRIME, MODE_MAP_DUMB, GEM_CLOSE) and dma-buf's.
 *
 * Each subtest runs one scenario twice: with the child program
 * compat32/zc_c32.c built 64-bit (the reference, proving the scenario
 * itself) and built 32-bit. The child makes the driver calls on the DRM
 * fd it inherits; this process makes the grants (Debian 6.1's gntalloc
 * and gntdev have no compat_ioctl, so a 32-bit process cannot) and checks
 * the bytes on its side of the grants, the driver's counters and the
 * child's errnos.
 */

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zc_c32.h"
#include "zc_drm.h"
#include "zc_fixture.h"
#include "zc_gnt.h"
#include "zc_igt.h"
#include "zc_xen.h"

#define PAGE		4096
#define NPAGES		4
/* 64 x 64 XRGB8888: NPAGES pages, pitch 256. */
#define W		64
#define H		64
#define SEED		0x51
#define NEWSEED		0xa7

/* The v1 argument sizes of a 32-bit caller on this architecture. */
#if defined(__x86_64__)
#define C32_FROM_REFS_SIZE	52
#define C32_TO_REFS_SIZE	20
#elif defined(__aarch64__)
#define C32_FROM_REFS_SIZE	56
#define C32_TO_REFS_SIZE	24
#else
#error "no 32-bit compat layout known for this architecture"
#endif

static struct zc_stats base;

struct out {
	char buf[16384];
};

/* The folder of the child programs: ZC_COMPAT32_DIR, or ../compat32. */
static void child_path(int bits, char *path, size_t len)
{
	const char *dir = getenv("ZC_COMPAT32_DIR");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (!dir) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		zc_assert(n > 0);
		self[n] = 0;
		slash = strrchr(self, '/');
		zc_assert(slash);
		*slash = 0;
		snprintf(path, len, "%s/../compat32/zc_c%d", self, bits);
		return;
	}
	snprintf(path, len, "%s/zc_c%d", dir, bits);
}

struct child {
	int bits;
	pid_t pid;
	int out;
	char path[PATH_MAX + 32];
	const char *cmd;
};

/* Starts the @bits child with @args (NULL-terminated, args[0] the command). */
static void child_start(int bits, struct child *c, const char *const *args)
{
	char *argv[80];
	int pfd[2], i;

	child_path(bits, c->path, sizeof(c->path));
	c->bits = bits;
	c->cmd = args[0];
	argv[0] = c->path;
	for (i = 0; args[i]; i++) {
		zc_assert(i + 2 < (int)(sizeof(argv) / sizeof(argv[0])));
		argv[i + 1] = (char *)args[i];
	}
	argv[i + 1] = NULL;

	zc_assert_ok(pipe(pfd));
	c->pid = fork();
	zc_assert(c->pid >= 0);
	if (!c->pid) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(c->path, argv);
		printf("exec=%d\n", -errno);
		fflush(stdout);
		_exit(127);
	}
	close(pfd[1]);
	c->out = pfd[0];
}

/*
 * Collects the output of child @c; skips the subtest when a 32-bit child
 * is not there or the kernel cannot execute it.
 */
static void child_finish(struct child *c, struct out *o)
{
	size_t got = 0;
	int status;
	ssize_t n;

	while ((n = read(c->out, o->buf + got, sizeof(o->buf) - 1 - got)) > 0)
		got += n;
	o->buf[got] = 0;
	close(c->out);
	zc_assert_eq(waitpid(c->pid, &status, 0), c->pid);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		long e = 0;

		sscanf(o->buf, "exec=%ld", &e);
		if (c->bits == 32 && e == -ENOENT)
			zc_skip("no 32-bit child program at %s (not built)", c->path);
		if (c->bits == 32 && e == -ENOEXEC)
			zc_skip("the kernel cannot execute 32-bit programs (%s)",
				strerror(ENOEXEC));
		zc_assert_f(0, "cannot execute %s: %s", c->path, strerror((int)-e));
	}
	zc_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "%d-bit child %s ended with status 0x%x; output:\n%s",
		    c->bits, c->cmd, status, o->buf);
}

static void child_run(int bits, struct out *o, const char *const *args)
{
	struct child c;

	child_start(bits, &c, args);
	child_finish(&c, o);
}

/* The ioctl syscall's number for a @bits child of this architecture. */
static long ioctl_nr(int bits)
{
#if defined(__x86_64__)
	return bits == 64 ? 16 : 54;
#else
	return bits == 64 ? 29 : 54;
#endif
}

/*
 * Waits until child @c sleeps in an ioctl (the wait it was started for),
 * so that what the parent does next happens during that wait.
 */
static void child_blocked(struct child *c)
{
	char path[64], buf[256];
	int i;

	for (i = 0; i < 60000; i++) {
		long nr = -1;
		char state = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/syscall", c->pid);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%ld", &nr) != 1)
				nr = -1;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/stat", c->pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(buf, sizeof(buf), f) && strrchr(buf, ')'))
				state = strrchr(buf, ')')[2];
			fclose(f);
		}
		if (nr == ioctl_nr(c->bits) && state == 'S')
			return;
		usleep(1000);
	}
	zc_assert_f(0, "the %d-bit child never blocked in its ioctl", c->bits);
}

/* The line "@key=VALUE" of the child's output, NULL if absent. */
static const char *out_str(const struct out *o, const char *key)
{
	size_t len = strlen(key);
	const char *p = o->buf;

	while (p && *p) {
		if (!strncmp(p, key, len) && p[len] == '=')
			return p + len + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

#define out_long(o, key) __out_long(o, key, __LINE__)
static long long __out_long(const struct out *o, const char *key, int line)
{
	const char *v = out_str(o, key);

	if (!v)
		__zc_fail(__FILE__, line, __func__, key,
			  "no \"%s=\" in the child's output:\n%s", key, o->buf);
	return strtoll(v, NULL, 0);
}

/*
 * A copy of @fd without O_CLOEXEC, for the children; the caller closes it
 * (a failed subtest's process exits, which closes it too).
 */
static int inheritable(int fd)
{
	int c = fcntl(fd, F_DUPFD, 10);

	zc_assert(c >= 0);
	return c;
}

static char *num(char *buf, long long v)
{
	sprintf(buf, "%lld", v);
	return buf;
}

/* Self-granted pages holding pattern @seed (fixtures of the subtest). */
static struct zc_gntalloc ga[4];
static int nga;

static struct zc_gntalloc *grant(uint32_t pages, uint32_t seed)
{
	struct zc_gntalloc *g;

	zc_assert(nga < 4);
	g = &ga[nga++];
	zc_assert_ok(zc_gntalloc_alloc(g, 0, pages, true));
	zc_at_exit(zc_gntalloc_cleanup, g);
	zc_c32_fill(g->map, (size_t)pages * PAGE, seed);
	return g;
}

/*
 * FROM_REFS (@v2: FROM_REFS2 with a dma-buf fd) by the @bits child on
 * @g's refs: the child checks pattern SEED through its mmaps of the
 * dma-buf and of the GEM handle and writes NEWSEED; here the granted
 * pages must show it. Returns the child's GEM handle and wait handle.
 */
static void child_from_refs(int bits, bool v2, int cfd,
			    struct zc_gntalloc *g, uint32_t w, uint32_t h,
			    uint32_t *handle, uint32_t *wh)
{
	char a[8][24], r[64][24];
	const char *args[80];
	struct out o;
	size_t size = (size_t)g->count * PAGE;
	uint32_t i;
	int n = 0;

	args[n++] = v2 ? "from-refs2" : "from-refs";
	args[n++] = num(a[0], cfd);
	args[n++] = "0";
	args[n++] = num(a[1], w);
	args[n++] = num(a[2], h);
	if (!v2)
		args[n++] = "32";
	args[n++] = num(a[3], SEED);
	args[n++] = num(a[4], NEWSEED);
	zc_assert(g->count <= 64);
	for (i = 0; i < g->count; i++)
		args[n++] = num(r[i], g->refs[i]);
	args[n] = NULL;

	child_run(bits, &o, args);
	zc_info("%d-bit %s:\n%s", bits, args[0], o.buf);
	zc_assert_eq(out_long(&o, "ret"), 0);
	zc_assert_eq(out_long(&o, "size"), size);
	if (!v2)
		zc_assert_eq(out_long(&o, "pitch"), w * 4);
	else
		zc_assert_eq(out_long(&o, "dmabuf_fd_ok"), 1);
	*handle = out_long(&o, "handle");
	*wh = out_long(&o, "wait_handle");
	zc_assert_neq(*handle, 0);
	zc_assert_neq(*wh, 0);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + g->count);
	if (!v2)
		zc_assert_eq(out_long(&o, "prime"), 0);
	zc_assert_eq(out_long(&o, "dmabuf_map"), 0);
	zc_assert_eq(out_long(&o, "sync_start"), 0);
	zc_assert_eq(out_long(&o, "dmabuf_check"), -1);
	zc_assert_eq(out_long(&o, "sync_end"), 0);
	zc_assert_eq(out_long(&o, "map_dumb"), 0);
	zc_assert_eq(out_long(&o, "dumb_map"), 0);
	zc_assert_eq(out_long(&o, "dumb_check"), -1);
	/* What the child wrote through its mapping is in the granted pages. */
	zc_assert_eq(zc_c32_check(g->map, size, NEWSEED), -1);
}

static void from_refs_scenario(int bits, bool v2)
{
	struct zc_gntalloc *g;
	uint32_t handle, wh;
	int fd, cfd;

	fd = zc_baseline_open(&base);
	cfd = inheritable(fd);
	g = grant(NPAGES, SEED);
	child_from_refs(bits, v2, cfd, g, W, H, &handle, &wh);
	zc_assert_ok(zc_gem_close(fd, handle));
	zc_gntalloc_free(g);
	close(cfd);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static void test_v1_from_refs(void)
{
	from_refs_scenario(64, false);
	from_refs_scenario(32, false);
}

static void test_v2_from_refs2(void)
{
	from_refs_scenario(64, true);
	from_refs_scenario(32, true);
}

/* The refs of the child's "refs=" line. */
static void parse_refs(const struct out *o, uint32_t *refs, uint32_t n)
{
	const char *p = out_str(o, "refs");
	char *end;
	uint32_t i;

	zc_assert_f(p, "no refs in:\n%s", o->buf);
	for (i = 0; i < n; i++) {
		refs[i] = strtoul(p, &end, 0);
		zc_assert(end != p);
		p = end + 1;
	}
}

/*
 * A vgem buffer holding SEED, imported and granted by the @bits child
 * (TO_REFS, or TO_REFS2 if @v2) to this domain: through a gntdev mapping
 * of the refs it returns, the pattern is there, and NEWSEED written there
 * shows in vgem's mapping. A second call returns the same refs.
 */
static void to_refs_scenario(int bits, bool v2)
{
	static struct zc_gntdev gd;
	static int vgems[2] = { -1, -1 }, nvgem;
	char a[4][24];
	const char *args[8];
	uint32_t refs[NPAGES], again[NPAGES];
	struct zc_dumb d;
	struct out o;
	int fd, cfd, dmabuf, cdmabuf, *vgem = &vgems[nvgem++];
	uint8_t *px;

	fd = zc_baseline_open(&base);
	cfd = inheritable(fd);
	*vgem = zc_drm_open_driver("vgem", NULL);
	zc_require(*vgem >= 0);
	zc_at_exit(zc_close_cleanup, vgem);
	zc_assert_ok(zc_dumb_create(*vgem, W, H, 32, &d));
	zc_assert_eq(d.size, NPAGES * PAGE);
	px = zc_dumb_map(*vgem, d.handle, d.size);
	zc_assert(px);
	zc_c32_fill(px, d.size, SEED);
	zc_assert_ok(zc_prime_export(*vgem, d.handle, &dmabuf));
	cdmabuf = inheritable(dmabuf);

	args[0] = v2 ? "to-refs2" : "to-refs";
	args[1] = num(a[0], cfd);
	args[2] = num(a[1], cdmabuf);
	args[3] = "0";
	args[4] = num(a[2], NPAGES);
	args[5] = NULL;
	child_run(bits, &o, args);
	zc_info("%d-bit %s:\n%s", bits, args[0], o.buf);
	zc_assert_eq(out_long(&o, "import"), 0);
	zc_assert_eq(out_long(&o, "ret"), 0);
	parse_refs(&o, refs, NPAGES);

	zc_assert_ok(zc_gntdev_map(&gd, 0, refs, NPAGES, true));
	zc_assert_eq(zc_c32_check(gd.map, d.size, SEED), -1);
	zc_c32_fill(gd.map, d.size, NEWSEED);
	zc_assert_eq(zc_c32_check(px, d.size, NEWSEED), -1);
	zc_gntdev_unmap(&gd);

	child_run(bits, &o, args);
	zc_assert_eq(out_long(&o, "ret"), 0);
	parse_refs(&o, again, NPAGES);
	zc_assert(!memcmp(refs, again, sizeof(refs)));

	/* The child's import is a handle on the shared file: close it. */
	zc_assert_ok(zc_gem_close(fd, out_long(&o, "handle")));
	munmap(px, d.size);
	close(cdmabuf);
	close(dmabuf);
	zc_assert_ok(zc_gem_close(*vgem, d.handle));
	zc_close_cleanup(vgem);
	close(cfd);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static void test_v1_to_refs(void)
{
	to_refs_scenario(64, false);
	to_refs_scenario(32, false);
}

static void test_v2_to_refs2(void)
{
	to_refs_scenario(64, true);
	to_refs_scenario(32, true);
}

/* Runs "@cmd @cfd @a1 @a2" in the @bits child; returns its "ret=". */
static long child_call(int bits, const char *cmd, int cfd, long long a1,
		       long long a2)
{
	char a[3][24];
	const char *args[] = { cmd, num(a[0], cfd), num(a[1], a1),
			       num(a[2], a2), NULL };
	struct out o;

	if (a2 < 0)
		args[3] = NULL;
	child_run(bits, &o, args);
	if (!strcmp(cmd, "wait-free2") && strstr(o.buf, "ret=0\n"))
		zc_assert_eq(out_long(&o, "status"), DRM_XEN_ZCOPY_WAIT_FREED);
	return out_long(&o, "ret");
}

/*
 * DUMB_WAIT_FREE (WAIT_FREE2 if @v2) from the @bits child: a buffer held
 * by its GEM handle, then only by a dma-buf of this process, times out;
 * a wait the child is blocked in returns 0 once that dma-buf is closed,
 * with the grants unmapped; then the handle is unknown.
 */
static void wait_free_scenario(int bits, bool v2)
{
	const char *wait = v2 ? "wait-free2" : "wait-free";
	struct zc_gntalloc *g;
	uint32_t handle, wh;
	char a[3][24];
	const char *args[5];
	struct child c;
	struct out o;
	int fd, cfd, dmabuf;

	fd = zc_baseline_open(&base);
	cfd = inheritable(fd);
	g = grant(1, SEED);
	child_from_refs(bits, v2, cfd, g, W, PAGE / (W * 4), &handle, &wh);
	zc_assert_ok(zc_prime_export(fd, handle, &dmabuf));
	zc_assert_eq(child_call(bits, wait, cfd, wh, 0), -ETIMEDOUT);
	zc_assert_eq(child_call(bits, "gem-close", cfd, handle, -1), 0);
	zc_assert_eq(child_call(bits, wait, cfd, wh, 0), -ETIMEDOUT);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1] + 1);

	args[0] = wait;
	args[1] = num(a[0], cfd);
	args[2] = num(a[1], wh);
	args[3] = num(a[2], 120000);
	args[4] = NULL;
	child_start(bits, &c, args);
	child_blocked(&c);
	close(dmabuf);
	child_finish(&c, &o);
	zc_info("%d-bit %s after the last release:\n%s", bits, wait, o.buf);
	zc_assert_eq(out_long(&o, "ret"), 0);
	if (v2)
		zc_assert_eq(out_long(&o, "status"), DRM_XEN_ZCOPY_WAIT_FREED);
	zc_assert_eq(zc_stat("mapped_grants"), base.v[1]);

	/* The wait learnt of the end: the handle is forgotten. */
	zc_assert_eq(child_call(bits, wait, cfd, wh, 0), -ENOENT);
	zc_gntalloc_free(g);
	close(cfd);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static void test_v1_wait_free(void)
{
	wait_free_scenario(64, false);
	wait_free_scenario(32, false);
}

static void test_v2_wait_free2(void)
{
	wait_free_scenario(64, true);
	wait_free_scenario(32, true);
}

static void test_v2_get_caps(void)
{
	struct drm_xen_zcopy_get_caps c = { 0 };
	char a[24];
	const char *args[] = { "caps", NULL, NULL };
	struct out o;
	int fd, cfd, bits;

	fd = zc_baseline_open(&base);
	cfd = inheritable(fd);
	args[1] = num(a, cfd);
	zc_assert_ok(ioctl(fd, DRM_IOCTL_XEN_ZCOPY_GET_CAPS, &c));
	zc_assert(c.caps & DRM_XEN_ZCOPY_CAP_COMPAT32);
	for (bits = 64; bits >= 32; bits -= 32) {
		child_run(bits, &o, args);
		zc_info("%d-bit caps:\n%s", bits, o.buf);
		zc_assert_eq(out_long(&o, "ret"), 0);
		zc_assert_eq(out_long(&o, "caps"), c.caps);
		zc_assert_eq(out_long(&o, "max_pages"), c.max_pages);
	}
	close(cfd);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

/*
 * The numbers the 32-bit build computes: v1 FROM_REFS and TO_REFS carry
 * the 32-bit sizes (the numbers the driver's compat handler matches), the
 * rest are the 64-bit numbers.
 */
static void test_abi_numbers(void)
{
	static const struct { const char *key; unsigned long cmd; } same[] = {
		{ "wait_free", DRM_IOCTL_XEN_ZCOPY_DUMB_WAIT_FREE },
		{ "get_caps", DRM_IOCTL_XEN_ZCOPY_GET_CAPS },
		{ "from_refs2", DRM_IOCTL_XEN_ZCOPY_FROM_REFS2 },
		{ "to_refs2", DRM_IOCTL_XEN_ZCOPY_TO_REFS2 },
		{ "wait_free2", DRM_IOCTL_XEN_ZCOPY_WAIT_FREE2 },
		{ "wait_fd", DRM_IOCTL_XEN_ZCOPY_WAIT_FD },
	};
	const char *args[] = { "abi", NULL };
	unsigned long fr32 = _IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE,
				  DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_FROM_REFS,
				  C32_FROM_REFS_SIZE);
	unsigned long tr32 = _IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE,
				  DRM_COMMAND_BASE + DRM_XEN_ZCOPY_DUMB_TO_REFS,
				  C32_TO_REFS_SIZE);
	struct out o;
	size_t i;

	child_run(64, &o, args);
	zc_assert_eq(out_long(&o, "bits"), 64);
	zc_assert_eq(out_long(&o, "from_refs"), DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS);
	zc_assert_eq(out_long(&o, "to_refs"), DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS);

	child_run(32, &o, args);
	zc_info("32-bit numbers:\n%s", o.buf);
	zc_assert_eq(out_long(&o, "bits"), 32);
	zc_assert_eq(out_long(&o, "from_refs"), fr32);
	zc_assert_eq(out_long(&o, "to_refs"), tr32);
	zc_assert_neq(fr32, DRM_IOCTL_XEN_ZCOPY_DUMB_FROM_REFS);
	zc_assert_neq(tr32, DRM_IOCTL_XEN_ZCOPY_DUMB_TO_REFS);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		zc_assert_eq(out_long(&o, same[i].key), same[i].cmd);
}

/*
 * The same bad requests from a 64-bit and a 32-bit caller get the same
 * errnos, and nothing is kept.
 */
static void test_bad_input_parity(void)
{
	static const struct { const char *key; int err; } expect[] = {
		{ "v1-from-refs-bpp", EINVAL },
		{ "v1-from-refs-too-many", E2BIG },
		{ "v1-from-refs-domid-reserved", EINVAL },
		{ "v1-from-refs-domid-high", EINVAL },
		{ "v1-from-refs-grefs-null", EFAULT },
		{ "v1-from-refs-arg-null", EFAULT },
		{ "v1-to-refs-no-handle", ENOENT },
		{ "v1-wait-free-no-handle", ENOENT },
		{ "v1-from-refs-other-size", EINVAL },
		{ "v2-from-refs2-flags", EINVAL },
		{ "v2-from-refs2-grefs-high", EFAULT },
	};
	static struct out o64, o32;
	char a[24];
	const char *args[] = { "bad", NULL, NULL };
	const char *p, *q;
	size_t i;
	int fd, cfd;

	fd = zc_baseline_open(&base);
	cfd = inheritable(fd);
	args[1] = num(a, cfd);
	child_run(64, &o64, args);
	child_run(32, &o32, args);
	zc_info("64-bit:\n%s32-bit:\n%s", o64.buf, o32.buf);

	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		zc_assert_f(out_long(&o64, expect[i].key) == -expect[i].err,
			    "%s: %lld, expected %d", expect[i].key,
			    out_long(&o64, expect[i].key), -expect[i].err);
	/* Line by line: each request failed, and failed alike. */
	for (p = o64.buf, q = o32.buf; *p; p = strchr(p, '\n') + 1,
	     q = strchr(q, '\n') + 1) {
		size_t len = strcspn(p, "\n");

		zc_assert_f(strchr(p, '=') && atoi(strchr(p, '=') + 1) < 0,
			    "64-bit: a bad request succeeded: %.*s", (int)len, p);
		zc_assert_f(strncmp(p, q, len + 1) == 0,
			    "64-bit: %.*s, 32-bit: %.*s", (int)len, p,
			    (int)strcspn(q, "\n"), q);
	}
	zc_assert_eq(*q, 0);
	close(cfd);
	close(fd);
	zc_baseline_finish(&base, 3000);
}

static const struct zc_subtest subtests[] = {
	{ "abi-numbers", test_abi_numbers },
	{ "v1-from-refs", test_v1_from_refs },
	{ "v1-to-refs", test_v1_to_refs },
	{ "v1-wait-free", test_v1_wait_free },
	{ "v2-get-caps", test_v2_get_caps },
	{ "v2-from-refs2", test_v2_from_refs2 },
	{ "v2-to-refs2", test_v2_to_refs2 },
	{ "v2-wait-free2", test_v2_wait_free2 },
	{ "bad-input-parity", test_bad_input_parity },
	{ }
};

ZC_MAIN(subtests)
