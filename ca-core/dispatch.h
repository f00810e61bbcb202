/*
 * Validation dispatch: connections to validator processes (started and
 * supervised by ca-core, or dialled at a configured socket), request ids,
 * and delivery of results.
 */
#ifndef CA_DISPATCH_H
#define CA_DISPATCH_H

#include <stddef.h>
#include <json-c/json.h>

struct core;
struct dispatch;

/* Called once per dispatched validation, on core->base's thread.  On a
 * validator answer, result is the "result" message (borrowed) and reason
 * NULL.  When no answer can come (no validator for the type, the
 * validator died or timed out, the message could not be sent), result is
 * NULL and reason says why. */
typedef void dispatch_cb(void *arg, struct json_object *result,
	    const char *reason);

/* Start or dial every validator in core->cfg.  Returns a new dispatcher
 * or NULL with err. */
struct dispatch *dispatch_start(struct core *, char *err, size_t errlen);
void	 dispatch_stop(struct dispatch *);

/* 1 when some validator serves the challenge type. */
int	 dispatch_serves(struct dispatch *, const char *challenge_type);

/* Send a validate message (without "id"; dispatch adds it and takes the
 * object) to a validator for challenge_type.  cb is called exactly once,
 * possibly before this returns when no validator can be reached.
 * timeout_ms bounds the wait for the answer. */
void	 dispatch_validate(struct dispatch *, const char *challenge_type,
	    struct json_object *msg, int timeout_ms, dispatch_cb *cb,
	    void *arg);

#endif
