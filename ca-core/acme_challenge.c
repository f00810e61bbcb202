/*
 * Authorizations and challenges (RFC 8555 sections 7.1.4, 7.5, 7.5.1):
 * authz POST-as-GET and deactivation, challenge POST-as-GET, and the
 * challenge POST that starts a validation.  Pending objects past their
 * expiry are marked expired or invalid when they are read
 * (acme_order_expire()).
 *
 * Interface: acme_handle_authz(), acme_handle_challenge(),
 * acme_challenge_render() and acme_challenge_reply() in acme_internal.h.
 * Only the account that owns the order may read or start these objects;
 * another account gets unauthorized.  A pending challenge moves to
 * processing with one conditional UPDATE, so of two racing POSTs only one
 * starts a validation (acme_validation.c).  The other reads the state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_internal.h"
#include "core.h"
#include "log.h"

int
acme_challenge_render(struct core *core, const char *prefix,
    const char *challenge_id, struct json_object **out, char *authz_id,
    char *status)
{
	const char *params[1] = { challenge_id };
	struct json_object *obj = NULL, *error;
	char *url = NULL;
	PGresult *res;
	int ret = -1;

	*out = NULL;
	res = acme_db(core, "SELECT type, token, status, "
	    "extract(epoch FROM validated)::bigint, error::text, authz_id "
	    "FROM challenges WHERE id = $1", 1, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		ret = 1;
		goto out;
	}
	if ((obj = json_object_new_object()) == NULL ||
	    (url = acme_url(prefix, "chall", challenge_id, NULL)) == NULL ||
	    acme_json_add_string(obj, "type", PQgetvalue(res, 0, 0)) == -1 ||
	    acme_json_add_string(obj, "url", url) == -1 ||
	    acme_json_add_string(obj, "status", PQgetvalue(res, 0, 2)) == -1 ||
	    acme_json_add_string(obj, "token", PQgetvalue(res, 0, 1)) == -1)
		goto out;
	if (!PQgetisnull(res, 0, 3))
		acme_json_add_time(obj, "validated", PQgetvalue(res, 0, 3));
	if (!PQgetisnull(res, 0, 4) &&
	    (error = json_tokener_parse(PQgetvalue(res, 0, 4))) != NULL)
		json_object_object_add(obj, "error", error);
	if (authz_id != NULL)
		snprintf(authz_id, 64, "%s", PQgetvalue(res, 0, 5));
	if (status != NULL)
		snprintf(status, 16, "%s", PQgetvalue(res, 0, 2));
	*out = obj;
	obj = NULL;
	ret = 0;
 out:
	free(url);
	json_object_put(obj);
	PQclear(res);
	return ret;
}

void
acme_challenge_reply(struct acme_request *r, const char *challenge_id)
{
	struct json_object *obj = NULL;
	char authz_id[64], status[16], *up = NULL, *link = NULL;

	if (acme_challenge_render(r->core, r->prefix, challenge_id, &obj,
	    authz_id, status) != 0) {
		acme_reply_internal(r, "challenge lookup failed");
		goto out;
	}
	if ((up = acme_url(r->prefix, "authz", authz_id, NULL)) == NULL ||
	    asprintf(&link, "<%s>;rel=\"up\"", up) == -1) {
		link = NULL;
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	acme_add_header(r, "Link", link);
	/* RFC 8555 section 8.2: Retry-After sets when the client should look
	 * again at a challenge that is not final. */
	if (strcmp(status, "pending") == 0 ||
	    strcmp(status, "processing") == 0)
		acme_add_header(r, "Retry-After", "1");
	acme_reply_json(r, 200, obj, NULL);
 out:
	free(link);
	free(up);
	json_object_put(obj);
}

/* Check that the account owns the object found by sql ($1 = id, first
 * column the owning account).  Returns 0, or -1 after replying. */
static int
acme_check_owner(struct acme_request *r, const char *sql, const char *what)
{
	const char *params[1] = { r->object_id };
	PGresult *res;
	int ret = -1;

	if ((res = acme_db(r->core, sql, 1, params)) == NULL) {
		acme_reply_internal(r, "ownership lookup failed");
		return -1;
	}
	if (PQntuples(res) != 1)
		acme_reply_problem(r, 404, "malformed", "no such %s", what);
	else if (strcmp(PQgetvalue(res, 0, 0), r->account.id) != 0)
		acme_reply_problem(r, 403, "unauthorized", "the %s belongs to "
		    "another account", what);
	else
		ret = 0;
	PQclear(res);
	return ret;
}

