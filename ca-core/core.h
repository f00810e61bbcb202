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

#endif
