/*
 * Validation dispatch: one connection per configured validator, either to
 * a child that ca-core starts (socket at descriptor 3, see supervisor.c)
 * or to a Unix socket that ca-core dials.  Frames and messages are those
 * of proto/frame.h and proto/msg.h.
 *
 * Each connection waits for "hello" and then takes "validate" requests
 * with ids "v<generation>-<counter>", where the generation numbers the
 * connections and the counter is unique within ca-core.  A result is
 * accepted only for an id outstanding on the connection it arrives on,
 * and only once, so it always belongs to the challenge that id was sent
 * for.  Validations for a type with no ready validator wait in a bounded
 * queue until one comes back or their timeout passes.  Health pings go
 * out every DISPATCH_PING_INTERVAL_S, and at once when a validation times
 * out on a connection.  Children are reaped from a SIGCHLD event and
 * restarted with the backoff of supervisor_backoff(); dialled sockets are
 * redialled with the same backoff.
 *
 * A validation in flight on a connection that drops (the validator died,
 * broke the protocol or missed a pong) is sent once more, with a new id,
 * on the next connection for its type.  If that connection drops too, the
 * validation fails, so a request that crashes its validator cannot keep
 * it in a crash loop.  Validators must therefore be idempotent.  The
 * validation's own timeout runs across both attempts.
 *
 * Interface (dispatch.h): dispatch_start(), dispatch_stop(),
 * dispatch_serves(), dispatch_validate().
 *
 * Errors: a validator program that is not executable is fatal at start.
 * Everything a validator does wrong (bad frame, bad JSON, a message out
 * of place, no hello, no pong, exiting) is logged with its name and pid.
 * It costs the validator its connection, so its outstanding validations
 * are retried once or fail with a reason, and a child is killed and
 * restarted.  A result for an unknown id
 * and an invalid log record are warnings and are dropped.  Nothing a
 * validator sends stops ca-core.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "core.h"
#include "dispatch.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "supervisor.h"

/* The health check timings can be overridden at compile time, which the
 * dispatch test does to see a missing pong within seconds. */
#define DISPATCH_HELLO_TIMEOUT_S	5
/* A child that closed its socket gets this long to exit by itself, so
 * that the log shows its own exit status rather than our SIGKILL. */
#define DISPATCH_EXIT_GRACE_MS		1000
#ifndef DISPATCH_PING_INTERVAL_S
#define DISPATCH_PING_INTERVAL_S	30
#endif
#ifndef DISPATCH_PONG_TIMEOUT_S
#define DISPATCH_PONG_TIMEOUT_S		10
#endif
#define DISPATCH_MAX_QUEUED		1000
#define DISPATCH_MAX_LOG_LEN		1024
#define DISPATCH_MAX_HELLO_TYPES	16
#define DISPATCH_MAX_NAME_LEN		128
/* How often one validation is sent: the first time and one retry. */
#define DISPATCH_MAX_ATTEMPTS		2

struct validation;
TAILQ_HEAD(validation_list, validation);

enum validator_state {
	VALIDATOR_DOWN,		/* no connection */
	VALIDATOR_HELLO,	/* connected, waiting for hello */
	VALIDATOR_READY		/* hello received */
};

struct validator {
	struct dispatch		*dispatch;
	const struct validator_config *cfg;
	char			 name[DISPATCH_MAX_NAME_LEN];
	pid_t			 child;		/* our child, or -1 */
	long			 peer_pid;	/* for logs; 0 when unknown */
	struct bufferevent	*bev;
	enum validator_state	 state;
	unsigned long		 generation;
	int			 serves;	/* hello listed cfg->type */
	struct validation_list	 pending;	/* sent on this connection */
	size_t			 npending;
	struct event		*hello_timer;
	struct event		*ping_timer;
	struct event		*pong_timer;
	struct event		*restart_timer;
	struct event		*kill_timer;
	char			 ping_id[32];	/* "" when no ping is out */
	unsigned long		 pings;
	int			 backoff_s;
	time_t			 started;	/* monotonic seconds */
};

