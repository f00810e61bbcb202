/*
 * Shared parts of the ACME handlers (acme*.c): the per-request context,
 * responses and problem documents, request verification, database
 * helpers, and the object renderers that several handlers use.
 */
#ifndef CA_ACME_INTERNAL_H
#define CA_ACME_INTERNAL_H

#include <stddef.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "acme_syntax.h"
#include "jwk.h"
#include "jws.h"

struct core;

#define ACME_ERROR_URN		"urn:ietf:params:acme:error:"
/* Largest request body accepted; a CSR with an 8192-bit RSA key and many
 * names fits easily. */
#define ACME_BODY_MAX		(64 * 1024)
#define ACME_MAX_IDENTIFIERS	100
#define ACME_MAX_CONTACTS	10
#define ACME_ORDER_LIFETIME	(24 * 3600)
#define ACME_AUTHZ_LIFETIME	(24 * 3600)
#define ACME_DEFAULT_DURATION	(24 * 3600)
/* Certificate lifetime bounds when the provisioner sets none: a client
 * may ask for up to a day (or the default, when that is longer) and for
 * no less than a minute. */
#define ACME_MAX_DURATION	(24 * 3600)
#define ACME_MIN_DURATION	60
/* Orders per page of an account's orders list (RFC 8555 section
 * 7.1.2.1); the provisioner option "orders_page_size" overrides it. */
#define ACME_ORDERS_PAGE	100
/* How long a challenge POST waits for the validator before it replies
 * "processing", and how long the validator may take in total. */
#define ACME_HOLD_SECONDS	1
#define ACME_VALIDATE_TIMEOUT_MS	15000
#define ACME_VALIDATOR_TIMEOUT_MS	10000

/* Outcome of a handler: whether it replied or kept the request. */
enum acme_outcome {
	ACME_DONE = 0,	/* a reply was sent; the router frees the context */
	ACME_HELD	/* the handler kept the context and replies later */
};

/* The signature that a POST to a route needs.  GET and HEAD carry no
 * JWS. */
enum acme_auth {
	ACME_AUTH_JWK = 0,	/* JWS with an embedded "jwk" */
	ACME_AUTH_KID,		/* JWS with "kid", an existing valid account */
	ACME_AUTH_EITHER	/* either of the two (revokeCert, directory,
				 * newNonce) */
};

#define ACME_GET	0x01
#define ACME_HEAD	0x02
#define ACME_POST	0x04

struct acme_request;
typedef enum acme_outcome acme_handler(struct acme_request *);

struct acme_route {
	const char	*name;		/* path segment after the provisioner */
	int		 has_id;	/* an object id follows */
	const char	*suffix;	/* segment after the id, or NULL */
	int		 methods;
	enum acme_auth	 auth;		/* for POST */
	acme_handler	*handler;
};

struct acme_provisioner {
	char			*id;		/* provisioners.id as text */
	char			*name;
	struct json_object	*options;	/* never NULL once looked up */
};

struct acme_account {
	char	*id;
	char	*status;
	char	 thumbprint[JWK_THUMBPRINT_LEN];
};

struct acme_request {
	struct core		*core;
	struct evhttp_request	*req;
	enum evhttp_cmd_type	 method;
	char			*base;		/* "https://HOST[:PORT]" */
	char			*prefix;	/* base + "/acme/" + provisioner */
	char			*url;		/* base + request target */
	const struct acme_route	*route;
	char			*object_id;	/* id from the path, or NULL */
	struct acme_provisioner	 prov;
	/* Filled by acme_verify_post(). */
	struct jws		*jws;
	struct jwk		*key;
	struct json_object	*payload;	/* NULL for POST-as-GET */
	struct acme_account	 account;	/* when signed with "kid" */
};

void	 acme_request_free(struct acme_request *);

/* acme_response.c: replies to POST, error replies and newNonce carry a
 * new Replay-Nonce; every reply carries, when the provisioner is known,
 * Link: <directory>;rel="index".  json is borrowed; location may be
 * NULL. */
void	 acme_reply_json(struct acme_request *, int code,
	    struct json_object *json, const char *location);
void	 acme_reply_body(struct acme_request *, int code,
	    const char *content_type, const char *body, size_t len);
