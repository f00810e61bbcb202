/*
 * Keys, CSRs and downloaded chains for `caadm certificate`.
 *
 * Interface: certkey_generate(), certkey_csr(), certkey_export() and
 * certkey_check_chain() in certkey.h, all through GnuTLS.  The CSR has
 * CN = SUBJECT and one subjectAltName entry per requested name (DNS or
 * IP address), and is signed with SHA-256 (Ed25519 signs without a
 * separate digest).  Every failure returns to the caller with a message;
 * nothing here prints or exits.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "b64url.h"
#include "certkey.h"
#include "util.h"

/* Upper bound of commonName in X.520 (ub-common-name). */
#define CERTKEY_MAX_CN	64

int
certkey_generate(gnutls_pk_algorithm_t pk, gnutls_ecc_curve_t curve,
    unsigned int bits, gnutls_x509_privkey_t *out, char *err, size_t errlen)
{
	gnutls_x509_privkey_t key = NULL;
	int rc;

	*out = NULL;
	if (pk != GNUTLS_PK_RSA)
		bits = GNUTLS_CURVE_TO_BITS(curve);
	if ((rc = gnutls_x509_privkey_init(&key)) < 0) {
		util_seterr(err, errlen, "cannot create a key: %s",
		    gnutls_strerror(rc));
		return -1;
	}
	if ((rc = gnutls_x509_privkey_generate2(key, pk, bits, 0, NULL,
	    0)) < 0) {
		util_seterr(err, errlen, "key generation failed: %s",
		    gnutls_strerror(rc));
		gnutls_x509_privkey_deinit(key);
		return -1;
	}
	*out = key;
	return 0;
}

static int
certkey_add_san(gnutls_x509_crq_t crq, const struct certkey_name *name)
{
	unsigned char addr[16];
	unsigned int len;

	if (!name->is_ip)
		return gnutls_x509_crq_set_subject_alt_name(crq,
		    GNUTLS_SAN_DNSNAME, name->value,
		    (unsigned int)strlen(name->value), GNUTLS_FSAN_APPEND);
	if (inet_pton(AF_INET, name->value, addr) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, name->value, addr) == 1)
		len = 16;
	else
		return GNUTLS_E_INVALID_REQUEST;
	return gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS,
	    addr, len, GNUTLS_FSAN_APPEND);
}

int
certkey_csr(gnutls_x509_privkey_t key, const char *subject,
    const struct certkey_name *names, size_t nnames, char **csr_b64,
    char *err, size_t errlen)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t der = { NULL, 0 };
	gnutls_digest_algorithm_t dig = GNUTLS_DIG_SHA256;
	size_t i;
	int rc, ret = -1;

	*csr_b64 = NULL;
	if ((rc = gnutls_x509_crq_init(&crq)) < 0)
		goto fail;
	if ((rc = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
	    (rc = gnutls_x509_crq_set_key(crq, key)) < 0)
		goto fail;
	if (strlen(subject) <= CERTKEY_MAX_CN &&
	    (rc = gnutls_x509_crq_set_dn_by_oid(crq,
	    GNUTLS_OID_X520_COMMON_NAME, 0, subject,
	    (unsigned int)strlen(subject))) < 0)
		goto fail;
	for (i = 0; i < nnames; i++) {
		if ((rc = certkey_add_san(crq, &names[i])) < 0)
			goto fail;
	}

	/* EdDSA hashes internally; GnuTLS expects no digest choice. */
	if (gnutls_x509_privkey_get_pk_algorithm(key) ==
	    GNUTLS_PK_EDDSA_ED25519)
		dig = GNUTLS_DIG_UNKNOWN;
	if ((rc = gnutls_x509_crq_sign2(crq, key, dig, 0)) < 0 ||
	    (rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER,
	    &der)) < 0)
		goto fail;
	if ((*csr_b64 = b64url_encode(der.data, der.size)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
	goto out;
 fail:
	util_seterr(err, errlen, "cannot build the certificate signing "
	    "request: %s", gnutls_strerror(rc));
 out:
	gnutls_free(der.data);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	return ret;
}

int
certkey_export(gnutls_x509_privkey_t key, gnutls_datum_t *pem, char *err,
    size_t errlen)
{
	int rc;

	pem->data = NULL;
	pem->size = 0;
	if ((rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
	    NULL, GNUTLS_PKCS_PLAIN, pem)) < 0) {
		util_seterr(err, errlen, "cannot export the private key: %s",
		    gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

int
certkey_check_chain(const char *chain, size_t len, gnutls_x509_privkey_t key,
    char *err, size_t errlen)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_datum_t data;
	unsigned char want[64], got[64];
	size_t want_len = sizeof(want), got_len = sizeof(got);
	unsigned int n = 0, i;
	int rc, ret = -1;

	data.data = (unsigned char *)(uintptr_t)chain;
	data.size = (unsigned int)len;
	if ((rc = gnutls_x509_crt_list_import2(&crts, &n, &data,
	    GNUTLS_X509_FMT_PEM, 0)) < 0 || n == 0) {
		util_seterr(err, errlen, "the downloaded certificate is not "
		    "a PEM certificate chain: %s",
		    rc < 0 ? gnutls_strerror(rc) : "no certificate");
		goto out;
	}
	if ((rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256,
	    want, &want_len)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crts[0], GNUTLS_KEYID_USE_SHA256,
	    got, &got_len)) < 0) {
		util_seterr(err, errlen, "cannot compare the certificate "
		    "key: %s", gnutls_strerror(rc));
		goto out;
	}
	if (want_len != got_len || memcmp(want, got, want_len) != 0) {
		util_seterr(err, errlen, "the downloaded certificate does "
		    "not carry the public key of the request");
		goto out;
	}
	ret = 0;
 out:
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return ret;
}