struct dispatch {
	struct core		*core;
	struct event_base	*base;
	struct validator	 validators[CONFIG_MAX_VALIDATORS];
	size_t			 nvalidators;
	struct validation_list	 queue;		/* waiting for a validator */
	size_t			 nqueued;
	unsigned long		 generation;
	unsigned long		 counter;
	struct event		*sigchld;
	int			 stopping;
};

struct validation {
	TAILQ_ENTRY(validation)	 entry;
	struct dispatch		*dispatch;
	struct validator	*validator;	/* NULL while queued */
	int			 listed;	/* in a queue or pending list */
	char			 id[64];
	char			*type;
	struct json_object	*msg;		/* kept for a retry */
	int			 attempts;	/* times sent */
	dispatch_cb		*cb;
	void			*arg;
	struct event		*timer;
	int			 timeout_ms;
};

static void	validator_start(struct validator *);
static void	validator_ping(struct validator *);
static void	validator_fail(struct validator *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

static time_t
dispatch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- validations ---- */

static void
validation_unlink(struct validation *val)
{
	if (!val->listed)
		return;
	if (val->validator != NULL) {
		TAILQ_REMOVE(&val->validator->pending, val, entry);
		val->validator->npending--;
	} else {
		TAILQ_REMOVE(&val->dispatch->queue, val, entry);
		val->dispatch->nqueued--;
	}
	val->listed = 0;
}

/* Call the callback once and free the validation.  The callback runs
 * last, after the validation left every list, so it may call
 * dispatch_validate again. */
static void
validation_finish(struct validation *val, struct json_object *result,
    const char *reason)
{
	dispatch_cb *cb = val->cb;
	void *arg = val->arg;

	validation_unlink(val);
	if (val->timer != NULL)
		event_free(val->timer);
	json_object_put(val->msg);
	free(val->type);
	free(val);
	cb(arg, result, reason);
}

static void
validation_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct validation *val = arg;
	struct validator *v = val->validator;
	char reason[256];

	if (v != NULL) {
		log_warn("validator %s[%ld] sent no result for validation "
		    "%s within %d ms", val->validator->name,
		    val->validator->peer_pid, val->id, val->timeout_ms);
		snprintf(reason, sizeof(reason), "validator %s sent no result "
		    "within %d ms", val->validator->name, val->timeout_ms);
	} else {
		snprintf(reason, sizeof(reason), "no validator for %s was "
		    "available within %d ms", val->type, val->timeout_ms);
	}
	validation_finish(val, NULL, reason);

	/* A validator that sends nothing may be hung: check at once rather
	 * than at the next periodic ping. */
	if (v != NULL)
		validator_ping(v);
}

/* Fail every validation outstanding on v. */
static void
validator_fail_pending(struct validator *v, const char *reason)
{
	struct validation *val;

	while ((val = TAILQ_FIRST(&v->pending)) != NULL)
		validation_finish(val, NULL, reason);
}

/* v's connection dropped: put the validations sent on it only once back
 * at the head of the queue, in their order, for the next connection, and
 * fail those that were already retried. */
static void
validator_retry_pending(struct validator *v, const char *reason)
{
	struct dispatch *d = v->dispatch;
	struct validation *val, *prev;
	size_t retried = 0, failed = 0;

	if (d->stopping) {
		validator_fail_pending(v, reason);
		return;
	}
	for (val = TAILQ_LAST(&v->pending, validation_list); val != NULL;
	    val = prev) {
		prev = TAILQ_PREV(val, validation_list, entry);
		if (val->attempts >= DISPATCH_MAX_ATTEMPTS)
			continue;
		TAILQ_REMOVE(&v->pending, val, entry);
		v->npending--;
		val->validator = NULL;
		TAILQ_INSERT_HEAD(&d->queue, val, entry);
		d->nqueued++;
		retried++;
	}
	failed = v->npending;
	if (retried > 0 || failed > 0)
		log_warn("validator %s[%ld] dropped with %zu validations in "
		    "flight: %zu queued for a retry, %zu failed after their "
		    "retry", v->name, v->peer_pid, retried + failed, retried,
		    failed);
	validator_fail_pending(v, reason);
}

/* ---- writing ---- */

