/*
 * ACME transport of `caadm certificate` (RFC 8555 sections 6.2 to 7.3).
 *
 * Interface: acme_client_new(), acme_fetch_directory(),
 * acme_new_account(), acme_post() and acme_post_json() in acme_client.h.
 * Every request is a JWS signed with an ephemeral ECDSA P-256 account
 * key; the Replay-Nonce of each response is kept for the next request,
 * and a badNonce problem is retried once with the nonce that came with it.
 *
 * All failures return to the caller with a message: an ACME problem
 * document becomes "TYPE: DETAIL" with its subproblems, and transport
 * errors keep the message of the HTTPS client.  Server text is escaped
 * before it reaches a message.  Nothing here prints or exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <json-c/json.h>

#include "acme_client.h"
#include "b64url.h"
#include "jsonobj.h"
#include "jwk.h"
#include "jws.h"
#include "log.h"
#include "util.h"

#define ACME_MAX_NONCE_LEN	512
#define ACME_BAD_NONCE		"urn:ietf:params:acme:error:badNonce"

struct acme_client {
	struct https_client	*http;
	char			*directory_url;
	struct json_object	*directory;
	char			*nonce;
	gnutls_privkey_t	 account_key;
	struct jwk		*account_jwk;
	char			*kid;		/* account URL */
	char			*eab_kid;
	uint8_t			*eab_key;	/* HMAC key, wiped on free */
	size_t			 eab_key_len;
};

const char *
acme_escape(const char *text, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (buflen < 8) {
		if (buflen > 0)
			buf[0] = '\0';
		return buf;
	}
	if (text == NULL)
		text = "(missing)";
	for (; *text != '\0'; text++) {
		unsigned char ch = (unsigned char)*text;

		/* Leave room for one escape, "..." and the NUL. */
		if (o + 4 + 4 > buflen) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch >= 0x20 && ch < 0x7f) {
			buf[o++] = (char)ch;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[ch >> 4];
		buf[o++] = hex[ch & 0xf];
	}
	buf[o] = '\0';
	return buf;
}

const char *
acme_json_string(struct json_object *obj, const char *name)
{
	struct json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
acme_client_new(struct https_client *http, const char *directory_url,
    struct acme_client **out, char *err, size_t errlen)
{
	struct acme_client *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->directory_url = strdup(directory_url)) == NULL) {
		free(c);
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	c->http = http;
	*out = c;
	return 0;
}

void
acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	free(c->directory_url);
	if (c->directory != NULL)
		json_object_put(c->directory);
	free(c->nonce);
	if (c->account_key != NULL)
		gnutls_privkey_deinit(c->account_key);
	jwk_free(c->account_jwk);
	free(c->kid);
	free(c->eab_kid);
	util_wipe(c->eab_key, c->eab_key_len);
	free(c->eab_key);
	free(c);
}

