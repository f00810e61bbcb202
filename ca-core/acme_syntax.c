/*
 * Syntax checks for values from ACME clients: identifiers (dns and ip),
 * mailto contacts, RFC 3339 timestamps, and order-versus-CSR name sets.
 *
 * Interface: acme_syntax.h.  Everything here is pure: no I/O, no logging,
 * no allocation.  Every rejection is returned to the caller with a reason
 * fit to put in a problem document, because the input comes from a client.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acme_syntax.h"

#define DNS_NAME_MAX	253
#define DNS_LABEL_MAX	63

/* Check a lower-case DNS name without a wildcard prefix. */
static int
acme_dns_name_check(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name), label = 0, i;
	const char *last;
	struct in_addr v4;

	if (len == 0) {
		snprintf(err, errlen, "empty DNS name");
		return -1;
	}
	if (len > DNS_NAME_MAX) {
		snprintf(err, errlen, "DNS name longer than %d bytes",
		    DNS_NAME_MAX);
		return -1;
	}
	/* Checked first, so that no message below quotes a non-ASCII
	 * byte. */
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] >= 0x80) {
			snprintf(err, errlen, "DNS name contains non-ASCII "
			    "bytes; send an internationalized name in its "
			    "punycode (xn--) form");
			return -1;
		}
	}
	if (name[len - 1] == '.') {
		snprintf(err, errlen, "DNS name \"%s\" ends with a dot; send "
		    "it without the trailing dot", name);
		return -1;
	}
	for (i = 0; i <= len; i++) {
		char c = name[i];

		if (c == '_') {
			snprintf(err, errlen, "DNS name \"%s\" contains an "
			    "underscore, which a host name may not have", name);
			return -1;
		}
		if (c == '.' || c == '\0') {
			if (label == 0) {
				snprintf(err, errlen, "DNS name \"%s\" has an "
				    "empty label", name);
				return -1;
			}
			if (name[i - 1] == '-') {
				snprintf(err, errlen, "a label of DNS name "
				    "\"%s\" ends with '-'", name);
				return -1;
			}
			label = 0;
			continue;
		}
		if (label == 0 && c == '-') {
			snprintf(err, errlen, "a label of DNS name \"%s\" "
			    "starts with '-'", name);
			return -1;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-')) {
			snprintf(err, errlen, "DNS name \"%s\" contains a "
			    "character other than a-z, 0-9, '-' and '.'", name);
			return -1;
		}
		if (++label > DNS_LABEL_MAX) {
			snprintf(err, errlen, "a label of DNS name \"%s\" is "
			    "longer than %d bytes", name, DNS_LABEL_MAX);
			return -1;
		}
	}

	/* "10.0.0.1" is a valid host name by the rules above, but a client
	 * that sends it as dns means an IP address (RFC 8738). */
	if (inet_pton(AF_INET, name, &v4) == 1) {
		snprintf(err, errlen, "\"%s\" is an IP address; use an "
		    "identifier of type ip", name);
		return -1;
	}
	/* No top-level domain is all digits (RFC 3696 section 2), so such
	 * a name is a mistyped address such as "10.0.0.256". */
	last = strrchr(name, '.') != NULL ? strrchr(name, '.') + 1 : name;
	if (strspn(last, "0123456789") == strlen(last)) {
		snprintf(err, errlen, "the last label of DNS name \"%s\" is "
		    "all digits, which no top-level domain is", name);
		return -1;
	}
	return 0;
}

static int
acme_dns_parse(const char *value, struct acme_identifier *out, char *err,
    size_t errlen)
{
	size_t len = strlen(value), i;
	const char *base;

	if (len >= sizeof(out->value)) {
		snprintf(err, errlen, "DNS name longer than %d bytes",
		    DNS_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		out->value[i] = (char)tolower((unsigned char)value[i]);
	out->value[len] = '\0';

	/* Checked before the wildcard rule, so that its message never
	 * quotes a non-ASCII byte. */
	if (strspn(out->value, "abcdefghijklmnopqrstuvwxyz0123456789-.*_") !=
	    len && acme_dns_name_check(out->value, err, errlen) == -1)
		return -1;
	base = out->value;
	if (strncmp(base, "*.", 2) == 0) {
		out->wildcard = 1;
		base += 2;
	}
	if (strchr(base, '*') != NULL) {
		snprintf(err, errlen, "a wildcard is only allowed as the "
		    "whole leftmost label (\"*.\"), not in \"%s\"", out->value);
		return -1;
	}
	if (acme_dns_name_check(base, err, errlen) == -1)
		return -1;
	out->type = ACME_ID_DNS;
	return 0;
}

static int
acme_ip_parse(const char *value, struct acme_identifier *out, char *err,
    size_t errlen)
{
	unsigned char addr[16];
	int family = AF_INET;

	if (strchr(value, ':') != NULL)
		family = AF_INET6;
	if (strlen(value) >= INET6_ADDRSTRLEN ||
	    inet_pton(family, value, addr) != 1) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address",
		    value);
		return -1;
	}
	if (inet_ntop(family, addr, out->value, sizeof(out->value)) == NULL) {
		snprintf(err, errlen, "cannot format IP address");
		return -1;
	}
	out->type = ACME_ID_IP;
	return 0;
}

