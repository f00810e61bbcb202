/*
 * JSON Web Keys (RFC 7517, 7518, 8037): EC P-256/P-384/P-521, RSA and
 * Ed25519 public keys, and RFC 7638 thumbprints.
 */
#ifndef PROTO_JWK_H
#define PROTO_JWK_H

#include <stddef.h>
#include <json-c/json.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

enum jwk_kty { JWK_EC = 1, JWK_RSA, JWK_OKP };

/* base64url of a SHA-256 digest: 43 characters plus NUL. */
#define JWK_THUMBPRINT_LEN	44

#define JWK_RSA_MIN_BITS	2048
#define JWK_RSA_MAX_BITS	8192

struct jwk {
	enum jwk_kty		 kty;
	gnutls_ecc_curve_t	 curve;		/* EC and OKP only */
	unsigned int		 bits;		/* key size */
	gnutls_pubkey_t		 pubkey;
	/* Canonical public members in lexicographic order, as RFC 7638
	 * hashes them; also the form ca-core stores. */
	char			*canonical;
	char			 thumbprint[JWK_THUMBPRINT_LEN];
};

/* Parse a public JWK object.  Rejects unknown kty or crv, missing or badly
 * encoded members, coordinates of the wrong length, points not on the
 * curve, RSA keys outside [JWK_RSA_MIN_BITS, JWK_RSA_MAX_BITS], and
 * objects carrying private members ("d", "p", ...).  Returns 0 and a new
 * key in *out, or -1 with a reason in err. */
int	 jwk_parse(struct json_object *obj, struct jwk **out, char *err,
	    size_t errlen);

/* Parse a JWK from its canonical text (as stored by ca-core). */
int	 jwk_parse_text(const char *text, struct jwk **out, char *err,
	    size_t errlen);

/* Build the public JWK of a private key (for the built-in client). */
int	 jwk_from_privkey(gnutls_privkey_t key, struct jwk **out, char *err,
	    size_t errlen);

void	 jwk_free(struct jwk *);

#endif
