// SPDX-License-Identifier: GPL-2.0
/*
 * zcopy_bench: what xen_drm_zcopy costs, against what a backend pays
 * without it, measured in the testbed's Dom0 (self-grants stand in for a
 * frontend: gntalloc grants Dom0's own pages to domain 0).
 *
 *  setup     DUMB_FROM_REFS + PRIME export + vkms import of N refs, against
 *            gntdev MAP_GRANT_REF + mmap + a read of every page of the same
 *            refs (the floor: what any backend pays to see the pages);
 *            PRIME import + DUMB_TO_REFS of a vkms buffer of N pages,
 *            against gntalloc granting N fresh pages; teardown (the last
 *            close until DUMB_WAIT_FREE returns) against gntdev's unmap.
 *  domu      the setup comparison of FROM_REFS against gntdev, and both
 *            teardowns, with a real frontend's grants: pages the testbed's
 *            PV DomU grants to Dom0 (x86 only; skipped without a DomU).
 *  frame     a backend page-flipping on vkms between two buffers, zero-copy
 *            (two DUMB_FROM_REFS buffers) against the copy path (the
 *            frontend's pages mapped with gntdev and memcpy'd into a vkms
 *            dumb buffer before each flip): CPU of this process per frame
 *            (getrusage: vkms composes in a kernel worker, not counted)
 *            and flips per second.
 *  scale     least-squares fit of setup time against pages, the most live
 *            1080p buffers, the largest single buffer.
 *
 * Every figure is the median of the repetitions (ZC_BENCH_REPS, at least
 * 10) with min and max; the first call is reported on its own, since it
 * pays one-time costs (the pool of unpopulated pages grows, shmem pages are
 * allocated). Results are lines "@csv,group,metric,x,first,median,min,max,
 * reps,note" that the host collects; times in microseconds. Guest times
 * under TCG are not hardware times: compare ratios within one run.
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "zc_domu.h"
#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_xen.h"
#include "zc_oracle.h"

#define PAGE		4096u
#define SELF		0
#define MAX_REPS	64
/* Pages the DomU agent grants per command (one 1080p frame). */
#define DOMU_CHUNK	2025u

static unsigned int reps = 10;
static unsigned int frames = 30;
static double budget_s = 240;
static int xfd = -1;
static struct zc_kms kms;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Repetitions of one figure: the first call apart, then the rest. */
struct series {
	double first;
	double v[MAX_REPS];
	unsigned int n;
	int err;
};

static void series_add(struct series *s, double v, bool *first)
{
	if (*first) {
		s->first = v;
		*first = false;
	} else if (s->n < MAX_REPS) {
		s->v[s->n++] = v;
	}
}

static double median(double *v, unsigned int n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double emit(const char *group, const char *metric, double x,
		   struct series *s)
{
	double med = median(s->v, s->n);

	printf("@csv,%s,%s,%.0f,%.1f,%.1f,%.1f,%.1f,%u,%s\n", group, metric, x,
	       s->first, med, s->n ? s->v[0] : NAN,
	       s->n ? s->v[s->n - 1] : NAN, s->n,
	       s->err ? strerror(-s->err) : "ok");
	return med;
}

static void emit_value(const char *group, const char *metric, double x,
		       double v, const char *note)
{
	printf("@csv,%s,%s,%.0f,%.1f,%.1f,%.1f,%.1f,1,%s\n", group, metric, x,
	       v, v, v, v, note);
}

static void set_param(const char *module, const char *param, const char *val)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module,
		 param);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		printf("note: cannot set %s=%s: %s\n", path, val,
		       strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* A buffer of @pages pages as a dumb geometry: rows of 1024 pixels or more. */
static void geometry(uint32_t pages, uint32_t *w, uint32_t *h)
{
	uint32_t k = 1;

	while (pages / k > 8192 || pages % k)
		k++;
	*w = 1024 * k;
	*h = pages / k;
}

/* ---- setup ------------------------------------------------------------ */

struct zc_buf {
	struct drm_xen_zcopy_dumb_from_refs req;
	int dmabuf;
	uint32_t vkms_handle;
};

/* FROM_REFS + export + vkms import. 0 or -errno; undone on failure. */
static int zc_buf_make(struct zc_buf *b, uint32_t domid, const uint32_t *refs,
		       uint32_t pages, uint32_t w, uint32_t h)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->dmabuf = -1;
	ret = zc_from_refs(xfd, refs, pages, domid, w, h, 32, &b->req);
	if (ret)
		return ret;
	ret = zc_prime_export(xfd, b->req.dumb.handle, &b->dmabuf);
	if (!ret)
		ret = zc_prime_import(kms.fd, b->dmabuf, &b->vkms_handle);
	if (ret) {
		if (b->dmabuf >= 0)
			close(b->dmabuf);
		zc_gem_close(xfd, b->req.dumb.handle);
		zc_wait_free(xfd, b->req.wait_handle, 30000);
	}
	return ret;
}