int
acme_client_set_eab(struct acme_client *c, const char *kid,
    const char *hmac_key_b64url, char *err, size_t errlen)
{
	if (*kid == '\0') {
		util_seterr(err, errlen, "the --eab-kid value is empty; use "
		    "the Key ID that caadm eab add printed");
		return -1;
	}
	if (b64url_decode(hmac_key_b64url, strlen(hmac_key_b64url),
	    &c->eab_key, &c->eab_key_len) == -1 || c->eab_key_len == 0) {
		util_seterr(err, errlen, "the --eab-hmac-key value is not "
		    "base64url; use the HMAC key that caadm eab add printed");
		return -1;
	}
	if ((c->eab_kid = strdup(kid)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Build the newAccount payload, with an externalAccountBinding (RFC 8555
 * 7.3.4) when a key is set: a JWS with alg HS256, the EAB key id and the
 * newAccount URL, over the account's public JWK.  Returns a malloc'd
 * string or NULL with err. */
static char *
acme_account_payload(struct acme_client *c, const char *url, char *err,
    size_t errlen)
{
	struct json_object *header = NULL;
	char *protected_b64 = NULL, *payload_b64 = NULL, *signing_input = NULL;
	char *signature_b64 = NULL, *payload = NULL;
	uint8_t mac[32];
	const char *header_text;
	int rc;

	if (c->eab_kid == NULL) {
		if ((payload = strdup("{\"termsOfServiceAgreed\":true}")) == NULL)
			util_seterr(err, errlen, "out of memory");
		return payload;
	}

	if ((header = json_object_new_object()) == NULL ||
	    json_object_object_add(header, "alg",
	    json_object_new_string("HS256")) != 0 ||
	    json_object_object_add(header, "kid",
	    json_object_new_string(c->eab_kid)) != 0 ||
	    json_object_object_add(header, "url",
	    json_object_new_string(url)) != 0 ||
	    (header_text = json_object_to_json_string_ext(header,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL ||
	    (protected_b64 = b64url_encode((const uint8_t *)header_text,
	    strlen(header_text))) == NULL ||
	    (payload_b64 = b64url_encode(
	    (const uint8_t *)c->account_jwk->canonical,
	    strlen(c->account_jwk->canonical))) == NULL ||
	    asprintf(&signing_input, "%s.%s", protected_b64,
	    payload_b64) == -1) {
		signing_input = NULL;
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, c->eab_key,
	    c->eab_key_len, signing_input, strlen(signing_input), mac)) < 0) {
		util_seterr(err, errlen, "HMAC-SHA256 failed: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if ((signature_b64 = b64url_encode(mac, sizeof(mac))) == NULL ||
	    asprintf(&payload, "{\"termsOfServiceAgreed\":true,"
	    "\"externalAccountBinding\":{\"protected\":\"%s\","
	    "\"payload\":\"%s\",\"signature\":\"%s\"}}", protected_b64,
	    payload_b64, signature_b64) == -1) {
		payload = NULL;
		util_seterr(err, errlen, "out of memory");
	}
 out:
	util_wipe(mac, sizeof(mac));
	if (header != NULL)
		json_object_put(header);
	free(protected_b64);
	free(payload_b64);
	free(signing_input);
	free(signature_b64);
	return payload;
}

const char *
acme_directory_url(const struct acme_client *c, const char *name)
{
	return acme_json_string(c->directory, name);
}

const char *
acme_thumbprint(const struct acme_client *c)
{
	return c->account_jwk != NULL ? c->account_jwk->thumbprint : NULL;
}

static int
acme_is_json(const struct https_response *r, const char *type)
{
	const char *ct = https_response_header(r, "Content-Type");
	size_t len = strlen(type);

	return ct != NULL && strncasecmp(ct, type, len) == 0 &&
	    (ct[len] == '\0' || ct[len] == ';' || ct[len] == ' ');
}

const char *
acme_problem_format(struct json_object *problem, char *buf, size_t buflen)
{
	struct json_object *subs, *sub, *ident;
	char type[256], detail[1024], value[256];
	const char *t, *d, *v;
	size_t i, n, used;

	t = acme_json_string(problem, "type");
	d = acme_json_string(problem, "detail");
	if (t == NULL)
		t = "(no problem type)";
	if (d == NULL)
		d = "(no detail)";
	acme_escape(t, type, sizeof(type));
	acme_escape(d, detail, sizeof(detail));
	snprintf(buf, buflen, "%s: %s", type, detail);

	if (!json_object_object_get_ex(problem, "subproblems", &subs) ||
	    !json_object_is_type(subs, json_type_array))
		return buf;
	n = json_object_array_length(subs);
	for (i = 0; i < n && i < 20; i++) {
		sub = json_object_array_get_idx(subs, i);
		t = acme_json_string(sub, "type");
		d = acme_json_string(sub, "detail");
		v = NULL;
		if (json_object_object_get_ex(sub, "identifier", &ident))
			v = acme_json_string(ident, "value");
		acme_escape(t, type, sizeof(type));
		acme_escape(d, detail, sizeof(detail));
		acme_escape(v, value, sizeof(value));
		used = strlen(buf);
		if (used + 1 >= buflen)
			break;
		snprintf(buf + used, buflen - used, "; %s: %s: %s", value,
		    type, detail);
	}
	return buf;
}

/* Describe an error response: the problem document when there is one,
 * else the status and the start of the body. */
static void
acme_response_error(const struct https_response *r, const char *method,
    const char *url, char *err, size_t errlen)
{
	struct json_object *problem = NULL;
	char text[2048], shown[256];

	if (acme_is_json(r, "application/problem+json") ||
	    acme_is_json(r, "application/json"))
		problem = jsonobj_parse(r->body, r->body_len, NULL, 0);
	if (problem != NULL && acme_json_string(problem, "type") != NULL) {
		acme_problem_format(problem, text, sizeof(text));
		util_seterr(err, errlen, "%s (HTTP %d from %s %s)", text,
		    r->status, method, url);
	} else {
		log_escape(r->body, r->body_len < 200 ? r->body_len : 200,
		    shown, sizeof(shown));
		util_seterr(err, errlen, "HTTP %d from %s %s without a problem "
		    "document: %s", r->status, method, url, shown);
	}
	if (problem != NULL)
		json_object_put(problem);
}

static int
acme_problem_is(const struct https_response *r, const char *type)
{
	struct json_object *problem;
	const char *t;
	int is = 0;

	if ((problem = jsonobj_parse(r->body, r->body_len, NULL, 0)) == NULL)
		return 0;
	t = acme_json_string(problem, "type");
	is = t != NULL && strcmp(t, type) == 0;
	json_object_put(problem);
	return is;
}

/* Keep the Replay-Nonce of a response, when it looks like one. */
static void
acme_take_nonce(struct acme_client *c, const struct https_response *r)
{
	const char *n = https_response_header(r, "Replay-Nonce");
	size_t i, len;
	char *copy;

	if (n == NULL || (len = strlen(n)) == 0 || len > ACME_MAX_NONCE_LEN)
		return;
	for (i = 0; i < len; i++) {
		char ch = n[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return;
	}
	if ((copy = strdup(n)) == NULL)
		return;
	free(c->nonce);
	c->nonce = copy;
}

int
acme_fetch_directory(struct acme_client *c, char *err, size_t errlen)
{
	static const char *const required[] = {
		"newNonce", "newAccount", "newOrder"
	};
	struct https_response *r = NULL;
	struct json_object *dir = NULL, *meta, *eab;
	char perr[256];
	size_t i;
	int ret = -1;

	if (https_request(c->http, "GET", c->directory_url, NULL,
	    "application/json", NULL, 0, &r, err, errlen) == -1)
		goto out;
	if (r->status != 200) {
		acme_response_error(r, "GET", c->directory_url, err, errlen);
		goto out;
	}
	if ((dir = jsonobj_parse(r->body, r->body_len, perr,
	    sizeof(perr))) == NULL) {
		util_seterr(err, errlen, "the directory at %s is not a JSON "
		    "object: %s", c->directory_url, perr);
		goto out;
	}
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *u = acme_json_string(dir, required[i]);

		if (u == NULL || strncasecmp(u, "https://", 8) != 0) {
			util_seterr(err, errlen, "the directory at %s has no "
			    "https URL for %s", c->directory_url, required[i]);
			goto out;
		}
	}
	if (json_object_object_get_ex(dir, "meta", &meta) &&
	    json_object_object_get_ex(meta, "externalAccountRequired",
	    &eab) && json_object_get_boolean(eab) && c->eab_kid == NULL) {
		util_seterr(err, errlen, "the CA at %s requires External "
		    "Account Binding; pass --eab-kid and --eab-hmac-key with "
		    "a key from caadm eab add", c->directory_url);
		goto out;
	}
	c->directory = dir;
	dir = NULL;
	ret = 0;
 out:
	if (dir != NULL)
		json_object_put(dir);
	https_response_free(r);
	return ret;
}

static int
acme_new_nonce(struct acme_client *c, char *err, size_t errlen)
{
	const char *url = acme_directory_url(c, "newNonce");
	struct https_response *r = NULL;
	int ret = -1;

	free(c->nonce);
	c->nonce = NULL;
	if (https_request(c->http, "HEAD", url, NULL, NULL, NULL, 0, &r, err,
	    errlen) == -1)
		goto out;
	if (r->status != 200 && r->status != 204) {
		acme_response_error(r, "HEAD", url, err, errlen);
		goto out;
	}
	acme_take_nonce(c, r);
	if (c->nonce == NULL) {
		util_seterr(err, errlen, "HEAD %s returned no valid "
		    "Replay-Nonce", url);
		goto out;
	}
	ret = 0;
 out:
	https_response_free(r);
	return ret;
}

/* Sign and send one POST, retrying once on badNonce.  kid NULL puts the
 * account's public JWK in the header (newAccount). */
static int
acme_post_signed(struct acme_client *c, const char *url, const char *kid,
    const char *payload, const char *accept, struct https_response **out,
    char *err, size_t errlen)
{
	struct https_response *r = NULL;
	char *jws = NULL;
	int attempt, ret = -1;

	*out = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		https_response_free(r);
		r = NULL;
		free(jws);
		jws = NULL;
		if (c->nonce == NULL && acme_new_nonce(c, err, errlen) == -1)
			goto out;
		if (jws_sign(c->account_key, c->account_jwk, kid, c->nonce,
		    url, payload, &jws, err, errlen) == -1)
			goto out;

		/* A nonce is good for one request whatever the outcome. */
		free(c->nonce);
		c->nonce = NULL;
		if (https_request(c->http, "POST", url,
		    "application/jose+json", accept, jws, strlen(jws), &r,
		    err, errlen) == -1)
			goto out;
		acme_take_nonce(c, r);
		if (r->status >= 200 && r->status < 300)
			break;
		if (attempt == 0 && acme_problem_is(r, ACME_BAD_NONCE))
			continue;
		acme_response_error(r, "POST", url, err, errlen);
		goto out;
	}
	*out = r;
	r = NULL;
	ret = 0;
 out:
	https_response_free(r);
	free(jws);
	return ret;
}

int
acme_post(struct acme_client *c, const char *url, const char *payload,
    const char *accept, struct https_response **out, char *err,
    size_t errlen)
{
	*out = NULL;
	if (c->kid == NULL) {
		util_seterr(err, errlen, "internal error: no ACME account");
		return -1;
	}
	return acme_post_signed(c, url, c->kid, payload, accept, out, err,
	    errlen);
}

/* Parse Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static int
acme_retry_after_ms(const struct https_response *r)
{
	const char *v = https_response_header(r, "Retry-After");
	struct tm tm;
	long long secs = 0;
	const char *p, *end;

	if (v == NULL || *v == '\0')
		return ACME_DEFAULT_POLL_MS;
	for (p = v; *p >= '0' && *p <= '9'; p++) {
		if (secs < 1000000)
			secs = secs * 10 + (*p - '0');
	}
	if (p == v || *p != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end == NULL || *end != '\0')
			return ACME_DEFAULT_POLL_MS;
		secs = (long long)(timegm(&tm) - time(NULL));
		if (secs < 0)
			secs = 0;
	}
	if (secs * 1000 > ACME_MAX_POLL_MS)
		return ACME_MAX_POLL_MS;
	return (int)secs * 1000;
}

int
acme_post_json(struct acme_client *c, const char *url, const char *payload,
    struct json_object **obj, char **location, int *retry_ms, char *err,
    size_t errlen)
{
	struct https_response *r = NULL;
	const char *loc;
	char perr[256];
	int ret = -1;

	*obj = NULL;
	if (location != NULL)
		*location = NULL;
	if (acme_post(c, url, payload, "application/json", &r, err,
	    errlen) == -1)
		goto out;
	if ((*obj = jsonobj_parse(r->body, r->body_len, perr,
	    sizeof(perr))) == NULL) {
		util_seterr(err, errlen, "the response to POST %s is not a "
		    "JSON object: %s", url, perr);
		goto out;
	}
	if (location != NULL &&
	    (loc = https_response_header(r, "Location")) != NULL &&
	    (*location = strdup(loc)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (retry_ms != NULL)
		*retry_ms = acme_retry_after_ms(r);
	ret = 0;
 out:
	if (ret != 0 && *obj != NULL) {
		json_object_put(*obj);
		*obj = NULL;
	}
	https_response_free(r);
	return ret;
}

int
acme_new_account(struct acme_client *c, char *err, size_t errlen)
{
	const char *url = acme_directory_url(c, "newAccount");
	struct https_response *r = NULL;
	const char *loc;
	char *payload = NULL;
	int rc, ret = -1;

	if ((rc = gnutls_privkey_init(&c->account_key)) < 0) {
		c->account_key = NULL;
		util_seterr(err, errlen, "cannot create the account key: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if ((rc = gnutls_privkey_generate(c->account_key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
		util_seterr(err, errlen, "cannot generate the account key: "
		    "%s", gnutls_strerror(rc));
		goto out;
	}
	if (jwk_from_privkey(c->account_key, &c->account_jwk, err,
	    errlen) == -1)
		goto out;
	if ((payload = acme_account_payload(c, url, err, errlen)) == NULL ||
	    acme_post_signed(c, url, NULL, payload, "application/json", &r,
	    err, errlen) == -1)
		goto out;
	if ((loc = https_response_header(r, "Location")) == NULL ||
	    strncasecmp(loc, "https://", 8) != 0) {
		util_seterr(err, errlen, "the newAccount response from %s has "
		    "no https Location header", url);
		goto out;
	}
	if ((c->kid = strdup(loc)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	free(payload);
	https_response_free(r);
	return ret;
}
