/*
 * The HTTPS front of ca-core: its own TLS certificate, the listening
 * sockets, and evhttp with GnuTLS (tls.c) around every connection.
 *
 * Interface (httpd.h): httpd_start() issues a leaf certificate for the
 * configured DNS names from the intermediate, binds
 * cfg->listen_host:listen_port and hands every request to
 * acme_handle_request() after core_db_ensure(); httpd_stop() frees it all.
 * The certificate is reissued before it expires while ca-core runs.
 *
 * Errors: failing to issue the certificate, to resolve the listen host or
 * to bind is fatal at start (httpd_start returns -1).  An address family
 * the host lacks (no IPv6) is a warning when another address was bound.
 * A failed reissue is logged as an error and retried an hour later; the
 * old certificate stays in use meanwhile.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "acme.h"
#include "core.h"
#include "httpd.h"
#include "log.h"
#include "pki.h"
#include "tls.h"
#include "util.h"

/* Twice the ACME layer's limit, so that a body between the two gets an
 * ACME problem document (413) instead of evhttp's bare page. */
#define HTTPD_MAX_BODY		(128 * 1024)
#define HTTPD_MAX_HEADERS	(16 * 1024)
#define HTTPD_TIMEOUT_S		30
#define HTTPD_BACKLOG		512
#define HTTPD_MAX_LISTENERS	8

/* ca-core's own certificate lives 30 days and is reissued 10 days before
 * it expires; a failed reissue is retried after an hour. */
#define HTTPD_CERT_LIFETIME_S	(30 * 24 * 3600)
#define HTTPD_CERT_RENEW_S	(20 * 24 * 3600)
#define HTTPD_CERT_RETRY_S	3600
/* Backdating covers clients whose clocks run a little behind. */
#define HTTPD_CERT_BACKDATE_S	300

/* One front per process: ca-core runs a single evhttp. */
static struct {
	struct core		*core;
	struct tls_server	*tls;		/* current credentials */
	struct evconnlistener	*listeners[HTTPD_MAX_LISTENERS];
	size_t			 nlisteners;
	struct event		*renew;
} httpd;

/* Issue a leaf for cfg->dns with a new P-256 key and build TLS
 * credentials from it and the intermediate. */
static int
httpd_make_tls(struct core *core, struct tls_server **out, char *err,
    size_t errlen)
{
	struct pki_leaf_request req;
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t pkey = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crt_t chain[2] = { NULL, NULL };
	gnutls_datum_t der = { NULL, 0 };
	char *serial = NULL;
	time_t now = time(NULL);
	int r, ret = -1;

	*out = NULL;

	if ((r = gnutls_x509_privkey_init(&xkey)) < 0 ||
	    (r = gnutls_x509_privkey_generate(xkey, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
	    (r = gnutls_privkey_init(&pkey)) < 0 ||
	    (r = gnutls_privkey_import_x509(pkey, xkey, 0)) < 0 ||
	    (r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, pkey, 0, 0)) < 0) {
		snprintf(err, errlen, "generating the TLS key of ca-core "
		    "failed: %s", gnutls_strerror(r));
		goto out;
	}

	memset(&req, 0, sizeof(req));
	req.pubkey = pub;
	req.names = (const char *const *)core->cfg->dns;
	req.nnames = core->cfg->ndns;
	req.common_name = core->cfg->dns[0];
	req.not_before = now - HTTPD_CERT_BACKDATE_S;
	req.not_after = now + HTTPD_CERT_LIFETIME_S;
	if (pki_sign_leaf(core->issuer, &req, &der, &serial, err,
	    errlen) == -1)
		goto out;

	if ((r = gnutls_x509_crt_init(&chain[0])) < 0 ||
	    (r = gnutls_x509_crt_import(chain[0], &der,
	    GNUTLS_X509_FMT_DER)) < 0) {
		snprintf(err, errlen, "reading back ca-core's TLS certificate "
		    "failed: %s", gnutls_strerror(r));
		goto out;
	}
	chain[1] = core->issuer->crt;
	if (tls_server_new(chain, 2, xkey, out, err, errlen) == -1)
		goto out;

	log_info("TLS certificate for %s issued, serial %s, valid %d days",
	    core->cfg->dns[0], serial, HTTPD_CERT_LIFETIME_S / 86400);
	ret = 0;
 out:
	if (chain[0] != NULL)
		gnutls_x509_crt_deinit(chain[0]);
	gnutls_free(der.data);
	free(serial);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (pkey != NULL)
		gnutls_privkey_deinit(pkey);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return ret;
}

static void
httpd_renew_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { HTTPD_CERT_RENEW_S, 0 };
	struct tls_server *fresh = NULL;
	char err[512];

	if (httpd_make_tls(httpd.core, &fresh, err, sizeof(err)) == -1) {
		log_error("reissuing ca-core's TLS certificate failed: %s; "
		    "retrying in %d s", err, HTTPD_CERT_RETRY_S);
		tv.tv_sec = HTTPD_CERT_RETRY_S;
	} else {
		/* Open connections keep their reference to the old one.
		 * NOTE: no test runs long enough to reach this swap. */
		tls_server_unref(httpd.tls);
		httpd.tls = fresh;
	}
	evtimer_add(httpd.renew, &tv);
}

/* Every request passes here, so the database is checked before each. */
static void
httpd_request(struct evhttp_request *req, void *arg)
{
	struct core *core = arg;
	struct evhttp_connection *evcon;

	/* evhttp falls back to a plain socket when tls_bevcb fails.  Such a
	 * connection gets an error reply and never ACME data. */
	evcon = evhttp_request_get_connection(req);
	if (evcon == NULL ||
	    !tls_bev_is_tls(evhttp_connection_get_bufferevent(evcon))) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	(void)core_db_ensure(core);
	acme_handle_request(req, core);
}

