// SPDX-License-Identifier: GPL-2.0
/*
 * IGT test protocol for the xen-zcopy test binaries (see zc_igt.h and
 * shared/IGT-PROTOCOL.md): subtest listing and selection, result lines,
 * exit codes and the dmesg marker igt_runner attributes warnings with.
 */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zc_igt.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)	/* <linux/close_range.h> */
#endif

/*
 * A subtest that runs longer is killed and reported as TIMEOUT; the
 * environment's ZC_SUBTEST_TIMEOUT_S (a long fuzzing run) overrides it.
 */
#define ZC_SUBTEST_TIMEOUT_S	150

static unsigned int zc_subtest_timeout(const struct zc_subtest *t)
{
	const char *v = getenv("ZC_SUBTEST_TIMEOUT_S");
	unsigned long s = v ? strtoul(v, NULL, 10) : 0;

	if (!s)
		s = ZC_SUBTEST_TIMEOUT_S;
	return t->timeout_s > s ? t->timeout_s : s;
}

/* Exit code of a child whose subtest was skipped. */
#define ZC_CHILD_SKIP		77

static const char *zc_prog;
static const char *zc_current;
static bool zc_sentinel_stderr;

struct zc_fixture {
	void (*fn)(void *);
	void *data;
};

static struct zc_fixture zc_fixtures[64];
static int zc_nr_fixtures;

/*
 * The address of a local of zc_run_one() in the subtest's child: the
 * frames of the subtest function and everything it calls lie below it
 * (the stack grows down on x86_64 and aarch64).
 */
static uintptr_t zc_subtest_stack_top;

/*
 * Whether @p points into a frame of the running subtest: between the
 * frame of zc_at_exit() (@here, the address of one of its locals) and
 * zc_run_one()'s. Only in the process's main thread: another thread's
 * stack is elsewhere, and between it and the main stack lie mappings
 * of the heap and libraries.
 */
static bool zc_on_subtest_stack(uintptr_t p, uintptr_t here)
{
	if (!zc_subtest_stack_top || syscall(SYS_gettid) != getpid())
		return false;
	return here < p && p < zc_subtest_stack_top;
}

void __zc_at_exit(void (*fn)(void *), void *data, const char *fn_name,
		  const char *file, int line, const char *func)
{
	volatile char here;

	if (zc_on_subtest_stack((uintptr_t)data, (uintptr_t)&here)) {
		errno = 0;
		__zc_fail(file, line, func, "fixture data outlives the subtest",
			  "zc_at_exit(%s, %p) in %s(): the data is on the subtest's stack, "
			  "and fixtures run after the subtest function has returned, when "
			  "its frame is gone; make the object static or allocate it (if "
			  "%s() registers the fixture for its caller: the object the "
			  "caller passed to it)",
			  fn_name, data, func, func);
	}
	if (zc_nr_fixtures == (int)(sizeof(zc_fixtures) / sizeof(zc_fixtures[0]))) {
		fprintf(stderr, "zc_at_exit: too many fixtures\n");
		abort();
	}
	zc_fixtures[zc_nr_fixtures].fn = fn;
	zc_fixtures[zc_nr_fixtures].data = data;
	zc_nr_fixtures++;
}

static void zc_run_fixtures(void)
{
	while (zc_nr_fixtures > 0) {
		zc_nr_fixtures--;
		zc_fixtures[zc_nr_fixtures].fn(zc_fixtures[zc_nr_fixtures].data);
	}
}

/*
 * To stdout: igt_runner turns a passing subtest that wrote anything but
 * its protocol lines to stderr into "warn".
 */
