/*
 * Unit tests for proto/keyauth.c: building TOKEN.THUMBPRINT and matching
 * http-01 response bodies with and without trailing white space.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyauth.h"
#include "test.h"

#define TOKEN	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define THUMB	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static int
matches(const char *expected, const char *body, size_t len)
{
	return keyauth_matches(expected, (const uint8_t *)body, len);
}

static void
test_build(void)
{
	char *ka;

	ka = keyauth_build(TOKEN, THUMB);
	CHECK(ka != NULL);
	if (ka != NULL)
		CHECK(strcmp(ka, TOKEN "." THUMB) == 0);
	free(ka);
	ka = keyauth_build("", "");
	if (ka != NULL)
		CHECK(strcmp(ka, ".") == 0);
	free(ka);
}

static void
test_exact_match(void)
{
	const char *ka = TOKEN "." THUMB;

	CHECK(matches(ka, ka, strlen(ka)));
}

static void
test_trailing_whitespace_accepted(void)
{
	static const char *const tails[] = { "\n", "\r\n", " ", "\t",
	    " \t\r\n  \n" };
	char body[256];
	size_t i;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(body, sizeof(body), "%s.%s%s", TOKEN, THUMB, tails[i]);
		CHECKF(matches(TOKEN "." THUMB, body, strlen(body)),
		    "tail %zu", i);
	}
}

static void
test_mismatches_rejected(void)
{
	const char *ka = TOKEN "." THUMB;
	char body[256];

	/* Prefix, leading white space, trailing non-space, changed byte. */
	CHECK(!matches(ka, ka, strlen(ka) - 1));
	snprintf(body, sizeof(body), " %s", ka);
	CHECK(!matches(ka, body, strlen(body)));
	snprintf(body, sizeof(body), "%s\nx", ka);
	CHECK(!matches(ka, body, strlen(body)));
	snprintf(body, sizeof(body), "%s", ka);
	body[3] ^= 1;
	CHECK(!matches(ka, body, strlen(body)));
	CHECK(!matches(ka, "", 0));

	/* A NUL byte or vertical tab is not the white space RFC 8555
	 * means. */
	snprintf(body, sizeof(body), "%s", ka);
	CHECK(!matches(ka, body, strlen(ka) + 1));
	snprintf(body, sizeof(body), "%s\v", ka);
	CHECK(!matches(ka, body, strlen(body)));
}

static void
test_empty_expected_never_matches(void)
{
	CHECK(!matches("", "", 0));
	CHECK(!matches("", "\n", 1));
}

int
main(void)
{
	RUN(test_build);
	RUN(test_exact_match);
	RUN(test_trailing_whitespace_accepted);
	RUN(test_mismatches_rejected);
	RUN(test_empty_expected_never_matches);
	return TEST_SUMMARY();
}