/* Drops every reference; returns once DUMB_WAIT_FREE says it is gone. */
static int zc_buf_free(struct zc_buf *b, double *last_close_us)
{
	double t0;
	int ret;

	zc_gem_close(kms.fd, b->vkms_handle);
	zc_gem_close(xfd, b->req.dumb.handle);
	/* The dma-buf holds the last reference. */
	t0 = now_us();
	close(b->dmabuf);
	ret = zc_wait_free(xfd, b->req.wait_handle, 60000);
	/* Gone before the call: as freed as it gets. */
	if (ret == -ENOENT)
		ret = 0;
	if (last_close_us)
		*last_close_us = now_us() - t0;
	return ret;
}

static volatile uint8_t sink;

static void touch(const uint8_t *p, uint32_t pages)
{
	uint32_t i;

	for (i = 0; i < pages; i++)
		sink += p[(size_t)i * PAGE];
}

struct fit {
	double x[16], y[16];
	unsigned int n;
};

static void fit_add(struct fit *f, double x, double y)
{
	if (f->n < 16 && !isnan(y)) {
		f->x[f->n] = x;
		f->y[f->n] = y;
		f->n++;
	}
}

/* y = a + b x by least squares, and R^2. */
static void fit_emit(const char *metric, struct fit *f)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, a, b, ss_res = 0, ss_tot = 0;
	unsigned int i, n = f->n;
	char note[96];

	if (n < 2)
		return;
	for (i = 0; i < n; i++) {
		sx += f->x[i];
		sy += f->y[i];
		sxx += f->x[i] * f->x[i];
		sxy += f->x[i] * f->y[i];
	}
	b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
	a = (sy - b * sx) / n;
	for (i = 0; i < n; i++) {
		double e = f->y[i] - (a + b * f->x[i]), d = f->y[i] - sy / n;

		ss_res += e * e;
		ss_tot += d * d;
	}
	snprintf(note, sizeof(note), "us_per_page=%.3f fixed_us=%.1f r2=%.4f",
		 b, a, ss_tot ? 1 - ss_res / ss_tot : 1);
	printf("@csv,fit,%s,0,%.3f,%.3f,%.1f,%.4f,%u,%s\n", metric, b, b, a,
	       ss_tot ? 1 - ss_res / ss_tot : 1, n, note);
}

/*
 * FROM_REFS + export + import of @refs granted by @domid against gntdev's
 * map + mmap + touch of the same refs, and both teardowns: the group's
 * rows "from_refs_export_import", "gntdev_map_mmap_touch",
 * "teardown_wait_free" and "gntdev_unmap" at x = @pages (@err: the grants
 * could not be made). Feeds the setup fits when @fz and @fg are given.
 */
static void bench_map_refs(const char *group, uint32_t domid,
			   const uint32_t *refs, uint32_t pages, int err,
			   struct fit *fz, struct fit *fg)
{
	struct series zc = { .err = err }, gd = { .err = err };
	struct series tz = { 0 }, tg = { 0 };
	bool f_zc = true, f_gd = true, f_tz = true, f_tg = true;
	uint32_t w, h, i;
	double t0, t;
	int ret;

