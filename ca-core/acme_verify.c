/*
 * Verification of ACME POST requests (RFC 8555 section 6.2 to 6.5).
 *
 * Interface: acme_verify_post() and acme_is_post_as_get() in
 * acme_internal.h.  A POST must be application/jose+json carrying a
 * flattened JWS.  Its protected header needs a supported "alg", a "url"
 * equal to the request URL, and exactly one of "jwk" (newAccount,
 * revokeCert signed by the certificate's key, and POST-as-GET of the
 * directory or newNonce) and "kid" (an existing, valid account of this
 * provisioner).  Its "nonce" is
 * redeemed only after the signature verifies.  Every rejection is a
 * problem document for the client, logged at debug level; only database
 * failures are logged as errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "acme_internal.h"
#include "core.h"
#include "jsonobj.h"
#include "log.h"
#include "nonce.h"

#define ACME_JOSE_TYPE	"application/jose+json"

static int
acme_check_content_type(struct acme_request *r)
{
	const char *type;
	size_t len;

	type = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Content-Type");
	len = strlen(ACME_JOSE_TYPE);
	/* Parameters after ';' are ignored; the media type must match. */
	if (type != NULL && strncasecmp(type, ACME_JOSE_TYPE, len) == 0 &&
	    (type[len] == '\0' || type[len] == ';' || type[len] == ' '))
		return 0;
	acme_reply_problem(r, 415, "malformed", "Content-Type must be %s",
	    ACME_JOSE_TYPE);
	return -1;
}

static int
acme_parse_jws(struct acme_request *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const char *body;
	char err[256];
	enum jws_error e;

	if (len > ACME_BODY_MAX) {
		acme_reply_problem(r, 413, "malformed", "request body larger "
		    "than %d bytes", ACME_BODY_MAX);
		return -1;
	}
	if (len == 0 || (body = (const char *)evbuffer_pullup(in,
	    (ssize_t)len)) == NULL) {
		acme_reply_problem(r, 400, "malformed", "request body is "
		    "empty; a JWS is required");
		return -1;
	}
	e = jws_parse(body, len, &r->jws, err, sizeof(err));
	if (e == JWS_ERR_NOMEM) {
		acme_reply_internal(r, "out of memory parsing a JWS");
		return -1;
	}
	if (e == JWS_ERR_BAD_ALG) {
		acme_reply_problem(r, 400, "badSignatureAlgorithm", "%s", err);
		return -1;
	}
	if (e != JWS_OK) {
		acme_reply_problem(r, 400, "malformed", "invalid JWS: %s", err);
		return -1;
	}
	if (r->jws->alg == NULL || !jws_alg_supported(r->jws->alg)) {
		acme_reply_problem(r, 400, "badSignatureAlgorithm", "JWS "
		    "algorithm is missing or not supported");
		return -1;
	}
	return 0;
}

/* Maximum nesting walked by acme_json_has_nul(); deeper JSON is
 * rejected, since no ACME object nests more than a few levels. */
#define ACME_JSON_DEPTH_MAX	16

/* 1 when a string value anywhere in obj contains a NUL byte ("\u0000"),
 * or obj nests deeper than ACME_JSON_DEPTH_MAX.  C string handling would
 * cut such a value short, and PostgreSQL's jsonb rejects it. */
