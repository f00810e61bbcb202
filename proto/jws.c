/*
 * JSON Web Signatures in the flattened JSON serialization, as ACME
 * requests carry them: parsing, verification with a JWK (ES256/384/512,
 * RS256/384/512, PS256/384/512, EdDSA), HS256 verification for External
 * Account Binding, and signing for the built-in client.
 *
 * Interface (jws.h): jws_parse(), jws_verify(), jws_verify_hmac(),
 * jws_sign(), jws_alg_supported(), jws_alg_for_key(), jws_free().
 *
 * Errors: everything wrong with a request (size, syntax, base64url,
 * algorithm, key mismatch, signature) is returned as a jws_error with a
 * reason that never quotes the request.  jws_sign() reports GnuTLS
 * failures as -1.  Nothing logs or exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "b64url.h"
#include "jsonobj.h"
#include "jws.h"

/* Largest request body accepted.  ACME requests are small; a CSR for a
 * few hundred names stays well below this. */
#define JWS_MAX_BODY	(256 * 1024)

#define JWS_HS256_LEN	32

enum jws_family { JWS_ECDSA, JWS_RSA_PKCS1, JWS_RSA_PSS, JWS_EDDSA };

/* The algorithms of JWS_ALGORITHMS_JSON.  curve applies to ECDSA and
 * EdDSA; ESxxx is tied to one curve by RFC 7518 section 3.4. */
static const struct jws_alg {
	const char		*name;
	enum jws_family		 family;
	gnutls_sign_algorithm_t	 sign;
	gnutls_ecc_curve_t	 curve;
	size_t			 coord_len;	/* ECDSA: bytes of r and of s */
} jws_algs[] = {
	{ "ES256", JWS_ECDSA, GNUTLS_SIGN_ECDSA_SHA256,
	    GNUTLS_ECC_CURVE_SECP256R1, 32 },
	{ "ES384", JWS_ECDSA, GNUTLS_SIGN_ECDSA_SHA384,
	    GNUTLS_ECC_CURVE_SECP384R1, 48 },
	{ "ES512", JWS_ECDSA, GNUTLS_SIGN_ECDSA_SHA512,
	    GNUTLS_ECC_CURVE_SECP521R1, 66 },
	{ "RS256", JWS_RSA_PKCS1, GNUTLS_SIGN_RSA_SHA256,
	    GNUTLS_ECC_CURVE_INVALID, 0 },
	{ "RS384", JWS_RSA_PKCS1, GNUTLS_SIGN_RSA_SHA384,
	    GNUTLS_ECC_CURVE_INVALID, 0 },
	{ "RS512", JWS_RSA_PKCS1, GNUTLS_SIGN_RSA_SHA512,
	    GNUTLS_ECC_CURVE_INVALID, 0 },
	{ "PS256", JWS_RSA_PSS, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256,
	    GNUTLS_ECC_CURVE_INVALID, 0 },
	{ "PS384", JWS_RSA_PSS, GNUTLS_SIGN_RSA_PSS_RSAE_SHA384,
	    GNUTLS_ECC_CURVE_INVALID, 0 },
	{ "PS512", JWS_RSA_PSS, GNUTLS_SIGN_RSA_PSS_RSAE_SHA512,
	    GNUTLS_ECC_CURVE_INVALID, 0 },
	{ "EdDSA", JWS_EDDSA, GNUTLS_SIGN_EDDSA_ED25519,
	    GNUTLS_ECC_CURVE_ED25519, 0 },
};

#define JWS_NALGS	(sizeof(jws_algs) / sizeof(jws_algs[0]))

static void
jws_set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
jws_set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct jws_alg *
jws_find_alg(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < JWS_NALGS; i++)
		if (strcmp(jws_algs[i].name, name) == 0)
			return &jws_algs[i];
	return NULL;
}

int
jws_alg_supported(const char *alg)
{
	return jws_find_alg(alg) != NULL;
}

void
jws_free(struct jws *jws)
{
	if (jws == NULL)
		return;
	free(jws->protected_b64);
	free(jws->payload_b64);
	json_object_put(jws->header);
	free(jws->payload);
	free(jws->signature);
	free(jws);
}

/* Fetch a required string member of the outer JWS object.  Returns the
 * string (owned by obj) and its length, or NULL with a reason in err. */
static const char *
jws_get_member(struct json_object *obj, const char *name, size_t *len,
    char *err, size_t errlen)
{
	struct json_object *member;
	const char *s;

	if (!json_object_object_get_ex(obj, name, &member)) {
		jws_set_error(err, errlen, "JWS has no \"%s\"", name);
		return NULL;
	}
	if (!json_object_is_type(member, json_type_string)) {
		jws_set_error(err, errlen, "JWS member \"%s\" is not a string",
		    name);
		return NULL;
	}
	s = json_object_get_string(member);
	*len = (size_t)json_object_get_string_len(member);
	return s;
}

