/*
 * A test program that enters the validator sandbox exactly as a validator
 * does (runtime_prepare(), then runtime_sandbox()) and then tries one
 * forbidden action named on the command line.
 *
 * Usage: sandbox_probe [--net|--no-net] ACTION
 *   --net     declare AF_INET and AF_INET6, as http-01 does (default)
 *   --no-net  declare no socket family, as a network-free validator does
 *   ACTION    open | exec | fork | socket-inet | socket-inet6 |
 *             socket-unix | setuid | status | sleep | none
 *
 * Output: one line "ACTION: allowed" or "ACTION: denied errno=NAME".  A
 * call that the filter kills prints nothing; the caller sees the exit by
 * SIGSYS.  "status" prints the Seccomp, NoNewPrivs and Uid lines read
 * through a /proc/self/status descriptor opened before the sandbox.
 * Exit status: 0 when the action ran (allowed or denied), 1 when the
 * sandbox could not be entered, 2 on a usage error.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

static const int probe_net_families[] = { AF_INET, AF_INET6 };

static void
probe_report(const char *action, int ok, int err)
{
	const char *name = strerrorname_np(err);

	if (ok)
		printf("%s: allowed\n", action);
	else
		printf("%s: denied errno=%s\n", action,
		    name != NULL ? name : "unknown");
	fflush(stdout);
}

static void
probe_socket(const char *action, int family)
{
	int fd = socket(family, SOCK_STREAM, 0);

	probe_report(action, fd != -1, errno);
	if (fd != -1)
		close(fd);
}

/* Copy the lines of /proc/self/status that show the sandbox. */
static void
probe_status(int fd)
{
	char buf[8192], *line, *save = NULL;
	ssize_t n;

	if (fd == -1 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		printf("status: unreadable\n");
		return;
	}
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "Seccomp:", 8) == 0 ||
		    strncmp(line, "NoNewPrivs:", 11) == 0 ||
		    strncmp(line, "Uid:", 4) == 0)
			printf("%s\n", line);
	}
}

static int
probe_run(const char *action, int status_fd)
{
	char path[] = "/bin/true";
	char *const argv[] = { path, NULL };
	char *const envp[] = { NULL };
	pid_t pid;
	int fd;

	if (strcmp(action, "open") == 0) {
		fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
		probe_report(action, fd != -1, errno);
	} else if (strcmp(action, "exec") == 0) {
		execve(argv[0], argv, envp);
		probe_report(action, 0, errno);
	} else if (strcmp(action, "fork") == 0) {
		if ((pid = fork()) == 0)
			_exit(0);
		probe_report(action, pid != -1, errno);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	} else if (strcmp(action, "socket-inet") == 0) {
		probe_socket(action, AF_INET);
	} else if (strcmp(action, "socket-inet6") == 0) {
		probe_socket(action, AF_INET6);
	} else if (strcmp(action, "socket-unix") == 0) {
		probe_socket(action, AF_UNIX);
	} else if (strcmp(action, "setuid") == 0) {
		fd = setuid(0);
		probe_report(action, fd == 0, errno);
	} else if (strcmp(action, "status") == 0) {
		probe_status(status_fd);
	} else if (strcmp(action, "sleep") == 0) {
		/* For a caller that reads /proc/PID/status from outside. */
		printf("sleep: pid %ld\n", (long)getpid());
		fflush(stdout);
		sleep(30);
	} else if (strcmp(action, "none") != 0) {
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct validator probe;
	const char *action;
	int status_fd, argi = 1;

	memset(&probe, 0, sizeof(probe));
	probe.name = "sandbox_probe";
	probe.version = "test";
	probe.socket_families = probe_net_families;
	probe.nsocket_families = 2;
	if (argi < argc && strcmp(argv[argi], "--no-net") == 0) {
		probe.nsocket_families = 0;
		argi++;
	} else if (argi < argc && strcmp(argv[argi], "--net") == 0) {
		argi++;
	}
	if (argi + 1 != argc) {
		fprintf(stderr, "usage: sandbox_probe [--net|--no-net] "
		    "ACTION\n");
		return 2;
	}
	action = argv[argi];
	vlog_init(probe.name);

	/* Above 2 so that runtime_prepare() keeps it open. */
	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (runtime_prepare(&probe, status_fd) == -1 ||
	    runtime_sandbox(&probe) == -1)
		return 1;
	if (probe_run(action, status_fd) == -1) {
		fprintf(stderr, "sandbox_probe: unknown action \"%s\"\n",
		    action);
		return 2;
	}
	return 0;
}
