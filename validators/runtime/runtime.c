/*
 * The serve loop of a validator.  ca-core starts the validator with a
 * connected SOCK_STREAM Unix socket at the descriptor named by
 * CA_VALIDATOR_FD (3).  With --listen PATH the validator instead accepts
 * any number of connections on a Unix socket of mode 0600, for validators
 * that systemd or another supervisor runs.  Each connection gets a hello,
 * then frames (proto/frame.h) carrying messages (proto/msg.h) that a table
 * dispatches by type: validate starts a validation, and ping gets a
 * pong.
 *
 * Interface (runtime.h): runtime_main().
 *
 * Errors: a bad frame, a malformed message or an unexpected type from the
 * peer is logged and closes that connection; with the inherited socket
 * the process then exits with status 1.  A message of an unknown type is
 * logged and ignored.  EOF on the inherited socket and SIGTERM stop the
 * process with status 0.  Failing to set up the socket, the sandbox or the
 * event loop is fatal (status 1): the validator never serves
 * unsandboxed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "frame.h"
#include "msg.h"
#include "resolve.h"
#include "runtime_int.h"

#define RT_FD_ENV	"CA_VALIDATOR_FD"
#define RT_BACKLOG	64

static void	rt_conn_close(struct rt_conn *, int error, const char *why);

/* Handlers return 0, or -1 with a reason in err to close the connection. */
struct rt_handler {
	enum msg_type	 type;
	int		(*handle)(struct rt_conn *, struct json_object *,
			    char *err, size_t errlen);
};

int
rt_conn_send(struct rt_conn *conn, struct json_object *obj)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	const char *text;
	size_t len = 0;

	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL) {
		vlog(VLOG_ERROR, "connection %lu: cannot serialize a message",
		    conn->serial);
		return -1;
	}
	if (frame_header(len, hdr) != FRAME_COMPLETE) {
		vlog(VLOG_ERROR, "connection %lu: message of %zu bytes does "
		    "not fit in a frame", conn->serial, len);
		return -1;
	}
	if (bufferevent_write(conn->bev, hdr, sizeof(hdr)) == -1 ||
	    bufferevent_write(conn->bev, text, len) == -1) {
		vlog(VLOG_ERROR, "connection %lu: cannot queue %zu bytes",
		    conn->serial, len);
		return -1;
	}
	return 0;
}

/* Check and start one validation.  A request that parses but cannot be
 * served gets its invalid result here, so start() receives only the
 * rest. */
static int
rt_handle_validate(struct rt_conn *conn, struct json_object *msg, char *err,
    size_t errlen)
{
	const struct validator *validator = conn->rt->validator;
	struct validation *v = NULL;
	const char *type;
	char detail[160];
	size_t i;

	if (validation_new(conn, msg, &v, err, errlen) == -1)
		return -1;

	if (conn->nvalidations > RT_MAX_INFLIGHT) {
		validation_finish(v, VALIDATION_INVALID,
		    PROBLEM_SERVER_INTERNAL, "validator busy: too many "
		    "validations in flight", NULL);
		return 0;
	}

	type = v->req.challenge_type;
	for (i = 0; i < validator->nchallenge_types; i++) {
		if (strcmp(type, validator->challenge_types[i]) == 0)
			break;
	}
	if (i == validator->nchallenge_types) {
		snprintf(detail, sizeof(detail), "challenge type \"%s\" is "
		    "not served by %s", type, validator->name);
		validation_finish(v, VALIDATION_INVALID, PROBLEM_MALFORMED,
		    detail, NULL);
		return 0;
	}

	validation_log(v, VLOG_INFO, "validating %s for %s identifier, "
	    "timeout %d ms", type, v->req.identifier_type_name,
	    v->req.timeout_ms);
	validator->start(v);
	return 0;
}

