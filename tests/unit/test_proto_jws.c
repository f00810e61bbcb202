/*
 * Unit tests for proto/jwk.c and proto/jws.c.  Keys come from
 * gnutls_privkey_generate().  JWSs for the algorithms that jws_sign()
 * does not choose are built here with gnutls_privkey_sign_data2().
 *
 * Every supported algorithm must sign and verify.  Tampering, wrong keys,
 * alg/key mismatches, bad base64url, "none", HS256 outside EAB, bad
 * structure, oversized bodies and PSS salts of the wrong length must
 * fail.  JWK tests cover the RFC 7638 thumbprint example, points off the
 * curve, private members and key sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "b64url.h"
#include "jwk.h"
#include "jws.h"
#include "test.h"

enum key_id { K_P256, K_P384, K_P521, K_RSA, K_ED25519, K_COUNT };

static const struct {
	const char		*name;
	gnutls_pk_algorithm_t	 pk;
	unsigned int		 bits;
	const char		*jws_sign_alg;	/* what jws_sign() picks */
} key_specs[K_COUNT] = {
	{ "P-256", GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), "ES256" },
	{ "P-384", GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), "ES384" },
	{ "P-521", GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP521R1), "ES512" },
	{ "RSA-2048", GNUTLS_PK_RSA, 2048, "RS256" },
	{ "Ed25519", GNUTLS_PK_EDDSA_ED25519, 256, "EdDSA" },
};

/* Two keys of each kind: the signer and a stranger for wrong-key tests. */
static gnutls_privkey_t priv[K_COUNT], other_priv[K_COUNT];
static struct jwk *pub[K_COUNT], *other_pub[K_COUNT];

static const struct alg_case {
	const char		*alg;
	enum key_id		 key;
	gnutls_sign_algorithm_t	 sign;
	unsigned int		 flags;		/* for gnutls_privkey_sign_data2 */
	size_t			 coord_len;	/* ECDSA r and s width, else 0 */
} cases[] = {
	{ "ES256", K_P256, GNUTLS_SIGN_ECDSA_SHA256, 0, 32 },
	{ "ES384", K_P384, GNUTLS_SIGN_ECDSA_SHA384, 0, 48 },
	{ "ES512", K_P521, GNUTLS_SIGN_ECDSA_SHA512, 0, 66 },
	{ "RS256", K_RSA, GNUTLS_SIGN_RSA_SHA256, 0, 0 },
	{ "RS384", K_RSA, GNUTLS_SIGN_RSA_SHA384, 0, 0 },
	{ "RS512", K_RSA, GNUTLS_SIGN_RSA_SHA512, 0, 0 },
	{ "PS256", K_RSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256,
	    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, 0 },
	{ "PS384", K_RSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA384,
	    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, 0 },
	{ "PS512", K_RSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA512,
	    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, 0 },
	{ "EdDSA", K_ED25519, GNUTLS_SIGN_EDDSA_ED25519, 0, 0 },
};

#define NCASES		(sizeof(cases) / sizeof(cases[0]))
#define TEST_URL	"https://ca.test/acme/acme/new-order"
#define TEST_NONCE	"nonce-AbC_1"
#define TEST_PAYLOAD	"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}]}"

static char *
b64_string(const char *s)
{
	return b64url_encode((const uint8_t *)s, strlen(s));
}

static gnutls_privkey_t
generate_key(enum key_id id)
{
	gnutls_privkey_t key;

	if (gnutls_privkey_init(&key) != 0)
		return NULL;
	if (gnutls_privkey_generate(key, key_specs[id].pk, key_specs[id].bits,
	    0) != 0) {
		gnutls_privkey_deinit(key);
		return NULL;
	}
	return key;
}

static int
setup_keys(void)
{
	char err[256];
	int i;

	for (i = 0; i < K_COUNT; i++) {
		if ((priv[i] = generate_key(i)) == NULL ||
		    (other_priv[i] = generate_key(i)) == NULL)
			return -1;
		if (jwk_from_privkey(priv[i], &pub[i], err, sizeof(err)) != 0 ||
		    jwk_from_privkey(other_priv[i], &other_pub[i], err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "jwk_from_privkey(%s): %s\n",
			    key_specs[i].name, err);
			return -1;
		}
	}
	return 0;
}

static void
free_keys(void)
{
	int i;

	for (i = 0; i < K_COUNT; i++) {
		gnutls_privkey_deinit(priv[i]);
		gnutls_privkey_deinit(other_priv[i]);
		jwk_free(pub[i]);
		jwk_free(other_pub[i]);
	}
}

/* Put a big-endian integer at out, left-padded to width bytes. */
static int
put_fixed(const gnutls_datum_t *v, uint8_t *out, size_t width)
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

/* Sign prot_json and payload the way a client would and return the
 * flattened JWS text, or NULL. */
