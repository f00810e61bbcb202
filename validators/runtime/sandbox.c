/*
 * The validator sandbox.  runtime_main() acquires everything first (the
 * serving socket, the system resolver's libunbound context, the event
 * base), then calls runtime_sandbox(), which restricts the process in this
 * fixed order before the first request is read:
 *
 *   1. rlimits: no core files, descriptors, threads and address space
 *      bounded (the numbers are explained at sandbox_rlimits()).
 *   2. PR_SET_NO_NEW_PRIVS, so no later execve can gain privileges and
 *      the unprivileged Landlock and seccomp calls are allowed.
 *   3. As root: chroot into the empty directory SANDBOX_EMPTY_DIR, switch
 *      to the user SANDBOX_USER with setgroups/setresgid/setresuid, and
 *      check that setuid(0) and setgid(0) now fail.
 *   4. Landlock: a ruleset that handles every file system right the
 *      kernel knows and grants none, so no file can be opened, created
 *      or executed.
 *   5. The seccomp allow-list (sandbox_seccomp.c).
 *
 * Interface (runtime.h): runtime_prepare(), runtime_sandbox().
 *
 * Errors: every failing step is logged with its errno and makes
 * runtime_sandbox() return -1, which is fatal for the validator.  The only
 * warnings are a kernel without Landlock when not started as root
 * (seccomp still denies opening files, but reading through an inherited
 * descriptor is then the only other barrier) and, in ASan builds, the
 * skipped address space limit.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "resolve.h"
#include "runtime_int.h"

#define SANDBOX_USER		"acmeca-validator"
#define SANDBOX_EMPTY_DIR	"/var/empty/acmeca"

/*
 * Address space limit.  A validator maps its libraries (about 40 MiB),
 * one 8 MiB stack per libunbound worker thread (at most
 * RESOLVE_MAX_CONTEXTS + 1 threads), libunbound's message and RRset caches
 * (4 MiB each per context by default), and up to FRAME_MAX_BODY per
 * buffered frame.  glibc reserves 64 MiB of address space per malloc
 * arena and falls back to an existing arena when that reservation fails,
 * so the limit bounds memory without breaking threads.  1 GiB leaves
 * room for all of that.
 */
#define SANDBOX_RLIMIT_AS	(1024UL * 1024 * 1024)

/*
 * Threads of the validator user.  The count is per real user, and every
 * validator of every ca-core on the host shares SANDBOX_USER.  One
 * process has at most RESOLVE_MAX_CONTEXTS + 1 threads, so 1024 serves
 * about 60 validator processes.  The seccomp filter, not this limit, is
 * what forbids fork(2): clone without CLONE_THREAD kills the process.
 */
#define SANDBOX_RLIMIT_NPROC	1024

/*
 * Descriptors: each validation in flight holds one TCP connection and up
 * to two UDP sockets of libunbound (the A and AAAA queries), plus a
 * margin for the serving socket, epoll, libunbound's pipes and stdio.
 */
#define SANDBOX_RLIMIT_NOFILE	(3 * RT_MAX_INFLIGHT + 64)

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN		1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN		1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN		0
#endif

/* Landlock file system rights by ABI version; the constants of newer
 * kernels are spelled out because Debian 12's headers stop at ABI 2. */
#define SANDBOX_LL_FS_V1	((1ULL << 13) - 1)	/* EXECUTE..MAKE_SYM */
#define SANDBOX_LL_FS_REFER	(1ULL << 13)		/* ABI 2 */
#define SANDBOX_LL_FS_TRUNCATE	(1ULL << 14)		/* ABI 3 */
#define SANDBOX_LL_FS_IOCTL_DEV	(1ULL << 15)		/* ABI 5 */

static int sandbox_entered;

#if SANDBOX_ASAN
/*
 * LeakSanitizer stops the threads with ptrace(2) and reads
 * /proc/self/maps at exit, which the sandbox forbids, so a sandboxed
 * process would die by SIGSYS on every exit.  LSan asks this hook before
 * it checks; leak checks stay on for processes that never entered the
 * sandbox (the unit tests).
 */
int	__lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return sandbox_entered;
}
#endif

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

static int
sandbox_close_fds(int keep_fd)
{
	if (keep_fd <= STDERR_FILENO)
		return sandbox_close_range(STDERR_FILENO + 1, ~0U);
	if (sandbox_close_range(STDERR_FILENO + 1,
	    (unsigned int)keep_fd - 1) == -1)
		return -1;
	return sandbox_close_range((unsigned int)keep_fd + 1, ~0U);
}