	geometry(pages, &w, &h);
	for (i = 0; !err && i <= reps; i++) {
		struct zc_buf b;
		struct zc_gntdev m;

		t0 = now_us();
		ret = zc_buf_make(&b, domid, refs, pages, w, h);
		t = now_us() - t0;
		if (ret) {
			zc.err = ret;
			break;
		}
		series_add(&zc, t, &f_zc);
		ret = zc_buf_free(&b, &t);
		if (ret)
			tz.err = ret;
		series_add(&tz, t, &f_tz);

		t0 = now_us();
		ret = zc_gntdev_map(&m, domid, refs, pages, true);
		if (ret) {
			gd.err = ret;
			break;
		}
		touch(m.map, pages);
		series_add(&gd, now_us() - t0, &f_gd);
		t0 = now_us();
		zc_gntdev_unmap(&m);
		series_add(&tg, now_us() - t0, &f_tg);
	}
	t = emit(group, "from_refs_export_import", pages, &zc);
	if (fz)
		fit_add(fz, pages, t);
	t = emit(group, "gntdev_map_mmap_touch", pages, &gd);
	if (fg)
		fit_add(fg, pages, t);
	emit(group, "teardown_wait_free", pages, &tz);
	emit(group, "gntdev_unmap", pages, &tg);
	fflush(stdout);
}

static void bench_setup_size(uint32_t pages, struct fit *fz, struct fit *fg)
{
	struct series to = { 0 }, ga = { 0 };
	bool f_to = true, f_ga = true;
	struct zc_gntalloc src;
	struct zc_dumb vd = { 0 };
	uint32_t w, h, i, *refs;
	double t0, t;
	int ret, vbuf = -1;

	geometry(pages, &w, &h);
	ret = zc_gntalloc_alloc(&src, SELF, pages, true);
	if (ret)
		printf("note: gntalloc of %u pages: %s\n", pages, strerror(-ret));
	bench_map_refs("setup", SELF, ret ? NULL : src.refs, pages, ret, fz, fg);
	if (ret)
		return;
	zc_gntalloc_free(&src);

	/* TO_REFS of a vkms buffer against gntalloc granting fresh pages. */
	refs = calloc(pages, sizeof(*refs));
	ret = refs ? zc_dumb_create(kms.fd, w, h, 32, &vd) : -ENOMEM;
	if (!ret)
		ret = zc_prime_export(kms.fd, vd.handle, &vbuf);
	for (i = 0; !ret && i <= reps; i++) {
		struct zc_gntalloc g;
		uint32_t handle;

		t0 = now_us();
		ret = zc_prime_import(xfd, vbuf, &handle);
		if (!ret) {
			ret = zc_to_refs(xfd, handle, refs, pages, SELF);
			t = now_us() - t0;
			zc_gem_close(xfd, handle);
		}
		if (ret)
			break;
		series_add(&to, t, &f_to);

		t0 = now_us();
		ret = zc_gntalloc_alloc(&g, SELF, pages, true);
		if (ret) {
			ga.err = ret;
			break;
		}
		series_add(&ga, now_us() - t0, &f_ga);
		zc_gntalloc_free(&g);
	}
	if (ret && !ga.err)
		to.err = ret;
	if (vbuf >= 0)
		close(vbuf);
	if (vd.handle)
		zc_gem_close(kms.fd, vd.handle);
	free(refs);

	emit("setup", "to_refs_import", pages, &to);
	emit("setup", "gntalloc_alloc", pages, &ga);
	fflush(stdout);
}

/*
 * The first grant mapping of the boot: the kernel's pool of unpopulated
 * pages (x86; ballooned pages on arm64) is empty and grows by a memory
 * section, whoever asks first. gntdev asks first here, so the growth shows
 * as the floor's cost, and the first FROM_REFS after it shows what is left.
 */
static void bench_first(void)
{
	struct series g = { 0 }, z = { 0 };
	bool fg = true, fz = true;
	struct zc_gntalloc src;
	struct zc_gntdev m;
	struct zc_buf b;
	double t0;
	int ret;

	ret = zc_gntalloc_alloc(&src, SELF, 1, true);
	if (ret)
		return;
	t0 = now_us();
	ret = zc_gntdev_map(&m, SELF, src.refs, 1, true);
	if (!ret) {
		touch(m.map, 1);
		series_add(&g, now_us() - t0, &fg);
		zc_gntdev_unmap(&m);
	}
	g.err = ret;
	t0 = now_us();
	ret = zc_buf_make(&b, SELF, src.refs, 1, 1024, 1);
	if (!ret) {
		series_add(&z, now_us() - t0, &fz);
		zc_buf_free(&b, NULL);
	}
	z.err = ret;
	emit("first", "gntdev_first_of_boot", 1, &g);
	emit("first", "from_refs_after_it", 1, &z);
	zc_gntalloc_free(&src);
}

