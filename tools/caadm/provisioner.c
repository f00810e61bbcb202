/*
 * caadm provisioner: add, update, list and remove ACME provisioners.
 *
 * Interface: cmd_provisioner() and caadm_connect() (caadm.h).  The ACME
 * options (challenge types, lifetimes, forceCN, EAB requirement, name
 * policy, directory meta) are flags of add and update, parsed in
 * provisioner_options.c.  Provisioners live in the
 * provisioners table; ca-core reads that table per request, so a change
 * takes effect without a restart.  Each change also sends a NOTIFY on the
 * channel "provisioners" with the provisioner's name as payload, for
 * instances that cache the table.  Removing a provisioner that has ACME
 * accounts deletes those accounts with their orders and certificates
 * (ON DELETE CASCADE), so it needs --force.  Exit status 0 on success,
 * 1 on failure (unknown name, duplicate, database error), 2 on a usage
 * error.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "caadm.h"
#include "config.h"
#include "db.h"
#include "provisioner_options.h"

#define PROVISIONER_MAX_NAME	64
/* Room for --type, --help and the ACME option flags. */
#define PROVISIONER_MAX_FLAGS	32
#define PROVISIONER_FLAG_TYPE	't'
#define PROVISIONER_FLAG_HELP	'h'

static const char provisioner_usage[] =
    "usage: caadm provisioner add NAME [--type ACME] [ACME options]\n"
    "       caadm provisioner update NAME [ACME options]\n"
    "       caadm provisioner list\n"
    "       caadm provisioner remove NAME [--force]\n\n"
    "Manage the provisioners of the CA in the home folder (--home DIR or\n"
    "$CA_HOME).  An ACME provisioner serves /acme/NAME/directory.  A running\n"
    "ca-core picks up changes without a restart.\n\n"
    "  NAME      1 to 64 letters, digits, dots, hyphens or underscores\n"
    "  --type    provisioner type; ACME is the only one (default ACME)\n"
    "  --force   remove even when ACME accounts exist; their orders and\n"
    "            certificates are deleted with them\n\n";

static int
provisioner_usage_error(const char *fmt, const char *value)
{
	fprintf(stderr, "caadm provisioner: ");
	fprintf(stderr, fmt, value);
	fprintf(stderr, "\nRun caadm provisioner --help for the usage.\n");
	return 2;
}

static int
provisioner_check_name(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > PROVISIONER_MAX_NAME) {
		fprintf(stderr, "caadm provisioner: name \"%s\" has %zu "
		    "characters; use 1 to %d\n", name, len,
		    PROVISIONER_MAX_NAME);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			fprintf(stderr, "caadm provisioner: name \"%s\" is "
			    "invalid; use only letters, digits, '.', '_' "
			    "and '-' (it becomes part of a URL)\n", name);
			return -1;
		}
	}
	return 0;
}

