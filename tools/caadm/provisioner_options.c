/*
 * Provisioner options as command-line flags of caadm provisioner add and
 * update.
 *
 * Interface: provisioner_options.h.  Each flag sets one key of the JSON
 * object that ca-core reads per request: "challenges", "allow", "deny",
 * "caa_identities" (arrays of strings), "default_duration_seconds",
 * "min_duration_seconds", "max_duration_seconds" (integers),
 * "force_cn", "require_eab" (booleans), "terms_of_service", "website"
 * (strings).  A value that does not parse is a usage error (exit status
 * 2) with a message that names the value and the expected form; nothing
 * here touches the database.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme_syntax.h"
#include "provisioner_options.h"

/* Lifetimes ca-core accepts: a minute to ten years. */
#define DURATION_MIN		60LL
#define DURATION_MAX		(10LL * 365 * 24 * 3600)
/* Defaults of ca-core for absent options. */
#define DEFAULT_DURATION	(24LL * 3600)
#define DEFAULT_MAX_DURATION	(24LL * 3600)
#define URL_MAX			1024
#define CHALLENGE_TYPE_MAX	64

enum {
	FLAG_CHALLENGE = 256,
	FLAG_NO_CHALLENGES,
	FLAG_DEFAULT_DURATION,
	FLAG_MIN_DURATION,
	FLAG_MAX_DURATION,
	FLAG_FORCE_CN,
	FLAG_NO_FORCE_CN,
	FLAG_REQUIRE_EAB,
	FLAG_NO_REQUIRE_EAB,
	FLAG_ALLOW,
	FLAG_NO_ALLOW,
	FLAG_DENY,
	FLAG_NO_DENY,
	FLAG_TERMS,
	FLAG_NO_TERMS,
	FLAG_WEBSITE,
	FLAG_NO_WEBSITE,
	FLAG_CAA,
	FLAG_NO_CAA
};

const struct option provisioner_option_flags[] = {
	{ "challenge", required_argument, NULL, FLAG_CHALLENGE },
	{ "no-challenges", no_argument, NULL, FLAG_NO_CHALLENGES },
	{ "default-duration", required_argument, NULL, FLAG_DEFAULT_DURATION },
	{ "min-duration", required_argument, NULL, FLAG_MIN_DURATION },
	{ "max-duration", required_argument, NULL, FLAG_MAX_DURATION },
	{ "force-cn", no_argument, NULL, FLAG_FORCE_CN },
	{ "no-force-cn", no_argument, NULL, FLAG_NO_FORCE_CN },
	{ "require-eab", no_argument, NULL, FLAG_REQUIRE_EAB },
	{ "no-require-eab", no_argument, NULL, FLAG_NO_REQUIRE_EAB },
	{ "allow", required_argument, NULL, FLAG_ALLOW },
	{ "no-allow", no_argument, NULL, FLAG_NO_ALLOW },
	{ "deny", required_argument, NULL, FLAG_DENY },
	{ "no-deny", no_argument, NULL, FLAG_NO_DENY },
	{ "terms-of-service", required_argument, NULL, FLAG_TERMS },
	{ "no-terms-of-service", no_argument, NULL, FLAG_NO_TERMS },
	{ "website", required_argument, NULL, FLAG_WEBSITE },
	{ "no-website", no_argument, NULL, FLAG_NO_WEBSITE },
	{ "caa-identity", required_argument, NULL, FLAG_CAA },
	{ "no-caa-identity", no_argument, NULL, FLAG_NO_CAA },
	{ NULL, 0, NULL, 0 }
};

const char provisioner_option_help[] =
    "ACME options (add and update; a list flag replaces the stored list):\n"
    "  --challenge TYPE          offer this challenge type (repeatable);\n"
    "                            default: every type a validator serves\n"
    "  --no-challenges           back to the default challenge types\n"
    "  --default-duration D      certificate lifetime when the order names\n"
    "                            none (default 24h)\n"
    "  --min-duration D          shortest lifetime an order may request\n"
    "                            (default 1m)\n"
    "  --max-duration D          longest lifetime an order may request\n"
    "                            (default 24h or the default duration)\n"
    "                            D is a number with a unit s, m, h or d,\n"
    "                            e.g. 90m or 30d; 1m to 3650d\n"
    "  --force-cn, --no-force-cn put the first DNS name into the subject\n"
    "                            CN when the CSR has no CN (default off)\n"
    "  --require-eab, --no-require-eab\n"
    "                            require External Account Binding for new\n"
    "                            accounts (keys: caadm eab add)\n"
    "  --allow PATTERN           allow only names matching a pattern\n"
    "                            (repeatable); --no-allow clears the list\n"
    "  --deny PATTERN            reject names matching a pattern\n"
    "                            (repeatable; wins over --allow);\n"
    "                            --no-deny clears the list.  A PATTERN is\n"
    "                            a DNS name, *.DOMAIN for every name below\n"
    "                            DOMAIN, an IP address or a CIDR range\n"
    "  --terms-of-service URL    terms that new accounts must agree to\n"
    "  --website URL             website shown in the directory\n"
    "  --caa-identity NAME       CAA issuer domain shown in the directory\n"
    "                            (repeatable)\n"
    "  --no-terms-of-service, --no-website, --no-caa-identity\n"
    "                            remove that entry\n";

