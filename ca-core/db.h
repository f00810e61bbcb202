/*
 * Database access shared by ca-core and caadm: connecting (starting the
 * embedded cluster when no URL is configured) and schema migrations.
 */
#ifndef CA_DB_H
#define CA_DB_H

#include <stddef.h>
#include <libpq-fe.h>

#include "config.h"

/* Connect to cfg->database_url, or to the embedded cluster under
 * cfg->home (started first if it is not running).  Returns a connection
 * or NULL with a message in err.  The database password is never put in
 * err or in logs. */
PGconn	*db_connect(const struct ca_config *cfg, char *err, size_t errlen);

/* Apply every migration newer than the schema's version, each in its own
 * transaction, under an advisory lock so that several ca-core instances
 * and caadm may run it at once.  Idempotent.  Returns 0 or -1. */
int	 db_migrate(PGconn *conn, char *err, size_t errlen);

/* Run a statement with text parameters and expect PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK.  Returns the result (caller PQclear()s) or NULL with
 * the server's message in err. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams,
	    const char *const *params, char *err, size_t errlen);

#endif