static int
acme_json_has_nul(struct json_object *obj, int depth)
{
	size_t i, n;

	if (depth > ACME_JSON_DEPTH_MAX)
		return 1;
	switch (json_object_get_type(obj)) {
	case json_type_string:
		return strlen(json_object_get_string(obj)) !=
		    (size_t)json_object_get_string_len(obj);
	case json_type_array:
		n = json_object_array_length(obj);
		for (i = 0; i < n; i++)
			if (acme_json_has_nul(json_object_array_get_idx(obj, i),
			    depth + 1))
				return 1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(obj, key, value) {
			(void)key;
			if (acme_json_has_nul(value, depth + 1))
				return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

static int
acme_check_url(struct acme_request *r)
{
	struct json_object *url;

	if (r->jws->url == NULL) {
		acme_reply_problem(r, 400, "malformed", "JWS protected header "
		    "has no \"url\"");
		return -1;
	}
	url = json_object_object_get(r->jws->header, "url");
	if (strcmp(r->jws->url, r->url) != 0 || acme_json_has_nul(url, 0)) {
		acme_reply_problem(r, 401, "unauthorized", "JWS \"url\" does "
		    "not match the request URL %s", r->url);
		return -1;
	}
	return 0;
}

static int
acme_load_jwk(struct acme_request *r)
{
	char err[256];

	if (r->jws->jwk == NULL || r->jws->kid != NULL) {
		acme_reply_problem(r, 400, "malformed", "this request must be "
		    "signed with a \"jwk\" and no \"kid\"");
		return -1;
	}
	if (jwk_parse(r->jws->jwk, &r->key, err, sizeof(err)) != 0) {
		acme_reply_problem(r, 400, "badPublicKey", "invalid JWK: %s",
		    err);
		return -1;
	}
	return 0;
}

/* The account id in a kid, which must be this provisioner's account URL
 * under the request's base or the configured base URL. */
static const char *
acme_kid_account_id(struct acme_request *r)
{
	const char *kid = r->jws->kid, *rest = NULL, *id;
	char *alt = NULL;
	size_t len = strlen(r->prefix);

	if (strncmp(kid, r->prefix, len) == 0)
		rest = kid + len;
	else if (asprintf(&alt, "%s/acme/%s", r->core->base_url,
	    r->prov.name) != -1) {
		len = strlen(alt);
		if (strncmp(kid, alt, len) == 0)
			rest = kid + len;
		free(alt);
	}
	if (rest == NULL || strncmp(rest, "/account/", 9) != 0)
		return NULL;
	id = rest + 9;
	if (*id == '\0' || strchr(id, '/') != NULL || strlen(id) > 64)
		return NULL;
	return id;
}

static int
acme_load_account(struct acme_request *r)
{
	const char *params[2], *id;
	char err[256];
	PGresult *res;
	int ret = -1;

	if (r->jws->kid == NULL || r->jws->jwk != NULL) {
		acme_reply_problem(r, 400, "malformed", "this request must be "
		    "signed with a \"kid\" and no \"jwk\"");
		return -1;
	}
	if ((id = acme_kid_account_id(r)) == NULL) {
		acme_reply_problem(r, 400, "accountDoesNotExist", "\"kid\" is "
		    "not an account URL of this provisioner");
		return -1;
	}
	params[0] = id;
	params[1] = r->prov.id;
	res = acme_db(r->core, "SELECT jwk::text, thumbprint, status FROM "
	    "accounts WHERE id = $1 AND provisioner_id = $2", 2, params);
	if (res == NULL) {
		acme_reply_internal(r, "account lookup failed");
		return -1;
	}
	if (PQntuples(res) != 1) {
		acme_reply_problem(r, 400, "accountDoesNotExist", "no account "
		    "at \"kid\"");
		goto out;
	}
	if ((r->account.id = strdup(id)) == NULL ||
	    (r->account.status = strdup(PQgetvalue(res, 0, 2))) == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	snprintf(r->account.thumbprint, sizeof(r->account.thumbprint), "%s",
	    PQgetvalue(res, 0, 1));
	if (strcmp(r->account.status, "valid") != 0) {
		acme_reply_problem(r, 401, "unauthorized", "account is %s",
		    r->account.status);
		goto out;
	}
	if (jwk_parse_text(PQgetvalue(res, 0, 0), &r->key, err,
	    sizeof(err)) != 0) {
		acme_reply_internal(r, "stored account key does not parse");
		goto out;
	}
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

static int
acme_check_signature(struct acme_request *r)
{
	char err[256];
	enum jws_error e;

	e = jws_verify(r->jws, r->key, err, sizeof(err));
	if (e == JWS_OK)
		return 0;
	if (e == JWS_ERR_NOMEM) {
		acme_reply_internal(r, "out of memory verifying a JWS");
		return -1;
	}
	if (e == JWS_ERR_KEY_MISMATCH || e == JWS_ERR_BAD_ALG) {
		acme_reply_problem(r, 400, "badSignatureAlgorithm", "JWS "
		    "algorithm does not fit the key: %s", err);
		return -1;
	}
	acme_reply_problem(r, 400, "malformed", "JWS signature invalid");
	return -1;
}

static int
acme_redeem_nonce(struct acme_request *r)
{
	int found;

	if (r->jws->nonce == NULL) {
		acme_reply_problem(r, 400, "badNonce", "JWS protected header "
		    "has no \"nonce\"");
		return -1;
	}
	found = nonce_redeem(r->core->db, r->jws->nonce);
	if (found == -1) {
		acme_reply_internal(r, "nonce lookup failed");
		return -1;
	}
	if (found == 0) {
		acme_reply_problem(r, 400, "badNonce", "nonce is unknown, "
		    "expired or already used; get a new one from the "
		    "Replay-Nonce header of this response");
		return -1;
	}
	return 0;
}

static int
acme_parse_payload(struct acme_request *r)
{
	char err[256];

	if (r->jws->payload_len == 0)
		return 0;
	r->payload = jsonobj_parse((const char *)r->jws->payload,
	    r->jws->payload_len, err, sizeof(err));
	if (r->payload == NULL) {
		acme_reply_problem(r, 400, "malformed", "JWS payload is not a "
		    "JSON object: %s", err);
		return -1;
	}
	if (acme_json_has_nul(r->payload, 0)) {
		acme_reply_problem(r, 400, "malformed", "the JWS payload has a "
		    "string with a NUL character or nests too deep");
		return -1;
	}
	return 0;
}

int
acme_verify_post(struct acme_request *r)
{
	if (acme_check_content_type(r) == -1 || acme_parse_jws(r) == -1 ||
	    acme_check_url(r) == -1)
		return -1;
	if (acme_json_has_nul(r->jws->header, 0)) {
		acme_reply_problem(r, 400, "malformed", "the JWS protected "
		    "header has a string with a NUL character or nests too "
		    "deep");
		return -1;
	}
	if (r->route->auth == ACME_AUTH_EITHER &&
	    (r->jws->jwk == NULL) == (r->jws->kid == NULL)) {
		acme_reply_problem(r, 400, "malformed", "the JWS protected "
		    "header must have exactly one of \"jwk\" and \"kid\"");
		return -1;
	}
	if (r->route->auth == ACME_AUTH_JWK || (r->route->auth ==
	    ACME_AUTH_EITHER && r->jws->jwk != NULL)) {
		if (acme_load_jwk(r) == -1)
			return -1;
	} else if (acme_load_account(r) == -1)
		return -1;
	if (acme_check_signature(r) == -1 || acme_redeem_nonce(r) == -1 ||
	    acme_parse_payload(r) == -1)
		return -1;
	return 0;
}

int
acme_is_post_as_get(const struct acme_request *r)
{
	return r->payload == NULL;
}

int
acme_require_post_as_get(struct acme_request *r, const char *what)
{
	/* RFC 8555 section 6.3: a POST-as-GET has a zero-length payload. */
	if (acme_is_post_as_get(r))
		return 0;
	acme_reply_problem(r, 400, "malformed", "%s is read with POST-as-GET, "
	    "whose JWS payload is empty", what);
	return -1;
}
