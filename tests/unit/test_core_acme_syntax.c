/*
 * Unit tests of ca-core/acme_syntax.c: identifier checks and
 * normalization, challenge fit, contacts, RFC 3339 times, CSR name sets.
 */
#include <string.h>
#include <time.h>

#include "acme_syntax.h"
#include "test.h"

static int
parse_ok(const char *type, const char *value, const char *expect,
    int wildcard)
{
	struct acme_identifier id;
	char err[256];

	if (acme_identifier_parse(type, value, &id, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s %s rejected: %s\n", type, value, err);
		return 0;
	}
	if (strcmp(id.value, expect) != 0 || id.wildcard != wildcard) {
		fprintf(stderr, "  %s %s gave \"%s\" wildcard %d\n", type,
		    value, id.value, id.wildcard);
		return 0;
	}
	return 1;
}

static int
parse_fails(const char *type, const char *value)
{
	struct acme_identifier id;
	char err[256] = "";

	if (acme_identifier_parse(type, value, &id, err, sizeof(err)) == 0)
		return 0;
	return err[0] != '\0';
}

static void
test_dns_valid(void)
{
	char label63[64], name253[254];
	size_t i;

	CHECK(parse_ok("dns", "example.com", "example.com", 0));
	CHECK(parse_ok("dns", "Example.COM", "example.com", 0));
	CHECK(parse_ok("dns", "localhost", "localhost", 0));
	CHECK(parse_ok("dns", "a-b.c0.d", "a-b.c0.d", 0));
	CHECK(parse_ok("dns", "xn--bcher-kva.example", "xn--bcher-kva.example",
	    0));
	CHECK(parse_ok("dns", "*.Example.com", "*.example.com", 1));
	CHECK(parse_ok("dns", "1.2.3.example", "1.2.3.example", 0));

	memset(label63, 'a', 63);
	label63[63] = '\0';
	CHECK(parse_ok("dns", label63, label63, 0));

	/* 4 labels of 63 plus 3 dots is 255; cut to exactly 253. */
	for (i = 0; i < 253; i++)
		name253[i] = (i % 64 == 63) ? '.' : 'a';
	name253[253] = '\0';
	CHECK(parse_ok("dns", name253, name253, 0));
}

static void
test_dns_invalid(void)
{
	char label64[65], name254[256];
	size_t i;

	CHECK(parse_fails("dns", ""));
	CHECK(parse_fails("dns", "."));
	CHECK(parse_fails("dns", "example.com."));
	CHECK(parse_fails("dns", ".example.com"));
	CHECK(parse_fails("dns", "a..b"));
	CHECK(parse_fails("dns", "-a.example"));
	CHECK(parse_fails("dns", "a-.example"));
	CHECK(parse_fails("dns", "a.-b"));
	CHECK(parse_fails("dns", "under_score.example"));
	CHECK(parse_fails("dns", "sp ace.example"));
	CHECK(parse_fails("dns", "b\xc3\xbc" "cher.example"));
	CHECK(parse_fails("dns", "*"));
	CHECK(parse_fails("dns", "*."));
	CHECK(parse_fails("dns", "a.*.example"));
	CHECK(parse_fails("dns", "*.*.example"));
	CHECK(parse_fails("dns", "*a.example"));
	CHECK(parse_fails("dns", "a*.example"));
	CHECK(parse_fails("dns", "10.0.0.1"));
	CHECK(parse_fails("dns", "example.com\n"));

	memset(label64, 'a', 64);
	label64[64] = '\0';
	CHECK(parse_fails("dns", label64));

	for (i = 0; i < 254; i++)
		name254[i] = (i % 60 == 59) ? '.' : 'a';
	name254[254] = '\0';
	CHECK(parse_fails("dns", name254));
	name254[253] = '\0';
	CHECK(parse_ok("dns", name254, name254, 0));
}

static void
test_ip_normalize(void)
{
	CHECK(parse_ok("ip", "127.0.0.1", "127.0.0.1", 0));
	CHECK(parse_ok("ip", "::1", "::1", 0));
	CHECK(parse_ok("ip", "2001:DB8:0:0:0:0:0:1", "2001:db8::1", 0));
	CHECK(parse_ok("ip", "2001:0db8::0001", "2001:db8::1", 0));
	CHECK(parse_ok("ip", "::ffff:10.0.0.1", "::ffff:10.0.0.1", 0));

	CHECK(parse_fails("ip", ""));
	CHECK(parse_fails("ip", "256.0.0.1"));
	CHECK(parse_fails("ip", "1.2.3"));
	CHECK(parse_fails("ip", "01.2.3.4"));
	CHECK(parse_fails("ip", "1.2.3.4 "));
	CHECK(parse_fails("ip", "fe80::1%eth0"));
	CHECK(parse_fails("ip", "[::1]"));
	CHECK(parse_fails("ip", "example.com"));
	CHECK(parse_fails("ip", "1::2::3"));
}

static void
test_identifier_type(void)
{
	struct acme_identifier id;
	char err[128];

	CHECK(acme_identifier_parse("email", "a@b.c", &id, err,
	    sizeof(err)) == -2);
	CHECK(acme_identifier_parse("DNS", "a.b", &id, err, sizeof(err)) == -2);
	CHECK(acme_identifier_parse(NULL, "a.b", &id, err, sizeof(err)) == -1);
	CHECK(acme_identifier_parse("dns", NULL, &id, err, sizeof(err)) == -1);
}

static void
test_identifier_dedup(void)
{
	struct acme_identifier ids[5];
	char err[128];
	size_t n;

	CHECK(acme_identifier_parse("dns", "a.example", &ids[0], err, 128) == 0);
	CHECK(acme_identifier_parse("dns", "A.EXAMPLE", &ids[1], err, 128) == 0);
	CHECK(acme_identifier_parse("ip", "::1", &ids[2], err, 128) == 0);
	CHECK(acme_identifier_parse("ip", "0::1", &ids[3], err, 128) == 0);
	CHECK(acme_identifier_parse("dns", "*.a.example", &ids[4], err,
	    128) == 0);
	n = acme_identifier_dedup(ids, 5);
	CHECK(n == 3);
	CHECK(strcmp(ids[0].value, "a.example") == 0);
	CHECK(strcmp(ids[1].value, "::1") == 0);
	CHECK(strcmp(ids[2].value, "*.a.example") == 0);
	CHECK(acme_identifier_dedup(ids, 0) == 0);
}

static void
test_challenge_fits(void)
{
	struct acme_identifier dns, wild, ip;
	char err[128];

	CHECK(acme_identifier_parse("dns", "a.example", &dns, err, 128) == 0);
	CHECK(acme_identifier_parse("dns", "*.a.example", &wild, err,
	    128) == 0);
	CHECK(acme_identifier_parse("ip", "10.1.2.3", &ip, err, 128) == 0);

	CHECK(acme_challenge_fits("http-01", &dns));
	CHECK(acme_challenge_fits("dns-01", &dns));
	CHECK(acme_challenge_fits("tls-alpn-01", &dns));
	CHECK(acme_challenge_fits("custom-01", &dns));
	CHECK(!acme_challenge_fits("device-attest-01", &dns));

	CHECK(!acme_challenge_fits("http-01", &wild));
	CHECK(acme_challenge_fits("dns-01", &wild));
	CHECK(!acme_challenge_fits("tls-alpn-01", &wild));
	CHECK(!acme_challenge_fits("custom-01", &wild));

	CHECK(acme_challenge_fits("http-01", &ip));
	CHECK(!acme_challenge_fits("dns-01", &ip));
	CHECK(acme_challenge_fits("tls-alpn-01", &ip));
	CHECK(acme_challenge_fits("custom-01", &ip));
}

static void
test_contact(void)
{
	char err[128], long_contact[300];

	CHECK(acme_contact_check("mailto:admin@example.com", err, 128) == 0);
	CHECK(acme_contact_check("mailto:a.b+tag@Sub.Example.org", err,
	    128) == 0);
	CHECK(acme_contact_check("MAILTO:x@example.com", err, 128) == 0);

	CHECK(acme_contact_check("tel:+15551234", err, 128) == -2);
	CHECK(acme_contact_check("https://example.com", err, 128) == -2);
	CHECK(acme_contact_check("admin@example.com", err, 128) == -2);
	CHECK(acme_contact_check("mailto:", err, 128) == -1);
	CHECK(acme_contact_check("mailto:@example.com", err, 128) == -1);
	CHECK(acme_contact_check("mailto:admin@", err, 128) == -1);
	CHECK(acme_contact_check("mailto:admin", err, 128) == -1);
	CHECK(acme_contact_check("mailto:a@b@example.com", err, 128) == -1);
	CHECK(acme_contact_check("mailto:a@example.com?subject=x", err,
	    128) == -1);
	CHECK(acme_contact_check("mailto:a@example.com,b@example.com", err,
	    128) == -1);
	CHECK(acme_contact_check("mailto:a b@example.com", err, 128) == -1);
	CHECK(acme_contact_check("mailto:a@exa mple.com", err, 128) == -1);
	CHECK(acme_contact_check("mailto:a@-example.com", err, 128) == -1);
	CHECK(acme_contact_check("mailto:a@example.com.", err, 128) == -1);
	CHECK(acme_contact_check("mailto:a\n@example.com", err, 128) == -1);

	memset(long_contact, 'a', sizeof(long_contact) - 1);
	long_contact[sizeof(long_contact) - 1] = '\0';
	memcpy(long_contact, "mailto:", 7);
	CHECK(acme_contact_check(long_contact, err, 128) == -1);
}

static void
test_time_parse_valid(void)
{
	static const struct {
		const char	*text;
		time_t		 expect;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2024-02-29T12:34:56Z", 1709210096 },
		{ "2024-02-29t12:34:56z", 1709210096 },
		{ "2024-02-29T14:34:56+02:00", 1709210096 },
		{ "2024-02-29T07:04:56-05:30", 1709210096 },
		{ "2024-02-29T12:34:56.123456789Z", 1709210096 },
		/* A leap second rolls into the next minute. */
		{ "2016-12-31T23:59:60Z", 1483228800 },
	};
	size_t i;
	time_t t;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECKF(acme_time_parse(cases[i].text, &t) == 0, "rejected "
		    "\"%s\"", cases[i].text);
		CHECKF(t == cases[i].expect, "\"%s\" gave %lld", cases[i].text,
		    (long long)t);
	}
}

