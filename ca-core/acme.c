/*
 * The ACME router: maps /acme/PROVISIONER/... requests to their handlers.
 *
 * Interface: acme.h (acme_handle_request, acme_resume_validations) and,
 * for the other acme_*.c files, the request context and helpers declared
 * in acme_internal.h.  For every request the router picks the base URL
 * from the Host header and looks the provisioner up by name in the
 * database, so provisioners added by caadm apply at once.  It then checks
 * the method and, for POST, verifies the JWS before the handler runs.  An unknown path or
 * provisioner is a 404 problem.  A database failure is a 500
 * serverInternal logged at error level.  Nothing here is fatal to the
 * process.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acme.h"
#include "acme_internal.h"
#include "acme_syntax.h"
#include "core.h"
#include "db.h"
#include "log.h"
#include "nonce.h"

#define ACME_HOST_MAX	300

static const struct acme_route acme_routes[] = {
	/* RFC 8555 section 6.3: the directory and newNonce also take
	 * POST-as-GET.  It may be signed with "kid" or, since a client reads
	 * both before it has an account, with "jwk". */
	{ "directory", 0, NULL, ACME_GET | ACME_HEAD | ACME_POST,
	    ACME_AUTH_EITHER, acme_handle_directory },
	{ "new-nonce", 0, NULL, ACME_GET | ACME_HEAD | ACME_POST,
	    ACME_AUTH_EITHER, acme_handle_new_nonce },
	{ "new-account", 0, NULL, ACME_POST, ACME_AUTH_JWK,
	    acme_handle_new_account },
	{ "account", 1, NULL, ACME_POST, ACME_AUTH_KID,
	    acme_handle_account },
	{ "account", 1, "orders", ACME_POST, ACME_AUTH_KID,
	    acme_handle_account_orders },
	{ "new-order", 0, NULL, ACME_POST, ACME_AUTH_KID,
	    acme_handle_new_order },
	{ "order", 1, NULL, ACME_POST, ACME_AUTH_KID, acme_handle_order },
	{ "order", 1, "finalize", ACME_POST, ACME_AUTH_KID,
	    acme_handle_finalize },
	{ "authz", 1, NULL, ACME_POST, ACME_AUTH_KID, acme_handle_authz },
	{ "chall", 1, NULL, ACME_POST, ACME_AUTH_KID, acme_handle_challenge },
	{ "cert", 1, NULL, ACME_POST, ACME_AUTH_KID, acme_handle_certificate },
	{ "revoke-cert", 0, NULL, ACME_POST, ACME_AUTH_EITHER,
	    acme_handle_revoke_cert },
	{ "key-change", 0, NULL, ACME_POST, ACME_AUTH_KID,
	    acme_handle_key_change },
};

void
acme_request_free(struct acme_request *r)
{
	if (r == NULL)
		return;
	free(r->base);
	free(r->prefix);
	free(r->url);
	free(r->object_id);
	free(r->prov.id);
	free(r->prov.name);
	json_object_put(r->prov.options);
	jws_free(r->jws);
	jwk_free(r->key);
	json_object_put(r->payload);
	free(r->account.id);
	free(r->account.status);
	free(r);
}

PGresult *
acme_db(struct core *core, const char *sql, int nparams,
    const char *const *params)
{
	char err[512];
	PGresult *res;

	res = db_exec(core->db, sql, nparams, params, err, sizeof(err));
	if (res == NULL)
		log_error("acme: database query failed: %s", err);
	return res;
}

