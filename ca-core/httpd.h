/*
 * The HTTPS front: a listening socket, GnuTLS around every accepted
 * connection, and evhttp on top.  Requests go to acme_handle_request.
 */
#ifndef CA_HTTPD_H
#define CA_HTTPD_H

#include <stddef.h>

struct core;

/* Issue ca-core's own TLS certificate from the intermediate for the
 * configured DNS names, bind cfg->listen_host:listen_port and start
 * serving on core->base.  Returns 0 or -1 with err. */
int	 httpd_start(struct core *, char *err, size_t errlen);
void	 httpd_stop(struct core *);

#endif
