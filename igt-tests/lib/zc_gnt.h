/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Grant helpers: gntalloc plays a frontend that grants its pages, gntdev a
 * frontend that maps refs granted to it.
 */
#ifndef ZC_GNT_H
#define ZC_GNT_H

#include <stdbool.h>
#include <stdint.h>

struct zc_gntalloc {
	int fd;
	uint32_t count;
	uint64_t index;
	uint32_t *refs;
	uint8_t *map;
};

/* Grants @count fresh pages to @domid and maps them. 0 or -errno. */
int zc_gntalloc_alloc(struct zc_gntalloc *g, uint16_t domid, uint32_t count,
		      bool writable);
void zc_gntalloc_free(struct zc_gntalloc *g);

struct zc_gntdev {
	int fd;
	uint32_t count;
	uint64_t index;
	uint8_t *map;
};

/* Maps @count refs granted by @domid. 0 or -errno. */
int zc_gntdev_map(struct zc_gntdev *m, uint16_t domid, const uint32_t *refs,
		  uint32_t count, bool writable);
void zc_gntdev_unmap(struct zc_gntdev *m);

#endif /* ZC_GNT_H */