static int
acme_db_simple(struct core *core, const char *sql)
{
	PGresult *res;

	if ((res = acme_db(core, sql, 0, NULL)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
acme_db_begin(struct core *core)
{
	return acme_db_simple(core, "BEGIN");
}

int
acme_db_commit(struct core *core)
{
	if (acme_db_simple(core, "COMMIT") == 0)
		return 0;
	acme_db_rollback(core);
	return -1;
}

void
acme_db_rollback(struct core *core)
{
	/* After a failed statement the transaction is aborted; ROLLBACK
	 * ends it.  Outside a transaction it only warns. */
	if (PQtransactionStatus(core->db) != PQTRANS_IDLE)
		(void)acme_db_simple(core, "ROLLBACK");
}

char *
acme_url(const char *prefix, const char *kind, const char *id,
    const char *suffix)
{
	char *url = NULL;
	int n;

	if (id == NULL)
		n = asprintf(&url, "%s/%s", prefix, kind);
	else if (suffix == NULL)
		n = asprintf(&url, "%s/%s/%s", prefix, kind, id);
	else
		n = asprintf(&url, "%s/%s/%s/%s", prefix, kind, id, suffix);
	return n == -1 ? NULL : url;
}

int
acme_json_add_string(struct json_object *obj, const char *key,
    const char *value)
{
	struct json_object *s;

	if (value == NULL || (s = json_object_new_string(value)) == NULL)
		return -1;
	if (json_object_object_add(obj, key, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

int
acme_json_add_time(struct json_object *obj, const char *key,
    const char *epoch_text)
{
	char buf[ACME_TIME_LEN];

	acme_time_format((time_t)strtoll(epoch_text, NULL, 10), buf);
	return acme_json_add_string(obj, key, buf);
}

/* Split a Host header into host and optional port.  Returns 0, or -1 for
 * a value that is not HOST, HOST:PORT, [V6] or [V6]:PORT. */
static int
acme_host_split(const char *value, char *host, size_t hostlen, int *port)
{
	const char *end, *colon;
	size_t len;
	char *stop;
	long p;

	*port = -1;
	if (value[0] == '[') {
		if ((end = strchr(value, ']')) == NULL)
			return -1;
		len = (size_t)(end - value - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
		value++;
	} else {
		colon = strchr(value, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1;
		len = colon != NULL ? (size_t)(colon - value) : strlen(value);
	}
	if (len == 0 || len >= hostlen)
		return -1;
	memcpy(host, value, len);
	host[len] = '\0';
	if (colon == NULL)
		return 0;
	if (colon[1] == '\0' || strlen(colon + 1) > 5)
		return -1;
	p = strtol(colon + 1, &stop, 10);
	if (*stop != '\0' || !isdigit((unsigned char)colon[1]) || p < 1 ||
	    p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* The base URL for links: the Host header when it names this CA, else the
 * configured base URL. */
static char *
acme_base_url(struct acme_request *r)
{
	const struct ca_config *cfg = r->core->cfg;
	const char *value;
	char host[ACME_HOST_MAX], *base = NULL;
	size_t i;
	int port;

	value = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Host");
	if (value != NULL && strlen(value) < ACME_HOST_MAX &&
	    acme_host_split(value, host, sizeof(host), &port) == 0 &&
	    (port == -1 || port == cfg->listen_port)) {
		for (i = 0; i < cfg->ndns; i++) {
			if (strcasecmp(cfg->dns[i], host) != 0)
				continue;
			if (asprintf(&base, "https://%s", value) == -1)
				return NULL;
			return base;
		}
	}
	return strdup(r->core->base_url);
}

/* Look the provisioner up by name.  Returns 0, 1 when there is none, -1
 * on a database error. */
static int
acme_provisioner_load(struct acme_request *r, const char *name)
{
	const char *params[1] = { name };
	PGresult *res;
	int ret = -1;

	res = acme_db(r->core, "SELECT id, options::text FROM provisioners "
	    "WHERE name = $1 AND type = 'ACME'", 1, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		ret = 1;
		goto out;
	}
	r->prov.id = strdup(PQgetvalue(res, 0, 0));
	r->prov.name = strdup(name);
	r->prov.options = json_tokener_parse(PQgetvalue(res, 0, 1));
	if (r->prov.options == NULL ||
	    !json_object_is_type(r->prov.options, json_type_object)) {
		log_error("acme: options of provisioner %s are not a JSON "
		    "object", name);
		json_object_put(r->prov.options);
		r->prov.options = json_object_new_object();
	}
	if (r->prov.id == NULL || r->prov.name == NULL ||
	    r->prov.options == NULL)
		goto out;
	ret = 0;
 out:
	PQclear(res);
	return ret;
}

static int
acme_method_bit(enum evhttp_cmd_type method)
{
	switch (method) {
	case EVHTTP_REQ_GET:
		return ACME_GET;
	case EVHTTP_REQ_HEAD:
		return ACME_HEAD;
	case EVHTTP_REQ_POST:
		return ACME_POST;
	default:
		return 0;
	}
}

static void
acme_reply_method_not_allowed(struct acme_request *r, int methods)
{
	char allow[32];

	snprintf(allow, sizeof(allow), "%s%s%s",
	    (methods & ACME_GET) ? "GET, " : "",
	    (methods & ACME_HEAD) ? "HEAD, " : "",
	    (methods & ACME_POST) ? "POST, " : "");
	/* Every route allows at least one method; drop the last ", ". */
	allow[strlen(allow) - 2] = '\0';
	acme_add_header(r, "Allow", allow);
	acme_reply_problem(r, 405, "malformed", "method not allowed here; "
	    "use %s", allow);
}

/* Split the path after /acme/ into at most 4 non-empty segments.
 * Returns the count, or -1 when the path does not fit. */
static int
acme_path_split(const char *path, char *buf, size_t buflen, char *seg[4])
{
	size_t len;
	int n = 0;
	char *p;

	if (strncmp(path, "/acme/", 6) != 0)
		return -1;
	path += 6;
	if ((len = strlen(path)) == 0 || len >= buflen)
		return -1;
	memcpy(buf, path, len + 1);
	for (p = buf; n < 4; n++) {
		seg[n] = p;
		if ((p = strchr(p, '/')) != NULL)
			*p++ = '\0';
		if (*seg[n] == '\0')
			return -1;
		if (p == NULL)
			return n + 1;
	}
	return -1;
}

static const struct acme_route *
acme_route_find(char *seg[4], int nseg)
{
	const struct acme_route *rt;
	size_t i;
	int want;

	for (i = 0; i < sizeof(acme_routes) / sizeof(acme_routes[0]); i++) {
		rt = &acme_routes[i];
		want = 2 + rt->has_id + (rt->suffix != NULL);
		if (nseg != want || strcmp(seg[1], rt->name) != 0)
			continue;
		if (rt->suffix != NULL && strcmp(seg[3], rt->suffix) != 0)
			continue;
		return rt;
	}
	return NULL;
}

/* Find route, provisioner and object id.  Returns 0, or -1 after
 * replying. */
static int
acme_route_request(struct acme_request *r)
{
	const struct evhttp_uri *uri;
	const char *path = NULL;
	char buf[512], *seg[4], escaped[64];
	int nseg, found;

	if ((uri = evhttp_request_get_evhttp_uri(r->req)) != NULL)
		path = evhttp_uri_get_path(uri);
	nseg = path != NULL ? acme_path_split(path, buf, sizeof(buf), seg) : -1;
	if (nseg < 1) {
		acme_reply_problem(r, 404, "malformed", "no ACME resource at "
		    "this path");
		return -1;
	}

	/* The provisioner comes first, so that a 404 for an unknown
	 * resource of a known provisioner links to its directory. */
	found = acme_provisioner_load(r, seg[0]);
	if (found == -1) {
		acme_reply_internal(r, "provisioner lookup failed");
		return -1;
	}
	if (found == 1) {
		log_debug("acme: request for unknown provisioner \"%s\"",
		    log_escape(seg[0], strlen(seg[0]), escaped,
		    sizeof(escaped)));
		acme_reply_problem(r, 404, "malformed", "no ACME provisioner "
		    "of that name");
		return -1;
	}
	if (asprintf(&r->prefix, "%s/acme/%s", r->base, r->prov.name) == -1) {
		r->prefix = NULL;
		acme_reply_internal(r, "out of memory");
		return -1;
	}
	if (nseg < 2 || (r->route = acme_route_find(seg, nseg)) == NULL) {
		acme_reply_problem(r, 404, "malformed", "no ACME resource at "
		    "this path");
		return -1;
	}
	if (r->route->has_id && (r->object_id = strdup(seg[2])) == NULL) {
		acme_reply_internal(r, "out of memory");
		return -1;
	}
	return 0;
}

/* Set up the context: database connection, base and request URLs. */
static int
acme_request_init(struct acme_request *r)
{
	const char *target;

	if (core_db_ensure(r->core) != 0) {
		acme_reply_internal(r, "database unavailable");
		return -1;
	}
	(void)nonce_prune_start(r->core);

	target = evhttp_request_get_uri(r->req);
	if ((r->base = acme_base_url(r)) == NULL || target == NULL ||
	    asprintf(&r->url, "%s%s", r->base, target) == -1) {
		r->url = NULL;
		acme_reply_internal(r, "out of memory");
		return -1;
	}
	return 0;
}

void
acme_handle_request(struct evhttp_request *req, void *arg)
{
	struct acme_request *r;
	int bit;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_error("acme: out of memory for a request");
		evhttp_send_error(req, 500, NULL);
		return;
	}
	r->core = arg;
	r->req = req;
	r->method = evhttp_request_get_command(req);

	if (acme_request_init(r) == -1 || acme_route_request(r) == -1)
		goto done;

	bit = acme_method_bit(r->method);
	if ((r->route->methods & bit) == 0) {
		acme_reply_method_not_allowed(r, r->route->methods);
		goto done;
	}
	if (r->method == EVHTTP_REQ_POST && acme_verify_post(r) == -1)
		goto done;
	if (r->route->handler(r) == ACME_HELD)
		return;
 done:
	acme_request_free(r);
}
