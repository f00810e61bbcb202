/*
 * The embedded PostgreSQL cluster under CA_HOME/db.
 *
 * Interface (pgembed.h): pgembed_check_home() checks a home folder
 * before anything is created, pgembed_create() runs initdb once,
 * pgembed_start() starts the server when it is not running and creates
 * the database, pgembed_stop() stops it, pgembed_conninfo() returns the
 * libpq connection string.
 *
 * Layout: db/data (the cluster), db/run (the Unix socket), and
 * db/postgresql.log (the server's log).  The server listens on no TCP
 * address.  PostgreSQL refuses to run as root, so when the caller is root
 * the cluster belongs to the system user PGEMBED_USER, which is created
 * on first use.  initdb and pg_ctl then run as that user in a child
 * process.  Every failure is returned as -1 with a message that names
 * the path or program and the fix.  The only log lines are info lines
 * about changes made to the system (a new user, a new ACL).
 *
 * NOTE: the children are reaped with waitpid() on their own pid.  A
 * process that reaps every child from a SIGCHLD handler must call these
 * functions before it installs that handler.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"
#include "pgembed.h"
#include "util.h"

#define PGEMBED_PORT		5432
#define PGEMBED_SOCKET_NAME	"/.s.PGSQL.5432"
#define PGEMBED_START_TIMEOUT	"60"
#define PGEMBED_OUTPUT_MAX	1024

struct pgembed_paths {
	char	db[PATH_MAX];		/* home/db */
	char	data[PATH_MAX];		/* home/db/data */
	char	run[PATH_MAX];		/* home/db/run, the socket folder */
	char	log[PATH_MAX];		/* home/db/postgresql.log */
	char	bindir[PATH_MAX];	/* newest /usr/lib/postgresql/N/bin */
};

/* The user that runs initdb and pg_ctl.  drop is 0 when the caller runs
 * them as itself. */
struct pgembed_owner {
	int	drop;
	uid_t	uid;
	gid_t	gid;
};

static int
pgembed_join(char *out, size_t outlen, const char *a, const char *b)
{
	return (size_t)snprintf(out, outlen, "%s%s", a, b) >= outlen ? -1 : 0;
}

/* Pick the newest installed major version under /usr/lib/postgresql. */
static int
pgembed_find_bindir(char *out, size_t outlen, char *err, size_t errlen)
{
	glob_t g;
	const char *best = NULL;
	long v, bestv = -1;
	size_t i, n;

	if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) != 0) {
		util_seterr(err, errlen, "no PostgreSQL server programs in "
		    "/usr/lib/postgresql/*/bin; install them (apt-get install "
		    "postgresql) or pass --database-url to use another server");
		return -1;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"),
		    NULL, 10);
		if (v > bestv && access(g.gl_pathv[i], X_OK) == 0) {
			bestv = v;
			best = g.gl_pathv[i];
		}
	}
	if (best == NULL) {
		globfree(&g);
		util_seterr(err, errlen, "no executable pg_ctl in "
		    "/usr/lib/postgresql/*/bin; reinstall postgresql");
		return -1;
	}
	n = strlen(best) - strlen("/pg_ctl");
	if (n >= outlen) {
		globfree(&g);
		util_seterr(err, errlen, "PostgreSQL path too long");
		return -1;
	}
	memcpy(out, best, n);
	out[n] = '\0';
	globfree(&g);
	return 0;
}

