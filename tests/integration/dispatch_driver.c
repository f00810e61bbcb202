/*
 * Test driver for ca-core's dispatcher (dispatch.c, supervisor.c): starts
 * one validator program for http-01, sends COUNT validate requests with
 * the given timeout, prints one line per callback and exits when every
 * callback ran or after RUN_S seconds.
 *
 * Usage: dispatch_driver PROGRAM COUNT TIMEOUT_MS RUN_S [wait]
 * PROGRAM "socket:PATH" dials a Unix socket instead of starting a child.
 * With "wait" it runs the whole RUN_S even after the last callback, so
 * that restarts show in the log.
 * Output: "result ID STATUS" or "failed REASON" per validation, then
 * "done N callbacks".  The dispatcher's log goes to stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "config.h"
#include "core.h"
#include "dispatch.h"
#include "log.h"

static struct event_base *base;
static int callbacks, expected, run_all;

/* dispatch.c does not use the database, but core.h declares this. */
int
core_db_ensure(struct core *core)
{
	return 0;
}

static void
driver_cb(void *arg, struct json_object *result, const char *reason)
{
	if (result != NULL)
		printf("result %s %s\n",
		    json_object_get_string(json_object_object_get(result,
		    "id")),
		    json_object_get_string(json_object_object_get(result,
		    "status")));
	else
		printf("failed %s\n", reason);
	fflush(stdout);
	if (++callbacks == expected && !run_all)
		event_base_loopexit(base, NULL);
}

static struct json_object *
driver_request(int n)
{
	struct json_object *msg = json_object_new_object();
	char token[32];

	snprintf(token, sizeof(token), "token-%d", n);
	json_object_object_add(msg, "v", json_object_new_int(1));
	json_object_object_add(msg, "type", json_object_new_string("validate"));
	json_object_object_add(msg, "challenge_type",
	    json_object_new_string("http-01"));
	json_object_object_add(msg, "token", json_object_new_string(token));
	return msg;
}

int
main(int argc, char **argv)
{
	struct ca_config cfg;
	struct core core;
	struct timeval run = { 0, 0 };
	char err[512];
	int i, timeout_ms;

	if (argc != 5 && !(argc == 6 && strcmp(argv[5], "wait") == 0)) {
		fprintf(stderr, "usage: dispatch_driver PROGRAM COUNT "
		    "TIMEOUT_MS RUN_S [wait]\n");
		return 2;
	}
	run_all = argc == 6;
	log_init("dispatch-driver");
	memset(&cfg, 0, sizeof(cfg));
	memset(&core, 0, sizeof(core));
	cfg.path = (char *)(uintptr_t)"(test config)";
	cfg.validators[0].type = (char *)(uintptr_t)"http-01";
	if (strncmp(argv[1], "socket:", 7) == 0)
		cfg.validators[0].socket = argv[1] + 7;
	else
		cfg.validators[0].exec = argv[1];
	cfg.nvalidators = 1;
	expected = atoi(argv[2]);
	timeout_ms = atoi(argv[3]);
	run.tv_sec = atoi(argv[4]);

	base = event_base_new();
	core.cfg = &cfg;
	core.base = base;
	if ((core.dispatch = dispatch_start(&core, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "dispatch_start: %s\n", err);
		return 1;
	}
	if (!dispatch_serves(core.dispatch, "http-01") ||
	    dispatch_serves(core.dispatch, "dns-01"))
		printf("dispatch_serves is wrong\n");

	/* An unconfigured type fails at once, before the loop runs. */
	dispatch_validate(core.dispatch, "dns-01", driver_request(0), 1000,
	    driver_cb, NULL);
	expected++;
	for (i = 1; i <= expected - 1; i++)
		dispatch_validate(core.dispatch, "http-01", driver_request(i),
		    timeout_ms, driver_cb, NULL);

	event_base_loopexit(base, &run);
	event_base_dispatch(base);
	dispatch_stop(core.dispatch);
	printf("done %d callbacks\n", callbacks);
	event_base_free(base);
	return 0;
}
