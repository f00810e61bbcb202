/*
 * The seccomp allow-list of the validators, built with libseccomp for the
 * native architecture only.  System calls from another architecture or
 * ABI, and every call not listed here, kill the process (SIGSYS).
 * Harmless probes that libraries make (opening or stat'ing a file,
 * changing ids, unknown ioctls on a terminal) fail with an errno instead,
 * so a library falls back as it would on a locked-down host.  socket(2)
 * is allowed only for the families the validator declares, and other known
 * families fail with EAFNOSUPPORT.  socketpair(2) fails the same way
 * unless the validator declares a family, because libunbound needs a Unix
 * socket pair.
 *
 * The list covers the serve loop, libevent (epoll), libunbound (worker
 * threads, UDP and TCP sockets, getrandom) and glibc.
 * NOTE: GnuTLS (for tls-alpn-01) has not run under this filter yet; a
 * validator that uses it adds what it needs through extra_syscalls.
 *
 * Debug switch: CA_VALIDATOR_SECCOMP_DEBUG=1 makes the default action
 * SIGSYS with a handler that writes the call's number and name to stderr,
 * then dies by SIGSYS as the normal filter would.
 *
 * Interface (runtime_int.h): sandbox_seccomp_debug(),
 * sandbox_seccomp_load().  Errors: a filter that cannot be built or
 * loaded is logged and returned as -1, which is fatal for the validator.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "runtime_int.h"

#define SECCOMP_DEBUG_ENV	"CA_VALIDATOR_SECCOMP_DEBUG"
/* System call numbers whose names the debug handler can print. */
#define SECCOMP_MAX_NAMED	1024

/* Allowed without argument checks. */
static const int seccomp_allowed[] = {
	/* Memory. */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise),
	/* Descriptors that are already open, and new pipes. */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(lseek),
	SCMP_SYS(pipe), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	/* Event loops: libevent and libunbound. */
	SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6),
	/* Sockets once created; socket(2) itself is filtered below. */
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(accept),
	SCMP_SYS(accept4), SCMP_SYS(shutdown), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg),
	/* Time. */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep),
	/* Signals, including raise(3) and abort(3). */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
	/* Threads; clone(2) is filtered below. */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list),
	SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(set_tid_address), SCMP_SYS(gettid), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(membarrier),
	/* Identity and randomness. */
	SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getrandom),
	SCMP_SYS(uname), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* File system calls that fail with EACCES: glibc and libraries probe
 * files (/etc/gai.conf, /sys/devices/system/cpu/online) and fall back. */
static const int seccomp_fs_probes[] = {
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2),
	SCMP_SYS(creat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx),
	SCMP_SYS(statfs), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(chdir), SCMP_SYS(getcwd),
	SCMP_SYS(chmod), SCMP_SYS(fchmodat), SCMP_SYS(chown),
	SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(link),
	SCMP_SYS(linkat), SCMP_SYS(symlink), SCMP_SYS(symlinkat),
	SCMP_SYS(truncate), SCMP_SYS(mknod), SCMP_SYS(mknodat),
	SCMP_SYS(utimensat), SCMP_SYS(inotify_init1),
};

/* Id and process attribute changes fail with EPERM, as they would for an
 * unprivileged user. */
static const int seccomp_id_probes[] = {
	SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	SCMP_SYS(setgroups), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
	SCMP_SYS(capset), SCMP_SYS(prctl),
};

static char *seccomp_names[SECCOMP_MAX_NAMED];
static char seccomp_progname[64] = "validator";

int
sandbox_seccomp_debug(void)
{
	const char *env = getenv(SECCOMP_DEBUG_ENV);

	return env != NULL && strcmp(env, "1") == 0;
}

/* Append s to buf at *pos without overflowing; for the signal handler,
 * which cannot use stdio. */
