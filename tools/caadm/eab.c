/*
 * caadm eab: External Account Binding keys of an ACME provisioner (RFC
 * 8555 section 7.3.4).
 *
 * Interface: cmd_eab() (caadm.h).  "add" creates a key id and a 32-byte
 * random HMAC key, stores them in the eab_keys table and prints the key
 * once, base64url-encoded, as ACME clients take it (certbot
 * --eab-hmac-key, lego --hmac).  The key is never shown again and the
 * process wipes its copies.  "list" shows ids, references and which
 * account a key is bound to; "remove" deletes a key (an account already
 * bound keeps working).  Exit status 0 on success, 1 on failure (unknown
 * provisioner or key, duplicate reference, database error), 2 on a usage
 * error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <libpq-fe.h>

#include "b64url.h"
#include "caadm.h"
#include "config.h"
#include "db.h"
#include "util.h"

#define EAB_KEY_BYTES		32
#define EAB_REFERENCE_MAX	128

static const char eab_usage[] =
    "usage: caadm eab add PROVISIONER [--reference REF]\n"
    "       caadm eab list PROVISIONER\n"
    "       caadm eab remove PROVISIONER KEY_ID\n\n"
    "Manage the External Account Binding keys of an ACME provisioner.  A\n"
    "client registers with a key id and its HMAC key (certbot --eab-kid\n"
    "and --eab-hmac-key, lego --eab --kid --hmac); each key binds to one\n"
    "account.  Require EAB with caadm provisioner update NAME --require-eab.\n\n"
    "  --reference REF  a label of up to 128 characters, unique within the\n"
    "                   provisioner, e.g. the name of the machine or team\n\n"
    "The HMAC key is printed once by add and cannot be shown again.\n";

static int
eab_usage_error(const char *fmt, const char *value)
{
	fprintf(stderr, "caadm eab: ");
	fprintf(stderr, fmt, value);
	fprintf(stderr, "\nRun caadm eab --help for the usage.\n");
	return 2;
}

/* The id of the ACME provisioner name, malloc'd, or NULL after a
 * message. */
