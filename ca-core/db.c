/*
 * Database connections for ca-core and caadm.
 *
 * Interface (db.h): db_connect() opens a connection to the configured
 * server, or starts the embedded cluster and connects to it;
 * db_exec() runs one parameterized statement.  db_migrate() lives in
 * migrations.c.  Failures are returned with the server's message in err;
 * server notices are logged at debug level.  The database URL is never
 * copied into a message because it may carry a password.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "pgembed.h"
#include "util.h"

/* Copy a libpq message without its trailing newline. */
static void
db_error_pq(char *err, size_t errlen, const char *what, const char *msg)
{
	size_t n;

	util_seterr(err, errlen, "%s: %s", what, msg != NULL && *msg != '\0' ?
	    msg : "unknown error");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

/* Server notices (for example from CREATE ... IF NOT EXISTS) go to the
 * debug log instead of stderr. */
static void
db_notice(void *arg, const char *message)
{
	char buf[512];
	size_t n = strlen(message);

	while (n > 0 && message[n - 1] == '\n')
		n--;
	log_debug("postgresql: %s", log_escape(message, n, buf, sizeof(buf)));
}

PGconn *
db_connect(const struct ca_config *cfg, char *err, size_t errlen)
{
	PGconn *conn;
	char *conninfo = NULL;
	const char *context;

	if (cfg->database_url != NULL) {
		context = "cannot connect to the database at database_url";
		conn = PQconnectdb(cfg->database_url);
	} else {
		context = "cannot connect to the embedded PostgreSQL";
		if (pgembed_start(cfg->home, err, errlen) == -1)
			return NULL;
		if ((conninfo = pgembed_conninfo(cfg->home)) == NULL) {
			util_seterr(err, errlen, "out of memory");
			return NULL;
		}
		conn = PQconnectdb(conninfo);
		free(conninfo);
	}
	if (conn == NULL) {
		util_seterr(err, errlen, "%s: out of memory", context);
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		db_error_pq(err, errlen, context, PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, db_notice, NULL);
	return conn;
}

PGresult *
db_exec(PGconn *conn, const char *sql, int nparams,
    const char *const *params, char *err, size_t errlen)
{
	PGresult *res;
	ExecStatusType status;

	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	status = PQresultStatus(res);
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
		return res;
	db_error_pq(err, errlen, "database error", res != NULL ?
	    PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}