/*
 * The same comparison with a real frontend's grants: the DomU's agent
 * grants N fresh pages to Dom0 (gntalloc in the guest), Dom0 maps them
 * both ways. Only where the testbed started a DomU (x86 PV).
 */
static void bench_domu(const uint32_t *sizes, unsigned int n)
{
	struct zc_domu d;
	char text[128] = "";
	uint32_t *refs;
	unsigned int i, k, chunks;
	int ret;

	ret = zc_domu_open(&d);
	if (ret) {
		printf("note: no DomU (%s): no DomU grant figures\n",
		       strerror(-ret));
		return;
	}
	for (i = 0; i < n; i++) {
		uint32_t pages = sizes[i], done, c;

		refs = calloc(pages, sizeof(*refs));
		ret = refs ? 0 : -ENOMEM;
		/* In slots of DOMU_CHUNK pages: each answer within the agent's limit. */
		for (done = 0, chunks = 0; !ret && done < pages; done += c, chunks++) {
			c = pages - done < DOMU_CHUNK ? pages - done : DOMU_CHUNK;
			ret = zc_domu_cmd(&d, text, sizeof(text), "alloc b%u %u 0",
					  chunks, c);
			if (!ret)
				ret = zc_domu_get_refs(&d, refs + done, c);
		}
		if (ret)
			printf("note: DomU grant of %u pages: %s %s\n", pages,
			       strerror(-ret), text);
		bench_map_refs("domu", d.domid, refs, pages, ret, NULL, NULL);
		for (k = 0; k < chunks; k++)
			if (zc_domu_cmd(&d, text, sizeof(text), "free b%u", k))
				printf("note: DomU free of slot b%u: %s\n", k, text);
		free(refs);
	}
	zc_domu_close(&d);
}

/* ---- per frame ---------------------------------------------------------- */

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static void flip_done(int fd __attribute__((unused)),
		      unsigned int seq __attribute__((unused)),
		      unsigned int s __attribute__((unused)),
		      unsigned int us __attribute__((unused)), void *data)
{
	*(bool *)data = true;
}

static bool flipped;

/* Waits for the event of the flip in flight. 0 or -errno. */
static int wait_flip(void)
{
	drmEventContext ev = { .version = 2, .page_flip_handler = flip_done };
	struct pollfd p = { .fd = kms.fd, .events = POLLIN };

	while (!flipped) {
		int n = poll(&p, 1, 5000);

		if (n <= 0)
			return n ? -errno : -ETIMEDOUT;
		drmHandleEvent(kms.fd, &ev);
	}
	return 0;
}

/*
 * One run of @frames flips between fbs[0] and fbs[1]; @copy (if set) is
 * memcpy'd into the back buffer first. CPU us per frame and frames/s.
 */
static int flip_run(const uint32_t fbs[2], uint8_t *const dst[2],
		    const uint8_t *copy, size_t size, double *cpu, double *fps)
{
	/* Larger modes flip slower: about the same time per run. */
	unsigned int n = frames * 1920 * 1080 /
			 (kms.mode.hdisplay * kms.mode.vdisplay);
	double c0, t0;
	unsigned int i;
	int ret;

	n = n < 10 ? 10 : n > frames * 2 ? frames * 2 : n;
	if (drmModeSetCrtc(kms.fd, kms.crtc_id, fbs[0], 0, 0, &kms.conn_id, 1,
			   &kms.mode))
		return -errno;
	c0 = cpu_us();
	t0 = now_us();
	for (i = 1; i <= n; i++) {
		if (copy)
			memcpy(dst[i & 1], copy, size);
		flipped = false;
		if (drmModePageFlip(kms.fd, kms.crtc_id, fbs[i & 1],
				    DRM_MODE_PAGE_FLIP_EVENT, &flipped))
			return -errno;
		ret = wait_flip();
		if (ret)
			return ret;
	}
	*cpu = (cpu_us() - c0) / n;
	*fps = n / ((now_us() - t0) / 1e6);
	return 0;
}

static int add_fb(uint32_t handle, uint32_t pitch, uint32_t *fb)
{
	uint32_t handles[4] = { handle }, pitches[4] = { pitch };
	uint32_t offsets[4] = { 0 };

	return drmModeAddFB2(kms.fd, kms.mode.hdisplay, kms.mode.vdisplay,
			     DRM_FORMAT_XRGB8888, handles, pitches, offsets,
			     fb, 0) ? -errno : 0;
}

