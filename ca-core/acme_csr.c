/*
 * CSR checks for finalize (RFC 8555 section 7.4): parse the DER PKCS#10
 * request, verify its self-signature, collect its names (dNSName and
 * iPAddress SANs and the subject CN) and check its public key type.
 *
 * Interface: acme_csr_parse() and acme_csr_free() in acme_csr.h.  Every
 * failure is the client's (badCSR or badPublicKey) and is returned with a
 * detail for the problem document; nothing here logs.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "acme_csr.h"
#include "acme_syntax.h"

/* More SANs than an order may have identifiers is never a match; the
 * bound keeps a hostile CSR from costing much. */
#define ACME_CSR_MAX_NAMES	(2 * 100 + 1)
#define ACME_CSR_NAME_MAX	256
/* RSA public exponents below 2^256, as proto/jwk.c bounds them for
 * account keys (FIPS 186-4 appendix B.3.1). */
#define ACME_CSR_RSA_MAX_E_LEN	32

static int
acme_csr_add(struct acme_csr *csr, const char *name, char *err,
    size_t errlen)
{
	char reason[200];

	if (csr->nnames == ACME_CSR_MAX_NAMES) {
		snprintf(err, errlen, "CSR has more than %d names",
		    ACME_CSR_MAX_NAMES);
		return -1;
	}
	if (acme_identifier_from_name(name, &csr->names[csr->nnames], reason,
	    sizeof(reason)) == -1) {
		snprintf(err, errlen, "CSR name is invalid: %s", reason);
		return -1;
	}
	csr->nnames++;
	return 0;
}

static int
acme_csr_sans(gnutls_x509_crq_t crq, struct acme_csr *csr, char *err,
    size_t errlen)
{
	char buf[ACME_CSR_NAME_MAX], text[INET6_ADDRSTRLEN];
	unsigned int seq, type, critical;
	size_t size;
	int rc;

	for (seq = 0;; seq++) {
		size = sizeof(buf) - 1;
		rc = gnutls_x509_crq_get_subject_alt_name(crq, seq, buf, &size,
		    &type, &critical);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (rc < 0) {
			snprintf(err, errlen, "CSR subjectAltName %u cannot be "
			    "read: %s", seq, gnutls_strerror(rc));
			return -1;
		}
		if (type == GNUTLS_SAN_DNSNAME) {
			if (memchr(buf, '\0', size) != NULL) {
				snprintf(err, errlen, "CSR dNSName contains a "
				    "NUL byte");
				return -1;
			}
			buf[size] = '\0';
		} else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 ||
		    size == 16)) {
			inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, text,
			    sizeof(text));
			snprintf(buf, sizeof(buf), "%s", text);
		} else {
			snprintf(err, errlen, "CSR has a subjectAltName other "
			    "than dNSName or iPAddress");
			return -1;
		}
		if (acme_csr_add(csr, buf, err, errlen) == -1)
			return -1;
	}
}

static int
acme_csr_cn(gnutls_x509_crq_t crq, struct acme_csr *csr, char *err,
    size_t errlen)
{
	char buf[ACME_CSR_NAME_MAX];
	size_t size = sizeof(buf);
	int rc;

	rc = gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME,
	    0, 0, buf, &size);
	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (rc < 0 || memchr(buf, '\0', size) != NULL) {
		snprintf(err, errlen, "CSR common name cannot be read");
		return -1;
	}
	size = sizeof(buf);
	if (gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 1,
	    0, NULL, &size) != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		snprintf(err, errlen, "CSR has more than one common name");
		return -1;
	}
	if (acme_csr_add(csr, buf, err, errlen) == -1)
		return -1;
	csr->cn = csr->names[csr->nnames - 1];
	csr->has_cn = 1;
	return 0;
}

/* Accept EC P-256/384/521, RSA of 2048 to 8192 bits with an exponent
 * below 2^256, and Ed25519. */
