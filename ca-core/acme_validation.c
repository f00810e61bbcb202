/*
 * Challenge validation: send a challenge in "processing" to a validator,
 * hold the client's challenge POST for up to ACME_HOLD_SECONDS, and apply
 * the result to challenge, authorization and order in one transaction.
 *
 * Interface: acme_validation_start() in acme_internal.h and
 * acme_resume_validations() in acme.h.  The held request gets its reply
 * from whichever comes first: the result (final state) or the hold timer
 * ("processing" with Retry-After).  A result arriving later is still
 * applied.  If the client closes the connection while held, the request
 * is let go and the result is only stored.  A validation that cannot run
 * (no validator, timeout, crash) makes the challenge invalid with
 * serverInternal.  A database failure while applying a result is logged
 * as an error and leaves the challenge in processing, so that
 * acme_resume_validations() retries it at the next start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "acme.h"
#include "acme_internal.h"
#include "core.h"
#include "dispatch.h"
#include "keyauth.h"
#include "log.h"
#include "msg.h"
#include "nonce.h"

#define ACME_PROBLEM_TYPE_MAX	128
#define ACME_PROBLEM_DETAIL_MAX	1024
#define ACME_RECORD_MAX		(64 * 1024)

struct acme_validation;

/* A challenge POST waiting for its validation result. */
struct acme_held {
	struct acme_request	*r;
	struct event		*timer;
	struct acme_validation	*v;
};

/* One validation in flight; freed when its result has been applied. */
struct acme_validation {
	struct core		*core;
	char			*challenge_id;
	char			*account_id;
	struct acme_held	*held;	/* NULL when no request waits */
};

static void
acme_validation_free(struct acme_validation *v)
{
	if (v == NULL)
		return;
	free(v->challenge_id);
	free(v->account_id);
	free(v);
}

/* Reply to the held request with the challenge as stored now, then free
 * the request and the hold. */
static void
acme_held_answer(struct acme_held *h)
{
	struct evhttp_connection *conn;

	conn = evhttp_request_get_connection(h->r->req);
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	if (h->v != NULL)
		h->v->held = NULL;
	acme_challenge_reply(h->r, h->r->object_id);
	acme_request_free(h->r);
	event_free(h->timer);
	free(h);
}

static void
acme_held_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct acme_held *h = arg;

	log_debug("acme: challenge %s: no result within %d s; replying "
	    "with processing", h->r->object_id, ACME_HOLD_SECONDS);
	acme_held_answer(h);
}

/* The client closed the connection of a held request. */
static void
acme_held_closed(struct evhttp_connection *conn, void *arg)
{
	struct acme_held *h = arg;

	log_debug("acme: challenge %s: client closed the connection before "
	    "the answer", h->r->object_id);
	if (h->v != NULL)
		h->v->held = NULL;

	/* libevent 2.1 detaches a request whose connection hit EOF before
	 * the reply (its connection becomes NULL) and leaves it to us;
	 * a request still attached is freed with the connection. */
	if (evhttp_request_get_connection(h->r->req) == NULL)
		evhttp_request_free(h->r->req);
	h->r->req = NULL;
	acme_request_free(h->r);
	event_free(h->timer);
	free(h);
}

static struct acme_held *
acme_held_new(struct core *core, struct acme_request *r)
{
	struct timeval bound = { ACME_HOLD_SECONDS, 0 };
	struct evhttp_connection *conn;
	struct acme_held *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->r = r;
	if ((h->timer = evtimer_new(core->base, acme_held_timeout, h)) == NULL ||
	    evtimer_add(h->timer, &bound) == -1) {
		if (h->timer != NULL)
			event_free(h->timer);
		free(h);
		return NULL;
	}
	/* NOTE: a connection has a single close callback; this replaces any
	 * that the HTTPS front set, and acme_held_answer() clears it. */
	if ((conn = evhttp_request_get_connection(r->req)) != NULL)
		evhttp_connection_set_closecb(conn, acme_held_closed, h);
	return h;
}

/* Problem status for a validator's error type. */
static int
acme_problem_status(const char *type)
{
	if (strcmp(type, ACME_ERROR_URN "serverInternal") == 0)
		return 500;
	if (strcmp(type, ACME_ERROR_URN "unauthorized") == 0)
		return 403;
	return 400;
}

/* Turn a validator's result message into status "valid" or "invalid", a problem
 * (invalid only) and the records.  Anything malformed is an invalid
 * result with serverInternal, because the validator broke the protocol. */
static const char *
acme_result_read(struct json_object *result, const char *reason,
    struct json_object **problem, const char **records)
{
	struct json_object *status, *error, *type, *detail, *rec;
	const char *t, *d;
	char buf[ACME_PROBLEM_DETAIL_MAX];
	size_t len;

