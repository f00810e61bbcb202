/*
 * Process supervision for validators that ca-core starts.
 *
 * Interface (supervisor.h): supervisor_spawn() forks and execs a validator
 * with its arguments and its socket at descriptor 3, supervisor_describe_status() turns a
 * wait status into words for the log, supervisor_backoff() computes
 * restart delays, supervisor_stop() terminates and reaps children at
 * shutdown.
 *
 * Errors: a failed socketpair or fork is returned to the caller, which
 * logs it and retries with backoff.  Nothing here exits ca-core.  Between
 * fork and exec the child calls only async-signal-safe functions and
 * exits with status 127 when any step fails.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "supervisor.h"

extern char **environ;

/* Build the child's environment before fork, because setenv() allocates
 * and is not safe between fork and exec.  Returns a NULL-terminated array
 * whose last entry before NULL is the malloc'd fd variable, or NULL. */
static char **
supervisor_child_env(void)
{
	char **env = NULL, *fdvar = NULL;
	size_t n = 0, i, o = 0, prefix;

	prefix = strlen(SUPERVISOR_FD_ENV "=");
	while (environ != NULL && environ[n] != NULL)
		n++;
	if (asprintf(&fdvar, "%s=%d", SUPERVISOR_FD_ENV,
	    SUPERVISOR_CHILD_FD) == -1)
		return NULL;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL) {
		free(fdvar);
		return NULL;
	}

	/* Drop an inherited value so the child gets exactly one. */
	for (i = 0; i < n; i++) {
		if (strncmp(environ[i], SUPERVISOR_FD_ENV "=", prefix) == 0)
			continue;
		env[o++] = environ[i];
	}
	env[o++] = fdvar;
	env[o] = NULL;
	return env;
}

static void
supervisor_free_env(char **env)
{
	size_t i;

	if (env == NULL)
		return;
	/* Only the last entry belongs to us; the rest point into environ. */
	for (i = 0; env[i] != NULL; i++)
		if (env[i + 1] == NULL)
			free(env[i]);
	free(env);
}

/* Runs in the child between fork and exec: async-signal-safe calls only.
 * argv is built before fork. */
static void __attribute__((noreturn))
supervisor_exec_child(const char *program, char **argv, int child_fd,
    char **env)
{
	sigset_t none;
	long fd, maxfd;

	if (child_fd != SUPERVISOR_CHILD_FD &&
	    dup2(child_fd, SUPERVISOR_CHILD_FD) == -1)
		_exit(127);
	if (fcntl(SUPERVISOR_CHILD_FD, F_SETFD, 0) == -1)
		_exit(127);

	/* close_range needs Linux 5.9; fall back to closing one by one. */
	if (close_range(SUPERVISOR_CHILD_FD + 1, ~0U, 0) == -1) {
		maxfd = sysconf(_SC_OPEN_MAX);
		if (maxfd < 0 || maxfd > 65536)
			maxfd = 65536;
		for (fd = SUPERVISOR_CHILD_FD + 1; fd < maxfd; fd++)
			(void)close((int)fd);
	}

	/* A process group of its own keeps a Ctrl-C on ca-core's terminal
	 * from reaching the validator, which ca-core stops itself. */
	(void)setpgid(0, 0);

	/* ca-core ignores SIGPIPE and libevent blocks nothing, but make the
	 * child's signal state independent of ours. */
	(void)signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	execve(program, argv, env);
	_exit(127);
}

