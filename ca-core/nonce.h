/*
 * Replay nonces (RFC 8555 section 6.5), kept in the nonces table so that
 * every ca-core instance sharing the database accepts them.
 */
#ifndef CA_NONCE_H
#define CA_NONCE_H

#include <libpq-fe.h>

struct core;

/* base64url of 16 random bytes. */
#define NONCE_TEXT_LEN		22
#define NONCE_LIFETIME_SECONDS	3600
#define NONCE_PRUNE_SECONDS	300

/* Create a nonce valid for NONCE_LIFETIME_SECONDS and store it.  Returns
 * a malloc'd string, or NULL after logging the failure. */
char	*nonce_issue(PGconn *db);

/* Redeem a nonce once.  Returns 1 when it was issued and has not expired
 * or been redeemed, 0 when not, -1 on a database error (logged). */
int	 nonce_redeem(PGconn *db, const char *nonce);

/* Delete expired nonces every NONCE_PRUNE_SECONDS on core->base, through
 * core->db as it is at each run.  Calling it again while the timer runs
 * does nothing.  Returns 0 or -1. */
int	 nonce_prune_start(struct core *);
void	 nonce_prune_stop(void);

#endif
