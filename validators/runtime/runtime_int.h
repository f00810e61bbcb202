/*
 * Internals shared by the files of the validator runtime: the state of the
 * process, of each connection to ca-core, and of each validation.
 */
#ifndef VALIDATOR_RUNTIME_INT_H
#define VALIDATOR_RUNTIME_INT_H

#include <sys/queue.h>

#include <time.h>

#include "runtime.h"

struct bufferevent;
struct event;
struct evconnlistener;

/* Maximum validations in flight on one connection.  Further requests get
 * an invalid result with serverInternal. */
#define RT_MAX_INFLIGHT		4096

struct rt_conn;

struct runtime {
	const struct validator	*validator;
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct event		*sigterm;
	struct event		*sigint;
	LIST_HEAD(, rt_conn)	 conns;
	int			 inherited;	/* serving fd 3 from ca-core */
	int			 exit_status;
	unsigned long		 next_serial;
};

struct rt_conn {
	struct runtime		*rt;
	struct bufferevent	*bev;
	unsigned long		 serial;	/* for log lines */
	LIST_HEAD(, validation)	 validations;
	size_t			 nvalidations;
	LIST_ENTRY(rt_conn)	 entry;
};

struct validation {
	struct validation_request req;
	struct rt_conn		*conn;
	struct event		*deadline;
	struct timespec		 deadline_at;	/* CLOCK_MONOTONIC */
	validation_cancel_fn	*cancel;
	void			*cancel_arg;
	struct json_object	*records;
	const char		*timeout_type;	/* NULL = connection */
	char			 timeout_detail[256];
	char			 log_prefix[384];
	LIST_ENTRY(validation)	 entry;
};

/* runtime.c: queue one message on a connection.  Returns 0 or -1. */
int	 rt_conn_send(struct rt_conn *, struct json_object *);

/* validation.c */
/* Parse a validate message (taken over) into a new validation linked to
 * conn with its deadline armed.  Returns 0, or -1 with a reason in err
 * when the message breaks the protocol. */
int	 validation_new(struct rt_conn *, struct json_object *msg,
	    struct validation **out, char *err, size_t errlen);
/* Give up on a validation without sending a result: call the cancel hook,
 * log why, free it. */
void	 validation_abandon(struct validation *, const char *why);
/* Returns the in-flight validation on conn with this id, or NULL. */
struct validation *validation_find(struct rt_conn *, const char *id);

/* sandbox_seccomp.c */
/* Returns 1 when CA_VALIDATOR_SECCOMP_DEBUG=1 selects the debug filter,
 * whose default action traps and names the system call on stderr. */
int	 sandbox_seccomp_debug(void);
/* Load the allow-list for this validator.  Returns 0, or -1 (logged). */
int	 sandbox_seccomp_load(const struct validator *, int debug);

#endif
