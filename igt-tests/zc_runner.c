// SPDX-License-Identifier: GPL-2.0
/*
 * zc_runner: runs every subtest of the IGT-style binaries a directory's
 * test-list.txt names, one process per subtest, judging them by the rules
 * igt_runner applies (shared/IGT-PROTOCOL.md), inside the testbed.
 *
 *	zc_runner [--expect MANIFEST] [--have FEATURE]... DIR [GLOB]
 *
 * GLOB (fnmatch) selects "bin" or "bin@subtest" names. The kernel log is
 * followed for the whole run: a record at level <= 4 fails the subtest
 * during which it was logged (IGT's dmesg-warn) or, between subtests, the
 * run, unless it matches the regex of the last "add ignored dmesg regex"
 * line since the last subtest marker. A SUCCESS that wrote anything but
 * protocol lines to stderr is "warn" and fails. A binary that cannot list its
 * subtests fails. With a manifest (igt-tests/expected/), a subtest it
 * expects that did not run, one it does not name, and a SKIP it does not
 * expect fail too. The last line is "N passed, N failed, N skipped"; the
 * exit code is 0 only when nothing failed.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zc_igt.h"

/* Longer than the harness' own limit, which reports a TIMEOUT itself. */
#define SUBTEST_TIMEOUT_S	180
#define MAX_SUBTESTS		256
#define MAX_EXPECTED		1024
#define MAX_FEATURES		8

static int passed, failed, skipped;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the kernel log, followed from start to end ---- */

static struct {
	int fd;
	regex_t ignore;
	bool have_ignore;
	/* What the records logged now are attributed to. */
	const char *owner;
	int warnings;
} kmsg = { .fd = -1, .owner = "zc_runner" };

static void kmsg_set_ignore(const char *re)
{
	int err;

	if (kmsg.have_ignore)
		regfree(&kmsg.ignore);
	kmsg.have_ignore = false;
	if (!re)
		return;
	err = regcomp(&kmsg.ignore, re, REG_EXTENDED | REG_NOSUB);
	if (err) {
		char msg[128];

		regerror(err, &kmsg.ignore, msg, sizeof(msg));
		printf("zc_runner: bad ignore regex '%s': %s\n", re, msg);
		return;
	}
	kmsg.have_ignore = true;
}

/*
 * One record, "prio,seq,usec,flags;text\n" and maybe " KEY=value" lines:
 * a subtest marker forgets the ignore regex, an ignore line sets it, and
 * a record at level <= 4 the regex does not match is a warning.
 */
static void kmsg_record(char *rec)
{
	char *text = strchr(rec, ';'), *p, cont = '-';
	unsigned int prio = 0;
	unsigned long long seq, usec;

	if (!text || sscanf(rec, "%u,%llu,%llu,%c;", &prio, &seq, &usec, &cont) < 3)
		return;
	text++;
	text[strcspn(text, "\n")] = '\0';

	if (strstr(text, ZC_KMSG_MARKER))
		kmsg_set_ignore(NULL);
	p = strstr(text, ZC_KMSG_IGNORE);
	if (p)
		kmsg_set_ignore(p + strlen(ZC_KMSG_IGNORE));

	if ((prio & 7) > 4 || cont == 'c')
		return;
	if (kmsg.have_ignore && !regexec(&kmsg.ignore, text, 0, NULL, 0)) {
		printf("dmesg-ignored (%s): %s\n", kmsg.owner, text);
		return;
	}
	printf("dmesg-warn (%s): %s\n", kmsg.owner, text);
	kmsg.warnings++;
}

/* Reads what the kernel logged since the last call. */
static void kmsg_drain(void)
{
	char rec[8192];
	ssize_t n;

	if (kmsg.fd < 0)
		return;
	for (;;) {
		n = read(kmsg.fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE) {
			printf("dmesg-warn (%s): kernel log records lost\n", kmsg.owner);
			kmsg.warnings++;
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = '\0';
		kmsg_record(rec);
	}
}

/* Attributes what follows to @owner; returns the warnings of the last. */
static int kmsg_attribute(const char *owner)
{
	int warnings;

	kmsg_drain();
	warnings = kmsg.warnings;
	kmsg.warnings = 0;
	kmsg.owner = owner;
	return warnings;
}

/* Between subtests the runner owns the kernel log: a warning fails the run. */
static void runner_warnings(int warnings, const char *when, const char *name)
{
	if (!warnings)
		return;
	failed++;
	printf("[FAIL] zc_runner: dmesg-warn between subtests (%s %s)\n", when, name);
}

static void kmsg_open(void)
{
	int fd;

	kmsg.fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg.fd < 0) {
		printf("zc_runner: no /dev/kmsg, dmesg-warn checks are off\n");
		return;
	}
	lseek(kmsg.fd, 0, SEEK_END);
	/*
	 * The timer noise the harness ignores in every subtest is no more
	 * the runner's fault; it goes through the log like any ignore line.
	 */
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "<6>[IGT] zc_runner: " ZC_KMSG_IGNORE "%s\n",
			ZC_DMESG_NOISE);
		close(fd);
	}
}