/* Point a header field at a string member of the protected header, or
 * leave it NULL when the member is absent or not a string. */
static const char *
jws_header_string(struct json_object *header, const char *name)
{
	struct json_object *member;

	if (!json_object_object_get_ex(header, name, &member) ||
	    !json_object_is_type(member, json_type_string))
		return NULL;
	return json_object_get_string(member);
}

/* Decode and check the protected header and fill the header fields. */
static enum jws_error
jws_parse_header(struct jws *jws, char *err, size_t errlen)
{
	struct json_object *member;
	uint8_t *text = NULL;
	size_t len;
	enum jws_error ret = JWS_ERR_MALFORMED;
	char why[128];

	if (b64url_decode(jws->protected_b64, strlen(jws->protected_b64),
	    &text, &len) == -1) {
		jws_set_error(err, errlen, "\"protected\" is not valid "
		    "base64url");
		goto out;
	}
	if ((jws->header = jsonobj_parse((const char *)text, len, why,
	    sizeof(why))) == NULL) {
		jws_set_error(err, errlen, "protected header: %s", why);
		goto out;
	}

	/* This implementation understands no JWS extension, so RFC 7515
	 * section 4.1.11 requires rejecting any "crit".  That also covers
	 * the unencoded payload option of RFC 7797, which must be listed
	 * in "crit". */
	if (json_object_object_get_ex(jws->header, "crit", NULL)) {
		jws_set_error(err, errlen, "protected header lists critical "
		    "extensions, and none are supported");
		goto out;
	}

	jws->alg = jws_header_string(jws->header, "alg");
	jws->nonce = jws_header_string(jws->header, "nonce");
	jws->url = jws_header_string(jws->header, "url");
	jws->kid = jws_header_string(jws->header, "kid");
	if (json_object_object_get_ex(jws->header, "jwk", &member) &&
	    json_object_is_type(member, json_type_object))
		jws->jwk = member;
	ret = JWS_OK;
 out:
	free(text);
	return ret;
}

enum jws_error
jws_parse(const char *body, size_t len, struct jws **out, char *err,
    size_t errlen)
{
	struct json_object *obj = NULL;
	struct jws *jws = NULL;
	const char *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
	enum jws_error ret = JWS_ERR_MALFORMED;
	char why[128];

	*out = NULL;

	if (len > JWS_MAX_BODY) {
		jws_set_error(err, errlen, "JWS larger than %d bytes",
		    JWS_MAX_BODY);
		goto out;
	}
	if ((obj = jsonobj_parse(body, len, why, sizeof(why))) == NULL) {
		jws_set_error(err, errlen, "JWS: %s", why);
		goto out;
	}
	if (json_object_object_get_ex(obj, "signatures", NULL)) {
		jws_set_error(err, errlen, "general JWS serialization is not "
		    "supported, use the flattened one");
		goto out;
	}
	if (json_object_object_get_ex(obj, "header", NULL)) {
		jws_set_error(err, errlen, "JWS has an unprotected header");
		goto out;
	}
	if ((prot = jws_get_member(obj, "protected", &prot_len, err,
	    errlen)) == NULL ||
	    (payload = jws_get_member(obj, "payload", &payload_len, err,
	    errlen)) == NULL ||
	    (sig = jws_get_member(obj, "signature", &sig_len, err,
	    errlen)) == NULL)
		goto out;
	if (prot_len == 0) {
		jws_set_error(err, errlen, "JWS has an empty \"protected\"");
		goto out;
	}

	if ((jws = calloc(1, sizeof(*jws))) == NULL ||
	    (jws->protected_b64 = strndup(prot, prot_len)) == NULL ||
	    (jws->payload_b64 = strndup(payload, payload_len)) == NULL) {
		ret = JWS_ERR_NOMEM;
		jws_set_error(err, errlen, "out of memory");
		goto out;
	}

	/* A "\u0000" in a member would cut the copy short; the strict
	 * decoder would then check a different text than was signed. */
	if (strlen(jws->protected_b64) != prot_len ||
	    strlen(jws->payload_b64) != payload_len) {
		jws_set_error(err, errlen, "JWS member contains a NUL "
		    "character");
		goto out;
	}

	if ((ret = jws_parse_header(jws, err, errlen)) != JWS_OK)
		goto out;
	ret = JWS_ERR_MALFORMED;

	/* An empty payload is a POST-as-GET (RFC 8555 section 6.3). */
	if (b64url_decode(payload, payload_len, &jws->payload,
	    &jws->payload_len) == -1) {
		jws_set_error(err, errlen, "\"payload\" is not valid "
		    "base64url");
		goto out;
	}
	if (b64url_decode(sig, sig_len, &jws->signature,
	    &jws->signature_len) == -1) {
		jws_set_error(err, errlen, "\"signature\" is not valid "
		    "base64url");
		goto out;
	}

	*out = jws;
	jws = NULL;
	ret = JWS_OK;
 out:
	jws_free(jws);
	json_object_put(obj);
	return ret;
}