PGconn *
caadm_connect(const char *command, struct ca_config **cfgp)
{
	struct ca_config *cfg = NULL;
	PGconn *conn = NULL;
	char err[1024], *home;

	*cfgp = NULL;
	if ((home = config_home(caadm_home_flag, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm %s: %s\n", command, err);
		return NULL;
	}
	if (config_load(home, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm %s: %s\n", command, err);
		free(home);
		return NULL;
	}
	free(home);
	if ((conn = db_connect(cfg, err, sizeof(err))) == NULL ||
	    db_migrate(conn, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm %s: %s\n", command, err);
		PQfinish(conn);
		config_free(cfg);
		return NULL;
	}
	*cfgp = cfg;
	return conn;
}

static void
provisioner_notify(PGconn *conn, const char *name)
{
	const char *params[1] = { name };
	char err[512];
	PGresult *res;

	/* Instances that only read the table per request lose nothing when
	 * this fails, so it is a warning. */
	res = db_exec(conn, "SELECT pg_notify('provisioners', $1)", 1, params,
	    err, sizeof(err));
	if (res == NULL)
		fprintf(stderr, "caadm provisioner: warning: NOTIFY failed: "
		    "%s\n", err);
	PQclear(res);
}

/* The directory URL from the first configured name and the port. */
static void
provisioner_print_directory(const struct ca_config *cfg, const char *name)
{
	const char *host = cfg->ndns > 0 ? cfg->dns[0] : "localhost";
	int v6 = strchr(host, ':') != NULL;

	if (cfg->listen_port == 443)
		printf("  Directory: https://%s%s%s/acme/%s/directory\n",
		    v6 ? "[" : "", host, v6 ? "]" : "", name);
	else
		printf("  Directory: https://%s%s%s:%d/acme/%s/directory\n",
		    v6 ? "[" : "", host, v6 ? "]" : "", cfg->listen_port,
		    name);
}

/* --type and --help followed by the ACME option flags. */
static void
provisioner_flag_table(struct option *table, int with_type)
{
	size_t n = 0, i;

	if (with_type)
		table[n++] = (struct option){ "type", required_argument, NULL,
		    PROVISIONER_FLAG_TYPE };
	table[n++] = (struct option){ "help", no_argument, NULL,
	    PROVISIONER_FLAG_HELP };
	for (i = 0; provisioner_option_flags[i].name != NULL &&
	    n < PROVISIONER_MAX_FLAGS - 1; i++)
		table[n++] = provisioner_option_flags[i];
	table[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* Parse the flags of add (with_type) or update into e and *type, and
 * with check_lifetimes check that the lifetimes fit together.  Returns -1
 * to go on, or an exit status. */
static int
provisioner_parse_flags(int argc, char **argv, int with_type,
    int check_lifetimes, struct provisioner_edit *e, const char **type)
{
	struct option table[PROVISIONER_MAX_FLAGS];
	int opt, rc;

	provisioner_flag_table(table, with_type);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", table, NULL)) != -1) {
		if (opt == PROVISIONER_FLAG_HELP) {
			fputs(provisioner_usage, stdout);
			fputs(provisioner_option_help, stdout);
			return 0;
		}
		if (opt == ':')
			return provisioner_usage_error("%s needs a value",
			    argv[optind - 1]);
		if (opt == '?')
			return provisioner_usage_error("unknown option %s",
			    argv[optind - 1]);
		if (opt == PROVISIONER_FLAG_TYPE) {
			*type = optarg;
			continue;
		}
		if ((rc = provisioner_edit_apply(e, opt, optarg)) != 0) {
			if (rc == 1)
				fprintf(stderr, "caadm provisioner: out of "
				    "memory\n");
			return rc;
		}
	}
	if (check_lifetimes && provisioner_edit_check(e) != 0)
		return 2;
	return -1;
}

static const char *
provisioner_options_text(const struct provisioner_edit *e)
{
	return json_object_to_json_string_ext(e->options,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int
provisioner_add(int argc, char **argv)
{
	struct provisioner_edit edit;
	struct ca_config *cfg = NULL;
	const char *type = "ACME", *params[3];
	char err[1024];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int rc, status = 1;

	memset(&edit, 0, sizeof(edit));
	if ((edit.options = json_object_new_object()) == NULL) {
		fprintf(stderr, "caadm provisioner: out of memory\n");
		return 1;
	}
	if ((rc = provisioner_parse_flags(argc, argv, 1, 1, &edit,
	    &type)) != -1) {
		status = rc;
		goto out;
	}
	if (argc - optind != 1) {
		status = provisioner_usage_error("%s", "add takes one NAME, as "
		    "in: caadm provisioner add acme --type ACME");
		goto out;
	}
	if (strcasecmp(type, "ACME") != 0) {
		status = provisioner_usage_error("unknown provisioner type "
		    "\"%s\"; the only type is ACME", type);
		goto out;
	}
	if (provisioner_check_name(argv[optind]) == -1) {
		status = 2;
		goto out;
	}

	if ((conn = caadm_connect("provisioner", &cfg)) == NULL)
		goto out;
	params[0] = argv[optind];
	params[1] = "ACME";
	params[2] = provisioner_options_text(&edit);
	if ((res = db_exec(conn, "INSERT INTO provisioners (name, type, "
	    "options) VALUES ($1, $2, $3::jsonb) ON CONFLICT (name) DO "
	    "NOTHING RETURNING id", 3, params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" already "
		    "exists; choose another name, change it with caadm "
		    "provisioner update %s, or remove it first with caadm "
		    "provisioner remove %s\n", argv[optind], argv[optind],
		    argv[optind]);
		goto out;
	}
	provisioner_notify(conn, argv[optind]);
	printf("✓ Added provisioner %s (ACME)\n", argv[optind]);
	provisioner_print_directory(cfg, argv[optind]);
	printf("  Options: ");
	provisioner_options_print(stdout, edit.options);
	printf("\n");
	status = 0;
 out:
	json_object_put(edit.options);
	PQclear(res);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

/* Load the stored options of provisioner name into e.  Returns 0, or 1
 * after a message. */
static int
provisioner_load_options(PGconn *conn, const char *name,
    struct provisioner_edit *e)
{
	const char *params[1] = { name };
	char err[1024];
	PGresult *res;
	int ret = 1;

	if ((res = db_exec(conn, "SELECT options::text FROM provisioners "
	    "WHERE name = $1", 1, params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		return 1;
	}
	if (PQntuples(res) != 1) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" not "
		    "found; run caadm provisioner list to see the names\n",
		    name);
		goto out;
	}
	e->options = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (e->options == NULL ||
	    !json_object_is_type(e->options, json_type_object)) {
		json_object_put(e->options);
		fprintf(stderr, "caadm provisioner: warning: the stored options "
		    "of \"%s\" are not a JSON object; starting from none\n",
		    name);
		e->options = json_object_new_object();
	}
	ret = e->options == NULL ? 1 : 0;
 out:
	PQclear(res);
	return ret;
}

static int
provisioner_update(int argc, char **argv)
{
	struct provisioner_edit edit;
	struct ca_config *cfg = NULL;
	const char *type = NULL, *params[2], *name;
	char err[1024];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int rc, status = 1;

	memset(&edit, 0, sizeof(edit));
	/* A first pass checks the flags and the name before connecting; the
	 * second applies them to the stored options. */
	if ((edit.options = json_object_new_object()) == NULL) {
		fprintf(stderr, "caadm provisioner: out of memory\n");
		return 1;
	}
	if ((rc = provisioner_parse_flags(argc, argv, 0, 0, &edit,
	    &type)) != -1) {
		status = rc;
		goto out;
	}
	if (argc - optind != 1) {
		status = provisioner_usage_error("%s", "update takes one NAME, "
		    "as in: caadm provisioner update acme --require-eab");
		goto out;
	}
	name = argv[optind];
	if (provisioner_check_name(name) == -1) {
		status = 2;
		goto out;
	}
	json_object_put(edit.options);
	memset(&edit, 0, sizeof(edit));

	if ((conn = caadm_connect("provisioner", &cfg)) == NULL ||
	    provisioner_load_options(conn, name, &edit) != 0)
		goto out;
	if ((rc = provisioner_parse_flags(argc, argv, 0, 1, &edit,
	    &type)) != -1) {
		status = rc;
		goto out;
	}
	params[0] = name;
	params[1] = provisioner_options_text(&edit);
	if ((res = db_exec(conn, "UPDATE provisioners SET options = "
	    "$2::jsonb WHERE name = $1 RETURNING id", 2, params, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" not "
		    "found; it was removed at the same time by another "
		    "command\n", name);
		goto out;
	}
	provisioner_notify(conn, name);
	printf("✓ Updated provisioner %s\n", name);
	printf("  Options: ");
	provisioner_options_print(stdout, edit.options);
	printf("\n");
	status = 0;
 out:
	json_object_put(edit.options);
	PQclear(res);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

static int
provisioner_list(int argc, char **argv)
{
	struct ca_config *cfg = NULL;
	char err[1024];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	struct json_object *options;
	int i, n, width = 4, len, status = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(provisioner_usage, stdout);
		return 0;
	}
	if (argc != 1)
		return provisioner_usage_error("list takes no arguments, but "
		    "got \"%s\"", argv[1]);
	if ((conn = caadm_connect("provisioner", &cfg)) == NULL)
		goto out;
	if ((res = db_exec(conn, "SELECT name, type, to_char(created_at AT "
	    "TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', "
	    "options::text FROM provisioners ORDER BY name", 0, NULL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		goto out;
	}
	n = PQntuples(res);
	if (n == 0) {
		fprintf(stderr, "No provisioners yet; add one with: caadm "
		    "provisioner add acme --type ACME\n");
		status = 0;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((len = PQgetlength(res, i, 0)) > width)
			width = len;
	printf("%-*s  %-4s  %-23s  %s\n", width, "NAME", "TYPE", "CREATED",
	    "OPTIONS");
	for (i = 0; i < n; i++) {
		printf("%-*s  %-4s  %-23s  ", width, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		options = json_tokener_parse(PQgetvalue(res, i, 3));
		provisioner_options_print(stdout, options);
		json_object_put(options);
		printf("\n");
	}
	status = 0;
 out:
	PQclear(res);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

/* Returns the number of accounts of the provisioner, or -1 when it does
 * not exist or the query failed (after a message). */
static long
provisioner_count_accounts(PGconn *conn, const char *name)
{
	const char *params[1] = { name };
	char err[1024];
	PGresult *res;
	long count;

	if ((res = db_exec(conn, "SELECT (SELECT count(*) FROM accounts a "
	    "WHERE a.provisioner_id = p.id) FROM provisioners p "
	    "WHERE p.name = $1", 1, params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		return -1;
	}
	if (PQntuples(res) == 0) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" not "
		    "found; run caadm provisioner list to see the names\n",
		    name);
		PQclear(res);
		return -1;
	}
	count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return count;
}

static int
provisioner_remove(int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ca_config *cfg = NULL;
	const char *params[1];
	char err[1024];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	long accounts;
	int opt, force = 0, status = 1;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(provisioner_usage, stdout);
			return 0;
		}
		if (opt == '?')
			return provisioner_usage_error("unknown option %s",
			    argv[optind - 1]);
		force = 1;
	}
	if (argc - optind != 1)
		return provisioner_usage_error("%s", "remove takes one NAME, "
		    "as in: caadm provisioner remove acme");
	if (provisioner_check_name(argv[optind]) == -1)
		return 2;
	params[0] = argv[optind];

	if ((conn = caadm_connect("provisioner", &cfg)) == NULL ||
	    (accounts = provisioner_count_accounts(conn, params[0])) == -1)
		goto out;
	if (accounts > 0 && !force) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" has %ld "
		    "ACME account(s); removing it deletes them with their "
		    "orders and certificates.  Rerun with --force to remove "
		    "it anyway\n", params[0], accounts);
		goto out;
	}
	if ((res = db_exec(conn, "DELETE FROM provisioners WHERE name = $1 "
	    "RETURNING id", 1, params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" not "
		    "found; it was removed at the same time by another "
		    "command\n", params[0]);
		goto out;
	}
	provisioner_notify(conn, params[0]);
	printf("✓ Removed provisioner %s\n", params[0]);
	status = 0;
 out:
	PQclear(res);
	PQfinish(conn);
	config_free(cfg);
	return status;
}

int
cmd_provisioner(int argc, char **argv)
{
	if (argc < 2) {
		fputs(provisioner_usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(provisioner_usage, stdout);
		fputs(provisioner_option_help, stdout);
		return 0;
	}
	if (strcmp(argv[1], "add") == 0)
		return provisioner_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "update") == 0)
		return provisioner_update(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return provisioner_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0 || strcmp(argv[1], "rm") == 0)
		return provisioner_remove(argc - 1, argv + 1);
	return provisioner_usage_error("unknown subcommand \"%s\"; use add, "
	    "update, list or remove", argv[1]);
}
