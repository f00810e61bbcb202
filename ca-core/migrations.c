/*
 * Schema migrations: db_migrate() (declared in db.h) applies the SQL
 * files compiled in from ca-core/migrations/NNNN_name.sql.
 *
 * The table schema_migrations(version, name, applied_at) records what was
 * applied.  A session-level advisory lock serializes ca-core instances
 * and caadm that migrate at once, and each migration runs in its own
 * transaction together with its schema_migrations row, so a failure
 * leaves the schema at the previous version.  A database that has
 * versions this program does not know (a newer program migrated it) is
 * a warning, not an error.  Every other failure returns -1 with err.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "migrations.h"

/* Advisory lock key: the bytes of "acmeca" as a big-endian integer. */
#define MIGRATIONS_LOCK_KEY	"107079665017697"

static const char migrations_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* The compiled-in table must be sorted by version without duplicates. */
static int
migrations_check_table(char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < migrations_count; i++) {
		if (migrations[i].version <= 0 || (i > 0 &&
		    migrations[i].version <= migrations[i - 1].version)) {
			snprintf(err, errlen, "internal error: migration %s "
			    "is out of order or numbered twice",
			    migrations[i].name);
			return -1;
		}
	}
	return 0;
}

/* Returns 1 when version is recorded as applied, 0 when not, -1. */
static int
migrations_is_applied(PGconn *conn, int version, char *err, size_t errlen)
{
	char text[16];
	const char *params[1] = { text };
	PGresult *res;
	int applied;

	snprintf(text, sizeof(text), "%d", version);
	if ((res = db_exec(conn, "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1", 1, params, err, errlen)) == NULL)
		return -1;
	applied = PQntuples(res) > 0;
	PQclear(res);
	return applied;
}

static int
migrations_apply(PGconn *conn, const struct migration *m, char *err,
    size_t errlen)
{
	char version[16], msg[512];
	const char *params[2] = { version, m->name };
	PGresult *res = NULL;
	int ret = -1;

	snprintf(version, sizeof(version), "%d", m->version);
	if ((res = db_exec(conn, "BEGIN", 0, NULL, err, errlen)) == NULL)
		return -1;
	PQclear(res);

	/* A migration file contains several statements, which only the simple
	 * query protocol (PQexec) accepts. */
	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
		msg[strcspn(msg, "\n")] = '\0';
		snprintf(err, errlen, "migration %s failed: %s", m->name, msg);
		goto out;
	}
	PQclear(res);
	if ((res = db_exec(conn, "INSERT INTO schema_migrations "
	    "(version, name) VALUES ($1, $2)", 2, params, err,
	    errlen)) == NULL)
		goto out;
	PQclear(res);
	if ((res = db_exec(conn, "COMMIT", 0, NULL, err, errlen)) == NULL)
		goto out;
	ret = 0;
	log_info("applied database migration %s", m->name);
 out:
	PQclear(res);
	if (ret != 0)
		PQclear(PQexec(conn, "ROLLBACK"));
	return ret;
}

static void
migrations_warn_newer(PGconn *conn)
{
	PGresult *res;
	char err[256];
	int newest;

	res = db_exec(conn, "SELECT max(version) FROM schema_migrations", 0,
	    NULL, err, sizeof(err));
	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return;
	}
	newest = atoi(PQgetvalue(res, 0, 0));
	if (migrations_count > 0 &&
	    newest > migrations[migrations_count - 1].version)
		log_warn("the database schema is at version %d, newer than "
		    "this program's %d; upgrade this program", newest,
		    migrations[migrations_count - 1].version);
	PQclear(res);
}

int
db_migrate(PGconn *conn, char *err, size_t errlen)
{
	const char *key[1] = { MIGRATIONS_LOCK_KEY };
	PGresult *res;
	size_t i;
	int locked = 0, applied, ret = -1;

	if (migrations_check_table(err, errlen) == -1)
		return -1;
	if ((res = db_exec(conn, "SELECT pg_advisory_lock($1)", 1, key, err,
	    errlen)) == NULL)
		goto out;
	PQclear(res);
	locked = 1;

	if ((res = db_exec(conn, migrations_table_sql, 0, NULL, err,
	    errlen)) == NULL)
		goto out;
	PQclear(res);
	for (i = 0; i < migrations_count; i++) {
		applied = migrations_is_applied(conn, migrations[i].version,
		    err, errlen);
		if (applied == -1)
			goto out;
		if (!applied && migrations_apply(conn, &migrations[i], err,
		    errlen) == -1)
			goto out;
	}
	migrations_warn_newer(conn);
	ret = 0;
 out:
	if (locked) {
		/* The lock also ends with the session; a failed unlock on a
		 * broken connection changes nothing. */
		PQclear(PQexecParams(conn, "SELECT pg_advisory_unlock($1)", 1,
		    NULL, key, NULL, NULL, 0));
	}
	return ret;
}
