/*
 * Small helpers shared by ca-core and caadm.
 */
#ifndef CA_UTIL_H
#define CA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Random identifier for ACME objects: 16 random bytes, base64url (22
 * characters).  Returns a malloc'd string or NULL. */
char	*util_random_id(void);

/* Read a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer.  Returns 0, or -1 with errno set (EFBIG when too large). */
int	 util_read_file(const char *path, size_t max, char **out, size_t *len);

/* Write data to path atomically (temporary file, fsync, rename) with the
 * given mode.  Returns 0 or -1 with errno set. */
int	 util_write_file(const char *path, const void *data, size_t len,
	    int mode);

/* mkdir -p with the given mode for directories it creates. */
int	 util_mkdirs(const char *path, int mode);

/* Directory of the running executable (from /proc/self/exe), malloc'd. */
char	*util_exe_dir(void);

/*
 * Make sure the system user name exists: when the process runs as root
 * and getpwnam() finds no such user, run useradd --system with a group of
 * the same name, no home and no login shell.  Sets *created to 1 when
 * this call created the user.  Returns 0 when the user exists afterwards
 * (or the process is not root, which needs no user), or -1 with a reason
 * in err.
 */
int	 util_ensure_system_user(const char *name, int *created, char *err,
	    size_t errlen);

/* Format a message into err (errlen bytes, always NUL-terminated).  Does
 * nothing when err is NULL or errlen is 0. */
void	 util_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Milliseconds of CLOCK_MONOTONIC, for timeouts. */
int64_t	 util_now_ms(void);

/* Explicitly zero memory that held a secret. */
void	 util_wipe(void *p, size_t len);

#endif
