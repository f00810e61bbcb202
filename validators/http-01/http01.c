/*
 * The http-01 validator (RFC 8555 section 8.3, RFC 8738 for IP
 * identifiers): resolve the identifier's A and AAAA records (or take the
 * IP address as is), fetch
 * http://IDENTIFIER[:PORT]/.well-known/acme-challenge/TOKEN from the
 * first address that responds, IPv4 addresses first, and compare the body
 * with the key authorization.
 *
 * Interface: main() hands the validator below to runtime_main(), which
 * calls http01_start() for each validate request.
 *
 * Errors: every failure of one validation (bad token or identifier, DNS
 * failure, refused or timed-out connection, wrong status or body) becomes
 * an invalid result with an ACME problem, logged with the request id.
 * None of it affects other validations.  Fatal errors belong
 * to the runtime (socket, sandbox, event loop).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "keyauth.h"
#include "resolve.h"
#include "runtime.h"

#define HTTP01_NAME		"ca-validator-http-01"
#define HTTP01_VERSION		"0.1.0"
/* RFC 8555 expects a key authorization of well under 100 bytes; a larger
 * body cannot match and is not read. */
#define HTTP01_MAX_BODY		8192
#define HTTP01_MAX_HEADERS	8192
#define HTTP01_EXCERPT_LEN	64
#define HTTP01_PATH_PREFIX	"/.well-known/acme-challenge/"

struct http01 {
	struct validation		*v;
	const struct validation_request	*req;
	struct resolve_query		*query;
	struct evhttp_connection	*evcon;

	char			 host[VALIDATION_MAX_IDENTIFIER_LEN + 16];
	char			 path[sizeof(HTTP01_PATH_PREFIX) +
				    VALIDATION_MAX_TOKEN_LEN];
	char			 url[VALIDATION_MAX_IDENTIFIER_LEN +
				    VALIDATION_MAX_TOKEN_LEN + 64];

	struct resolve_address	 addrs[RESOLVE_MAX_ADDRS];
	size_t			 naddrs;
	size_t			 next;		/* next address to try */
	const char		*address_used;

	/* The attempt in progress. */
	int			 http_error;	/* from the error callback */
	int			 got_http_error;
	struct timespec		 attempt_start;
	int64_t			 attempt_ms;
	char			 last_failure[192];
};

static const char *const http01_types[] = { "http-01" };

static void	http01_start(struct validation *);
static void	http01_try_next(struct http01 *);

/* Lookups through libunbound and the HTTP fetch need IPv4 and IPv6
 * sockets only. */
static const int http01_socket_families[] = { AF_INET, AF_INET6 };

static const struct validator http01_validator = {
	.name = HTTP01_NAME,
	.version = HTTP01_VERSION,
	.challenge_types = http01_types,
	.nchallenge_types = 1,
	.start = http01_start,
	.socket_families = http01_socket_families,
	.nsocket_families = sizeof(http01_socket_families) /
	    sizeof(http01_socket_families[0]),
};

static void
http01_free(struct http01 *h)
{
	if (h == NULL)
		return;
	resolve_cancel(h->query);
	if (h->evcon != NULL)
		evhttp_connection_free(h->evcon);
	free(h);
}

static void
http01_cancel(struct validation *v, void *arg)
{
	http01_free(arg);
}

/* Build the records array: one record for the one URL fetched. */
static struct json_object *
http01_records(const struct http01 *h)
{
	struct json_object *records = NULL, *rec = NULL, *resolved = NULL;
	struct json_object *ret = NULL;
	size_t i;

	if ((records = json_object_new_array()) == NULL ||
	    (rec = json_object_new_object()) == NULL ||
	    (resolved = json_object_new_array()) == NULL)
		goto out;
	for (i = 0; i < h->naddrs; i++) {
		if (json_object_array_add(resolved,
		    json_object_new_string(h->addrs[i].text)) != 0)
			goto out;
	}
	if (json_object_object_add(rec, "hostname",
	    json_object_new_string(h->req->identifier)) != 0 ||
	    json_object_object_add(rec, "port",
	    json_object_new_int(h->req->http_port)) != 0 ||
	    json_object_object_add(rec, "url",
	    json_object_new_string(h->url)) != 0)
		goto out;
	if (json_object_object_add(rec, "addresses_resolved", resolved) != 0)
		goto out;
	resolved = NULL;
	if (h->address_used != NULL && json_object_object_add(rec,
	    "address_used", json_object_new_string(h->address_used)) != 0)
		goto out;
	if (json_object_array_add(records, rec) != 0)
		goto out;
	rec = NULL;

	ret = records;
	records = NULL;
 out:
	json_object_put(resolved);
	json_object_put(rec);
	json_object_put(records);
	return ret;
}

