/*
 * ACME responses and problem documents (RFC 8555 section 6.7, RFC 7807).
 *
 * Interface: acme_reply_*() and acme_problem_new() in acme_internal.h.
 * Every response gets a fresh Replay-Nonce (section 6.5: the server must
 * include one in every successful POST response and in every error
 * response) and a Link to the provisioner's directory with rel="index".
 * A nonce that cannot be stored is logged and the reply goes out without
 * it.  Out of memory while replying sends a bare 500 from evhttp.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acme_internal.h"
#include "core.h"
#include "log.h"
#include "nonce.h"

#define ACME_DETAIL_MAX	512
#define ACME_LOG_URL_MAX	256

static const char *
acme_reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* The request URL for a log line, escaped because the path comes from
 * the client. */
static const char *
acme_log_url(const struct acme_request *r, char *buf, size_t len)
{
	if (r->url == NULL)
		return "-";
	return log_escape(r->url, strlen(r->url), buf, len);
}

void
acme_add_header(struct acme_request *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name,
	    value);
}

static void
acme_common_headers(struct acme_request *r, int code)
{
	char *nonce, *link = NULL;
	int want_nonce;

	/* RFC 8555 6.5 and 7.2: a nonce on every POST response, on errors
	 * and from newNonce.  A GET of the directory gets none, because some
	 * clients (ruby-acme-client 2.0.9) fail on a nonce there. */
	want_nonce = r->method == EVHTTP_REQ_POST || code >= 400 ||
	    (r->route != NULL && r->route->handler == acme_handle_new_nonce);
	if (want_nonce && (nonce = nonce_issue(r->core->db)) != NULL) {
		acme_add_header(r, "Replay-Nonce", nonce);
		free(nonce);
	}
	if (r->prefix != NULL && asprintf(&link, "<%s/directory>;rel=\"index\"",
	    r->prefix) != -1) {
		acme_add_header(r, "Link", link);
		free(link);
	}
}

void
acme_reply_body(struct acme_request *r, int code, const char *content_type,
    const char *body, size_t len)
{
	struct evbuffer *buf;

	/* Error paths reply before their caller rolls back; end the
	 * transaction first so that the new nonce is not rolled back too. */
	acme_db_rollback(r->core);
	acme_common_headers(r, code);
	if (content_type != NULL)
		acme_add_header(r, "Content-Type", content_type);
	if ((buf = evbuffer_new()) == NULL ||
	    (len > 0 && evbuffer_add(buf, body, len) != 0)) {
		log_error("acme: out of memory for a response");
		evbuffer_free(buf);
		evhttp_send_error(r->req, 500, NULL);
		return;
	}
	evhttp_send_reply(r->req, code, acme_reason_phrase(code), buf);
	evbuffer_free(buf);
}

void
acme_reply_json(struct acme_request *r, int code, struct json_object *json,
    const char *location)
{
	const char *text;
	size_t len = 0;

	if (location != NULL)
		acme_add_header(r, "Location", location);
	text = json_object_to_json_string_length(json,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL) {
		acme_reply_internal(r, "cannot serialize a JSON response");
		return;
	}
	acme_reply_body(r, code, "application/json", text, len);
}

struct json_object *
acme_problem_new(const char *type, const char *detail, int status)
{
	struct json_object *obj;
	char urn[128];

	if (strncmp(type, ACME_ERROR_URN, strlen(ACME_ERROR_URN)) == 0)
		snprintf(urn, sizeof(urn), "%s", type);
	else
		snprintf(urn, sizeof(urn), "%s%s", ACME_ERROR_URN, type);
	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	if (acme_json_add_string(obj, "type", urn) == -1 ||
	    acme_json_add_string(obj, "detail", detail) == -1 ||
	    json_object_object_add(obj, "status",
	    json_object_new_int(status)) != 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static void
acme_reply_problem_json(struct acme_request *r, int code,
    struct json_object *problem)
{
	const char *text;
	size_t len = 0;

	text = json_object_to_json_string_length(problem,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL) {
		evhttp_send_error(r->req, 500, NULL);
		return;
	}
	acme_reply_body(r, code, "application/problem+json", text, len);
}

/* 1 for problem types that record a decision about an account, an
 * identifier or a certificate, rather than a malformed request. */
static int
acme_problem_is_decision(const char *type)
{
	static const char *const decisions[] = {
		"rejectedIdentifier", "unsupportedIdentifier",
		"externalAccountRequired", "unauthorized", "badCSR",
		"badPublicKey", "badRevocationReason", "alreadyRevoked",
		"accountDoesNotExist", "unsupportedContact", "invalidContact",
	};
	size_t i;

	for (i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
		if (strcmp(type, decisions[i]) == 0)
			return 1;
	return 0;
}

static void
acme_reply_problem_va(struct acme_request *r, int code, const char *type,
    struct json_object *subproblems, const char *fmt, va_list ap)
{
	struct json_object *problem;
	char detail[ACME_DETAIL_MAX], url[ACME_LOG_URL_MAX];
	char escaped[ACME_DETAIL_MAX];

	vsnprintf(detail, sizeof(detail), fmt, ap);

	/* badSignatureAlgorithm lists what the server accepts (RFC 8555
	 * section 6.2). */
	problem = acme_problem_new(type, detail, code);
	if (problem != NULL && strcmp(type, "badSignatureAlgorithm") == 0)
		json_object_object_add(problem, "algorithms",
		    json_tokener_parse(JWS_ALGORITHMS_JSON));
	if (problem == NULL) {
		json_object_put(subproblems);
		log_error("acme: out of memory for a problem document");
		evhttp_send_error(r->req, 500, NULL);
		return;
	}
	if (subproblems != NULL && json_object_array_length(subproblems) > 0)
		json_object_object_add(problem, "subproblems", subproblems);
	else
		json_object_put(subproblems);
	/* Policy decisions reach the operator's log; malformed requests and
	 * stale nonces stay at debug, since any client can make many. */
	log_msg(acme_problem_is_decision(type) ? LOG_LVL_INFO : LOG_LVL_DEBUG,
	    "acme: %s: %d %s: %s", acme_log_url(r, url, sizeof(url)), code,
	    type, log_escape(detail, strlen(detail), escaped, sizeof(escaped)));
	acme_reply_problem_json(r, code, problem);
	json_object_put(problem);
}

void
acme_reply_problem(struct acme_request *r, int code, const char *type,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acme_reply_problem_va(r, code, type, NULL, fmt, ap);
	va_end(ap);
}

void
acme_reply_problem_sub(struct acme_request *r, int code, const char *type,
    struct json_object *subproblems, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acme_reply_problem_va(r, code, type, subproblems, fmt, ap);
	va_end(ap);
}

void
acme_reply_internal(struct acme_request *r, const char *what)
{
	char url[ACME_LOG_URL_MAX];

	/* The object id is part of the URL. */
	log_error("acme: %s failed: %s (provisioner %s, account %s)",
	    acme_log_url(r, url, sizeof(url)), what,
	    r->prov.name != NULL ? r->prov.name : "-",
	    r->account.id != NULL ? r->account.id : "-");
	acme_reply_problem(r, 500, "serverInternal", "internal error; the "
	    "operator can find it in the CA's log");
}
