/*
 * Account key rollover (RFC 8555 section 7.3.5).
 *
 * Interface: acme_handle_key_change() in acme_internal.h.  The outer JWS
 * is verified by the router like any "kid" request, so it is signed by
 * the account's current key.  Its payload is an inner JWS signed by the
 * new key, with "jwk" (the new key), the same "url" as the outer JWS and
 * no "nonce" or "kid".  The inner payload names the account ("account",
 * the outer "kid") and its current key ("oldKey").  The key and its
 * thumbprint change in one UPDATE; a key that another account of the
 * provisioner has is a 409 with that account's URL in Location.  Bad
 * input is a problem document; database failures are logged errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_internal.h"
#include "core.h"
#include "db.h"
#include "jsonobj.h"
#include "log.h"

struct acme_keychange {
	struct jws		*inner;
	struct jwk		*new_key;
	struct json_object	*payload;	/* inner payload */
};

static void
acme_keychange_clear(struct acme_keychange *k)
{
	jws_free(k->inner);
	jwk_free(k->new_key);
	json_object_put(k->payload);
}

/* Parse the inner JWS and verify it with its own jwk.  Returns 0, or -1
 * after replying. */
static int
acme_keychange_inner(struct acme_request *r, struct acme_keychange *k)
{
	char err[256];
	enum jws_error e;

	e = jws_parse((const char *)r->jws->payload, r->jws->payload_len,
	    &k->inner, err, sizeof(err));
	if (e == JWS_ERR_NOMEM) {
		acme_reply_internal(r, "out of memory parsing a JWS");
		return -1;
	}
	if (e != JWS_OK) {
		acme_reply_problem(r, 400, "malformed", "the keyChange payload "
		    "must be a JWS signed by the new key: %s", err);
		return -1;
	}
	if (k->inner->alg == NULL || !jws_alg_supported(k->inner->alg)) {
		acme_reply_problem(r, 400, "badSignatureAlgorithm", "the inner "
		    "JWS algorithm is missing or not supported");
		return -1;
	}
	if (k->inner->jwk == NULL || k->inner->kid != NULL) {
		acme_reply_problem(r, 400, "malformed", "the inner JWS must "
		    "have a \"jwk\" with the new key and no \"kid\"");
		return -1;
	}
	if (k->inner->nonce != NULL) {
		acme_reply_problem(r, 400, "malformed", "the inner JWS must "
		    "not have a \"nonce\"");
		return -1;
	}
	if (k->inner->url == NULL || strcmp(k->inner->url, r->jws->url) != 0) {
		acme_reply_problem(r, 400, "malformed", "the \"url\" of the "
		    "inner JWS must equal the outer one, %s", r->jws->url);
		return -1;
	}
	if (jwk_parse(k->inner->jwk, &k->new_key, err, sizeof(err)) != 0) {
		acme_reply_problem(r, 400, "badPublicKey", "the new key is not "
		    "a usable JWK: %s", err);
		return -1;
	}
	e = jws_verify(k->inner, k->new_key, err, sizeof(err));
	if (e == JWS_ERR_NOMEM) {
		acme_reply_internal(r, "out of memory verifying a JWS");
		return -1;
	}
	if (e == JWS_ERR_KEY_MISMATCH || e == JWS_ERR_BAD_ALG) {
		acme_reply_problem(r, 400, "badSignatureAlgorithm", "inner JWS "
		    "algorithm does not fit the new key: %s", err);
		return -1;
	}
	if (e != JWS_OK) {
		acme_reply_problem(r, 400, "malformed", "the inner JWS "
		    "signature does not verify with the new key");
		return -1;
	}
	return 0;
}

/* Check {"account": kid, "oldKey": current key}.  Returns 0, or -1 after
 * replying. */
static int
acme_keychange_payload(struct acme_request *r, struct acme_keychange *k)
{
	struct json_object *account, *old;
	struct jwk *old_key = NULL;
	char err[256];
	int ret = -1;

	k->payload = jsonobj_parse((const char *)k->inner->payload,
	    k->inner->payload_len, err, sizeof(err));
	if (k->payload == NULL) {
		acme_reply_problem(r, 400, "malformed", "the inner payload is "
		    "not a JSON object: %s", err);
		return -1;
	}
	if (!json_object_object_get_ex(k->payload, "account", &account) ||
	    !json_object_is_type(account, json_type_string) ||
	    strcmp(json_object_get_string(account), r->jws->kid) != 0) {
		acme_reply_problem(r, 400, "malformed", "the inner payload's "
		    "\"account\" must be the outer \"kid\", %s", r->jws->kid);
		return -1;
	}
	if (!json_object_object_get_ex(k->payload, "oldKey", &old) ||
	    jwk_parse(old, &old_key, err, sizeof(err)) != 0) {
		acme_reply_problem(r, 400, "malformed", "the inner payload's "
		    "\"oldKey\" must be the account's current JWK");
		goto out;
	}
	if (strcmp(old_key->thumbprint, r->key->thumbprint) != 0) {
		acme_reply_problem(r, 400, "malformed", "\"oldKey\" is not the "
		    "account's current key");
		goto out;
	}
	if (strcmp(k->new_key->thumbprint, r->key->thumbprint) == 0) {
		acme_reply_problem(r, 400, "malformed", "the new key is the "
		    "account's current key");
		goto out;
	}
	ret = 0;
 out:
	jwk_free(old_key);
	return ret;
}

