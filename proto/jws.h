/*
 * JSON Web Signatures in the flattened JSON serialization (RFC 7515
 * section 7.2.2), as ACME requests use them (RFC 8555 section 6.2).
 */
#ifndef PROTO_JWS_H
#define PROTO_JWS_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "jwk.h"

/* The algorithms ca-core accepts, as a JSON array text for the
 * badSignatureAlgorithm problem. */
#define JWS_ALGORITHMS_JSON \
	"[\"ES256\",\"ES384\",\"ES512\",\"RS256\",\"RS384\",\"RS512\"," \
	"\"PS256\",\"PS384\",\"PS512\",\"EdDSA\"]"

enum jws_error {
	JWS_OK = 0,
	JWS_ERR_MALFORMED = -1,		/* not a flattened JWS, bad JSON or base64url */
	JWS_ERR_BAD_ALG = -2,		/* "alg" missing, "none", MAC or unknown */
	JWS_ERR_KEY_MISMATCH = -3,	/* alg does not fit the key type or curve */
	JWS_ERR_BAD_SIGNATURE = -4,	/* signature does not verify */
	JWS_ERR_NOMEM = -5
};

struct jws {
	char			*protected_b64;	/* as received */
	char			*payload_b64;	/* as received, may be "" */
	struct json_object	*header;	/* decoded protected header */
	uint8_t			*payload;	/* decoded, NUL-terminated */
	size_t			 payload_len;
	uint8_t			*signature;
	size_t			 signature_len;
	/* Members of the protected header, owned by header; NULL if absent
	 * or not a string. */
	const char		*alg;
	const char		*nonce;
	const char		*url;
	const char		*kid;
	struct json_object	*jwk;		/* "jwk" object or NULL */
};

/* Parse a flattened JWS.  Requires "protected", "payload" and
 * "signature"; rejects the general serialization ("signatures") and an
 * unprotected "header".  Returns JWS_OK and a new jws in *out, or an error
 * with a reason in err. */
enum jws_error jws_parse(const char *body, size_t len, struct jws **out,
	    char *err, size_t errlen);

/* Returns 1 when alg is one of JWS_ALGORITHMS_JSON. */
int	 jws_alg_supported(const char *alg);

/* Verify the signature over protected_b64 "." payload_b64 with key. */
enum jws_error jws_verify(const struct jws *, const struct jwk *key,
	    char *err, size_t errlen);

/* Verify an HS256 MAC (External Account Binding, RFC 8555 7.3.4). */
enum jws_error jws_verify_hmac(const struct jws *, const uint8_t *key,
	    size_t key_len, char *err, size_t errlen);

void	 jws_free(struct jws *);

/* Signing, for the built-in client.  Chooses the algorithm from the key
 * (ES256/384/512 by curve, RS256, EdDSA), builds the protected header from
 * the given members (jwk or kid, nonce, url; NULL ones are left out) and
 * returns the flattened JWS text in *out (caller frees). */
int	 jws_sign(gnutls_privkey_t key, const struct jwk *pub,
	    const char *kid, const char *nonce, const char *url,
	    const char *payload, char **out, char *err, size_t errlen);

/* Name of the algorithm jws_sign uses for this key, e.g. "ES256". */
const char	*jws_alg_for_key(const struct jwk *pub);

#endif