pid_t
supervisor_spawn(const char *program, char *const *args, int *fd, char *err,
    size_t errlen)
{
	char *argv[SUPERVISOR_MAX_ARGS + 2];
	int sv[2] = { -1, -1 };
	char **env = NULL;
	pid_t pid = -1;
	size_t n = 0;

	*fd = -1;

	argv[n++] = (char *)(uintptr_t)program;
	while (args != NULL && args[n - 1] != NULL) {
		if (n > SUPERVISOR_MAX_ARGS) {
			snprintf(err, errlen, "%s has more than %d arguments",
			    program, SUPERVISOR_MAX_ARGS);
			return -1;
		}
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;

	if ((env = supervisor_child_env()) == NULL) {
		snprintf(err, errlen, "out of memory building the environment "
		    "for %s", program);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair for %s failed: %s", program,
		    strerror(errno));
		goto out;
	}

	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork for %s failed: %s", program,
		    strerror(errno));
		goto out;
	}
	if (pid == 0)
		supervisor_exec_child(program, argv, sv[1], env);

	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl O_NONBLOCK for %s failed: %s",
		    program, strerror(errno));
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		pid = -1;
		goto out;
	}
	*fd = sv[0];
	sv[0] = -1;
 out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	supervisor_free_env(env);
	return pid;
}

const char *
supervisor_describe_status(int status, char *buf, size_t len)
{
	int sig;

	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
		return buf;
	}
	if (!WIFSIGNALED(status)) {
		snprintf(buf, len, "ended with wait status 0x%x", status);
		return buf;
	}
	sig = WTERMSIG(status);
	if (sig == SIGSYS) {
		snprintf(buf, len, "killed by signal SIGSYS: sandbox violation "
		    "(a system call outside the seccomp allow-list)");
		return buf;
	}
	snprintf(buf, len, "killed by signal SIG%s%s",
	    sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?",
	    WCOREDUMP(status) ? " (core dumped)" : "");
	return buf;
}

int
supervisor_backoff(int current_s, time_t lived_s, int *next_s)
{
	int delay;

	if (current_s < SUPERVISOR_BACKOFF_MIN_S ||
	    lived_s >= SUPERVISOR_BACKOFF_RESET_S)
		delay = SUPERVISOR_BACKOFF_MIN_S;
	else
		delay = current_s;
	if (delay > SUPERVISOR_BACKOFF_MAX_S)
		delay = SUPERVISOR_BACKOFF_MAX_S;
	*next_s = delay * 2 > SUPERVISOR_BACKOFF_MAX_S ?
	    SUPERVISOR_BACKOFF_MAX_S : delay * 2;
	return delay;
}

/* Reap every child in pids that has exited, without blocking.  Returns
 * how many are still running. */
static size_t
supervisor_reap_some(const pid_t *pids, int *statuses, int *reaped,
    size_t n, int options)
{
	size_t i, running = 0;
	pid_t r;

	for (i = 0; i < n; i++) {
		if (pids[i] <= 0 || reaped[i])
			continue;
		do {
			r = waitpid(pids[i], &statuses[i], options);
		} while (r == -1 && errno == EINTR);
		if (r == pids[i] || (r == -1 && errno == ECHILD))
			reaped[i] = 1;
		else
			running++;
	}
	return running;
}

void
supervisor_stop(const pid_t *pids, int *statuses, size_t n)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int *reaped = NULL;
	size_t i;
	int waited_ms;

	for (i = 0; i < n; i++)
		statuses[i] = -1;
	if ((reaped = calloc(n > 0 ? n : 1, sizeof(*reaped))) == NULL) {
		/* Without bookkeeping, still make sure nothing survives. */
		for (i = 0; i < n; i++)
			if (pids[i] > 0)
				(void)kill(pids[i], SIGKILL);
		return;
	}

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			(void)kill(pids[i], SIGTERM);
	for (waited_ms = 0; waited_ms < SUPERVISOR_STOP_GRACE_MS;
	    waited_ms += 50) {
		if (supervisor_reap_some(pids, statuses, reaped, n,
		    WNOHANG) == 0)
			goto out;
		nanosleep(&pause, NULL);
	}

	for (i = 0; i < n; i++)
		if (pids[i] > 0 && !reaped[i])
			(void)kill(pids[i], SIGKILL);
	(void)supervisor_reap_some(pids, statuses, reaped, n, 0);
 out:
	free(reaped);
}