static int
options_usage(const char *fmt, const char *value)
{
	fprintf(stderr, "caadm provisioner: ");
	fprintf(stderr, fmt, value);
	fputc('\n', stderr);
	return 2;
}

/* Parse "90", "90s", "15m", "24h", "30d" into seconds.  Returns 0 or -1. */
static int
options_parse_duration(const char *text, long long *out)
{
	char *end;
	long long v, unit = 1;

	if (!isdigit((unsigned char)text[0]) || strlen(text) > 12)
		return -1;
	v = strtoll(text, &end, 10);
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 24 * 3600; break;
		default: return -1;
		}
	}
	*out = v * unit;
	return 0;
}

void
provisioner_duration_format(long long seconds, char *buf, size_t len)
{
	if (seconds % (24 * 3600) == 0)
		snprintf(buf, len, "%lldd", seconds / (24 * 3600));
	else if (seconds % 3600 == 0)
		snprintf(buf, len, "%lldh", seconds / 3600);
	else if (seconds % 60 == 0)
		snprintf(buf, len, "%lldm", seconds / 60);
	else
		snprintf(buf, len, "%llds", seconds);
}

static int
options_set_duration(struct provisioner_edit *e, const char *key,
    const char *flag, const char *value)
{
	long long seconds;

	if (options_parse_duration(value, &seconds) == -1) {
		fprintf(stderr, "caadm provisioner: --%s \"%s\" is not a "
		    "duration; use a number with a unit s, m, h or d, such "
		    "as 90m or 30d\n", flag, value);
		return 2;
	}
	if (seconds < DURATION_MIN || seconds > DURATION_MAX) {
		fprintf(stderr, "caadm provisioner: --%s %s is outside the "
		    "accepted range; use 1m to 3650d\n", flag, value);
		return 2;
	}
	json_object_object_add(e->options, key, json_object_new_int64(seconds));
	return 0;
}

static int
options_check_url(const char *flag, const char *value)
{
	const char *host = NULL;
	size_t i;

	if (strncmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		host = value + 7;
	if (host == NULL || *host == '\0' || *host == '/' ||
	    strlen(value) > URL_MAX) {
		fprintf(stderr, "caadm provisioner: --%s \"%s\" is not an "
		    "http:// or https:// URL of at most %d characters\n", flag,
		    value, URL_MAX);
		return 2;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if ((unsigned char)value[i] <= ' ' ||
		    (unsigned char)value[i] >= 0x7f || value[i] == '"') {
			fprintf(stderr, "caadm provisioner: --%s \"%s\" "
			    "contains a space, quote or non-ASCII character; "
			    "percent-encode it\n", flag, value);
			return 2;
		}
	}
	return 0;
}

static int
options_check_challenge(const char *value)
{
	size_t i, len = strlen(value);

	if (len == 0 || len > CHALLENGE_TYPE_MAX)
		return options_usage("--challenge \"%s\" is not a challenge "
		    "type such as http-01, dns-01 or tls-alpn-01", value);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (!islower(c) && !isdigit(c) && c != '-')
			return options_usage("--challenge \"%s\" is not a "
			    "challenge type; use lower-case letters, digits "
			    "and '-', such as http-01 or dns-01", value);
	}
	return 0;
}

/* Append value to the array key, replacing the stored array at the
 * first use in this command. */
static int
options_list_add(struct provisioner_edit *e, const char *key, int *seen,
    const char *value)
{
	struct json_object *list;

	if (!*seen || !json_object_object_get_ex(e->options, key, &list) ||
	    !json_object_is_type(list, json_type_array)) {
		if ((list = json_object_new_array()) == NULL)
			return 1;
		json_object_object_add(e->options, key, list);
		*seen = 1;
	}
	return json_object_array_add(list, json_object_new_string(value)) ==
	    0 ? 0 : 1;
}

