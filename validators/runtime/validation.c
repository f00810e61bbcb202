/*
 * One validation: the parsed validate request, its deadline, and the single
 * result sent for it.
 *
 * Interface: the validation_* functions of runtime.h for validators, and
 * validation_new(), validation_abandon() and validation_find() of
 * runtime_int.h for the serve loop.
 *
 * Errors: a validate message with a missing or mistyped field breaks the
 * protocol, and validation_new() returns -1 so that the serve loop closes
 * the connection.  A deadline that passes is an ordinary outcome: the
 * result is invalid with a connection problem, or the problem that the
 * validator set.  A result for a connection that has closed is dropped
 * with a log line.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "msg.h"
#include "runtime_int.h"

/* Maximum length of a challenge or identifier type name. */
#define VALIDATION_MAX_TYPE_LEN		64

static void
validation_free(struct validation *v)
{
	if (v == NULL)
		return;
	if (v->conn != NULL) {
		LIST_REMOVE(v, entry);
		v->conn->nvalidations--;
		v->conn = NULL;
	}
	if (v->deadline != NULL)
		event_free(v->deadline);
	json_object_put(v->records);
	json_object_put(v->req.message);
	free(v);
}

/* Fetch a required member object; NULL with a reason in err otherwise. */
static struct json_object *
validation_get_object(struct json_object *obj, const char *field, char *err,
    size_t errlen)
{
	struct json_object *member;

	if (!json_object_object_get_ex(obj, field, &member)) {
		snprintf(err, errlen, "missing field \"%s\"", field);
		return NULL;
	}
	if (!json_object_is_type(member, json_type_object)) {
		snprintf(err, errlen, "field \"%s\" is not an object", field);
		return NULL;
	}
	return member;
}

static int
validation_parse_identifier(struct validation_request *req,
    struct json_object *msg, char *err, size_t errlen)
{
	struct json_object *ident;

	if ((ident = validation_get_object(msg, "identifier", err,
	    errlen)) == NULL)
		return -1;
	if ((req->identifier_type_name = msg_get_string(ident, "type",
	    VALIDATION_MAX_TYPE_LEN, err, errlen)) == NULL)
		return -1;
	if ((req->identifier = msg_get_string(ident, "value",
	    MSG_MAX_STRING_LEN, err, errlen)) == NULL)
		return -1;

	if (strcmp(req->identifier_type_name, "dns") == 0)
		req->identifier_type = IDENTIFIER_DNS;
	else if (strcmp(req->identifier_type_name, "ip") == 0)
		req->identifier_type = IDENTIFIER_IP;
	else
		req->identifier_type = IDENTIFIER_OTHER;
	return 0;
}

static int
validation_parse_challenge(struct validation_request *req,
    struct json_object *msg, char *err, size_t errlen)
{
	struct json_object *chall;

	if ((chall = validation_get_object(msg, "challenge", err,
	    errlen)) == NULL)
		return -1;
	if ((req->challenge_type = msg_get_string(chall, "type",
	    VALIDATION_MAX_TYPE_LEN, err, errlen)) == NULL)
		return -1;

	/* The validator checks the ACME limits and returns malformed, so
	 * only the protocol bound applies here. */
	if ((req->token = msg_get_string(chall, "token", MSG_MAX_STRING_LEN,
	    err, errlen)) == NULL)
		return -1;
	if ((req->key_authorization = msg_get_string(chall,
	    "key_authorization", MSG_MAX_STRING_LEN, err, errlen)) == NULL)
		return -1;
	return 0;
}

static int
validation_parse_options(struct validation_request *req,
    struct json_object *msg, char *err, size_t errlen)
{
	struct json_object *options, *member;
	int64_t n;

	req->http_port = VALIDATION_DEFAULT_HTTP_PORT;
	req->tls_port = VALIDATION_DEFAULT_TLS_PORT;
	req->timeout_ms = VALIDATION_DEFAULT_TIMEOUT_MS;
	req->resolver = NULL;

	if (!json_object_object_get_ex(msg, "options", &options) ||
	    json_object_is_type(options, json_type_null))
		return 0;
	if (!json_object_is_type(options, json_type_object)) {
		snprintf(err, errlen, "field \"options\" is not an object");
		return -1;
	}

