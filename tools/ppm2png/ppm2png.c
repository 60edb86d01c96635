// SPDX-License-Identifier: GPL-2.0
/*
 * ppm2png: the host's half of `make demo`. Turns the binary PPMs the
 * testbed's Dom0 sent home (what vkms scanned out, what the guest drew)
 * into PNGs with libpng, and compares two of them pixel by pixel.
 *
 *   ppm2png IN.ppm OUT.png        writes OUT.png
 *   ppm2png --compare A.ppm B.ppm prints "match" (exit 0) or how many
 *                                 pixels differ and where the first is
 *                                 (exit 1)
 *
 * Built on the host by tools/testbed/testbed.sh (libpng-dev); it is not
 * one of the tools that go into the guest.
 */

#include <errno.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct image {
	unsigned int w, h;
	unsigned char *rgb;
};

/* Reads a binary PPM (P6, maxval 255, no comments). 0 or -1. */
static int read_ppm(const char *path, struct image *im)
{
	FILE *f = fopen(path, "rb");
	unsigned int maxval;
	size_t size;

	if (!f) {
		fprintf(stderr, "ppm2png: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fscanf(f, "P6 %u %u %u", &im->w, &im->h, &maxval) != 3 ||
	    maxval != 255 || fgetc(f) == EOF || !im->w || !im->h ||
	    im->w > 16384 || im->h > 16384) {
		fprintf(stderr, "ppm2png: %s: not a binary PPM of 8-bit samples\n", path);
		fclose(f);
		return -1;
	}
	size = (size_t)im->w * im->h * 3;
	im->rgb = malloc(size);
	if (!im->rgb || fread(im->rgb, 1, size, f) != size) {
		fprintf(stderr, "ppm2png: %s: short file\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int write_png(const char *path, const struct image *im)
{
	png_structp png;
	png_infop info;
	unsigned int y;
	FILE *f = fopen(path, "wb");

	if (!f) {
		fprintf(stderr, "ppm2png: %s: %s\n", path, strerror(errno));
		return -1;
	}
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png ? png_create_info_struct(png) : NULL;
	if (!info || setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "ppm2png: %s: libpng failed\n", path);
		png_destroy_write_struct(&png, &info);
		fclose(f);
		return -1;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, im->w, im->h, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(png, 9);
	png_write_info(png, info);
	for (y = 0; y < im->h; y++)
		png_write_row(png, im->rgb + (size_t)y * im->w * 3);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	if (fclose(f)) {
		fprintf(stderr, "ppm2png: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int compare(const struct image *a, const struct image *b)
{
	size_t i, n = (size_t)a->w * a->h, bad = 0, first = 0;

	if (a->w != b->w || a->h != b->h) {
		printf("differ: %ux%u against %ux%u\n", a->w, a->h, b->w, b->h);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (memcmp(a->rgb + i * 3, b->rgb + i * 3, 3) && !bad++)
			first = i;
	if (!bad) {
		printf("match (%ux%u, every pixel)\n", a->w, a->h);
		return 0;
	}
	printf("differ: %zu of %zu pixels, the first at %zu,%zu (%02x%02x%02x against %02x%02x%02x)\n",
	       bad, n, first % a->w, first / a->w, a->rgb[first * 3],
	       a->rgb[first * 3 + 1], a->rgb[first * 3 + 2], b->rgb[first * 3],
	       b->rgb[first * 3 + 1], b->rgb[first * 3 + 2]);
	return 1;
}

int main(int argc, char **argv)
{
	struct image a = { 0 }, b = { 0 };

	if (argc == 4 && !strcmp(argv[1], "--compare")) {
		if (read_ppm(argv[2], &a) || read_ppm(argv[3], &b))
			return 2;
		return compare(&a, &b);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: ppm2png IN.ppm OUT.png | ppm2png --compare A.ppm B.ppm\n");
		return 2;
	}
	if (read_ppm(argv[1], &a) || write_png(argv[2], &a))
		return 2;
	return 0;
}