int
runtime_prepare(const struct validator *validator, int keep_fd)
{
	char err[256];

	if (sandbox_close_fds(keep_fd) == -1)
		return -1;
	vlog(VLOG_DEBUG, "sandbox: descriptors above 2 closed except %d",
	    keep_fd);

	/* No file can be opened once the sandbox is entered, so the system
	 * resolver's configuration is read now. */
	if (validator->nsocket_families > 0 &&
	    resolve_init(err, sizeof(err)) == -1)
		vlog(VLOG_WARN, "system resolver unavailable, lookups without "
		    "a resolver option will fail: %s", err);
	return 0;
}

/* Lower one limit to value, or to the hard limit when that is lower. */
static int
sandbox_setrlimit(int resource, const char *name, rlim_t value)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == -1) {
		vlog(VLOG_ERROR, "sandbox: getrlimit(%s) failed: %s", name,
		    strerror(errno));
		return -1;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < value)
		value = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) == -1) {
		vlog(VLOG_ERROR, "sandbox: setrlimit(%s, %llu) failed: %s",
		    name, (unsigned long long)value, strerror(errno));
		return -1;
	}
	vlog(VLOG_DEBUG, "sandbox: %s limited to %llu", name,
	    (unsigned long long)value);
	return 0;
}

static int
sandbox_rlimits(int drop_user)
{
	if (sandbox_setrlimit(RLIMIT_CORE, "RLIMIT_CORE", 0) == -1 ||
	    sandbox_setrlimit(RLIMIT_NOFILE, "RLIMIT_NOFILE",
	    SANDBOX_RLIMIT_NOFILE) == -1)
		return -1;

	/* NOTE: without the user switch the count of RLIMIT_NPROC covers
	 * every process of the invoking user, so a fixed limit could stop
	 * libunbound's threads.  The limit then stays as inherited, and only
	 * seccomp forbids fork. */
	if (drop_user && sandbox_setrlimit(RLIMIT_NPROC, "RLIMIT_NPROC",
	    SANDBOX_RLIMIT_NPROC) == -1)
		return -1;

	/* ASan reserves terabytes of shadow memory at start, so any address
	 * space limit would make every later mmap fail. */
	if (SANDBOX_ASAN) {
		vlog(VLOG_WARN, "sandbox: ASan build, RLIMIT_AS not set "
		    "and leak checks off");
		return 0;
	}
	return sandbox_setrlimit(RLIMIT_AS, "RLIMIT_AS", SANDBOX_RLIMIT_AS);
}

/* Create SANDBOX_EMPTY_DIR when missing, and check that it is an empty
 * directory owned by root that nobody else can write to. */