/* Send the result, free the state, and end the validation. */
static void
http01_finish(struct http01 *h, enum validation_status status,
    const char *problem_type, const char *detail)
{
	struct validation *v = h->v;
	struct json_object *records;

	records = http01_records(h);
	validation_set_cancel(v, NULL, NULL);
	http01_free(h);
	validation_finish(v, status, problem_type, detail, records);
}

static void
http01_finishf(struct http01 *h, const char *problem_type,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
http01_finishf(struct http01 *h, const char *problem_type,
    const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http01_finish(h, VALIDATION_INVALID, problem_type, detail);
}

/* Check the request.  Returns NULL, or the reason it is malformed. */
static const char *
http01_check_request(const struct validation_request *req, int *family)
{
	const char *thumbprint;
	size_t token_len;

	*family = AF_UNSPEC;
	if (!check_token(req->token))
		return "token is not base64url or is longer than 128 bytes";

	token_len = strlen(req->token);
	if (strlen(req->key_authorization) > VALIDATION_MAX_KEYAUTH_LEN ||
	    strncmp(req->key_authorization, req->token, token_len) != 0 ||
	    req->key_authorization[token_len] != '.')
		return "key authorization does not start with the token";
	thumbprint = req->key_authorization + token_len + 1;
	if (!check_token(thumbprint))
		return "key authorization has no base64url thumbprint";
	if (req->account_thumbprint != NULL &&
	    strcmp(thumbprint, req->account_thumbprint) != 0)
		return "key authorization does not match the account "
		    "thumbprint";

	switch (req->identifier_type) {
	case IDENTIFIER_DNS:
		if (!check_dns_name(req->identifier))
			return "identifier is not a valid DNS name";
		break;
	case IDENTIFIER_IP:
		if (!check_ip(req->identifier, family))
			return "identifier is not an IPv4 or IPv6 address";
		break;
	default:
		return "http-01 validates dns and ip identifiers only";
	}
	return NULL;
}

/* Fill in the Host header value, the request path and the URL. */
static void
http01_build_target(struct http01 *h, int family)
{
	const struct validation_request *req = h->req;
	char port[8] = "";

	if (req->http_port != 80)
		snprintf(port, sizeof(port), ":%d", req->http_port);
	if (family == AF_INET6)
		snprintf(h->host, sizeof(h->host), "[%s]%s", req->identifier,
		    port);
	else
		snprintf(h->host, sizeof(h->host), "%s%s", req->identifier,
		    port);
	snprintf(h->path, sizeof(h->path), "%s%s", HTTP01_PATH_PREFIX,
	    req->token);
	snprintf(h->url, sizeof(h->url), "http://%s%s", h->host, h->path);
}

static int64_t
http01_elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return 0;
	return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Judge a response with a status line. */
static void
http01_check_response(struct http01 *h, struct evhttp_request *hreq)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(hreq);
	int code = evhttp_request_get_response_code(hreq);
	char excerpt[HTTP01_EXCERPT_LEN * 4 + 8];
	const uint8_t *data;
	size_t len;

	if (code != 200) {
		http01_finishf(h, PROBLEM_UNAUTHORIZED, "%s returned HTTP "
		    "status %d, expected 200%s", h->url, code,
		    code >= 300 && code < 400 ?
		    " (redirects are not followed)" : "");
		return;
	}

	len = evbuffer_get_length(body);
	if (len > HTTP01_MAX_BODY) {
		http01_finishf(h, PROBLEM_UNAUTHORIZED, "response from %s "
		    "is larger than %d bytes", h->url, HTTP01_MAX_BODY);
		return;
	}
	data = len > 0 ? evbuffer_pullup(body, (ev_ssize_t)len) : NULL;
	if (len > 0 && data == NULL) {
		http01_finishf(h, PROBLEM_SERVER_INTERNAL, "out of memory "
		    "reading the response");
		return;
	}
	if (keyauth_matches(h->req->key_authorization,
	    data != NULL ? data : (const uint8_t *)"", len)) {
		http01_finish(h, VALIDATION_VALID, NULL, NULL);
		return;
	}
	escape_text(data != NULL ? data : (const uint8_t *)"", len,
	    HTTP01_EXCERPT_LEN, excerpt, sizeof(excerpt));
	http01_finishf(h, PROBLEM_UNAUTHORIZED, "the response from %s does "
	    "not match the key authorization: received \"%s\"", h->url,
	    excerpt);
}