/* Reply 409 with the URL of the account that has the new key.  Returns
 * 0 after replying, or 1 when no such account exists (any more). */
static int
acme_keychange_conflict(struct acme_request *r, const struct jwk *key)
{
	const char *params[2] = { r->prov.id, key->thumbprint };
	char *location = NULL;
	PGresult *res;
	int ret = 1;

	res = acme_db(r->core, "SELECT id FROM accounts WHERE provisioner_id "
	    "= $1 AND thumbprint = $2", 2, params);
	if (res == NULL) {
		acme_reply_internal(r, "account lookup failed");
		return 0;
	}
	if (PQntuples(res) == 1) {
		if ((location = acme_url(r->prefix, "account",
		    PQgetvalue(res, 0, 0), NULL)) != NULL)
			acme_add_header(r, "Location", location);
		acme_reply_problem(r, 409, "malformed", "the new key already "
		    "belongs to another account");
		ret = 0;
	}
	free(location);
	PQclear(res);
	return ret;
}

/* Replace key and thumbprint if the account still has the old key.
 * Returns 0, or -1 after replying. */
static int
acme_keychange_store(struct acme_request *r, const struct acme_keychange *k)
{
	const char *params[4];
	char err[512];
	PGresult *res;
	int changed;

	if (acme_keychange_conflict(r, k->new_key) == 0)
		return -1;
	params[0] = r->account.id;
	params[1] = k->new_key->canonical;
	params[2] = k->new_key->thumbprint;
	params[3] = r->key->thumbprint;
	res = db_exec(r->core->db, "UPDATE accounts SET jwk = $2::jsonb, "
	    "thumbprint = $3 WHERE id = $1 AND thumbprint = $4 AND "
	    "status = 'valid' RETURNING id", 4, params, err, sizeof(err));
	if (res == NULL) {
		/* The likely cause is the unique (provisioner, thumbprint)
		 * key: another account took the new key since the check
		 * above.  Look again before calling it an internal error. */
		if (acme_keychange_conflict(r, k->new_key) == 0)
			return -1;
		log_error("acme: account %s: key change failed: %s",
		    r->account.id, err);
		acme_reply_internal(r, "cannot store the new key");
		return -1;
	}
	changed = PQntuples(res) == 1;
	PQclear(res);
	if (!changed) {
		acme_reply_problem(r, 409, "malformed", "the account key "
		    "changed at the same time; sign with the current key");
		return -1;
	}
	return 0;
}

enum acme_outcome
acme_handle_key_change(struct acme_request *r)
{
	struct acme_keychange k;
	char *location = NULL;
	const char *params[1];
	struct json_object *obj = NULL;
	PGresult *res = NULL;

	memset(&k, 0, sizeof(k));
	if (acme_is_post_as_get(r)) {
		acme_reply_problem(r, 400, "malformed", "keyChange needs an "
		    "inner JWS as payload");
		goto out;
	}
	if (acme_keychange_inner(r, &k) == -1 ||
	    acme_keychange_payload(r, &k) == -1 ||
	    acme_keychange_store(r, &k) == -1)
		goto out;
	log_info("acme: account %s: key changed from %s to %s", r->account.id,
	    r->key->thumbprint, k.new_key->thumbprint);

	params[0] = r->account.id;
	res = acme_db(r->core, "SELECT status, contact::text FROM accounts "
	    "WHERE id = $1", 1, params);
	location = acme_url(r->prefix, "account", r->account.id, NULL);
	if (res == NULL || PQntuples(res) != 1 || location == NULL ||
	    (obj = acme_account_render(r, r->account.id, PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1))) == NULL) {
		acme_reply_internal(r, "cannot read back the account");
		goto out;
	}
	acme_reply_json(r, 200, obj, location);
 out:
	json_object_put(obj);
	PQclear(res);
	free(location);
	acme_keychange_clear(&k);
	return ACME_DONE;
}