/* Build the JWS signing input, protected_b64 "." payload_b64. */
static char *
jws_signing_input(const char *protected_b64, const char *payload_b64)
{
	char *input;

	if (asprintf(&input, "%s.%s", protected_b64, payload_b64) == -1)
		return NULL;
	return input;
}

/* Convert a JOSE ECDSA signature, r || s of fixed width, to the DER form
 * GnuTLS verifies.  Returns 0 or -1; *der is freed with gnutls_free(). */
static int
jws_ecdsa_to_der(const uint8_t *sig, size_t coord_len, gnutls_datum_t *der)
{
	gnutls_datum_t r, s;

	der->data = NULL;
	der->size = 0;

	/* DER integers are minimal, so drop leading zeros but keep one
	 * byte; the encoder adds the zero that a set top bit needs. */
	r.data = (unsigned char *)(uintptr_t)sig;
	r.size = (unsigned int)coord_len;
	while (r.size > 1 && r.data[0] == 0) {
		r.data++;
		r.size--;
	}
	s.data = (unsigned char *)(uintptr_t)(sig + coord_len);
	s.size = (unsigned int)coord_len;
	while (s.size > 1 && s.data[0] == 0) {
		s.data++;
		s.size--;
	}
	return gnutls_encode_rs_value(der, &r, &s) == 0 ? 0 : -1;
}

/* Check that alg fits key: family, and the curve for ECDSA and EdDSA. */
static enum jws_error
jws_check_key(const struct jws_alg *alg, const struct jwk *key, char *err,
    size_t errlen)
{
	int fits;

	switch (alg->family) {
	case JWS_ECDSA:
		fits = key->kty == JWK_EC && key->curve == alg->curve;
		break;
	case JWS_RSA_PKCS1:
	case JWS_RSA_PSS:
		fits = key->kty == JWK_RSA;
		break;
	case JWS_EDDSA:
		fits = key->kty == JWK_OKP && key->curve == alg->curve;
		break;
	default:
		fits = 0;
		break;
	}
	if (!fits) {
		jws_set_error(err, errlen, "algorithm %s does not match the "
		    "account key", alg->name);
		return JWS_ERR_KEY_MISMATCH;
	}
	return JWS_OK;
}

enum jws_error
jws_verify(const struct jws *jws, const struct jwk *key, char *err,
    size_t errlen)
{
	const struct jws_alg *alg;
	gnutls_datum_t data = { NULL, 0 }, sig = { NULL, 0 };
	gnutls_datum_t der = { NULL, 0 };
	char *input = NULL;
	size_t want;
	unsigned int flags = 0;
	enum jws_error ret;

	if (jws->alg == NULL) {
		jws_set_error(err, errlen, "protected header has no \"alg\"");
		ret = JWS_ERR_BAD_ALG;
		goto out;
	}
	if ((alg = jws_find_alg(jws->alg)) == NULL) {
		/* "none" and HS256 land here too: a MAC is valid only
		 * inside External Account Binding. */
		jws_set_error(err, errlen, "unsupported signature algorithm");
		ret = JWS_ERR_BAD_ALG;
		goto out;
	}
	if ((ret = jws_check_key(alg, key, err, errlen)) != JWS_OK)
		goto out;

	ret = JWS_ERR_BAD_SIGNATURE;
	switch (alg->family) {
	case JWS_ECDSA:
		want = 2 * alg->coord_len;
		break;
	case JWS_EDDSA:
		want = 64;
		break;
	default:
		/* RFC 8017 (sections 8.1.2 and 8.2.2) requires a signature
		 * of exactly the modulus length. */
		want = (key->bits + 7) / 8;
		break;
	}
	if (jws->signature_len != want) {
		jws_set_error(err, errlen, "%s signature must be %zu bytes",
		    alg->name, want);
		goto out;
	}

	if (alg->family == JWS_ECDSA) {
		if (jws_ecdsa_to_der(jws->signature, alg->coord_len,
		    &der) == -1) {
			jws_set_error(err, errlen, "cannot encode the ECDSA "
			    "signature");
			goto out;
		}
		sig = der;
	} else {
		sig.data = jws->signature;
		sig.size = (unsigned int)jws->signature_len;
	}

	/* RFC 7518 section 3.5 fixes the PSS salt length to the hash
	 * length.  GnuTLS 3.7.9 already verifies an RSA key's PSS
	 * signature that way; the flag keeps the rule if a later version
	 * relaxes its default. */
	if (alg->family == JWS_RSA_PSS)
		flags |= GNUTLS_VERIFY_RSA_PSS_FIXED_SALT_LENGTH;

	if ((input = jws_signing_input(jws->protected_b64,
	    jws->payload_b64)) == NULL) {
		jws_set_error(err, errlen, "out of memory");
		ret = JWS_ERR_NOMEM;
		goto out;
	}
	data.data = (unsigned char *)input;
	data.size = (unsigned int)strlen(input);
	if (gnutls_pubkey_verify_data2(key->pubkey, alg->sign, flags, &data,
	    &sig) < 0) {
		jws_set_error(err, errlen, "%s signature does not verify",
		    alg->name);
		goto out;
	}
	ret = JWS_OK;
 out:
	gnutls_free(der.data);
	free(input);
	return ret;
}