static void
seccomp_append(char *buf, size_t buflen, size_t *pos, const char *s)
{
	while (*s != '\0' && *pos + 1 < buflen)
		buf[(*pos)++] = *s++;
	buf[*pos] = '\0';
}

static void
seccomp_sigsys(int sig, siginfo_t *info, void *context)
{
	char buf[256], num[16];
	size_t pos = 0, n;
	int nr = info->si_syscall;
	unsigned int v;

	(void)context;
	n = sizeof(num) - 1;
	num[n] = '\0';
	v = nr < 0 ? 0 : (unsigned int)nr;
	do {
		num[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n > 0);

	seccomp_append(buf, sizeof(buf), &pos, seccomp_progname);
	seccomp_append(buf, sizeof(buf), &pos, ": sandbox: system call ");
	seccomp_append(buf, sizeof(buf), &pos, num + n);
	seccomp_append(buf, sizeof(buf), &pos, " (");
	seccomp_append(buf, sizeof(buf), &pos, nr >= 0 &&
	    nr < SECCOMP_MAX_NAMED && seccomp_names[nr] != NULL ?
	    seccomp_names[nr] : "unknown");
	seccomp_append(buf, sizeof(buf), &pos, ") is not allowed by the "
	    "seccomp filter\n");
	if (write(STDERR_FILENO, buf, pos) < 0) {
		/* Nothing else can report it; the exit below still does. */
	}

	/* Die by SIGSYS, as the filter without the debug switch does. */
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(1);
}

/* Debug mode: name every system call number up front, because the
 * handler cannot allocate. */
static int
seccomp_debug_setup(void)
{
	struct sigaction sa;
	int nr;

	for (nr = 0; nr < SECCOMP_MAX_NAMED; nr++) {
		if (seccomp_names[nr] == NULL)
			seccomp_names[nr] = seccomp_syscall_resolve_num_arch(
			    SCMP_ARCH_NATIVE, nr);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seccomp_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		vlog(VLOG_ERROR, "sandbox: cannot install the SIGSYS handler: "
		    "%s", strerror(errno));
		return -1;
	}
	vlog(VLOG_WARN, "sandbox: seccomp debug mode (%s=1): a forbidden "
	    "system call is named on stderr", SECCOMP_DEBUG_ENV);
	return 0;
}

static int
seccomp_add_list(scmp_filter_ctx ctx, uint32_t action, const int *list,
    size_t n, const char *what)
{
	size_t i;
	char *name;
	int r;

	for (i = 0; i < n; i++) {
		if ((r = seccomp_rule_add(ctx, action, list[i], 0)) == 0)
			continue;
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
		    list[i]);
		vlog(VLOG_ERROR, "sandbox: cannot add %s rule for %s: %s",
		    what, name != NULL ? name : "an unknown call",
		    strerror(-r));
		free(name);
		return -1;
	}
	return 0;
}

/* socket(2): allow the declared families, EAFNOSUPPORT for the other
 * families below AF_MAX, kill for values outside. */
static int
seccomp_add_socket(scmp_filter_ctx ctx, const struct validator *validator)
{
	size_t i;
	int family, declared, r;

	for (family = 0; family < AF_MAX; family++) {
		declared = 0;
		for (i = 0; i < validator->nsocket_families; i++) {
			if (validator->socket_families[i] == family)
				declared = 1;
		}
		r = seccomp_rule_add(ctx, declared ? SCMP_ACT_ALLOW :
		    SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)family));
		if (r != 0) {
			vlog(VLOG_ERROR, "sandbox: cannot add the socket rule "
			    "for family %d: %s", family, strerror(-r));
			return -1;
		}
	}

	/* libunbound's ub_ctx_create() makes a socketpair(AF_UNIX) for its
	 * worker thread, so a validator with network work may create one:
	 * an unnamed pair reaches nothing outside the process.  A
	 * network-free validator gets none. */
	if (validator->nsocket_families > 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	else
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT),
		    SCMP_SYS(socketpair), 0);
	if (r != 0) {
		vlog(VLOG_ERROR, "sandbox: cannot add the socketpair rule: %s",
		    strerror(-r));
		return -1;
	}
	return 0;
}

