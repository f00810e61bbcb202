/*
 * X.509 with GnuTLS: the root and intermediate created by caadm init, and
 * certificate issuance.  pki_sign_leaf is the only function that uses the
 * intermediate's private key for signing certificates, so that key could
 * move to its own process or an HSM without changing callers.
 */
#ifndef CA_PKI_H
#define CA_PKI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

/* Create a self-signed root and an intermediate signed by it (ECDSA P-256)
 * and write them as PEM: root_ca.crt, root_ca.key, intermediate_ca.crt,
 * intermediate_ca.key in certs_dir (certificates, 0644) and secrets_dir
 * (keys, 0600).  Root valid 10 years, intermediate 10 years. */
int	 pki_create_ca(const char *name, const char *certs_dir,
	    const char *secrets_dir, char *err, size_t errlen);

struct pki_issuer {
	gnutls_x509_crt_t	 crt;
	gnutls_privkey_t	 key;
	char			*chain_pem;	/* intermediate PEM */
};

/* Load the intermediate certificate and key (a PEM file, or a "pkcs11:"
 * URL).  Returns 0 and a new issuer, or -1. */
int	 pki_issuer_load(const char *crt_path, const char *key_path,
	    struct pki_issuer **out, char *err, size_t errlen);
void	 pki_issuer_free(struct pki_issuer *);

/* What goes into a leaf certificate.  names are DNS names or IP address
 * texts (an IP goes into an iPAddress SAN). */
struct pki_leaf_request {
	gnutls_pubkey_t		 pubkey;
	const char *const	*names;
	size_t			 nnames;
	const char		*common_name;	/* or NULL for no subject CN */
	time_t			 not_before;
	time_t			 not_after;
};

/* Sign a leaf: random 128-bit+ serial (positive, 16 random bytes with the
 * top bit cleared plus a fixed prefix byte), SANs, AKI/SKI, key usage for
 * the key type, EKU serverAuth and clientAuth, basicConstraints CA:FALSE.
 * Stores the DER in *der (gnutls_free), the serial as lowercase hex in
 * *serial_hex (malloc'd) and returns 0, or -1 with err. */
int	 pki_sign_leaf(const struct pki_issuer *, const struct pki_leaf_request *,
	    gnutls_datum_t *der, char **serial_hex, char *err, size_t errlen);

/* Convert DER to a PEM "CERTIFICATE" block, malloc'd. */
char	*pki_der_to_pem(const gnutls_datum_t *der);

#endif