enum jws_error
jws_verify_hmac(const struct jws *jws, const uint8_t *key, size_t key_len,
    char *err, size_t errlen)
{
	uint8_t mac[JWS_HS256_LEN];
	char *input = NULL;
	enum jws_error ret = JWS_ERR_BAD_SIGNATURE;

	if (jws->alg == NULL || strcmp(jws->alg, "HS256") != 0) {
		jws_set_error(err, errlen, "External Account Binding must use "
		    "HS256");
		ret = JWS_ERR_BAD_ALG;
		goto out;
	}
	if (key_len == 0) {
		jws_set_error(err, errlen, "empty MAC key");
		goto out;
	}
	if (jws->signature_len != JWS_HS256_LEN) {
		jws_set_error(err, errlen, "HS256 MAC must be %d bytes",
		    JWS_HS256_LEN);
		goto out;
	}
	if ((input = jws_signing_input(jws->protected_b64,
	    jws->payload_b64)) == NULL) {
		jws_set_error(err, errlen, "out of memory");
		ret = JWS_ERR_NOMEM;
		goto out;
	}
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, input,
	    strlen(input), mac) != 0) {
		jws_set_error(err, errlen, "HMAC-SHA256 failed");
		goto out;
	}

	/* Compare in constant time, so the response time does not reveal
	 * how many leading bytes of a forged MAC were right. */
	if (gnutls_memcmp(mac, jws->signature, JWS_HS256_LEN) != 0) {
		jws_set_error(err, errlen, "HS256 MAC does not verify");
		goto out;
	}
	ret = JWS_OK;
 out:
	gnutls_memset(mac, 0, sizeof(mac));
	free(input);
	return ret;
}

const char *
jws_alg_for_key(const struct jwk *pub)
{
	if (pub == NULL)
		return NULL;
	switch (pub->kty) {
	case JWK_EC:
		if (pub->curve == GNUTLS_ECC_CURVE_SECP256R1)
			return "ES256";
		if (pub->curve == GNUTLS_ECC_CURVE_SECP384R1)
			return "ES384";
		if (pub->curve == GNUTLS_ECC_CURVE_SECP521R1)
			return "ES512";
		return NULL;
	case JWK_RSA:
		return "RS256";
	case JWK_OKP:
		return "EdDSA";
	}
	return NULL;
}

