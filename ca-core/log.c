/*
 * Logging to stderr with a level filter.  Each line reads
 * "PROGRAM[PID]: LEVEL: message".  Nothing here fails: a line that cannot
 * be written is dropped.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "ca";
static enum log_level log_threshold = LOG_LVL_INFO;

static const char *const log_level_names[] = {
	"error", "warning", "info", "debug"
};

void
log_init(const char *progname)
{
	const char *env;

	log_progname = progname;
	env = getenv("CA_LOG_LEVEL");
	if (env == NULL)
		return;
	if (strcasecmp(env, "error") == 0)
		log_threshold = LOG_LVL_ERROR;
	else if (strcasecmp(env, "warn") == 0 || strcasecmp(env, "warning") == 0)
		log_threshold = LOG_LVL_WARN;
	else if (strcasecmp(env, "info") == 0)
		log_threshold = LOG_LVL_INFO;
	else if (strcasecmp(env, "debug") == 0)
		log_threshold = LOG_LVL_DEBUG;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One fprintf per line so that lines from threads do not interleave. */
	fprintf(stderr, "%s[%ld]: %s: %s\n", log_progname, (long)getpid(),
	    log_level_names[level], line);
}

const char *
log_escape(const char *text, size_t len, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (buflen == 0)
		return buf;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		/* Leave room for an escape, "..." and the NUL. */
		if (o + 4 + 4 > buflen) {
			if (buflen >= 4) {
				o = o > buflen - 4 ? buflen - 4 : o;
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	buf[o] = '\0';
	return buf;
}
