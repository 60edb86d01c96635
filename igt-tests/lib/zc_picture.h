/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The picture of the pipeline demo and of zcopy_displ_be@picture: colour
 * bars, a grey ramp and a checkerboard with a ring over them, so a frame
 * that arrives shifted, torn, with pages swapped or with its channels
 * mixed up shows at a glance. The DomU's agent draws it (it links no
 * helpers: everything here is static inline) and Dom0 draws the same
 * reference, so both ends need only this header.
 *
 * Pixels are XRGB8888 with the X byte 0: a KMS device may fill that byte
 * as it likes (vkms' writeback writes 0xff), so comparisons and the sum
 * below take the 24 colour bits only.
 */
#ifndef ZC_PICTURE_H
#define ZC_PICTURE_H

#include <stddef.h>
#include <stdint.h>

/* The pixel at @x, @y of a @w x @h picture. */
static inline uint32_t zc_picture_px(uint32_t x, uint32_t y, uint32_t w,
				     uint32_t h)
{
	static const uint32_t bars[8] = {
		0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
		0xff00ff, 0xff0000, 0x0000ff, 0x000000,
	};
	int64_t dx = (int64_t)x - w / 2, dy = (int64_t)y - h / 2;
	int64_t r = (h < w ? h : w) / 3, d2 = dx * dx + dy * dy;
	uint32_t v;

	/* An orange ring, a tenth of the radius thick, centred. */
	if (d2 <= r * r && d2 >= (r - r / 10) * (r - r / 10))
		return 0xff8000;
	if (y < h * 3 / 5)
		return bars[(uint64_t)x * 8 / w];
	if (y < h * 3 / 4) {
		v = (uint32_t)((uint64_t)x * 255 / (w > 1 ? w - 1 : 1));
		return v << 16 | v << 8 | v;
	}
	return ((x / 32) ^ (y / 32)) & 1 ? 0xffffff : 0x202020;
}

/* Draws the picture into an XRGB8888 frame of @pitch bytes per row. */
static inline void zc_picture_draw(void *px, uint32_t w, uint32_t h,
				   uint32_t pitch)
{
	uint32_t x, y;

	for (y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)px + (size_t)y * pitch);

		for (x = 0; x < w; x++)
			row[x] = zc_picture_px(x, y, w, h);
	}
}

/*
 * FNV-1a (64 bit) of the colour bytes (B, G, R) of every pixel of a
 * @w x @h XRGB8888 frame, row by row: what the agent reports of the frame
 * it drew, for Dom0 to compare with the reference.
 */
static inline uint64_t zc_picture_sum(const void *px, uint32_t w, uint32_t h,
				      uint32_t pitch)
{
	uint64_t sum = 0xcbf29ce484222325ull;
	uint32_t x, y;
	int i;

	for (y = 0; y < h; y++) {
		const uint8_t *row = (const uint8_t *)px + (size_t)y * pitch;

		for (x = 0; x < w; x++)
			for (i = 0; i < 3; i++) {
				sum ^= row[x * 4 + i];
				sum *= 0x100000001b3ull;
			}
	}
	return sum;
}

#endif
