// SPDX-License-Identifier: GPL-2.0
/*
 * zc_runner: runs every subtest of every IGT-style binary in a directory,
 * one process per subtest, the way igt_runner does, inside the testbed.
 *
 *	zc_runner DIR [GLOB]
 *
 * GLOB (fnmatch) selects "bin" or "bin@subtest" names. A subtest that logs
 * a kernel message at KERN_WARNING or worse fails (IGT's dmesg-warn). The
 * last line is "N passed, N failed, N skipped"; the exit code is 0 only
 * when nothing failed.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUBTEST_TIMEOUT_S	180
#define MAX_SUBTESTS		256

static int kmsg_fd = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Skips what the kernel logged so far. */
static void kmsg_skip(void)
{
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/*
 * Warnings that say nothing about the code under test, like IGT runner's
 * igt_dmesg_whitelist; both come from timers running late because the
 * emulated (TCG) machine is slow or its host is loaded: vkms' vblank
 * hrtimer firing more than a frame late, and the hrtimer interrupt's
 * once-per-boot note that it took long.
 */
static const char *const kmsg_benign[] = {
	"vkms_vblank_simulate: vblank timer overrun",
	"hrtimer: interrupt took ",
	/*
	 * The grant table core's own line when Dom0's table is full, which
	 * zcopy_limits@grant-exhaustion brings about on purpose; the test
	 * checks the driver's notice and errno itself.
	 */
	"xen:grant_table: xen/grant-table: max_grant_frames reached",
};

static int kmsg_is_benign(const char *text)
{
	unsigned int i;

	for (i = 0; i < sizeof(kmsg_benign) / sizeof(kmsg_benign[0]); i++)
		if (strstr(text, kmsg_benign[i]))
			return 1;
	return 0;
}

/*
 * Prints and counts kernel (facility 0) records at level <= 4 logged
 * since kmsg_skip(). Records are "prio,seq,usec,flags;text".
 */
static int kmsg_warnings(void)
{
	char rec[8192];
	int warnings = 0;
	ssize_t n;

	if (kmsg_fd < 0)
		return 0;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (atoi(rec) <= 4) {
			char *text = strchr(rec, ';');
			int benign = kmsg_is_benign(rec);

			printf("%s: %s", benign ? "dmesg-ignored" : "dmesg-warn",
			       text ? text + 1 : rec);
			if (rec[n - 1] != '\n')
				printf("\n");
			if (!benign)
				warnings++;
		}
	}
	return warnings;
}

static int list_subtests(const char *bin, char names[][128])
{
	char cmd[4096], line[256];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' --list-subtests", bin);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (n < MAX_SUBTESTS && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			snprintf(names[n++], 128, "%s", line);
	}
	pclose(p);
	return n;
}

/* Runs one subtest; returns its verdict from the "Subtest X: V" line. */
static const char *run_subtest(const char *bin, const char *name)
{
	static char verdict[32];
	char buf[4096], want[256], line[4096];
	double deadline = now() + SUBTEST_TIMEOUT_S;
	size_t used = 0;
	int pipefd[2], status;
	struct pollfd pfd;
	pid_t pid;

	snprintf(verdict, sizeof(verdict), "NOTRUN");
	snprintf(want, sizeof(want), "Subtest %s: ", name);
	if (pipe(pipefd))
		return "FAIL";

	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(bin, bin, "--run-subtest", name, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);

	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	for (;;) {
		int left = (int)((deadline - now()) * 1000);
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			snprintf(verdict, sizeof(verdict), "TIMEOUT");
			break;
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(pipefd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, n, stdout);
		fflush(stdout);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (used < sizeof(line) - 1)
					line[used++] = buf[i];
				continue;
			}
			line[used] = '\0';
			used = 0;
			if (!strncmp(line, want, strlen(want)))
				sscanf(line + strlen(want), "%31s", verdict);
		}
	}
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return verdict;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	static char names[MAX_SUBTESTS][128];
	int passed = 0, failed = 0, skipped = 0;
	const char *dir, *glob;
	struct dirent **ents;
	int nents, i, j;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [GLOB]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	glob = argc > 2 && argv[2][0] ? argv[2] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);

	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0)
		printf("zc_runner: no /dev/kmsg, dmesg-warn checks are off\n");

	nents = scandir(dir, &ents, NULL, by_name);
	if (nents < 0) {
		perror(dir);
		return 2;
	}

	for (i = 0; i < nents; i++) {
		char bin[4096];
		struct stat st;
		int n;

		snprintf(bin, sizeof(bin), "%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] == '.' || stat(bin, &st) ||
		    !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR))
			continue;

		n = list_subtests(bin, names);
		for (j = 0; j < n; j++) {
			char full[512];
			const char *v;
			double t0;
			int warns;

			snprintf(full, sizeof(full), "%s@%s", ents[i]->d_name, names[j]);
			if (glob && fnmatch(glob, full, 0) &&
			    fnmatch(glob, ents[i]->d_name, 0))
				continue;

			kmsg_skip();
			t0 = now();
			v = run_subtest(bin, names[j]);
			warns = kmsg_warnings();
			if (!strcmp(v, "SUCCESS") && !warns) {
				passed++;
				printf("[PASS] %s (%.2fs)\n", full, now() - t0);
			} else if (!strcmp(v, "SKIP") && !warns) {
				skipped++;
				printf("[SKIP] %s\n", full);
			} else {
				failed++;
				printf("[FAIL] %s: %s%s (%.2fs)\n", full, v,
				       warns ? ", dmesg-warn" : "", now() - t0);
			}
		}
		free(ents[i]);
	}
	free(ents);

	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
