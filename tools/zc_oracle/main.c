// SPDX-License-Identifier: GPL-2.0
/*
 * zc_oracle: the oracles of igt-tests/lib/zc_oracle.h over a whole test
 * run, including the ones too slow to take around every subtest. The
 * testbed's Dom0 /init calls it before and after the runner:
 *
 *	zc_oracle start FILE	records the state in FILE
 *	zc_oracle end FILE	compares with it: one line per oracle, exit
 *				status 1 if any is off
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zc_domu.h"
#include "zc_oracle.h"

/*
 * Over a run Dom0 may lose this much MemAvailable and gain this much Slab:
 * logs grow in tmpfs (the DomU's console, /tmp) and caches warm up. Whole
 * healthy runs moved them by -0.8 MiB and +0.8 MiB (x86 PV, with the
 * DomU), -3.9 MiB and +0.9 MiB (arm64).
 */
#define RUN_AVAIL_KB	(10 * 1024)
#define RUN_SLAB_KB	(4 * 1024)

struct run_state {
	struct zc_oracle o;
	long free_grefs;	/* Dom0's free grant references */
	long xen_dom0;		/* Xen's active entries of Dom0's grant table */
	long xen_domu;		/* and of the DomU's, -errno without xl or DomU */
	long pool_used;		/* pages of the unpopulated pool in use (x86) */
	long scratch_kb;	/* the pool's size */
};

static int domu_id(void)
{
	FILE *f = fopen(ZC_DOMU_FILE, "r");
	int id = -1;

	if (f) {
		if (fscanf(f, "%d", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Reads the state. Counting the pool grows it by 2 MiB of struct pages:
 * at the start that comes before reading memory, at the end after.
 */
static void run_read(struct run_state *s, int start)
{
	double t0 = now_s();
	int id = domu_id();

	if (!start)
		zc_oracle_read(&s->o);
	s->pool_used = zc_oracle_unpopulated_used();
	s->scratch_kb = zc_oracle_scratch_kb();
	s->free_grefs = zc_oracle_free_grefs();
	s->xen_dom0 = zc_oracle_xen_active(0);
	s->xen_domu = id > 0 ? zc_oracle_xen_active(id) : -ENODEV;
	if (start)
		zc_oracle_read(&s->o);
	printf("oracle-run: read in %.2f s: dma-bufs %ld (%ld bytes), MemAvailable %ld kB, Slab %ld kB, xen_memory current %ld kB, tainted %#lx, DomU agent '%s', free grant refs %ld, Xen active grants d0 %ld, DomU d%d %ld, unpopulated pages in use %ld of %ld kB\n",
	       now_s() - t0, s->o.dmabufs, s->o.dmabuf_bytes, s->o.avail_kb,
	       s->o.slab_kb, s->o.balloon_kb, s->o.taint, s->o.domu,
	       s->free_grefs, s->xen_dom0, id, s->xen_domu, s->pool_used,
	       s->scratch_kb);
}

static int failed;

static void verdict(const char *name, int ok, long base, long now,
		    const char *bound)
{
	printf("oracle-run: %s %s: %ld at the start, %ld at the end (%s)\n",
	       ok ? "ok  " : "FAIL", name, base, now, bound);
	failed += !ok;
}

int main(int argc, char **argv)
{
	struct run_state base, now;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3 || (strcmp(argv[1], "start") && strcmp(argv[1], "end"))) {
		fprintf(stderr, "usage: %s start|end FILE\n", argv[0]);
		return 2;
	}
	run_read(&now, !strcmp(argv[1], "start"));
	if (!strcmp(argv[1], "start")) {
		f = fopen(argv[2], "w");
		if (!f || fwrite(&now, sizeof(now), 1, f) != 1) {
			perror(argv[2]);
			return 2;
		}
		fclose(f);
		return 0;
	}
	f = fopen(argv[2], "r");
	if (!f || fread(&base, sizeof(base), 1, f) != 1) {
		perror(argv[2]);
		return 2;
	}
	fclose(f);

	verdict("dma-buf objects", now.o.dmabufs == base.o.dmabufs,
		base.o.dmabufs, now.o.dmabufs, "equal");
	verdict("dma-buf bytes", now.o.dmabuf_bytes == base.o.dmabuf_bytes,
		base.o.dmabuf_bytes, now.o.dmabuf_bytes, "equal");
	verdict("MemAvailable kB", base.o.avail_kb - now.o.avail_kb <= RUN_AVAIL_KB,
		base.o.avail_kb, now.o.avail_kb, "may drop 10 MiB");
	verdict("Slab kB", now.o.slab_kb - base.o.slab_kb <= RUN_SLAB_KB,
		base.o.slab_kb, now.o.slab_kb, "may grow 4 MiB");
	verdict("xen_memory current_kb", now.o.balloon_kb >= base.o.balloon_kb,
		base.o.balloon_kb, now.o.balloon_kb, "no lower");
	verdict("tainted", !(now.o.taint & ~base.o.taint), base.o.taint,
		now.o.taint, "no new bit");
	verdict("DomU agent slots and pending grants",
		base.o.domu_held < 0 || (now.o.domu_held >= 0 &&
					 now.o.domu_held <= base.o.domu_held),
		base.o.domu_held, now.o.domu_held, "no more");
	verdict("Dom0 free grant refs", now.free_grefs == base.free_grefs &&
		now.free_grefs >= 0, base.free_grefs, now.free_grefs, "equal");
	/* The DomU's domid changes when a test re-creates it. */
	if (base.xen_dom0 >= 0)
		verdict("Xen active grants of d0", now.xen_dom0 == base.xen_dom0,
			base.xen_dom0, now.xen_dom0, "equal");
	if (base.xen_domu >= 0)
		verdict("Xen active grants of the DomU",
			now.xen_domu == base.xen_domu, base.xen_domu,
			now.xen_domu, "equal");
	/* In steps of a chunk: one more may be a page more in use. */
	if (base.pool_used >= 0)
		verdict("unpopulated pages in use", now.pool_used >= 0 &&
			now.pool_used <= base.pool_used + ZC_ORACLE_POOL_CHUNK,
			base.pool_used, now.pool_used, "no more than a step of 256");
	return failed ? 1 : 0;
}