int
acme_identifier_parse(const char *type_name, const char *value,
    struct acme_identifier *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (type_name == NULL || value == NULL) {
		snprintf(err, errlen, "identifier needs string members "
		    "\"type\" and \"value\"");
		return -1;
	}
	if (strcmp(type_name, "dns") == 0)
		return acme_dns_parse(value, out, err, errlen);
	if (strcmp(type_name, "ip") == 0)
		return acme_ip_parse(value, out, err, errlen);
	snprintf(err, errlen, "identifier type is not dns or ip");
	return -2;
}

int
acme_identifier_from_name(const char *name, struct acme_identifier *out,
    char *err, size_t errlen)
{
	unsigned char addr[16];

	if (strlen(name) < INET6_ADDRSTRLEN &&
	    (inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1))
		return acme_identifier_parse("ip", name, out, err, errlen);
	return acme_identifier_parse("dns", name, out, err, errlen);
}

const char *
acme_identifier_type_name(enum acme_identifier_type type)
{
	return type == ACME_ID_IP ? "ip" : "dns";
}

static int
acme_identifier_equal(const struct acme_identifier *a,
    const struct acme_identifier *b)
{
	return a->type == b->type && strcasecmp(a->value, b->value) == 0;
}

size_t
acme_identifier_dedup(struct acme_identifier *ids, size_t n)
{
	size_t i, j, kept = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < kept; j++)
			if (acme_identifier_equal(&ids[i], &ids[j]))
				break;
		if (j < kept)
			continue;
		if (kept != i)
			ids[kept] = ids[i];
		kept++;
	}
	return kept;
}

static int
acme_identifier_in(const struct acme_identifier *id,
    const struct acme_identifier *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (acme_identifier_equal(id, &set[i]))
			return 1;
	return 0;
}

int
acme_identifiers_compare(const struct acme_identifier *order, size_t norder,
    const struct acme_identifier *csr, size_t ncsr, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < norder; i++) {
		if (!acme_identifier_in(&order[i], csr, ncsr)) {
			snprintf(err, errlen, "CSR does not contain %s \"%s\" "
			    "of the order", acme_identifier_type_name(
			    order[i].type), order[i].value);
			return -1;
		}
	}
	for (i = 0; i < ncsr; i++) {
		if (!acme_identifier_in(&csr[i], order, norder)) {
			snprintf(err, errlen, "CSR contains %s \"%s\", which "
			    "is not an identifier of the order",
			    acme_identifier_type_name(csr[i].type),
			    csr[i].value);
			return -1;
		}
	}
	return 0;
}

int
acme_challenge_fits(const char *challenge_type,
    const struct acme_identifier *id)
{
	if (strcmp(challenge_type, "dns-01") == 0)
		return id->type == ACME_ID_DNS;
	if (id->wildcard)
		return 0;
	if (strcmp(challenge_type, "device-attest-01") == 0)
		return 0;
	return 1;
}

