/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What zcopy_compat32 and its child (zc_c32.c, built for 32-bit callers
 * and, as the reference, for 64-bit ones) share: the byte pattern both
 * sides write and check through their own mappings of the same pages.
 */
#ifndef ZC_C32_H
#define ZC_C32_H

#include <stddef.h>
#include <stdint.h>

/* Byte @i of pattern @seed: differs per page, so pages out of order show. */
static inline uint8_t zc_c32_byte(size_t i, uint32_t seed)
{
	return (uint8_t)((i ^ ((i >> 12) * 29)) * 131 + seed * 17 + 1);
}

static inline void zc_c32_fill(void *p, size_t size, uint32_t seed)
{
	volatile uint8_t *b = p;
	size_t i;

	for (i = 0; i < size; i++)
		b[i] = zc_c32_byte(i, seed);
}

/* Offset of the first byte that is not pattern @seed, -1 if none. */
static inline long zc_c32_check(const void *p, size_t size, uint32_t seed)
{
	const volatile uint8_t *b = p;
	size_t i;

	for (i = 0; i < size; i++)
		if (b[i] != zc_c32_byte(i, seed))
			return (long)i;
	return -1;
}

#endif /* ZC_C32_H */