	*problem = NULL;
	*records = NULL;
	if (result == NULL) {
		snprintf(buf, sizeof(buf), "validation could not run: %s",
		    reason != NULL ? reason : "unknown reason");
		*problem = acme_problem_new("serverInternal", buf, 500);
		return "invalid";
	}
	if (json_object_object_get_ex(result, "records", &rec) &&
	    json_object_is_type(rec, json_type_array)) {
		*records = json_object_to_json_string_length(rec,
		    JSON_C_TO_STRING_PLAIN, &len);
		if (*records != NULL && len > ACME_RECORD_MAX)
			*records = NULL;
	}
	if (json_object_object_get_ex(result, "status", &status) &&
	    json_object_is_type(status, json_type_string) &&
	    strcmp(json_object_get_string(status), "valid") == 0)
		return "valid";

	t = ACME_ERROR_URN "serverInternal";
	d = "the validator returned an invalid result";
	if (json_object_object_get_ex(result, "error", &error) &&
	    json_object_object_get_ex(error, "type", &type) &&
	    json_object_object_get_ex(error, "detail", &detail) &&
	    json_object_is_type(type, json_type_string) &&
	    json_object_is_type(detail, json_type_string) &&
	    strncmp(json_object_get_string(type), ACME_ERROR_URN,
	    strlen(ACME_ERROR_URN)) == 0 &&
	    strlen(json_object_get_string(type)) <= ACME_PROBLEM_TYPE_MAX) {
		t = json_object_get_string(type);
		d = json_object_get_string(detail);
	}
	snprintf(buf, sizeof(buf), "%s", d);
	*problem = acme_problem_new(t, buf, acme_problem_status(t));
	return "invalid";
}

/* Propagate a challenge's final status to its authorization and order.
 * Returns 0 or -1 on a database error. */
