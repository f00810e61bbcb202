/*
 * Orders (RFC 8555 sections 7.1.3, 7.4): newOrder and order POST-as-GET.
 *
 * Interface: acme_handle_new_order(), acme_handle_order() and
 * acme_order_render() in acme_internal.h.  newOrder checks and
 * normalizes the identifiers (acme_syntax.c), then writes the order, one
 * authorization per identifier and its challenges in one transaction.
 * The challenge types offered are the provisioner's "challenges" option
 * (default: every type a validator serves) that can prove the identifier.
 * Bad input is a problem document; database failures are logged errors
 * and roll the transaction back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "acme_internal.h"
#include "acme_syntax.h"
#include "b64url.h"
#include "core.h"
#include "dispatch.h"
#include "log.h"
#include "util.h"

#define ACME_MAX_CHALLENGE_TYPES	(CONFIG_MAX_VALIDATORS + 3)

struct acme_new_order {
	struct acme_identifier	*ids;
	size_t			 nids;
	char			 not_before[24];	/* epoch text or "" */
	char			 not_after[24];
	const char		*types[ACME_MAX_CHALLENGE_TYPES];
	size_t			 ntypes;
};

static int
acme_type_listed(const char *const *types, size_t n, const char *type)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(types[i], type) == 0)
			return 1;
	return 0;
}

static void
acme_type_offer(struct acme_request *r, struct acme_new_order *o,
    const char *type)
{
	if (o->ntypes == ACME_MAX_CHALLENGE_TYPES ||
	    acme_type_listed(o->types, o->ntypes, type))
		return;
	if (r->core->dispatch == NULL ||
	    !dispatch_serves(r->core->dispatch, type)) {
		log_debug("acme: provisioner %s: no validator serves %s; not "
		    "offered", r->prov.name, type);
		return;
	}
	o->types[o->ntypes++] = type;
}

/* The challenge types this provisioner offers: its "challenges" option,
 * or the built-in and configured types, less those no validator serves. */
static void
acme_challenge_types(struct acme_request *r, struct acme_new_order *o)
{
	static const char *const builtin[] = { "http-01", "dns-01",
	    "tls-alpn-01" };
	const struct ca_config *cfg = r->core->cfg;
	struct json_object *list, *item;
	size_t i;

	if (json_object_object_get_ex(r->prov.options, "challenges", &list) &&
	    json_object_is_type(list, json_type_array)) {
		for (i = 0; i < json_object_array_length(list); i++) {
			item = json_object_array_get_idx(list, i);
			if (json_object_is_type(item, json_type_string))
				acme_type_offer(r, o,
				    json_object_get_string(item));
		}
		return;
	}
	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		acme_type_offer(r, o, builtin[i]);
	for (i = 0; i < cfg->nvalidators; i++)
		acme_type_offer(r, o, cfg->validators[i].type);
}

/* Add a subproblem {type, detail, identifier} for an identifier as the
 * client sent it.  Returns 0 or -1 on memory exhaustion. */
static int
acme_subproblem_add(struct json_object *list, const char *type,
    const char *detail, const char *id_type, const char *id_value)
{
	struct json_object *sub, *id;

	if ((sub = acme_problem_new(type, detail, 400)) == NULL)
		return -1;
	json_object_object_del(sub, "status");
	if ((id = json_object_new_object()) == NULL ||
	    json_object_object_add(sub, "identifier", id) != 0 ||
	    acme_json_add_string(id, "type", id_type) == -1 ||
	    acme_json_add_string(id, "value", id_value) == -1 ||
	    json_object_array_add(list, sub) != 0) {
		json_object_put(sub);
		return -1;
	}
	return 0;
}

/* Check one identifier's syntax and the provisioner's policy.  Returns
 * NULL, or the problem type of the rejection with a reason in err. */
static const char *
acme_order_identifier(struct acme_request *r, const char *type,
    const char *value, struct acme_identifier *id, char *err, size_t errlen)
{
	int rc;

	rc = acme_identifier_parse(type, value, id, err, errlen);
	if (rc == -2)
		return "unsupportedIdentifier";
	if (rc != 0 || acme_policy_check(r, id, err, errlen) != 0)
		return "rejectedIdentifier";
	return NULL;
}

