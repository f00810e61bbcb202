/*
 * Accounts (RFC 8555 section 7.3): newAccount (with External Account
 * Binding, acme_eab.c), account POST-as-GET, contact update and
 * deactivation, and the account's order list in pages linked by
 * Link rel="next" (URL query "cursor=N", N the page number).
 *
 * Interface: acme_handle_new_account(), acme_handle_account() and
 * acme_handle_account_orders() in acme_internal.h.  An account is keyed
 * by its provisioner and the RFC 7638 thumbprint of its key.  Bad client
 * input becomes a problem document; database failures are logged errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "acme_internal.h"
#include "acme_syntax.h"
#include "core.h"
#include "log.h"
#include "util.h"

struct json_object *
acme_account_render(struct acme_request *r, const char *id,
    const char *status, const char *contact_text)
{
	struct json_object *obj, *contact;
	char *orders = NULL;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	contact = json_tokener_parse(contact_text);
	if (contact == NULL || !json_object_is_type(contact, json_type_array)) {
		json_object_put(contact);
		contact = json_object_new_array();
	}
	if ((orders = acme_url(r->prefix, "account", id, "orders")) == NULL ||
	    acme_json_add_string(obj, "status", status) == -1 ||
	    json_object_object_add(obj, "contact", contact) != 0 ||
	    acme_json_add_string(obj, "orders", orders) == -1) {
		json_object_put(obj);
		obj = NULL;
	}
	free(orders);
	return obj;
}

/* Check the "contact" member of payload.  Returns 0 with *text set to the
 * array as JSON text (NULL when absent; belongs to payload), or -1 after
 * replying. */
