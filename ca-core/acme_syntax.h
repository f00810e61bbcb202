/*
 * Syntax of values that ACME clients send, checked without I/O: order
 * identifiers (RFC 8555 section 7.1.3, RFC 8738 for IP addresses),
 * account contacts, RFC 3339 timestamps, and the comparison between an
 * order's identifiers and the names in a CSR.  Linked into libcommon so
 * that unit tests reach it.
 */
#ifndef CA_ACME_SYNTAX_H
#define CA_ACME_SYNTAX_H

#include <stddef.h>
#include <time.h>

enum acme_identifier_type { ACME_ID_DNS = 1, ACME_ID_IP };

/* A DNS name is at most 253 bytes; "*." may precede it. */
#define ACME_ID_VALUE_MAX	(253 + 2 + 1)
/* "YYYY-MM-DDTHH:MM:SSZ" plus NUL. */
#define ACME_TIME_LEN		21
#define ACME_CONTACT_MAX_LEN	254

struct acme_identifier {
	enum acme_identifier_type type;
	/* Normalized: a lower-case DNS name (with "*." for a wildcard), or
	 * an IP address as inet_ntop() prints it. */
	char	value[ACME_ID_VALUE_MAX];
	int	wildcard;
};

/* Check and normalize one identifier of ACME type type_name ("dns" or
 * "ip").  Returns 0 and fills *out, -1 with a reason in err when the value
 * is invalid, or -2 when the type is not supported. */
int	 acme_identifier_parse(const char *type_name, const char *value,
	    struct acme_identifier *out, char *err, size_t errlen);

/* "dns" or "ip". */
const char	*acme_identifier_type_name(enum acme_identifier_type);

/* Remove later duplicates from ids in place, keeping the first order.
 * Returns the new count. */
size_t	 acme_identifier_dedup(struct acme_identifier *ids, size_t n);

/* Compare the identifiers of an order with the names found in a CSR, both
 * normalized, as sets.  Returns 0 when they are equal, or -1 with a
 * detail naming the first missing or extra name in err. */
int	 acme_identifiers_compare(const struct acme_identifier *order,
	    size_t norder, const struct acme_identifier *csr, size_t ncsr,
	    char *err, size_t errlen);

/* Classify a name taken from a CSR (a dNSName, or a subject CN that may
 * be an IP address text): an IP text becomes ACME_ID_IP, anything else a
 * lower-cased DNS name, checked like an order identifier.  Returns 0 or -1
 * with a reason in err. */
int	 acme_identifier_from_name(const char *name,
	    struct acme_identifier *out, char *err, size_t errlen);

/* 1 when a challenge of type challenge_type can prove control of id:
 * http-01 and tls-alpn-01 for non-wildcard DNS names and IP addresses,
 * dns-01 for DNS names, any other type except device-attest-01 for both
 * except wildcards, which only dns-01 can prove. */
int	 acme_challenge_fits(const char *challenge_type,
	    const struct acme_identifier *id);

/* Check one account contact URL: "mailto:" and one address whose domain
 * is a valid DNS name, no "?" header fields, no spaces or control bytes.
 * Returns 0, -1 with a reason in err for an invalid mailto URL, or -2 for
 * a scheme other than mailto. */
int	 acme_contact_check(const char *contact, char *err, size_t errlen);

/* Check a name-policy pattern of a provisioner's "allow" or "deny" list.
 * A pattern is a DNS name ("host.example.test"), a DNS name under a
 * wildcard label ("*.example.test"), an IP address, or an IP range in
 * CIDR notation ("10.0.0.0/8", "2001:db8::/32").  "*.example.test"
 * matches every name below example.test but not example.test itself.
 * Returns 0, or -1 with a reason in err. */
int	 acme_policy_pattern_check(const char *pattern, char *err,
	    size_t errlen);

/* 1 when the normalized identifier id falls under pattern, 0 when not or
 * when pattern is invalid.  A wildcard identifier "*.B" falls under
 * "*.P" when B is P or below P, and under an exact pattern only when the
 * pattern is "*.B" itself. */
int	 acme_policy_match(const char *pattern,
	    const struct acme_identifier *id);

/* Parse an RFC 3339 date-time ("2024-05-01T10:00:00Z",
 * "2024-05-01t12:00:00.25+02:00").  Fractions of a second are dropped.
 * Returns 0 and the time in *out, or -1. */
int	 acme_time_parse(const char *text, time_t *out);

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into buf (ACME_TIME_LEN bytes). */
void	 acme_time_format(time_t t, char buf[ACME_TIME_LEN]);

#endif