static int
validator_write(struct validator *v, struct json_object *obj)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	const char *text;
	size_t len = 0;

	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL || frame_header(len, hdr) != FRAME_COMPLETE)
		return -1;
	if (bufferevent_write(v->bev, hdr, sizeof(hdr)) == -1 ||
	    bufferevent_write(v->bev, text, len) == -1)
		return -1;
	return 0;
}

/* Send val on v and move it to v's pending list, or fail it. */
static void
validator_send(struct validator *v, struct validation *val)
{
	struct dispatch *d = v->dispatch;
	struct json_object *id;

	snprintf(val->id, sizeof(val->id), "v%lu-%lu", v->generation,
	    ++d->counter);
	if ((id = json_object_new_string(val->id)) == NULL ||
	    json_object_object_add(val->msg, "id", id) != 0) {
		json_object_put(id);
		validation_finish(val, NULL, "out of memory");
		return;
	}
	if (validator_write(v, val->msg) == -1) {
		validation_finish(val, NULL, "the validate message could not "
		    "be sent");
		return;
	}
	val->attempts++;
	val->validator = v;
	val->listed = 1;
	TAILQ_INSERT_TAIL(&v->pending, val, entry);
	v->npending++;
	log_debug("validation %s for %s sent to validator %s[%ld] (attempt "
	    "%d of %d)", val->id, val->type, v->name, v->peer_pid,
	    val->attempts, DISPATCH_MAX_ATTEMPTS);
}

/* The ready validator for type with the fewest outstanding validations. */
static struct validator *
dispatch_pick(struct dispatch *d, const char *type)
{
	struct validator *v, *best = NULL;
	size_t i;

	for (i = 0; i < d->nvalidators; i++) {
		v = &d->validators[i];
		if (v->state != VALIDATOR_READY || !v->serves ||
		    strcmp(v->cfg->type, type) != 0)
			continue;
		if (best == NULL || v->npending < best->npending)
			best = v;
	}
	return best;
}

/* Send the queued validations that v serves. */
static void
validator_drain_queue(struct validator *v)
{
	struct dispatch *d = v->dispatch;
	struct validation_list mine;
	struct validation *val, *next;

	TAILQ_INIT(&mine);
	for (val = TAILQ_FIRST(&d->queue); val != NULL; val = next) {
		next = TAILQ_NEXT(val, entry);
		if (strcmp(val->type, v->cfg->type) != 0)
			continue;
		TAILQ_REMOVE(&d->queue, val, entry);
		d->nqueued--;
		val->listed = 0;
		TAILQ_INSERT_TAIL(&mine, val, entry);
	}
	while ((val = TAILQ_FIRST(&mine)) != NULL) {
		TAILQ_REMOVE(&mine, val, entry);
		validator_send(v, val);
	}
}

/* ---- connection life cycle ---- */

/* Restart or redial after the backoff delay.  last_pid is the process
 * that just ended or whose connection dropped, 0 when there was none. */
static void
validator_schedule_restart(struct validator *v, long last_pid)
{
	struct timeval tv = { 0, 0 };
	int delay;

	if (v->dispatch->stopping)
		return;
	delay = supervisor_backoff(v->backoff_s, dispatch_now() - v->started,
	    &v->backoff_s);
	tv.tv_sec = delay;
	if (last_pid > 0)
		log_info("%s validator %s in %d s (last instance: pid %ld)",
		    v->cfg->exec != NULL ? "restarting" : "redialling",
		    v->name, delay, last_pid);
	else
		log_info("%s validator %s in %d s", v->cfg->exec != NULL ?
		    "restarting" : "redialling", v->name, delay);
	evtimer_add(v->restart_timer, &tv);
}

/* Drop the connection: queue what is outstanding on it for a retry (or
 * fail it), kill our child (restarted when reaped) at once or after
 * DISPATCH_EXIT_GRACE_MS, or redial a socket later. */