static int
acme_csr_key(gnutls_pubkey_t key, char *err, size_t errlen)
{
	gnutls_ecc_curve_t curve;
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 }, e = { NULL, 0 };
	unsigned int bits = 0;
	int alg, rc;

	alg = gnutls_pubkey_get_pk_algorithm(key, &bits);
	switch (alg) {
	case GNUTLS_PK_RSA:
		if (bits < 2048 || bits > 8192) {
			snprintf(err, errlen, "RSA key of %u bits; 2048 to "
			    "8192 bits are accepted", bits);
			return -1;
		}
		rc = gnutls_pubkey_export_rsa_raw2(key, NULL, &e,
		    GNUTLS_EXPORT_FLAG_NO_LZ);
		gnutls_free(e.data);
		if (rc == 0 && e.size <= ACME_CSR_RSA_MAX_E_LEN)
			return 0;
		snprintf(err, errlen, "RSA public exponent must be below "
		    "2^256");
		return -1;
	case GNUTLS_PK_EDDSA_ED25519:
		return 0;
	case GNUTLS_PK_ECDSA:
		rc = gnutls_pubkey_export_ecc_raw(key, &curve, &x, &y);
		gnutls_free(x.data);
		gnutls_free(y.data);
		if (rc == 0 && (curve == GNUTLS_ECC_CURVE_SECP256R1 ||
		    curve == GNUTLS_ECC_CURVE_SECP384R1 ||
		    curve == GNUTLS_ECC_CURVE_SECP521R1))
			return 0;
		snprintf(err, errlen, "EC key on a curve other than P-256, "
		    "P-384 and P-521");
		return -1;
	default:
		snprintf(err, errlen, "key type %s is not accepted; use EC "
		    "P-256/384/521, RSA or Ed25519",
		    gnutls_pk_get_name((gnutls_pk_algorithm_t)alg) != NULL ?
		    gnutls_pk_get_name((gnutls_pk_algorithm_t)alg) : "unknown");
		return -1;
	}
}

int
acme_csr_parse(const uint8_t *der, size_t len, struct acme_csr **out,
    char *err, size_t errlen)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d;
	struct acme_csr *csr = NULL;
	int rc, ret = ACME_CSR_BAD;

	*out = NULL;
	if ((csr = calloc(1, sizeof(*csr))) == NULL ||
	    (csr->names = calloc(ACME_CSR_MAX_NAMES,
	    sizeof(*csr->names))) == NULL ||
	    gnutls_x509_crq_init(&crq) < 0 ||
	    gnutls_pubkey_init(&csr->pubkey) < 0) {
		snprintf(err, errlen, "out of memory");
		ret = ACME_CSR_NOMEM;
		goto out;
	}
	d.data = (unsigned char *)(uintptr_t)der;
	d.size = (unsigned int)len;
	if ((rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER)) < 0) {
		snprintf(err, errlen, "CSR is not a DER PKCS#10 request: %s",
		    gnutls_strerror(rc));
		goto out;
	}

	/* The key is checked before the signature, because verifying with
	 * a hostile RSA key (16384-bit modulus and exponent) took 0.7 s of
	 * CPU with GnuTLS 3.7.9 on x86-64. */
	if ((rc = gnutls_pubkey_import_x509_crq(csr->pubkey, crq, 0)) < 0) {
		snprintf(err, errlen, "CSR public key cannot be read: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if (acme_csr_key(csr->pubkey, err, errlen) == -1) {
		ret = ACME_CSR_BAD_KEY;
		goto out;
	}
	if ((rc = gnutls_x509_crq_verify(crq, 0)) < 0) {
		snprintf(err, errlen, "CSR signature does not verify: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if (acme_csr_sans(crq, csr, err, errlen) == -1 ||
	    acme_csr_cn(crq, csr, err, errlen) == -1)
		goto out;
	*out = csr;
	csr = NULL;
	ret = ACME_CSR_OK;
 out:
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	acme_csr_free(csr);
	return ret;
}

void
acme_csr_free(struct acme_csr *csr)
{
	if (csr == NULL)
		return;
	if (csr->pubkey != NULL)
		gnutls_pubkey_deinit(csr->pubkey);
	free(csr->names);
	free(csr);
}