	n = req->http_port;
	if (msg_get_int(options, "http_port", 1, 65535, &n, err, errlen) == -1)
		return -1;
	req->http_port = (int)n;
	n = req->tls_port;
	if (msg_get_int(options, "tls_port", 1, 65535, &n, err, errlen) == -1)
		return -1;
	req->tls_port = (int)n;

	/* Longer timeouts are capped rather than rejected: the deadline
	 * bounds what one validation may hold. */
	n = req->timeout_ms;
	if (msg_get_int(options, "timeout_ms", 1, INT64_MAX, &n, err,
	    errlen) == -1)
		return -1;
	req->timeout_ms = n > VALIDATION_MAX_TIMEOUT_MS ?
	    VALIDATION_MAX_TIMEOUT_MS : (int)n;

	if (json_object_object_get_ex(options, "resolver", &member) &&
	    !json_object_is_type(member, json_type_null)) {
		if ((req->resolver = msg_get_string(options, "resolver",
		    VALIDATION_MAX_RESOLVER_LEN, err, errlen)) == NULL)
			return -1;
	}
	return 0;
}

static int
validation_parse(struct validation_request *req, struct json_object *msg,
    char *err, size_t errlen)
{
	struct json_object *member;

	if ((req->id = msg_get_string(msg, "id", MSG_MAX_ID_LEN, err,
	    errlen)) == NULL)
		return -1;
	if (validation_parse_challenge(req, msg, err, errlen) == -1)
		return -1;
	if (validation_parse_identifier(req, msg, err, errlen) == -1)
		return -1;
	if (validation_parse_options(req, msg, err, errlen) == -1)
		return -1;

	req->account_thumbprint = NULL;
	if (json_object_object_get_ex(msg, "account_thumbprint", &member) &&
	    !json_object_is_type(member, json_type_null)) {
		if ((req->account_thumbprint = msg_get_string(msg,
		    "account_thumbprint", MSG_MAX_STRING_LEN, err,
		    errlen)) == NULL)
			return -1;
	}
	return 0;
}

static void
validation_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct validation *v = arg;
	const char *type = PROBLEM_CONNECTION;
	char detail[320];

	if (v->timeout_type != NULL) {
		type = v->timeout_type;
		snprintf(detail, sizeof(detail), "%s after %d ms",
		    v->timeout_detail, v->req.timeout_ms);
	} else
		snprintf(detail, sizeof(detail), "validation timed out after "
		    "%d ms", v->req.timeout_ms);
	validation_log(v, VLOG_INFO, "deadline passed, cancelling");
	if (v->cancel != NULL) {
		v->cancel(v, v->cancel_arg);
		v->cancel = NULL;
	}
	validation_finish(v, VALIDATION_INVALID, type, detail, NULL);
}

static int
validation_arm_deadline(struct validation *v, struct event_base *base)
{
	struct timeval tv;

	tv.tv_sec = v->req.timeout_ms / 1000;
	tv.tv_usec = (v->req.timeout_ms % 1000) * 1000;
	if (clock_gettime(CLOCK_MONOTONIC, &v->deadline_at) == -1)
		return -1;
	v->deadline_at.tv_sec += tv.tv_sec;
	v->deadline_at.tv_nsec += tv.tv_usec * 1000L;
	if (v->deadline_at.tv_nsec >= 1000000000L) {
		v->deadline_at.tv_sec++;
		v->deadline_at.tv_nsec -= 1000000000L;
	}

	if ((v->deadline = evtimer_new(base, validation_deadline_cb,
	    v)) == NULL)
		return -1;
	return evtimer_add(v->deadline, &tv);
}

static void
validation_make_prefix(struct validation *v)
{
	char id[160], ident[160];

	escape_text((const uint8_t *)v->req.id, strlen(v->req.id), 64, id,
	    sizeof(id));
	escape_text((const uint8_t *)v->req.identifier,
	    strlen(v->req.identifier), 80, ident, sizeof(ident));
	snprintf(v->log_prefix, sizeof(v->log_prefix), "id=%s identifier=%s",
	    id, ident);
}

