/*
 * The sandbox hook: runtime_main() calls runtime_sandbox() once, after the
 * serving socket exists and before the first request is read, so that
 * resources are acquired first and the process is restricted after.
 *
 * Interface (runtime.h): runtime_sandbox().  A failing step is logged and
 * returned as -1, which runtime_main() treats as fatal: a validator that
 * cannot restrict itself does not serve.
 *
 * Steps now: PR_SET_NO_NEW_PRIVS, then close every descriptor except 0, 1,
 * 2 and the serving socket, so nothing inherited from the parent leaks
 * into the validator.
 * TODO: the later sandbox adds, in this order, rlimits, setres[ug]id to an
 * unprivileged user with a check that root cannot be regained, an empty
 * root or Landlock, and the libseccomp allow-list.  Anything a validator
 * reads from the file system (/etc/resolv.conf for the system resolver)
 * must then be read before this call.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

/* Close the descriptors in [first, last]; close_range(2) when the kernel
 * has it (Linux 5.9), a loop up to the descriptor limit otherwise. */
static int
sandbox_close_range(unsigned int first, unsigned int last)
{
	long max;
	unsigned int fd;

	if (first > last)
		return 0;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS) {
		vlog(VLOG_ERROR, "sandbox: close_range(%u, %u) failed: %s",
		    first, last, strerror(errno));
		return -1;
	}
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > INT_MAX)
		max = 65536;
	if ((unsigned long)max <= last)
		last = (unsigned int)max - 1;
	for (fd = first; fd <= last && fd >= first; fd++)
		(void)close((int)fd);
	return 0;
}

int
runtime_sandbox(int keep_fd)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		vlog(VLOG_ERROR, "sandbox: PR_SET_NO_NEW_PRIVS failed: %s",
		    strerror(errno));
		return -1;
	}

	if (keep_fd <= STDERR_FILENO)
		return sandbox_close_range(STDERR_FILENO + 1, ~0U);
	if (sandbox_close_range(STDERR_FILENO + 1,
	    (unsigned int)keep_fd - 1) == -1)
		return -1;
	if (sandbox_close_range((unsigned int)keep_fd + 1, ~0U) == -1)
		return -1;
	vlog(VLOG_DEBUG, "sandbox: no_new_privs set, descriptors above 2 "
	    "closed except %d", keep_fd);
	return 0;
}
