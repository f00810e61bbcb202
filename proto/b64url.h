/*
 * base64url without padding (RFC 4648 section 5), as JOSE and ACME use it.
 */
#ifndef PROTO_B64URL_H
#define PROTO_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Encode len bytes.  Returns a NUL-terminated string the caller frees, or
 * NULL when memory runs out. */
char	*b64url_encode(const uint8_t *data, size_t len);

/* Decode text (text_len bytes, no padding, no whitespace).  On success
 * stores a malloc'd buffer in *out (NUL-terminated for convenience, the NUL
 * is not counted in *out_len) and returns 0.  Returns -1 on any character
 * outside the base64url alphabet, on '=' padding, on a length that no
 * encoding produces, or on non-zero trailing bits; *out is NULL then. */
int	 b64url_decode(const char *text, size_t text_len, uint8_t **out,
	    size_t *out_len);

#endif