int
validation_new(struct rt_conn *conn, struct json_object *msg,
    struct validation **out, char *err, size_t errlen)
{
	struct validation *v = NULL;
	int ret = -1;

	*out = NULL;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	v->req.message = msg;
	msg = NULL;
	if (validation_parse(&v->req, v->req.message, err, errlen) == -1)
		goto out;
	if (validation_find(conn, v->req.id) != NULL) {
		snprintf(err, errlen, "validation id already in flight");
		goto out;
	}
	validation_make_prefix(v);

	if (validation_arm_deadline(v, conn->rt->base) == -1) {
		snprintf(err, errlen, "cannot arm the deadline: %s",
		    strerror(errno));
		goto out;
	}
	v->conn = conn;
	LIST_INSERT_HEAD(&conn->validations, v, entry);
	conn->nvalidations++;

	*out = v;
	v = NULL;
	ret = 0;
 out:
	json_object_put(msg);
	validation_free(v);
	return ret;
}

struct validation *
validation_find(struct rt_conn *conn, const char *id)
{
	struct validation *v;

	LIST_FOREACH(v, &conn->validations, entry) {
		if (strcmp(v->req.id, id) == 0)
			return v;
	}
	return NULL;
}

void
validation_abandon(struct validation *v, const char *why)
{
	validation_log(v, VLOG_INFO, "abandoned: %s", why);
	if (v->cancel != NULL) {
		v->cancel(v, v->cancel_arg);
		v->cancel = NULL;
	}
	validation_free(v);
}

const struct validation_request *
validation_request(const struct validation *v)
{
	return &v->req;
}

struct event_base *
validation_base(const struct validation *v)
{
	return v->conn != NULL ? v->conn->rt->base : NULL;
}

int64_t
validation_remaining_ms(const struct validation *v)
{
	struct timespec now;
	int64_t ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return 0;
	ms = (int64_t)(v->deadline_at.tv_sec - now.tv_sec) * 1000 +
	    (v->deadline_at.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

void
validation_set_cancel(struct validation *v, validation_cancel_fn *fn,
    void *arg)
{
	v->cancel = fn;
	v->cancel_arg = fn != NULL ? arg : NULL;
}

void
validation_set_timeout_problem(struct validation *v,
    const char *problem_type, const char *detail)
{
	v->timeout_type = problem_type;
	snprintf(v->timeout_detail, sizeof(v->timeout_detail), "%s",
	    detail != NULL ? detail : "timed out");
}

void
validation_set_records(struct validation *v, struct json_object *records)
{
	json_object_put(v->records);
	v->records = records;
}

void
validation_finish(struct validation *v, enum validation_status status,
    const char *problem_type, const char *detail,
    struct json_object *records)
{
	struct json_object *result = NULL;
	int valid = status == VALIDATION_VALID;

	if (records == NULL) {
		records = v->records;
		v->records = NULL;
	}
	if (valid)
		validation_log(v, VLOG_INFO, "valid");
	else
		validation_log(v, VLOG_INFO, "invalid: %s: %s",
		    problem_type != NULL ? problem_type : "(no type)",
		    detail != NULL ? detail : "(no detail)");

	if (v->conn == NULL) {
		validation_log(v, VLOG_WARN, "connection closed, result "
		    "dropped");
		json_object_put(records);
		goto out;
	}

	/* msg_result() takes records over, also when it fails. */
	result = msg_result(v->req.id, valid ? "valid" : "invalid",
	    valid ? NULL : problem_type, valid ? NULL : detail, records);
	if (result == NULL) {
		validation_log(v, VLOG_ERROR, "cannot build the result: out "
		    "of memory");
		goto out;
	}
	if (rt_conn_send(v->conn, result) == -1)
		validation_log(v, VLOG_ERROR, "cannot queue the result");
 out:
	json_object_put(result);
	validation_free(v);
}

void
validation_log(const struct validation *v, int level, const char *fmt, ...)
{
	char line[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vlog(level, "%s: %s", v->log_prefix, line);
}