static char *
build_jws(const char *prot_json, const char *payload, gnutls_privkey_t key,
    gnutls_sign_algorithm_t sign, unsigned int flags, size_t coord_len)
{
	gnutls_datum_t data, sig = { NULL, 0 }, r = { NULL, 0 },
	    s = { NULL, 0 };
	char *prot = NULL, *body = NULL, *input = NULL, *sig_b64 = NULL;
	char *ret = NULL;
	uint8_t raw[2 * 66];

	prot = b64_string(prot_json);
	body = b64_string(payload);
	if (prot == NULL || body == NULL ||
	    asprintf(&input, "%s.%s", prot, body) == -1)
		goto out;
	data.data = (unsigned char *)input;
	data.size = (unsigned int)strlen(input);
	if (gnutls_privkey_sign_data2(key, sign, flags, &data, &sig) != 0)
		goto out;
	if (coord_len > 0) {
		if (gnutls_decode_rs_value(&sig, &r, &s) != 0 ||
		    put_fixed(&r, raw, coord_len) != 0 ||
		    put_fixed(&s, raw + coord_len, coord_len) != 0)
			goto out;
		sig_b64 = b64url_encode(raw, 2 * coord_len);
	} else
		sig_b64 = b64url_encode(sig.data, sig.size);
	if (sig_b64 == NULL)
		goto out;
	if (asprintf(&ret, "{\"protected\":\"%s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", prot, body, sig_b64) == -1)
		ret = NULL;
 out:
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	free(prot);
	free(body);
	free(input);
	free(sig_b64);
	return ret;
}

/* A JWS for case c signed by key, carrying pubkey as its "jwk". */
static char *
build_case(const struct alg_case *c, gnutls_privkey_t key,
    const struct jwk *pubkey, const char *payload)
{
	char *prot, *jws;

	if (asprintf(&prot, "{\"alg\":\"%s\",\"jwk\":%s,\"nonce\":\"%s\","
	    "\"url\":\"%s\"}", c->alg, pubkey->canonical, TEST_NONCE,
	    TEST_URL) == -1)
		return NULL;
	jws = build_jws(prot, payload, key, c->sign, c->flags, c->coord_len);
	free(prot);
	return jws;
}

/* Parse text and verify it with key; a parse failure is returned as is. */
static enum jws_error
parse_verify(const char *text, const struct jwk *key, char *err,
    size_t errlen)
{
	struct jws *jws = NULL;
	enum jws_error ret;

	if ((ret = jws_parse(text, strlen(text), &jws, err, errlen)) !=
	    JWS_OK)
		return ret;
	ret = jws_verify(jws, key, err, errlen);
	jws_free(jws);
	return ret;
}

static enum jws_error
parse_only(const char *text)
{
	struct jws *jws = NULL;
	enum jws_error ret;
	char err[256];

	ret = jws_parse(text, strlen(text), &jws, err, sizeof(err));
	CHECKF(ret != JWS_OK || jws != NULL, "JWS_OK without a jws");
	CHECKF(ret == JWS_OK || jws == NULL, "a jws with an error");
	jws_free(jws);
	return ret;
}

/* Copy of a JWS text with one outer member set to value. */
static char *
with_member(const char *text, const char *member, const char *value)
{
	struct json_object *obj;
	char *ret;

	if ((obj = json_tokener_parse(text)) == NULL)
		return NULL;
	json_object_object_add(obj, member, json_object_new_string(value));
	ret = strdup(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return ret;
}

/* Value of one outer string member of a JWS text (caller frees). */
static char *
member_of(const char *text, const char *member)
{
	struct json_object *obj;
	char *ret;

	if ((obj = json_tokener_parse(text)) == NULL)
		return NULL;
	ret = strdup(json_object_get_string(json_object_object_get(obj,
	    member)));
	json_object_put(obj);
	return ret;
}

static void
test_sign_verify_each_alg(void)
{
	struct jws *jws;
	char *text, err[256];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		text = build_case(&cases[i], priv[cases[i].key],
		    pub[cases[i].key], TEST_PAYLOAD);
		CHECKF(text != NULL, "%s: building the JWS failed",
		    cases[i].alg);
		if (text == NULL)
			continue;
		CHECK(jws_parse(text, strlen(text), &jws, err,
		    sizeof(err)) == JWS_OK);
		CHECKF(jws_verify(jws, pub[cases[i].key], err, sizeof(err)) ==
		    JWS_OK, "%s: %s", cases[i].alg, err);
		CHECK(strcmp(jws->alg, cases[i].alg) == 0);
		CHECK(jws->nonce != NULL);
		CHECK(jws->nonce == NULL || strcmp(jws->nonce, TEST_NONCE) == 0);
		CHECK(jws->url != NULL);
		CHECK(jws->url == NULL || strcmp(jws->url, TEST_URL) == 0);
		CHECK(jws->jwk != NULL);
		CHECK(jws->kid == NULL);
		CHECK(jws->payload_len == strlen(TEST_PAYLOAD));
		CHECK(strcmp((const char *)jws->payload, TEST_PAYLOAD) == 0);
		CHECK(jws_alg_supported(cases[i].alg));
		jws_free(jws);
		free(text);
	}
}

