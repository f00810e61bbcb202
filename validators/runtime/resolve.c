/*
 * A and AAAA lookups through libunbound for the validators.  Each context
 * runs libunbound's resolver in a worker thread (ub_ctx_async).  The event
 * loop watches the descriptor from ub_fd() and calls ub_process(), so the
 * callbacks run in the loop's thread.
 *
 * Interface (resolve.h): resolve_init(), resolve_start(), resolve_cancel(),
 * resolve_shutdown().  resolve_init() creates the system resolver's
 * context before the sandbox is entered; forwarder contexts are created on
 * first use and read no file.
 *
 * Errors: a failing lookup is an ordinary result (RESOLVE_FAILED with a
 * reason).  Failing to create a context, or more distinct resolvers than
 * RESOLVE_MAX_CONTEXTS, makes resolve_start() return -1 for that request
 * only; nothing here is fatal.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound.h>

#include "resolve.h"
#include "runtime.h"

#define RESOLVE_TYPE_A		1
#define RESOLVE_TYPE_AAAA	28
#define RESOLVE_CLASS_IN	1
#define RESOLVE_RCODE_NXDOMAIN	3

struct resolve_context {
	char		 resolver[VALIDATION_MAX_RESOLVER_LEN + 8]; /* "" = system */
	struct ub_ctx	*ctx;
	struct event	*ev;
};

/* One of the two lookups (A, AAAA) of a query. */
struct resolve_part {
	struct resolve_query	*query;
	int			 rrtype;
	int			 async_id;
	int			 pending;
	int			 err;		/* libunbound error, 0 = none */
	int			 rcode;
	int			 nxdomain;
	size_t			 naddrs;
	struct resolve_address	 addrs[RESOLVE_MAX_ADDRS];
};

struct resolve_query {
	struct resolve_context	*context;
	struct resolve_part	 parts[2];	/* A, then AAAA */
	resolve_done_fn		*done;
	void			*arg;
};

static struct resolve_context resolve_contexts[RESOLVE_MAX_CONTEXTS];
static size_t resolve_ncontexts;
/* Set when resolve_init() failed; the system resolver is then never
 * retried, because its files cannot be read inside the sandbox. */
static int resolve_system_failed;
static char resolve_system_error[256];

static void
resolve_process_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolve_context *c = arg;
	int err;

	if ((err = ub_process(c->ctx)) != 0)
		vlog(VLOG_WARN, "resolver %s: ub_process failed: %s",
		    c->resolver[0] != '\0' ? c->resolver : "(system)",
		    ub_strerror(err));
}

/*
 * By default libunbound returns NXDOMAIN itself for the special-use zones
 * of RFC 6761 and RFC 8375.  Private PKI names often live under
 * test. and home.arpa., so those go to the configured resolver instead.
 * localhost., invalid. and onion. stay blocked.
 */
static int
resolve_unblock_zones(struct ub_ctx *ctx)
{
	static const char *const zones[] = { "test.", "home.arpa." };
	size_t i;
	int r;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if ((r = ub_ctx_zone_remove(ctx, zones[i])) != 0)
			return r;
	}
	return 0;
}

/* Create and configure the libunbound context of c.  With resolver NULL
 * this reads /etc/resolv.conf and /etc/hosts, so it must run before the
 * sandbox is entered; a forwarder context reads no file. */
static int
resolve_context_create(struct resolve_context *c, const char *resolver,
    char *err, size_t errlen)
{
	int r;

	memset(c, 0, sizeof(*c));
	if ((c->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "cannot create a libunbound context");
		return -1;
	}

	/* Threads, not the default fork(2), run the lookups. */
	if ((r = ub_ctx_async(c->ctx, 1)) != 0)
		goto fail;

	/* Private PKI resolvers often listen on loopback, which unbound
	 * refuses to query by default. */
	if ((r = ub_ctx_set_option(c->ctx, "do-not-query-localhost:",
	    "no")) != 0)
		goto fail;
	if (resolver != NULL)
		r = ub_ctx_set_fwd(c->ctx, resolver);
	else if ((r = ub_ctx_resolvconf(c->ctx, NULL)) == 0)
		r = ub_ctx_hosts(c->ctx, NULL);
	if (r != 0)
		goto fail;
	if ((r = resolve_unblock_zones(c->ctx)) != 0)
		goto fail;
	snprintf(c->resolver, sizeof(c->resolver), "%s",
	    resolver != NULL ? resolver : "");
	return 0;
 fail:
	snprintf(err, errlen, "cannot configure resolver %s: %s%s",
	    resolver != NULL ? resolver : "(system)", ub_strerror(r),
	    r == UB_READFILE ? " (/etc/resolv.conf or /etc/hosts)" : "");
	ub_ctx_delete(c->ctx);
	memset(c, 0, sizeof(*c));
	return -1;
}