static int
pgembed_paths(const char *home, struct pgembed_paths *p, int need_bindir,
    char *err, size_t errlen)
{
	size_t i, socklen;

	memset(p, 0, sizeof(*p));
	if (home[0] != '/') {
		util_seterr(err, errlen, "CA home \"%s\" is not an absolute "
		    "path", home);
		return -1;
	}
	/* The path goes into postgresql.conf and a conninfo string, so
	 * control characters are rejected rather than escaped. */
	for (i = 0; home[i] != '\0'; i++) {
		if ((unsigned char)home[i] < 0x20 || home[i] == 0x7f) {
			util_seterr(err, errlen, "CA home path contains a "
			    "control character; choose another folder");
			return -1;
		}
	}
	if (pgembed_join(p->db, sizeof(p->db), home, "/db") == -1 ||
	    pgembed_join(p->data, sizeof(p->data), p->db, "/data") == -1 ||
	    pgembed_join(p->run, sizeof(p->run), p->db, "/run") == -1 ||
	    pgembed_join(p->log, sizeof(p->log), p->db,
	    "/postgresql.log") == -1) {
		util_seterr(err, errlen, "CA home path \"%s\" is too long",
		    home);
		return -1;
	}

	/* The socket path must fit in sun_path, NUL included. */
	socklen = strlen(p->run) + strlen(PGEMBED_SOCKET_NAME);
	if (socklen + 1 > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		util_seterr(err, errlen, "the database socket path %s%s is "
		    "%zu bytes long, but a Unix socket path has at most %zu; "
		    "choose a CA home with a shorter path (at most %zu bytes)",
		    p->run, PGEMBED_SOCKET_NAME, socklen,
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1 -
		    strlen("/db/run" PGEMBED_SOCKET_NAME));
		return -1;
	}
	if (need_bindir)
		return pgembed_find_bindir(p->bindir, sizeof(p->bindir), err,
		    errlen);
	return 0;
}

/*
 * Run argv[0] with a fixed environment, as owner when owner->drop is set,
 * with stdin from /dev/null and stdout and stderr captured: the last
 * bytes land in out.  Returns the exit status, or -1 when the program
 * could not run or died by a signal (err names the cause).
 */
static int
pgembed_run(const struct pgembed_owner *owner, const char *const argv[],
    char *out, size_t outlen, char *err, size_t errlen)
{
	static const char *const envp[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C", NULL
	};
	char buf[512];
	size_t have = 0, chunk;
	ssize_t n;
	pid_t pid;
	int fds[2], status, devnull;

	out[0] = '\0';
	chunk = outlen - 1 < sizeof(buf) ? outlen - 1 : sizeof(buf);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		util_seterr(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		util_seterr(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to execve. */
		devnull = open("/dev/null", O_RDONLY);
		if (devnull == -1 || dup2(devnull, 0) == -1 ||
		    dup2(fds[1], 1) == -1 || dup2(fds[1], 2) == -1)
			_exit(126);
		/* The server started by pg_ctl must inherit none of the
		 * caller's descriptors (listening sockets, key files). */
		close_range(3, ~0U, 0);
		if (owner->drop && (setgroups(1, &owner->gid) == -1 ||
		    setgid(owner->gid) == -1 || setuid(owner->uid) == -1 ||
		    setuid(0) != -1))
			_exit(126);
		if (chdir("/") == -1)
			_exit(126);
		/* execve() takes non-const arrays but does not change them. */
		execve(argv[0], (char *const *)(uintptr_t)argv,
		    (char *const *)(uintptr_t)envp);
		_exit(127);
	}

	close(fds[1]);
	for (;;) {
		n = read(fds[0], buf, chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep the tail, where the errors are.  n < outlen, so the
		 * bytes to drop are all in out. */
		if (have + (size_t)n > outlen - 1) {
			size_t drop = have + (size_t)n - (outlen - 1);

			memmove(out, out + drop, have - drop);
			have -= drop;
		}
		memcpy(out + have, buf, (size_t)n);
		have += (size_t)n;
	}
	out[have] = '\0';
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == ' '))
		out[--have] = '\0';
	close(fds[0]);

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			util_seterr(err, errlen, "waitpid %s: %s", argv[0],
			    strerror(errno));
			return -1;
		}
	}
	if (WIFSIGNALED(status)) {
		util_seterr(err, errlen, "%s died by signal %d", argv[0],
		    WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127) {
		util_seterr(err, errlen, "cannot run %s%s (as uid %ld)",
		    argv[0], WEXITSTATUS(status) == 127 ? ": exec failed" :
		    ": switching user failed", (long)(owner->drop ?
		    owner->uid : geteuid()));
		return -1;
	}
	return WEXITSTATUS(status);
}

/* As root, find or create PGEMBED_USER; otherwise the caller owns the
 * cluster. */
