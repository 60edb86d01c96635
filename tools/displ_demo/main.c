// SPDX-License-Identifier: GPL-2.0
/*
 * displ_demo: the whole pipeline with a real guest, as `make demo` shows it
 * in the testbed's Dom0.
 *
 *   the DomU's agent draws zc_picture.h's picture with plain KMS ioctls on
 *   drm_xen_front's card -> the vdispl ring -> tools/displ-be in Dom0 ->
 *   xen_drm_zcopy (DUMB_FROM_REFS, no copy) -> vkms scans it out
 *
 * and checks what came out: vkms' CRC against the same picture drawn
 * natively, what vkms' writeback connector reads back (displ-be
 * --capture) against the bytes the guest drew (its agent copies its
 * frame into pages it grants to Dom0), and the bytes displ-be copied (0).
 * It also measures displ-be's CPU time per flip while the DomU flips.
 *
 * Writes OUTDIR/capture.ppm and OUTDIR/guest.ppm for the host to turn into
 * PNGs. Exits 0 only if every check passed; every failure says so on a
 * line starting with "FAIL".
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zc_domu.h"
#include "zc_drm.h"
#include "zc_gnt.h"
#include "zc_picture.h"
#include "zc_vdispl.h"
#include "zc_xs.h"

#define W	1024
#define H	768
#define PAGES	(W * 4 * H / 4096)
/* How long the DomU flips for the CPU figure. */
#define FLIP_MS	10000

static const char *outdir = "/tmp/demo";
static char be_log_path[128], capture_path[128];
static pid_t be_pid = -1;
static int failures;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* One check: "ok" or "FAIL" and why. */
static int check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("  %-4s ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
	return ok;
}

