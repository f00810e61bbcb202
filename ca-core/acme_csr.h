/*
 * CSR parsing and checks for ACME finalize.
 */
#ifndef CA_ACME_CSR_H
#define CA_ACME_CSR_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/abstract.h>

#include "acme_syntax.h"

enum acme_csr_result {
	ACME_CSR_OK = 0,
	ACME_CSR_BAD = -1,	/* badCSR: syntax, signature or names */
	ACME_CSR_BAD_KEY = -2,	/* badPublicKey: key type or size */
	ACME_CSR_NOMEM = -3
};

struct acme_csr {
	gnutls_pubkey_t		 pubkey;
	/* dNSName and iPAddress SANs, then the CN, normalized; may repeat. */
	struct acme_identifier	*names;
	size_t			 nnames;
	/* The subject CN, normalized, when has_cn is 1. */
	struct acme_identifier	 cn;
	int			 has_cn;
};

/* Parse a DER CSR, verify its signature, read its names and check its
 * key.  Returns ACME_CSR_OK and a new csr in *out, or an error with a
 * detail in err. */
int	 acme_csr_parse(const uint8_t *der, size_t len, struct acme_csr **out,
	    char *err, size_t errlen);
void	 acme_csr_free(struct acme_csr *);

#endif