/* ---- the manifest: what the run must execute, and what may skip ---- */

struct expected {
	char name[160];
	bool skip;
	bool seen;
};

static struct expected expected[MAX_EXPECTED];
static int nr_expected = -1;	/* no manifest */
static const char *features[MAX_FEATURES];
static int nr_features;

static bool have_feature(const char *f)
{
	int i;

	for (i = 0; i < nr_features; i++)
		if (!strcmp(features[i], f))
			return true;
	return false;
}

/*
 * Lines: "bin@subtest", "bin@subtest skip REASON" or "bin@subtest
 * skip-without FEATURE REASON" (a SKIP is expected unless the run has
 * FEATURE); '#' starts a comment.
 */
static int load_manifest(const char *path)
{
	char line[512], kw[32], feat[32];
	struct expected *e;
	FILE *f = fopen(path, "r");
	int n;

	if (!f) {
		perror(path);
		return -1;
	}
	nr_expected = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\n")] = '\0';
		if (nr_expected == MAX_EXPECTED) {
			fprintf(stderr, "%s: more than %d lines\n", path, MAX_EXPECTED);
			fclose(f);
			return -1;
		}
		e = &expected[nr_expected];
		memset(e, 0, sizeof(*e));
		n = sscanf(line, "%159s %31s %31s", e->name, kw, feat);
		if (n < 1)
			continue;
		if (n >= 2 && !strcmp(kw, "skip")) {
			e->skip = true;
		} else if (n == 3 && !strcmp(kw, "skip-without")) {
			e->skip = !have_feature(feat);
		} else if (n >= 2) {
			fprintf(stderr, "%s: bad line '%s'\n", path, line);
			fclose(f);
			return -1;
		}
		nr_expected++;
	}
	fclose(f);
	return 0;
}

static struct expected *find_expected(const char *full)
{
	int i;

	for (i = 0; i < nr_expected; i++)
		if (!strcmp(expected[i].name, full))
			return &expected[i];
	return NULL;
}

/*
 * GLOB may be a comma-separated list of globs (a kernel command line
 * carries one word): calls @match on each until one matches.
 */
static bool any_glob(const char *glob, const char *name,
		     bool (*match)(const char *one, const char *name))
{
	char one[256];
	size_t len;

	if (!glob)
		return true;
	for (;;) {
		len = strcspn(glob, ",");
		snprintf(one, sizeof(one), "%.*s", (int)len, glob);
		if (len && match(one, name))
			return true;
		if (!glob[len])
			return false;
		glob += len + 1;
	}
}

static bool selected_one(const char *glob, const char *full)
{
	char bin[160];

	if (!fnmatch(glob, full, 0))
		return true;
	snprintf(bin, sizeof(bin), "%.*s", (int)strcspn(full, "@"), full);
	return !fnmatch(glob, bin, 0);
}

static bool selected(const char *glob, const char *full)
{
	return any_glob(glob, full, selected_one);
}

/* ---- running the binaries ---- */

/*
 * Starts @argv with stdout on a pipe (returned in @out), stderr on
 * another if @errout is set, stdin on /dev/null; returns the pid, or
 * -errno when the exec failed.
 */