static void
http01_error_cb(enum evhttp_request_error error, void *arg)
{
	struct http01 *h = arg;

	h->http_error = (int)error;
	h->got_http_error = 1;
}

/*
 * Handle the end of a request, with a response or without.  Without one,
 * the next address is tried.
 * NOTE: freeing the connection inside this callback relies on libevent
 * 2.1 not using it after the callback returns.  The integration test runs
 * the refused, timed-out, oversized and normal paths under ASan.
 */
static void
http01_done_cb(struct evhttp_request *hreq, void *arg)
{
	struct http01 *h = arg;
	const char *what;
	int code = hreq != NULL ? evhttp_request_get_response_code(hreq) : 0;

	if (h->got_http_error && h->http_error == EVREQ_HTTP_DATA_TOO_LONG) {
		http01_finishf(h, PROBLEM_UNAUTHORIZED, "response from %s "
		    "is larger than %d bytes", h->url, HTTP01_MAX_BODY);
		return;
	}
	if (code != 0) {
		http01_check_response(h, hreq);
		return;
	}

	/* libevent 2.1 reports a refused or timed-out connect without
	 * calling the error callback, so the time spent separates the two. */
	if (h->got_http_error && h->http_error == EVREQ_HTTP_TIMEOUT)
		what = "timed out";
	else if (h->got_http_error)
		what = "connection closed without a valid HTTP response";
	else if (http01_elapsed_ms(&h->attempt_start) + 50 >= h->attempt_ms)
		what = "timed out";
	else
		what = "connection refused";
	snprintf(h->last_failure, sizeof(h->last_failure), "%s port %d: %s",
	    h->address_used, h->req->http_port, what);
	validation_log(h->v, VLOG_INFO, "fetching %s from %s failed: %s",
	    h->url, h->address_used, what);

	evhttp_connection_free(h->evcon);
	h->evcon = NULL;
	http01_try_next(h);
}

/* Start the request to h->addrs[h->next]. */
static int
http01_request(struct http01 *h, const struct resolve_address *a)
{
	struct evhttp_request *hreq;
	struct evkeyvalq *headers;
	struct timeval tv;

	h->got_http_error = 0;
	h->http_error = 0;
	h->address_used = a->text;
	tv.tv_sec = (time_t)(h->attempt_ms / 1000);
	tv.tv_usec = (suseconds_t)(h->attempt_ms % 1000) * 1000;
	(void)clock_gettime(CLOCK_MONOTONIC, &h->attempt_start);

	/* A numeric address: libevent resolves nothing. */
	if ((h->evcon = evhttp_connection_base_new(validation_base(h->v),
	    NULL, a->text, (unsigned short)h->req->http_port)) == NULL)
		return -1;
	evhttp_connection_set_family(h->evcon, a->family);
	evhttp_connection_set_max_body_size(h->evcon, HTTP01_MAX_BODY);
	evhttp_connection_set_max_headers_size(h->evcon, HTTP01_MAX_HEADERS);
	evhttp_connection_set_timeout_tv(h->evcon, &tv);
	evhttp_connection_set_retries(h->evcon, 0);

	if ((hreq = evhttp_request_new(http01_done_cb, h)) == NULL)
		return -1;
	evhttp_request_set_error_cb(hreq, http01_error_cb);
	headers = evhttp_request_get_output_headers(hreq);
	if (evhttp_add_header(headers, "Host", h->host) == -1 ||
	    evhttp_add_header(headers, "User-Agent",
	    HTTP01_NAME "/" HTTP01_VERSION) == -1 ||
	    evhttp_add_header(headers, "Accept", "*/*") == -1 ||
	    evhttp_add_header(headers, "Connection", "close") == -1) {
		evhttp_request_free(hreq);
		return -1;
	}

	/* NOTE: redirects are not followed in this version, although RFC
	 * 8555 section 8.3 allows a validator to follow them.  A 3xx status
	 * fails the validation, and the detail mentions redirects. */
	if (evhttp_make_request(h->evcon, hreq, EVHTTP_REQ_GET,
	    h->path) == -1)
		return -1;
	return 0;
}

