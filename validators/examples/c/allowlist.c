/*
 * Example validator plugin on the validator runtime: the "allowlist-01"
 * challenge type, the same one that validators/examples/python serves.
 * A validation is valid when the identifier is listed in the operator's
 * allow-list file and, where the line names an account key thumbprint,
 * the request comes from that account.  It proves the operator's
 * approval, not control of the name, so the ACME client sets nothing up.
 *
 * File format, one entry per line, '#' starts a comment:
 *     NAME-OR-IP-ADDRESS [ACCOUNT-THUMBPRINT]
 *
 * Interface: ca-validator-example-allowlist --allow-list FILE
 * [--listen PATH].  main() reads the file before runtime_main() sets up
 * the socket and the sandbox, because the sandbox may forbid opening
 * files later; restart the plugin to reload the list.
 *
 * Errors: a missing or malformed allow-list file is fatal at start (exit
 * status 2).  Each validation ends in a result: rejectedIdentifier for a
 * name that is not listed, unauthorized for another account's name,
 * malformed for an identifier that is not a DNS name or IP address.
 * Protocol errors belong to the runtime, which closes the connection.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "runtime.h"

#define ALLOW_NAME		"ca-validator-example-allowlist"
#define ALLOW_VERSION		"1.0.0"
#define ALLOW_TYPE		"allowlist-01"
#define ALLOW_MAX_ENTRIES	100000
#define ALLOW_MAX_LINE		1024
#define ALLOW_MAX_THUMBPRINT	128
#define ALLOW_MAX_ARGS		16
#define PROBLEM_REJECTED_IDENTIFIER \
	"urn:ietf:params:acme:error:rejectedIdentifier"

struct allow_entry {
	char	*name;		/* canonical: lower case, or inet_ntop() */
	char	*thumbprint;	/* NULL: any account */
	int	 line;
};

static struct allow_entry *allow_entries;
static size_t allow_nentries;

/* Canonical text of an identifier into out: inet_ntop() form for an IP
 * address, lower case for a DNS name.  Returns 0, or -1 when value is
 * neither. */
static int
allow_canonical(const char *value, int want_ip, char *out, size_t outlen)
{
	unsigned char addr[16];
	int family;
	size_t i, len = strlen(value);

	if (check_ip(value, &family)) {
		if (!want_ip || inet_pton(family, value, addr) != 1 ||
		    inet_ntop(family, addr, out, (socklen_t)outlen) == NULL)
			return -1;
		return 0;
	}
	if (want_ip || len >= outlen)
		return -1;
	for (i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)value[i]);
	return check_dns_name(out) ? 0 : -1;
}

static const struct allow_entry *
allow_find(const char *name)
{
	size_t i;

	for (i = 0; i < allow_nentries; i++)
		if (strcmp(allow_entries[i].name, name) == 0)
			return &allow_entries[i];
	return NULL;
}

/* Parse one line into *e.  Returns 1 for an entry, 0 for a blank or
 * comment line, -1 when the line is malformed. */
static int
allow_parse_line(char *line, int number, struct allow_entry *e)
{
	char canon[VALIDATION_MAX_IDENTIFIER_LEN + 1], *name, *thumb, *extra;
	char *save = NULL;

	line[strcspn(line, "#\r\n")] = '\0';
	if ((name = strtok_r(line, " \t", &save)) == NULL)
		return 0;
	thumb = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (extra != NULL || (thumb != NULL &&
	    strlen(thumb) > ALLOW_MAX_THUMBPRINT))
		return -1;
	if (allow_canonical(name, 0, canon, sizeof(canon)) == -1 &&
	    allow_canonical(name, 1, canon, sizeof(canon)) == -1)
		return -1;
	memset(e, 0, sizeof(*e));
	e->line = number;
	if ((e->name = strdup(canon)) == NULL ||
	    (thumb != NULL && (e->thumbprint = strdup(thumb)) == NULL)) {
		free(e->name);
		return -1;
	}
	return 1;
}

/* Read the allow-list file.  Returns 0, or -1 after printing why. */
static int
allow_load(const char *path)
{
	char line[ALLOW_MAX_LINE + 2];
	struct allow_entry e;
	FILE *f;
	int number = 0, r, ret = -1;

	if ((f = fopen(path, "re")) == NULL) {
		vlog(VLOG_ERROR, "cannot open the allow-list %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((allow_entries = calloc(ALLOW_MAX_ENTRIES,
	    sizeof(*allow_entries))) == NULL) {
		vlog(VLOG_ERROR, "out of memory");
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		number++;
		if (strlen(line) > ALLOW_MAX_LINE) {
			vlog(VLOG_ERROR, "%s:%d: line longer than %d bytes",
			    path, number, ALLOW_MAX_LINE);
			goto out;
		}
		if ((r = allow_parse_line(line, number, &e)) == -1) {
			vlog(VLOG_ERROR, "%s:%d: expected a DNS name or IP "
			    "address, optionally followed by an account "
			    "thumbprint", path, number);
			goto out;
		}
		if (r == 0)
			continue;
		if (allow_nentries == ALLOW_MAX_ENTRIES) {
			vlog(VLOG_ERROR, "%s: more than %d entries", path,
			    ALLOW_MAX_ENTRIES);
			free(e.name);
			free(e.thumbprint);
			goto out;
		}
		allow_entries[allow_nentries++] = e;
	}
	if (ferror(f)) {
		vlog(VLOG_ERROR, "reading %s failed", path);
		goto out;
	}
	vlog(VLOG_INFO, "loaded %zu allow-list entries from %s",
	    allow_nentries, path);
	ret = 0;
 out:
	fclose(f);
	return ret;
}

