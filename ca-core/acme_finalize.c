/*
 * Finalize and certificate download (RFC 8555 sections 7.4, 7.4.2).
 *
 * Interface: acme_handle_finalize() and acme_handle_certificate() in
 * acme_internal.h.  Finalize accepts a ready order's CSR when its names
 * equal the order's identifiers and moves the order to processing.  It
 * signs with pki_sign_leaf(), taking the names from the order and never
 * from the CSR, and stores the certificate and the valid order in one
 * transaction before it replies.  The subject CN is the CSR's CN, or with
 * the provisioner option "force_cn" the first DNS identifier.  CSR problems are badCSR or badPublicKey for the client; a
 * signing or database failure makes the order invalid with serverInternal
 * and is logged at error level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "acme_csr.h"
#include "acme_internal.h"
#include "acme_syntax.h"
#include "b64url.h"
#include "core.h"
#include "log.h"
#include "pki.h"
#include "util.h"

/* base64url of the largest CSR accepted. */
#define ACME_CSR_B64_MAX	(16 * 1024)
/* X.520 upper bound of a commonName. */
#define ACME_CN_MAX		64

struct acme_finalize {
	struct acme_identifier	*ids;		/* the order's identifiers */
	size_t			 nids;
	time_t			 not_before;	/* 0 when not requested */
	time_t			 not_after;
	struct acme_csr		*csr;
	gnutls_datum_t		 der;
	char			*serial;
	char			*cert_id;
};

static void
acme_finalize_clear(struct acme_finalize *f)
{
	free(f->ids);
	acme_csr_free(f->csr);
	gnutls_free(f->der.data);
	free(f->serial);
	free(f->cert_id);
}

/* Read the order's identifiers from their stored JSON. */
static int
acme_finalize_identifiers(struct acme_finalize *f, const char *text)
{
	struct json_object *list, *item, *type, *value;
	char err[256];
	size_t i, n;
	int ret = -1;

	if ((list = json_tokener_parse(text)) == NULL ||
	    !json_object_is_type(list, json_type_array))
		goto out;
	n = json_object_array_length(list);
	if (n == 0 || (f->ids = calloc(n, sizeof(*f->ids))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(item, "type", &type) ||
		    !json_object_object_get_ex(item, "value", &value) ||
		    acme_identifier_parse(json_object_get_string(type),
		    json_object_get_string(value), &f->ids[i], err,
		    sizeof(err)) != 0)
			goto out;
	}
	f->nids = n;
	ret = 0;
 out:
	json_object_put(list);
	return ret;
}

/* Check ownership and state and load the order.  Returns 0, or -1 after
 * replying. */
static int
acme_finalize_load(struct acme_request *r, struct acme_finalize *f)
{
	const char *params[1] = { r->object_id };
	PGresult *res;
	int ret = -1;

	if (acme_order_expire(r->core, r->object_id) == -1) {
		acme_reply_internal(r, "order expiry update failed");
		return -1;
	}
	res = acme_db(r->core, "SELECT account_id, status, identifiers::text, "
	    "extract(epoch FROM not_before)::bigint, "
	    "extract(epoch FROM not_after)::bigint FROM orders WHERE id = $1",
	    1, params);
	if (res == NULL) {
		acme_reply_internal(r, "order lookup failed");
		return -1;
	}
	if (PQntuples(res) != 1) {
		acme_reply_problem(r, 404, "malformed", "no such order");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), r->account.id) != 0) {
		acme_reply_problem(r, 403, "unauthorized", "the order belongs "
		    "to another account");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "ready") != 0) {
		/* A processing order gets Retry-After so that the client
		 * polls it instead of finalizing again. */
		if (strcmp(PQgetvalue(res, 0, 1), "processing") == 0)
			acme_add_header(r, "Retry-After", "1");
		acme_reply_problem(r, 403, "orderNotReady", "the order is %s, "
		    "not ready", PQgetvalue(res, 0, 1));
		goto out;
	}
	if (acme_finalize_identifiers(f, PQgetvalue(res, 0, 2)) == -1) {
		acme_reply_internal(r, "stored identifiers do not parse");
		goto out;
	}
	if (!PQgetisnull(res, 0, 3))
		f->not_before = (time_t)strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	if (!PQgetisnull(res, 0, 4))
		f->not_after = (time_t)strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

/* Decode and check the CSR against the order.  Returns 0, or -1 after
 * replying. */