static int
rt_handle_ping(struct rt_conn *conn, struct json_object *msg, char *err,
    size_t errlen)
{
	struct json_object *pong;
	const char *id;
	int ret;

	if ((id = msg_get_string(msg, "id", MSG_MAX_ID_LEN, err,
	    errlen)) == NULL)
		return -1;
	if ((pong = msg_pong(id)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = rt_conn_send(conn, pong);
	json_object_put(pong);
	if (ret == -1)
		snprintf(err, errlen, "cannot queue pong");
	json_object_put(msg);
	return ret;
}

/* Message types a validator accepts from ca-core.  Every other known type
 * (hello, result, pong, log) flows only from validator to ca-core. */
static const struct rt_handler rt_handlers[] = {
	{ MSG_VALIDATE,	rt_handle_validate },
	{ MSG_PING,	rt_handle_ping },
};

/* Dispatch one parsed message, which is taken over.  Returns 0, or -1
 * with a reason in err to close the connection. */
static int
rt_dispatch(struct rt_conn *conn, struct json_object *msg,
    enum msg_type type, char *err, size_t errlen)
{
	char name[80];
	size_t i;

	for (i = 0; i < sizeof(rt_handlers) / sizeof(rt_handlers[0]); i++) {
		if (rt_handlers[i].type == type)
			return rt_handlers[i].handle(conn, msg, err, errlen);
	}

	if (type == MSG_UNKNOWN) {
		const char *t = json_object_get_string(
		    json_object_object_get(msg, "type"));

		escape_text((const uint8_t *)t, strlen(t), 32, name,
		    sizeof(name));
		vlog(VLOG_INFO, "connection %lu: ignoring message of unknown "
		    "type \"%s\"", conn->serial, name);
		json_object_put(msg);
		return 0;
	}
	snprintf(err, errlen, "unexpected %s message", msg_type_name(type));
	json_object_put(msg);
	return -1;
}

/* Take one complete frame off the input buffer.  Returns 1 with a parsed
 * message, 0 when more bytes are needed, -1 with a reason in err. */
static int
rt_next_message(struct evbuffer *in, struct json_object **msg,
    enum msg_type *type, char *err, size_t errlen)
{
	const uint8_t *head, *body;
	size_t len, body_len, consumed, need;
	enum frame_result fr;

	*msg = NULL;
	len = evbuffer_get_length(in);
	if (len < FRAME_HEADER_LEN)
		return 0;

	/* Check the announced length on the header alone, before waiting
	 * for (and buffering) the body. */
	if ((head = evbuffer_pullup(in, FRAME_HEADER_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fr = frame_decode(head, FRAME_HEADER_LEN, &body, &body_len,
	    &consumed);
	if (fr == FRAME_BAD_LENGTH) {
		snprintf(err, errlen, "frame length %lu outside [%d, %d]",
		    (unsigned long)head[0] << 24 | (unsigned long)head[1] << 16 |
		    (unsigned long)head[2] << 8 | head[3], FRAME_MIN_BODY,
		    FRAME_MAX_BODY);
		return -1;
	}
	need = FRAME_HEADER_LEN + ((size_t)head[0] << 24 |
	    (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3]);
	if (len < need)
		return 0;

	if ((head = evbuffer_pullup(in, (ev_ssize_t)need)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fr = frame_decode(head, need, &body, &body_len, &consumed);
	if (fr != FRAME_COMPLETE) {
		snprintf(err, errlen, "%s", frame_strerror(fr));
		return -1;
	}

	/* The message is a copy, so the frame can go before dispatch. */
	*msg = msg_parse(body, body_len, type, err, errlen);
	evbuffer_drain(in, consumed);
	return *msg != NULL ? 1 : -1;
}

static void
rt_read_cb(struct bufferevent *bev, void *arg)
{
	struct rt_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct json_object *msg;
	enum msg_type type;
	char err[256];
	int r;

	for (;;) {
		err[0] = '\0';
		if ((r = rt_next_message(in, &msg, &type, err,
		    sizeof(err))) == 0)
			return;
		if (r == -1 || rt_dispatch(conn, msg, type, err,
		    sizeof(err)) == -1) {
			rt_conn_close(conn, 1, err);
			return;
		}
	}
}

static void
rt_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rt_conn *conn = arg;
	char why[128];
	int err;

	if (what & BEV_EVENT_EOF) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			rt_conn_close(conn, 1, "peer closed inside a frame");
		else
			rt_conn_close(conn, 0, "peer closed the connection");
		return;
	}
	err = EVUTIL_SOCKET_ERROR();

	/* A Unix socket peer that closes with our messages still unread
	 * shows up as a reset: it is still an ordinary close. */
	if ((what & BEV_EVENT_ERROR) && (err == ECONNRESET || err == EPIPE)) {
		rt_conn_close(conn, 0, "peer closed the connection with "
		    "messages unread");
		return;
	}
	snprintf(why, sizeof(why), "socket error: %s",
	    evutil_socket_error_to_string(err));
	rt_conn_close(conn, 1, why);
}

/* Close a connection and abandon its validations.  With the inherited
 * socket this also ends the serve loop. */
static void
rt_conn_close(struct rt_conn *conn, int error, const char *why)
{
	struct runtime *rt = conn->rt;
	struct validation *v;

	vlog(error ? VLOG_WARN : VLOG_INFO, "connection %lu: closing: %s",
	    conn->serial, why);
	while ((v = LIST_FIRST(&conn->validations)) != NULL)
		validation_abandon(v, "connection closed");
	LIST_REMOVE(conn, entry);
	bufferevent_free(conn->bev);
	free(conn);

	if (rt->inherited) {
		rt->exit_status = error ? 1 : 0;
		event_base_loopbreak(rt->base);
	}
}

/* Serve a connected socket: set up its buffers and send hello.  The
 * socket is closed on failure. */
static int
rt_conn_new(struct runtime *rt, evutil_socket_t fd)
{
	const struct validator *validator = rt->validator;
	struct rt_conn *conn = NULL;
	struct json_object *hello = NULL;
	int ret = -1;

	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1) {
		vlog(VLOG_ERROR, "cannot set up socket %d: %s", (int)fd,
		    strerror(errno));
		close(fd);
		goto out;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL) {
		vlog(VLOG_ERROR, "out of memory for a connection");
		close(fd);
		goto out;
	}
	conn->rt = rt;
	conn->serial = ++rt->next_serial;
	LIST_INIT(&conn->validations);
	if ((conn->bev = bufferevent_socket_new(rt->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		vlog(VLOG_ERROR, "cannot create a bufferevent for socket %d",
		    (int)fd);
		close(fd);
		goto out;
	}
	LIST_INSERT_HEAD(&rt->conns, conn, entry);

	/* Stop reading while a full frame is buffered and unprocessed. */
	bufferevent_setwatermark(conn->bev, EV_READ, 0,
	    FRAME_HEADER_LEN + FRAME_MAX_BODY);
	bufferevent_setcb(conn->bev, rt_read_cb, NULL, rt_event_cb, conn);
	if (bufferevent_enable(conn->bev, EV_READ | EV_WRITE) == -1) {
		vlog(VLOG_ERROR, "connection %lu: cannot enable events",
		    conn->serial);
		goto out;
	}

	if ((hello = msg_hello(validator->name, validator->version,
	    validator->challenge_types, validator->nchallenge_types)) ==
	    NULL || rt_conn_send(conn, hello) == -1) {
		vlog(VLOG_ERROR, "connection %lu: cannot send hello",
		    conn->serial);
		goto out;
	}
	vlog(VLOG_INFO, "connection %lu: serving", conn->serial);
	conn = NULL;
	ret = 0;
 out:
	json_object_put(hello);
	if (conn != NULL && conn->bev != NULL)
		rt_conn_close(conn, 1, "setup failed");
	else
		free(conn);
	return ret;
}

static void
rt_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)rt_conn_new(arg, fd);
}

static void
rt_accept_error_cb(struct evconnlistener *listener, void *arg)
{
	/* EMFILE and the like: keep listening, existing work goes on. */
	vlog(VLOG_WARN, "accept failed: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
rt_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct runtime *rt = arg;

	vlog(VLOG_INFO, "stopping on signal %d", (int)sig);
	rt->exit_status = 0;
	event_base_loopbreak(rt->base);
}

/* Check that the inherited descriptor is a connected stream socket. */
static int
rt_inherited_fd(void)
{
	const char *env = getenv(RT_FD_ENV);
	char *end;
	long fd;
	int type = 0;
	socklen_t len = sizeof(type);

	if (env == NULL || env[0] == '\0')
		return -1;
	errno = 0;
	fd = strtol(env, &end, 10);
	if (errno != 0 || *end != '\0' || fd <= STDERR_FILENO || fd > INT_MAX) {
		vlog(VLOG_ERROR, "%s=%.16s is not a descriptor number above 2",
		    RT_FD_ENV, env);
		return -1;
	}
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		vlog(VLOG_ERROR, "descriptor %ld from %s is not a stream "
		    "socket: %s", fd, RT_FD_ENV,
		    type == 0 ? strerror(errno) : "wrong socket type");
		return -1;
	}
	return (int)fd;
}

/* Create the listening socket at path with mode 0600, replacing a stale
 * socket but never another kind of file. */
static int
rt_listen_socket(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_umask;
	int fd = -1, ret = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		vlog(VLOG_ERROR, "socket path %s is longer than %zu bytes",
		    path, sizeof(sun.sun_path) - 1);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path));

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vlog(VLOG_ERROR, "%s exists and is not a socket; "
			    "remove it or choose another path", path);
			goto out;
		}
		if (unlink(path) == -1) {
			vlog(VLOG_ERROR, "cannot remove stale socket %s: %s",
			    path, strerror(errno));
			goto out;
		}
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		vlog(VLOG_ERROR, "socket: %s", strerror(errno));
		goto out;
	}
	/* The umask makes the socket 0600 from the start; the chmod covers
	 * file systems that ignore it for sockets. */
	old_umask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (ret == -1 || chmod(path, 0600) == -1) {
		vlog(VLOG_ERROR, "cannot bind %s: %s", path, strerror(errno));
		ret = -1;
		goto out;
	}
	if (listen(fd, RT_BACKLOG) == -1) {
		vlog(VLOG_ERROR, "cannot listen on %s: %s", path,
		    strerror(errno));
		ret = -1;
		goto out;
	}
	ret = fd;
	fd = -1;
 out:
	if (fd != -1)
		close(fd);
	return ret;
}

