// SPDX-License-Identifier: GPL-2.0
/*
 * Oracles outside the driver (see zc_oracle.h).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <xen/sys/gntalloc.h>
#include <xen/sys/gntdev.h>

#include "zc_domu.h"
#include "zc_oracle.h"
#include "zc_xen.h"

/*
 * Grants, pages and dma-bufs of a subtest are released asynchronously
 * (deferred grant ends retry every 100 ms, vkms frees framebuffers from a
 * worker, RCU): the state gets this long to come back.
 */
#define ZC_ORACLE_SETTLE_MS	3000

/*
 * How much MemAvailable may drop and Slab may grow over one subtest.
 * Healthy subtests (TESTBED_ORACLE_TRACE=1, x86 PV and arm64 runs) moved
 * MemAvailable by at most -3.3 MiB (page cache and tmpfs logs of Dom0, the
 * DomU's console log; it comes back in later subtests) and Slab by at most
 * +0.5 MiB (zcopy_limits@grant-exhaustion expanding Dom0's grant table).
 * A 1920x1080 XRGB8888 buffer is 7.9 MiB.
 */
#define ZC_ORACLE_AVAIL_KB	(6 * 1024)
#define ZC_ORACLE_SLAB_KB	(2 * 1024)

#define ZC_BUFINFO	"/sys/kernel/debug/dma_buf/bufinfo"
#define ZC_BALLOON_KB	"/sys/devices/system/xen_memory/xen_memory0/info/current_kb"
#define ZC_TAINTED	"/proc/sys/kernel/tainted"
#define ZC_GNTALLOC_LIMIT "/sys/module/xen_gntalloc/parameters/limit"

long zc_meminfo_kb(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static void zc_oracle_bufinfo(struct zc_oracle *o)
{
	char line[512];
	FILE *f = fopen(ZC_BUFINFO, "r");

	o->dmabufs = -1;
	o->dmabuf_bytes = -1;
	if (!f)
		return;
	/* "Total %d devices attached" lines come before the summary. */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Total %ld objects, %ld bytes", &o->dmabufs,
			   &o->dmabuf_bytes) == 2)
			break;
	fclose(f);
}

/*
 * What the DomU agent holds: its buffer slots plus the grants its kernel
 * could not end yet (still mapped by Dom0) or gave up on.
 */
static void zc_oracle_domu(struct zc_oracle *o)
{
	long slots, deferred, leaked;
	struct zc_domu d;

	o->domu_held = -1;
	o->domu[0] = '\0';
	if (zc_domu_open(&d))
		return;
	if (!zc_domu_cmd(&d, o->domu, sizeof(o->domu), "status") &&
	    sscanf(o->domu, "slots %ld deferred %ld leaked %ld", &slots,
		   &deferred, &leaked) == 3)
		o->domu_held = slots + deferred + leaked;
	zc_domu_close(&d);
}

/*
 * SLUB keeps slabs emptied by frees on its per-CPU and per-node partial
 * lists. With the debug kernel's red zones and allocation tracking every
 * object is several times its size, and what a busy subtest leaves cached
 * there exceeds the tolerance. Shrinking every cache (SLUB's "shrink"
 * file) hands the empty slabs back, so that Slab counts live objects.
 */
static void zc_oracle_shrink_slabs(void)
{
	struct dirent *e;
	char path[320];
	DIR *d;
	int fd;

	if (!getenv("ZC_ORACLE_SHRINK_SLABS"))
		return;
	d = opendir("/sys/kernel/slab");
	if (!d)
		return;
	while ((e = readdir(d))) {
		/* Merged caches appear once more as links to their cache. */
		if (e->d_name[0] == '.' || e->d_type == DT_LNK)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) < 0) {
			/* An alias of a cache shrunk already, or none: no matter. */
		}
		close(fd);
	}
	closedir(d);
}

