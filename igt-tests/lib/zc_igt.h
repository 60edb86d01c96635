/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small harness that speaks IGT's test protocol, so igt_runner can drive
 * the xen-zcopy test binaries without linking libigt.
 *
 * A test binary is a list of named subtests:
 *
 *	static void test_foo(void) { ...; zc_assert(x == 1); }
 *	static const struct zc_subtest subtests[] = {
 *		{ "foo", test_foo },
 *		{ "bar", test_bar, .dmesg_ignore = "expected warning" },
 *		{ }
 *	};
 *	ZC_MAIN(subtests)
 *
 * Each subtest runs in a forked child, so a failing assert, a crash or a
 * leaked fd does not take the others down. Around it the harness compares
 * state the driver does not write with a baseline (zc_oracle.h): a
 * subtest that leaves more behind than .oracle allows FAILs. Protocol
 * lines go to stdout, line-buffered; diagnostics go to stderr.
 */
#ifndef ZC_IGT_H
#define ZC_IGT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zc_oracle.h"

struct zc_subtest {
	const char *name;		/* [A-Za-z0-9_-] only */
	void (*func)(void);
	/*
	 * Optional: an extended regex (POSIX ERE, also valid for IGT's
	 * PCRE) of kernel warnings the subtest causes on purpose. The
	 * runner then does not count matching lines against it.
	 */
	const char *dmesg_ignore;
	unsigned int oracle;		/* ZC_ORACLE_*: what it may leave changed */
	/*
	 * Optional: seconds the subtest may take, when more than the
	 * harness' default (it announces the limit to zc_runner).
	 */
	unsigned int timeout_s;
};

/* The line that announces a subtest's time limit: "(bin:name) time limit N s". */
#define ZC_TIME_LIMIT		") time limit "


/*
 * Kernel warnings every subtest may see that say nothing about the code
 * under test: timers running late because the emulated (TCG) machine is
 * slow or its host loaded (vkms' vblank hrtimer firing more than a frame
 * late, the hrtimer interrupt's once-per-boot note that it took long).
 */
#define ZC_DMESG_NOISE \
	"vkms_vblank_simulate: vblank timer overrun|hrtimer: interrupt took "

/*
 * The kmsg lines igt_runner (and zc_runner) read: the first attributes
 * the kernel messages that follow to a subtest, the second tells them
 * which of those to ignore (the last one wins until the next marker).
 */
#define ZC_KMSG_MARKER		": starting subtest "
#define ZC_KMSG_IGNORE		"add ignored dmesg regex: "

/* Exit codes understood by igt_runner. */
#define ZC_EXIT_SUCCESS	0
#define ZC_EXIT_SKIP	77
#define ZC_EXIT_INVALID	79
#define ZC_EXIT_FAILURE	98
#define ZC_EXIT_ABORT	112

int zc_main(int argc, char **argv, const struct zc_subtest *subtests);

#define ZC_MAIN(subtests) \
	int main(int argc, char **argv) { return zc_main(argc, argv, subtests); }

/* Failing a subtest: print file:line, the expression, errno, and exit. */
void __zc_fail(const char *file, int line, const char *func,
	       const char *expr, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 5, 6)));
void __zc_skip(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define zc_assert(expr) do { if (!(expr)) \
	__zc_fail(__FILE__, __LINE__, __func__, #expr, NULL); } while (0)
#define zc_assert_f(expr, ...) do { if (!(expr)) \
	__zc_fail(__FILE__, __LINE__, __func__, #expr, __VA_ARGS__); } while (0)
/* Compare two integers and print both values on failure. */
#define zc_assert_eq(a, b) do { long long __a = (a), __b = (b); \
	if (__a != __b) __zc_fail(__FILE__, __LINE__, __func__, #a " == " #b, \
		"%lld != %lld", __a, __b); } while (0)
#define zc_assert_neq(a, b) do { long long __a = (a), __b = (b); \
	if (__a == __b) __zc_fail(__FILE__, __LINE__, __func__, #a " != " #b, \
		"both are %lld", __a); } while (0)
/* A call that must return >= 0 (prints errno otherwise). */
#define zc_assert_ok(expr) do { long long __r = (expr); if (__r < 0) \
	__zc_fail(__FILE__, __LINE__, __func__, #expr, "returned %lld", __r); \
	} while (0)
/* A call that must fail (return -1 or a negative errno) with errno == err. */
#define zc_assert_errno(expr, err) do { errno = 0; long long __r = (expr); \
	int __e = __r < -1 ? (int)-__r : errno; \
	if (__r >= 0 || __e != (err)) __zc_fail(__FILE__, __LINE__, __func__, \
		#expr, "returned %lld errno %d (%s), expected %d (%s)", __r, \
		__e, strerror(__e), (err), strerror(err)); } while (0)
#define zc_skip(...) __zc_skip(__FILE__, __LINE__, __VA_ARGS__)
#define zc_require(expr) do { if (!(expr)) \
	__zc_skip(__FILE__, __LINE__, "requirement not met: %s", #expr); } while (0)

/* Diagnostics (to stdout, as stderr is for failures) with the subtest name prefixed. */
void zc_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Fixtures: cleanup callbacks run in reverse order when the subtest ends,
 * whether it passes or fails (they run in the child before it exits).
 *
 * @data must outlive the subtest function: make it static (each subtest
 * runs in a forked child of its own, so static storage is the subtest's)
 * or allocate it. A successful subtest's fixtures run after the subtest
 * function has returned, when its stack frame is gone. This holds for the
 * objects passed to helpers that register a fixture on them for the
 * caller (zc_gbuf_get(), zc_kms_get(), ...) too; a helper called more
 * than once, or a loop, needs one such object per registration.
 * zc_at_exit() fails the subtest at once if @data points into the
 * subtest's stack.
 */
#define zc_at_exit(fn, data) \
	__zc_at_exit(fn, data, #fn, __FILE__, __LINE__, __func__)
void __zc_at_exit(void (*fn)(void *), void *data, const char *fn_name,
		  const char *file, int line, const char *func);

#endif /* ZC_IGT_H */
