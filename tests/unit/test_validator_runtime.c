/*
 * Unit tests for the pure parts of the validator runtime: the input checks
 * (tokens, DNS names, IP literals, the resolver option) and the escaping
 * of untrusted text.
 */
#include <sys/socket.h>

#include <string.h>

#include "runtime.h"
#include "test.h"

static void
token_accepts_base64url(void)
{
	char max[VALIDATION_MAX_TOKEN_LEN + 1];

	CHECK(check_token("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"));
	CHECK(check_token("a"));
	CHECK(check_token("A-_z09"));
	memset(max, 'a', sizeof(max) - 1);
	max[sizeof(max) - 1] = '\0';
	CHECK(check_token(max));
}

static void
token_rejects_bad_input(void)
{
	char long_token[VALIDATION_MAX_TOKEN_LEN + 2];

	CHECK(!check_token(NULL));
	CHECK(!check_token(""));
	CHECK(!check_token("abc="));
	CHECK(!check_token("abc+def"));
	CHECK(!check_token("abc/def"));
	CHECK(!check_token("../etc"));
	CHECK(!check_token("abc def"));
	CHECK(!check_token("abc\n"));
	CHECK(!check_token("caf\xc3\xa9"));
	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	CHECK(!check_token(long_token));
}

static void
dns_name_accepts_hostnames(void)
{
	char label63[64 + 8];

	CHECK(check_dns_name("example.com"));
	CHECK(check_dns_name("a.b"));
	CHECK(check_dns_name("xn--bcher-kva.example"));
	CHECK(check_dns_name("host-1.internal.example.test"));
	CHECK(check_dns_name("1.2.3.example"));
	memset(label63, 'a', 63);
	memcpy(label63 + 63, ".com", 5);
	CHECK(check_dns_name(label63));
}

static void
dns_name_rejects_bad_input(void)
{
	char label64[64 + 8], long_name[300];
	size_t i;

	CHECK(!check_dns_name(NULL));
	CHECK(!check_dns_name(""));
	CHECK(check_dns_name("localhost"));
	CHECK(!check_dns_name("example.com."));
	CHECK(!check_dns_name(".example.com"));
	CHECK(!check_dns_name("example..com"));
	CHECK(!check_dns_name("*.example.com"));
	CHECK(!check_dns_name("-bad.example.com"));
	CHECK(!check_dns_name("bad-.example.com"));
	CHECK(!check_dns_name("under_score.example.com"));
	CHECK(!check_dns_name("space .example.com"));
	CHECK(!check_dns_name("example.com:80"));
	CHECK(!check_dns_name("192.0.2.1"));
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".com", 5);
	CHECK(!check_dns_name(label64));

	/* 254 bytes in labels of 9 ("aaaaaaaa.") is over the 253 limit. */
	for (i = 0; i < 254; i++)
		long_name[i] = i % 9 == 8 ? '.' : 'a';
	long_name[254] = '\0';
	CHECK(!check_dns_name(long_name));
}

static void
ip_accepts_literals(void)
{
	int family = 0;

	CHECK(check_ip("192.0.2.1", &family));
	CHECK(family == AF_INET);
	CHECK(check_ip("2001:db8::1", &family));
	CHECK(family == AF_INET6);
	CHECK(check_ip("::1", &family));
	CHECK(family == AF_INET6);
}

static void
ip_rejects_bad_input(void)
{
	int family = 0;

	CHECK(!check_ip(NULL, &family));
	CHECK(family == AF_UNSPEC);
	CHECK(!check_ip("", &family));
	CHECK(!check_ip("192.0.2", &family));
	CHECK(!check_ip("192.0.2.256", &family));
	CHECK(!check_ip("[2001:db8::1]", &family));
	CHECK(!check_ip("fe80::1%eth0", &family));
	CHECK(!check_ip("example.com", &family));
	CHECK(!check_ip(" 192.0.2.1", &family));
}

