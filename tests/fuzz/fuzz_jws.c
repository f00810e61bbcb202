/*
 * libFuzzer target for proto/jws.c and proto/jwk.c as ca-core uses them
 * on a request body: jws_parse(), then jwk_parse() on the protected
 * header's "jwk" when there is one, then jws_verify() with that key and
 * jws_verify_hmac() with a fixed MAC key.  An accepted JWS must hold the
 * decoded payload and signature with their lengths, and a rejection must
 * come with a reason.
 */
#include <json-c/json.h>

#include "b64url.h"
#include "fuzz.h"
#include "jwk.h"
#include "jws.h"

static const uint8_t fuzz_hmac_key[] = "fuzz-eab-hmac-key-of-32-bytes!!";

static void
fuzz_check_decoded(const struct jws *jws)
{
	uint8_t *bytes;
	size_t len;

	FUZZ_ASSERT(jws->protected_b64 != NULL && jws->payload_b64 != NULL);
	FUZZ_ASSERT(jws->header != NULL);
	FUZZ_ASSERT(jws->payload != NULL && jws->payload[jws->payload_len] ==
	    '\0');
	FUZZ_ASSERT(jws->signature != NULL);

	/* The fields hold what the base64url members decode to. */
	FUZZ_ASSERT(b64url_decode(jws->payload_b64, strlen(jws->payload_b64),
	    &bytes, &len) == 0);
	FUZZ_ASSERT(len == jws->payload_len);
	FUZZ_ASSERT(memcmp(bytes, jws->payload, len) == 0);
	free(bytes);
}

static void
fuzz_verify(const struct jws *jws)
{
	struct jwk *key = NULL;
	enum jws_error r;
	char err[256];

	err[0] = '\0';
	if (jwk_parse(jws->jwk, &key, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(key == NULL);
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		return;
	}
	FUZZ_ASSERT(key != NULL && key->canonical != NULL);
	FUZZ_ASSERT(strlen(key->thumbprint) == JWK_THUMBPRINT_LEN - 1);

	err[0] = '\0';
	r = jws_verify(jws, key, err, sizeof(err));
	FUZZ_ASSERT(r == JWS_OK || r == JWS_ERR_BAD_ALG ||
	    r == JWS_ERR_KEY_MISMATCH || r == JWS_ERR_BAD_SIGNATURE);
	if (r != JWS_OK)
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
	else
		FUZZ_ASSERT(jws_alg_supported(jws->alg));
	jwk_free(key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jws *jws = NULL;
	enum jws_error r;
	char err[256];

	err[0] = '\0';
	r = jws_parse((const char *)data, size, &jws, err, sizeof(err));
	if (r != JWS_OK) {
		FUZZ_ASSERT(jws == NULL);
		FUZZ_ASSERT(r == JWS_ERR_MALFORMED || r == JWS_ERR_NOMEM);
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		return 0;
	}

	fuzz_check_decoded(jws);
	if (jws->jwk != NULL)
		fuzz_verify(jws);

	err[0] = '\0';
	r = jws_verify_hmac(jws, fuzz_hmac_key, sizeof(fuzz_hmac_key) - 1,
	    err, sizeof(err));
	FUZZ_ASSERT(r == JWS_OK || fuzz_reason_ok(err, sizeof(err)));
	jws_free(jws);
	return 0;
}