static int
acme_result_propagate(struct core *core, const char *authz_id,
    const char *status, struct json_object *problem)
{
	const char *params[3];
	struct json_object *order_error = NULL, *detail;
	char text[ACME_PROBLEM_DETAIL_MAX + 300];
	PGresult *res;
	int ret = -1;

	params[0] = authz_id;
	params[1] = status;
	res = acme_db(core, "UPDATE authorizations SET status = $2 WHERE "
	    "id = $1 AND status = 'pending' RETURNING order_id, "
	    "identifier_type || ' ' || identifier_value", 2, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		/* Another challenge decided this authorization already. */
		ret = 0;
		goto out;
	}
	params[0] = PQgetvalue(res, 0, 0);
	if (strcmp(status, "valid") == 0) {
		PQclear(acme_db(core, "UPDATE orders SET status = 'ready' "
		    "WHERE id = $1 AND status = 'pending' AND NOT EXISTS "
		    "(SELECT 1 FROM authorizations WHERE order_id = $1 AND "
		    "status <> 'valid')", 1, params));
		ret = PQtransactionStatus(core->db) == PQTRANS_INERROR ? -1 : 0;
		goto out;
	}

	json_object_object_get_ex(problem, "detail", &detail);
	snprintf(text, sizeof(text), "authorization of %s failed: %s",
	    PQgetvalue(res, 0, 1), json_object_get_string(detail));
	order_error = acme_problem_new(json_object_get_string(
	    json_object_object_get(problem, "type")), text,
	    json_object_get_int(json_object_object_get(problem, "status")));
	if (order_error == NULL)
		goto out;
	params[1] = json_object_to_json_string_ext(order_error,
	    JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	PQclear(acme_db(core, "UPDATE orders SET status = 'invalid', "
	    "error = $2::jsonb WHERE id = $1 AND status IN ('pending', "
	    "'ready')", 2, params));
	ret = PQtransactionStatus(core->db) == PQTRANS_INERROR ? -1 : 0;
 out:
	json_object_put(order_error);
	PQclear(res);
	return ret;
}

/* Store a validation result (or the reason none came).  Returns 0, or -1
 * on a database error (logged). */
static int
acme_validation_apply(struct core *core, const char *challenge_id,
    struct json_object *result, const char *reason)
{
	struct json_object *problem = NULL;
	const char *status, *records, *params[4], *detail;
	char escaped[300];
	PGresult *res = NULL;
	int ret = -1;

	status = acme_result_read(result, reason, &problem, &records);
	if (strcmp(status, "invalid") == 0 && problem == NULL) {
		log_error("acme: challenge %s: out of memory for a problem",
		    challenge_id);
		return -1;
	}
	params[0] = challenge_id;
	params[1] = status;
	params[2] = problem != NULL ? json_object_to_json_string_ext(problem,
	    JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	params[3] = records;

	if (acme_db_begin(core) == -1)
		goto out;
	res = acme_db(core, "UPDATE challenges SET status = $2, error = "
	    "$3::jsonb, record = $4::jsonb, validated = CASE WHEN $2 = "
	    "'valid' THEN now() END WHERE id = $1 AND status = 'processing' "
	    "RETURNING authz_id", 4, params);
	if (res == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		log_warn("acme: challenge %s: result arrived but the challenge "
		    "is no longer processing; ignored", challenge_id);
		acme_db_rollback(core);
		ret = 0;
		goto out;
	}
	if (acme_result_propagate(core, PQgetvalue(res, 0, 0), status,
	    problem) == -1 || acme_db_commit(core) == -1)
		goto out;
	if (problem != NULL) {
		detail = json_object_get_string(json_object_object_get(problem,
		    "detail"));
		log_info("acme: challenge %s (authz %s): invalid: %s: %s",
		    challenge_id, PQgetvalue(res, 0, 0),
		    json_object_get_string(json_object_object_get(problem,
		    "type")), log_escape(detail, strlen(detail), escaped,
		    sizeof(escaped)));
	} else
		log_info("acme: challenge %s (authz %s): valid", challenge_id,
		    PQgetvalue(res, 0, 0));
	ret = 0;
 out:
	if (ret == -1) {
		acme_db_rollback(core);
		log_error("acme: challenge %s: cannot store the validation "
		    "result; it stays processing until the next start",
		    challenge_id);
	}
	PQclear(res);
	json_object_put(problem);
	return ret;
}

static void
acme_validation_done(void *arg, struct json_object *result,
    const char *reason)
{
	struct acme_validation *v = arg;

	/* The dispatcher fails every pending validation when ca-core stops
	 * after its event loop ended.  Those challenges stay processing, so
	 * that acme_resume_validations() runs them at the next start. */
	if (result == NULL && (event_base_got_exit(v->core->base) ||
	    event_base_got_break(v->core->base))) {
		log_info("acme: challenge %s: left processing at shutdown; the "
		    "next start resumes it", v->challenge_id);
		if (v->held != NULL)
			acme_held_answer(v->held);
		acme_validation_free(v);
		return;
	}
	if (result == NULL)
		log_warn("acme: challenge %s (account %s): validation could "
		    "not run: %s", v->challenge_id, v->account_id,
		    reason != NULL ? reason : "unknown reason");
	(void)acme_validation_apply(v->core, v->challenge_id, result, reason);
	if (v->held != NULL)
		acme_held_answer(v->held);
	acme_validation_free(v);
}

static int
acme_add_int(struct json_object *obj, const char *key, int value)
{
	struct json_object *n;

	if ((n = json_object_new_int(value)) == NULL)
		return -1;
	if (json_object_object_add(obj, key, n) != 0) {
		json_object_put(n);
		return -1;
	}
	return 0;
}

static struct json_object *
acme_add_object(struct json_object *parent, const char *key)
{
	struct json_object *obj;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(parent, key, obj) != 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Build the validate message from a row of: type, token, identifier
 * type, identifier value, thumbprint. */
static struct json_object *
acme_validate_msg(struct core *core, PGresult *res, const char *url)
{
	const struct ca_config *cfg = core->cfg;
	struct json_object *msg, *chall, *id, *opts;
	char *keyauth;
	int ok;

	if ((msg = json_object_new_object()) == NULL)
		return NULL;
	keyauth = keyauth_build(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 4));
	ok = keyauth != NULL &&
	    acme_add_int(msg, "v", PROTO_VERSION) == 0 &&
	    acme_json_add_string(msg, "type", "validate") == 0 &&
	    (chall = acme_add_object(msg, "challenge")) != NULL &&
	    acme_json_add_string(chall, "type", PQgetvalue(res, 0, 0)) == 0 &&
	    acme_json_add_string(chall, "token", PQgetvalue(res, 0, 1)) == 0 &&
	    acme_json_add_string(chall, "key_authorization", keyauth) == 0 &&
	    acme_json_add_string(chall, "url", url) == 0 &&
	    (id = acme_add_object(msg, "identifier")) != NULL &&
	    acme_json_add_string(id, "type", PQgetvalue(res, 0, 2)) == 0 &&
	    acme_json_add_string(id, "value", PQgetvalue(res, 0, 3)) == 0 &&
	    acme_json_add_string(msg, "account_thumbprint",
	    PQgetvalue(res, 0, 4)) == 0 &&
	    (opts = acme_add_object(msg, "options")) != NULL &&
	    acme_add_int(opts, "http_port", cfg->http_port) == 0 &&
	    acme_add_int(opts, "tls_port", cfg->tls_port) == 0 &&
	    (cfg->resolver == NULL ||
	    acme_json_add_string(opts, "resolver", cfg->resolver) == 0) &&
	    acme_add_int(opts, "timeout_ms", ACME_VALIDATOR_TIMEOUT_MS) == 0;
	free(keyauth);
	if (!ok) {
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

/* Prepare the validation: its state and the validate message.  Returns
 * 0, or -1 with a reason for the challenge's error in why. */
static int
acme_validation_prepare(struct core *core, const char *prefix,
    const char *challenge_id, struct acme_validation **vp,
    struct json_object **msgp, char *type, size_t typelen, const char **why)
{
	const char *params[1] = { challenge_id };
	struct acme_validation *v = NULL;
	char *url = NULL;
	PGresult *res;
	int ret = -1;

	*vp = NULL;
	*msgp = NULL;
	*why = "internal error";
	res = acme_db(core, "SELECT c.type, c.token, a.identifier_type, "
	    "a.identifier_value, acc.thumbprint, acc.id FROM challenges c "
	    "JOIN authorizations a ON a.id = c.authz_id "
	    "JOIN orders o ON o.id = a.order_id "
	    "JOIN accounts acc ON acc.id = o.account_id WHERE c.id = $1", 1,
	    params);
	if (res == NULL || PQntuples(res) != 1)
		goto out;
	snprintf(type, typelen, "%s", PQgetvalue(res, 0, 0));
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->challenge_id = strdup(challenge_id)) == NULL ||
	    (v->account_id = strdup(PQgetvalue(res, 0, 5))) == NULL ||
	    (url = acme_url(prefix, "chall", challenge_id, NULL)) == NULL ||
	    (*msgp = acme_validate_msg(core, res, url)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	v->core = core;
	*vp = v;
	v = NULL;
	ret = 0;
 out:
	acme_validation_free(v);
	free(url);
	PQclear(res);
	return ret;
}

enum acme_outcome
acme_validation_start(struct core *core, const char *prefix,
    const char *challenge_id, struct acme_request *r)
{
	struct acme_validation *v;
	struct json_object *msg;
	struct acme_held *h = NULL;
	const char *why;
	char type[64];

	if (acme_validation_prepare(core, prefix, challenge_id, &v, &msg, type,
	    sizeof(type), &why) == -1) {
		log_error("acme: challenge %s: cannot start the validation: %s",
		    challenge_id, why);
		(void)acme_validation_apply(core, challenge_id, NULL, why);
		if (r != NULL)
			acme_challenge_reply(r, challenge_id);
		return ACME_DONE;
	}

	if (r != NULL && (h = acme_held_new(core, r)) != NULL) {
		h->v = v;
		v->held = h;
	}

	/* The callback may run before dispatch_validate() returns; from
	 * here on v and h belong to it. */
	if (core->dispatch == NULL) {
		json_object_put(msg);
		acme_validation_done(v, NULL, "no validator dispatcher");
	} else
		dispatch_validate(core->dispatch, type, msg,
		    ACME_VALIDATE_TIMEOUT_MS, acme_validation_done, v);

	if (r != NULL && h == NULL) {
		/* No hold could be set up, so reply with the state now. */
		acme_challenge_reply(r, challenge_id);
		return ACME_DONE;
	}
	return r != NULL ? ACME_HELD : ACME_DONE;
}

int
acme_resume_validations(struct core *core)
{
	char *prefix = NULL;
	PGresult *res;
	int i, n;

	(void)nonce_prune_start(core);
	res = acme_db(core, "SELECT c.id, p.name FROM challenges c "
	    "JOIN authorizations a ON a.id = c.authz_id "
	    "JOIN orders o ON o.id = a.order_id "
	    "JOIN accounts acc ON acc.id = o.account_id "
	    "JOIN provisioners p ON p.id = acc.provisioner_id "
	    "WHERE c.status = 'processing'", 0, NULL);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	/* NOTE: with several instances on one database, each restart
	 * re-dispatches every processing challenge, even one that another
	 * instance is still validating.  The first result to arrive wins. */
	for (i = 0; i < n; i++) {
		if (asprintf(&prefix, "%s/acme/%s", core->base_url,
		    PQgetvalue(res, i, 1)) == -1) {
			PQclear(res);
			return -1;
		}
		log_info("acme: challenge %s: resuming the validation left "
		    "processing", PQgetvalue(res, i, 0));
		(void)acme_validation_start(core, prefix, PQgetvalue(res, i, 0),
		    NULL);
		free(prefix);
		prefix = NULL;
	}
	PQclear(res);
	return 0;
}
