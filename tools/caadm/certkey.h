/*
 * Certificate key, certificate signing request and downloaded chain of
 * `caadm certificate`.
 */
#ifndef CAADM_CERTKEY_H
#define CAADM_CERTKEY_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* One requested name: a DNS name, or an IP address in canonical text
 * form (RFC 5952 for IPv6). */
struct certkey_name {
	char	*value;
	int	 is_ip;
};

/* Generate a key: pk is GNUTLS_PK_ECDSA (curve), GNUTLS_PK_RSA (bits) or
 * GNUTLS_PK_EDDSA_ED25519.  Returns 0 and a new key in *out, or -1 with a
 * message in err. */
int	 certkey_generate(gnutls_pk_algorithm_t pk, gnutls_ecc_curve_t curve,
	    unsigned int bits, gnutls_x509_privkey_t *out, char *err,
	    size_t errlen);

/* Build a CSR signed by key: CN = subject (left out when longer than the
 * 64 characters X.520 allows), one SAN per name.  Returns 0 and the
 * base64url DER in *csr_b64 (caller frees), or -1 with a message. */
int	 certkey_csr(gnutls_x509_privkey_t key, const char *subject,
	    const struct certkey_name *names, size_t nnames, char **csr_b64,
	    char *err, size_t errlen);

/* Export key as unencrypted PKCS#8 PEM.  Returns 0 and *pem (caller
 * wipes and frees with gnutls_free()), or -1 with a message. */
int	 certkey_export(gnutls_x509_privkey_t key, gnutls_datum_t *pem,
	    char *err, size_t errlen);

/* Check that chain (PEM, len bytes) contains at least one certificate and
 * that the first one carries the public key of key.  Returns 0 or -1. */
int	 certkey_check_chain(const char *chain, size_t len,
	    gnutls_x509_privkey_t key, char *err, size_t errlen);

#endif
