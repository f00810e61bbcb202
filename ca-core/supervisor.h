/*
 * Process supervision for validators that ca-core starts: spawning a
 * program with one socket at a fixed descriptor, describing how a child
 * ended, restart backoff, and stopping children at shutdown.  The event
 * handling (SIGCHLD, restart timers) lives in dispatch.c.
 */
#ifndef CA_SUPERVISOR_H
#define CA_SUPERVISOR_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

/* Descriptor number of a child's socket to ca-core, and the environment
 * variable that contains that number. */
#define SUPERVISOR_CHILD_FD		3
#define SUPERVISOR_FD_ENV		"CA_VALIDATOR_FD"

/* Restart delays: the first is SUPERVISOR_BACKOFF_MIN_S, each next one
 * doubles up to SUPERVISOR_BACKOFF_MAX_S, and a child that lived at least
 * SUPERVISOR_BACKOFF_RESET_S starts again from the minimum. */
#define SUPERVISOR_BACKOFF_MIN_S	1
#define SUPERVISOR_BACKOFF_MAX_S	60
#define SUPERVISOR_BACKOFF_RESET_S	60

/* Grace period between SIGTERM and SIGKILL at shutdown. */
#define SUPERVISOR_STOP_GRACE_MS	2000

/* Maximum number of arguments after the program name. */
#define SUPERVISOR_MAX_ARGS		32

/* Start program with args (a NULL-terminated list of at most
 * SUPERVISOR_MAX_ARGS arguments after argv[0], or NULL for none; argv[0]
 * is the program path).  The child gets one end of a new socketpair at
 * SUPERVISOR_CHILD_FD, SUPERVISOR_FD_ENV set, and every other descriptor
 * above 2 closed.  Stores ca-core's end (nonblocking, close-on-exec) in
 * *fd and returns the child's pid, or returns -1 with err.  A failed exec
 * shows up as the child exiting with status 127. */
pid_t	 supervisor_spawn(const char *program, char *const *args, int *fd,
	    char *err, size_t errlen);

/* Describe a wait status: "exited with status N" or "killed by signal
 * NAME", naming SIGSYS as a sandbox violation.  Returns buf. */
const char *supervisor_describe_status(int status, char *buf, size_t len);

/* Delay before the next restart, given the current delay (0 for none
 * yet) and how long the last instance lived.  *next receives the delay to
 * use after this one. */
int	 supervisor_backoff(int current_s, time_t lived_s, int *next_s);

/* Stop children: SIGTERM to each pid > 0, up to SUPERVISOR_STOP_GRACE_MS
 * for them to exit, then SIGKILL, and reap every one.  statuses[i]
 * receives the wait status of pids[i] (or -1 when it could not be
 * reaped).  Blocks for at most the grace period plus the SIGKILL reap. */
void	 supervisor_stop(const pid_t *pids, int *statuses, size_t n);

#endif
