/*
 * The ACME API (RFC 8555) under /acme/PROVISIONER/...
 */
#ifndef CA_ACME_H
#define CA_ACME_H

#include <event2/http.h>

struct core;

/* evhttp generic callback; arg is the struct core. */
void	 acme_handle_request(struct evhttp_request *req, void *arg);

/* Re-dispatch challenges left in "processing" by a previous run. */
int	 acme_resume_validations(struct core *);

#endif
