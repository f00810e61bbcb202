/*
 * caadm provisioner: add, list and remove ACME provisioners.
 *
 * Interface: cmd_provisioner() (caadm.h).  Provisioners live in the
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

#define PROVISIONER_MAX_NAME	64

static const char provisioner_usage[] =
    "usage: caadm provisioner add NAME [--type ACME]\n"
    "       caadm provisioner list\n"
    "       caadm provisioner remove NAME [--force]\n\n"
    "Manage the provisioners of the CA in the home folder (--home DIR or\n"
    "$CA_HOME).  An ACME provisioner serves /acme/NAME/directory.  A running\n"
    "ca-core picks up changes without a restart.\n\n"
    "  NAME      1 to 64 letters, digits, dots, hyphens or underscores\n"
    "  --type    provisioner type; ACME is the only one (default ACME)\n"
    "  --force   remove even when ACME accounts exist; their orders and\n"
    "            certificates are deleted with them\n";

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

/* Load the config and connect, migrating the schema if needed. */
static PGconn *
provisioner_connect(struct ca_config **cfgp)
{
	struct ca_config *cfg = NULL;
	PGconn *conn = NULL;
	char err[1024], *home;

	*cfgp = NULL;
	if ((home = config_home(caadm_home_flag, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		return NULL;
	}
	if (config_load(home, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		free(home);
		return NULL;
	}
	free(home);
	if ((conn = db_connect(cfg, err, sizeof(err))) == NULL ||
	    db_migrate(conn, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
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

static int
provisioner_add(int argc, char **argv)
{
	static const struct option options[] = {
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ca_config *cfg = NULL;
	const char *type = "ACME", *params[2];
	char err[1024];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int opt, status = 1;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(provisioner_usage, stdout);
			return 0;
		}
		if (opt == ':')
			return provisioner_usage_error("%s needs a value",
			    argv[optind - 1]);
		if (opt == '?')
			return provisioner_usage_error("unknown option %s",
			    argv[optind - 1]);
		type = optarg;
	}
	if (argc - optind != 1)
		return provisioner_usage_error("%s", "add takes one NAME, as "
		    "in: caadm provisioner add acme --type ACME");
	if (strcasecmp(type, "ACME") != 0)
		return provisioner_usage_error("unknown provisioner type "
		    "\"%s\"; the only type is ACME", type);
	if (provisioner_check_name(argv[optind]) == -1)
		return 2;

	if ((conn = provisioner_connect(&cfg)) == NULL)
		goto out;
	params[0] = argv[optind];
	params[1] = "ACME";
	if ((res = db_exec(conn, "INSERT INTO provisioners (name, type) "
	    "VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id", 2,
	    params, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm provisioner: %s\n", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		fprintf(stderr, "caadm provisioner: provisioner \"%s\" already "
		    "exists; choose another name, or remove it first with "
		    "caadm provisioner remove %s\n", argv[optind],
		    argv[optind]);
		goto out;
	}
	provisioner_notify(conn, argv[optind]);
	printf("✓ Added provisioner %s (ACME)\n", argv[optind]);
	provisioner_print_directory(cfg, argv[optind]);
	status = 0;
 out:
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
	int i, n, width = 4, len, status = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(provisioner_usage, stdout);
		return 0;
	}
	if (argc != 1)
		return provisioner_usage_error("list takes no arguments, but "
		    "got \"%s\"", argv[1]);
	if ((conn = provisioner_connect(&cfg)) == NULL)
		goto out;
	if ((res = db_exec(conn, "SELECT name, type, to_char(created_at AT "
	    "TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' "
	    "FROM provisioners ORDER BY name", 0, NULL, err,
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
	printf("%-*s  %-4s  %s\n", width, "NAME", "TYPE", "CREATED");
	for (i = 0; i < n; i++)
		printf("%-*s  %-4s  %s\n", width, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
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

	if ((conn = provisioner_connect(&cfg)) == NULL ||
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
		return 0;
	}
	if (strcmp(argv[1], "add") == 0)
		return provisioner_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return provisioner_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0 || strcmp(argv[1], "rm") == 0)
		return provisioner_remove(argc - 1, argv + 1);
	return provisioner_usage_error("unknown subcommand \"%s\"; use add, "
	    "list or remove", argv[1]);
}