static void
validator_down(struct validator *v, const char *reason, int grace)
{
	struct timeval tv = { DISPATCH_EXIT_GRACE_MS / 1000,
	    (DISPATCH_EXIT_GRACE_MS % 1000) * 1000 };

	if (v->state == VALIDATOR_DOWN)
		return;
	if (v->bev != NULL)
		bufferevent_free(v->bev);
	v->bev = NULL;
	v->state = VALIDATOR_DOWN;
	v->serves = 0;
	v->ping_id[0] = '\0';
	event_del(v->hello_timer);
	event_del(v->ping_timer);
	event_del(v->pong_timer);

	validator_retry_pending(v, reason);
	if (v->child > 0 && grace)
		evtimer_add(v->kill_timer, &tv);
	else if (v->child > 0)
		(void)kill(v->child, SIGKILL);
	else if (v->cfg->exec == NULL)
		validator_schedule_restart(v, v->peer_pid);
}

static void
validator_fail(struct validator *v, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_warn("validator %s[%ld]: %s; dropping the connection", v->name,
	    v->peer_pid, reason);
	validator_down(v, "validator restarted", 0);
}

static void
validator_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct validator *v = arg;

	if (v->child > 0) {
		log_warn("validator %s[%ld] closed its socket but did not "
		    "exit; killing it", v->name, (long)v->child);
		(void)kill(v->child, SIGKILL);
	}
}

static void
validator_hello_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	validator_fail(arg, "no hello within %d s", DISPATCH_HELLO_TIMEOUT_S);
}

static void
validator_pong_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	validator_fail(arg, "no pong within %d s", DISPATCH_PONG_TIMEOUT_S);
}

/* Send a ping unless one is out already; no pong within
 * DISPATCH_PONG_TIMEOUT_S drops the connection. */
static void
validator_ping(struct validator *v)
{
	struct timeval tv = { DISPATCH_PONG_TIMEOUT_S, 0 };
	struct json_object *ping;
	int r;

	if (v->state != VALIDATOR_READY || v->ping_id[0] != '\0')
		return;
	snprintf(v->ping_id, sizeof(v->ping_id), "p%lu-%lu", v->generation,
	    ++v->pings);
	if ((ping = msg_ping(v->ping_id)) == NULL) {
		v->ping_id[0] = '\0';
		return;
	}
	r = validator_write(v, ping);
	json_object_put(ping);
	if (r == -1) {
		validator_fail(v, "sending a ping failed");
		return;
	}
	evtimer_add(v->pong_timer, &tv);
}

static void
validator_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	validator_ping(arg);
}

/* ---- reading ---- */

static void
validator_on_hello(struct validator *v, struct json_object *msg)
{
	struct timeval ping = { DISPATCH_PING_INTERVAL_S, 0 };
	struct json_object *types, *t;
	const char *name, *version;
	char err[128], ename[DISPATCH_MAX_NAME_LEN], ever[64];
	size_t i, n;

	if ((name = msg_get_string(msg, "name", DISPATCH_MAX_NAME_LEN, err,
	    sizeof(err))) == NULL ||
	    (version = msg_get_string(msg, "version", 64, err,
	    sizeof(err))) == NULL) {
		validator_fail(v, "invalid hello: %s", err);
		return;
	}
	if (!json_object_object_get_ex(msg, "challenge_types", &types) ||
	    !json_object_is_type(types, json_type_array) ||
	    (n = json_object_array_length(types)) > DISPATCH_MAX_HELLO_TYPES) {
		validator_fail(v, "invalid hello: \"challenge_types\" is "
		    "missing, not an array or longer than %d",
		    DISPATCH_MAX_HELLO_TYPES);
		return;
	}
	v->serves = 0;
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(types, i);
		if (!json_object_is_type(t, json_type_string)) {
			validator_fail(v, "invalid hello: \"challenge_types\" "
			    "holds a non-string");
			return;
		}
		if (strcmp(json_object_get_string(t), v->cfg->type) == 0)
			v->serves = 1;
	}

	log_escape(name, strlen(name), ename, sizeof(ename));
	log_escape(version, strlen(version), ever, sizeof(ever));
	event_del(v->hello_timer);
	v->state = VALIDATOR_READY;
	evtimer_add(v->ping_timer, &ping);
	if (!v->serves) {
		log_warn("validator %s[%ld] (%s %s) does not list %s in its "
		    "hello, so it gets no %s validations; fix the "
		    "validator's entry in %s", v->name, v->peer_pid, ename,
		    ever, v->cfg->type, v->cfg->type,
		    v->dispatch->core->cfg->path);
		return;
	}
	log_info("validator %s[%ld] (%s %s) ready for %s", v->name,
	    v->peer_pid, ename, ever, v->cfg->type);
	validator_drain_queue(v);
}