/* Watch the context's descriptor from the event loop, once. */
static int
resolve_context_attach(struct resolve_context *c, struct event_base *base,
    char *err, size_t errlen)
{
	if (c->ev != NULL)
		return 0;
	if ((c->ev = event_new(base, ub_fd(c->ctx), EV_READ | EV_PERSIST,
	    resolve_process_cb, c)) == NULL || event_add(c->ev, NULL) == -1) {
		if (c->ev != NULL)
			event_free(c->ev);
		c->ev = NULL;
		snprintf(err, errlen, "cannot watch the libunbound descriptor");
		return -1;
	}
	return 0;
}

int
resolve_init(char *err, size_t errlen)
{
	struct resolve_context *c = &resolve_contexts[0];

	if (resolve_ncontexts > 0 || resolve_system_failed)
		return 0;
	if (resolve_context_create(c, NULL, err, errlen) == -1) {
		snprintf(resolve_system_error, sizeof(resolve_system_error),
		    "%s", err);
		resolve_system_failed = 1;
		return -1;
	}
	resolve_ncontexts = 1;
	vlog(VLOG_DEBUG, "resolver (system): context created from "
	    "/etc/resolv.conf and /etc/hosts");
	return 0;
}

static struct resolve_context *
resolve_context_get(struct event_base *base, const char *resolver,
    char *err, size_t errlen)
{
	const char *key = resolver != NULL ? resolver : "";
	struct resolve_context *c;
	size_t i;

	if (resolver == NULL && resolve_system_failed) {
		snprintf(err, errlen, "system resolver unavailable: %s",
		    resolve_system_error);
		return NULL;
	}
	for (i = 0; i < resolve_ncontexts; i++) {
		c = &resolve_contexts[i];
		if (strcmp(c->resolver, key) == 0)
			return resolve_context_attach(c, base, err, errlen) ==
			    0 ? c : NULL;
	}
	if (resolve_ncontexts == RESOLVE_MAX_CONTEXTS) {
		snprintf(err, errlen, "more than %d distinct resolvers in use",
		    RESOLVE_MAX_CONTEXTS);
		return NULL;
	}
	c = &resolve_contexts[resolve_ncontexts];
	if (resolve_context_create(c, resolver, err, errlen) == -1)
		return NULL;
	if (resolve_context_attach(c, base, err, errlen) == -1) {
		ub_ctx_delete(c->ctx);
		memset(c, 0, sizeof(*c));
		return NULL;
	}
	resolve_ncontexts++;
	vlog(VLOG_INFO, "resolver %s: context created",
	    resolver != NULL ? resolver : "(system)");
	return c;
}

/* Copy the addresses of one libunbound result into its part. */
static void
resolve_collect(struct resolve_part *part, const struct ub_result *result)
{
	int family = part->rrtype == RESOLVE_TYPE_A ? AF_INET : AF_INET6;
	size_t want = family == AF_INET ? 4 : 16;
	struct resolve_address *a;
	int i;

	part->rcode = result->rcode;
	part->nxdomain = result->nxdomain;
	if (!result->havedata)
		return;
	for (i = 0; result->data[i] != NULL; i++) {
		if (part->naddrs == RESOLVE_MAX_ADDRS)
			break;
		if (result->len[i] < 0 || (size_t)result->len[i] != want)
			continue;
		a = &part->addrs[part->naddrs];
		if (inet_ntop(family, result->data[i], a->text,
		    sizeof(a->text)) == NULL)
			continue;
		a->family = family;
		part->naddrs++;
	}
}

static const char *
resolve_rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR",
	    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return "an unknown rcode";
}

static void
resolve_describe_failure(const struct resolve_query *q,
    struct resolve_result *res)
{
	const struct resolve_part *p;
	size_t i, used;
	int n;