static pid_t spawn(char *const argv[], int *out, int *errout)
{
	int pipefd[2], errpipe[2], stderrpipe[2] = { -1, -1 }, err = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	if (pipe2(errpipe, O_CLOEXEC) || (errout && pipe2(stderrpipe, O_CLOEXEC))) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		if (errout)
			dup2(stderrpipe[1], 2);
		execv(argv[0], argv);
		err = errno;
		if (write(errpipe[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	close(errpipe[1]);
	if (errout) {
		close(stderrpipe[1]);
		*errout = stderrpipe[0];
	}
	if (pid < 0) {
		err = -errno;
	} else if (read(errpipe[0], &err, sizeof(err)) == sizeof(err)) {
		waitpid(pid, NULL, 0);
		err = -err;
	}
	close(errpipe[0]);
	if (err) {
		close(pipefd[0]);
		if (errout)
			close(stderrpipe[0]);
		return err;
	}
	*out = pipefd[0];
	return pid;
}

static bool valid_name(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/*
 * Every whitespace-separated word on stdout of "BIN --list-subtests" is a
 * subtest, as igt_runner reads it. Returns how many, or -1 with @why set.
 */
static int list_subtests(const char *bin, char names[][128], char *why, size_t len)
{
	char *argv[] = { (char *)bin, "--list-subtests", NULL };
	char word[128];
	int fd, status, n = 0, bad = 0;
	pid_t pid;
	FILE *f;

	pid = spawn(argv, &fd, NULL);
	if (pid < 0) {
		snprintf(why, len, "exec: %s", strerror(-pid));
		return -1;
	}
	f = fdopen(fd, "r");
	while (f && fscanf(f, "%127s", word) == 1) {
		if (!valid_name(word) && !bad++)
			snprintf(why, len, "bad subtest name '%s'", word);
		if (n < MAX_SUBTESTS)
			snprintf(names[n++], 128, "%s", word);
	}
	if (f)
		fclose(f);
	else
		close(fd);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		snprintf(why, len, "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status))
		snprintf(why, len, "exit code %d%s", WEXITSTATUS(status),
			 WEXITSTATUS(status) == 127 ? ", a library missing?" : "");
	else if (!n)
		snprintf(why, len, "none listed");
	else if (n == MAX_SUBTESTS)
		snprintf(why, len, "more than %d", MAX_SUBTESTS - 1);
	else if (!bad)
		return n;
	return -1;
}

/* A child's output stream, copied to ours and cut into lines. */
struct stream {
	FILE *copy;
	char line[4096];
	size_t used;
};

/* Returns the next complete line in @buf (from *@i on), or NULL. */
static const char *stream_line(struct stream *st, const char *buf, ssize_t n,
			       ssize_t *i)
{
	for (; *i < n; (*i)++) {
		if (buf[*i] != '\n') {
			if (st->used < sizeof(st->line) - 1)
				st->line[st->used++] = buf[*i];
			continue;
		}
		(*i)++;
		st->line[st->used] = '\0';
		st->used = 0;
		return st->line;
	}
	return NULL;
}

/*
 * stdout: picks the verdict line out. stderr: igt_runner takes a line
 * there that is not a protocol line as a warning (a passing subtest
 * becomes "warn").
 */
static void scan(struct stream *st, const char *buf, ssize_t n,
		 const char *want, char *verdict, bool *warn, double *deadline,
		 double start)
{
	const char *line, *limit;
	ssize_t i = 0;

	fwrite(buf, 1, n, st->copy);
	fflush(st->copy);
	while ((line = stream_line(st, buf, n, &i))) {
		if (st->copy == stdout) {
			if (!strncmp(line, want, strlen(want)))
				sscanf(line + strlen(want), "%31s", verdict);
			/* A subtest that needs longer says so first. */
			limit = strstr(line, ZC_TIME_LIMIT);
			if (line[0] == '(' && limit &&
			    start + atoi(limit + strlen(ZC_TIME_LIMIT)) + 30 > *deadline)
				*deadline = start + atoi(limit + strlen(ZC_TIME_LIMIT)) + 30;
		} else if (strncmp(line, "Starting subtest: ", 18) &&
			   strncmp(line, "Subtest ", 8)) {
			*warn = true;
		}
	}
}

/*
 * Runs one subtest; returns its verdict from the "Subtest X: V" line,
 * "warn" for a SUCCESS that wrote to stderr. The kernel log is read while
 * it runs.
 */
static const char *run_subtest(const char *bin, const char *name)
{
	static char verdict[32];
	char *argv[] = { (char *)bin, "--run-subtest", (char *)name, NULL };
	struct stream st[2] = { { .copy = stdout }, { .copy = stderr } };
	char buf[4096], want[256];
	const char *env = getenv("ZC_SUBTEST_TIMEOUT_S");
	double start = now();
	double deadline = start + (env && atoi(env) > 0 ? atoi(env) + 30 :
				   SUBTEST_TIMEOUT_S);
	struct pollfd pfd[3];
	bool warn = false;
	int out, err, open_fds = 2;
	pid_t pid;

	snprintf(verdict, sizeof(verdict), "NOTRUN");
	snprintf(want, sizeof(want), "Subtest %s: ", name);
	pid = spawn(argv, &out, &err);
	if (pid < 0) {
		printf("zc_runner: %s: exec: %s\n", bin, strerror(-pid));
		return verdict;
	}

	pfd[0].fd = out;
	pfd[1].fd = err;
	pfd[2].fd = kmsg.fd;
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
	while (open_fds) {
		int left = (int)((deadline - now()) * 1000), k;
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			snprintf(verdict, sizeof(verdict), "TIMEOUT");
			break;
		}
		if (poll(pfd, kmsg.fd >= 0 ? 3 : 2, left) <= 0)
			continue;
		if (kmsg.fd >= 0 && pfd[2].revents)
			kmsg_drain();
		for (k = 0; k < 2; k++) {
			if (!pfd[k].revents)
				continue;
			n = read(pfd[k].fd, buf, sizeof(buf));
			if (n <= 0) {
				/* poll() skips a negative fd. */
				pfd[k].fd = -1;
				open_fds--;
			} else {
				scan(&st[k], buf, n, want, verdict, &warn,
				     &deadline, start);
			}
		}
	}
	close(out);
	close(err);
	waitpid(pid, NULL, 0);
	if (warn && !strcmp(verdict, "SUCCESS"))
		snprintf(verdict, sizeof(verdict), "warn");
	return verdict;
}

/* Prints the result line of one subtest, judged against the manifest. */
static void judge(const char *full, const char *v, int warns, double t)
{
	struct expected *e = nr_expected >= 0 ? find_expected(full) : NULL;
	const char *why = NULL;

	if (e)
		e->seen = true;
	if (nr_expected >= 0 && !e)
		why = "not in the manifest";
	else if (e && !strcmp(v, "SKIP") && !e->skip)
		why = "not expected to skip";
	else if (e && !strcmp(v, "SUCCESS") && e->skip)
		why = "the manifest expects SKIP";

	if (!strcmp(v, "SUCCESS") && !warns && !why) {
		passed++;
		printf("[PASS] %s (%.2fs)\n", full, t);
	} else if (!strcmp(v, "SKIP") && !warns && !why) {
		skipped++;
		printf("[SKIP] %s\n", full);
	} else {
		failed++;
		printf("[FAIL] %s: %s%s%s%s (%.2fs)\n", full, v,
		       warns ? ", dmesg-warn" : "", why ? ", " : "", why ? why : "", t);
	}
}

/* Expected subtests the run selected but did not execute. */
static void check_not_run(const char *glob)
{
	int i;

	for (i = 0; i < nr_expected; i++) {
		if (expected[i].seen || !selected(glob, expected[i].name))
			continue;
		failed++;
		printf("[FAIL] %s: NOTRUN, expected by the manifest\n",
		       expected[i].name);
	}
}

/* Whether GLOB may select subtests of BIN (which could not list them). */
static bool may_select_one(const char *glob, const char *bin)
{
	size_t len = strlen(bin);

	return !fnmatch(glob, bin, 0) ||
	       (!strncmp(glob, bin, len) && glob[len] == '@');
}

static bool may_select(const char *glob, const char *bin)
{
	return any_glob(glob, bin, may_select_one);
}

static void run_binary(const char *dir, const char *base, const char *glob)
{
	static char names[MAX_SUBTESTS][128];
	char bin[4096], full[256], why[160];
	int n, j;

	snprintf(bin, sizeof(bin), "%s/%s", dir, base);
	n = list_subtests(bin, names, why, sizeof(why));
	if (n < 0) {
		if (may_select(glob, base)) {
			failed++;
			printf("[FAIL] %s: cannot list subtests (%s)\n", base, why);
		}
		return;
	}
	for (j = 0; j < n; j++) {
		const char *v;
		double t0;

		snprintf(full, sizeof(full), "%s@%s", base, names[j]);
		if (!selected(glob, full))
			continue;
		runner_warnings(kmsg_attribute(full), "before", full);
		t0 = now();
		v = run_subtest(bin, names[j]);
		judge(full, v, kmsg_attribute("zc_runner"), now() - t0);
	}
}

/* The binaries test-list.txt names, as igt_runner reads it. */
static int run_test_list(const char *dir, const char *glob)
{
	char path[4096], word[256];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/test-list.txt", dir);
	f = fopen(path, "r");
	if (!f) {
		printf("zc_runner: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fscanf(f, "%255s", word) == 1) {
		if (!strcmp(word, "TESTLIST"))
			in = true;
		else if (!strcmp(word, "END"))
			break;
		else if (in)
			run_binary(dir, word, glob);
	}
	fclose(f);
	return in ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *dir, *glob, *manifest = NULL;
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--expect"))
			manifest = argv[i + 1];
		else if (!strcmp(argv[i], "--have") && nr_features < MAX_FEATURES)
			features[nr_features++] = argv[i + 1];
		else
			break;
	}
	if (i >= argc || !strncmp(argv[i], "--", 2)) {
		fprintf(stderr, "usage: %s [--expect MANIFEST] [--have FEATURE]... DIR [GLOB]\n",
			argv[0]);
		return 2;
	}
	dir = argv[i];
	glob = i + 1 < argc && argv[i + 1][0] ? argv[i + 1] : NULL;
	if (manifest && load_manifest(manifest))
		return 2;

	kmsg_open();
	if (run_test_list(dir, glob)) {
		failed++;
		printf("[FAIL] zc_runner: no usable %s/test-list.txt\n", dir);
	}
	runner_warnings(kmsg_attribute("zc_runner"), "after", "the last subtest");
	check_not_run(glob);

	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