/* Characters RFC 5322 allows in an unquoted local part (atext and '.'). */
static int
acme_mailto_local_char(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=^_`{|}~.", c) != NULL;
}

int
acme_contact_check(const char *contact, char *err, size_t errlen)
{
	const char *addr, *at, *p;
	char domain[DNS_NAME_MAX + 1];
	size_t len = strlen(contact), i, dlen;

	if (len > ACME_CONTACT_MAX_LEN) {
		snprintf(err, errlen, "contact longer than %d bytes",
		    ACME_CONTACT_MAX_LEN);
		return -1;
	}
	if (strncasecmp(contact, "mailto:", 7) != 0) {
		snprintf(err, errlen, "only mailto: contacts are supported");
		return -2;
	}
	addr = contact + 7;
	if (strchr(addr, '?') != NULL) {
		snprintf(err, errlen, "mailto contact must not carry header "
		    "fields (\"?\")");
		return -1;
	}
	if (strchr(addr, ',') != NULL) {
		snprintf(err, errlen, "mailto contact must name one address");
		return -1;
	}
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL ||
	    at == addr) {
		snprintf(err, errlen, "mailto contact must be one address of "
		    "the form local@domain");
		return -1;
	}
	for (p = addr; p < at; p++) {
		if (!acme_mailto_local_char((unsigned char)*p)) {
			snprintf(err, errlen, "mailto contact has a character "
			    "that is not allowed in the local part");
			return -1;
		}
	}
	dlen = strlen(at + 1);
	if (dlen == 0 || dlen > DNS_NAME_MAX) {
		snprintf(err, errlen, "mailto contact has an empty or too long "
		    "domain");
		return -1;
	}
	for (i = 0; i <= dlen; i++)
		domain[i] = (char)tolower((unsigned char)at[1 + i]);
	if (acme_dns_name_check(domain, err, errlen) == -1)
		return -1;
	return 0;
}

/* Read exactly n decimal digits. */
static int
acme_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
acme_days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int
acme_time_parse(const char *text, time_t *out)
{
	const char *p = text;
	struct tm tm;
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	*out = 0;
	if (acme_digits(&p, 4, &year) == -1 || *p++ != '-' ||
	    acme_digits(&p, 2, &mon) == -1 || *p++ != '-' ||
	    acme_digits(&p, 2, &day) == -1 || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if (acme_digits(&p, 2, &hour) == -1 || *p++ != ':' ||
	    acme_digits(&p, 2, &min) == -1 || *p++ != ':' ||
	    acme_digits(&p, 2, &sec) == -1)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (acme_digits(&p, 2, &oh) == -1 || *p++ != ':' ||
		    acme_digits(&p, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*p != '\0')
		return -1;

	/* Second 60 is a leap second (RFC 3339 section 5.7); timegm()
	 * carries it into the next minute. */
	if (mon < 1 || mon > 12 || day < 1 ||
	    day > acme_days_in_month(year, mon) || hour > 23 || min > 59 ||
	    sec > 60)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*out = t - sign * (time_t)(oh * 3600 + om * 60);
	return 0;
}

void
acme_time_format(time_t t, char buf[ACME_TIME_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, ACME_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, ACME_TIME_LEN, "1970-01-01T00:00:00Z");
}

/* Split "ADDR/LEN" or "ADDR" into the address bytes and prefix length.
 * Returns the family (AF_INET, AF_INET6) or -1. */
static int
acme_cidr_parse(const char *text, unsigned char addr[16], int *prefix)
{
	char buf[INET6_ADDRSTRLEN + 4], *slash, *end;
	int family;
	long bits;

	if (strlen(text) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", text);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(family, buf, addr) != 1)
		return -1;
	*prefix = family == AF_INET ? 32 : 128;
	if (slash == NULL)
		return family;
	if (*slash < '0' || *slash > '9')
		return -1;
	bits = strtol(slash, &end, 10);
	if (*end != '\0' || bits < 0 || bits > *prefix)
		return -1;
	*prefix = (int)bits;
	return family;
}

static int
acme_prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int
acme_policy_pattern_check(const char *pattern, char *err, size_t errlen)
{
	struct acme_identifier id;
	unsigned char addr[16];
	char reason[256];
	int prefix;

	if (pattern == NULL || pattern[0] == '\0') {
		snprintf(err, errlen, "empty pattern");
		return -1;
	}
	if (strchr(pattern, '/') != NULL || strchr(pattern, ':') != NULL ||
	    acme_cidr_parse(pattern, addr, &prefix) != -1) {
		if (acme_cidr_parse(pattern, addr, &prefix) == -1) {
			snprintf(err, errlen, "\"%s\" is not an IP address or "
			    "CIDR range such as 10.0.0.0/8 or 2001:db8::/32",
			    pattern);
			return -1;
		}
		return 0;
	}
	if (acme_identifier_parse("dns", pattern, &id, reason,
	    sizeof(reason)) != 0) {
		snprintf(err, errlen, "\"%s\" is not a DNS name, \"*.\" and a "
		    "DNS name, or a CIDR range: %s", pattern, reason);
		return -1;
	}
	return 0;
}

/* 1 when name is base or a name below base (both lower-case). */
static int
acme_dns_under(const char *name, const char *base, int or_equal)
{
	size_t n = strlen(name), b = strlen(base);

	if (n == b)
		return or_equal && strcmp(name, base) == 0;
	return n > b && name[n - b - 1] == '.' &&
	    strcmp(name + n - b, base) == 0;
}

int
acme_policy_match(const char *pattern, const struct acme_identifier *id)
{
	struct acme_identifier pat;
	unsigned char want[16], have[16];
	char err[256];
	int family, prefix;

	if (id->type == ACME_ID_IP) {
		family = acme_cidr_parse(pattern, want, &prefix);
		if (family == -1 || inet_pton(family, id->value, have) != 1)
			return 0;
		return acme_prefix_equal(want, have, prefix);
	}
	if (strchr(pattern, '/') != NULL || strchr(pattern, ':') != NULL ||
	    acme_identifier_parse("dns", pattern, &pat, err,
	    sizeof(err)) != 0)
		return 0;
	if (!pat.wildcard)
		return strcmp(pat.value, id->value) == 0;
	/* "*.P" covers every name below P, and a wildcard "*.B" when B is P
	 * or below it. */
	return acme_dns_under(id->value + (id->wildcard ? 2 : 0),
	    pat.value + 2, id->wildcard);
}
