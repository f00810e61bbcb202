/*
 * caadm db: start, stop and show the embedded PostgreSQL cluster that
 * `caadm init` creates under the CA's home when no database URL is given.
 *
 * Interface: cmd_db() (caadm.h).  ca-core and caadm start the cluster on
 * demand, but nothing stops it, so an operator who is done with a CA (or
 * wants to move its home) stops it here.  A CA that uses an external
 * server (database_url in config.json) has nothing to start or stop, so
 * every subcommand prints an error for it.  Exit status 0 on success, 1 on
 * failure, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "caadm.h"
#include "config.h"
#include "pgembed.h"

static const char db_usage[] =
    "usage: caadm db status|start|stop [--force]\n\n"
    "Manage the embedded PostgreSQL cluster in the CA's home folder\n"
    "(HOME/db).  ca-core and caadm start it when they need it; stop it\n"
    "after ca-core has stopped, for example before moving the folder.\n"
    "stop refuses while other programs (a running ca-core) are connected,\n"
    "unless --force is given.\n";

/* Count the client connections of other processes, or return 0 when the
 * cluster is not running or cannot be asked. */
static int
db_other_clients(const char *home)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *conninfo;
	int n = 0;

	if ((conninfo = pgembed_conninfo(home)) == NULL)
		return 0;
	if (PQping(conninfo) != PQPING_OK)
		goto out;
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		goto out;
	res = PQexec(conn, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "backend_type = 'client backend' AND pid <> pg_backend_pid()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = atoi(PQgetvalue(res, 0, 0));
 out:
	PQclear(res);
	PQfinish(conn);
	free(conninfo);
	return n;
}

int
cmd_db(int argc, char **argv)
{
	struct ca_config *cfg = NULL;
	char err[1024], *home = NULL, *conninfo = NULL;
	const char *action;
	int clients, force = 0, status = 1;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(db_usage, stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "stop") == 0 &&
	    strcmp(argv[2], "--force") == 0)
		force = 1;
	else if (argc != 2 || (strcmp(argv[1], "status") != 0 &&
	    strcmp(argv[1], "start") != 0 && strcmp(argv[1], "stop") != 0)) {
		fprintf(stderr, "caadm db: expected one of status, start or "
		    "stop\n%s", db_usage);
		return 2;
	}
	action = argv[1];

	if ((home = config_home(caadm_home_flag, err, sizeof(err))) == NULL ||
	    config_load(home, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm db: %s\n", err);
		goto out;
	}
	if (cfg->database_url != NULL) {
		fprintf(stderr, "caadm db: this CA uses the PostgreSQL server "
		    "named by database_url in %s, not an embedded cluster; "
		    "manage that server with its own tools\n", cfg->path);
		goto out;
	}

	if (strcmp(action, "start") == 0) {
		if (pgembed_start(cfg->home, err, sizeof(err)) == -1) {
			fprintf(stderr, "caadm db: %s\n", err);
			goto out;
		}
		printf("✓ Embedded PostgreSQL is running in %s/db\n", cfg->home);
	} else if (strcmp(action, "stop") == 0) {
		if (!force && (clients = db_other_clients(cfg->home)) > 0) {
			fprintf(stderr, "caadm db: %d other connection%s to the "
			    "embedded PostgreSQL (a running ca-core?); stop "
			    "ca-core first, or pass --force to stop the cluster "
			    "anyway\n", clients, clients == 1 ? "" : "s");
			goto out;
		}
		if (pgembed_stop(cfg->home, err, sizeof(err)) == -1) {
			fprintf(stderr, "caadm db: %s\n", err);
			goto out;
		}
		printf("✓ Embedded PostgreSQL in %s/db is stopped\n", cfg->home);
	} else {
		if ((conninfo = pgembed_conninfo(cfg->home)) == NULL) {
			fprintf(stderr, "caadm db: out of memory\n");
			goto out;
		}
		printf("Embedded PostgreSQL in %s/db: %s\n", cfg->home,
		    PQping(conninfo) == PQPING_OK ? "running" : "not running");
		printf("  socket folder: %s/db/run\n  log: %s/db/postgresql.log\n",
		    cfg->home, cfg->home);
	}
	status = 0;
 out:
	free(conninfo);
	config_free(cfg);
	free(home);
	return status;
}