static int
acme_finalize_csr(struct acme_request *r, struct acme_finalize *f)
{
	struct json_object *value;
	const char *b64;
	uint8_t *der = NULL;
	size_t len;
	char err[512];
	int rc, ret = -1;

	if (!json_object_object_get_ex(r->payload, "csr", &value) ||
	    !json_object_is_type(value, json_type_string)) {
		acme_reply_problem(r, 400, "malformed", "finalize needs a "
		    "\"csr\" string");
		return -1;
	}
	b64 = json_object_get_string(value);
	if (strlen(b64) > ACME_CSR_B64_MAX ||
	    b64url_decode(b64, strlen(b64), &der, &len) == -1) {
		acme_reply_problem(r, 400, "badCSR", "\"csr\" must be base64url "
		    "DER of at most %d characters", ACME_CSR_B64_MAX);
		return -1;
	}
	rc = acme_csr_parse(der, len, &f->csr, err, sizeof(err));
	if (rc == ACME_CSR_NOMEM) {
		acme_reply_internal(r, "out of memory parsing a CSR");
		goto out;
	}
	if (rc != ACME_CSR_OK) {
		acme_reply_problem(r, 400, rc == ACME_CSR_BAD_KEY ?
		    "badPublicKey" : "badCSR", "%s", err);
		goto out;
	}
	if (acme_identifiers_compare(f->ids, f->nids, f->csr->names,
	    f->csr->nnames, err, sizeof(err)) == -1) {
		acme_reply_problem(r, 400, "badCSR", "%s", err);
		goto out;
	}
	ret = 0;
 out:
	free(der);
	return ret;
}

/* Set the order processing if it is still ready.  Returns 1 when this
 * request did, 0 when not, -1 on a database error. */
static int
acme_finalize_claim(struct acme_request *r)
{
	const char *params[1] = { r->object_id };
	PGresult *res;
	int claimed;

	res = acme_db(r->core, "UPDATE orders SET status = 'processing' WHERE "
	    "id = $1 AND status = 'ready' RETURNING id", 1, params);
	if (res == NULL)
		return -1;
	claimed = PQntuples(res) == 1;
	PQclear(res);
	return claimed;
}

/* The subject CN: the CSR's own CN (already checked to be one of the
 * order's identifiers), else with the provisioner option "force_cn" the
 * first DNS identifier that fits in a CN, else none. */
static const char *
acme_finalize_cn(struct acme_request *r, const struct acme_finalize *f)
{
	size_t i;

	if (f->csr->has_cn && strlen(f->csr->cn.value) <= ACME_CN_MAX)
		return f->csr->cn.value;
	if (!acme_option_bool(r, "force_cn"))
		return NULL;
	for (i = 0; i < f->nids; i++)
		if (f->ids[i].type == ACME_ID_DNS &&
		    strlen(f->ids[i].value) <= ACME_CN_MAX)
			return f->ids[i].value;
	return NULL;
}

static int
acme_finalize_sign(struct acme_request *r, struct acme_finalize *f)
{
	struct pki_leaf_request leaf;
	struct acme_durations d;
	const char **names = NULL;
	char err[256];
	size_t i;
	int ret = -1;

	if ((names = calloc(f->nids, sizeof(*names))) == NULL)
		return -1;
	memset(&leaf, 0, sizeof(leaf));
	for (i = 0; i < f->nids; i++)
		names[i] = f->ids[i].value;
	acme_durations_get(r, &d);
	leaf.common_name = acme_finalize_cn(r, f);
	leaf.pubkey = f->csr->pubkey;
	leaf.names = names;
	leaf.nnames = f->nids;
	leaf.not_before = f->not_before != 0 ? f->not_before : time(NULL);
	leaf.not_after = f->not_after != 0 ? f->not_after :
	    leaf.not_before + (time_t)d.def;
	f->not_before = leaf.not_before;
	f->not_after = leaf.not_after;
	if (pki_sign_leaf(r->core->issuer, &leaf, &f->der, &f->serial, err,
	    sizeof(err)) != 0) {
		log_error("acme: order %s: signing failed: %s", r->object_id,
		    err);
		goto out;
	}
	ret = 0;
 out:
	free(names);
	return ret;
}

static char *
acme_bytea_hex(const gnutls_datum_t *d)
{
	static const char hex[] = "0123456789abcdef";
	char *s;
	unsigned int i;

	if ((s = malloc(2 + 2 * (size_t)d->size + 1)) == NULL)
		return NULL;
	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < d->size; i++) {
		s[2 + 2 * i] = hex[d->data[i] >> 4];
		s[3 + 2 * i] = hex[d->data[i] & 0xf];
	}
	s[2 + 2 * (size_t)d->size] = '\0';
	return s;
}