static int
acme_contact_parse(struct acme_request *r, const char **text)
{
	struct json_object *contact, *item;
	char err[256];
	size_t i, n;
	int rc;

	*text = NULL;
	if (!json_object_object_get_ex(r->payload, "contact", &contact))
		return 0;
	if (!json_object_is_type(contact, json_type_array)) {
		acme_reply_problem(r, 400, "malformed", "\"contact\" must be an "
		    "array of strings");
		return -1;
	}
	if ((n = json_object_array_length(contact)) > ACME_MAX_CONTACTS) {
		acme_reply_problem(r, 400, "invalidContact", "at most %d "
		    "contacts are allowed", ACME_MAX_CONTACTS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(contact, i);
		if (!json_object_is_type(item, json_type_string)) {
			acme_reply_problem(r, 400, "malformed", "\"contact\" "
			    "must be an array of strings");
			return -1;
		}
		rc = acme_contact_check(json_object_get_string(item), err,
		    sizeof(err));
		if (rc != 0) {
			acme_reply_problem(r, 400, rc == -2 ?
			    "unsupportedContact" : "invalidContact",
			    "contact %zu: %s", i + 1, err);
			return -1;
		}
	}
	*text = json_object_to_json_string_ext(contact, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	return 0;
}

static int
acme_payload_bool(struct acme_request *r, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(r->payload, key, &value) &&
	    json_object_is_type(value, json_type_boolean) &&
	    json_object_get_boolean(value);
}

/* Reply with the account of this key.  Returns 0, or 1 when there is
 * none, or -1 after replying with an error. */
static int
acme_account_reply_existing(struct acme_request *r)
{
	const char *params[2] = { r->prov.id, r->key->thumbprint };
	struct json_object *obj = NULL;
	char *location = NULL;
	PGresult *res;
	int ret = -1;

	res = acme_db(r->core, "SELECT id, status, contact::text FROM accounts "
	    "WHERE provisioner_id = $1 AND thumbprint = $2", 2, params);
	if (res == NULL) {
		acme_reply_internal(r, "account lookup failed");
		return -1;
	}
	if (PQntuples(res) != 1) {
		ret = 1;
		goto out;
	}
	location = acme_url(r->prefix, "account", PQgetvalue(res, 0, 0), NULL);
	obj = acme_account_render(r, PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	if (location == NULL || obj == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "valid") != 0) {
		acme_reply_problem(r, 401, "unauthorized", "the account of "
		    "this key is %s", PQgetvalue(res, 0, 1));
		goto out;
	}
	acme_reply_json(r, 200, obj, location);
	ret = 0;
 out:
	free(location);
	json_object_put(obj);
	PQclear(res);
	return ret;
}

static int
acme_account_check_terms(struct acme_request *r)
{
	struct json_object *tos;
	char *link = NULL;

	if (!json_object_object_get_ex(r->prov.options, "terms_of_service",
	    &tos) || acme_payload_bool(r, "termsOfServiceAgreed"))
		return 0;
	/* RFC 8555 section 7.3.3: userActionRequired about the terms links
	 * to them with rel="terms-of-service". */
	if (json_object_is_type(tos, json_type_string) &&
	    asprintf(&link, "<%s>;rel=\"terms-of-service\"",
	    json_object_get_string(tos)) != -1) {
		acme_add_header(r, "Link", link);
		free(link);
	}
	acme_reply_problem(r, 403, "userActionRequired", "agree to the terms "
	    "of service at %s (set termsOfServiceAgreed)",
	    json_object_get_string(tos));
	return -1;
}

static void
acme_account_create(struct acme_request *r, const char *contact,
    const char *eab_key_id)
{
	const char *params[5];
	struct json_object *obj = NULL;
	char *id = NULL, *location = NULL;
	PGresult *res = NULL;
	int rc;

	if ((id = util_random_id()) == NULL) {
		acme_reply_internal(r, "cannot create an account id");
		goto out;
	}
	params[0] = id;
	params[1] = r->prov.id;
	params[2] = r->key->canonical;
	params[3] = r->key->thumbprint;
	params[4] = contact != NULL ? contact : "[]";
	if (acme_db_begin(r->core) == -1) {
		acme_reply_internal(r, "cannot begin a transaction");
		goto out;
	}
	/* Of two racing requests with one key, the second finds the first's
	 * row and returns 200 like any repeated newAccount. */
	res = acme_db(r->core, "INSERT INTO accounts (id, provisioner_id, jwk, "
	    "thumbprint, contact) VALUES ($1, $2, $3::jsonb, $4, $5::jsonb) "
	    "ON CONFLICT (provisioner_id, thumbprint) DO NOTHING RETURNING id",
	    5, params);
	if (res == NULL) {
		acme_reply_internal(r, "cannot store an account");
		goto out;
	}
	if (PQntuples(res) == 0) {
		acme_db_rollback(r->core);
		if (acme_account_reply_existing(r) == 1)
			acme_reply_internal(r, "account vanished after a "
			    "conflicting insert");
		goto out;
	}
	if (eab_key_id != NULL && (rc = acme_eab_bind(r, eab_key_id,
	    id)) != 0) {
		if (rc == 1)
			acme_reply_problem(r, 403, "unauthorized", "the EAB key "
			    "was bound to another account at the same time");
		else
			acme_reply_internal(r, "cannot bind the EAB key");
		goto out;
	}
	if (acme_db_commit(r->core) == -1) {
		acme_reply_internal(r, "cannot commit a new account");
		goto out;
	}
	location = acme_url(r->prefix, "account", id, NULL);
	obj = acme_account_render(r, id, "valid", params[4]);
	if (location == NULL || obj == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	log_info("acme: provisioner %s: account %s created (key %s)",
	    r->prov.name, id, r->key->thumbprint);
	acme_reply_json(r, 201, obj, location);
 out:
	acme_db_rollback(r->core);
	PQclear(res);
	json_object_put(obj);
	free(location);
	free(id);
}

enum acme_outcome
acme_handle_new_account(struct acme_request *r)
{
	const char *contact;
	char *eab_key_id = NULL;
	int found;

	if (acme_is_post_as_get(r)) {
		acme_reply_problem(r, 400, "malformed", "newAccount needs a "
		    "JSON object payload");
		return ACME_DONE;
	}
	if (acme_contact_parse(r, &contact) == -1)
		return ACME_DONE;
	if ((found = acme_account_reply_existing(r)) != 1)
		return ACME_DONE;
	if (acme_payload_bool(r, "onlyReturnExisting")) {
		acme_reply_problem(r, 400, "accountDoesNotExist", "no account "
		    "exists for this key");
		return ACME_DONE;
	}
	if (acme_account_check_terms(r) == -1 ||
	    acme_eab_check(r, &eab_key_id) == -1)
		return ACME_DONE;
	acme_account_create(r, contact, eab_key_id);
	free(eab_key_id);
	return ACME_DONE;
}

/* Apply a contact or status change from the payload.  Returns 0, or -1
 * after replying. */
static int
acme_account_update(struct acme_request *r)
{
	struct json_object *status;
	const char *contact, *params[2];
	PGresult *res;

	if (acme_contact_parse(r, &contact) == -1)
		return -1;
	if (contact != NULL) {
		params[0] = r->account.id;
		params[1] = contact;
		if ((res = acme_db(r->core, "UPDATE accounts SET contact = "
		    "$2::jsonb WHERE id = $1", 2, params)) == NULL) {
			acme_reply_internal(r, "cannot update contacts");
			return -1;
		}
		PQclear(res);
		log_info("acme: account %s: contacts updated", r->account.id);
	}

	if (!json_object_object_get_ex(r->payload, "status", &status))
		return 0;
	if (!json_object_is_type(status, json_type_string) ||
	    (strcmp(json_object_get_string(status), "deactivated") != 0 &&
	    strcmp(json_object_get_string(status), "valid") != 0)) {
		acme_reply_problem(r, 400, "malformed", "an account's status "
		    "can only change to \"deactivated\"");
		return -1;
	}
	/* A client that sends back the whole account object repeats
	 * "valid", the status that every account signing a request has. */
	if (strcmp(json_object_get_string(status), "valid") == 0)
		return 0;
	params[0] = r->account.id;
	if ((res = acme_db(r->core, "UPDATE accounts SET status = "
	    "'deactivated' WHERE id = $1", 1, params)) == NULL) {
		acme_reply_internal(r, "cannot deactivate the account");
		return -1;
	}
	PQclear(res);
	log_info("acme: account %s deactivated", r->account.id);
	return 0;
}

enum acme_outcome
acme_handle_account(struct acme_request *r)
{
	const char *params[1] = { r->account.id };
	struct json_object *obj = NULL;
	PGresult *res = NULL;

	if (strcmp(r->object_id, r->account.id) != 0) {
		acme_reply_problem(r, 401, "unauthorized", "\"kid\" is not the "
		    "account at this URL");
		return ACME_DONE;
	}
	if (!acme_is_post_as_get(r) && acme_account_update(r) == -1)
		return ACME_DONE;

	res = acme_db(r->core, "SELECT status, contact::text FROM accounts "
	    "WHERE id = $1", 1, params);
	if (res == NULL || PQntuples(res) != 1) {
		acme_reply_internal(r, "account lookup failed");
		goto out;
	}
	obj = acme_account_render(r, r->account.id, PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1));
	if (obj == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	acme_reply_json(r, 200, obj, NULL);
 out:
	json_object_put(obj);
	PQclear(res);
	return ACME_DONE;
}

/* The page number in the query "cursor=N" of the request URL; 0 when
 * there is no query.  Returns -1 for anything else. */
static long
acme_orders_cursor(struct acme_request *r)
{
	const struct evhttp_uri *uri;
	const char *query;
	char *end;
	long page;

	uri = evhttp_request_get_evhttp_uri(r->req);
	if (uri == NULL || (query = evhttp_uri_get_query(uri)) == NULL ||
	    *query == '\0')
		return 0;
	if (strncmp(query, "cursor=", 7) != 0 || query[7] < '0' ||
	    query[7] > '9' || strlen(query + 7) > 9)
		return -1;
	page = strtol(query + 7, &end, 10);
	return *end == '\0' ? page : -1;
}

/* Add Link rel="next" to the page after page. */
static int
acme_orders_link_next(struct acme_request *r, long page)
{
	char *base, *link = NULL;
	int ret = -1;

	if ((base = acme_url(r->prefix, "account", r->account.id,
	    "orders")) == NULL)
		return -1;
	if (asprintf(&link, "<%s?cursor=%ld>;rel=\"next\"", base,
	    page + 1) != -1) {
		acme_add_header(r, "Link", link);
		free(link);
		ret = 0;
	}
	free(base);
	return ret;
}

enum acme_outcome
acme_handle_account_orders(struct acme_request *r)
{
	const char *params[3] = { r->account.id, NULL, NULL };
	struct json_object *obj = NULL, *list;
	char limit[24], offset[24], *url;
	PGresult *res = NULL;
	long long size;
	long page;
	int i, n;

	if (strcmp(r->object_id, r->account.id) != 0) {
		acme_reply_problem(r, 401, "unauthorized", "\"kid\" is not the "
		    "account at this URL");
		return ACME_DONE;
	}
	if (!acme_is_post_as_get(r)) {
		acme_reply_problem(r, 400, "malformed", "the orders list is read "
		    "with POST-as-GET (an empty payload)");
		return ACME_DONE;
	}
	if ((page = acme_orders_cursor(r)) == -1) {
		acme_reply_problem(r, 400, "malformed", "the only query of the "
		    "orders list is cursor=N, as in the Link rel=\"next\" of "
		    "the previous page");
		return ACME_DONE;
	}
	size = acme_option_int(r, "orders_page_size", ACME_ORDERS_PAGE, 1,
	    1000);
	/* One row more than a page shows whether a next page exists. */
	snprintf(limit, sizeof(limit), "%lld", size + 1);
	snprintf(offset, sizeof(offset), "%lld", (long long)page * size);
	params[1] = limit;
	params[2] = offset;
	/* RFC 8555 section 7.1.2.1: pending orders should be listed and
	 * invalid ones should not. */
	res = acme_db(r->core, "SELECT id FROM orders WHERE account_id = $1 "
	    "AND status <> 'invalid' ORDER BY created_at, id "
	    "LIMIT $2::bigint OFFSET $3::bigint", 3, params);
	if (res == NULL || (obj = json_object_new_object()) == NULL ||
	    (list = json_object_new_array()) == NULL) {
		acme_reply_internal(r, "order list failed");
		goto out;
	}
	json_object_object_add(obj, "orders", list);
	n = PQntuples(res);
	for (i = 0; i < n && i < size; i++) {
		if ((url = acme_url(r->prefix, "order", PQgetvalue(res, i, 0),
		    NULL)) == NULL) {
			acme_reply_internal(r, "out of memory");
			goto out;
		}
		json_object_array_add(list, json_object_new_string(url));
		free(url);
	}
	if (n > size && acme_orders_link_next(r, page) == -1) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	acme_reply_json(r, 200, obj, NULL);
 out:
	json_object_put(obj);
	PQclear(res);
	return ACME_DONE;
}