void zc_oracle_read(struct zc_oracle *o)
{
	zc_oracle_bufinfo(o);
	o->avail_kb = zc_meminfo_kb("MemAvailable");
	zc_oracle_shrink_slabs();
	o->slab_kb = zc_meminfo_kb("Slab");
	o->sunreclaim_kb = zc_meminfo_kb("SUnreclaim");
	o->balloon_kb = zc_read_long(ZC_BALLOON_KB);
	o->taint = zc_read_long(ZC_TAINTED);
	zc_oracle_domu(o);
}

/*
 * /proc/slabinfo at the baseline, to name the caches that grew when the
 * Slab oracle fails: bytes of all objects (active or not) per cache.
 */
#define ZC_SLABS_MAX	512

struct zc_slab_use {
	char name[48];
	long long bytes;
};

static struct zc_slab_use zc_slabs_base[ZC_SLABS_MAX];
static int zc_nr_slabs_base;

static int zc_slabinfo(struct zc_slab_use *use, int max)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");
	long objs, size;
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		/* name <active_objs> <num_objs> <objsize> ... */
		if (sscanf(line, "%47s %*d %ld %ld", use[n].name, &objs, &size) == 3) {
			use[n].bytes = (long long)objs * size;
			n++;
		}
	}
	fclose(f);
	return n;
}

void zc_oracle_slab_snapshot(void)
{
	zc_nr_slabs_base = zc_slabinfo(zc_slabs_base, ZC_SLABS_MAX);
}

/* The caches that grew most since the snapshot, to stderr. */
static void zc_oracle_slab_growth(const char *who)
{
	static struct zc_slab_use now[ZC_SLABS_MAX];
	struct zc_slab_use top[5] = { { "", 0 } };
	int n = zc_slabinfo(now, ZC_SLABS_MAX), i, k, j;

	for (i = 0; i < n; i++) {
		long long grew = now[i].bytes;

		for (k = 0; k < zc_nr_slabs_base; k++)
			if (!strcmp(zc_slabs_base[k].name, now[i].name)) {
				grew -= zc_slabs_base[k].bytes;
				break;
			}
		for (k = 0; k < 5 && grew <= top[k].bytes; k++)
			;
		if (k == 5)
			continue;
		for (j = 4; j > k; j--)
			top[j] = top[j - 1];
		top[k] = now[i];
		top[k].bytes = grew;
	}
	for (k = 0; k < 5 && top[k].bytes > 0; k++)
		fprintf(stderr, "(%s)   slab cache %s: +%lld kB\n", who, top[k].name,
			top[k].bytes / 1024);
}

/* ZC_ORACLE_SLAB_KB, or what the environment's variable of that name says. */
static long zc_oracle_slab_tolerance_kb(void)
{
	const char *env = getenv("ZC_ORACLE_SLAB_KB");

	return env && atol(env) > 0 ? atol(env) : ZC_ORACLE_SLAB_KB;
}