static int
options_pattern(struct provisioner_edit *e, const char *key, int *seen,
    const char *flag, const char *value)
{
	char err[512];

	if (acme_policy_pattern_check(value, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm provisioner: --%s: %s\n", flag, err);
		return 2;
	}
	return options_list_add(e, key, seen, value);
}

static int
options_caa(struct provisioner_edit *e, const char *value)
{
	struct acme_identifier id;
	char err[256];

	if (acme_identifier_parse("dns", value, &id, err, sizeof(err)) != 0 ||
	    id.wildcard) {
		fprintf(stderr, "caadm provisioner: --caa-identity \"%s\" is "
		    "not a DNS name such as ca.example.test\n", value);
		return 2;
	}
	return options_list_add(e, "caa_identities", &e->seen_caa, id.value);
}

int
provisioner_edit_apply(struct provisioner_edit *e, int code,
    const char *value)
{
	struct json_object *o = e->options;

	switch (code) {
	case FLAG_CHALLENGE:
		if (options_check_challenge(value) != 0)
			return 2;
		return options_list_add(e, "challenges", &e->seen_challenge,
		    value);
	case FLAG_NO_CHALLENGES:
		json_object_object_del(o, "challenges");
		return 0;
	case FLAG_DEFAULT_DURATION:
		return options_set_duration(e, "default_duration_seconds",
		    "default-duration", value);
	case FLAG_MIN_DURATION:
		return options_set_duration(e, "min_duration_seconds",
		    "min-duration", value);
	case FLAG_MAX_DURATION:
		return options_set_duration(e, "max_duration_seconds",
		    "max-duration", value);
	case FLAG_FORCE_CN:
	case FLAG_NO_FORCE_CN:
		json_object_object_add(o, "force_cn",
		    json_object_new_boolean(code == FLAG_FORCE_CN));
		return 0;
	case FLAG_REQUIRE_EAB:
	case FLAG_NO_REQUIRE_EAB:
		json_object_object_add(o, "require_eab",
		    json_object_new_boolean(code == FLAG_REQUIRE_EAB));
		return 0;
	case FLAG_ALLOW:
		return options_pattern(e, "allow", &e->seen_allow, "allow",
		    value);
	case FLAG_NO_ALLOW:
		json_object_object_del(o, "allow");
		return 0;
	case FLAG_DENY:
		return options_pattern(e, "deny", &e->seen_deny, "deny", value);
	case FLAG_NO_DENY:
		json_object_object_del(o, "deny");
		return 0;
	case FLAG_TERMS:
	case FLAG_WEBSITE:
		if (options_check_url(code == FLAG_TERMS ? "terms-of-service" :
		    "website", value) != 0)
			return 2;
		json_object_object_add(o, code == FLAG_TERMS ?
		    "terms_of_service" : "website",
		    json_object_new_string(value));
		return 0;
	case FLAG_NO_TERMS:
		json_object_object_del(o, "terms_of_service");
		return 0;
	case FLAG_NO_WEBSITE:
		json_object_object_del(o, "website");
		return 0;
	case FLAG_CAA:
		return options_caa(e, value);
	case FLAG_NO_CAA:
		json_object_object_del(o, "caa_identities");
		return 0;
	default:
		return options_usage("%s", "internal error: unknown option "
		    "code");
	}
}

static long long
options_seconds(struct json_object *options, const char *key, long long def)
{
	struct json_object *v;

	if (json_object_object_get_ex(options, key, &v) &&
	    json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return def;
}

int
provisioner_edit_check(const struct provisioner_edit *e)
{
	long long def, min, max;
	char a[32], b[32];

	def = options_seconds(e->options, "default_duration_seconds",
	    DEFAULT_DURATION);
	min = options_seconds(e->options, "min_duration_seconds", DURATION_MIN);
	max = options_seconds(e->options, "max_duration_seconds",
	    def > DEFAULT_MAX_DURATION ? def : DEFAULT_MAX_DURATION);
	if (min > max) {
		provisioner_duration_format(min, a, sizeof(a));
		provisioner_duration_format(max, b, sizeof(b));
		fprintf(stderr, "caadm provisioner: the minimum duration %s is "
		    "longer than the maximum %s; lower --min-duration or raise "
		    "--max-duration\n", a, b);
		return 2;
	}
	if (def < min || def > max) {
		provisioner_duration_format(def, a, sizeof(a));
		fprintf(stderr, "caadm provisioner: the default duration %s is "
		    "outside the minimum and maximum durations; set "
		    "--default-duration between them\n", a);
		return 2;
	}
	return 0;
}

static void
options_print_value(FILE *f, const char *key, struct json_object *value)
{
	char buf[32];
	size_t i, n;

	if (strstr(key, "_seconds") != NULL &&
	    json_object_is_type(value, json_type_int)) {
		provisioner_duration_format(json_object_get_int64(value), buf,
		    sizeof(buf));
		fprintf(f, "%.*s=%s", (int)(strlen(key) - strlen("_seconds")),
		    key, buf);
		return;
	}
	if (json_object_is_type(value, json_type_array)) {
		fprintf(f, "%s=", key);
		n = json_object_array_length(value);
		for (i = 0; i < n; i++)
			fprintf(f, "%s%s", i > 0 ? "," : "",
			    json_object_get_string(
			    json_object_array_get_idx(value, i)));
		return;
	}
	fprintf(f, "%s=%s", key, json_object_get_string(value));
}

void
provisioner_options_print(FILE *f, struct json_object *options)
{
	int first = 1;

	if (options == NULL || !json_object_is_type(options, json_type_object) ||
	    json_object_object_length(options) == 0) {
		fputs("-", f);
		return;
	}
	json_object_object_foreach(options, key, value) {
		if (!first)
			fputc(' ', f);
		first = 0;
		options_print_value(f, key, value);
	}
}
