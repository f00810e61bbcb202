/*
 * Standalone http-01 responder (RFC 8555 section 8.3): a small HTTP/1.1
 * server in its own thread that serves
 * GET /.well-known/acme-challenge/TOKEN with the key authorization.
 */
#ifndef CAADM_RESPONDER_H
#define CAADM_RESPONDER_H

#include <stddef.h>

#define RESPONDER_MAX_TOKENS	100
#define RESPONDER_MAX_TOKEN_LEN	256

struct responder;

/* Listen on host:port (host "" means every IPv4 and IPv6 address) and
 * start serving in a new thread.  Returns 0 and a new responder in *out,
 * or -1 with a message in err (for example when the port is in use). */
int	 responder_start(const char *host, int port, struct responder **out,
	    char *err, size_t errlen);

/* Serve keyauth for token (both copied).  The token must be base64url.
 * Returns 0, or -1 with a message in err. */
int	 responder_add(struct responder *, const char *token,
	    const char *keyauth, char *err, size_t errlen);

/* Stop serving token; unknown tokens are ignored. */
void	 responder_remove(struct responder *, const char *token);

/* Number of challenge requests answered with 200 so far. */
unsigned long	 responder_hits(struct responder *);

/* Stop the thread, close the sockets and free everything.  Accepts NULL. */
void	 responder_stop(struct responder *);

#endif
