/*
 * libFuzzer target for proto/jwk.c: jwk_parse_text() on a JWK as ca-core
 * reads it from the database or a request.  An accepted key must have a
 * 43-character thumbprint, and its canonical text must parse again to the
 * same canonical text and thumbprint, because ca-core stores that text and
 * looks accounts up by the thumbprint.  The members that the key is built
 * from must be taken whole: a "\u0000" inside one must not cut it short.
 */
#include <json-c/json.h>

#include "fuzz.h"
#include "jsonobj.h"
#include "jwk.h"
#include "jws.h"

/* Members of a public JWK that jwk_parse() reads for each key type. */
static const char *const fuzz_ec_members[] = { "kty", "crv", "x", "y", NULL };
static const char *const fuzz_rsa_members[] = { "kty", "n", "e", NULL };
static const char *const fuzz_okp_members[] = { "kty", "crv", "x", NULL };

/* 1 when a member that jwk_parse() reads for a key of type kty contains a
 * NUL character. */
static int
fuzz_has_nul_member(const char *text, enum jwk_kty kty)
{
	const char *const *names;
	struct json_object *obj, *member;
	size_t i;
	int found = 0;

	if (kty == JWK_EC)
		names = fuzz_ec_members;
	else if (kty == JWK_RSA)
		names = fuzz_rsa_members;
	else
		names = fuzz_okp_members;
	if ((obj = jsonobj_parse(text, strlen(text), NULL, 0)) == NULL)
		return 0;
	for (i = 0; names[i] != NULL; i++) {
		if (json_object_object_get_ex(obj, names[i],
		    &member) && json_object_is_type(member, json_type_string) &&
		    strlen(json_object_get_string(member)) !=
		    (size_t)json_object_get_string_len(member))
			found = 1;
	}
	json_object_put(obj);
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwk *key = NULL, *again = NULL;
	char err[256], *text;

	text = fuzz_strndup(data, size);
	err[0] = '\0';
	if (jwk_parse_text(text, &key, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(key == NULL);
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		goto out;
	}

	FUZZ_ASSERT(!fuzz_has_nul_member(text, key->kty));
	FUZZ_ASSERT(key->pubkey != NULL && key->canonical != NULL);
	FUZZ_ASSERT(strlen(key->thumbprint) == JWK_THUMBPRINT_LEN - 1);
	FUZZ_ASSERT(jws_alg_for_key(key) != NULL);
	if (key->kty == JWK_RSA)
		FUZZ_ASSERT(key->bits >= JWK_RSA_MIN_BITS &&
		    key->bits <= JWK_RSA_MAX_BITS);

	if (jwk_parse_text(key->canonical, &again, err, sizeof(err)) == -1)
		fprintf(stderr, "canonical JWK rejected: %s\n", err);
	FUZZ_ASSERT(again != NULL);
	FUZZ_ASSERT(strcmp(again->canonical, key->canonical) == 0);
	FUZZ_ASSERT(strcmp(again->thumbprint, key->thumbprint) == 0);
	FUZZ_ASSERT(again->kty == key->kty && again->bits == key->bits);
 out:
	jwk_free(again);
	jwk_free(key);
	free(text);
	return 0;
}
