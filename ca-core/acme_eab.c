/*
 * External Account Binding (RFC 8555 section 7.3.4).
 *
 * Interface: acme_eab_check() and acme_eab_bind() in acme_internal.h.
 * A newAccount payload may carry "externalAccountBinding": a flattened
 * JWS with alg HS256, "kid" naming a key of the eab_keys table that
 * belongs to this provisioner, "url" equal to the newAccount URL, no
 * "nonce", and as payload the account's JWK.  The MAC key is read from
 * the database, used and wiped; it never reaches a log line.  A key
 * binds to one account for good.  When the provisioner option
 * "require_eab" is true, a request without a binding gets
 * externalAccountRequired.  Every rejection is a problem document for
 * the client; database failures are logged errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_internal.h"
#include "core.h"
#include "jsonobj.h"
#include "log.h"
#include "util.h"

/* Longest EAB key id accepted (caadm makes 22-character ids). */
#define ACME_EAB_KID_MAX	64
/* Longest MAC key read from the database, in bytes. */
#define ACME_EAB_KEY_MAX	256

static int
acme_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode the lower-case hex that encode(bytea, 'hex') returns.  Returns
 * the length, or -1. */
static int
acme_hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
	size_t len = strlen(hex), i;
	int hi, lo;

	if (len % 2 != 0 || len / 2 > outlen || len == 0)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = acme_hex_value(hex[2 * i])) == -1 ||
		    (lo = acme_hex_value(hex[2 * i + 1])) == -1)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

/* Check the binding's header.  Returns 0, or -1 after replying. */
static int
acme_eab_header(struct acme_request *r, const struct jws *eab)
{
	if (eab->alg == NULL || strcmp(eab->alg, "HS256") != 0) {
		acme_reply_problem(r, 400, "badSignatureAlgorithm", "the "
		    "external account binding must use alg HS256");
		return -1;
	}
	if (eab->kid == NULL || strlen(eab->kid) > ACME_EAB_KID_MAX) {
		acme_reply_problem(r, 400, "malformed", "the external account "
		    "binding needs a \"kid\" naming the EAB key");
		return -1;
	}
	if (eab->nonce != NULL || eab->jwk != NULL) {
		acme_reply_problem(r, 400, "malformed", "the external account "
		    "binding must not have a \"nonce\" or \"jwk\" header");
		return -1;
	}
	if (eab->url == NULL || strcmp(eab->url, r->url) != 0) {
		acme_reply_problem(r, 400, "malformed", "the \"url\" of the "
		    "external account binding must be the newAccount URL %s",
		    r->url);
		return -1;
	}
	return 0;
}

/* The binding's payload must be the JWK that signed the request. */
static int
acme_eab_payload(struct acme_request *r, const struct jws *eab)
{
	struct json_object *obj;
	struct jwk *key = NULL;
	char err[256];
	int ret = -1;

	obj = jsonobj_parse((const char *)eab->payload, eab->payload_len,
	    err, sizeof(err));
	if (obj == NULL || jwk_parse(obj, &key, err, sizeof(err)) != 0) {
		acme_reply_problem(r, 400, "malformed", "the payload of the "
		    "external account binding is not a JWK: %s", err);
		goto out;
	}
	if (strcmp(key->thumbprint, r->key->thumbprint) != 0) {
		acme_reply_problem(r, 400, "malformed", "the payload of the "
		    "external account binding is not the account key that "
		    "signed this request");
		goto out;
	}
	ret = 0;
 out:
	jwk_free(key);
	json_object_put(obj);
	return ret;
}