static void flip_runs(const char *path, uint32_t w, const uint32_t fbs[2],
		      uint8_t *const dst[2], const uint8_t *copy, size_t size)
{
	struct series cpu = { 0 }, fps = { 0 };
	bool f_cpu = true, f_fps = true;
	char name[64];
	unsigned int i;
	double c = 0, f = 0;
	int ret = 0;

	for (i = 0; i <= reps; i++) {
		ret = flip_run(fbs, dst, copy, size, &c, &f);
		if (ret)
			break;
		series_add(&cpu, c, &f_cpu);
		series_add(&fps, f, &f_fps);
	}
	cpu.err = fps.err = ret;
	snprintf(name, sizeof(name), "%s_cpu_us_per_frame", path);
	emit("frame", name, w, &cpu);
	snprintf(name, sizeof(name), "%s_fps", path);
	emit("frame", name, w, &fps);
	fflush(stdout);
}

static void bench_frame(uint32_t w, uint32_t h)
{
	uint32_t pages = (uint32_t)(((uint64_t)w * h * 4 + PAGE - 1) / PAGE);
	uint32_t fbs[2] = { 0 }, cfbs[2] = { 0 }, i;
	struct zc_dumb d[2] = { { 0 } };
	struct zc_gntalloc fe[2] = { { .fd = -1 }, { .fd = -1 } };
	struct zc_buf b[2] = { { .dmabuf = -1 }, { .dmabuf = -1 } };
	struct zc_gntdev m = { .fd = -1 };
	uint8_t *dst[2] = { NULL };
	int ret;

	zc_kms_fini(&kms);
	ret = zc_kms_init(&kms, w, h);
	if (ret && w == 3840 && h == 2160 && !zc_kms_init(&kms, 1920, 1080)) {
		/* vkms lists no 2160p mode but takes one: CEA-861 VIC 97. */
		static const drmModeModeInfo uhd = {
			.clock = 594000, .hdisplay = 3840, .hsync_start = 4016,
			.hsync_end = 4104, .htotal = 4400, .vdisplay = 2160,
			.vsync_start = 2168, .vsync_end = 2178, .vtotal = 2250,
			.vrefresh = 60, .type = DRM_MODE_TYPE_USERDEF,
			.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC,
			.name = "3840x2160",
		};

		printf("note: vkms lists no 3840x2160 mode: set as a user mode\n");
		emit_value("frame", "mode_user_defined", w, 0,
			   "vkms lists no such mode; CEA timings given");
		kms.mode = uhd;
	} else if (ret) {
		printf("note: vkms offers no %ux%u mode: %s\n", w, h,
		       strerror(-ret));
		emit_value("frame", "mode_missing", w, -ret, "no such vkms mode");
		zc_kms_init(&kms, 1024, 768);
		return;
	}

	/* Zero-copy: two frontend buffers, each FROM_REFS'd once. */
	for (i = 0; i < 2; i++) {
		ret = zc_gntalloc_alloc(&fe[i], SELF, pages, true);
		if (ret)
			goto out;
		zc_fill_pattern(fe[i].map, w, h, w * 4, i + 1);
		ret = zc_buf_make(&b[i], SELF, fe[i].refs, pages, w, h);
		if (ret) {
			b[i].dmabuf = -1;
			goto out;
		}
		ret = add_fb(b[i].vkms_handle, b[i].req.dumb.pitch, &fbs[i]);
		if (ret)
			goto out;
	}
	flip_runs("zero_copy", w, fbs, dst, NULL, 0);

	/* Copy: the frontend's pages through gntdev into vkms dumb buffers. */
	ret = zc_gntdev_map(&m, SELF, fe[0].refs, pages, false);
	for (i = 0; !ret && i < 2; i++) {
		ret = zc_dumb_create(kms.fd, w, h, 32, &d[i]);
		if (ret)
			break;
		dst[i] = zc_dumb_map(kms.fd, d[i].handle, d[i].size);
		if (!dst[i]) {
			ret = -ENOMEM;
			break;
		}
		ret = add_fb(d[i].handle, d[i].pitch, &cfbs[i]);
	}
	if (!ret)
		flip_runs("copy", w, cfbs, dst, m.map, (size_t)w * h * 4);

out:
	if (ret)
		printf("note: %ux%u flip setup failed: %s\n", w, h,
		       strerror(-ret));
	drmModeSetCrtc(kms.fd, kms.crtc_id, 0, 0, 0, NULL, 0, NULL);
	for (i = 0; i < 2; i++) {
		if (cfbs[i])
			drmModeRmFB(kms.fd, cfbs[i]);
		if (dst[i])
			munmap(dst[i], d[i].size);
		if (d[i].handle)
			zc_gem_close(kms.fd, d[i].handle);
		if (fbs[i])
			drmModeRmFB(kms.fd, fbs[i]);
		if (b[i].dmabuf >= 0)
			zc_buf_free(&b[i], NULL);
	}
	zc_gntdev_unmap(&m);
	for (i = 0; i < 2; i++)
		zc_gntalloc_free(&fe[i]);
}

