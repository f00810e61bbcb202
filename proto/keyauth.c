/*
 * Key authorizations (RFC 8555 section 8.1): the challenge token, a '.',
 * and the base64url SHA-256 thumbprint of the account key.
 *
 * Interface (keyauth.h): keyauth_build() makes the expected value and
 * keyauth_matches() compares a fetched http-01 response body against it.
 * A mismatch is the peer's problem and is only reported as 0; nothing
 * logs or exits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyauth.h"

char *
keyauth_build(const char *token, const char *thumbprint)
{
	size_t tlen, plen;
	char *out;

	tlen = strlen(token);
	plen = strlen(thumbprint);
	if (tlen > SIZE_MAX - plen - 2)
		return NULL;
	if ((out = malloc(tlen + plen + 2)) == NULL)
		return NULL;
	memcpy(out, token, tlen);
	out[tlen] = '.';
	memcpy(out + tlen + 1, thumbprint, plen);
	out[tlen + 1 + plen] = '\0';
	return out;
}

static int
keyauth_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
keyauth_matches(const char *expected, const uint8_t *body, size_t len)
{
	size_t elen, i;

	/* An empty expected value would accept any blank body. */
	elen = strlen(expected);
	if (elen == 0 || len < elen || memcmp(body, expected, elen) != 0)
		return 0;

	/* RFC 8555 section 8.3 lets the server ignore trailing white
	 * space, and servers often append a newline. */
	for (i = elen; i < len; i++)
		if (!keyauth_is_space(body[i]))
			return 0;
	return 1;
}
