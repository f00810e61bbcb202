/*
 * ACME transport of the built-in client (RFC 8555 sections 6 and 7): the
 * directory, nonces, the account key and JWS-signed POST requests with
 * one retry on badNonce.  The order flow itself lives in certificate.c.
 */
#ifndef CAADM_ACME_CLIENT_H
#define CAADM_ACME_CLIENT_H

#include <stddef.h>
#include <json-c/json.h>

#include "https_client.h"

/* Maximum sleep between two polls, and the sleep used when the server
 * sends no Retry-After. */
#define ACME_MAX_POLL_MS	5000
#define ACME_DEFAULT_POLL_MS	1000

struct acme_client;

/* Create a client for the directory at directory_url.  http is borrowed
 * and must outlive the client.  Returns 0 or -1 with a message in err. */
int	 acme_client_new(struct https_client *http, const char *directory_url,
	    struct acme_client **out, char *err, size_t errlen);
void	 acme_client_free(struct acme_client *);

/* GET the directory and check that it names newNonce, newAccount and
 * newOrder.  Returns 0 or -1 with a message in err. */
int	 acme_fetch_directory(struct acme_client *, char *err, size_t errlen);

/* URL of a directory resource such as "newOrder", or NULL. */
const char	*acme_directory_url(const struct acme_client *, const char *name);

/* Register new accounts with an External Account Binding (RFC 8555
 * 7.3.4): kid and the base64url HMAC key that caadm eab add printed.  The
 * key is copied and wiped on free.  Returns 0, or -1 when the key is not
 * base64url. */
int	 acme_client_set_eab(struct acme_client *, const char *kid,
	    const char *hmac_key_b64url, char *err, size_t errlen);

/* Generate an ephemeral ECDSA P-256 account key and register it with
 * newAccount (termsOfServiceAgreed true).  Returns 0 or -1. */
int	 acme_new_account(struct acme_client *, char *err, size_t errlen);

/* RFC 7638 thumbprint of the account key, for key authorizations. */
const char	*acme_thumbprint(const struct acme_client *);

/* Send a JWS-signed POST of payload (NULL for POST-as-GET) to url with
 * the account's kid.  On a 2xx status returns 0 and the response in *out.
 * On an error status returns -1 with the problem type and detail in err;
 * a badNonce problem is retried once with the nonce it carried. */
int	 acme_post(struct acme_client *, const char *url, const char *payload,
	    const char *accept, struct https_response **out, char *err,
	    size_t errlen);

/* acme_post(), then parse the body as one JSON object into *obj (caller
 * puts) and copy the Location header into *location (NULL when absent;
 * location may be NULL when not needed).  *retry_ms, when not NULL, gets
 * the server's Retry-After bounded to 0..ACME_MAX_POLL_MS, or
 * ACME_DEFAULT_POLL_MS without one. */
int	 acme_post_json(struct acme_client *, const char *url,
	    const char *payload, struct json_object **obj, char **location,
	    int *retry_ms, char *err, size_t errlen);

/* Write "TYPE: DETAIL" of a problem document into buf, with each
 * subproblem appended, untrusted text escaped.  Returns buf. */
const char	*acme_problem_format(struct json_object *problem, char *buf,
	    size_t buflen);

/* Copy untrusted server text into buf for display: printable ASCII stays,
 * every other byte becomes \xNN, and "..." marks a cut.  NULL text shows
 * as "(missing)".  Returns buf. */
const char	*acme_escape(const char *text, char *buf, size_t buflen);

/* Member name of obj as a string, or NULL when missing or not a string. */
const char	*acme_json_string(struct json_object *obj, const char *name);

#endif