/* Add the "challenges" array.  RFC 8555 section 7.1.4 lists all of them
 * for a pending authorization, but for a valid one the challenge that was
 * validated and for an invalid one the challenge that failed.  An
 * authorization that ended without such a challenge (expired or
 * deactivated, or invalid because it expired) lists all. */
static int
acme_authz_add_challenges(struct acme_request *r, struct json_object *obj,
    const char *authz_status)
{
	const char *params[2] = { r->object_id, "" };
	struct json_object *list, *chall;
	PGresult *res;
	int i, ret = -1;

	if (strcmp(authz_status, "valid") == 0 ||
	    strcmp(authz_status, "invalid") == 0)
		params[1] = authz_status;
	res = acme_db(r->core, "SELECT id FROM challenges WHERE authz_id = $1 "
	    "AND ($2 = '' OR status = $2 OR NOT EXISTS (SELECT 1 FROM "
	    "challenges WHERE authz_id = $1 AND status = $2)) ORDER BY type",
	    2, params);
	if (res == NULL || (list = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(obj, "challenges", list);
	for (i = 0; i < PQntuples(res); i++) {
		if (acme_challenge_render(r->core, r->prefix,
		    PQgetvalue(res, i, 0), &chall, NULL, NULL) != 0)
			goto out;
		json_object_array_add(list, chall);
	}
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

/* Deactivate the authorization on {"status": "deactivated"} (RFC 8555
 * section 7.5.2).  Returns 0, or -1 after replying. */
static int
acme_authz_deactivate(struct acme_request *r)
{
	const char *params[1] = { r->object_id };
	struct json_object *status;
	PGresult *res;
	int ret = -1;

	if (!json_object_object_get_ex(r->payload, "status", &status) ||
	    !json_object_is_type(status, json_type_string) ||
	    strcmp(json_object_get_string(status), "deactivated") != 0) {
		acme_reply_problem(r, 400, "malformed", "an authorization is "
		    "read with POST-as-GET, and the only change a client may "
		    "make is {\"status\": \"deactivated\"}");
		return -1;
	}
	res = acme_db(r->core, "UPDATE authorizations SET status = "
	    "'deactivated' WHERE id = $1 AND status IN ('pending', 'valid') "
	    "RETURNING order_id", 1, params);
	if (res == NULL) {
		acme_reply_internal(r, "cannot deactivate the authorization");
		return -1;
	}
	if (PQntuples(res) != 1) {
		acme_reply_problem(r, 400, "malformed", "only a pending or "
		    "valid authorization can be deactivated");
		goto out;
	}
	log_info("acme: account %s: authorization %s of order %s "
	    "deactivated", r->account.id, r->object_id,
	    PQgetvalue(res, 0, 0));
	/* The order cannot become ready any more. */
	if (acme_order_expire(r->core, PQgetvalue(res, 0, 0)) == -1) {
		acme_reply_internal(r, "cannot update the order");
		goto out;
	}
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

/* Expire the objects of the order of the authorization (or, with
 * by_challenge, of the challenge) at r->object_id. */
static int
acme_authz_expire(struct acme_request *r, int by_challenge)
{
	const char *params[1] = { r->object_id };
	PGresult *res;
	int ret = -1;

	res = acme_db(r->core, by_challenge ? "SELECT a.order_id FROM "
	    "challenges c JOIN authorizations a ON a.id = c.authz_id WHERE "
	    "c.id = $1" : "SELECT order_id FROM authorizations WHERE id = $1",
	    1, params);
	if (res != NULL && PQntuples(res) == 1)
		ret = acme_order_expire(r->core, PQgetvalue(res, 0, 0));
	PQclear(res);
	return ret;
}

enum acme_outcome
acme_handle_authz(struct acme_request *r)
{
	const char *params[1] = { r->object_id };
	struct json_object *obj = NULL, *id;
	PGresult *res = NULL;
	int pending;

	if (acme_check_owner(r, "SELECT o.account_id FROM authorizations a "
	    "JOIN orders o ON o.id = a.order_id WHERE a.id = $1",
	    "authorization") == -1)
		return ACME_DONE;
	if (acme_authz_expire(r, 0) == -1) {
		acme_reply_internal(r, "authorization expiry update failed");
		return ACME_DONE;
	}
	if (!acme_is_post_as_get(r) && acme_authz_deactivate(r) == -1)
		return ACME_DONE;

	res = acme_db(r->core, "SELECT identifier_type, identifier_value, "
	    "wildcard, status, extract(epoch FROM expires)::bigint "
	    "FROM authorizations WHERE id = $1", 1, params);
	if (res == NULL || PQntuples(res) != 1 ||
	    (obj = json_object_new_object()) == NULL ||
	    (id = json_object_new_object()) == NULL) {
		acme_reply_internal(r, "authorization lookup failed");
		goto out;
	}
	json_object_object_add(obj, "identifier", id);
	acme_json_add_string(id, "type", PQgetvalue(res, 0, 0));
	acme_json_add_string(id, "value", PQgetvalue(res, 0, 1));
	acme_json_add_string(obj, "status", PQgetvalue(res, 0, 3));
	acme_json_add_time(obj, "expires", PQgetvalue(res, 0, 4));
	if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
		json_object_object_add(obj, "wildcard",
		    json_object_new_boolean(1));
	if (acme_authz_add_challenges(r, obj, PQgetvalue(res, 0, 3)) == -1) {
		acme_reply_internal(r, "challenge lookup failed");
		goto out;
	}
	pending = strcmp(PQgetvalue(res, 0, 3), "pending") == 0;
	if (pending)
		acme_add_header(r, "Retry-After", "1");
	acme_reply_json(r, 200, obj, NULL);
 out:
	json_object_put(obj);
	PQclear(res);
	return ACME_DONE;
}

/* Move the challenge from pending to processing when its authorization is
 * still pending.  Returns 1 when this request did, 0 when not, -1 on a
 * database error. */
static int
acme_challenge_claim(struct acme_request *r)
{
	const char *params[1] = { r->object_id };
	PGresult *res;
	int claimed;

	res = acme_db(r->core, "UPDATE challenges c SET status = 'processing', "
	    "started_at = now() FROM authorizations a WHERE c.id = $1 AND "
	    "c.status = 'pending' AND a.id = c.authz_id AND "
	    "a.status = 'pending' AND a.expires > now() RETURNING c.id", 1,
	    params);
	if (res == NULL)
		return -1;
	claimed = PQntuples(res) == 1;
	PQclear(res);
	return claimed;
}

enum acme_outcome
acme_handle_challenge(struct acme_request *r)
{
	int claimed;

	if (acme_check_owner(r, "SELECT o.account_id FROM challenges c "
	    "JOIN authorizations a ON a.id = c.authz_id "
	    "JOIN orders o ON o.id = a.order_id WHERE c.id = $1",
	    "challenge") == -1)
		return ACME_DONE;

	/* An empty payload reads the challenge.  Any JSON object ({} per
	 * RFC 8555 section 7.5.1) requests validation. */
	if (acme_is_post_as_get(r)) {
		acme_challenge_reply(r, r->object_id);
		return ACME_DONE;
	}
	if ((claimed = acme_challenge_claim(r)) == -1) {
		acme_reply_internal(r, "cannot start the challenge");
		return ACME_DONE;
	}
	if (claimed == 0) {
		/* The claim skips an authorization past its expiry; mark it
		 * expired so that the client's next read shows why. */
		if (acme_authz_expire(r, 1) == -1) {
			acme_reply_internal(r, "authorization expiry update "
			    "failed");
			return ACME_DONE;
		}
		log_debug("acme: account %s: challenge %s is not pending; "
		    "answering its state", r->account.id, r->object_id);
		acme_challenge_reply(r, r->object_id);
		return ACME_DONE;
	}
	log_info("acme: account %s: challenge %s: validation started",
	    r->account.id, r->object_id);
	return acme_validation_start(r->core, r->prefix, r->object_id, r);
}