/*
 * With --listen, fork a helper that removes the socket file after the
 * validator exits, because the sandbox forbids unlink(2).  The helper
 * keeps no socket, ignores SIGTERM and SIGINT, and waits for EOF on a pipe
 * whose write end only the validator holds.  It removes the path only
 * while it is still the socket that this process created.
 */
static int
rt_spawn_unlinker(const char *path)
{
	struct stat st, now;
	int fds[2];
	pid_t pid;
	char c;

	if (lstat(path, &st) == -1 || pipe2(fds, O_CLOEXEC) == -1) {
		vlog(VLOG_ERROR, "cannot set up the removal of %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		vlog(VLOG_ERROR, "cannot fork the helper that removes %s: %s",
		    path, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		close(fds[1]);
		while (read(fds[0], &c, 1) == -1 && errno == EINTR)
			;
		if (lstat(path, &now) == 0 && now.st_dev == st.st_dev &&
		    now.st_ino == st.st_ino && unlink(path) == -1)
			vlog(VLOG_WARN, "cannot remove socket %s: %s", path,
			    strerror(errno));
		_exit(0);
	}
	close(fds[0]);
	/* fds[1] stays open until this process exits. */
	return 0;
}

static void
rt_usage(const struct validator *validator, FILE *f)
{
	fprintf(f,
	    "usage: %s [--listen PATH]\n"
	    "\n"
	    "ACME %s validator (protocol version %d).\n"
	    "\n"
	    "Started by ca-core, it serves the connected Unix socket whose\n"
	    "descriptor number is in %s (normally 3) and exits when\n"
	    "ca-core closes it.\n"
	    "\n"
	    "  --listen PATH  create a Unix socket at PATH (mode 0600) and\n"
	    "                 serve every connection to it, for a validator\n"
	    "                 run by systemd or another supervisor\n"
	    "  --help         print this text\n"
	    "  --version      print the version\n"
	    "\n"
	    "CA_LOG_LEVEL=error|warn|info|debug sets the lowest level\n"
	    "logged to stderr (default info).  SIGTERM stops the validator.\n",
	    validator->name, validator->challenge_types[0], PROTO_VERSION,
	    RT_FD_ENV);
}

/* Parse the command line.  Returns -1 to go on, or an exit status. */
static int
rt_parse_args(const struct validator *validator, int argc, char **argv,
    const char **listen_path)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	int ch;

	*listen_path = NULL;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			*listen_path = optarg;
			break;
		case 'h':
			rt_usage(validator, stdout);
			return 0;
		case 'V':
			printf("%s %s\n", validator->name, validator->version);
			return 0;
		default:
			rt_usage(validator, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n",
		    validator->name, argv[optind]);
		rt_usage(validator, stderr);
		return 2;
	}
	return -1;
}

