/*
 * Key authorizations (RFC 8555 section 8.1): token || '.' || thumbprint.
 */
#ifndef PROTO_KEYAUTH_H
#define PROTO_KEYAUTH_H

#include <stddef.h>
#include <stdint.h>

/* Returns a malloc'd "TOKEN.THUMBPRINT", or NULL on memory exhaustion. */
char	*keyauth_build(const char *token, const char *thumbprint);

/* Returns 1 when body (len bytes, not NUL-terminated) equals expected,
 * optionally followed by whitespace (RFC 8555 section 8.3 allows trailing
 * white space in an http-01 response), 0 otherwise. */
int	 keyauth_matches(const char *expected, const uint8_t *body, size_t len);

#endif
