/*
 * Unit tests for proto/b64url.c: RFC 4648 vectors, the URL-safe alphabet,
 * rejection of padding, foreign characters, impossible lengths and
 * non-zero trailing bits, and round trips of every length up to 300.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "test.h"

/* Decode text and compare with want; returns 1 on a match. */
static int
decodes_to(const char *text, const char *want, size_t want_len)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int ok;

	if (b64url_decode(text, strlen(text), &out, &len) != 0)
		return 0;
	ok = len == want_len && memcmp(out, want, len) == 0 &&
	    out[len] == '\0';
	free(out);
	return ok;
}

static int
rejects(const char *text, size_t len)
{
	static uint8_t sentinel[1];
	uint8_t *out = sentinel;
	size_t out_len = 99;
	int ret;

	ret = b64url_decode(text, len, &out, &out_len);
	return ret == -1 && out == NULL && out_len == 0;
}

static void
test_rfc4648_vectors(void)
{
	static const struct { const char *raw, *enc; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	size_t i;
	char *enc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enc = b64url_encode((const uint8_t *)v[i].raw,
		    strlen(v[i].raw));
		CHECK(enc != NULL);
		CHECKF(enc != NULL && strcmp(enc, v[i].enc) == 0,
		    "encode(\"%s\") = \"%s\", want \"%s\"", v[i].raw,
		    enc ? enc : "(null)", v[i].enc);
		free(enc);
		CHECKF(decodes_to(v[i].enc, v[i].raw, strlen(v[i].raw)),
		    "decode(\"%s\")", v[i].enc);
	}
}

static void
test_url_safe_alphabet(void)
{
	static const uint8_t raw[] = { 0xfb, 0xff, 0xbf };
	char *enc;

	enc = b64url_encode(raw, sizeof(raw));
	CHECK(enc != NULL);
	if (enc != NULL)
		CHECK(strcmp(enc, "-_-_") == 0);
	free(enc);
	CHECK(decodes_to("-_-_", (const char *)raw, sizeof(raw)));
}

static void
test_decode_rejects_bad_input(void)
{
	CHECK(rejects("+/+/", 4));		/* standard alphabet */
	CHECK(rejects("Zg==", 4));		/* padding */
	CHECK(rejects("Zm9v\n", 5));		/* whitespace */
	CHECK(rejects("Zm 9v", 5));
	CHECK(rejects("Z", 1));			/* impossible length */
	CHECK(rejects("Zm9vY", 5));
	CHECK(rejects("Zh", 2));		/* trailing bits set */
	CHECK(rejects("Zm9", 3));
	CHECK(rejects("Zm\0v", 4));		/* embedded NUL */
	CHECK(rejects("Zm9v\xc3\xa9", 6));	/* non-ASCII */
}

static void
test_empty_decode(void)
{
	uint8_t *out = NULL;
	size_t len = 5;

	CHECK(b64url_decode("", 0, &out, &len) == 0);
	CHECK(out != NULL);
	CHECK(len == 0);
	free(out);
}

static void
test_round_trip_lengths(void)
{
	uint8_t raw[300], *dec;
	size_t n, i, dec_len;
	char *enc;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37 + 11);
	for (n = 0; n <= sizeof(raw); n++) {
		enc = b64url_encode(raw, n);
		CHECK(enc != NULL);
		if (enc == NULL)
			return;
		CHECKF(strlen(enc) == (n * 4 + 2) / 3, "length %zu", n);
		CHECK(b64url_decode(enc, strlen(enc), &dec, &dec_len) == 0);
		CHECKF(dec_len == n && memcmp(dec, raw, n) == 0,
		    "round trip of %zu bytes", n);
		free(dec);
		free(enc);
	}
}

int
main(void)
{
	RUN(test_rfc4648_vectors);
	RUN(test_url_safe_alphabet);
	RUN(test_decode_rejects_bad_input);
	RUN(test_empty_decode);
	RUN(test_round_trip_lengths);
	return TEST_SUMMARY();
}