/* Store the certificate and make the order valid, in one transaction. */
static int
acme_finalize_store(struct acme_request *r, struct acme_finalize *f)
{
	const char *params[8];
	char *hex = NULL, *leaf_pem = NULL, *chain = NULL, nb[24], na[24];
	PGresult *res = NULL;
	int ret = -1;

	if ((f->cert_id = util_random_id()) == NULL ||
	    (hex = acme_bytea_hex(&f->der)) == NULL ||
	    (leaf_pem = pki_der_to_pem(&f->der)) == NULL ||
	    asprintf(&chain, "%s%s", leaf_pem, r->core->issuer->chain_pem) ==
	    -1) {
		chain = NULL;
		goto out;
	}
	snprintf(nb, sizeof(nb), "%lld", (long long)f->not_before);
	snprintf(na, sizeof(na), "%lld", (long long)f->not_after);
	params[0] = f->cert_id;
	params[1] = f->serial;
	params[2] = r->account.id;
	params[3] = r->object_id;
	params[4] = hex;
	params[5] = chain;
	params[6] = nb;
	params[7] = na;
	if (acme_db_begin(r->core) == -1)
		goto out;
	if ((res = acme_db(r->core, "INSERT INTO certificates (id, serial, "
	    "account_id, order_id, der, chain_pem, not_before, not_after) "
	    "VALUES ($1, $2, $3, $4, $5::bytea, $6, to_timestamp($7::bigint), "
	    "to_timestamp($8::bigint))", 8, params)) == NULL)
		goto out;
	PQclear(res);
	params[0] = r->object_id;
	params[1] = f->cert_id;
	if ((res = acme_db(r->core, "UPDATE orders SET status = 'valid', "
	    "certificate_id = $2 WHERE id = $1 AND status = 'processing' "
	    "RETURNING id", 2, params)) == NULL || PQntuples(res) != 1)
		goto out;
	if (acme_db_commit(r->core) == -1)
		goto out;
	ret = 0;
 out:
	if (ret == -1)
		acme_db_rollback(r->core);
	PQclear(res);
	free(hex);
	free(leaf_pem);
	free(chain);
	return ret;
}

/* Record an issuance failure on the order. */
static void
acme_finalize_fail(struct acme_request *r)
{
	struct json_object *problem;
	const char *params[2];
	PGresult *res;

	problem = acme_problem_new("serverInternal", "the certificate could "
	    "not be issued", 500);
	params[0] = r->object_id;
	params[1] = problem != NULL ? json_object_to_json_string_ext(problem,
	    JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	res = acme_db(r->core, "UPDATE orders SET status = 'invalid', error = "
	    "$2::jsonb WHERE id = $1 AND status = 'processing'", 2, params);
	PQclear(res);
	json_object_put(problem);
	acme_reply_internal(r, "issuance failed; order set invalid");
}

enum acme_outcome
acme_handle_finalize(struct acme_request *r)
{
	struct acme_finalize f;
	struct json_object *order = NULL;
	char *location = NULL;
	int claimed;

	memset(&f, 0, sizeof(f));
	if (acme_is_post_as_get(r)) {
		acme_reply_problem(r, 400, "malformed", "finalize needs a JSON "
		    "object payload with \"csr\"");
		goto out;
	}
	if (acme_finalize_load(r, &f) == -1 || acme_finalize_csr(r, &f) == -1)
		goto out;
	if ((claimed = acme_finalize_claim(r)) != 1) {
		if (claimed == -1)
			acme_reply_internal(r, "cannot claim the order");
		else
			acme_reply_problem(r, 403, "orderNotReady", "the order "
			    "is no longer ready");
		goto out;
	}
	/* NOTE: a crash between this point and the commit leaves the order
	 * in processing for good; nothing moves it on yet. */
	if (acme_finalize_sign(r, &f) == -1 ||
	    acme_finalize_store(r, &f) == -1) {
		acme_finalize_fail(r);
		goto out;
	}
	log_info("acme: account %s: order %s valid, certificate %s serial %s",
	    r->account.id, r->object_id, f.cert_id, f.serial);

	location = acme_url(r->prefix, "order", r->object_id, NULL);
	if (location == NULL || acme_order_render(r->core, r->prefix,
	    r->object_id, r->account.id, &order, NULL) != 0) {
		acme_reply_internal(r, "cannot read back the order");
		goto out;
	}
	acme_reply_json(r, 200, order, location);
 out:
	json_object_put(order);
	free(location);
	acme_finalize_clear(&f);
	return ACME_DONE;
}

enum acme_outcome
acme_handle_certificate(struct acme_request *r)
{
	const char *params[1] = { r->object_id };
	PGresult *res;

	if (acme_require_post_as_get(r, "a certificate") == -1)
		return ACME_DONE;
	res = acme_db(r->core, "SELECT account_id, chain_pem FROM certificates "
	    "WHERE id = $1", 1, params);
	if (res == NULL)
		acme_reply_internal(r, "certificate lookup failed");
	else if (PQntuples(res) != 1)
		acme_reply_problem(r, 404, "malformed", "no such certificate");
	else if (strcmp(PQgetvalue(res, 0, 0), r->account.id) != 0)
		acme_reply_problem(r, 403, "unauthorized", "the certificate "
		    "belongs to another account");
	else
		acme_reply_body(r, 200, "application/pem-certificate-chain",
		    PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	PQclear(res);
	return ACME_DONE;
}