static void
test_jws_sign_each_key(void)
{
	struct jws *jws;
	struct jwk *hdr_key;
	char *text, err[256];
	int i;

	for (i = 0; i < K_COUNT; i++) {
		CHECK(strcmp(jws_alg_for_key(pub[i]),
		    key_specs[i].jws_sign_alg) == 0);
		CHECKF(jws_sign(priv[i], pub[i], NULL, TEST_NONCE, TEST_URL,
		    TEST_PAYLOAD, &text, err, sizeof(err)) == 0, "%s: %s",
		    key_specs[i].name, err);
		CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) ==
		    JWS_OK);
		CHECKF(jws_verify(jws, pub[i], err, sizeof(err)) == JWS_OK,
		    "%s: %s", key_specs[i].name, err);
		CHECK(strcmp(jws->alg, key_specs[i].jws_sign_alg) == 0);

		/* The embedded jwk is the signer's key. */
		CHECK(jws->jwk != NULL);
		CHECK(jwk_parse(jws->jwk, &hdr_key, err, sizeof(err)) == 0);
		CHECK(strcmp(hdr_key->thumbprint, pub[i]->thumbprint) == 0);
		CHECK(strcmp(hdr_key->canonical, pub[i]->canonical) == 0);
		jwk_free(hdr_key);
		jws_free(jws);
		free(text);
	}
}

static void
test_jws_sign_with_kid(void)
{
	static const char kid[] = "https://ca.test/acme/acme/account/Xy1";
	struct jws *jws;
	char *text, err[256];

	CHECK(jws_sign(priv[K_P256], pub[K_P256], kid, TEST_NONCE, TEST_URL,
	    TEST_PAYLOAD, &text, err, sizeof(err)) == 0);
	CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) == JWS_OK);
	CHECK(jws->kid != NULL);
	if (jws->kid != NULL)
		CHECK(strcmp(jws->kid, kid) == 0);
	CHECK(jws->jwk == NULL);
	CHECK(jws_verify(jws, pub[K_P256], err, sizeof(err)) == JWS_OK);
	jws_free(jws);
	free(text);

	/* NULL nonce and url are left out of the header. */
	CHECK(jws_sign(priv[K_P256], pub[K_P256], kid, NULL, NULL, "{}",
	    &text, err, sizeof(err)) == 0);
	CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) == JWS_OK);
	CHECK(jws->nonce == NULL);
	CHECK(jws->url == NULL);
	jws_free(jws);
	free(text);
}

static void
test_post_as_get(void)
{
	static const char *const payloads[] = { NULL, "" };
	struct jws *jws;
	char *text, *payload, err[256];
	size_t i;

	for (i = 0; i < 2; i++) {
		CHECK(jws_sign(priv[K_ED25519], pub[K_ED25519], "kid-1",
		    TEST_NONCE, TEST_URL, payloads[i], &text, err,
		    sizeof(err)) == 0);
		payload = member_of(text, "payload");
		CHECK(payload != NULL);
		if (payload != NULL)
			CHECK(strcmp(payload, "") == 0);
		free(payload);
		CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) ==
		    JWS_OK);
		CHECK(jws->payload_len == 0);
		CHECK(jws->payload != NULL);
		CHECK(jws_verify(jws, pub[K_ED25519], err, sizeof(err)) ==
		    JWS_OK);
		jws_free(jws);
		free(text);
	}
}

static void
test_tampered_payload_fails(void)
{
	char *text, *bad, *other, err[256];
	size_t i;

	other = b64_string("{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"evil.test\"}]}");
	for (i = 0; i < NCASES; i++) {
		text = build_case(&cases[i], priv[cases[i].key],
		    pub[cases[i].key], TEST_PAYLOAD);
		bad = with_member(text, "payload", other);
		CHECKF(parse_verify(bad, pub[cases[i].key], err,
		    sizeof(err)) == JWS_ERR_BAD_SIGNATURE, "%s", cases[i].alg);
		free(bad);

		/* An empty payload turns the request into a POST-as-GET. */
		bad = with_member(text, "payload", "");
		CHECKF(parse_verify(bad, pub[cases[i].key], err,
		    sizeof(err)) == JWS_ERR_BAD_SIGNATURE, "%s", cases[i].alg);
		free(bad);
		free(text);
	}
	free(other);
}

