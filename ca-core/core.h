/*
 * Process-wide state of ca-core.  This version runs one event loop with
 * one database connection; every handler runs on that loop.
 */
#ifndef CA_CORE_H
#define CA_CORE_H

#include <event2/event.h>
#include <event2/http.h>
#include <libpq-fe.h>

#include "config.h"
#include "pki.h"

struct dispatch;

struct core {
	struct ca_config	*cfg;
	struct event_base	*base;
	struct evhttp		*http;
	PGconn			*db;
	struct pki_issuer	*issuer;
	char			*root_pem;
	struct dispatch		*dispatch;
	/* "https://HOST:PORT" from the first configured DNS name, without a
	 * trailing slash; ACME URLs are built from it. */
	char			*base_url;
};

/* Check core->db and reset it (PQreset, logged) when the connection has
 * dropped.  The HTTPS front calls it before each request; handlers may
 * call it again before a query.  Returns 0 when the connection is usable,
 * -1 when the reset failed. */
int	 core_db_ensure(struct core *);

#endif