/* ---- scale -------------------------------------------------------------- */

/*
 * Live 1080p buffers until the target, a failure, or the time budget.
 * Dom0 cannot grant itself 1000 distinct 8 MB buffers (8 GB), and Xen
 * counts the host mappings of one grant in a byte and refuses the 128th
 * (GNTST_general_error, EINVAL here); a buffer maps each grant twice on
 * x86 PV. So each set of 2025 self-granted refs backs LIVE_PER_SET buffers.
 */
#define LIVE_PER_SET	50

static void bench_live(unsigned int target)
{
	uint32_t pages = 1920 * 1080 * 4 / PAGE, i, n = 0, sets = 0;
	unsigned int nsets = (target + LIVE_PER_SET - 1) / LIVE_PER_SET;
	struct zc_gntalloc *src;
	struct zc_buf *b;
	double t0 = now_us(), t;
	char note[160];
	int ret = 0;

	/* The driver says why a map failed at debug level (drm.debug=2). */
	set_param("drm", "debug", "2");
	b = calloc(target, sizeof(*b));
	src = calloc(nsets, sizeof(*src));
	if (!b || !src) {
		free(b);
		free(src);
		return;
	}
	snprintf(note, sizeof(note), "reached target");
	for (n = 0; n < target; n++) {
		long avail = zc_meminfo_kb("MemAvailable") / 1024;

		/*
		 * Without a pool of unpopulated pages (arm64), every mapped
		 * page is a page of Dom0's RAM given back to Xen: stop before
		 * the OOM killer does.
		 */
		if (avail >= 0 && avail < 96) {
			snprintf(note, sizeof(note),
				 "stopped at %u: Dom0 MemAvailable %ld MB", n, avail);
			break;
		}
		if (n % LIVE_PER_SET == 0) {
			ret = zc_gntalloc_alloc(&src[sets], SELF, pages, true);
			if (ret) {
				snprintf(note, sizeof(note),
					 "gntalloc of ref set %u failed: %s (errno %d)",
					 sets + 1, strerror(-ret), -ret);
				break;
			}
			sets++;
		}
		ret = zc_buf_make(&b[n], SELF, src[sets - 1].refs, pages, 1920, 1080);
		if (ret) {
			snprintf(note, sizeof(note), "buffer %u failed: %s (errno %d)",
				 n + 1, strerror(-ret), -ret);
			break;
		}
		if ((n + 1) % 100 == 0)
			printf("note: %u live 1080p buffers, %.1f s\n", n + 1,
			       (now_us() - t0) / 1e6);
		if ((now_us() - t0) / 1e6 > budget_s) {
			snprintf(note, sizeof(note), "stopped by the %.0f s time budget",
				 budget_s);
			n++;
			break;
		}
	}
	set_param("drm", "debug", "0");
	t = now_us() - t0;
	printf("note: live 1080p buffers: %u (%s), mapped_grants=%ld pv_vmap_grants=%ld\n",
	       n, note, zc_stat("mapped_grants"), zc_stat("pv_vmap_grants"));
	emit_value("scale", "live_1080p_buffers", target, n, note);
	emit_value("scale", "live_1080p_us_per_buffer", target,
		   n ? t / n : 0, "FROM_REFS+export+import each");
	t0 = now_us();
	for (i = 0; i < n; i++)
		zc_buf_free(&b[i], NULL);
	emit_value("scale", "live_1080p_teardown_us_per_buffer", target,
		   n ? (now_us() - t0) / n : 0, "ok");
	for (i = 0; i < sets; i++)
		zc_gntalloc_free(&src[i]);
	free(src);
	free(b);
	fflush(stdout);
}