/* Add a string member to obj.  Returns 0 or -1. */
static int
jws_add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *s;

	if ((s = json_object_new_string(value)) == NULL)
		return -1;
	if (json_object_object_add(obj, key, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

/* Build the base64url protected header: alg, then jwk or kid, nonce and
 * url.  Returns NULL on failure. */
static char *
jws_build_header(const struct jwk *pub, const char *alg, const char *kid,
    const char *nonce, const char *url)
{
	struct json_object *hdr = NULL, *jwk = NULL;
	const char *text;
	size_t len = 0;
	char *ret = NULL;

	if ((hdr = json_object_new_object()) == NULL)
		goto out;
	if (jws_add_string(hdr, "alg", alg) == -1)
		goto out;
	if (kid != NULL) {
		if (jws_add_string(hdr, "kid", kid) == -1)
			goto out;
	} else {
		if ((jwk = jsonobj_parse(pub->canonical,
		    strlen(pub->canonical), NULL, 0)) == NULL)
			goto out;
		if (json_object_object_add(hdr, "jwk", jwk) != 0)
			goto out;
		jwk = NULL;
	}
	if (nonce != NULL && jws_add_string(hdr, "nonce", nonce) == -1)
		goto out;
	if (url != NULL && jws_add_string(hdr, "url", url) == -1)
		goto out;

	text = json_object_to_json_string_length(hdr,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL)
		goto out;
	ret = b64url_encode((const uint8_t *)text, len);
 out:
	json_object_put(jwk);
	json_object_put(hdr);
	return ret;
}

/* Left-pad a big-endian integer without its leading zeros to width
 * bytes at out.  Returns 0, or -1 when it does not fit. */
static int
jws_put_fixed(const gnutls_datum_t *v, uint8_t *out, size_t width)
{
	const uint8_t *p = v->data;
	size_t len = v->size;

	while (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len > width)
		return -1;
	memset(out, 0, width - len);
	memcpy(out + width - len, p, len);
	return 0;
}

/* Sign input with key and return the JOSE form of the signature in *raw:
 * r || s at fixed width for ECDSA, the plain signature otherwise. */
static int
jws_sign_raw(gnutls_privkey_t key, const struct jws_alg *alg,
    const char *input, uint8_t **raw, size_t *raw_len, char *err,
    size_t errlen)
{
	gnutls_datum_t data, sig = { NULL, 0 };
	gnutls_datum_t r = { NULL, 0 }, s = { NULL, 0 };
	uint8_t *buf = NULL;
	size_t len;
	int ret = -1;

	*raw = NULL;
	*raw_len = 0;

	data.data = (unsigned char *)(uintptr_t)input;
	data.size = (unsigned int)strlen(input);
	if (gnutls_privkey_sign_data2(key, alg->sign, 0, &data, &sig) != 0) {
		jws_set_error(err, errlen, "%s signing failed", alg->name);
		goto out;
	}

	len = alg->family == JWS_ECDSA ? 2 * alg->coord_len : sig.size;
	if ((buf = malloc(len)) == NULL) {
		jws_set_error(err, errlen, "out of memory");
		goto out;
	}
	if (alg->family == JWS_ECDSA) {
		if (gnutls_decode_rs_value(&sig, &r, &s) != 0 ||
		    jws_put_fixed(&r, buf, alg->coord_len) == -1 ||
		    jws_put_fixed(&s, buf + alg->coord_len,
		    alg->coord_len) == -1) {
			jws_set_error(err, errlen, "cannot decode the ECDSA "
			    "signature");
			goto out;
		}
	} else
		memcpy(buf, sig.data, len);

	*raw = buf;
	*raw_len = len;
	buf = NULL;
	ret = 0;
 out:
	free(buf);
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	return ret;
}

int
jws_sign(gnutls_privkey_t key, const struct jwk *pub, const char *kid,
    const char *nonce, const char *url, const char *payload, char **out,
    char *err, size_t errlen)
{
	const struct jws_alg *alg;
	char *prot = NULL, *body = NULL, *input = NULL, *sig_b64 = NULL;
	uint8_t *sig = NULL;
	size_t sig_len;
	int ret = -1;

	*out = NULL;

	if ((alg = jws_find_alg(jws_alg_for_key(pub))) == NULL) {
		jws_set_error(err, errlen, "no JWS algorithm for this key");
		goto out;
	}
	if ((prot = jws_build_header(pub, alg->name, kid, nonce,
	    url)) == NULL) {
		jws_set_error(err, errlen, "cannot build the protected "
		    "header");
		goto out;
	}

	/* A NULL or empty payload signs "" as RFC 8555 POST-as-GET does. */
	if (payload == NULL)
		payload = "";
	if ((body = b64url_encode((const uint8_t *)payload,
	    strlen(payload))) == NULL ||
	    (input = jws_signing_input(prot, body)) == NULL) {
		jws_set_error(err, errlen, "out of memory");
		goto out;
	}
	if (jws_sign_raw(key, alg, input, &sig, &sig_len, err,
	    errlen) == -1)
		goto out;
	if ((sig_b64 = b64url_encode(sig, sig_len)) == NULL) {
		jws_set_error(err, errlen, "out of memory");
		goto out;
	}

	/* All three values are base64url, so no JSON escaping is needed. */
	if (asprintf(out, "{\"protected\":\"%s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", prot, body, sig_b64) == -1) {
		*out = NULL;
		jws_set_error(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	free(prot);
	free(body);
	free(input);
	free(sig);
	free(sig_b64);
	return ret;
}