static void
validator_on_result(struct validator *v, struct json_object *msg)
{
	struct validation *val;
	const char *id, *status;
	char err[128], eid[80];

	id = json_object_get_string(json_object_object_get(msg, "id"));
	TAILQ_FOREACH(val, &v->pending, entry)
		if (strcmp(val->id, id) == 0)
			break;
	if (val == NULL) {
		log_warn("validator %s[%ld] sent a result for unknown id "
		    "\"%s\" (late, or never sent on this connection); "
		    "dropped", v->name, v->peer_pid,
		    log_escape(id, strlen(id), eid, sizeof(eid)));
		return;
	}

	status = msg_get_string(msg, "status", 16, err, sizeof(err));
	if (status == NULL || (strcmp(status, "valid") != 0 &&
	    strcmp(status, "invalid") != 0)) {
		validation_finish(val, NULL, "the validator sent an invalid "
		    "result");
		validator_fail(v, "invalid result for %s: %s", id,
		    status == NULL ? err : "\"status\" is neither valid nor "
		    "invalid");
		return;
	}
	log_debug("validator %s[%ld] result for %s: %s", v->name, v->peer_pid,
	    val->id, status);
	validation_finish(val, msg, NULL);
}

static void
validator_on_pong(struct validator *v, struct json_object *msg)
{
	const char *id;

	id = json_object_get_string(json_object_object_get(msg, "id"));
	if (v->ping_id[0] == '\0' || strcmp(id, v->ping_id) != 0) {
		validator_fail(v, "pong for a ping that is not outstanding");
		return;
	}
	v->ping_id[0] = '\0';
	event_del(v->pong_timer);
}

/* A log record: {"level": "error"|"warn"|"info"|"debug", "message": text
 * of at most DISPATCH_MAX_LOG_LEN bytes}.  The text is escaped before it
 * reaches our log. */
static void
validator_on_log(struct validator *v, struct json_object *msg)
{
	static const struct {
		const char	*name;
		enum log_level	 level;
	} levels[] = {
		{ "error", LOG_LVL_ERROR }, { "warn", LOG_LVL_WARN },
		{ "warning", LOG_LVL_WARN }, { "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
	};
	const char *level, *text;
	char err[128], escaped[DISPATCH_MAX_LOG_LEN * 4 + 8];
	size_t i;

	if ((level = msg_get_string(msg, "level", 16, err,
	    sizeof(err))) == NULL ||
	    (text = msg_get_string(msg, "message", DISPATCH_MAX_LOG_LEN, err,
	    sizeof(err))) == NULL) {
		log_warn("validator %s[%ld] sent an invalid log record (%s); "
		    "dropped", v->name, v->peer_pid, err);
		return;
	}
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(level, levels[i].name) == 0)
			break;
	if (i == sizeof(levels) / sizeof(levels[0])) {
		log_warn("validator %s[%ld] sent a log record with an unknown "
		    "level; dropped", v->name, v->peer_pid);
		return;
	}
	log_msg(levels[i].level, "validator %s[%ld]: %s", v->name,
	    v->peer_pid, log_escape(text, strlen(text), escaped,
	    sizeof(escaped)));
}

/* Which messages a validator may send in which state. */
static void
validator_handle(struct validator *v, struct json_object *msg,
    enum msg_type type)
{
	if (type == MSG_LOG) {
		validator_on_log(v, msg);
		return;
	}
	/* PROTOCOL.md: a message type this version does not define is
	 * ignored, so that validators can be newer than ca-core. */
	if (type == MSG_UNKNOWN) {
		log_debug("validator %s[%ld] sent a message of an unknown "
		    "type; ignored", v->name, v->peer_pid);
		return;
	}
	if (v->state == VALIDATOR_HELLO && type == MSG_HELLO) {
		validator_on_hello(v, msg);
		return;
	}
	if (v->state == VALIDATOR_READY && type == MSG_RESULT) {
		validator_on_result(v, msg);
		return;
	}
	if (v->state == VALIDATOR_READY && type == MSG_PONG) {
		validator_on_pong(v, msg);
		return;
	}
	validator_fail(v, "message \"%s\" is not allowed %s",
	    msg_type_name(type), v->state == VALIDATOR_HELLO ?
	    "before hello" : "after hello");
}