/* Look the key up and verify the MAC.  Returns 0, or -1 after replying. */
static int
acme_eab_verify(struct acme_request *r, const struct jws *eab)
{
	const char *params[2] = { eab->kid, r->prov.id };
	uint8_t key[ACME_EAB_KEY_MAX];
	char err[256];
	PGresult *res;
	int len = -1, ret = -1;

	res = acme_db(r->core, "SELECT encode(hmac_key, 'hex'), "
	    "bound_account_id IS NOT NULL FROM eab_keys WHERE id = $1 AND "
	    "provisioner_id = $2", 2, params);
	if (res == NULL) {
		acme_reply_internal(r, "EAB key lookup failed");
		return -1;
	}
	if (PQntuples(res) != 1) {
		acme_reply_problem(r, 403, "unauthorized", "the external "
		    "account binding names an EAB key that this provisioner "
		    "does not have");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		acme_reply_problem(r, 403, "unauthorized", "the EAB key is "
		    "already bound to another account; ask the operator for a "
		    "new one");
		goto out;
	}
	if ((len = acme_hex_decode(PQgetvalue(res, 0, 0), key,
	    sizeof(key))) == -1) {
		acme_reply_internal(r, "stored EAB key does not decode");
		goto out;
	}
	if (jws_verify_hmac(eab, key, (size_t)len, err, sizeof(err)) !=
	    JWS_OK) {
		acme_reply_problem(r, 403, "unauthorized", "the external "
		    "account binding does not verify with the EAB key: %s",
		    err);
		goto out;
	}
	ret = 0;
 out:
	util_wipe(key, sizeof(key));
	/* The hex text of the key is in the result; wipe it too. */
	if (PQntuples(res) == 1)
		util_wipe(PQgetvalue(res, 0, 0),
		    (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return ret;
}

int
acme_eab_check(struct acme_request *r, char **key_id)
{
	struct json_object *binding;
	struct jws *eab = NULL;
	const char *text;
	char err[256];
	enum jws_error e;
	int ret = -1;

	*key_id = NULL;
	if (!json_object_object_get_ex(r->payload, "externalAccountBinding",
	    &binding)) {
		if (!acme_option_bool(r, "require_eab"))
			return 0;
		acme_reply_problem(r, 403, "externalAccountRequired", "this "
		    "provisioner requires an external account binding; ask "
		    "the operator for an EAB key id and MAC key");
		return -1;
	}
	if (!json_object_is_type(binding, json_type_object)) {
		acme_reply_problem(r, 400, "malformed", "\"externalAccountBinding\" "
		    "must be a flattened JWS object");
		return -1;
	}
	text = json_object_to_json_string_ext(binding, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	e = jws_parse(text, strlen(text), &eab, err, sizeof(err));
	if (e == JWS_ERR_NOMEM) {
		acme_reply_internal(r, "out of memory parsing a binding");
		return -1;
	}
	if (e != JWS_OK) {
		acme_reply_problem(r, 400, "malformed", "invalid external "
		    "account binding: %s", err);
		return -1;
	}
	if (acme_eab_header(r, eab) == -1 || acme_eab_payload(r, eab) == -1 ||
	    acme_eab_verify(r, eab) == -1)
		goto out;
	if ((*key_id = strdup(eab->kid)) == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	jws_free(eab);
	return ret;
}

int
acme_eab_bind(struct acme_request *r, const char *key_id,
    const char *account_id)
{
	const char *params[2] = { key_id, account_id };
	PGresult *res;
	int taken;

	res = acme_db(r->core, "UPDATE eab_keys SET bound_account_id = $2, "
	    "bound_at = now() WHERE id = $1 AND bound_account_id IS NULL "
	    "RETURNING id", 2, params);
	if (res == NULL)
		return -1;
	taken = PQntuples(res) != 1;
	PQclear(res);
	if (taken)
		return 1;
	res = acme_db(r->core, "UPDATE accounts SET eab_key_id = $1 WHERE "
	    "id = $2", 2, params);
	if (res == NULL)
		return -1;
	PQclear(res);
	log_info("acme: provisioner %s: EAB key %s bound to account %s",
	    r->prov.name, key_id, account_id);
	return 0;
}