static void
allow_start(struct validation *v)
{
	const struct validation_request *req = validation_request(v);
	const struct allow_entry *e;
	struct json_object *records, *record;
	char canon[VALIDATION_MAX_IDENTIFIER_LEN + 1];
	char detail[VALIDATION_MAX_IDENTIFIER_LEN * 4 + 100];
	char shown[VALIDATION_MAX_IDENTIFIER_LEN * 4 + 8];

	escape_text((const uint8_t *)req->identifier, strlen(req->identifier),
	    VALIDATION_MAX_IDENTIFIER_LEN, shown, sizeof(shown));
	if (strcmp(req->challenge_type, ALLOW_TYPE) != 0) {
		validation_finish(v, VALIDATION_INVALID, PROBLEM_MALFORMED,
		    "this validator serves " ALLOW_TYPE " only", NULL);
		return;
	}
	if (req->identifier_type == IDENTIFIER_OTHER) {
		validation_finish(v, VALIDATION_INVALID,
		    PROBLEM_REJECTED_IDENTIFIER, ALLOW_TYPE " validates dns "
		    "and ip identifiers only", NULL);
		return;
	}
	if (allow_canonical(req->identifier,
	    req->identifier_type == IDENTIFIER_IP, canon,
	    sizeof(canon)) == -1) {
		snprintf(detail, sizeof(detail), "\"%s\" is not a valid %s "
		    "identifier", shown, req->identifier_type_name);
		validation_finish(v, VALIDATION_INVALID, PROBLEM_MALFORMED,
		    detail, NULL);
		return;
	}
	if ((e = allow_find(canon)) == NULL) {
		validation_log(v, VLOG_INFO, "not on the allow-list");
		snprintf(detail, sizeof(detail), "%s is not on the operator's "
		    "allow-list", canon);
		validation_finish(v, VALIDATION_INVALID,
		    PROBLEM_REJECTED_IDENTIFIER, detail, NULL);
		return;
	}
	if (e->thumbprint != NULL && (req->account_thumbprint == NULL ||
	    strcmp(e->thumbprint, req->account_thumbprint) != 0)) {
		validation_log(v, VLOG_INFO, "listed for another account");
		snprintf(detail, sizeof(detail), "%s is on the allow-list for "
		    "a different ACME account", canon);
		validation_finish(v, VALIDATION_INVALID, PROBLEM_UNAUTHORIZED,
		    detail, NULL);
		return;
	}

	validation_log(v, VLOG_INFO, "allowed by line %d", e->line);
	records = json_object_new_array();
	record = json_object_new_object();
	if (records != NULL && record != NULL &&
	    json_object_object_add(record, "hostname",
	    json_object_new_string(canon)) == 0 &&
	    json_object_object_add(record, "allow_list_line",
	    json_object_new_int(e->line)) == 0 &&
	    json_object_array_add(records, record) == 0)
		record = NULL;
	json_object_put(record);
	validation_finish(v, VALIDATION_VALID, NULL, NULL, records);
}

static void
allow_stop(void)
{
	size_t i;

	for (i = 0; i < allow_nentries; i++) {
		free(allow_entries[i].name);
		free(allow_entries[i].thumbprint);
	}
	free(allow_entries);
	allow_entries = NULL;
	allow_nentries = 0;
}

static const char *const allow_types[] = { ALLOW_TYPE };

static const struct validator allow_validator = {
	.name = ALLOW_NAME,
	.version = ALLOW_VERSION,
	.challenge_types = allow_types,
	.nchallenge_types = 1,
	.start = allow_start,
	.stop = allow_stop,
};

int
main(int argc, char **argv)
{
	char *rest[ALLOW_MAX_ARGS + 1];
	const char *path = NULL;
	int i, n = 0;

	vlog_init(ALLOW_NAME);

	/* Take --allow-list FILE out and hand the rest to the runtime. */
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--allow-list") == 0 && i + 1 < argc) {
			path = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "--allow-list=", 13) == 0) {
			path = argv[i] + 13;
			continue;
		}
		if (n == ALLOW_MAX_ARGS) {
			fprintf(stderr, "%s: too many arguments\n", ALLOW_NAME);
			return 2;
		}
		rest[n++] = argv[i];
	}
	rest[n] = NULL;
	if (path == NULL) {
		for (i = 1; i < n; i++)
			if (strcmp(rest[i], "--help") == 0 ||
			    strcmp(rest[i], "--version") == 0)
				return runtime_main(&allow_validator, n, rest);
		fprintf(stderr, "usage: %s --allow-list FILE [--listen PATH]\n",
		    ALLOW_NAME);
		return 2;
	}
	if (allow_load(path) == -1) {
		allow_stop();
		return 2;
	}
	return runtime_main(&allow_validator, n, rest);
}