static void
test_time_parse_invalid(void)
{
	static const char *bad[] = {
		"", "2024", "2024-01-01", "2024-01-01T00:00:00",
		"2024-01-01 00:00:00Z", "2024-1-01T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
		"2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z",
		"2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+0200",
		"2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+02:60",
		"2024-01-01T00:00:00Zjunk", "2024-01-01T00:00:00Z ",
		"+024-01-01T00:00:00Z", "2024-01-01T00:00:00UTC",
		"1700000000",
	};
	size_t i;
	time_t t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(acme_time_parse(bad[i], &t) == -1, "accepted \"%s\"",
		    bad[i]);
}

static void
test_time_format(void)
{
	char buf[ACME_TIME_LEN];
	time_t t;

	acme_time_format(0, buf);
	CHECK(strcmp(buf, "1970-01-01T00:00:00Z") == 0);
	acme_time_format(1709210096, buf);
	CHECK(strcmp(buf, "2024-02-29T12:34:56Z") == 0);
	CHECK(acme_time_parse(buf, &t) == 0);
	CHECK(t == 1709210096);
}

static void
add_name(struct acme_identifier *ids, size_t *n, const char *name)
{
	char err[128];

	CHECKF(acme_identifier_from_name(name, &ids[*n], err, 128) == 0,
	    "%s: %s", name, err);
	(*n)++;
}

