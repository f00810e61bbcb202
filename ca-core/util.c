/*
 * Helpers shared by ca-core and caadm: random ids, whole-file reads and
 * atomic writes, directory creation, system user creation, secret
 * wiping.  Every function
 * reports failure to its caller; none logs or exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "b64url.h"
#include "util.h"

char *
util_random_id(void)
{
	uint8_t raw[16];

	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) != 0)
		return NULL;
	return b64url_encode(raw, sizeof(raw));
}

int
util_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	ssize_t n;
	int fd, ret = -1, saved;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (have < (size_t)st.st_size) {
		n = read(fd, buf + have, (size_t)st.st_size - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
	ret = 0;
 out:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return ret;
}

int
util_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX];
	const char *p = data;
	ssize_t n;
	int fd = -1, ret = -1, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    (mode_t)mode);
	if (fd == -1)
		return -1;
	if (fchmod(fd, (mode_t)mode) == -1)
		goto out;
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	ret = 0;
 out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (ret != 0)
		unlink(tmp);
	errno = saved;
	return ret;
}

int
util_mkdirs(const char *path, int mode)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

char *
util_exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	*slash = '\0';
	return strdup(buf[0] == '\0' ? "/" : buf);
}

void
util_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_wipe(void *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
}

int
util_ensure_system_user(const char *name, int *created, char *err,
    size_t errlen)
{
	const char *const argv[] = {
		"/usr/sbin/useradd", "--system", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
		"--user-group", name, NULL
	};
	pid_t pid;
	int status = 0;

	*created = 0;
	if (geteuid() != 0 || getpwnam(name) != NULL)
		return 0;

	/* useradd's own messages go to our stderr, which the log collects. */
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "cannot fork to run useradd %s: %s",
		    name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for useradd %s: %s",
			    name, strerror(errno));
			return -1;
		}
	}

	/* Another process may have created the user at the same time, so
	 * the lookup decides, not the exit status. */
	if (getpwnam(name) != NULL) {
		*created = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		return 0;
	}
	snprintf(err, errlen, "system user %s does not exist and useradd %s "
	    "(status %d); create it with: useradd --system --no-create-home "
	    "--shell /usr/sbin/nologin --user-group %s", name,
	    WIFEXITED(status) ? "failed" : "was killed",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), name);
	return -1;
}