/* The oracles of @now that are off from @base; prints them if @report. */
static int zc_oracle_diff(const struct zc_oracle *base,
			  const struct zc_oracle *now, unsigned int flags,
			  const char *who, int report)
{
	long slab_tol = zc_oracle_slab_tolerance_kb();
	int bad = 0;

#define ZC_ORACLE_BAD(cond, ...) do { if (cond) { bad++; if (report) { \
	fprintf(stderr, "(%s) oracle outside the driver, %d ms after the subtest: ", \
		who, ZC_ORACLE_SETTLE_MS); \
	fprintf(stderr, __VA_ARGS__); } } } while (0)

	ZC_ORACLE_BAD(now->dmabufs != base->dmabufs ||
		      now->dmabuf_bytes != base->dmabuf_bytes,
		      "dma_buf/bufinfo: %ld objects of %ld bytes, baseline %ld of %ld\n",
		      now->dmabufs, now->dmabuf_bytes, base->dmabufs,
		      base->dmabuf_bytes);
	ZC_ORACLE_BAD(base->avail_kb - now->avail_kb > ZC_ORACLE_AVAIL_KB,
		      "MemAvailable: %ld kB, baseline %ld kB (tolerance -%d kB)\n",
		      now->avail_kb, base->avail_kb, ZC_ORACLE_AVAIL_KB);
	ZC_ORACLE_BAD(now->slab_kb - base->slab_kb > slab_tol,
		      "Slab: %ld kB, baseline %ld kB (tolerance +%ld kB; SUnreclaim %ld kB, baseline %ld kB)\n",
		      now->slab_kb, base->slab_kb, slab_tol,
		      now->sunreclaim_kb, base->sunreclaim_kb);
	if (report && now->slab_kb - base->slab_kb > slab_tol)
		zc_oracle_slab_growth(who);
	/*
	 * Where grant maps take ballooned pages (arm64: no unpopulated
	 * pool), the balloon gives them back to Dom0 within about a second
	 * of their release (0.7 s at most measured); nothing else balloons
	 * Dom0 during the tests.
	 */
	ZC_ORACLE_BAD(now->balloon_kb < base->balloon_kb,
		      "xen_memory current_kb: %ld kB, baseline %ld kB\n",
		      now->balloon_kb, base->balloon_kb);
	ZC_ORACLE_BAD(now->taint & ~base->taint,
		      "tainted: %#lx, baseline %#lx (new bits %#lx)\n",
		      now->taint, base->taint, now->taint & ~base->taint);
	ZC_ORACLE_BAD(base->domu_held >= 0 && !(flags & ZC_ORACLE_DOMU_GONE) &&
		      (now->domu_held < 0 || now->domu_held > base->domu_held),
		      "DomU agent: %s, baseline %s\n",
		      now->domu_held < 0 ? "no answer" : now->domu, base->domu);
#undef ZC_ORACLE_BAD
	return bad;
}

int zc_oracle_check(const struct zc_oracle *base, unsigned int flags,
		    const char *who)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	struct zc_oracle now;
	int ms;

	for (ms = 0; ; ms += 100) {
		zc_oracle_read(&now);
		if (getenv("ZC_ORACLE_TRACE"))
			fprintf(stderr, "(%s) oracle trace %d ms: dmabufs %ld/%ld -> %ld/%ld avail %ld -> %ld slab %ld -> %ld (unreclaimable %ld -> %ld) balloon %ld -> %ld taint %#lx -> %#lx domu '%s' -> '%s'\n",
				who, ms, base->dmabufs, base->dmabuf_bytes,
				now.dmabufs, now.dmabuf_bytes, base->avail_kb,
				now.avail_kb, base->slab_kb, now.slab_kb,
				base->sunreclaim_kb, now.sunreclaim_kb,
				base->balloon_kb, now.balloon_kb, base->taint,
				now.taint, base->domu, now.domu);
		if (!zc_oracle_diff(base, &now, flags, who, 0))
			return 0;
		if (ms >= ZC_ORACLE_SETTLE_MS)
			break;
		nanosleep(&ts, NULL);
	}
	return zc_oracle_diff(base, &now, flags, who, 1);
}

void zc_oracle_flush_deferred_grants(void)
{
	long per_iter = zc_read_long(ZC_GNT_FREE_PER_ITER);

	/* 0: no limit already (a caller lifted it for a while). */
	if (per_iter < 0 || (per_iter && zc_write_long(ZC_GNT_FREE_PER_ITER, 0)))
		return;
	/*
	 * The retry timer fires every second while entries are queued: the
	 * next pass takes them all.
	 */
	sleep(2);
	if (per_iter)
		zc_write_long(ZC_GNT_FREE_PER_ITER, per_iter);
}

