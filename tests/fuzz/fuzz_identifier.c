/*
 * libFuzzer target for ca-core/acme_syntax.c.  The first input byte picks
 * the function, and the rest is the client's text:
 *   0  acme_identifier_parse("dns", ...)
 *   1  acme_identifier_parse("ip", ...)
 *   2  acme_identifier_from_name(), as for a name from a CSR
 *   3  acme_time_parse(), an RFC 3339 date-time
 *   4  acme_contact_check(), a mailto contact
 *   5  acme_policy_pattern_check() and acme_policy_match()
 * Normalization must be idempotent: an accepted identifier parses again
 * to itself.  A time from 1970 to 9999 must survive acme_time_format()
 * and a second parse.  Every rejection must come with a reason.
 */
#include <time.h>

#include "acme_syntax.h"
#include "fuzz.h"

/* 9999-12-31T23:59:59Z, the last time that acme_time_format() prints
 * with a four-digit year. */
#define FUZZ_TIME_MAX	((time_t)253402300799LL)

static void
fuzz_check_identifier(const struct acme_identifier *id)
{
	struct acme_identifier again;
	char err[256];

	FUZZ_ASSERT(id->type == ACME_ID_DNS || id->type == ACME_ID_IP);
	FUZZ_ASSERT(memchr(id->value, '\0', sizeof(id->value)) != NULL);
	FUZZ_ASSERT(id->wildcard == (strncmp(id->value, "*.", 2) == 0));
	FUZZ_ASSERT(id->type == ACME_ID_DNS || !id->wildcard);
	FUZZ_ASSERT(acme_identifier_parse(acme_identifier_type_name(id->type),
	    id->value, &again, err, sizeof(err)) == 0);
	FUZZ_ASSERT(again.type == id->type && again.wildcard == id->wildcard);
	FUZZ_ASSERT(strcmp(again.value, id->value) == 0);

	/* dns-01 proves every DNS name, and nothing proves a wildcard
	 * except dns-01. */
	FUZZ_ASSERT(acme_challenge_fits("dns-01", id) ==
	    (id->type == ACME_ID_DNS));
	FUZZ_ASSERT(acme_challenge_fits("http-01", id) == !id->wildcard);
}

static void
fuzz_identifier(int mode, const char *text)
{
	struct acme_identifier id;
	char err[256];
	int rc;

	err[0] = '\0';
	if (mode == 0)
		rc = acme_identifier_parse("dns", text, &id, err, sizeof(err));
	else if (mode == 1)
		rc = acme_identifier_parse("ip", text, &id, err, sizeof(err));
	else
		rc = acme_identifier_from_name(text, &id, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc == -1);
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		return;
	}
	FUZZ_ASSERT(mode != 0 || id.type == ACME_ID_DNS);
	FUZZ_ASSERT(mode != 1 || id.type == ACME_ID_IP);
	fuzz_check_identifier(&id);
}

static void
fuzz_time(const char *text)
{
	char buf[ACME_TIME_LEN];
	time_t t, again;

	if (acme_time_parse(text, &t) == -1) {
		FUZZ_ASSERT(t == 0);
		return;
	}
	if (t < 0 || t > FUZZ_TIME_MAX)
		return;
	acme_time_format(t, buf);
	FUZZ_ASSERT(strlen(buf) == ACME_TIME_LEN - 1);
	FUZZ_ASSERT(acme_time_parse(buf, &again) == 0);
	FUZZ_ASSERT(again == t);
}

static void
fuzz_contact(const char *text)
{
	char err[256];
	int rc;

	err[0] = '\0';
	rc = acme_contact_check(text, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1 || rc == -2);
	if (rc != 0)
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
	else
		FUZZ_ASSERT(strlen(text) <= ACME_CONTACT_MAX_LEN);
}

/* Identifiers to match a fuzzed pattern against. */
static const struct {
	const char	*type;
	const char	*value;
} fuzz_policy_ids[] = {
	{ "dns", "a.test" },
	{ "dns", "b.a.test" },
	{ "dns", "*.a.test" },
	{ "ip", "10.1.2.3" },
	{ "ip", "2001:db8::1" },
};

static void
fuzz_policy(const char *pattern)
{
	struct acme_identifier id;
	char err[256];
	size_t i;
	int valid, match;

	err[0] = '\0';
	valid = acme_policy_pattern_check(pattern, err, sizeof(err)) == 0;
	if (!valid)
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
	for (i = 0; i < sizeof(fuzz_policy_ids) / sizeof(fuzz_policy_ids[0]);
	    i++) {
		FUZZ_ASSERT(acme_identifier_parse(fuzz_policy_ids[i].type,
		    fuzz_policy_ids[i].value, &id, err, sizeof(err)) == 0);
		match = acme_policy_match(pattern, &id);
		FUZZ_ASSERT(match == 0 || match == 1);

		/* The header promises 0 for an invalid pattern. */
		FUZZ_ASSERT(valid || match == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	int mode;

	if (size == 0)
		return 0;
	mode = data[0] % 6;
	text = fuzz_strndup(data + 1, size - 1);
	switch (mode) {
	case 0:
	case 1:
	case 2:
		fuzz_identifier(mode, text);
		break;
	case 3:
		fuzz_time(text);
		break;
	case 4:
		fuzz_contact(text);
		break;
	default:
		fuzz_policy(text);
		break;
	}
	free(text);
	return 0;
}