static void
test_tampered_header_fails(void)
{
	char *text, *prot, *bad, err[256];

	text = build_case(&cases[0], priv[K_P256], pub[K_P256], TEST_PAYLOAD);
	prot = b64_string("{\"alg\":\"ES256\",\"nonce\":\"other\"}");
	bad = with_member(text, "protected", prot);
	CHECK(parse_verify(bad, pub[K_P256], err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	free(bad);
	free(prot);
	free(text);
}

static void
test_wrong_key_fails(void)
{
	char *text, err[256];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		text = build_case(&cases[i], priv[cases[i].key],
		    pub[cases[i].key], TEST_PAYLOAD);
		CHECKF(parse_verify(text, other_pub[cases[i].key], err,
		    sizeof(err)) == JWS_ERR_BAD_SIGNATURE, "%s", cases[i].alg);
		free(text);
	}
}

static void
test_alg_key_mismatch_fails(void)
{
	char *text, err[256];
	size_t i;
	int k;

	/* Every algorithm against every key of another kind or curve,
	 * e.g. ES256 with a P-384 key or RS256 with an Ed25519 key. */
	for (i = 0; i < NCASES; i++) {
		text = build_case(&cases[i], priv[cases[i].key],
		    pub[cases[i].key], TEST_PAYLOAD);
		for (k = 0; k < K_COUNT; k++) {
			if ((enum key_id)k == cases[i].key)
				continue;
			CHECKF(parse_verify(text, pub[k], err, sizeof(err)) ==
			    JWS_ERR_KEY_MISMATCH, "%s with %s", cases[i].alg,
			    key_specs[k].name);
		}
		free(text);
	}
}

static void
test_header_alg_differs_from_signature(void)
{
	static const struct alg_case es384_on_p256 = {
		"ES384", K_P256, GNUTLS_SIGN_ECDSA_SHA384, 0, 48
	};
	static const struct alg_case ps256_as_rs256 = {
		"RS256", K_RSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256,
		GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, 0
	};
	char *text, err[256];

	/* The header names ES384 but the key is P-256. */
	text = build_case(&es384_on_p256, priv[K_P256], pub[K_P256], "{}");
	CHECK(parse_verify(text, pub[K_P256], err, sizeof(err)) ==
	    JWS_ERR_KEY_MISMATCH);
	free(text);

	/* The header names RS256 over a PSS signature. */
	text = build_case(&ps256_as_rs256, priv[K_RSA], pub[K_RSA], "{}");
	CHECK(parse_verify(text, pub[K_RSA], err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	free(text);
}

static void
test_bad_base64url_rejected(void)
{
	char *text, *bad, *sig, *mangled;

	text = build_case(&cases[0], priv[K_P256], pub[K_P256], TEST_PAYLOAD);
	CHECK(parse_only(text) == JWS_OK);

	bad = with_member(text, "payload", "e30=");
	CHECK(parse_only(bad) == JWS_ERR_MALFORMED);
	free(bad);
	bad = with_member(text, "payload", "e3+/");
	CHECK(parse_only(bad) == JWS_ERR_MALFORMED);
	free(bad);
	bad = with_member(text, "protected", "eyJh bGciOiJFUzI1NiJ9");
	CHECK(parse_only(bad) == JWS_ERR_MALFORMED);
	free(bad);

	/* Padding on the signature, and a signature one character short. */
	sig = member_of(text, "signature");
	CHECK(asprintf(&mangled, "%s==", sig) != -1);
	bad = with_member(text, "signature", mangled);
	CHECK(parse_only(bad) == JWS_ERR_MALFORMED);
	free(bad);
	free(mangled);
	sig[strlen(sig) - 1] = '\0';
	bad = with_member(text, "signature", sig);
	CHECK(parse_only(bad) == JWS_ERR_MALFORMED);
	free(bad);
	free(sig);
	free(text);
}

/* A JWS text with the given protected header and signature bytes. */
static char *
unsigned_jws(const char *prot_json, const char *sig_b64)
{
	char *prot, *text;

	prot = b64_string(prot_json);
	if (asprintf(&text, "{\"protected\":\"%s\",\"payload\":\"e30\","
	    "\"signature\":\"%s\"}", prot, sig_b64) == -1)
		text = NULL;
	free(prot);
	return text;
}

static void
test_none_and_mac_rejected(void)
{
	static const char *const headers[] = {
		"{\"alg\":\"none\",\"nonce\":\"n\",\"url\":\"u\"}",
		"{\"alg\":\"HS256\",\"kid\":\"k\"}",
		"{\"alg\":\"HS512\",\"kid\":\"k\"}",
		"{\"alg\":\"ES256K\",\"kid\":\"k\"}",
		"{\"alg\":\"es256\",\"kid\":\"k\"}",
		"{\"alg\":7,\"kid\":\"k\"}",
		"{\"kid\":\"k\"}",
	};
	char *text, err[256];
	size_t i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		text = unsigned_jws(headers[i], i == 0 ? "" :
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		CHECKF(parse_verify(text, pub[K_P256], err, sizeof(err)) ==
		    JWS_ERR_BAD_ALG, "%s", headers[i]);
		free(text);
	}
	CHECK(!jws_alg_supported("none"));
	CHECK(!jws_alg_supported("HS256"));
	CHECK(!jws_alg_supported(""));
	CHECK(!jws_alg_supported(NULL));
	CHECK(jws_alg_supported("PS512"));
}

static void
test_hmac_external_account_binding(void)
{
	uint8_t key[32], mac[32];
	char *prot, *payload, *input, *mac_b64, *text, err[256];
	struct jws *jws;
	const char *prot_json = "{\"alg\":\"HS256\",\"kid\":\"eab-kid-1\","
	    "\"url\":\"" TEST_URL "\"}";

	memset(key, 0x5a, sizeof(key));
	prot = b64_string(prot_json);
	payload = b64_string(pub[K_P256]->canonical);
	CHECK(asprintf(&input, "%s.%s", prot, payload) != -1);
	CHECK(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, sizeof(key), input,
	    strlen(input), mac) == 0);
	mac_b64 = b64url_encode(mac, sizeof(mac));
	CHECK(asprintf(&text, "{\"protected\":\"%s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", prot, payload, mac_b64) != -1);

	CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) == JWS_OK);
	CHECKF(jws_verify_hmac(jws, key, sizeof(key), err, sizeof(err)) ==
	    JWS_OK, "%s", err);

	/* HS256 never verifies as an account signature. */
	CHECK(jws_verify(jws, pub[K_P256], err, sizeof(err)) ==
	    JWS_ERR_BAD_ALG);

	key[31] ^= 1;
	CHECK(jws_verify_hmac(jws, key, sizeof(key), err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	key[31] ^= 1;
	CHECK(jws_verify_hmac(jws, key, 0, err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);

	jws->signature_len = 31;
	CHECK(jws_verify_hmac(jws, key, sizeof(key), err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	jws->signature_len = 32;
	jws->signature[0] ^= 0x80;
	CHECK(jws_verify_hmac(jws, key, sizeof(key), err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	jws_free(jws);
	free(text);

	/* An account signature is not a MAC. */
	text = build_case(&cases[0], priv[K_P256], pub[K_P256], "{}");
	CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) == JWS_OK);
	CHECK(jws_verify_hmac(jws, key, sizeof(key), err, sizeof(err)) ==
	    JWS_ERR_BAD_ALG);
	jws_free(jws);
	free(text);
	free(prot);
	free(payload);
	free(input);
	free(mac_b64);
}

static void
test_structure_rejected(void)
{
	static const char *const bodies[] = {
		"[]",
		"{}",
		"{\"protected\":\"e30\",\"payload\":\"e30\"}",
		"{\"protected\":\"e30\",\"signature\":\"\"}",
		"{\"payload\":\"e30\",\"signature\":\"\"}",
		"{\"protected\":\"\",\"payload\":\"e30\",\"signature\":\"\"}",
		"{\"protected\":\"e30\",\"payload\":7,\"signature\":\"\"}",
		"{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"\"}x",
		"{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"\","
		    "\"header\":{\"alg\":\"none\"}}",
		"{\"payload\":\"e30\",\"signatures\":[{\"protected\":\"e30\","
		    "\"signature\":\"\"}]}",
		/* protected is "[]" and "x", neither an object */
		"{\"protected\":\"W10\",\"payload\":\"e30\",\"signature\":\"\"}",
		"{\"protected\":\"eA\",\"payload\":\"e30\",\"signature\":\"\"}",
		"eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		CHECKF(parse_only(bodies[i]) == JWS_ERR_MALFORMED, "%s",
		    bodies[i]);
}

static void
test_crit_rejected(void)
{
	char *text;

	text = unsigned_jws("{\"alg\":\"ES256\",\"crit\":[\"b64\"],"
	    "\"b64\":false}", "");
	CHECK(parse_only(text) == JWS_ERR_MALFORMED);
	free(text);
}

static void
test_body_size_limit(void)
{
	const size_t limit = 256 * 1024;
	struct jws *jws = NULL;
	char *text, *big, err[256];
	size_t len;

	/* White space after the object pads the body to the limit. */
	text = build_case(&cases[0], priv[K_P256], pub[K_P256], "{}");
	len = strlen(text);
	big = malloc(limit + 2);
	memcpy(big, text, len);
	memset(big + len, ' ', limit + 1 - len);
	big[limit + 1] = '\0';

	CHECK(jws_parse(big, limit, &jws, err, sizeof(err)) == JWS_OK);
	jws_free(jws);
	CHECK(jws_parse(big, limit + 1, &jws, err, sizeof(err)) ==
	    JWS_ERR_MALFORMED);
	CHECK(jws == NULL);
	free(big);
	free(text);
}

static void
test_signature_length_checked(void)
{
	struct jws *jws;
	char *text, err[256];
	size_t i;

	for (i = 0; i < NCASES; i++) {
		text = build_case(&cases[i], priv[cases[i].key],
		    pub[cases[i].key], "{}");
		CHECK(jws_parse(text, strlen(text), &jws, err, sizeof(err)) ==
		    JWS_OK);
		jws->signature_len--;
		CHECKF(jws_verify(jws, pub[cases[i].key], err, sizeof(err)) ==
		    JWS_ERR_BAD_SIGNATURE, "%s one byte short", cases[i].alg);
		jws_free(jws);
		free(text);
	}
}

static void
test_ecdsa_leading_zero_coordinates(void)
{
	char *text, err[256];
	int i, failures = 0;

	/* About one signature in 128 has r or s below 2^248; with many
	 * signatures the fixed-width padding and the DER conversion both
	 * see those values. */
	for (i = 0; i < 400; i++) {
		if (jws_sign(priv[K_P256], pub[K_P256], "k", NULL, NULL, "{}",
		    &text, err, sizeof(err)) != 0) {
			failures++;
			continue;
		}
		if (parse_verify(text, pub[K_P256], err, sizeof(err)) != JWS_OK)
			failures++;
		free(text);
	}
	CHECKF(failures == 0, "%d of 400 signatures failed", failures);
}

/* RSA-PSS with SHA-256 over a fixed 2048-bit key: one signature with a
 * 32-byte salt (valid for PS256) and one with an empty salt, made with
 * Python's cryptography package. */
#define PSS_N \
	"w7c8Z5cfH7iwyDf_zLqUajp7ay6sgJAesGMulh0VsYhuIheKBifD57J40gVJJE9-" \
	"1SekMnzpdOLVHIRue7U0qOrVhVEV1LfHINyV1XAq6txeXQ_VWvVD_AdCBi_E75eM" \
	"J3HqD0eTQS1iTw1zS8X2PfrguKsTc-LAn-xag1sy8TRiNhl_83dTaQ-j5Ck2SEPg" \
	"MyVirok6o7yQ4yWFc6ycXTBl1kURJ3lVgVtbj8GcoIi5_Q5yDLkId5JMdLgU6ndR" \
	"VkiQ9l9_P_p9EGzyOX31D-TyrFraxMveSMlmTYHx3HOAsGco0OeThqx2R4ksDXyO" \
	"sgVvsniDMdEClXbNE2jG1w"
#define PSS_PROTECTED \
	"eyJhbGciOiJQUzI1NiIsIm5vbmNlIjoibjEiLCJ1cmwiOiJodHRwczovL2NhLnRl" \
	"c3QveCJ9"
#define PSS_SIG_SALT32 \
	"vWGg8h8dgsdw2kcJlphc15EkLgkWv96jPq6HkMMP2fDIIkfQHjJSqWbNLcclhG8b" \
	"rylVGggXkPAzqhQ4LvPFxDx6u1Q1hKK4x9dg8MCzylzF4npwMlfN0zLvu300EM65" \
	"OIPy8ZTD74o6l1e-ZsIX2UjrOfRp94pyZk96tOpDhR0phS2r2RXGIv4e5mRQA-cz" \
	"menUzyWB2_QNYsninIKAebm5h_ElH6t0uv-TvbsGkN1jdhrpf_D9RtNVpYAGeTwV" \
	"d83_OJXtg1beo3ZiM2EGiOdvyg9eGDav1yOOBUIsH9AZNytTHmGRfjEUy8KKC9VU" \
	"LZoSD716heyn9I6QLNpxbA"
#define PSS_SIG_SALT0 \
	"QDPAw4k_LS_1urmakwBr-NHpQPnWx0vf3cXyksftK1m7TyLyHcRfZMTnIDWGYb06" \
	"SXmFOLP7c2L_G3VSa8jA7dY3TYerOI4bhpNf8Og674ShqnzELogI94tmg4Ijwm5b" \
	"FgqM65VFt77BrbSZ5Ox1hcKx1ohmwCFJ2QdoxM2UlHStdoKJte6bIB5TA3DHG7QQ" \
	"UF0LdDyrdsnRG_SuocV_FrA4C0SwFrNbokN9C0VjmEkzQrrooWmxZi6OG5kluF4f" \
	"swnV6HdNbDr5QYi_cIPa72k53ooyNQb9s38-_MORtrPbEljWBDW8utKiUp6zSI9X" \
	"smSsq7GvkzHy_moLXaPM3A"

static void
test_pss_salt_must_equal_hash_length(void)
{
	static const char valid[] = "{\"protected\":\"" PSS_PROTECTED
	    "\",\"payload\":\"e30\",\"signature\":\"" PSS_SIG_SALT32 "\"}";
	static const char no_salt[] = "{\"protected\":\"" PSS_PROTECTED
	    "\",\"payload\":\"e30\",\"signature\":\"" PSS_SIG_SALT0 "\"}";
	struct jwk *key = NULL;
	char err[256];

	CHECK(jwk_parse_text("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" PSS_N
	    "\"}", &key, err, sizeof(err)) == 0);
	if (key == NULL)
		return;
	CHECKF(parse_verify(valid, key, err, sizeof(err)) == JWS_OK, "%s",
	    err);
	CHECK(parse_verify(no_salt, key, err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	jwk_free(key);
}

/* The example key of RFC 7638 section 3.1 (from RFC 7517 appendix A.1)
 * with its published thumbprint. */
#define RFC7638_N \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86z" \
	"wu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5Js" \
	"GY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic" \
	"AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-" \
	"bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF" \
	"Cur-kEgU8awapJzKnqDKgw"

static void
test_rfc7638_thumbprint(void)
{
	struct jwk *key = NULL;
	char err[256];

	CHECKF(jwk_parse_text("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\","
	    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}", &key,
	    err, sizeof(err)) == 0, "%s", err);
	if (key == NULL)
		return;
	CHECK(strcmp(key->thumbprint,
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == 0);
	CHECK(strcmp(key->canonical, "{\"e\":\"AQAB\",\"kty\":\"RSA\","
	    "\"n\":\"" RFC7638_N "\"}") == 0);
	CHECK(key->kty == JWK_RSA);
	CHECK(key->bits == 2048);
	jwk_free(key);
}

/* Returns 1 when jwk_parse_text rejects text with a reason containing
 * want. */
static int
jwk_rejected(const char *text, const char *want)
{
	struct jwk *key = NULL;
	char err[256] = "";

	if (jwk_parse_text(text, &key, err, sizeof(err)) == 0) {
		jwk_free(key);
		fprintf(stderr, "  accepted: %.120s\n", text);
		return 0;
	}
	if (key != NULL || strstr(err, want) == NULL) {
		fprintf(stderr, "  error \"%s\", want \"%s\"\n", err, want);
		return 0;
	}
	return 1;
}

/* A NUL escape must not cut a member short: "EC\u0000" is not "EC",
 * and bytes after a NUL in a coordinate must not skip the base64url
 * check. */
static void
test_jwk_nul_in_member_rejected(void)
{
	CHECK(jwk_rejected("{\"crv\":\"P-256\",\"kty\":\"EC\\u0000junk\","
	    "\"x\":\"AA\",\"y\":\"AA\"}", "NUL"));
	CHECK(jwk_rejected("{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\\u0000!!\"}",
	    "NUL"));
}

/* Canonical EC JWK text of pub[id] with coordinate y changed. */
static char *
ec_jwk_with_y(enum key_id id, const char *y)
{
	struct json_object *obj;
	char *ret;

	obj = json_tokener_parse(pub[id]->canonical);
	json_object_object_add(obj, "y", json_object_new_string(y));
	ret = strdup(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return ret;
}

static void
test_ec_point_not_on_curve(void)
{
	struct json_object *obj;
	uint8_t *y;
	size_t ylen;
	char *y_b64, *text;
	int ids[] = { K_P256, K_P384, K_P521 };
	size_t i;

	for (i = 0; i < 3; i++) {
		obj = json_tokener_parse(pub[ids[i]]->canonical);
		CHECK(b64url_decode(json_object_get_string(
		    json_object_object_get(obj, "y")),
		    strlen(json_object_get_string(json_object_object_get(obj,
		    "y"))), &y, &ylen) == 0);
		y[ylen - 1] ^= 1;
		y_b64 = b64url_encode(y, ylen);
		text = ec_jwk_with_y(ids[i], y_b64);
		CHECKF(jwk_rejected(text, "not on curve"), "%s",
		    key_specs[ids[i]].name);
		free(text);
		free(y_b64);

		/* A coordinate of all one bits is at least p. */
		memset(y, 0xff, ylen);
		if (ids[i] == K_P521)
			y[0] = 0x01;
		y_b64 = b64url_encode(y, ylen);
		text = ec_jwk_with_y(ids[i], y_b64);
		CHECK(jwk_rejected(text, "not on curve"));
		free(text);
		free(y_b64);
		free(y);
		json_object_put(obj);
	}
}

static void
test_ed25519_invalid_point_never_verifies(void)
{
	struct jwk *key = NULL;
	char *text, err[256];

	/* x encodes y = p + 2 with p = 2^255 - 19, and RFC 8032 section
	 * 5.1.3 rejects any y >= p.  jwk_parse accepts the key, but
	 * verification must fail. */
	CHECK(jwk_parse_text("{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
	    "\"x\":\"7________________________________________38\"}", &key,
	    err, sizeof(err)) == 0);
	if (key == NULL)
		return;
	text = build_case(&cases[NCASES - 1], priv[K_ED25519], key, "{}");
	CHECK(parse_verify(text, key, err, sizeof(err)) ==
	    JWS_ERR_BAD_SIGNATURE);
	free(text);
	jwk_free(key);
}

static void
test_private_member_rejected(void)
{
	static const char *const members[] = { "d", "p", "q", "dp", "dq",
	    "qi", "oth", "k" };
	struct json_object *obj;
	char *text;
	size_t i;

	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		obj = json_tokener_parse(pub[i % 2 ? K_RSA : K_P256]->canonical);
		json_object_object_add(obj, members[i],
		    json_object_new_string("AQAB"));
		text = strdup(json_object_to_json_string_ext(obj,
		    JSON_C_TO_STRING_PLAIN));
		CHECKF(jwk_rejected(text, "private"), "member %s",
		    members[i]);
		free(text);
		json_object_put(obj);
	}
}

static void
test_jwk_bad_keys_rejected(void)
{
	char n[1400], text[1600];
	uint8_t raw[1025];
	char *b64;

	CHECK(jwk_rejected("[]", "not an object"));
	CHECK(jwk_rejected("{}", "kty"));
	CHECK(jwk_rejected("{\"kty\":\"oct\",\"x\":\"AA\"}", "key type"));
	CHECK(jwk_rejected("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\","
	    "\"y\":\"AA\"}", "curve"));
	CHECK(jwk_rejected("{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"AA\","
	    "\"y\":\"AA\"}", "curve"));
	CHECK(jwk_rejected("{\"kty\":\"OKP\",\"crv\":\"X25519\","
	    "\"x\":\"AA\"}", "curve"));
	CHECK(jwk_rejected("{\"kty\":\"OKP\",\"crv\":\"P-256\","
	    "\"x\":\"AA\"}", "curve"));
	CHECK(jwk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", "32 bytes"));
	CHECK(jwk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", "\"x\""));
	CHECK(jwk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":7}",
	    "\"x\""));
	CHECK(jwk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AA==\"}", "base64url"));

	/* P-256 coordinates of 33 bytes; P-521 ones of 65. */
	CHECK(jwk_rejected("{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", "bytes"));
	memset(raw, 0, 65);
	raw[0] = 1;
	b64 = b64url_encode(raw, 65);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-521\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", b64, b64);
	CHECK(jwk_rejected(text, "bytes"));
	free(b64);

	/* RSA moduli of 1024 and 8193 bits. */
	memset(raw, 0xc5, sizeof(raw));
	b64 = b64url_encode(raw, 128);
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"AQAB\","
	    "\"n\":\"%s\"}", b64);
	CHECK(jwk_rejected(text, "bits"));
	free(b64);
	raw[0] = 0x01;
	b64 = b64url_encode(raw, 1025);
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"AQAB\","
	    "\"n\":\"%s\"}", b64);
	CHECK(jwk_rejected(text, "bits"));
	free(b64);

	/* Exponents: even, 1, with a leading zero octet, above 2^256. */
	snprintf(n, sizeof(n), "%s", RFC7638_N);
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"AQAA\","
	    "\"n\":\"%s\"}", n);
	CHECK(jwk_rejected(text, "exponent"));
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"AQ\","
	    "\"n\":\"%s\"}", n);
	CHECK(jwk_rejected(text, "exponent"));
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"AAEAAQ\","
	    "\"n\":\"%s\"}", n);
	CHECK(jwk_rejected(text, "leading zero"));
	memset(raw, 0x01, 33);
	b64 = b64url_encode(raw, 33);
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"%s\","
	    "\"n\":\"%s\"}", b64, n);
	CHECK(jwk_rejected(text, "exponent"));
	free(b64);
}