	res->detail[0] = '\0';
	for (i = 0; i < 2; i++) {
		p = &q->parts[i];
		used = strlen(res->detail);
		if (p->err != 0)
			n = snprintf(res->detail + used,
			    sizeof(res->detail) - used, "%s%s query failed: %s",
			    i > 0 ? ", " : "", i == 0 ? "A" : "AAAA",
			    ub_strerror(p->err));
		else
			n = snprintf(res->detail + used,
			    sizeof(res->detail) - used, "%s%s query returned "
			    "%s (rcode %d)", i > 0 ? ", " : "",
			    i == 0 ? "A" : "AAAA", resolve_rcode_name(p->rcode),
			    p->rcode);
		if (n < 0 || (size_t)n >= sizeof(res->detail) - used)
			break;
	}
}

/* Merge the results of both parts and call back. */
static void
resolve_complete(struct resolve_query *q)
{
	struct resolve_result res;
	size_t i, j;
	int failed = 0, nxdomain = 0;

	memset(&res, 0, sizeof(res));
	for (i = 0; i < 2; i++) {
		const struct resolve_part *p = &q->parts[i];

		for (j = 0; j < p->naddrs && res.naddrs < RESOLVE_MAX_ADDRS;
		    j++)
			res.addrs[res.naddrs++] = p->addrs[j];
		if (p->err != 0 || (p->rcode != 0 && !p->nxdomain))
			failed++;
		if (p->nxdomain)
			nxdomain++;
	}

	/* Addresses of one family are enough.  The lookup fails when both
	 * queries fail, or one fails and the other returns no data. */
	if (res.naddrs > 0)
		res.status = RESOLVE_OK;
	else if (failed > 0)
		res.status = RESOLVE_FAILED;
	else if (nxdomain > 0)
		res.status = RESOLVE_NXDOMAIN;
	else
		res.status = RESOLVE_NO_ADDRESS;
	if (res.status == RESOLVE_FAILED)
		resolve_describe_failure(q, &res);

	q->done(&res, q->arg);
	free(q);
}

static void
resolve_answer_cb(void *arg, int err, struct ub_result *result)
{
	struct resolve_part *part = arg;
	struct resolve_query *q = part->query;

	part->pending = 0;
	part->err = err;
	if (err == 0 && result != NULL)
		resolve_collect(part, result);
	if (result != NULL)
		ub_resolve_free(result);

	if (!q->parts[0].pending && !q->parts[1].pending)
		resolve_complete(q);
}

int
resolve_start(struct event_base *base, const char *name,
    const char *resolver, resolve_done_fn *done, void *arg,
    struct resolve_query **out, char *err, size_t errlen)
{
	struct resolve_query *q = NULL;
	size_t i;
	int r;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((q->context = resolve_context_get(base, resolver, err,
	    errlen)) == NULL) {
		free(q);
		return -1;
	}
	q->done = done;
	q->arg = arg;
	q->parts[0].rrtype = RESOLVE_TYPE_A;
	q->parts[1].rrtype = RESOLVE_TYPE_AAAA;

	for (i = 0; i < 2; i++) {
		struct resolve_part *p = &q->parts[i];

		p->query = q;
		if ((r = ub_resolve_async(q->context->ctx, name, p->rrtype,
		    RESOLVE_CLASS_IN, p, resolve_answer_cb,
		    &p->async_id)) != 0) {
			snprintf(err, errlen, "cannot start the lookup: %s",
			    ub_strerror(r));
			resolve_cancel(q);
			return -1;
		}
		p->pending = 1;
	}
	*out = q;
	return 0;
}

void
resolve_cancel(struct resolve_query *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (q->parts[i].pending)
			(void)ub_cancel(q->context->ctx, q->parts[i].async_id);
	}
	free(q);
}

void
resolve_shutdown(void)
{
	size_t i;

	for (i = 0; i < resolve_ncontexts; i++) {
		if (resolve_contexts[i].ev != NULL)
			event_free(resolve_contexts[i].ev);
		ub_ctx_delete(resolve_contexts[i].ctx);
		memset(&resolve_contexts[i], 0, sizeof(resolve_contexts[i]));
	}
	resolve_ncontexts = 0;
}