/* Bind one address and hand it to evhttp.  Returns 0, or -1 with errno
 * set. */
static int
httpd_bind_one(struct core *core, const struct addrinfo *ai)
{
	struct evconnlistener *l;
	int fd, on = 1, saved;

	if (httpd.nlisteners >= HTTPD_MAX_LISTENERS) {
		errno = ENOSPC;
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* An IPv6 socket takes only IPv6, so that 0.0.0.0 binds too. */
	if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;

	l = evconnlistener_new(core->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, HTTPD_BACKLOG, fd);
	if (l == NULL)
		goto fail;
	if (evhttp_bind_listener(core->http, l) == NULL) {
		evconnlistener_free(l);
		errno = ENOMEM;
		return -1;
	}
	httpd.listeners[httpd.nlisteners++] = l;
	return 0;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static const char *
httpd_addr_text(const struct addrinfo *ai, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN], port[8];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "(unprintable address)");
	else if (ai->ai_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
	return buf;
}

/* Bind every address of cfg->listen_host ("" is every address of both
 * families). */
static int
httpd_listen(struct core *core, char *err, size_t errlen)
{
	const struct ca_config *cfg = core->cfg;
	struct addrinfo hints, *res = NULL, *ai;
	const char *host;
	char port[16], addr[INET6_ADDRSTRLEN + 16];
	int r, ret = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	host = cfg->listen_host != NULL && cfg->listen_host[0] != '\0' ?
	    cfg->listen_host : NULL;
	snprintf(port, sizeof(port), "%d", cfg->listen_port);
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve listen address \"%s\": "
		    "%s; fix \"address\" in %s", host, gai_strerror(r),
		    cfg->path);
		goto out;
	}

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		httpd_addr_text(ai, addr, sizeof(addr));
		if (httpd_bind_one(core, ai) == 0) {
			log_info("listening on https://%s", addr);
			continue;
		}
		if (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL) {
			log_warn("cannot listen on %s: %s; skipping it", addr,
			    strerror(errno));
			continue;
		}
		snprintf(err, errlen, "cannot listen on %s: %s%s", addr,
		    strerror(errno), errno == EADDRINUSE ? "; another "
		    "process uses the port, stop it or change \"address\" "
		    "in the config" : "");
		goto out;
	}
	if (httpd.nlisteners == 0) {
		snprintf(err, errlen, "no address of \"%s\" port %d could be "
		    "bound; fix \"address\" in %s", host != NULL ? host : "",
		    cfg->listen_port, cfg->path);
		goto out;
	}
	ret = 0;
 out:
	if (res != NULL)
		freeaddrinfo(res);
	return ret;
}

/* "https://" + first DNS name (IPv6 in brackets) + ":port" unless 443. */
static int
httpd_base_url(struct core *core)
{
	const char *name = core->cfg->dns[0];
	int v6 = strchr(name, ':') != NULL, n;
	char port[16] = "";

	if (core->cfg->listen_port != 443)
		snprintf(port, sizeof(port), ":%d", core->cfg->listen_port);
	free(core->base_url);
	n = asprintf(&core->base_url, "https://%s%s%s%s", v6 ? "[" : "", name,
	    v6 ? "]" : "", port);
	if (n == -1) {
		core->base_url = NULL;
		return -1;
	}
	return 0;
}

int
httpd_start(struct core *core, char *err, size_t errlen)
{
	struct timeval renew = { HTTPD_CERT_RENEW_S, 0 };
	int ret = -1;

	memset(&httpd, 0, sizeof(httpd));
	httpd.core = core;

	if (core->cfg->ndns == 0) {
		snprintf(err, errlen, "no DNS name for ca-core in %s; add one "
		    "to \"dns\"", core->cfg->path);
		goto out;
	}
	if (httpd_base_url(core) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (httpd_make_tls(core, &httpd.tls, err, errlen) == -1)
		goto out;
	if ((httpd.renew = evtimer_new(core->base, httpd_renew_cb,
	    NULL)) == NULL || evtimer_add(httpd.renew, &renew) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	if ((core->http = evhttp_new(core->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		goto out;
	}
	evhttp_set_max_body_size(core->http, HTTPD_MAX_BODY);
	evhttp_set_max_headers_size(core->http, HTTPD_MAX_HEADERS);
	evhttp_set_timeout(core->http, HTTPD_TIMEOUT_S);
	/* Methods ACME does not use still reach the handlers, so that they
	 * are answered with 405 and a problem document (RFC 8555 6.7). */
	evhttp_set_allowed_methods(core->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_bevcb(core->http, tls_bevcb, &httpd.tls);
	evhttp_set_gencb(core->http, httpd_request, core);

	if (httpd_listen(core, err, errlen) == -1)
		goto out;
	log_info("ACME base URL %s", core->base_url);
	ret = 0;
 out:
	if (ret == -1)
		httpd_stop(core);
	return ret;
}

void
httpd_stop(struct core *core)
{
	/* evhttp_free frees the listeners bound with evhttp_bind_listener
	 * and every open connection. */
	tls_stop();
	if (core->http != NULL) {
		evhttp_free(core->http);
		core->http = NULL;
	} else {
		while (httpd.nlisteners > 0)
			evconnlistener_free(httpd.listeners[--httpd.nlisteners]);
	}
	httpd.nlisteners = 0;
	if (httpd.renew != NULL) {
		event_free(httpd.renew);
		httpd.renew = NULL;
	}
	tls_server_unref(httpd.tls);
	httpd.tls = NULL;
}