static uint32_t
dispatch_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
validator_read_cb(struct bufferevent *bev, void *arg)
{
	struct validator *v = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct json_object *msg;
	enum frame_result fr;
	enum msg_type type;
	const uint8_t *body;
	uint8_t *data;
	size_t blen, consumed, need;
	unsigned long generation = v->generation;
	char err[256];

	/* Stop when the connection dropped or was replaced meanwhile. */
	while (v->state != VALIDATOR_DOWN && v->generation == generation &&
	    evbuffer_get_length(in) >= FRAME_HEADER_LEN) {
		/* The length is checked on the 4 header bytes alone, before
		 * waiting for the body. */
		data = evbuffer_pullup(in, FRAME_HEADER_LEN);
		fr = frame_decode(data, FRAME_HEADER_LEN, &body, &blen,
		    &consumed);
		if (fr == FRAME_BAD_LENGTH) {
			validator_fail(v, "frame length %u is outside "
			    "%d..%d", dispatch_be32(data), FRAME_MIN_BODY,
			    FRAME_MAX_BODY);
			return;
		}
		need = FRAME_HEADER_LEN + (size_t)dispatch_be32(data);
		if (evbuffer_get_length(in) < need)
			return;
		data = evbuffer_pullup(in, (ev_ssize_t)need);
		if (data == NULL || frame_decode(data, need, &body, &blen,
		    &consumed) != FRAME_COMPLETE) {
			validator_fail(v, "cannot buffer a frame of %zu "
			    "bytes", need);
			return;
		}
		msg = msg_parse(body, blen, &type, err, sizeof(err));
		evbuffer_drain(in, consumed);
		if (msg == NULL) {
			validator_fail(v, "invalid message: %s", err);
			return;
		}
		validator_handle(v, msg, type);
		json_object_put(msg);
	}
}

static void
validator_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct validator *v = arg;

	if (what & BEV_EVENT_EOF)
		log_warn("validator %s[%ld] closed the connection", v->name,
		    v->peer_pid);
	else if (what & BEV_EVENT_ERROR)
		log_warn("validator %s[%ld]: connection failed: %s", v->name,
		    v->peer_pid, strerror(EVUTIL_SOCKET_ERROR()));
	else
		return;
	/* A child that is exiting closes or resets its socket first. */
	validator_down(v, "validator restarted", 1);
}

/* Connect to v->cfg->socket.  Returns the descriptor or -1 with errno. */
static int
validator_dial(struct validator *v)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(v->cfg->socket) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, v->cfg->socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;

	/* A local connect completes at once or fails (ENOENT,
	 * ECONNREFUSED, EAGAIN when the backlog is full). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		v->peer_pid = (long)cred.pid;
	return fd;
}

static void
validator_start(struct validator *v)
{
	struct dispatch *d = v->dispatch;
	struct timeval hello = { DISPATCH_HELLO_TIMEOUT_S, 0 };
	char err[512];
	int fd;

	v->started = dispatch_now();
	v->peer_pid = 0;
	if (v->cfg->exec != NULL) {
		if ((v->child = supervisor_spawn(v->cfg->exec, v->cfg->args, &fd, err,
		    sizeof(err))) == -1) {
			log_error("starting validator %s failed: %s", v->name,
			    err);
			validator_schedule_restart(v, 0);
			return;
		}
		v->peer_pid = (long)v->child;
		log_info("started validator %s[%ld] for %s", v->name,
		    v->peer_pid, v->cfg->type);
	} else if ((fd = validator_dial(v)) == -1) {
		log_warn("cannot connect to validator socket %s: %s",
		    v->cfg->socket, strerror(errno));
		validator_schedule_restart(v, 0);
		return;
	} else
		log_info("connected to validator %s[%ld] for %s", v->name,
		    v->peer_pid, v->cfg->type);

	if ((v->bev = bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		log_error("validator %s: out of memory", v->name);
		if (v->child > 0)
			(void)kill(v->child, SIGKILL);
		else
			validator_schedule_restart(v, 0);
		return;
	}
	v->generation = ++d->generation;
	v->state = VALIDATOR_HELLO;
	bufferevent_setcb(v->bev, validator_read_cb, NULL, validator_event_cb,
	    v);
	bufferevent_enable(v->bev, EV_READ | EV_WRITE);
	evtimer_add(v->hello_timer, &hello);
}

static void
validator_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	validator_start(arg);
}

/* Reap our children that exited, log how, and restart them. */
static void
dispatch_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct dispatch *d = arg;
	struct validator *v;
	char how[160];
	size_t i;
	pid_t r;
	int status;

	for (i = 0; i < d->nvalidators; i++) {
		v = &d->validators[i];
		if (v->child <= 0)
			continue;
		do {
			r = waitpid(v->child, &status, WNOHANG);
		} while (r == -1 && errno == EINTR);
		if (r != v->child)
			continue;

		supervisor_describe_status(status, how, sizeof(how));
		log_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ?
		    LOG_LVL_ERROR : LOG_LVL_WARN, "validator %s[%ld] %s",
		    v->name, (long)v->child, how);
		v->child = -1;
		event_del(v->kill_timer);
		validator_down(v, "validator restarted", 0);
		validator_schedule_restart(v, (long)r);
	}
}