/* Read the "identifiers" member.  Every identifier that is invalid or
 * against the provisioner's policy becomes one subproblem of a single
 * rejectedIdentifier problem (unsupportedIdentifier when that is the only
 * kind).  Returns 0 or -1 after replying. */
static int
acme_order_identifiers(struct acme_request *r, struct acme_new_order *o)
{
	struct json_object *list, *item, *type, *value, *subs = NULL;
	const char *problem, *top = NULL;
	char err[256], detail[300], first[300];
	size_t i, n, nbad = 0;

	if (!json_object_object_get_ex(r->payload, "identifiers", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    (n = json_object_array_length(list)) == 0) {
		acme_reply_problem(r, 400, "malformed", "\"identifiers\" must "
		    "be a non-empty array");
		return -1;
	}
	if (n > ACME_MAX_IDENTIFIERS) {
		acme_reply_problem(r, 400, "rejectedIdentifier", "an order may "
		    "have at most %d identifiers", ACME_MAX_IDENTIFIERS);
		return -1;
	}
	if ((o->ids = calloc(n, sizeof(*o->ids))) == NULL ||
	    (subs = json_object_new_array()) == NULL) {
		acme_reply_internal(r, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(list, i);
		if (!json_object_is_type(item, json_type_object) ||
		    !json_object_object_get_ex(item, "type", &type) ||
		    !json_object_object_get_ex(item, "value", &value) ||
		    !json_object_is_type(type, json_type_string) ||
		    !json_object_is_type(value, json_type_string)) {
			json_object_put(subs);
			acme_reply_problem(r, 400, "malformed", "identifier "
			    "%zu needs string members \"type\" and \"value\"",
			    i + 1);
			return -1;
		}
		problem = acme_order_identifier(r, json_object_get_string(type),
		    json_object_get_string(value), &o->ids[i], err,
		    sizeof(err));
		if (problem == NULL)
			continue;
		snprintf(detail, sizeof(detail), "identifier %zu: %s", i + 1,
		    err);
		if (nbad++ == 0)
			snprintf(first, sizeof(first), "%s", detail);
		if (top == NULL || strcmp(problem, "rejectedIdentifier") == 0)
			top = problem;
		if (acme_subproblem_add(subs, problem, detail,
		    json_object_get_string(type),
		    json_object_get_string(value)) == -1) {
			json_object_put(subs);
			acme_reply_internal(r, "out of memory");
			return -1;
		}
	}
	if (nbad > 0) {
		/* The first reason goes into the top-level detail too, for
		 * clients that show only that. */
		acme_reply_problem_sub(r, 400, top, subs, "%zu of %zu "
		    "identifiers cannot be ordered; %s", nbad, n, first);
		return -1;
	}
	json_object_put(subs);
	o->nids = acme_identifier_dedup(o->ids, n);
	return 0;
}

/* Read one optional RFC 3339 member into epoch text.  Returns 0 (absent
 * leaves out empty), or -1 after replying. */
static int
acme_order_time(struct acme_request *r, const char *key, char *out,
    size_t outlen, time_t *t)
{
	struct json_object *value;

	out[0] = '\0';
	if (!json_object_object_get_ex(r->payload, key, &value))
		return 0;
	if (!json_object_is_type(value, json_type_string) ||
	    acme_time_parse(json_object_get_string(value), t) == -1) {
		acme_reply_problem(r, 400, "malformed", "\"%s\" must be an RFC "
		    "3339 date-time such as 2030-01-01T00:00:00Z", key);
		return -1;
	}
	snprintf(out, outlen, "%lld", (long long)*t);
	return 0;
}

/* Check notBefore and notAfter against the provisioner's lifetimes. */
static int
acme_order_validity(struct acme_request *r, struct acme_new_order *o)
{
	struct acme_durations d;
	time_t now = time(NULL), nb = now, na = 0;
	long long length;

	if (acme_order_time(r, "notBefore", o->not_before,
	    sizeof(o->not_before), &nb) == -1 ||
	    acme_order_time(r, "notAfter", o->not_after,
	    sizeof(o->not_after), &na) == -1)
		return -1;
	if (o->not_before[0] == '\0' && o->not_after[0] == '\0')
		return 0;

	acme_durations_get(r, &d);
	if (o->not_after[0] == '\0')
		na = nb + (time_t)d.def;
	if (na <= nb || na <= now) {
		acme_reply_problem(r, 400, "malformed", "\"notAfter\" must be "
		    "later than \"notBefore\" and than now");
		return -1;
	}
	length = (long long)(na - nb);
	if (length > d.max) {
		acme_reply_problem(r, 400, "malformed", "the requested "
		    "validity of %lld seconds is longer than the maximum of "
		    "%lld seconds of this provisioner", length, d.max);
		return -1;
	}
	if (length < d.min) {
		acme_reply_problem(r, 400, "malformed", "the requested "
		    "validity of %lld seconds is shorter than the minimum of "
		    "%lld seconds of this provisioner", length, d.min);
		return -1;
	}
	/* Store the computed end so that finalize signs what the order
	 * showed. */
	snprintf(o->not_after, sizeof(o->not_after), "%lld", (long long)na);
	return 0;
}

static char *
acme_new_token(void)
{
	uint8_t raw[32];

	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) != 0)
		return NULL;
	return b64url_encode(raw, sizeof(raw));
}