/* Rules with argument checks: threads only from clone(2), fstat only on
 * descriptors, the ioctls that libevent and stdio use. */
static int
seccomp_add_filtered(scmp_filter_ctx ctx)
{
	int r;

	/* glibc's pthread_create tries clone3 first, whose arguments are in
	 * memory that seccomp cannot inspect.  ENOSYS makes glibc fall back
	 * to clone(2), where the flags allow a thread and no fork. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0)
		goto fail;

	/* fstat(2) is newfstatat(fd, "", buf, AT_EMPTY_PATH) in glibc; a
	 * lookup by path fails as the other file probes do. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(newfstatat), 1, SCMP_A3(SCMP_CMP_MASKED_EQ,
	    AT_EMPTY_PATH, 0))) != 0)
		goto fail;

	/* libevent reads FIONREAD before a read and sets FIONBIO.  stdio
	 * sends TCGETS to test whether a stream is a terminal. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONBIO))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl),
	    1, SCMP_A1(SCMP_CMP_EQ, TCGETS))) != 0)
		goto fail;
	return 0;
 fail:
	vlog(VLOG_ERROR, "sandbox: cannot add a filtered seccomp rule: %s",
	    strerror(-r));
	return -1;
}

int
sandbox_seccomp_load(const struct validator *validator, int debug)
{
	scmp_filter_ctx ctx = NULL;
	uint32_t deny = debug ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
	int r, ret = -1;

	snprintf(seccomp_progname, sizeof(seccomp_progname), "%s",
	    validator->name);
	if (debug && seccomp_debug_setup() == -1)
		goto out;

	/* The context covers the native architecture only; a call made
	 * through another ABI (i386 int 0x80, x32) takes the bad-arch
	 * action. */
	if ((ctx = seccomp_init(deny)) == NULL) {
		vlog(VLOG_ERROR, "sandbox: seccomp_init failed");
		goto out;
	}
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		vlog(VLOG_ERROR, "sandbox: cannot set seccomp attributes: %s",
		    strerror(-r));
		goto out;
	}
	if (seccomp_arch_exist(ctx, seccomp_arch_native()) != 0) {
		vlog(VLOG_ERROR, "sandbox: the seccomp filter does not cover "
		    "the native architecture");
		goto out;
	}

	if (seccomp_add_list(ctx, SCMP_ACT_ALLOW, seccomp_allowed,
	    sizeof(seccomp_allowed) / sizeof(seccomp_allowed[0]),
	    "an allow") == -1 ||
	    seccomp_add_list(ctx, SCMP_ACT_ERRNO(EACCES), seccomp_fs_probes,
	    sizeof(seccomp_fs_probes) / sizeof(seccomp_fs_probes[0]),
	    "a file probe") == -1 ||
	    seccomp_add_list(ctx, SCMP_ACT_ERRNO(EPERM), seccomp_id_probes,
	    sizeof(seccomp_id_probes) / sizeof(seccomp_id_probes[0]),
	    "a privilege probe") == -1 ||
	    seccomp_add_list(ctx, SCMP_ACT_ALLOW, validator->extra_syscalls,
	    validator->nextra_syscalls, "an extra") == -1 ||
	    seccomp_add_socket(ctx, validator) == -1 ||
	    seccomp_add_filtered(ctx) == -1)
		goto out;

	if ((r = seccomp_load(ctx)) != 0) {
		vlog(VLOG_ERROR, "sandbox: seccomp_load failed: %s",
		    strerror(-r));
		goto out;
	}
	vlog(VLOG_DEBUG, "sandbox: seccomp filter loaded, default action %s",
	    debug ? "trap" : "kill process");
	ret = 0;
 out:
	seccomp_release(ctx);
	return ret;
}
