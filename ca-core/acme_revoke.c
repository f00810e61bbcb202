/*
 * Certificate revocation (RFC 8555 section 7.6).
 *
 * Interface: acme_handle_revoke_cert() in acme_internal.h.  The payload
 * is {"certificate": base64url DER, "reason": RFC 5280 reason code}.  A
 * request signed with "kid" is allowed when the account was issued the
 * certificate or has valid, unexpired authorizations for every
 * identifier of the certificate's order.  A request signed with "jwk" is
 * allowed when that key is the certificate's public key.  Revocation
 * sets revoked_at and revocation_reason (0, unspecified, when the client
 * gives none) in the certificates table.  Bad input and refusals are
 * problem documents; database failures are logged errors.
 *
 * NOTE: no CRL or OCSP responder publishes the revocation yet; it is
 * only recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "acme_internal.h"
#include "b64url.h"
#include "core.h"
#include "log.h"

/* base64url of the largest certificate accepted. */
#define ACME_CERT_B64_MAX	(16 * 1024)
#define ACME_SERIAL_MAX		64

struct acme_revoke {
	gnutls_x509_crt_t	 crt;
	uint8_t			*der;
	size_t			 der_len;
	char			 serial[2 * ACME_SERIAL_MAX + 1];
	int			 reason;
	char			 reason_text[8];
	/* From the certificates table. */
	char			*cert_id;
	char			*owner;
	char			*order_id;
	int			 revoked;
};

static void
acme_revoke_clear(struct acme_revoke *v)
{
	if (v->crt != NULL)
		gnutls_x509_crt_deinit(v->crt);
	free(v->der);
	free(v->cert_id);
	free(v->owner);
	free(v->order_id);
}

static const char acme_hex_digits[] = "0123456789abcdef";

/* Read "reason".  Returns 0, or -1 after replying. */
static int
acme_revoke_reason(struct acme_request *r, struct acme_revoke *v)
{
	struct json_object *value;
	int64_t reason;

	v->reason = 0;
	if (json_object_object_get_ex(r->payload, "reason", &value)) {
		if (!json_object_is_type(value, json_type_int)) {
			acme_reply_problem(r, 400, "badRevocationReason",
			    "\"reason\" must be an integer reason code");
			return -1;
		}
		reason = json_object_get_int64(value);
		/* RFC 5280 section 5.3.1: codes 0 to 10; 7 is unused. */
		if (reason < 0 || reason > 10 || reason == 7) {
			acme_reply_problem(r, 400, "badRevocationReason",
			    "reason code %lld is not one of 0-6 and 8-10 of "
			    "RFC 5280", (long long)reason);
			return -1;
		}
		v->reason = (int)reason;
	}
	snprintf(v->reason_text, sizeof(v->reason_text), "%d", v->reason);
	return 0;
}

/* Decode the certificate and its serial.  Returns 0, or -1 after
 * replying. */