/* The whole of displ-be's log (a static buffer, reused). */
static const char *be_log(void)
{
	static char buf[1 << 20];
	ssize_t n = 0;
	int fd = open(be_log_path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int count(const char *what)
{
	const char *p = be_log();
	int n = 0;

	while ((p = strstr(p, what))) {
		n++;
		p++;
	}
	return n;
}

static int wait_count(const char *what, int n, int ms)
{
	long long t0 = now_ms();

	while (count(what) < n) {
		if (now_ms() - t0 > ms)
			return -ETIMEDOUT;
		usleep(50000);
	}
	return 0;
}

/* utime + stime of @pid in ms; -1 if unreadable. */
static long long cpu_ms(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

static int be_start(void)
{
	be_pid = fork();
	if (be_pid < 0)
		return -errno;
	if (!be_pid) {
		int fd = open(be_log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		close_range(3, ~0U, 0);
		execlp("displ-be", "displ-be", "--connector", "Virtual-1",
		       "--capture", capture_path, (char *)NULL);
		_exit(127);
	}
	return wait_count("ready (", 1, 10000);
}

/* SIGTERM; its exit status, or -1 if it had to be killed. */
static int be_stop(void)
{
	long long t0 = now_ms();
	int status = -1;

	if (be_pid <= 0)
		return -1;
	kill(be_pid, SIGTERM);
	while (waitpid(be_pid, &status, WNOHANG) == 0) {
		if (now_ms() - t0 > 15000) {
			kill(be_pid, SIGKILL);
			waitpid(be_pid, &status, 0);
			status = -1;
			break;
		}
		usleep(50000);
	}
	be_pid = -1;
	return status;
}

/* The last "copied N bytes" of displ-be's log; -1 if none. */
static long long last_copied(void)
{
	const char *p = be_log(), *last = NULL;

	while ((p = strstr(p, "copied "))) {
		last = p;
		p++;
	}
	return last ? atoll(last + 7) : -1;
}

/* The vdispl device of the DomU for WxH, connected; -errno if not. */
static int device(struct zc_domu *d)
{
	char bstate[128], fstate[128], *b, *f;
	struct zc_xs *xs = zc_xs_open();
	struct zc_vdispl v;
	long long t0;
	int devid, up = 0;

	if (!xs)
		return -errno;
	devid = zc_vdispl_find(xs, d->domid, 0, W, H);
	/* None yet: xl vdispl-attach, which the running displ-be answers. */
	if (devid < 0)
		devid = zc_vdispl_attach(d->domid, 0, W, H);
	if (devid < 0) {
		zc_xs_close(xs);
		return devid;
	}
	zc_vdispl_init(&v, xs, d->domid, devid, NULL, NULL);
	zc_vdispl_state_paths(&v, bstate, fstate, sizeof(bstate));
	t0 = now_ms();
	while (!up && now_ms() - t0 < 30000) {
		b = zc_xs_read(xs, bstate, NULL);
		f = zc_xs_read(xs, fstate, NULL);
		up = b && f && atoi(b) == XenbusStateConnected &&
		     atoi(f) == XenbusStateConnected;
		free(b);
		free(f);
		if (!up)
			usleep(100000);
	}
	zc_xs_close(xs);
	return up ? devid : -ETIMEDOUT;
}

static int write_ppm(const char *path, const uint8_t *xrgb, uint32_t pitch)
{
	FILE *f = fopen(path, "wb");
	uint32_t x, y;
	int ok;

	if (!f)
		return -errno;
	fprintf(f, "P6\n%u %u\n255\n", W, H);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			const uint8_t *p = xrgb + (size_t)y * pitch + x * 4;

			fputc(p[2], f);
			fputc(p[1], f);
			fputc(p[0], f);
		}
	ok = !ferror(f);
	return fclose(f) == 0 && ok ? 0 : -EIO;
}

/* The RGB bytes of a WxH binary PPM; NULL if it is not one. */
static uint8_t *read_ppm(const char *path)
{
	size_t want = (size_t)W * H * 3;
	char head[32];
	uint8_t *px = NULL;
	size_t len = snprintf(head, sizeof(head), "P6\n%u %u\n255\n", W, H);
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	px = malloc(want + len);
	if (px && (fread(px, 1, want + len, f) != want + len || memcmp(px, head, len))) {
		free(px);
		px = NULL;
	}
	fclose(f);
	if (px)
		memmove(px, px + len, want);
	return px;
}

/* The CRC vkms computes of the picture drawn natively. */
static int native_crc(uint32_t *crc, int *minor)
{
	struct zc_kms k;
	struct zc_dumb d;
	void *px;
	int ret = zc_kms_init(&k, W, H);

	if (ret)
		return ret;
	*minor = k.minor;
	ret = zc_dumb_create(k.fd, W, H, 32, &d);
	if (!ret) {
		px = zc_dumb_map(k.fd, d.handle, d.size);
		if (!px)
			ret = -ENOMEM;
		else {
			zc_picture_draw(px, W, H, d.pitch);
			munmap(px, d.size);
			ret = zc_kms_show(&k, d.handle, d.pitch);
			if (!ret)
				ret = zc_crc_current(&k, crc);
		}
		zc_gem_close(k.fd, d.handle);
	}
	zc_kms_fini(&k);
	return ret;
}

/* The CRC of what vkms shows now, while displ-be is its master. */
static int crc_now(int minor, uint32_t want, uint32_t *crc)
{
	struct zc_kms k = { .fd = -1, .minor = minor, .crc_fd = -1 };
	char path[96];
	int fd, i, ret = 0;

	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-0/crc/control", minor);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "auto", 4) != 4)
		ret = -EIO;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-0/crc/data", minor);
	k.crc_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (ret || k.crc_fd < 0)
		return -EIO;
	/* A frame or two may still be the old one. */
	for (i = 0; i < 5; i++) {
		ret = zc_crc_current(&k, crc);
		if (ret || *crc == want)
			break;
	}
	close(k.crc_fd);
	return ret;
}

/*
 * The bytes the guest drew, as it holds them: its agent copies its frame
 * into pages it grants to Dom0, which maps them read-only.
 */
static int guest_frame(struct zc_domu *d, uint8_t **copy)
{
	uint32_t refs[PAGES];
	struct zc_gntdev m = { .fd = -1 };
	char text[256];
	int ret;

	*copy = NULL;
	ret = zc_domu_cmd(d, text, sizeof(text), "alloc demo-frame %u 0", PAGES);
	if (ret)
		return ret;
	ret = zc_domu_cmd(d, text, sizeof(text), "xendrm-dump demo-frame");
	if (!ret)
		ret = zc_domu_get_refs(d, refs, PAGES);
	if (!ret)
		ret = zc_gntdev_map(&m, d->domid, refs, PAGES, false);
	if (!ret) {
		*copy = malloc((size_t)PAGES * 4096);
		if (*copy)
			memcpy(*copy, m.map, (size_t)PAGES * 4096);
		else
			ret = -ENOMEM;
		zc_gntdev_unmap(&m);
	}
	zc_domu_cmd(d, text, sizeof(text), "free demo-frame");
	return ret;
}

int main(int argc, char **argv)
{
	long long t0, cpu0, cpu, wall, flips = 0, copied;
	uint32_t native, crc = 0;
	uint8_t *guest = NULL, *shot = NULL;
	char path[160], text[256];
	struct zc_domu domu;
	int ret, minor = -1, devid, status;
	long bad = 0, i;

	if (argc > 1)
		outdir = argv[1];
	mkdir(outdir, 0755);
	snprintf(be_log_path, sizeof(be_log_path), "%s/displ-be.log", outdir);
	snprintf(capture_path, sizeof(capture_path), "%s/capture.ppm", outdir);
	setvbuf(stdout, NULL, _IOLBF, 0);

	say("== The pipeline with a real guest: DomU app -> drm_xen_front -> displ-be -> xen_drm_zcopy -> vkms ==\n");
	ret = zc_domu_open(&domu);
	if (!check(ret == 0, "the DomU's agent answers (%d)", ret))
		return 1;
	say("  DomU: domain %d, %dx%d, zc_picture.h's picture\n", domu.domid, W, H);
	zc_domu_cmd(&domu, text, sizeof(text), "reset");

	ret = native_crc(&native, &minor);
	if (!check(ret == 0, "the picture drawn natively on vkms: CRC 0x%08x (%d)", native, ret))
		return 1;

	ret = be_start();
	if (!check(ret == 0, "displ-be started (zero-copy, --capture)")) {
		say("%s", be_log());
		return 1;
	}
	devid = device(&domu);
	if (!check(devid >= 0, "vdispl %d of domain %d connected", devid, domu.domid))
		goto out;

	t0 = now_ms();
	ret = zc_domu_cmd(&domu, text, sizeof(text), "xendrm-show %u %u 0 %d picture",
			  W, H, devid);
	if (!check(ret == 0, "the DomU opened drm_xen_front's card, drew and set a mode in %lld ms (%d %s)",
		   now_ms() - t0, ret, ret ? text : ""))
		goto out;
	ret = crc_now(minor, native, &crc);
	check(ret == 0 && crc == native, "vkms scans out CRC 0x%08x: %s the native picture's 0x%08x",
	      crc, crc == native ? "equals" : "DIFFERS FROM", native);

	/* The backend's CPU time while the DomU flips between its two buffers. */
	ret = zc_domu_cmd(&domu, text, sizeof(text), "xendrm-flip 0");
	cpu0 = cpu_ms(be_pid);
	t0 = now_ms();
	while (!ret && now_ms() - t0 < FLIP_MS) {
		ret = zc_domu_cmd(&domu, text, sizeof(text), "xendrm-flips 20");
		if (!ret)
			flips += 20;
	}
	wall = now_ms() - t0;
	cpu = cpu_ms(be_pid) - cpu0;
	if (check(ret == 0 && flips > 0, "the DomU flipped %lld times in %lld ms, every flip's event back (%d)",
		  flips, wall, ret))
		say("  displ-be: %.1f flips/s, CPU (utime+stime) %lld ms in %lld ms: %.2f ms per flip, %.1f%% of a CPU\n",
		    flips * 1000.0 / wall, cpu, wall, (double)cpu / flips, cpu * 100.0 / wall);
	/* An odd number of flips so far: back to the first buffer. */
	ret = zc_domu_cmd(&domu, text, sizeof(text), "xendrm-flip 0");
	check(ret == 0, "one more flip, to the first buffer (%d)", ret);

	ret = crc_now(minor, native, &crc);
	check(ret == 0 && crc == native, "after the flips vkms scans out CRC 0x%08x, the native 0x%08x",
	      crc, native);
	unlink(capture_path);
	kill(be_pid, SIGUSR2);
	ret = wait_count("captured ", 1, 15000);
	shot = read_ppm(capture_path);
	if (!check(!ret && shot, "displ-be read back what vkms scans out through the writeback connector"))
		say("%s", be_log());
	ret = guest_frame(&domu, &guest);
	check(ret == 0, "the guest's frame, as it holds it, granted to Dom0 and mapped (%d)", ret);
	if (guest) {
		uint32_t *ref = malloc((size_t)W * H * 4);

		if (ref) {
			zc_picture_draw(ref, W, H, W * 4);
			check(zc_picture_sum(guest, W, H, W * 4) == zc_picture_sum(ref, W, H, W * 4),
			      "the guest's frame is zc_picture.h's picture");
			free(ref);
		}
		snprintf(path, sizeof(path), "%s/guest.ppm", outdir);
		check(write_ppm(path, guest, W * 4) == 0, "wrote %s", path);
	}
	if (guest && shot) {
		long first = -1;

		for (i = 0; i < (long)W * H; i++)
			if (shot[i * 3] != guest[i * 4 + 2] || shot[i * 3 + 1] != guest[i * 4 + 1] ||
			    shot[i * 3 + 2] != guest[i * 4]) {
				if (!bad++)
					first = i;
			}
		if (bad)
			check(0, "capture against the guest's frame: %ld of %d pixels differ, the first at %ld,%ld",
			      bad, W * H, first % W, first / W);
		else
			check(1, "capture against the guest's frame: all %d pixels match (R, G, B)", W * H);
	}
	kill(be_pid, SIGUSR1);
	wait_count("copied ", 1, 5000);
	copied = last_copied();
	check(copied == 0, "displ-be copied %lld bytes (zero copy)", copied);

	ret = zc_domu_cmd(&domu, text, sizeof(text), "xendrm-close");
	check(ret == 0, "the DomU closed its card: its buffers destroyed on the ring (%d)", ret);
out:
	status = be_stop();
	check(status == 0, "displ-be exited cleanly (status %d)", status);
	zc_domu_close(&domu);
	free(guest);
	free(shot);
	say("%s\n", failures ? "FAIL: the pipeline demo failed" :
		    "the pipeline demo: every check passed");
	return failures ? 1 : 0;
}
