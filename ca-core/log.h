/*
 * Logging for ca-core and caadm: one line per event on stderr (journald
 * picks it up under systemd), with a level an operator can filter.
 */
#ifndef CA_LOG_H
#define CA_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set the program name and the lowest level that is printed (default
 * info; the CA_LOG_LEVEL environment variable may override it with
 * error, warn, info or debug). */
void	 log_init(const char *progname);
void	 log_set_level(enum log_level);

void	 log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Copy untrusted text into buf for logging: at most buflen-1 bytes, with
 * control characters, quotes and non-ASCII bytes escaped as \xNN and a
 * trailing "..." when cut.  Returns buf. */
const char	*log_escape(const char *text, size_t len, char *buf,
	    size_t buflen);

#endif