/* Try the next address, or give up when none is left. */
static void
http01_try_next(struct http01 *h)
{
	int64_t remaining = validation_remaining_ms(h->v);
	size_t left = h->naddrs - h->next;

	if (left == 0) {
		http01_finishf(h, PROBLEM_CONNECTION, "cannot fetch %s: %s%s",
		    h->url, h->last_failure, h->naddrs > 1 ?
		    " (and every other address failed too)" : "");
		return;
	}
	if (remaining <= 0) {
		http01_finishf(h, PROBLEM_CONNECTION, "cannot fetch %s: "
		    "timed out", h->url);
		return;
	}

	validation_set_timeout_problem(h->v, PROBLEM_CONNECTION,
	    "fetching the challenge response timed out");

	/* Share the time left among the addresses left, so that one
	 * address that hangs does not use up the others' time. */
	h->attempt_ms = remaining / (int64_t)left;
	if (h->attempt_ms < 1)
		h->attempt_ms = 1;

	validation_set_records(h->v, http01_records(h));
	validation_log(h->v, VLOG_DEBUG, "fetching %s from %s, timeout "
	    "%lld ms", h->url, h->addrs[h->next].text,
	    (long long)h->attempt_ms);
	if (http01_request(h, &h->addrs[h->next++]) == -1) {
		http01_finishf(h, PROBLEM_SERVER_INTERNAL, "cannot start the "
		    "HTTP request to %s", h->address_used);
		return;
	}
}

static void
http01_resolved_cb(const struct resolve_result *res, void *arg)
{
	struct http01 *h = arg;
	size_t i;

	h->query = NULL;
	switch (res->status) {
	case RESOLVE_OK:
		break;
	case RESOLVE_NXDOMAIN:
		http01_finishf(h, PROBLEM_DNS, "DNS name %s does not exist "
		    "(NXDOMAIN)", h->req->identifier);
		return;
	case RESOLVE_NO_ADDRESS:
		http01_finishf(h, PROBLEM_DNS, "no A or AAAA records found "
		    "for %s", h->req->identifier);
		return;
	default:
		http01_finishf(h, PROBLEM_DNS, "DNS lookup of %s failed: %s",
		    h->req->identifier, res->detail);
		return;
	}

	for (i = 0; i < res->naddrs; i++)
		h->addrs[i] = res->addrs[i];
	h->naddrs = res->naddrs;
	validation_log(h->v, VLOG_DEBUG, "resolved %zu addresses, first %s",
	    h->naddrs, h->addrs[0].text);
	http01_try_next(h);
}

static void
http01_start(struct validation *v)
{
	const struct validation_request *req = validation_request(v);
	char resolver[VALIDATION_MAX_RESOLVER_LEN + 8], err[256];
	struct http01 *h;
	const char *problem;
	int family;

	if ((problem = http01_check_request(req, &family)) != NULL) {
		validation_finish(v, VALIDATION_INVALID, PROBLEM_MALFORMED,
		    problem, NULL);
		return;
	}
	if (req->resolver != NULL &&
	    check_resolver(req->resolver, resolver, sizeof(resolver)) == -1) {
		validation_finish(v, VALIDATION_INVALID,
		    PROBLEM_SERVER_INTERNAL, "resolver option is not IP:PORT",
		    NULL);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		validation_finish(v, VALIDATION_INVALID,
		    PROBLEM_SERVER_INTERNAL, "out of memory", NULL);
		return;
	}
	h->v = v;
	h->req = req;
	http01_build_target(h, family);
	validation_set_cancel(v, http01_cancel, h);

	if (req->identifier_type == IDENTIFIER_IP) {
		h->addrs[0].family = family;
		snprintf(h->addrs[0].text, sizeof(h->addrs[0].text), "%s",
		    req->identifier);
		h->naddrs = 1;
		http01_try_next(h);
		return;
	}

	validation_set_timeout_problem(v, PROBLEM_DNS, "DNS lookup timed out");
	if (resolve_start(validation_base(v), req->identifier,
	    req->resolver != NULL ? resolver : NULL, http01_resolved_cb, h,
	    &h->query, err, sizeof(err)) == -1) {
		validation_log(v, VLOG_WARN, "cannot start DNS lookup: %s", err);
		http01_finishf(h, PROBLEM_SERVER_INTERNAL, "cannot start the "
		    "DNS lookup: %s", err);
		return;
	}
}

int
main(int argc, char **argv)
{
	return runtime_main(&http01_validator, argc, argv);
}
