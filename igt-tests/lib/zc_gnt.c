// SPDX-License-Identifier: GPL-2.0
/*
 * Grant helpers for the xen-zcopy tests (see zc_gnt.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stdint.h>
#include <xen/sys/gntalloc.h>
#include <xen/sys/gntdev.h>

#include "zc_gnt.h"

#define ZC_PAGE 4096

int zc_gntalloc_alloc(struct zc_gntalloc *g, uint16_t domid, uint32_t count,
		      bool writable)
{
	struct ioctl_gntalloc_alloc_gref *op;
	int err;

	memset(g, 0, sizeof(*g));
	g->fd = open("/dev/xen/gntalloc", O_RDWR | O_CLOEXEC);
	if (g->fd < 0)
		return -errno;

	op = calloc(1, sizeof(*op) + count * sizeof(uint32_t));
	g->refs = calloc(count, sizeof(uint32_t));
	if (!op || !g->refs) {
		err = -ENOMEM;
		goto err;
	}
	op->domid = domid;
	op->flags = writable ? GNTALLOC_FLAG_WRITABLE : 0;
	op->count = count;
	if (ioctl(g->fd, IOCTL_GNTALLOC_ALLOC_GREF, op)) {
		err = -errno;
		goto err;
	}
	g->count = count;
	g->index = op->index;
	memcpy(g->refs, op->gref_ids, count * sizeof(uint32_t));
	free(op);

	g->map = mmap(NULL, (size_t)count * ZC_PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, g->fd, g->index);
	if (g->map == MAP_FAILED) {
		g->map = NULL;
		zc_gntalloc_free(g);
		return -ENOMEM;
	}
	return 0;
err:
	free(op);
	free(g->refs);
	close(g->fd);
	g->fd = -1;
	return err;
}

void zc_gntalloc_free(struct zc_gntalloc *g)
{
	struct ioctl_gntalloc_dealloc_gref d = { .index = g->index,
						 .count = g->count };

	if (g->fd < 0)
		return;
	if (g->map)
		munmap(g->map, (size_t)g->count * ZC_PAGE);
	if (g->count)
		ioctl(g->fd, IOCTL_GNTALLOC_DEALLOC_GREF, &d);
	close(g->fd);
	free(g->refs);
	memset(g, 0, sizeof(*g));
	g->fd = -1;
}

int zc_gntdev_map(struct zc_gntdev *m, uint16_t domid, const uint32_t *refs,
		  uint32_t count, bool writable)
{
	struct ioctl_gntdev_map_grant_ref *op;
	uint32_t i;
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = open("/dev/xen/gntdev", O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	op = calloc(1, sizeof(*op) + count * sizeof(op->refs[0]));
	if (!op) {
		close(m->fd);
		return -ENOMEM;
	}
	op->count = count;
	for (i = 0; i < count; i++) {
		op->refs[i].domid = domid;
		op->refs[i].ref = refs[i];
	}
	if (ioctl(m->fd, IOCTL_GNTDEV_MAP_GRANT_REF, op)) {
		err = -errno;
		free(op);
		close(m->fd);
		m->fd = -1;
		return err;
	}
	m->count = count;
	m->index = op->index;
	free(op);

	m->map = mmap(NULL, (size_t)count * ZC_PAGE,
		      PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED,
		      m->fd, m->index);
	if (m->map == MAP_FAILED) {
		err = -errno;
		m->map = NULL;
		zc_gntdev_unmap(m);
		return err;
	}
	return 0;
}

void zc_gntdev_unmap(struct zc_gntdev *m)
{
	struct ioctl_gntdev_unmap_grant_ref u = { .index = m->index,
						  .count = m->count };

	if (m->fd < 0)
		return;
	if (m->map)
		munmap(m->map, (size_t)m->count * ZC_PAGE);
	if (m->count)
		ioctl(m->fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &u);
	close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}