static int
pgembed_get_owner(struct pgembed_owner *owner, int create, char *err,
    size_t errlen)
{
	static const struct pgembed_owner self = { 0, 0, 0 };
	const char *const useradd[] = {
		"/usr/sbin/useradd", "--system", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
		"--user-group", PGEMBED_USER, NULL
	};
	char output[PGEMBED_OUTPUT_MAX];
	struct passwd *pw;
	int status;

	memset(owner, 0, sizeof(*owner));
	if (geteuid() != 0) {
		owner->uid = geteuid();
		owner->gid = getegid();
		return 0;
	}
	if ((pw = getpwnam(PGEMBED_USER)) == NULL && create) {
		status = pgembed_run(&self, useradd, output, sizeof(output),
		    err, errlen);
		if (status > 0)
			log_warn("useradd %s exited with %d: %s", PGEMBED_USER,
			    status, output);
		else if (status == 0)
			log_info("created system user %s to own the embedded "
			    "PostgreSQL cluster", PGEMBED_USER);
		/* Another process may have created it at the same time. */
		pw = getpwnam(PGEMBED_USER);
	}
	if (pw == NULL) {
		util_seterr(err, errlen, "system user %s does not exist and "
		    "could not be created; create it with: useradd --system "
		    "--no-create-home --shell /usr/sbin/nologin %s",
		    PGEMBED_USER, PGEMBED_USER);
		return -1;
	}
	owner->drop = 1;
	owner->uid = pw->pw_uid;
	owner->gid = pw->pw_gid;
	return 0;
}

/* The owner of an existing cluster, from its data folder. */
static int
pgembed_cluster_owner(const struct pgembed_paths *p,
    struct pgembed_owner *owner, char *err, size_t errlen)
{
	struct stat st;
	struct passwd *pw;

	memset(owner, 0, sizeof(*owner));
	if (stat(p->data, &st) == -1) {
		util_seterr(err, errlen, "no embedded PostgreSQL cluster at "
		    "%s (%s); create one with caadm init or set database_url",
		    p->data, strerror(errno));
		return -1;
	}
	owner->uid = st.st_uid;
	owner->gid = st.st_gid;
	if (geteuid() == st.st_uid && st.st_uid != 0)
		return 0;
	if (geteuid() != 0) {
		util_seterr(err, errlen, "the PostgreSQL cluster at %s "
		    "belongs to uid %ld; run this as that user or as root",
		    p->data, (long)st.st_uid);
		return -1;
	}
	if (st.st_uid == 0) {
		util_seterr(err, errlen, "the PostgreSQL cluster at %s "
		    "belongs to root, and PostgreSQL does not run as root; "
		    "chown -R %s: %s", p->data, PGEMBED_USER, p->db);
		return -1;
	}
	if ((pw = getpwuid(st.st_uid)) != NULL)
		owner->gid = pw->pw_gid;
	owner->drop = 1;
	return 0;
}

/* Check in a child running as owner whether it can search dir. */
static int
pgembed_can_search(const struct pgembed_owner *owner, const char *dir)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (setgroups(1, &owner->gid) == -1 ||
		    setgid(owner->gid) == -1 || setuid(owner->uid) == -1)
			_exit(2);
		_exit(access(dir, X_OK) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : 0;
}