static int
sandbox_check_empty_dir(void)
{
	struct stat st;
	struct dirent *de;
	DIR *dir;
	int ret = -1;

	if (mkdir("/var/empty", 0755) == -1 && errno != EEXIST) {
		vlog(VLOG_ERROR, "sandbox: cannot create /var/empty: %s",
		    strerror(errno));
		return -1;
	}
	if (mkdir(SANDBOX_EMPTY_DIR, 0755) == -1 && errno != EEXIST) {
		vlog(VLOG_ERROR, "sandbox: cannot create %s: %s",
		    SANDBOX_EMPTY_DIR, strerror(errno));
		return -1;
	}
	if (lstat(SANDBOX_EMPTY_DIR, &st) == -1) {
		vlog(VLOG_ERROR, "sandbox: cannot stat %s: %s",
		    SANDBOX_EMPTY_DIR, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		vlog(VLOG_ERROR, "sandbox: %s must be a directory owned by "
		    "root and writable by root only (mode 0755)",
		    SANDBOX_EMPTY_DIR);
		return -1;
	}

	if ((dir = opendir(SANDBOX_EMPTY_DIR)) == NULL) {
		vlog(VLOG_ERROR, "sandbox: cannot open %s: %s",
		    SANDBOX_EMPTY_DIR, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			vlog(VLOG_ERROR, "sandbox: %s must be empty but "
			    "contains \"%.64s\"", SANDBOX_EMPTY_DIR,
			    de->d_name);
			goto out;
		}
	}
	ret = 0;
 out:
	closedir(dir);
	return ret;
}

/* Look up the validator user; the lookup reads /etc/passwd, so it runs
 * before the chroot. */
static int
sandbox_lookup_user(uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	*uid = 0;
	*gid = 0;
	errno = 0;
	if ((pw = getpwnam(SANDBOX_USER)) == NULL) {
		vlog(VLOG_ERROR, "sandbox: started as root, but the user %s "
		    "does not exist%s%s; ca-core creates it when run as root, "
		    "or create it with: useradd --system --no-create-home "
		    "--shell /usr/sbin/nologin --user-group %s", SANDBOX_USER,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "",
		    SANDBOX_USER);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		vlog(VLOG_ERROR, "sandbox: the user %s has uid %lu and gid "
		    "%lu; it needs a non-zero uid and gid", SANDBOX_USER,
		    (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int
sandbox_chroot(void)
{
	if (chroot(SANDBOX_EMPTY_DIR) == -1 || chdir("/") == -1) {
		vlog(VLOG_ERROR, "sandbox: chroot to %s failed: %s",
		    SANDBOX_EMPTY_DIR, strerror(errno));
		return -1;
	}
	vlog(VLOG_DEBUG, "sandbox: root directory is now %s",
	    SANDBOX_EMPTY_DIR);
	return 0;
}

/* Switch every user and group id to the validator user and check that
 * root cannot be regained. */
static int
sandbox_drop_user(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1) {
		vlog(VLOG_ERROR, "sandbox: cannot switch to group %lu: %s",
		    (unsigned long)gid, strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		vlog(VLOG_ERROR, "sandbox: cannot switch to user %s (uid "
		    "%lu): %s", SANDBOX_USER, (unsigned long)uid,
		    strerror(errno));
		return -1;
	}

	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid) {
		vlog(VLOG_ERROR, "sandbox: user or group ids did not change "
		    "to %lu:%lu", (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	if (setuid(0) != -1 || setgid(0) != -1) {
		vlog(VLOG_ERROR, "sandbox: root privileges could be regained "
		    "after switching to %s", SANDBOX_USER);
		return -1;
	}
	vlog(VLOG_DEBUG, "sandbox: running as %s (uid %lu, gid %lu), root "
	    "cannot be regained", SANDBOX_USER, (unsigned long)uid,
	    (unsigned long)gid);
	return 0;
}

/* Apply a Landlock ruleset that grants no file system access.  Returns 1
 * when it applies, 0 when the kernel has no Landlock, -1 on failure. */
static int
sandbox_landlock(int *abi_out)
{
	struct landlock_ruleset_attr attr;
	int abi, fd;

	*abi_out = 0;
	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		vlog(VLOG_ERROR, "sandbox: Landlock version probe failed: %s",
		    strerror(errno));
		return -1;
	}

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = SANDBOX_LL_FS_V1;
	if (abi >= 2)
		attr.handled_access_fs |= SANDBOX_LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= SANDBOX_LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= SANDBOX_LL_FS_IOCTL_DEV;

	/* NOTE: ABI 4 can also restrict TCP bind and connect, and ABI 6
	 * abstract Unix sockets and signals; the ruleset leaves those to
	 * the seccomp filter. */
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr), 0)) == -1) {
		vlog(VLOG_ERROR, "sandbox: landlock_create_ruleset failed: %s",
		    strerror(errno));
		return -1;
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		vlog(VLOG_ERROR, "sandbox: landlock_restrict_self failed: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*abi_out = abi;
	vlog(VLOG_DEBUG, "sandbox: Landlock ABI %d ruleset applied, no file "
	    "access allowed", abi);
	return 1;
}

int
runtime_sandbox(const struct validator *validator)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int as_root = geteuid() == 0, landlock, abi, debug;
	char where[96];

	/* Step 0, still privileged: everything that reads files. */
	if (as_root && (sandbox_lookup_user(&uid, &gid) == -1 ||
	    sandbox_check_empty_dir() == -1))
		return -1;

	/* Step 1: rlimits. */
	if (sandbox_rlimits(as_root) == -1)
		return -1;

	/* Step 2: no_new_privs, required by Landlock and seccomp for an
	 * unprivileged process. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		vlog(VLOG_ERROR, "sandbox: PR_SET_NO_NEW_PRIVS failed: %s",
		    strerror(errno));
		return -1;
	}
	vlog(VLOG_DEBUG, "sandbox: no_new_privs set");

	/* Step 3: as root, an empty root directory and the validator
	 * user. */
	if (as_root && (sandbox_chroot() == -1 ||
	    sandbox_drop_user(uid, gid) == -1))
		return -1;

	/* Step 4: Landlock. */
	if ((landlock = sandbox_landlock(&abi)) == -1)
		return -1;
	if (landlock == 0 && !as_root)
		vlog(VLOG_WARN, "sandbox: the kernel has no Landlock, so only "
		    "the seccomp filter keeps this validator from opening "
		    "files");

	/* Step 5: seccomp, last, because the steps above need system calls
	 * that the filter forbids. */
	debug = sandbox_seccomp_debug();
	if (sandbox_seccomp_load(validator, debug) == -1)
		return -1;
	sandbox_entered = 1;

	if (as_root)
		snprintf(where, sizeof(where), "root dir %s%s",
		    SANDBOX_EMPTY_DIR, landlock ? ", landlock" : "");
	else if (landlock)
		snprintf(where, sizeof(where), "landlock ABI %d", abi);
	else
		snprintf(where, sizeof(where), "no landlock");
	vlog(VLOG_INFO, "sandbox entered (user %s uid %lu, %s, seccomp "
	    "on%s, %zu socket families)", as_root ? SANDBOX_USER :
	    "unchanged", (unsigned long)getuid(), where,
	    debug ? " in debug mode" : "", validator->nsocket_families);
	return 0;
}