/* Set up the event base, signals and the first connection or listener.
 * The socket is taken over.  Returns 0 or -1 (logged). */
static int
rt_setup(struct runtime *rt, int fd)
{
	if ((rt->base = event_base_new()) == NULL) {
		vlog(VLOG_ERROR, "cannot create the event base");
		close(fd);
		return -1;
	}
	if ((rt->sigterm = evsignal_new(rt->base, SIGTERM, rt_signal_cb,
	    rt)) == NULL || evsignal_add(rt->sigterm, NULL) == -1 ||
	    (rt->sigint = evsignal_new(rt->base, SIGINT, rt_signal_cb,
	    rt)) == NULL || evsignal_add(rt->sigint, NULL) == -1) {
		vlog(VLOG_ERROR, "cannot install signal handlers");
		close(fd);
		return -1;
	}

	if (rt->inherited)
		return rt_conn_new(rt, fd);

	if ((rt->listener = evconnlistener_new(rt->base, rt_accept_cb, rt,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		vlog(VLOG_ERROR, "cannot create the listener");
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(rt->listener, rt_accept_error_cb);
	return 0;
}

static void
rt_teardown(struct runtime *rt)
{
	struct rt_conn *conn;

	rt->inherited = 0;	/* the loop has stopped already */
	while ((conn = LIST_FIRST(&rt->conns)) != NULL)
		rt_conn_close(conn, 0, "validator stopping");
	if (rt->validator->stop != NULL)
		rt->validator->stop();
	resolve_shutdown();
	if (rt->listener != NULL)
		evconnlistener_free(rt->listener);
	if (rt->sigterm != NULL)
		event_free(rt->sigterm);
	if (rt->sigint != NULL)
		event_free(rt->sigint);
	if (rt->base != NULL)
		event_base_free(rt->base);
}

int
runtime_main(const struct validator *validator, int argc, char **argv)
{
	struct runtime rt;
	const char *listen_path;
	int fd, status, inherited;

	memset(&rt, 0, sizeof(rt));
	rt.validator = validator;
	LIST_INIT(&rt.conns);
	vlog_init(validator->name);

	if ((status = rt_parse_args(validator, argc, argv,
	    &listen_path)) != -1)
		return status;

	/* A peer that goes away mid-write gives EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	if (listen_path != NULL) {
		fd = rt_listen_socket(listen_path);
	} else if ((fd = rt_inherited_fd()) == -1 &&
	    getenv(RT_FD_ENV) == NULL) {
		fprintf(stderr, "%s: %s is not set; ca-core starts this "
		    "program, or use --listen PATH\n", validator->name,
		    RT_FD_ENV);
		return 2;
	}
	if (fd == -1)
		return 1;
	rt.inherited = inherited = listen_path == NULL;

	/* Acquire first: descriptors closed, the system resolver, the event
	 * base with its signals and the first connection.  Then restrict,
	 * before the loop reads the first request. */
	if (runtime_prepare(validator, fd) == -1) {
		close(fd);
		return 1;
	}
	if (rt_setup(&rt, fd) == -1) {
		rt_teardown(&rt);
		return 1;
	}
	if (listen_path != NULL && rt_spawn_unlinker(listen_path) == -1) {
		rt_teardown(&rt);
		return 1;
	}
	if (runtime_sandbox(validator) == -1) {
		vlog(VLOG_ERROR, "cannot enter the sandbox; not serving");
		rt_teardown(&rt);
		return 1;
	}
	vlog(VLOG_INFO, "%s %s starting, %s%s", validator->name,
	    validator->version, inherited ? "serving the socket from " :
	    "listening on ", inherited ? RT_FD_ENV : listen_path);
	rt.exit_status = 0;
	if (event_base_dispatch(rt.base) == -1) {
		vlog(VLOG_ERROR, "event loop failed");
		rt.exit_status = 1;
	}
	status = rt.exit_status;

	/* The helper from rt_spawn_unlinker() removes a --listen socket
	 * once this process has exited. */
	rt_teardown(&rt);
	vlog(VLOG_INFO, "%s %s stopped with status %d", validator->name,
	    validator->version, status);
	return status;
}
