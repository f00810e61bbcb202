/*
 * base64url without padding (RFC 4648 section 5, RFC 7515 section 2).
 *
 * Interface: b64url_encode() and b64url_decode() in b64url.h.  Decoding is
 * strict because JOSE compares encoded values as strings (thumbprints,
 * signing input): padding, whitespace, characters outside the alphabet,
 * impossible lengths and non-zero trailing bits are all rejected.  Every
 * failure is returned to the caller; nothing here logs or exits.
 */
#include <stdint.h>
#include <stdlib.h>

#include "b64url.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Map one character to its 6-bit value, or -1 when it is not in the
 * base64url alphabet. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

char *
b64url_encode(const uint8_t *data, size_t len)
{
	char *out;
	size_t i, o = 0;
	uint32_t v;

	/* 4 characters per 3 bytes, rounded up; the check keeps the size
	 * computation from wrapping. */
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 |
		    data[i + 2];
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
		out[o++] = b64url_alphabet[v & 0x3f];
	}

	if (len - i == 1) {
		v = (uint32_t)data[i] << 16;
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
	} else if (len - i == 2) {
		v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
	}
	out[o] = '\0';
	return out;
}

int
b64url_decode(const char *text, size_t text_len, uint8_t **out,
    size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t i, o = 0, rest;
	uint32_t acc = 0;
	int v, bits = 0, ret = -1;

	*out = NULL;
	*out_len = 0;

	/* A final group of one character carries only 6 bits, which no
	 * encoder produces. */
	rest = text_len % 4;
	if (rest == 1)
		goto out;
	if ((buf = malloc(text_len / 4 * 3 + 3)) == NULL)
		goto out;

	for (i = 0; i < text_len; i++) {
		if ((v = b64url_value((unsigned char)text[i])) < 0)
			goto out;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}

	/* The leftover bits (2 or 4) must be zero, or two texts would decode
	 * to the same bytes. */
	if (acc != 0)
		goto out;

	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	buf = NULL;
	ret = 0;
 out:
	free(buf);
	return ret;
}