static const char *
pgembed_setfacl_path(void)
{
	static const char *const paths[] = { "/usr/bin/setfacl", "/bin/setfacl" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/*
 * As root, make sure the owner can reach dir: every ancestor must be
 * searchable by it.  Where one is not (a home under /root, mode 0700),
 * grant that user search permission alone with an ACL entry; reading
 * the folder stays forbidden.
 */
static int
pgembed_grant_search(const struct pgembed_owner *owner, const char *dir,
    char *err, size_t errlen)
{
	static const struct pgembed_owner self = { 0, 0, 0 };
	char path[PATH_MAX], entry[64], output[PGEMBED_OUTPUT_MAX];
	const char *setfacl;
	size_t i, len = strlen(dir);
	int r, status;

	if (len >= sizeof(path))
		return -1;
	snprintf(entry, sizeof(entry), "u:%s:x", PGEMBED_USER);
	for (i = 1; i <= len; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		memcpy(path, dir, i);
		path[i] = '\0';
		if ((r = pgembed_can_search(owner, path)) == 1)
			continue;
		if (r == -1) {
			util_seterr(err, errlen, "cannot check access to %s "
			    "as %s: %s", path, PGEMBED_USER, strerror(errno));
			return -1;
		}
		if ((setfacl = pgembed_setfacl_path()) == NULL) {
			util_seterr(err, errlen, "user %s cannot enter %s, "
			    "which leads to the embedded database; install "
			    "setfacl (apt-get install acl) so that caadm grants "
			    "that user search permission there, or run "
			    "setfacl -m %s %s yourself, or choose a CA home "
			    "that other users can reach", PGEMBED_USER, path,
			    entry, path);
			return -1;
		}
		{
			const char *const argv[] = {
				setfacl, "-m", entry, path,
				NULL
			};

			status = pgembed_run(&self, argv, output,
			    sizeof(output), err, errlen);
		}
		if (status != 0 || pgembed_can_search(owner, path) != 1) {
			if (status > 0)
				util_seterr(err, errlen, "setfacl -m %s %s "
				    "failed: %s; grant user %s search "
				    "permission on %s, or choose another CA "
				    "home", entry, path, output, PGEMBED_USER,
				    path);
			return -1;
		}
		log_info("granted user %s search permission on %s (setfacl "
		    "-m %s) so that PostgreSQL can reach its data folder",
		    PGEMBED_USER, path, entry);
	}
	return 0;
}

static int
pgembed_mkdir_owned(const char *path, const struct pgembed_owner *owner,
    char *err, size_t errlen)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		util_seterr(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (owner->drop && chown(path, owner->uid, owner->gid) == -1) {
		util_seterr(err, errlen, "cannot give %s to user %s: %s",
		    path, PGEMBED_USER, strerror(errno));
		return -1;
	}
	if (chmod(path, 0700) == -1) {
		util_seterr(err, errlen, "chmod 0700 %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Write value as a postgresql.conf string literal. */
static void
pgembed_conf_string(FILE *f, const char *value)
{
	fputc('\'', f);
	for (; *value != '\0'; value++) {
		if (*value == '\'' || *value == '\\')
			fputc(*value, f);
		fputc(*value, f);
	}
	fputc('\'', f);
}

static int
pgembed_write_conf(const struct pgembed_paths *p, char *err, size_t errlen)
{
	char conf[PATH_MAX];
	FILE *f;
	int ok;

	if (pgembed_join(conf, sizeof(conf), p->data, "/postgresql.conf") == -1 ||
	    (f = fopen(conf, "ae")) == NULL) {
		util_seterr(err, errlen, "cannot open %s/postgresql.conf: %s",
		    p->data, strerror(errno));
		return -1;
	}
	fprintf(f, "\n# Set by caadm init: this cluster serves the CA only, "
	    "on a Unix socket only.\n"
	    "listen_addresses = ''\n"
	    "port = %d\n"
	    "unix_socket_permissions = 0700\n"
	    "unix_socket_directories = ", PGEMBED_PORT);
	pgembed_conf_string(f, p->run);
	fputc('\n', f);
	ok = !ferror(f);
	if (fclose(f) != 0 || !ok) {
		util_seterr(err, errlen, "cannot write %s: %s", conf,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
pgembed_check_home(const char *home, char *err, size_t errlen)
{
	struct pgembed_paths p;

	return pgembed_paths(home, &p, 1, err, errlen);
}

int
pgembed_create(const char *home, char *err, size_t errlen)
{
	struct pgembed_paths p;
	struct pgembed_owner owner;
	struct stat st;
	char version[PATH_MAX], initdb[PATH_MAX], output[PGEMBED_OUTPUT_MAX];
	int status;

	if (pgembed_paths(home, &p, 1, err, errlen) == -1)
		return -1;
	if (pgembed_join(version, sizeof(version), p.data, "/PG_VERSION") == -1 ||
	    pgembed_join(initdb, sizeof(initdb), p.bindir, "/initdb") == -1) {
		util_seterr(err, errlen, "path too long");
		return -1;
	}
	if (stat(version, &st) == 0) {
		util_seterr(err, errlen, "a PostgreSQL cluster already "
		    "exists in %s; remove it or choose another CA home",
		    p.data);
		return -1;
	}
	if (pgembed_get_owner(&owner, 1, err, errlen) == -1 ||
	    pgembed_mkdir_owned(p.db, &owner, err, errlen) == -1 ||
	    pgembed_mkdir_owned(p.run, &owner, err, errlen) == -1)
		return -1;
	if (owner.drop && pgembed_grant_search(&owner, p.db, err,
	    errlen) == -1)
		return -1;

	/*
	 * Authentication is "trust" on the Unix socket and TCP is rejected.
	 * The socket file is mode 0700 in db/run, and db/ and db/run/ are
	 * mode 0700 and belong to the cluster's owner.  So only that user and
	 * root can connect at all, and a password would add a secret to store
	 * but no protection.  Peer authentication would not let root (caadm
	 * run by the administrator) in as the cluster's superuser without a
	 * user name map.
	 */
	{
		const char *const argv[] = {
			initdb, "-D", p.data, "-U", PGEMBED_USER,
			"--auth-local=trust", "--auth-host=reject",
			"--encoding=UTF8", "--locale=C", "--no-instructions",
			NULL
		};

		status = pgembed_run(&owner, argv, output, sizeof(output),
		    err, errlen);
	}
	if (status != 0) {
		if (status > 0)
			util_seterr(err, errlen, "initdb of %s failed with "
			    "status %d: %s", p.data, status, output);
		return -1;
	}
	return pgembed_write_conf(&p, err, errlen);
}

/* Append a libpq keyword='value' pair with the value quoted. */
static int
pgembed_conninfo_add(char *out, size_t outlen, const char *key,
    const char *value)
{
	size_t o = strlen(out);

	if (o + strlen(key) + 4 >= outlen)
		return -1;
	o += (size_t)snprintf(out + o, outlen - o, "%s%s='", o ? " " : "",
	    key);
	for (; *value != '\0'; value++) {
		if (o + 4 >= outlen)
			return -1;
		if (*value == '\'' || *value == '\\')
			out[o++] = '\\';
		out[o++] = *value;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return 0;
}

static char *
pgembed_conninfo_db(const char *home, const char *dbname)
{
	struct pgembed_paths p;
	char out[PATH_MAX * 2 + 128], port[16];

	if (pgembed_paths(home, &p, 0, NULL, 0) == -1)
		return NULL;
	out[0] = '\0';
	snprintf(port, sizeof(port), "%d", PGEMBED_PORT);
	if (pgembed_conninfo_add(out, sizeof(out), "host", p.run) == -1 ||
	    pgembed_conninfo_add(out, sizeof(out), "port", port) == -1 ||
	    pgembed_conninfo_add(out, sizeof(out), "dbname", dbname) == -1 ||
	    pgembed_conninfo_add(out, sizeof(out), "user", PGEMBED_USER) == -1 ||
	    pgembed_conninfo_add(out, sizeof(out), "connect_timeout",
	    "10") == -1)
		return NULL;
	return strdup(out);
}

char *
pgembed_conninfo(const char *home)
{
	return pgembed_conninfo_db(home, PGEMBED_DBNAME);
}

/* Wait until the server accepts connections or the timeout passes. */
static int
pgembed_wait_ready(const char *conninfo, int seconds)
{
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	int i;

	for (i = 0; i < seconds * 5; i++) {
		switch (PQping(conninfo)) {
		case PQPING_OK:
			return 0;
		case PQPING_NO_ATTEMPT:
			return -1;
		default:
			nanosleep(&pause, NULL);
		}
	}
	return -1;
}

/* Put the end of the server log into err, where startup errors are. */
static void
pgembed_log_tail(const struct pgembed_paths *p, char *tail, size_t taillen)
{
	char *text = NULL, *start;
	size_t len;

	tail[0] = '\0';
	if (util_read_file(p->log, 16 * 1024 * 1024, &text, &len) == -1)
		return;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	start = len >= taillen ? text + len - (taillen - 1) : text;
	snprintf(tail, taillen, "%s", start);
	free(text);
}

static int
pgembed_create_database(const char *home, char *err, size_t errlen)
{
	const char *params[1] = { PGEMBED_DBNAME };
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *conninfo;
	const char *state;
	int ret = -1;

	if ((conninfo = pgembed_conninfo_db(home, "postgres")) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		util_seterr(err, errlen, "cannot connect to the embedded "
		    "PostgreSQL: %s", PQerrorMessage(conn));
		goto out;
	}
	res = PQexecParams(conn, "SELECT 1 FROM pg_database WHERE datname = $1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		util_seterr(err, errlen, "looking up database %s: %s",
		    PGEMBED_DBNAME, PQresultErrorMessage(res));
		goto out;
	}
	if (PQntuples(res) == 1) {
		ret = 0;
		goto out;
	}
	PQclear(res);
	res = PQexec(conn, "CREATE DATABASE \"" PGEMBED_DBNAME "\"");
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* 42P04: another process created it first. */
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    (state == NULL || strcmp(state, "42P04") != 0)) {
		util_seterr(err, errlen, "CREATE DATABASE %s failed: %s",
		    PGEMBED_DBNAME, PQresultErrorMessage(res));
		goto out;
	}
	ret = 0;
 out:
	PQclear(res);
	PQfinish(conn);
	free(conninfo);
	return ret;
}

int
pgembed_start(const char *home, char *err, size_t errlen)
{
	struct pgembed_paths p;
	struct pgembed_owner owner;
	char pg_ctl[PATH_MAX], output[PGEMBED_OUTPUT_MAX];
	char *conninfo = NULL;
	int lockfd = -1, status, ret = -1;

	if (pgembed_paths(home, &p, 1, err, errlen) == -1)
		return -1;
	if ((conninfo = pgembed_conninfo_db(home, "postgres")) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (PQping(conninfo) == PQPING_OK)
		goto created;

	/* Serialize starters: a second caller waits here, then finds the
	 * server running. */
	if ((lockfd = open(p.db, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		util_seterr(err, errlen, "cannot open %s: %s; create the "
		    "cluster with caadm init, or run as its owner or root",
		    p.db, strerror(errno));
		goto out;
	}
	while (flock(lockfd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			util_seterr(err, errlen, "flock %s: %s", p.db,
			    strerror(errno));
			goto out;
		}
	}
	if (PQping(conninfo) == PQPING_OK)
		goto created;

	if (pgembed_cluster_owner(&p, &owner, err, errlen) == -1 ||
	    pgembed_join(pg_ctl, sizeof(pg_ctl), p.bindir, "/pg_ctl") == -1)
		goto out;
	{
		const char *const argv[] = {
			pg_ctl, "-D", p.data, "-l", p.log, "-w", "-t",
			PGEMBED_START_TIMEOUT, "-s", "start", NULL
		};

		status = pgembed_run(&owner, argv, output, sizeof(output), err,
		    errlen);
	}
	if (status != 0 && pgembed_wait_ready(conninfo, 1) != 0) {
		if (status > 0) {
			char tail[512];

			pgembed_log_tail(&p, tail, sizeof(tail));
			util_seterr(err, errlen, "starting PostgreSQL in %s "
			    "failed (pg_ctl: %s); end of %s: %s", p.data,
			    output[0] ? output : "no output", p.log,
			    tail[0] ? tail : "(empty)");
		}
		goto out;
	}
	log_info("started the embedded PostgreSQL in %s", p.data);

 created:
	if (pgembed_create_database(home, err, errlen) == -1)
		goto out;
	ret = 0;
 out:
	if (lockfd != -1)
		close(lockfd);
	free(conninfo);
	return ret;
}

int
pgembed_stop(const char *home, char *err, size_t errlen)
{
	struct pgembed_paths p;
	struct pgembed_owner owner;
	char pg_ctl[PATH_MAX], pidfile[PATH_MAX], output[PGEMBED_OUTPUT_MAX];
	int status;

	if (pgembed_paths(home, &p, 1, err, errlen) == -1)
		return -1;
	if (pgembed_join(pidfile, sizeof(pidfile), p.data,
	    "/postmaster.pid") == -1 ||
	    pgembed_join(pg_ctl, sizeof(pg_ctl), p.bindir, "/pg_ctl") == -1) {
		util_seterr(err, errlen, "path too long");
		return -1;
	}
	if (access(pidfile, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (pgembed_cluster_owner(&p, &owner, err, errlen) == -1)
		return -1;
	{
		const char *const argv[] = {
			pg_ctl, "-D", p.data, "-m", "fast", "-w", "-t",
			PGEMBED_START_TIMEOUT, "-s", "stop", NULL
		};

		status = pgembed_run(&owner, argv, output, sizeof(output), err,
		    errlen);
	}
	if (status == -1)
		return -1;
	/* pg_ctl also fails when the server was not running. */
	if (status != 0 && access(pidfile, F_OK) == 0) {
		util_seterr(err, errlen, "stopping PostgreSQL in %s failed "
		    "with status %d: %s", p.data, status, output);
		return -1;
	}
	return 0;
}