/* type is the part after ACME_ERROR_URN, e.g. "malformed". */
void	 acme_reply_problem(struct acme_request *, int code, const char *type,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Send a 500 serverInternal without detail; what is logged with the
 * request's ids. */
void	 acme_reply_internal(struct acme_request *, const char *what);
/* Like acme_reply_problem, with a "subproblems" array (RFC 8555 section
 * 6.7.1) whose ownership passes to the call; NULL or empty adds none. */
void	 acme_reply_problem_sub(struct acme_request *, int code,
	    const char *type, struct json_object *subproblems,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void	 acme_add_header(struct acme_request *, const char *name,
	    const char *value);
/* A problem document {type, detail, status}.  type is a suffix of
 * ACME_ERROR_URN or a full URN.  Returns NULL on memory exhaustion. */
struct json_object *acme_problem_new(const char *type, const char *detail,
	    int status);

/* acme_verify.c: check a POST (content type, JWS, nonce, url, key or
 * account, signature) and fill jws, key, payload and account.  Returns 0,
 * or -1 after replying with the problem. */
int	 acme_verify_post(struct acme_request *);
/* 1 when the request is POST-as-GET (empty payload), and for GET and
 * HEAD. */
int	 acme_is_post_as_get(const struct acme_request *);
/* For a resource that is read only: returns 0 for POST-as-GET, GET and
 * HEAD, or -1 after replying malformed to a POST with a payload. */
int	 acme_require_post_as_get(struct acme_request *, const char *what);

/* acme.c: database helpers that log failures at error level. */
PGresult *acme_db(struct core *, const char *sql, int nparams,
	    const char *const *params);
int	 acme_db_begin(struct core *);
int	 acme_db_commit(struct core *);
void	 acme_db_rollback(struct core *);
/* Build prefix + "/" + kind [+ "/" + id [+ "/" + suffix]], malloc'd. */
char	*acme_url(const char *prefix, const char *kind, const char *id,
	    const char *suffix);
/* Add "key": time (epoch seconds as text) in RFC 3339 to obj. */
int	 acme_json_add_time(struct json_object *obj, const char *key,
	    const char *epoch_text);
int	 acme_json_add_string(struct json_object *obj, const char *key,
	    const char *value);

/* Handlers. */
enum acme_outcome acme_handle_directory(struct acme_request *);
enum acme_outcome acme_handle_new_nonce(struct acme_request *);
enum acme_outcome acme_handle_new_account(struct acme_request *);
enum acme_outcome acme_handle_account(struct acme_request *);
enum acme_outcome acme_handle_account_orders(struct acme_request *);
enum acme_outcome acme_handle_new_order(struct acme_request *);
enum acme_outcome acme_handle_order(struct acme_request *);
enum acme_outcome acme_handle_authz(struct acme_request *);
enum acme_outcome acme_handle_challenge(struct acme_request *);
enum acme_outcome acme_handle_finalize(struct acme_request *);
enum acme_outcome acme_handle_certificate(struct acme_request *);
enum acme_outcome acme_handle_key_change(struct acme_request *);
enum acme_outcome acme_handle_revoke_cert(struct acme_request *);

/* acme_policy.c: provisioner options. */
struct acme_durations {
	long long	def;	/* seconds, within [min, max] */
	long long	min;
	long long	max;
};
/* 1 when the boolean option key is true; absent or not a boolean is 0. */
int	 acme_option_bool(const struct acme_request *, const char *key);
/* A positive integer option, or def when absent or out of [lo, hi]
 * (logged as a warning). */
long long acme_option_int(const struct acme_request *, const char *key,
	    long long def, long long lo, long long hi);
/* The certificate lifetimes of the provisioner: "default_duration_seconds",
 * "min_duration_seconds" and "max_duration_seconds". */
void	 acme_durations_get(const struct acme_request *,
	    struct acme_durations *);
/* Check id against the "allow" and "deny" lists.  Returns 0 when it may
 * be ordered, or -1 with a reason in err.  A deny match wins over an
 * allow match; a non-empty allow list admits only what it matches. */
int	 acme_policy_check(const struct acme_request *,
	    const struct acme_identifier *id, char *err, size_t errlen);

/* acme_eab.c: External Account Binding (RFC 8555 section 7.3.4) for a
 * newAccount request.  Checks the payload's "externalAccountBinding"
 * against the eab_keys of the provisioner and the request's key.
 * Returns 0 with the EAB key id in *key_id (malloc'd, NULL when the
 * request has no binding and the provisioner does not require one), or
 * -1 after replying. */
int	 acme_eab_check(struct acme_request *, char **key_id);
/* Bind the EAB key to a new account inside the caller's transaction.
 * Returns 0, 1 when another account took the key first, -1 on a
 * database error. */
int	 acme_eab_bind(struct acme_request *, const char *key_id,
	    const char *account_id);

/* acme_account.c: the account object {status, contact, orders} (RFC 8555
 * section 7.1.2) of account id; contact_text is its stored JSON array.
 * Returns NULL on memory exhaustion. */
struct json_object *acme_account_render(struct acme_request *,
	    const char *id, const char *status, const char *contact_text);

/* acme_order.c: expire the pending objects of an order (lazily, on
 * read): authorizations past their expiry become "expired" and a pending
 * or ready order that is past its expiry or has an authorization that
 * can no longer become valid becomes "invalid".  Returns 0, or -1 on a
 * database error (logged). */
int	 acme_order_expire(struct core *, const char *order_id);

/* acme_order.c: render an order of account_id.  Returns 0 and the JSON
 * in *out, 1 when there is no such order, 2 when it belongs to another
 * account, -1 on a database error (logged).  status (if not NULL, 16
 * bytes) receives the order's status. */
int	 acme_order_render(struct core *, const char *prefix,
	    const char *order_id, const char *account_id,
	    struct json_object **out, char *status);

/* acme_challenge.c: render a challenge.  Returns 0, 1 when not found, -1
 * on a database error (logged).  authz_id (if not NULL, 64 bytes) and
 * status (16 bytes) receive the challenge's authorization and status. */
int	 acme_challenge_render(struct core *, const char *prefix,
	    const char *challenge_id, struct json_object **out,
	    char *authz_id, char *status);

/* Reply 200 with the challenge, Link rel="up" to its authorization, and
 * Retry-After while it is pending or processing. */
void	 acme_challenge_reply(struct acme_request *, const char *challenge_id);

/* acme_validation.c: start validating a challenge that was just set to
 * processing.  When held is not NULL, it gets a reply (the challenge,
 * final or still processing) within ACME_HOLD_SECONDS and is then freed.  Returns ACME_HELD or, when the
 * request could not be held, ACME_DONE after replying. */
enum acme_outcome acme_validation_start(struct core *, const char *prefix,
	    const char *challenge_id, struct acme_request *held);

#endif
