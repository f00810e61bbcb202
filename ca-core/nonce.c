/*
 * Replay nonces: issue, redeem once, prune expired ones.
 *
 * Interface: nonce.h.  A nonce is 16 random bytes in base64url, stored in
 * the nonces table with an expiry; redeeming deletes the row, so a replay
 * finds nothing.  Database failures are logged at error level and
 * returned; a malformed nonce from a client is an ordinary "not valid".
 *
 * NOTE: the design calls for stateless nonces (an encrypted instance,
 * counter and time under a key shared through the database) so that
 * issuing writes nothing.  This version stores every issued nonce, which
 * costs one INSERT per response.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "b64url.h"
#include "core.h"
#include "db.h"
#include "log.h"
#include "nonce.h"

static struct event *nonce_prune_timer;

char *
nonce_issue(PGconn *db)
{
	uint8_t raw[16];
	char err[256], lifetime[32];
	char *nonce = NULL;
	const char *params[2];
	PGresult *res;

	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) != 0 ||
	    (nonce = b64url_encode(raw, sizeof(raw))) == NULL) {
		log_error("nonce: cannot create a random nonce");
		return NULL;
	}
	snprintf(lifetime, sizeof(lifetime), "%d", NONCE_LIFETIME_SECONDS);
	params[0] = nonce;
	params[1] = lifetime;
	res = db_exec(db, "INSERT INTO nonces (value, expires) VALUES "
	    "($1, now() + make_interval(secs => $2::int))", 2, params,
	    err, sizeof(err));
	if (res == NULL) {
		log_error("nonce: cannot store a new nonce: %s", err);
		free(nonce);
		return NULL;
	}
	PQclear(res);
	return nonce;
}

static int
nonce_well_formed(const char *nonce)
{
	size_t i;

	if (strlen(nonce) != NONCE_TEXT_LEN)
		return 0;
	for (i = 0; i < NONCE_TEXT_LEN; i++) {
		char c = nonce[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
nonce_redeem(PGconn *db, const char *nonce)
{
	char err[256];
	const char *params[1];
	PGresult *res;
	int found;

	/* A value we cannot have issued needs no database round trip. */
	if (nonce == NULL || !nonce_well_formed(nonce))
		return 0;
	params[0] = nonce;
	res = db_exec(db, "DELETE FROM nonces WHERE value = $1 RETURNING "
	    "expires > now()", 1, params, err, sizeof(err));
	if (res == NULL) {
		log_error("nonce: cannot redeem a nonce: %s", err);
		return -1;
	}
	found = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return found;
}

static void
nonce_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *core = arg;
	char err[256];
	PGresult *res;

	res = db_exec(core->db, "DELETE FROM nonces WHERE expires < now()", 0,
	    NULL, err, sizeof(err));
	if (res == NULL) {
		log_error("nonce: cannot delete expired nonces: %s", err);
		return;
	}
	if (atoi(PQcmdTuples(res)) > 0)
		log_debug("nonce: deleted %s expired nonces", PQcmdTuples(res));
	PQclear(res);
}

int
nonce_prune_start(struct core *core)
{
	struct timeval every = { NONCE_PRUNE_SECONDS, 0 };

	if (nonce_prune_timer != NULL)
		return 0;
	nonce_prune_timer = event_new(core->base, -1, EV_PERSIST,
	    nonce_prune_cb, core);
	if (nonce_prune_timer == NULL || event_add(nonce_prune_timer,
	    &every) == -1) {
		log_error("nonce: cannot start the expired-nonce timer");
		nonce_prune_stop();
		return -1;
	}
	return 0;
}

void
nonce_prune_stop(void)
{
	if (nonce_prune_timer == NULL)
		return;
	event_free(nonce_prune_timer);
	nonce_prune_timer = NULL;
}
