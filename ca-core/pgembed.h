/*
 * The embedded PostgreSQL cluster under CA_HOME/db: created by caadm init
 * when no database URL is given, started on demand by caadm and ca-core.
 * It listens on a Unix socket in CA_HOME/db/run only.  PostgreSQL refuses
 * to run as root, so as root the cluster belongs to an unprivileged system
 * user (PGEMBED_USER).
 */
#ifndef CA_PGEMBED_H
#define CA_PGEMBED_H

#include <stddef.h>

#define PGEMBED_USER	"acmeca-db"
#define PGEMBED_DBNAME	"acmeca"

/* Check that home suits a cluster before anything is created: an
 * absolute path without control characters whose socket path fits in a
 * Unix socket address.  Returns 0, or -1 with a message naming the fix. */
int	 pgembed_check_home(const char *home, char *err, size_t errlen);

/* initdb a new cluster under home/db.  Fails if one exists. */
int	 pgembed_create(const char *home, char *err, size_t errlen);

/* Start the cluster if it is not running and wait until it accepts
 * connections; create the database on first start.  Returns 0 or -1. */
int	 pgembed_start(const char *home, char *err, size_t errlen);

/* Stop the cluster (fast shutdown).  Returns 0 or -1. */
int	 pgembed_stop(const char *home, char *err, size_t errlen);

/* libpq conninfo string for the cluster, malloc'd. */
char	*pgembed_conninfo(const char *home);

#endif
