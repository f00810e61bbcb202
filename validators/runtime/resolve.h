/*
 * Asynchronous A and AAAA lookups through libunbound, driven by the
 * validator's event loop.  One libunbound context is kept per resolver
 * option ("" for the system resolver from /etc/resolv.conf and
 * /etc/hosts), so the cache
 * and the worker thread are shared by all validations that use it.
 */
#ifndef VALIDATOR_RESOLVE_H
#define VALIDATOR_RESOLVE_H

#include <netinet/in.h>

#include <stddef.h>

struct event_base;
struct resolve_query;

/* Addresses kept per lookup; further ones are ignored. */
#define RESOLVE_MAX_ADDRS	16
/* Distinct resolver options served by one process. */
#define RESOLVE_MAX_CONTEXTS	16

enum resolve_status {
	RESOLVE_OK,		/* at least one address */
	RESOLVE_NXDOMAIN,	/* the name does not exist */
	RESOLVE_NO_ADDRESS,	/* the name exists with no A or AAAA */
	RESOLVE_FAILED		/* SERVFAIL, REFUSED, resolver unreachable */
};

struct resolve_address {
	int	 family;			/* AF_INET or AF_INET6 */
	char	 text[INET6_ADDRSTRLEN];
};

struct resolve_result {
	enum resolve_status	 status;
	char			 detail[256];	/* why, for RESOLVE_FAILED */
	size_t			 naddrs;
	/* IPv4 addresses first, then IPv6, each in the resolver's order. */
	struct resolve_address	 addrs[RESOLVE_MAX_ADDRS];
};

/* Called once per started query from the event loop; the query is freed
 * after the callback returns and must not be cancelled then. */
typedef void resolve_done_fn(const struct resolve_result *, void *arg);

/*
 * Create the system resolver's context from /etc/resolv.conf and
 * /etc/hosts, before the sandbox forbids reading them.  Returns 0, or -1
 * with a reason in err; lookups with no resolver option then fail with
 * that reason.  Without this call the context is created on first use.
 */
int	 resolve_init(char *err, size_t errlen);

/*
 * Start looking up A and AAAA for name.  resolver is libunbound's forwarder
 * form "IP@PORT" (see check_resolver()) or NULL for the system resolver.
 * Returns 0 with the query in *out, or -1 with a reason in err.
 */
int	 resolve_start(struct event_base *, const char *name,
	    const char *resolver, resolve_done_fn *, void *arg,
	    struct resolve_query **out, char *err, size_t errlen);

/* Stop a query whose callback has not run yet; the callback never runs. */
void	 resolve_cancel(struct resolve_query *);

/* Delete every context; call with no query in flight, before the event
 * base is freed. */
void	 resolve_shutdown(void);

#endif