static char *
eab_provisioner_id(PGconn *conn, const char *name)
{
	const char *params[1] = { name };
	char err[1024], *id = NULL;
	PGresult *res;

	if ((res = db_exec(conn, "SELECT id FROM provisioners WHERE name = $1 "
	    "AND type = 'ACME'", 1, params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm eab: %s\n", err);
		return NULL;
	}
	if (PQntuples(res) != 1)
		fprintf(stderr, "caadm eab: ACME provisioner \"%s\" not found; "
		    "run caadm provisioner list to see the names\n", name);
	else if ((id = strdup(PQgetvalue(res, 0, 0))) == NULL)
		fprintf(stderr, "caadm eab: out of memory\n");
	PQclear(res);
	return id;
}

/* Hex of a bytea literal ("\x..."), for a text parameter. */
static char *
eab_bytea_hex(const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s;
	size_t i;

	if ((s = malloc(2 + 2 * len + 1)) == NULL)
		return NULL;
	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < len; i++) {
		s[2 + 2 * i] = digits[data[i] >> 4];
		s[3 + 2 * i] = digits[data[i] & 0xf];
	}
	s[2 + 2 * len] = '\0';
	return s;
}

static int
eab_insert(PGconn *conn, const char *prov_id, const char *name,
    const char *reference)
{
	uint8_t key[EAB_KEY_BYTES];
	const char *params[4];
	char err[1024], *id = NULL, *hex = NULL, *b64 = NULL;
	PGresult *res = NULL;
	int status = 1;

	if (gnutls_rnd(GNUTLS_RND_KEY, key, sizeof(key)) != 0 ||
	    (id = util_random_id()) == NULL ||
	    (hex = eab_bytea_hex(key, sizeof(key))) == NULL ||
	    (b64 = b64url_encode(key, sizeof(key))) == NULL) {
		fprintf(stderr, "caadm eab: cannot create a random key\n");
		goto out;
	}
	params[0] = id;
	params[1] = prov_id;
	params[2] = hex;
	params[3] = reference;
	if ((res = db_exec(conn, "INSERT INTO eab_keys (id, provisioner_id, "
	    "hmac_key, reference) VALUES ($1, $2, $3::bytea, $4) ON CONFLICT "
	    "DO NOTHING RETURNING id", 4, params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm eab: %s\n", err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		fprintf(stderr, "caadm eab: provisioner \"%s\" already has a key "
		    "with reference \"%s\"; choose another reference or remove "
		    "that key first\n", name, reference != NULL ? reference :
		    "");
		goto out;
	}
	printf("✓ Added EAB key for provisioner %s%s%s\n", name,
	    reference != NULL ? ", reference " : "",
	    reference != NULL ? reference : "");
	printf("  Key ID:   %s\n", id);
	printf("  HMAC key: %s\n", b64);
	printf("  The HMAC key is shown only now; store it where the ACME "
	    "client can read it.\n");
	status = 0;
 out:
	util_wipe(key, sizeof(key));
	if (hex != NULL)
		util_wipe(hex, strlen(hex));
	if (b64 != NULL)
		util_wipe(b64, strlen(b64));
	free(hex);
	free(b64);
	free(id);
	PQclear(res);
	return status;
}

static int
eab_add(int argc, char **argv)
{
	static const struct option options[] = {
		{ "reference", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ca_config *cfg = NULL;
	const char *reference = NULL;
	char *prov_id = NULL;
	PGconn *conn = NULL;
	size_t i;
	int opt, status = 1;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(eab_usage, stdout);
			return 0;
		}
		if (opt == ':')
			return eab_usage_error("%s needs a value",
			    argv[optind - 1]);
		if (opt == '?')
			return eab_usage_error("unknown option %s",
			    argv[optind - 1]);
		reference = optarg;
	}
	if (argc - optind != 1)
		return eab_usage_error("%s", "add takes one PROVISIONER, as in: "
		    "caadm eab add acme --reference web-1");
	if (reference != NULL) {
		if (reference[0] == '\0' || strlen(reference) >
		    EAB_REFERENCE_MAX)
			return eab_usage_error("--reference \"%s\" must have 1 "
			    "to 128 characters", reference);
		for (i = 0; reference[i] != '\0'; i++)
			if ((unsigned char)reference[i] < ' ' ||
			    reference[i] == 0x7f)
				return eab_usage_error("--reference \"%s\" "
				    "contains a control character", reference);
	}
	if ((conn = caadm_connect("eab", &cfg)) == NULL ||
	    (prov_id = eab_provisioner_id(conn, argv[optind])) == NULL)
		goto out;
	status = eab_insert(conn, prov_id, argv[optind], reference);
 out:
	free(prov_id);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

static int
eab_list(int argc, char **argv)
{
	struct ca_config *cfg = NULL;
	const char *params[1];
	char err[1024], *prov_id = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int i, n, status = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(eab_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return eab_usage_error("%s", "list takes one PROVISIONER, as "
		    "in: caadm eab list acme");
	if ((conn = caadm_connect("eab", &cfg)) == NULL ||
	    (prov_id = eab_provisioner_id(conn, argv[1])) == NULL)
		goto out;
	params[0] = prov_id;
	if ((res = db_exec(conn, "SELECT id, coalesce(reference, '-'), "
	    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
	    "|| ' UTC', coalesce(bound_account_id, '-') FROM eab_keys WHERE "
	    "provisioner_id = $1 ORDER BY created_at, id", 1, params, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "caadm eab: %s\n", err);
		goto out;
	}
	n = PQntuples(res);
	if (n == 0)
		fprintf(stderr, "No EAB keys for %s yet; add one with: caadm "
		    "eab add %s\n", argv[1], argv[1]);
	else
		printf("%-22s  %-20s  %-23s  %s\n", "KEY ID", "REFERENCE",
		    "CREATED", "BOUND ACCOUNT");
	for (i = 0; i < n; i++)
		printf("%-22s  %-20s  %-23s  %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3));
	status = 0;
 out:
	free(prov_id);
	PQclear(res);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

static int
eab_remove(int argc, char **argv)
{
	struct ca_config *cfg = NULL;
	const char *params[2];
	char err[1024], *prov_id = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int status = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(eab_usage, stdout);
		return 0;
	}
	if (argc != 3)
		return eab_usage_error("%s", "remove takes PROVISIONER and "
		    "KEY_ID, as in: caadm eab remove acme KEY_ID (see caadm eab "
		    "list)");
	if ((conn = caadm_connect("eab", &cfg)) == NULL ||
	    (prov_id = eab_provisioner_id(conn, argv[1])) == NULL)
		goto out;
	params[0] = prov_id;
	params[1] = argv[2];
	if ((res = db_exec(conn, "DELETE FROM eab_keys WHERE provisioner_id = "
	    "$1 AND id = $2 RETURNING id", 2, params, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "caadm eab: %s\n", err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		fprintf(stderr, "caadm eab: provisioner \"%s\" has no EAB key "
		    "\"%s\"; run caadm eab list %s to see the ids\n", argv[1],
		    argv[2], argv[1]);
		goto out;
	}
	printf("✓ Removed EAB key %s of provisioner %s\n", argv[2], argv[1]);
	status = 0;
 out:
	free(prov_id);
	PQclear(res);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

int
cmd_eab(int argc, char **argv)
{
	if (argc < 2) {
		fputs(eab_usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(eab_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "add") == 0)
		return eab_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return eab_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0 || strcmp(argv[1], "rm") == 0)
		return eab_remove(argc - 1, argv + 1);
	return eab_usage_error("unknown subcommand \"%s\"; use add, list or "
	    "remove", argv[1]);
}