/*
 * The largest single buffer: refs of an 8100-page self-grant repeated (a
 * grant may be mapped many times), doubling from 32400 pages until a
 * failure or the driver's max_pages ceiling.
 */
static void bench_largest(void)
{
	uint32_t pool = 8100, best = 0, pages, i, *refs;
	struct zc_gntalloc src;
	char note[128] = "ceiling";
	int ret;

	ret = zc_gntalloc_alloc(&src, SELF, pool, true);
	if (ret) {
		emit_value("scale", "largest_buffer_pages", 0, 0, strerror(-ret));
		return;
	}
	for (pages = 32400; pages <= 262144; pages *= 2) {
		struct zc_buf b;
		uint32_t w, h;
		double t0;

		refs = malloc(pages * sizeof(*refs));
		if (!refs)
			break;
		for (i = 0; i < pages; i++)
			refs[i] = src.refs[i % pool];
		/* 16384 pixel rows at most: 4 or more pages per row. */
		w = 4096;
		while (pages / (w / 1024) > 16384 || pages % (w / 1024))
			w += 1024;
		h = pages / (w / 1024);
		t0 = now_us();
		ret = zc_buf_make(&b, SELF, refs, pages, w, h);
		free(refs);
		if (ret) {
			snprintf(note, sizeof(note), "%u pages failed: %s (errno %d)",
				 pages, strerror(-ret), -ret);
			break;
		}
		printf("note: one buffer of %u pages (%ux%u): %.0f ms\n", pages,
		       w, h, (now_us() - t0) / 1000);
		best = pages;
		zc_buf_free(&b, NULL);
	}
	emit_value("scale", "largest_buffer_pages", best, best, note);
	zc_gntalloc_free(&src);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 1, 16, 256, 900, 2025, 8100, 32400 };
	static const uint32_t modes[][2] = {
		{ 1280, 720 }, { 1920, 1080 }, { 3840, 2160 },
	};
	static const uint32_t domu_sizes[] = { 1, 16, 256, 900, 2025, 8100 };
	const char *only = argc > 1 ? argv[1] : "setup,domu,frame,scale";
	struct fit fz = { 0 }, fg = { 0 };
	struct rlimit rl;
	unsigned int i;
	char *e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	e = getenv("ZC_BENCH_REPS");
	if (e && atoi(e) >= 10 && atoi(e) < MAX_REPS)
		reps = atoi(e);
	e = getenv("ZC_BENCH_FRAMES");
	if (e && atoi(e) > 0)
		frames = atoi(e);
	e = getenv("ZC_BENCH_BUDGET");
	if (e && atof(e) > 0)
		budget_s = atof(e);

	/* Each live buffer keeps its dma-buf fd open. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	xfd = zc_drm_open_driver(XENDRM_ZCOPY_DRIVER_NAME, NULL);
	if (xfd < 0 || zc_kms_init(&kms, 1024, 768)) {
		printf("error: no %s device or no vkms\n",
		       XENDRM_ZCOPY_DRIVER_NAME);
		return 1;
	}

	/* Room for the scale runs: they measure Xen and Dom0, not quotas. */
	set_param("xen_drm_zcopy", "max_pages", "262144");
	set_param("xen_drm_zcopy", "domain_pages", "4194304");
	set_param("xen_drm_zcopy", "total_pages", "4194304");
	set_param("xen_drm_zcopy", "domain_buffers", "4096");
	set_param("xen_drm_zcopy", "domain_granted", "262144");
	set_param("xen_gntalloc", "limit", "262144");
	set_param("xen_gntdev", "limit", "262144");
	printf("zcopy_bench: %u repetitions (+ the first call), %u frames per flip run\n",
	       reps, frames);

	if (strstr(only, "setup")) {
		bench_first();
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			bench_setup_size(sizes[i], &fz, &fg);
		fit_emit("from_refs_export_import", &fz);
		fit_emit("gntdev_map_mmap_touch", &fg);
	}
	if (strstr(only, "domu"))
		bench_domu(domu_sizes, sizeof(domu_sizes) / sizeof(domu_sizes[0]));
	if (strstr(only, "frame"))
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			bench_frame(modes[i][0], modes[i][1]);
	if (strstr(only, "scale")) {
		bench_largest();
		bench_live(1000);
	}

	zc_kms_fini(&kms);
	close(xfd);
	return 0;
}
