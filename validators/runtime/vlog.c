/*
 * Logging for validators: one line per event on stderr, which ca-core or
 * the supervisor (journald under systemd) collects.
 *
 * Interface (runtime.h): vlog_init(), vlog(), vlogv().  Logging never
 * fails the caller: a line that cannot be written is lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime.h"

static const char *vlog_progname = "validator";
static int vlog_threshold = VLOG_INFO;

static const char *const vlog_names[] = { "error", "warn", "info", "debug" };

void
vlog_init(const char *progname)
{
	const char *env;
	size_t i;

	if (progname != NULL)
		vlog_progname = progname;
	if ((env = getenv("CA_LOG_LEVEL")) == NULL)
		return;
	for (i = 0; i < sizeof(vlog_names) / sizeof(vlog_names[0]); i++) {
		if (strcasecmp(env, vlog_names[i]) == 0) {
			vlog_threshold = (int)i;
			return;
		}
	}
	vlog(VLOG_WARN, "ignoring CA_LOG_LEVEL=%.32s: expected error, warn, "
	    "info or debug", env);
}

void
vlogv(int level, const char *fmt, va_list ap)
{
	char line[2048];
	int saved_errno = errno, n, m;

	if (level < VLOG_ERROR)
		level = VLOG_ERROR;
	if (level > VLOG_DEBUG)
		level = VLOG_DEBUG;
	if (level > vlog_threshold)
		goto out;

	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", vlog_progname,
	    (long)getpid(), vlog_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		goto out;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		goto out;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';

	/* One write per line, so that lines of concurrent writers to the
	 * same pipe do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) == -1) {
		/* Nowhere left to report it. */
	}
 out:
	errno = saved_errno;
}

void
vlog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogv(level, fmt, ap);
	va_end(ap);
}
