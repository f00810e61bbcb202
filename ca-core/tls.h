/*
 * GnuTLS around evhttp's connections.  libevent ships no GnuTLS
 * bufferevent, so every accepted connection becomes a filtering
 * bufferevent whose filters run a GnuTLS server session over a socket
 * bufferevent.
 */
#ifndef CA_TLS_H
#define CA_TLS_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct event_base;
struct bufferevent;
struct tls_server;

/* TLS 1.3 and 1.2 only. */
#define TLS_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* A peer must finish the handshake this long after connecting. */
#define TLS_HANDSHAKE_TIMEOUT_S	10

/* Create server credentials from a certificate chain (leaf first) and the
 * leaf's key.  The certificates and the key are copied, so the caller
 * keeps and frees its own.  Returns 0 and a server with one reference, or
 * -1 with err. */
int	 tls_server_new(gnutls_x509_crt_t *chain, unsigned nchain,
	    gnutls_x509_privkey_t key, struct tls_server **out, char *err,
	    size_t errlen);

/* Drop a reference.  Every connection takes one, so credentials that
 * were replaced stay alive until their last connection closes. */
void	 tls_server_unref(struct tls_server *);

/* evhttp_set_bevcb callback: arg points to the struct tls_server *
 * variable that contains the current server, so it can be replaced while
 * running.  Returns a new filtering bufferevent with no descriptor yet
 * (evhttp sets it).  Returns NULL only when memory is exhausted. */
struct bufferevent *tls_bevcb(struct event_base *, void *arg);

/* Close every connection still in a lingering close and start no new
 * ones.  Call before freeing the evhttp and the event base. */
void	 tls_stop(void);

/* 1 when bev was made by tls_bevcb, so a connection that evhttp made
 * without TLS (after tls_bevcb returned NULL) can be rejected. */
int	 tls_bev_is_tls(struct bufferevent *bev);

#endif