static void
resolver_converts_forms(void)
{
	char out[80];

	CHECK(check_resolver("127.0.0.1:8053", out, sizeof(out)) == 0);
	CHECKF(strcmp(out, "127.0.0.1@8053") == 0, "got \"%s\"", out);
	CHECK(check_resolver("[::1]:53", out, sizeof(out)) == 0);
	CHECKF(strcmp(out, "::1@53") == 0, "got \"%s\"", out);
	CHECK(check_resolver("192.0.2.53", out, sizeof(out)) == 0);
	CHECKF(strcmp(out, "192.0.2.53@53") == 0, "got \"%s\"", out);
	CHECK(check_resolver("2001:db8::53", out, sizeof(out)) == 0);
	CHECKF(strcmp(out, "2001:db8::53@53") == 0, "got \"%s\"", out);
}

static void
resolver_rejects_bad_input(void)
{
	char out[80], small[8];

	CHECK(check_resolver(NULL, out, sizeof(out)) == -1);
	CHECK(check_resolver("", out, sizeof(out)) == -1);
	CHECK(out[0] == '\0');
	CHECK(check_resolver("dns.example:53", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1:0", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1:65536", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1:53x", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1:-53", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1:", out, sizeof(out)) == -1);
	CHECK(check_resolver("[::1]53", out, sizeof(out)) == -1);
	CHECK(check_resolver("[::1", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1@53", out, sizeof(out)) == -1);
	CHECK(check_resolver("127.0.0.1:53", small, sizeof(small)) == -1);
	CHECK(small[0] == '\0');
}

static void
escape_keeps_plain_text(void)
{
	char buf[80];

	escape_text((const uint8_t *)"abc.DEF-123", 11, 64, buf, sizeof(buf));
	CHECKF(strcmp(buf, "abc.DEF-123") == 0, "got \"%s\"", buf);
	escape_text((const uint8_t *)"", 0, 64, buf, sizeof(buf));
	CHECK(buf[0] == '\0');
}

static void
escape_hides_control_bytes(void)
{
	const uint8_t text[] = { 'a', '\n', '"', '\\', 0x00, 0xff, 'z' };
	char buf[80];

	escape_text(text, sizeof(text), 64, buf, sizeof(buf));
	CHECKF(strcmp(buf, "a\\x0a\\x22\\x5c\\x00\\xffz") == 0, "got \"%s\"",
	    buf);
}

static void
escape_truncates_input(void)
{
	char text[200], buf[300];

	memset(text, 'x', sizeof(text));
	escape_text((const uint8_t *)text, sizeof(text), 64, buf,
	    sizeof(buf));
	CHECKF(strlen(buf) == 67, "length %zu", strlen(buf));
	CHECK(strcmp(buf + 64, "...") == 0);
}

static void
escape_fits_small_buffer(void)
{
	const uint8_t text[] = { 0x01, 0x02, 0x03, 0x04 };
	char buf[10];

	/* Room for one escape and the marker; no sequence is split. */
	escape_text(text, sizeof(text), 64, buf, sizeof(buf));
	CHECKF(strcmp(buf, "\\x01...") == 0, "got \"%s\"", buf);
	escape_text(text, sizeof(text), 64, buf, 1);
	CHECK(buf[0] == '\0');
}

int
main(void)
{
	RUN(token_accepts_base64url);
	RUN(token_rejects_bad_input);
	RUN(dns_name_accepts_hostnames);
	RUN(dns_name_rejects_bad_input);
	RUN(ip_accepts_literals);
	RUN(ip_rejects_bad_input);
	RUN(resolver_converts_forms);
	RUN(resolver_rejects_bad_input);
	RUN(escape_keeps_plain_text);
	RUN(escape_hides_control_bytes);
	RUN(escape_truncates_input);
	RUN(escape_fits_small_buffer);
	return TEST_SUMMARY();
}
