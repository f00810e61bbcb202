/*
 * Input checks shared by the validators: ACME tokens, DNS names, IP
 * literals, the resolver option, and escaping of untrusted text before it
 * reaches a log line or a problem detail.
 *
 * Interface (runtime.h): check_token(), check_dns_name(), check_ip(),
 * check_resolver(), escape_text().  These are pure functions: they report
 * a rejected value to the caller and never log or exit.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static int
check_is_b64url(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
check_token(const char *token)
{
	size_t i;

	if (token == NULL || token[0] == '\0')
		return 0;
	for (i = 0; token[i] != '\0'; i++) {
		if (i >= VALIDATION_MAX_TOKEN_LEN)
			return 0;
		if (!check_is_b64url((unsigned char)token[i]))
			return 0;
	}
	return 1;
}

static int
check_is_ldh(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

int
check_dns_name(const char *name)
{
	struct in_addr a4;
	size_t len, label = 0, i;

	if (name == NULL)
		return 0;
	len = strlen(name);
	if (len == 0 || len > VALIDATION_MAX_IDENTIFIER_LEN)
		return 0;

	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || label > 63)
				return 0;
			if (name[i - 1] == '-' || name[i - label] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!check_is_ldh((unsigned char)name[i]))
			return 0;
		label++;
	}
	/* A single label is accepted: private networks use names such as
	 * "localhost" or "printer", and ca-core accepts them in orders. */
	/* An IPv4 literal belongs in an ip identifier (RFC 8738). */
	if (inet_pton(AF_INET, name, &a4) == 1)
		return 0;
	return 1;
}

int
check_ip(const char *text, int *family)
{
	struct in6_addr a6;
	struct in_addr a4;

	*family = AF_UNSPEC;
	if (text == NULL)
		return 0;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		*family = AF_INET;
		return 1;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		*family = AF_INET6;
		return 1;
	}
	return 0;
}

/* Parse a decimal port 1..65535 with no sign and no trailing garbage. */
static int
check_port(const char *text, long *port)
{
	char *end;
	long n;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	n = strtol(text, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535)
		return -1;
	*port = n;
	return 0;
}

int
check_resolver(const char *text, char *out, size_t outlen)
{
	char host[VALIDATION_MAX_RESOLVER_LEN + 1];
	const char *port_text = NULL, *close, *colon;
	long port = 53;
	size_t host_len;
	int family, n;

	if (outlen > 0)
		out[0] = '\0';
	if (text == NULL || strlen(text) > VALIDATION_MAX_RESOLVER_LEN)
		return -1;

	if (text[0] == '[') {
		/* "[IPv6]:PORT" */
		if ((close = strchr(text, ']')) == NULL || close[1] != ':')
			return -1;
		host_len = (size_t)(close - text - 1);
		memcpy(host, text + 1, host_len);
		port_text = close + 2;
	} else if ((colon = strchr(text, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		/* "IPv4:PORT" */
		host_len = (size_t)(colon - text);
		memcpy(host, text, host_len);
		port_text = colon + 1;
	} else {
		/* A bare IPv4 or IPv6 address. */
		host_len = strlen(text);
		memcpy(host, text, host_len);
	}
	host[host_len] = '\0';

	if (!check_ip(host, &family))
		return -1;
	if (port_text != NULL && check_port(port_text, &port) == -1)
		return -1;
	n = snprintf(out, outlen, "%s@%ld", host, port);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

const char *
escape_text(const uint8_t *text, size_t len, size_t max_in, char *buf,
    size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, n, room, reserve;
	int cut;

	if (buflen == 0)
		return buf;
	n = len < max_in ? len : max_in;
	cut = len > n;

	/* Keep room for the NUL and, when buf allows, the "..." marker, so
	 * that an escape sequence is never split. */
	reserve = buflen > 4 ? 3 : 0;
	room = buflen - 1 - reserve;

	for (i = 0; i < n; i++) {
		uint8_t c = text[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 > room)
				break;
			buf[o++] = (char)c;
			continue;
		}
		if (o + 4 > room)
			break;
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	if (i < n)
		cut = 1;
	if (cut && reserve > 0) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