long zc_oracle_free_grefs(void)
{
	long limit = zc_read_long(ZC_GNTALLOC_LIMIT), total = 0;
	struct ioctl_gntalloc_alloc_gref *op;
	uint32_t chunk = 4096;	/* then 256, 16, 1 */
	int fd, err = 0;

	if (limit < 0)
		return -ENOENT;
	zc_oracle_flush_deferred_grants();
	fd = open("/dev/xen/gntalloc", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	op = calloc(1, sizeof(*op) + chunk * sizeof(uint32_t));
	/* gntalloc's own limit (1024 by default) must not stop it first. */
	err = op ? zc_write_long(ZC_GNTALLOC_LIMIT, 1L << 20) : -ENOMEM;
	while (!err && chunk) {
		/* Every page granted costs 4 KiB until the fd is closed. */
		if (zc_meminfo_kb("MemAvailable") < 64 * 1024 + chunk * 4) {
			err = -ENOMEM;
			break;
		}
		memset(op, 0, sizeof(*op));
		op->domid = 0;
		op->count = chunk;
		if (!ioctl(fd, IOCTL_GNTALLOC_ALLOC_GREF, op))
			total += chunk;
		else if (errno == ENOSPC)
			/*
			 * A failed call grants nothing. Few steps: each one
			 * logs a rate-limited warning, and a burst of more
			 * than 10 makes the kernel log "callbacks
			 * suppressed" at the next, in some later subtest.
			 */
			chunk /= 16;
		else
			err = -errno;
	}
	close(fd);
	free(op);
	/*
	 * gntalloc (Linux 6.1 at least) counts a grant that failed in its
	 * undo path twice: every failed ALLOC_GREF leaves its count of grants
	 * one lower, and once that is negative every later ALLOC_GREF fails
	 * with ENOSPC. Loading it again (nobody else has it open between
	 * runs) starts it from zero, with the default limit.
	 */
	if (system("modprobe -r xen_gntalloc && modprobe xen_gntalloc"))
		err = err ? err : -EBUSY;
	else if (zc_read_long(ZC_GNTALLOC_LIMIT) != limit)
		zc_write_long(ZC_GNTALLOC_LIMIT, limit);
	return err ? err : total;
}

long zc_oracle_xen_active(int domid)
{
	char line[512];
	long count = -ENOENT;
	int cur = -1, d;
	FILE *f;

	/* Empty the ring first, so the dump is all that is left of it. */
	f = popen("xl dmesg -c >/dev/null 2>&1 && xl debug-keys g 2>/dev/null && xl dmesg 2>/dev/null",
		  "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "grant-table for remote d");

		if (p && sscanf(p, "grant-table for remote d%d", &d) == 1) {
			cur = d;
			if (d == domid)
				count = 0;
		} else if (cur == domid && strstr(line, "[0x")) {
			count++;
		}
	}
	if (pclose(f))
		return -EIO;
	return count;
}

long zc_oracle_scratch_kb(void)
{
	unsigned long long a, b, sum = 0;
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "Xen scratch") &&
		    sscanf(line, " %llx-%llx", &a, &b) == 2)
			sum += b - a + 1;
	fclose(f);
	return sum / 1024;
}

long zc_oracle_unpopulated_used(void)
{
	const uint32_t chunk = ZC_ORACLE_POOL_CHUNK;
	struct ioctl_gntdev_map_grant_ref *op;
	long pool = zc_oracle_scratch_kb() / 4, taken = 0;
	long balloon = zc_read_long(ZC_BALLOON_KB);
	int fd, err = 0;

	/* No pool yet is none in use: the first request makes one. */
	if (pool < 0)
		return pool;
	fd = open("/dev/xen/gntdev", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Refs of nobody: gntdev takes the pages at once, maps at mmap. */
	op = calloc(1, sizeof(*op) + chunk * sizeof(op->refs[0]));
	if (!op)
		err = -ENOMEM;
	while (!err && zc_oracle_scratch_kb() / 4 == pool) {
		op->count = chunk;
		if (ioctl(fd, IOCTL_GNTDEV_MAP_GRANT_REF, op))
			err = -errno;
		else
			taken += chunk;
		/* Without a pool (arm64) the pages come from the balloon. */
		if (zc_read_long(ZC_BALLOON_KB) < balloon)
			err = -ENODEV;
	}
	/* The pages go back to the pool, which keeps the range it grew by. */
	close(fd);
	free(op);
	if (err)
		return err;
	/* The last request did not fit: the pool had less free than taken. */
	return pool - (taken - chunk);
}