static void
test_jwk_leading_zero_modulus(void)
{
	uint8_t *n, *padded;
	size_t nlen;
	char *b64, *text;

	CHECK(b64url_decode(RFC7638_N, strlen(RFC7638_N), &n, &nlen) == 0);
	padded = malloc(nlen + 1);
	padded[0] = 0;
	memcpy(padded + 1, n, nlen);
	b64 = b64url_encode(padded, nlen + 1);
	CHECK(asprintf(&text, "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"%s\"}",
	    b64) != -1);
	CHECK(jwk_rejected(text, "leading zero"));
	free(text);
	free(b64);
	free(padded);
	free(n);
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
test_jwk_canonical_form(void)
{
	struct jwk *key = NULL, *again = NULL;
	char text[512], err[256], want[512];
	struct json_object *obj;
	const char *x, *y;

	/* Extra public members and another order do not change the
	 * canonical text or the thumbprint. */
	obj = json_tokener_parse(pub[K_P256]->canonical);
	x = json_object_get_string(json_object_object_get(obj, "x"));
	y = json_object_get_string(json_object_object_get(obj, "y"));
	snprintf(text, sizeof(text), "{ \"y\": \"%s\", \"use\": \"sig\", "
	    "\"x\": \"%s\", \"kid\": \"1\", \"kty\": \"EC\", "
	    "\"crv\": \"P-256\" }", y, x);
	snprintf(want, sizeof(want), "{\"crv\":\"P-256\",\"kty\":\"EC\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	CHECK(jwk_parse_text(text, &key, err, sizeof(err)) == 0);
	CHECK(key != NULL);
	if (key != NULL)
		CHECK(strcmp(key->canonical, want) == 0);
	if (key != NULL)
		CHECK(strcmp(key->thumbprint,
		    pub[K_P256]->thumbprint) == 0);
	if (key != NULL)
		CHECK(key->kty == JWK_EC);
	if (key != NULL)
		CHECK(key->bits == 256);
	CHECK(key != NULL);
	if (key != NULL)
		CHECK(key->curve == GNUTLS_ECC_CURVE_SECP256R1);
	CHECK(strlen(pub[K_P256]->thumbprint) == JWK_THUMBPRINT_LEN - 1);

	/* The stored canonical text parses back to the same key. */
	CHECK(jwk_parse_text(key->canonical, &again, err, sizeof(err)) == 0);
	CHECK(again != NULL);
	if (again != NULL)
		CHECK(strcmp(again->thumbprint, key->thumbprint) ==
		    0);
	jwk_free(again);
	jwk_free(key);
	json_object_put(obj);

	CHECK(starts_with(pub[K_RSA]->canonical,
	    "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\""));
	CHECK(starts_with(pub[K_ED25519]->canonical,
	    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\""));
	CHECK(starts_with(pub[K_P521]->canonical,
	    "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\""));
	CHECK(pub[K_P521]->bits == 521);
	CHECK(pub[K_RSA]->bits == 2048);
}

int
main(void)
{
	if (setup_keys() != 0) {
		fprintf(stderr, "key generation failed\n");
		return 1;
	}
	RUN(test_sign_verify_each_alg);
	RUN(test_jws_sign_each_key);
	RUN(test_jws_sign_with_kid);
	RUN(test_post_as_get);
	RUN(test_tampered_payload_fails);
	RUN(test_tampered_header_fails);
	RUN(test_wrong_key_fails);
	RUN(test_alg_key_mismatch_fails);
	RUN(test_header_alg_differs_from_signature);
	RUN(test_bad_base64url_rejected);
	RUN(test_none_and_mac_rejected);
	RUN(test_hmac_external_account_binding);
	RUN(test_structure_rejected);
	RUN(test_crit_rejected);
	RUN(test_body_size_limit);
	RUN(test_signature_length_checked);
	RUN(test_ecdsa_leading_zero_coordinates);
	RUN(test_pss_salt_must_equal_hash_length);
	RUN(test_rfc7638_thumbprint);
	RUN(test_ec_point_not_on_curve);
	RUN(test_ed25519_invalid_point_never_verifies);
	RUN(test_private_member_rejected);
	RUN(test_jwk_bad_keys_rejected);
	RUN(test_jwk_nul_in_member_rejected);
	RUN(test_jwk_leading_zero_modulus);
	RUN(test_jwk_canonical_form);
	free_keys();
	return TEST_SUMMARY();
}