/* ---- interface ---- */

static int
dispatch_init_validator(struct dispatch *d, struct validator *v,
    const struct validator_config *vc, char *err, size_t errlen)
{
	const char *base;

	memset(v, 0, sizeof(*v));
	v->dispatch = d;
	v->cfg = vc;
	v->child = -1;
	TAILQ_INIT(&v->pending);

	if ((vc->exec == NULL) == (vc->socket == NULL)) {
		snprintf(err, errlen, "validator for %s needs exactly one of "
		    "\"exec\" and \"socket\"; fix %s", vc->type,
		    d->core->cfg->path);
		return -1;
	}
	if (vc->exec != NULL && access(vc->exec, X_OK) == -1) {
		snprintf(err, errlen, "validator program %s for %s is not "
		    "executable: %s; install it or fix \"exec\" in %s",
		    vc->exec, vc->type, strerror(errno), d->core->cfg->path);
		return -1;
	}
	base = vc->exec != NULL ? strrchr(vc->exec, '/') : NULL;
	snprintf(v->name, sizeof(v->name), "%s", vc->exec == NULL ?
	    vc->socket : base != NULL ? base + 1 : vc->exec);

	if ((v->hello_timer = evtimer_new(d->base, validator_hello_timeout_cb,
	    v)) == NULL ||
	    (v->ping_timer = event_new(d->base, -1, EV_PERSIST,
	    validator_ping_cb, v)) == NULL ||
	    (v->pong_timer = evtimer_new(d->base, validator_pong_timeout_cb,
	    v)) == NULL ||
	    (v->restart_timer = evtimer_new(d->base, validator_restart_cb,
	    v)) == NULL ||
	    (v->kill_timer = evtimer_new(d->base, validator_kill_cb,
	    v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

struct dispatch *
dispatch_start(struct core *core, char *err, size_t errlen)
{
	struct dispatch *d = NULL, *ret = NULL;
	const struct ca_config *cfg = core->cfg;
	size_t i;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	d->core = core;
	d->base = core->base;
	TAILQ_INIT(&d->queue);

	for (i = 0; i < cfg->nvalidators && i < CONFIG_MAX_VALIDATORS; i++) {
		d->nvalidators++;
		if (dispatch_init_validator(d, &d->validators[i],
		    &cfg->validators[i], err, errlen) == -1)
			goto out;
	}
	if ((d->sigchld = evsignal_new(d->base, SIGCHLD, dispatch_sigchld_cb,
	    d)) == NULL || evsignal_add(d->sigchld, NULL) == -1) {
		snprintf(err, errlen, "cannot install the SIGCHLD handler");
		goto out;
	}
	if (cfg->nvalidators == 0)
		log_warn("no validators configured in %s; every challenge "
		    "fails", cfg->path);
	for (i = 0; i < d->nvalidators; i++)
		validator_start(&d->validators[i]);

	ret = d;
	d = NULL;
 out:
	dispatch_stop(d);
	return ret;
}

int
dispatch_serves(struct dispatch *d, const char *challenge_type)
{
	size_t i;

	for (i = 0; d != NULL && i < d->nvalidators; i++)
		if (strcmp(d->validators[i].cfg->type, challenge_type) == 0)
			return 1;
	return 0;
}

void
dispatch_validate(struct dispatch *d, const char *challenge_type,
    struct json_object *msg, int timeout_ms, dispatch_cb *cb, void *arg)
{
	struct validation *val = NULL;
	struct validator *v;
	struct timeval tv;
	char reason[160];

	if (d == NULL || d->stopping) {
		json_object_put(msg);
		cb(arg, NULL, "ca-core is shutting down");
		return;
	}
	if (challenge_type == NULL || msg == NULL ||
	    !json_object_is_type(msg, json_type_object) || timeout_ms <= 0) {
		json_object_put(msg);
		cb(arg, NULL, "invalid validation request");
		return;
	}
	if (!dispatch_serves(d, challenge_type)) {
		json_object_put(msg);
		snprintf(reason, sizeof(reason), "no validator is configured "
		    "for %s", challenge_type);
		cb(arg, NULL, reason);
		return;
	}

	if ((val = calloc(1, sizeof(*val))) == NULL ||
	    (val->type = strdup(challenge_type)) == NULL ||
	    (val->timer = evtimer_new(d->base, validation_timeout_cb,
	    val)) == NULL) {
		json_object_put(msg);
		if (val != NULL) {
			free(val->type);
			free(val);
		}
		cb(arg, NULL, "out of memory");
		return;
	}
	val->dispatch = d;
	val->msg = msg;
	val->cb = cb;
	val->arg = arg;
	val->timeout_ms = timeout_ms;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(val->timer, &tv);

	if ((v = dispatch_pick(d, challenge_type)) != NULL) {
		validator_send(v, val);
		return;
	}
	if (d->nqueued >= DISPATCH_MAX_QUEUED) {
		snprintf(reason, sizeof(reason), "no validator for %s is "
		    "connected and %d validations already wait",
		    challenge_type, DISPATCH_MAX_QUEUED);
		validation_finish(val, NULL, reason);
		return;
	}
	log_debug("no validator for %s is ready; validation queued",
	    challenge_type);
	val->listed = 1;
	TAILQ_INSERT_TAIL(&d->queue, val, entry);
	d->nqueued++;
}

void
dispatch_stop(struct dispatch *d)
{
	pid_t pids[CONFIG_MAX_VALIDATORS];
	int statuses[CONFIG_MAX_VALIDATORS];
	struct validator *v;
	struct validation *val;
	char how[160];
	size_t i;

	if (d == NULL)
		return;
	d->stopping = 1;

	for (i = 0; i < d->nvalidators; i++) {
		v = &d->validators[i];
		if (v->bev != NULL)
			bufferevent_free(v->bev);
		v->bev = NULL;
		v->state = VALIDATOR_DOWN;
		validator_fail_pending(v, "ca-core is shutting down");
		pids[i] = v->child;
	}
	while ((val = TAILQ_FIRST(&d->queue)) != NULL)
		validation_finish(val, NULL, "ca-core is shutting down");

	supervisor_stop(pids, statuses, d->nvalidators);
	for (i = 0; i < d->nvalidators; i++) {
		v = &d->validators[i];
		if (pids[i] > 0 && statuses[i] != -1)
			log_info("validator %s[%ld] stopped: %s", v->name,
			    (long)pids[i], supervisor_describe_status(
			    statuses[i], how, sizeof(how)));
		if (v->hello_timer != NULL)
			event_free(v->hello_timer);
		if (v->ping_timer != NULL)
			event_free(v->ping_timer);
		if (v->pong_timer != NULL)
			event_free(v->pong_timer);
		if (v->restart_timer != NULL)
			event_free(v->restart_timer);
		if (v->kill_timer != NULL)
			event_free(v->kill_timer);
	}
	if (d->sigchld != NULL)
		event_free(d->sigchld);
	free(d);
}
