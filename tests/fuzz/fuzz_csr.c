/*
 * libFuzzer target for ca-core/acme_csr.c: acme_csr_parse() on the DER
 * CSR of a finalize request, then the comparison with an order's
 * identifiers that finalize makes.  The order is a fixed list (two DNS
 * names, one of them a wildcard, and one IPv4 and one IPv6 address) that
 * the seed CSRs in corpus/fuzz_csr match.  Every name of an accepted CSR
 * must already be normalized: parsing it again gives the same identifier.
 * An RSA key that finalize rejects must be rejected as badPublicKey
 * before the signature is checked, because the check costs CPU time that
 * grows with the key's modulus and exponent.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "acme_csr.h"
#include "acme_syntax.h"
#include "fuzz.h"

/* At most 2 * 100 SANs and one CN, as acme_csr.c bounds them. */
#define FUZZ_CSR_MAX_NAMES	201

static const struct {
	const char	*type;
	const char	*value;
} fuzz_order_ids[] = {
	{ "dns", "a.test" },
	{ "dns", "*.a.test" },
	{ "ip", "192.0.2.1" },
	{ "ip", "2001:db8::1" },
};

#define FUZZ_NORDER	(sizeof(fuzz_order_ids) / sizeof(fuzz_order_ids[0]))

static struct acme_identifier fuzz_order[FUZZ_NORDER];

static void
fuzz_load_order(void)
{
	static int loaded;
	char err[256];
	size_t i;

	if (loaded)
		return;
	for (i = 0; i < FUZZ_NORDER; i++)
		FUZZ_ASSERT(acme_identifier_parse(fuzz_order_ids[i].type,
		    fuzz_order_ids[i].value, &fuzz_order[i], err,
		    sizeof(err)) == 0);
	loaded = 1;
}

/* 1 when data is a CSR with an RSA key of more than 8192 bits or an
 * exponent of 2^256 or more, read without checking the signature. */
static int
fuzz_has_costly_rsa_key(const uint8_t *data, size_t size)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_pubkey_t key = NULL;
	gnutls_datum_t der, e = { NULL, 0 };
	unsigned int bits = 0;
	int costly = 0;

	der.data = (unsigned char *)(uintptr_t)data;
	der.size = (unsigned int)size;
	if (gnutls_x509_crq_init(&crq) < 0 || gnutls_pubkey_init(&key) < 0)
		abort();
	if (gnutls_x509_crq_import(crq, &der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pubkey_import_x509_crq(key, crq, 0) < 0 ||
	    gnutls_pubkey_get_pk_algorithm(key, &bits) != GNUTLS_PK_RSA)
		goto out;
	if (bits > 8192)
		costly = 1;
	else if (gnutls_pubkey_export_rsa_raw2(key, NULL, &e,
	    GNUTLS_EXPORT_FLAG_NO_LZ) == 0 && e.size > 32)
		costly = 1;
 out:
	gnutls_free(e.data);
	gnutls_pubkey_deinit(key);
	gnutls_x509_crq_deinit(crq);
	return costly;
}

static void
fuzz_check_name(const struct acme_identifier *id)
{
	struct acme_identifier again;
	char err[256];

	FUZZ_ASSERT(id->type == ACME_ID_DNS || id->type == ACME_ID_IP);
	FUZZ_ASSERT(memchr(id->value, '\0', sizeof(id->value)) != NULL);
	FUZZ_ASSERT(acme_identifier_parse(acme_identifier_type_name(id->type),
	    id->value, &again, err, sizeof(err)) == 0);
	FUZZ_ASSERT(again.type == id->type);
	FUZZ_ASSERT(again.wildcard == id->wildcard);
	FUZZ_ASSERT(strcmp(again.value, id->value) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_identifier names[FUZZ_CSR_MAX_NAMES];
	struct acme_csr *csr = NULL;
	char err[512];
	size_t i, n;
	int rc, in_names = 0;

	fuzz_load_order();
	err[0] = '\0';
	rc = acme_csr_parse(data, size, &csr, err, sizeof(err));
	if (fuzz_has_costly_rsa_key(data, size))
		FUZZ_ASSERT(rc == ACME_CSR_BAD_KEY);
	if (rc != ACME_CSR_OK) {
		FUZZ_ASSERT(csr == NULL);
		FUZZ_ASSERT(rc == ACME_CSR_BAD || rc == ACME_CSR_BAD_KEY ||
		    rc == ACME_CSR_NOMEM);
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		return 0;
	}

	FUZZ_ASSERT(csr->pubkey != NULL);
	FUZZ_ASSERT(csr->nnames <= FUZZ_CSR_MAX_NAMES);
	for (i = 0; i < csr->nnames; i++) {
		fuzz_check_name(&csr->names[i]);
		if (csr->has_cn && csr->names[i].type == csr->cn.type &&
		    strcmp(csr->names[i].value, csr->cn.value) == 0)
			in_names = 1;
	}
	FUZZ_ASSERT(!csr->has_cn || in_names);

	/* Finalize compares the names as sets, so duplicates must not
	 * change the outcome. */
	err[0] = '\0';
	rc = acme_identifiers_compare(fuzz_order, FUZZ_NORDER, csr->names,
	    csr->nnames, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || fuzz_reason_ok(err, sizeof(err)));
	memcpy(names, csr->names, csr->nnames * sizeof(names[0]));
	n = acme_identifier_dedup(names, csr->nnames);
	FUZZ_ASSERT(n <= csr->nnames);
	FUZZ_ASSERT(acme_identifiers_compare(fuzz_order, FUZZ_NORDER, names,
	    n, err, sizeof(err)) == rc);

	acme_csr_free(csr);
	return 0;
}