static int
acme_insert(struct core *core, const char *sql, int n,
    const char *const *params)
{
	PGresult *res;

	if ((res = acme_db(core, sql, n, params)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static int
acme_insert_challenges(struct core *core, const char *authz_id,
    const struct acme_identifier *id, const struct acme_new_order *o)
{
	const char *params[4];
	char *chall_id = NULL, *token = NULL;
	size_t i;
	int offered = 0, ret = -1;

	for (i = 0; i < o->ntypes; i++) {
		if (!acme_challenge_fits(o->types[i], id))
			continue;
		if ((chall_id = util_random_id()) == NULL ||
		    (token = acme_new_token()) == NULL)
			goto out;
		params[0] = chall_id;
		params[1] = authz_id;
		params[2] = o->types[i];
		params[3] = token;
		if (acme_insert(core, "INSERT INTO challenges (id, authz_id, "
		    "type, token) VALUES ($1, $2, $3, $4)", 4, params) == -1)
			goto out;
		free(chall_id);
		free(token);
		chall_id = token = NULL;
		offered++;
	}
	ret = offered;
 out:
	free(chall_id);
	free(token);
	return ret;
}

static struct json_object *
acme_identifiers_json(const struct acme_new_order *o)
{
	struct json_object *list, *item;
	size_t i;

	if ((list = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < o->nids; i++) {
		if ((item = json_object_new_object()) == NULL ||
		    json_object_array_add(list, item) != 0 ||
		    acme_json_add_string(item, "type",
		    acme_identifier_type_name(o->ids[i].type)) == -1 ||
		    acme_json_add_string(item, "value", o->ids[i].value) == -1) {
			json_object_put(list);
			return NULL;
		}
	}
	return list;
}

/* Write the order, its authorizations and challenges.  Returns 0, or -1
 * after replying; the caller rolls back. */
static int
acme_order_write(struct acme_request *r, const struct acme_new_order *o,
    const char *order_id, const char *identifiers)
{
	const char *params[6];
	char *authz_id = NULL, lifetime[16], alifetime[16];
	const char *value;
	size_t i;
	int ret = -1, offered;

	snprintf(lifetime, sizeof(lifetime), "%d", ACME_ORDER_LIFETIME);
	snprintf(alifetime, sizeof(alifetime), "%d", ACME_AUTHZ_LIFETIME);
	params[0] = order_id;
	params[1] = r->account.id;
	params[2] = identifiers;
	params[3] = o->not_before[0] != '\0' ? o->not_before : NULL;
	params[4] = o->not_after[0] != '\0' ? o->not_after : NULL;
	params[5] = lifetime;
	if (acme_insert(r->core, "INSERT INTO orders (id, account_id, "
	    "identifiers, not_before, not_after, expires) VALUES ($1, $2, "
	    "$3::jsonb, to_timestamp($4::bigint), to_timestamp($5::bigint), "
	    "now() + make_interval(secs => $6::int))", 6, params) == -1) {
		acme_reply_internal(r, "cannot store an order");
		return -1;
	}

	for (i = 0; i < o->nids; i++) {
		if ((authz_id = util_random_id()) == NULL) {
			acme_reply_internal(r, "cannot create an id");
			goto out;
		}
		/* An authorization names the base domain of a wildcard and
		 * sets "wildcard" (RFC 8555 section 7.1.4). */
		value = o->ids[i].value + (o->ids[i].wildcard ? 2 : 0);
		params[0] = authz_id;
		params[1] = order_id;
		params[2] = acme_identifier_type_name(o->ids[i].type);
		params[3] = value;
		params[4] = o->ids[i].wildcard ? "true" : "false";
		params[5] = alifetime;
		if (acme_insert(r->core, "INSERT INTO authorizations (id, "
		    "order_id, identifier_type, identifier_value, wildcard, "
		    "expires) VALUES ($1, $2, $3, $4, $5, "
		    "now() + make_interval(secs => $6::int))", 6,
		    params) == -1) {
			acme_reply_internal(r, "cannot store an authorization");
			goto out;
		}
		if ((offered = acme_insert_challenges(r->core, authz_id,
		    &o->ids[i], o)) == -1) {
			acme_reply_internal(r, "cannot store a challenge");
			goto out;
		}
		if (offered == 0) {
			acme_reply_problem(r, 400, "rejectedIdentifier", "no "
			    "challenge type of this provisioner can validate "
			    "%s \"%s\"", params[2], o->ids[i].value);
			goto out;
		}
		free(authz_id);
		authz_id = NULL;
	}
	ret = 0;
 out:
	free(authz_id);
	return ret;
}

enum acme_outcome
acme_handle_new_order(struct acme_request *r)
{
	struct acme_new_order o;
	struct json_object *ids = NULL, *order = NULL;
	char *order_id = NULL, *location = NULL;

	memset(&o, 0, sizeof(o));
	if (acme_is_post_as_get(r)) {
		acme_reply_problem(r, 400, "malformed", "newOrder needs a JSON "
		    "object payload");
		goto out;
	}
	if (acme_order_identifiers(r, &o) == -1 ||
	    acme_order_validity(r, &o) == -1)
		goto out;
	acme_challenge_types(r, &o);
	if ((ids = acme_identifiers_json(&o)) == NULL ||
	    (order_id = util_random_id()) == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}

	if (acme_db_begin(r->core) == -1) {
		acme_reply_internal(r, "cannot begin a transaction");
		goto out;
	}
	if (acme_order_write(r, &o, order_id, json_object_to_json_string_ext(
	    ids, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == -1) {
		acme_db_rollback(r->core);
		goto out;
	}
	if (acme_db_commit(r->core) == -1) {
		acme_reply_internal(r, "cannot commit a new order");
		goto out;
	}
	log_info("acme: account %s: order %s created with %zu identifiers, "
	    "first %s", r->account.id, order_id, o.nids, o.ids[0].value);

	location = acme_url(r->prefix, "order", order_id, NULL);
	if (location == NULL || acme_order_render(r->core, r->prefix, order_id,
	    r->account.id, &order, NULL) != 0) {
		acme_reply_internal(r, "cannot read back a new order");
		goto out;
	}
	acme_reply_json(r, 201, order, location);
 out:
	json_object_put(order);
	json_object_put(ids);
	free(location);
	free(order_id);
	free(o.ids);
	return ACME_DONE;
}

static int
acme_order_add_urls(struct core *core, const char *prefix,
    const char *order_id, const char *certificate_id, struct json_object *obj)
{
	const char *params[1] = { order_id };
	struct json_object *list;
	char *url;
	PGresult *res;
	int i, ret = -1;

	res = acme_db(core, "SELECT id FROM authorizations WHERE order_id = $1 "
	    "ORDER BY created_at, id", 1, params);
	if (res == NULL || (list = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(obj, "authorizations", list);
	for (i = 0; i < PQntuples(res); i++) {
		if ((url = acme_url(prefix, "authz", PQgetvalue(res, i, 0),
		    NULL)) == NULL)
			goto out;
		json_object_array_add(list, json_object_new_string(url));
		free(url);
	}
	if ((url = acme_url(prefix, "order", order_id, "finalize")) == NULL)
		goto out;
	acme_json_add_string(obj, "finalize", url);
	free(url);
	if (certificate_id != NULL) {
		if ((url = acme_url(prefix, "cert", certificate_id,
		    NULL)) == NULL)
			goto out;
		acme_json_add_string(obj, "certificate", url);
		free(url);
	}
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

int
acme_order_expire(struct core *core, const char *order_id)
{
	static const char error[] = "{\"type\": \"" ACME_ERROR_URN
	    "malformed\", \"detail\": \"the order expired or one of its "
	    "authorizations expired, failed or was deactivated before it was "
	    "finalized\", \"status\": 400}";
	const char *params[2] = { order_id, error };
	PGresult *res;

	/* RFC 8555 section 7.1.6: pending and valid authorizations expire.
	 * Until it is processing, an order expires, or becomes invalid when
	 * an authorization can no longer become valid.  One statement does
	 * both.  Its main query cannot see the rows that the WITH part
	 * changes, so it counts those separately. */
	res = acme_db(core, "WITH expired AS (UPDATE authorizations SET "
	    "status = 'expired' WHERE order_id = $1 AND status IN "
	    "('pending', 'valid') AND expires <= now() RETURNING id) "
	    "UPDATE orders SET status = 'invalid', error = $2::jsonb "
	    "WHERE id = $1 AND status IN ('pending', 'ready') AND "
	    "(expires <= now() OR EXISTS (SELECT 1 FROM expired) OR EXISTS "
	    "(SELECT 1 FROM authorizations WHERE order_id = $1 AND status IN "
	    "('invalid', 'deactivated', 'expired', 'revoked'))) RETURNING id",
	    2, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1)
		log_info("acme: order %s is now invalid (expired or an "
		    "authorization can no longer become valid)", order_id);
	PQclear(res);
	return 0;
}

int
acme_order_render(struct core *core, const char *prefix,
    const char *order_id, const char *account_id, struct json_object **out,
    char *status)
{
	const char *params[1] = { order_id };
	struct json_object *obj = NULL, *json;
	PGresult *res;
	int ret = -1;

	*out = NULL;
	if (acme_order_expire(core, order_id) == -1)
		return -1;
	res = acme_db(core, "SELECT account_id, status, identifiers::text, "
	    "extract(epoch FROM not_before)::bigint, "
	    "extract(epoch FROM not_after)::bigint, "
	    "extract(epoch FROM expires)::bigint, error::text, certificate_id "
	    "FROM orders WHERE id = $1", 1, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		ret = 1;
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), account_id) != 0) {
		ret = 2;
		goto out;
	}
	if ((obj = json_object_new_object()) == NULL)
		goto out;
	acme_json_add_string(obj, "status", PQgetvalue(res, 0, 1));
	acme_json_add_time(obj, "expires", PQgetvalue(res, 0, 5));
	if ((json = json_tokener_parse(PQgetvalue(res, 0, 2))) != NULL)
		json_object_object_add(obj, "identifiers", json);
	if (!PQgetisnull(res, 0, 3))
		acme_json_add_time(obj, "notBefore", PQgetvalue(res, 0, 3));
	if (!PQgetisnull(res, 0, 4))
		acme_json_add_time(obj, "notAfter", PQgetvalue(res, 0, 4));
	if (!PQgetisnull(res, 0, 6) &&
	    (json = json_tokener_parse(PQgetvalue(res, 0, 6))) != NULL)
		json_object_object_add(obj, "error", json);
	if (acme_order_add_urls(core, prefix, order_id, PQgetisnull(res, 0, 7) ?
	    NULL : PQgetvalue(res, 0, 7), obj) == -1)
		goto out;
	if (status != NULL)
		snprintf(status, 16, "%s", PQgetvalue(res, 0, 1));
	*out = obj;
	obj = NULL;
	ret = 0;
 out:
	json_object_put(obj);
	PQclear(res);
	return ret;
}

enum acme_outcome
acme_handle_order(struct acme_request *r)
{
	struct json_object *order = NULL;
	char status[16];
	int rc;

	if (acme_require_post_as_get(r, "an order") == -1)
		return ACME_DONE;
	rc = acme_order_render(r->core, r->prefix, r->object_id, r->account.id,
	    &order, status);
	if (rc == -1)
		acme_reply_internal(r, "order lookup failed");
	else if (rc == 1)
		acme_reply_problem(r, 404, "malformed", "no such order");
	else if (rc == 2)
		acme_reply_problem(r, 403, "unauthorized", "the order belongs "
		    "to another account");
	else {
		if (strcmp(status, "pending") == 0 ||
		    strcmp(status, "processing") == 0)
			acme_add_header(r, "Retry-After", "1");
		acme_reply_json(r, 200, order, NULL);
	}
	json_object_put(order);
	return ACME_DONE;
}