void zc_info(const char *fmt, ...)
{
	va_list ap;

	printf("(%s:%s) ", zc_prog, zc_current ? zc_current : "-");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void __zc_fail(const char *file, int line, const char *func,
	       const char *expr, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "(%s:%s) %s:%d %s(): Failed assertion: %s\n", zc_prog,
		zc_current ? zc_current : "-", file, line, func, expr);
	if (fmt) {
		fprintf(stderr, "  ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	}
	if (err)
		fprintf(stderr, "  errno: %d (%s)\n", err, strerror(err));
	fflush(stderr);
	zc_run_fixtures();
	_exit(ZC_EXIT_FAILURE);
}

void __zc_skip(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "(%s:%s) %s:%d: Skipping: ", zc_prog,
		zc_current ? zc_current : "-", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	zc_run_fixtures();
	_exit(ZC_CHILD_SKIP);
}

static double zc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * igt_runner attributes kernel messages to the subtest named in the
 * marker and counts those at level <= 4 against it, so the marker itself
 * is logged at level 6; the line after it names the warnings the subtest
 * may cause without failing.
 */
static void zc_kmsg_marker(const struct zc_subtest *t)
{
	char buf[1024];
	int fd, len;

	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "<6>[IGT] %s" ZC_KMSG_MARKER "%s\n",
		       zc_prog, t->name);
	/* Not root: igt_runner then just cannot attribute warnings. */
	if (write(fd, buf, len) < 0)
		fprintf(stderr, "%s: cannot write the kmsg marker\n", zc_prog);
	len = snprintf(buf, sizeof(buf), "<6>[IGT] " ZC_KMSG_IGNORE "%s%s%s\n",
		       ZC_DMESG_NOISE, t->dmesg_ignore ? "|" : "",
		       t->dmesg_ignore ? t->dmesg_ignore : "");
	if (write(fd, buf, len) < 0)
		fprintf(stderr, "%s: cannot write the kmsg ignore line\n", zc_prog);
	close(fd);
}

/*
 * Protocol lines go to stdout; in multiple mode igt_runner wants them on
 * stderr too, to split the stderr it captured between subtests.
 */
static __attribute__((format(printf, 1, 2))) void zc_sentinel(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (!zc_sentinel_stderr)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* Runs one subtest in a child; returns SUCCESS, FAIL, SKIP, ... */
static const char *zc_run_one(const struct zc_subtest *t)
{
	double start = zc_now();
	struct zc_oracle base;
	const char *verdict;
	int status;
	pid_t pid;

	zc_sentinel("Starting subtest: %s\n", t->name);
	zc_kmsg_marker(t);

	zc_oracle_read(&base);
	zc_oracle_slab_snapshot();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		verdict = "FAIL";
		goto out;
	}
	if (pid == 0) {
		volatile char top;

		zc_subtest_stack_top = (uintptr_t)&top;
		zc_current = t->name;
		if (zc_subtest_timeout(t) != ZC_SUBTEST_TIMEOUT_S)
			zc_info("time limit %u s\n", zc_subtest_timeout(t));
		alarm(zc_subtest_timeout(t));
		t->func();
		zc_run_fixtures();
		fflush(NULL);
		_exit(0);
	}

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case 0:
			verdict = "SUCCESS";
			break;
		case ZC_CHILD_SKIP:
			verdict = "SKIP";
			break;
		default:
			verdict = "FAIL";
			break;
		}
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		fprintf(stderr, "(%s:%s) timed out after %u s\n", zc_prog,
			t->name, zc_subtest_timeout(t));
		verdict = "TIMEOUT";
	} else {
		fprintf(stderr, "(%s:%s) killed by signal %d (%s)\n", zc_prog,
			t->name, WTERMSIG(status), strsignal(WTERMSIG(status)));
		verdict = "CRASH";
	}
	if (!strcmp(verdict, "SUCCESS") &&
	    zc_oracle_check(&base, t->oracle, t->name))
		verdict = "FAIL";
out:
	zc_sentinel("Subtest %s: %s (%.3fs)\n", t->name, verdict, zc_now() - start);
	return verdict;
}

/* NAME may be a glob or a comma-separated list of globs. */
static int zc_selected(const char *filter, const char *name)
{
	char *copy, *tok, *save = NULL;
	int hit = 0;

	if (!filter)
		return 1;
	copy = strdup(filter);
	for (tok = strtok_r(copy, ",", &save); tok && !hit;
	     tok = strtok_r(NULL, ",", &save))
		hit = !fnmatch(tok, name, 0);
	free(copy);
	return hit;
}

int zc_main(int argc, char **argv, const struct zc_subtest *subtests)
{
	const struct zc_subtest *t;
	const char *filter = NULL;
	int ran = 0, failed = 0, skipped = 0, i;
	struct utsname uts;

	zc_prog = basename(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	zc_sentinel_stderr = getenv("IGT_SENTINEL_ON_STDERR");
	/*
	 * Whatever the runner left open (its socket, pipes of other tests)
	 * must not reach what the subtests spawn: a daemon holding them
	 * keeps the runner waiting for their end.
	 */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		fprintf(stderr, "%s: close_range: %s\n", zc_prog, strerror(errno));

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list-subtests")) {
			for (t = subtests; t->name; t++)
				printf("%s\n", t->name);
			return ZC_EXIT_SUCCESS;
		} else if (!strcmp(argv[i], "--run-subtest") && i + 1 < argc) {
			filter = argv[++i];
		} else if (!strncmp(argv[i], "--run-subtest=", 14)) {
			filter = argv[i] + 14;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: %s [--list-subtests] [--run-subtest NAME[,NAME...]]\n",
			       zc_prog);
			return ZC_EXIT_SUCCESS;
		} else {
			/* igt_runner passes options we do not need (--debug ...). */
			printf("%s: ignoring option %s\n", zc_prog, argv[i]);
		}
	}

	if (uname(&uts))
		snprintf(uts.machine, sizeof(uts.machine), "unknown");
	printf("IGT-Version: 2.2-xen-zcopy (%s) (Linux)\n", uts.machine);

	for (t = subtests; t->name; t++) {
		const char *verdict;

		if (!zc_selected(filter, t->name))
			continue;
		verdict = zc_run_one(t);
		ran++;
		if (!strcmp(verdict, "SKIP"))
			skipped++;
		else if (strcmp(verdict, "SUCCESS"))
			failed++;
	}

	if (!ran) {
		fprintf(stderr, "%s: no subtest matches '%s'\n", zc_prog,
			filter ? filter : "");
		return ZC_EXIT_INVALID;
	}
	if (failed)
		return ZC_EXIT_FAILURE;
	if (skipped == ran)
		return ZC_EXIT_SKIP;
	return ZC_EXIT_SUCCESS;
}