static void
test_csr_names_compare(void)
{
	struct acme_identifier order[3], csr[5];
	size_t norder = 0, ncsr = 0;
	char err[256];

	add_name(order, &norder, "a.example");
	add_name(order, &norder, "*.b.example");
	add_name(order, &norder, "192.0.2.1");

	/* Same names, other case and order, CN repeating a SAN. */
	add_name(csr, &ncsr, "192.0.2.1");
	add_name(csr, &ncsr, "A.Example");
	add_name(csr, &ncsr, "*.B.EXAMPLE");
	add_name(csr, &ncsr, "a.example");
	CHECK(acme_identifiers_compare(order, norder, csr, ncsr, err,
	    sizeof(err)) == 0);

	/* A missing name is named in the detail. */
	CHECK(acme_identifiers_compare(order, norder, csr, 2, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "*.b.example") != NULL);

	/* An extra name is named in the detail. */
	add_name(csr, &ncsr, "c.example");
	CHECK(acme_identifiers_compare(order, norder, csr, ncsr, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "c.example") != NULL);

	/* An IP address in a dNSName is not the ip identifier. */
	CHECK(acme_identifier_parse("dns", "a.example", &csr[0], err,
	    sizeof(err)) == 0);
	ncsr = 1;
	CHECK(acme_identifiers_compare(order, 1, csr, ncsr, err,
	    sizeof(err)) == 0);
	CHECK(acme_identifiers_compare(order, 0, csr, 0, err,
	    sizeof(err)) == 0);

	/* from_name classifies IPv6 text as ip and rejects junk. */
	CHECK(acme_identifier_from_name("2001:DB8::1", &csr[0], err,
	    sizeof(err)) == 0);
	CHECK(csr[0].type == ACME_ID_IP);
	CHECK(strcmp(csr[0].value, "2001:db8::1") == 0);
	CHECK(acme_identifier_from_name("bad name", &csr[0], err,
	    sizeof(err)) == -1);
	CHECK(acme_identifier_from_name("", &csr[0], err, sizeof(err)) == -1);
}

int
main(void)
{
	RUN(test_dns_valid);
	RUN(test_dns_invalid);
	RUN(test_ip_normalize);
	RUN(test_identifier_type);
	RUN(test_identifier_dedup);
	RUN(test_challenge_fits);
	RUN(test_contact);
	RUN(test_time_parse_valid);
	RUN(test_time_parse_invalid);
	RUN(test_time_format);
	RUN(test_csr_names_compare);
	return TEST_SUMMARY();
}