static int
acme_revoke_certificate(struct acme_request *r, struct acme_revoke *v)
{
	struct json_object *value;
	gnutls_datum_t d;
	uint8_t serial[ACME_SERIAL_MAX];
	size_t len = sizeof(serial), i;
	const char *b64;

	if (!json_object_object_get_ex(r->payload, "certificate", &value) ||
	    !json_object_is_type(value, json_type_string)) {
		acme_reply_problem(r, 400, "malformed", "revokeCert needs a "
		    "\"certificate\" string (base64url DER)");
		return -1;
	}
	b64 = json_object_get_string(value);
	if (strlen(b64) > ACME_CERT_B64_MAX || b64url_decode(b64, strlen(b64),
	    &v->der, &v->der_len) == -1 || v->der_len == 0) {
		acme_reply_problem(r, 400, "malformed", "\"certificate\" must "
		    "be base64url DER of at most %d characters",
		    ACME_CERT_B64_MAX);
		return -1;
	}
	d.data = v->der;
	d.size = (unsigned int)v->der_len;
	if (gnutls_x509_crt_init(&v->crt) < 0) {
		v->crt = NULL;
		acme_reply_internal(r, "out of memory");
		return -1;
	}
	if (gnutls_x509_crt_import(v->crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_serial(v->crt, serial, &len) < 0 ||
	    len == 0) {
		acme_reply_problem(r, 400, "malformed", "\"certificate\" is not "
		    "a DER X.509 certificate");
		return -1;
	}
	/* pki_sign_leaf() stores serials as lower-case hex of the DER
	 * integer's bytes. */
	for (i = 0; i < len; i++) {
		v->serial[2 * i] = acme_hex_digits[serial[i] >> 4];
		v->serial[2 * i + 1] = acme_hex_digits[serial[i] & 0xf];
	}
	v->serial[2 * len] = '\0';
	return 0;
}

/* 1 when text is the lower-case hex of data[len]. */
static int
acme_hex_equal(const char *text, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (text[2 * i] != acme_hex_digits[data[i] >> 4] ||
		    text[2 * i + 1] != acme_hex_digits[data[i] & 0xf])
			return 0;
	return text[2 * len] == '\0';
}

/* Find the certificate among this provisioner's.  Returns 0, or -1
 * after replying. */
static int
acme_revoke_lookup(struct acme_request *r, struct acme_revoke *v)
{
	const char *params[2] = { v->serial, r->prov.id };
	PGresult *res;
	int ret = -1;

	res = acme_db(r->core, "SELECT c.id, c.account_id, c.order_id, "
	    "encode(c.der, 'hex'), c.revoked_at IS NOT NULL FROM certificates c "
	    "JOIN accounts a ON a.id = c.account_id WHERE c.serial = $1 AND "
	    "a.provisioner_id = $2", 2, params);
	if (res == NULL) {
		acme_reply_internal(r, "certificate lookup failed");
		return -1;
	}
	if (PQntuples(res) != 1 || (size_t)PQgetlength(res, 0, 3) !=
	    2 * v->der_len) {
		acme_reply_problem(r, 404, "malformed", "this provisioner did "
		    "not issue the certificate");
		goto out;
	}
	/* The serial matched; the whole DER must match too, so that a
	 * forged certificate with a copied serial is not taken for ours. */
	if (!acme_hex_equal(PQgetvalue(res, 0, 3), v->der, v->der_len)) {
		acme_reply_problem(r, 404, "malformed", "this provisioner did "
		    "not issue the certificate");
		goto out;
	}
	v->revoked = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	if ((v->cert_id = strdup(PQgetvalue(res, 0, 0))) == NULL ||
	    (v->owner = strdup(PQgetvalue(res, 0, 1))) == NULL ||
	    (v->order_id = strdup(PQgetvalue(res, 0, 2))) == NULL) {
		acme_reply_internal(r, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

/* 1 when the account has valid, unexpired authorizations for every
 * identifier of the certificate's order, 0 when not, -1 on error. */
static int
acme_revoke_account_authorized(struct acme_request *r,
    const struct acme_revoke *v)
{
	const char *params[2] = { v->order_id, r->account.id };
	PGresult *res;
	int ok;

	res = acme_db(r->core, "SELECT NOT EXISTS (SELECT 1 FROM "
	    "authorizations ca WHERE ca.order_id = $1 AND NOT EXISTS (SELECT 1 "
	    "FROM authorizations a JOIN orders o ON o.id = a.order_id WHERE "
	    "o.account_id = $2 AND a.identifier_type = ca.identifier_type AND "
	    "a.identifier_value = ca.identifier_value AND a.wildcard = "
	    "ca.wildcard AND a.status = 'valid' AND a.expires > now()))", 2,
	    params);
	if (res == NULL)
		return -1;
	ok = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return ok;
}

/* 1 when key is the certificate's public key, 0 when not, -1 on error. */
static int
acme_revoke_key_matches(gnutls_x509_crt_t crt, const struct jwk *key)
{
	gnutls_pubkey_t cert_key = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	int ret = -1;

	if (gnutls_pubkey_init(&cert_key) < 0)
		return -1;
	if (gnutls_pubkey_import_x509(cert_key, crt, 0) < 0) {
		ret = 0;
		goto out;
	}
	if (gnutls_pubkey_export2(cert_key, GNUTLS_X509_FMT_DER, &a) < 0 ||
	    gnutls_pubkey_export2(key->pubkey, GNUTLS_X509_FMT_DER, &b) < 0)
		goto out;
	ret = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
 out:
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(cert_key);
	return ret;
}

/* Returns 0 when the signer may revoke, or -1 after replying. */
static int
acme_revoke_authorize(struct acme_request *r, const struct acme_revoke *v)
{
	int ok;

	if (r->account.id == NULL) {
		if ((ok = acme_revoke_key_matches(v->crt, r->key)) == -1) {
			acme_reply_internal(r, "cannot compare public keys");
			return -1;
		}
		if (!ok) {
			acme_reply_problem(r, 403, "unauthorized", "the \"jwk\" "
			    "that signed this request is not the "
			    "certificate's public key");
			return -1;
		}
		return 0;
	}
	if (strcmp(v->owner, r->account.id) == 0)
		return 0;
	if ((ok = acme_revoke_account_authorized(r, v)) == -1) {
		acme_reply_internal(r, "authorization lookup failed");
		return -1;
	}
	if (!ok) {
		acme_reply_problem(r, 403, "unauthorized", "the account neither "
		    "was issued this certificate nor holds valid "
		    "authorizations for all its identifiers");
		return -1;
	}
	return 0;
}

enum acme_outcome
acme_handle_revoke_cert(struct acme_request *r)
{
	struct acme_revoke v;
	const char *params[2];
	PGresult *res = NULL;

	memset(&v, 0, sizeof(v));
	if (acme_is_post_as_get(r)) {
		acme_reply_problem(r, 400, "malformed", "revokeCert needs a "
		    "JSON object payload with \"certificate\"");
		goto out;
	}
	if (acme_revoke_reason(r, &v) == -1 ||
	    acme_revoke_certificate(r, &v) == -1 ||
	    acme_revoke_lookup(r, &v) == -1 ||
	    acme_revoke_authorize(r, &v) == -1)
		goto out;
	if (v.revoked) {
		acme_reply_problem(r, 400, "alreadyRevoked", "the certificate "
		    "with serial %s is already revoked", v.serial);
		goto out;
	}

	params[0] = v.cert_id;
	params[1] = v.reason_text;
	res = acme_db(r->core, "UPDATE certificates SET revoked_at = now(), "
	    "revocation_reason = $2::int WHERE id = $1 AND revoked_at IS NULL "
	    "RETURNING id", 2, params);
	if (res == NULL) {
		acme_reply_internal(r, "cannot store the revocation");
		goto out;
	}
	if (PQntuples(res) != 1) {
		acme_reply_problem(r, 400, "alreadyRevoked", "the certificate "
		    "with serial %s is already revoked", v.serial);
		goto out;
	}
	log_info("acme: provisioner %s: certificate %s serial %s revoked, "
	    "reason %d, by %s %s", r->prov.name, v.cert_id, v.serial,
	    v.reason, r->account.id != NULL ? "account" : "certificate key",
	    r->account.id != NULL ? r->account.id : r->key->thumbprint);
	acme_reply_body(r, 200, NULL, NULL, 0);
 out:
	PQclear(res);
	acme_revoke_clear(&v);
	return ACME_DONE;
}
