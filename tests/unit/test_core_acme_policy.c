/*
 * Unit tests of the name policy and identifier rules in
 * ca-core/acme_syntax.c: allow/deny pattern syntax, DNS and CIDR
 * matching, wildcard identifiers, and the identifier rejections that
 * newOrder reports (trailing dot, underscore, non-ASCII, lengths,
 * misplaced wildcards).
 */
#include <string.h>

#include "acme_syntax.h"
#include "test.h"

static int
pattern_ok(const char *pattern)
{
	char err[256] = "";

	if (acme_policy_pattern_check(pattern, err, sizeof(err)) == 0)
		return 1;
	fprintf(stderr, "  pattern \"%s\" rejected: %s\n", pattern, err);
	return 0;
}

static int
pattern_bad(const char *pattern)
{
	char err[256] = "";

	return acme_policy_pattern_check(pattern, err, sizeof(err)) == -1 &&
	    err[0] != '\0';
}

/* Match pattern against an identifier parsed from (type, value). */
static int
matches(const char *pattern, const char *type, const char *value)
{
	struct acme_identifier id;
	char err[256];

	if (acme_identifier_parse(type, value, &id, err, sizeof(err)) != 0) {
		fprintf(stderr, "  identifier %s %s rejected: %s\n", type, value,
		    err);
		return -1;
	}
	return acme_policy_match(pattern, &id);
}

static int
rejected_with(const char *value, const char *reason)
{
	struct acme_identifier id;
	char err[256] = "";

	if (acme_identifier_parse("dns", value, &id, err, sizeof(err)) == 0) {
		fprintf(stderr, "  \"%s\" was accepted\n", value);
		return 0;
	}
	if (strstr(err, reason) == NULL) {
		fprintf(stderr, "  \"%s\": reason \"%s\" lacks \"%s\"\n", value,
		    err, reason);
		return 0;
	}
	return 1;
}

static void
test_pattern_syntax(void)
{
	CHECK(pattern_ok("example.test"));
	CHECK(pattern_ok("*.example.test"));
	CHECK(pattern_ok("10.0.0.0/8"));
	CHECK(pattern_ok("192.0.2.7"));
	CHECK(pattern_ok("2001:db8::/32"));
	CHECK(pattern_ok("::1"));
	CHECK(pattern_bad(""));
	CHECK(pattern_bad("bad_name.test"));
	CHECK(pattern_bad("a.*.test"));
	CHECK(pattern_bad("10.0.0.0/33"));
	CHECK(pattern_bad("2001:db8::/129"));
	CHECK(pattern_bad("10.0.0.0/"));
	CHECK(pattern_bad("10.0.0.0/-1"));
	CHECK(pattern_bad("10.0.0.256"));
	CHECK(pattern_bad("example.test."));
}

static void
test_dns_matching(void)
{
	CHECK(matches("example.test", "dns", "example.test") == 1);
	CHECK(matches("example.test", "dns", "EXAMPLE.test") == 1);
	CHECK(matches("example.test", "dns", "www.example.test") == 0);
	CHECK(matches("*.example.test", "dns", "www.example.test") == 1);
	CHECK(matches("*.example.test", "dns", "a.b.example.test") == 1);
	CHECK(matches("*.example.test", "dns", "example.test") == 0);
	CHECK(matches("*.example.test", "dns", "badexample.test") == 0);
	CHECK(matches("*.example.test", "dns", "*.example.test") == 1);
	CHECK(matches("*.example.test", "dns", "*.www.example.test") == 1);
	CHECK(matches("*.www.example.test", "dns", "*.example.test") == 0);
	CHECK(matches("www.example.test", "dns", "*.www.example.test") == 0);
	CHECK(matches("*.example.test", "ip", "10.0.0.1") == 0);
	CHECK(matches("Example.TEST", "dns", "example.test") == 1);
}

static void
test_ip_matching(void)
{
	CHECK(matches("10.0.0.0/8", "ip", "10.200.3.4") == 1);
	CHECK(matches("10.0.0.0/8", "ip", "11.0.0.1") == 0);
	CHECK(matches("192.0.2.0/25", "ip", "192.0.2.127") == 1);
	CHECK(matches("192.0.2.0/25", "ip", "192.0.2.128") == 0);
	CHECK(matches("192.0.2.7", "ip", "192.0.2.7") == 1);
	CHECK(matches("192.0.2.7", "ip", "192.0.2.8") == 0);
	CHECK(matches("0.0.0.0/0", "ip", "203.0.113.9") == 1);
	CHECK(matches("2001:db8::/32", "ip", "2001:DB8:1::5") == 1);
	CHECK(matches("2001:db8::/32", "ip", "2001:db9::5") == 0);
	CHECK(matches("10.0.0.0/8", "ip", "::ffff:10.0.0.1") == 0);
	CHECK(matches("10.0.0.0/8", "dns", "ten.example.test") == 0);
}

static void
test_identifier_rejections(void)
{
	char label64[70], name254[260];
	size_t i;

	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".test");
	for (i = 0; i < 254; i++)
		name254[i] = (i % 2 == 0) ? 'a' : '.';
	name254[253] = 'a';
	name254[254] = '\0';

	CHECK(rejected_with("example.test.", "trailing dot"));
	CHECK(rejected_with("_acme.example.test", "underscore"));
	CHECK(rejected_with("a_b.example.test", "underscore"));
	CHECK(rejected_with("caf\xc3\xa9.example.test", "punycode"));
	CHECK(rejected_with("a..example.test", "empty label"));
	CHECK(rejected_with(".example.test", "empty label"));
	CHECK(rejected_with(label64, "longer than 63"));
	CHECK(rejected_with(name254, "longer than 253"));
	CHECK(rejected_with("www.*.example.test", "wildcard"));
	CHECK(rejected_with("*example.test", "wildcard"));
	CHECK(rejected_with("*.*.example.test", "wildcard"));
	CHECK(rejected_with("-a.example.test", "starts with"));
}

int
main(void)
{
	RUN(test_pattern_syntax);
	RUN(test_dns_matching);
	RUN(test_ip_matching);
	RUN(test_identifier_rejections);
	return TEST_SUMMARY();
}
