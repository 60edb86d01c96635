/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Oracles outside the driver: kernel and hypervisor state that the driver
 * under test does not write. The driver's debugfs counters are written by
 * the code under test, so a bug that drops a counter but frees nothing
 * keeps them right; these are not fooled that way.
 *
 * The harness (zc_igt.c) reads the cheap ones before every subtest and
 * compares after it: a subtest that passed its own asserts but left a
 * difference FAILs. The costly ones (Dom0's free grant references, Xen's
 * grant table dump) are compared over the whole run by tools/zc_oracle,
 * which the testbed's Dom0 /init calls before and after the runner.
 *
 * ZC_ORACLE_TRACE=1 in the environment (testbed: TESTBED_ORACLE_TRACE=1)
 * prints every sample to stderr, to measure the noise tolerances allow.
 * ZC_ORACLE_SHRINK_SLABS=1 (testbed: the debug kernel) shrinks every slab
 * cache before Slab is read, so that empty slabs SLUB keeps cached (large
 * ones with the debug kernel's red zones) do not count; ZC_ORACLE_SLAB_KB
 * sets how much Slab may grow over a subtest (default 2048; the testbed's
 * debug kernel: 6144, its objects carry red zones and kmemleak's records).
 * A failing Slab check names the caches that grew most.
 */
#ifndef ZC_ORACLE_H
#define ZC_ORACLE_H

/*
 * What a subtest may leave changed: struct zc_subtest.oracle.
 * Destroys the DomU (and creates it again, which may fail): what the old
 * agent held went with it, and a new one need not answer.
 */
#define ZC_ORACLE_DOMU_GONE	(1u << 0)

struct zc_oracle {
	long dmabufs;		/* dma_buf/bufinfo: "Total N objects, M bytes" */
	long dmabuf_bytes;
	long avail_kb;		/* /proc/meminfo MemAvailable */
	long slab_kb;		/* /proc/meminfo Slab */
	long sunreclaim_kb;	/* its SUnreclaim part: not dentries and inodes */
	long balloon_kb;	/* xen_memory0/info/current_kb, -1 if absent */
	long taint;		/* /proc/sys/kernel/tainted */
	long domu_held;		/* the DomU agent's slots and pending grants, -1: none */
	char domu[96];		/* the agent's status text */
};

/* Reads every oracle; the ones that cannot be read are -1. */
void zc_oracle_read(struct zc_oracle *o);
/*
 * Keeps /proc/slabinfo as it is now: a failing Slab check then names the
 * caches that grew most since.
 */
void zc_oracle_slab_snapshot(void);

/*
 * Waits up to ZC_ORACLE_SETTLE_MS for the state to be back at @base within
 * the tolerances @flags (ZC_ORACLE_*) allow; prints a line per oracle that
 * is not to stderr, prefixed with @who, and returns how many are not.
 */
int zc_oracle_check(const struct zc_oracle *base, unsigned int flags,
		    const char *who);

/* The @field ("MemAvailable") of /proc/meminfo in kB, -1 if absent. */
long zc_meminfo_kb(const char *field);

/*
 * A grant its granter ends while another domain (or Dom0 itself) still
 * maps it, as gntalloc does when a slot is freed under a mapping, is
 * queued with its page in the kernel's deferred list
 * (gnttab_end_foreign_access()). The kernel retries that list once a
 * second, at most grant_table.free_per_iteration (10) entries a pass, so
 * thousands of unmapped refs and pages can wait there for minutes. This
 * lifts the limit for a few passes and puts it back: what is in use after
 * it is what is still mapped. Nothing to do on a kernel without the
 * parameter.
 */
void zc_oracle_flush_deferred_grants(void);
#define ZC_GNT_FREE_PER_ITER "/sys/module/grant_table/parameters/free_per_iteration"

/*
 * Dom0's free grant references (deferred ones flushed first): grants gntalloc pages to Dom0 itself until
 * the grant table is full, then frees them. Needs 4 KiB of memory per free
 * reference for a moment (-ENOMEM when less is available), and loads
 * xen-gntalloc again after (nothing may have it open); -errno if it cannot
 * count.
 */
long zc_oracle_free_grefs(void);

/*
 * Xen's active (mapped by some domain) entries of domain @domid's grant
 * table, from the 'g' debug key's dump in Xen's console ring (xl must
 * run: the toolstack is up). -errno if it cannot tell.
 */
long zc_oracle_xen_active(int domid);

/* The "Xen scratch" ranges of /proc/iomem in kB: the unpopulated pool. */
long zc_oracle_scratch_kb(void);

/*
 * Pages of the kernel's unpopulated pool in use. Grant maps take their
 * pages from it on x86 (gntdev's, xen-zcopy's FROM_REFS buffers); arm64
 * has no pool and balloons pages out instead. The pool never shrinks, so
 * its size says nothing: this draws it down with gntdev mapping requests
 * for nobody's refs (gntdev takes the pages at once, maps them only at
 * mmap) until it grows, in steps of ZC_ORACLE_POOL_CHUNK pages, and gives
 * them back. The pool keeps the 128 MiB range it grew by (2 MiB of struct
 * pages). -ENODEV without a pool (the first request balloons Dom0 out by
 * a chunk instead, for a moment), -errno if it cannot count.
 */
#define ZC_ORACLE_POOL_CHUNK	256
long zc_oracle_unpopulated_used(void);

#endif /* ZC_ORACLE_H */
