/*
 * ca-core: the ACME server process.  main() loads the configuration,
 * connects the database (starting the embedded cluster when needed) and
 * migrates it, loads the intermediate, starts the validators and the
 * HTTPS front, and runs the event loop until SIGTERM or SIGINT.
 *
 * Interface: `ca-core [--home DIR] [--help] [--version]`; CA_HOME is used
 * when --home is absent.  core_db_ensure() (core.h) reconnects a dropped
 * database connection.
 *
 * Errors: every failure before the loop starts is fatal.  One log line
 * names what failed, on which value and what to do, and ca-core exits 1.
 * Once running, a lost database connection is reset and logged; a failed
 * reset is an error for the requests that need the database, not an exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>

#include "acme.h"
#include "config.h"
#include "core.h"
#include "db.h"
#include "dispatch.h"
#include "httpd.h"
#include "log.h"
#include "pki.h"
#include "util.h"
#include "version.h"

/* Largest root certificate file accepted. */
#define MAIN_MAX_ROOT_PEM	(64 * 1024)

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: ca-core [--home DIR] [--help] [--version]\n"
	    "\n"
	    "Serve the ACME API of the CA whose configuration is in\n"
	    "DIR/config.json.\n"
	    "\n"
	    "  --home DIR   the CA's home folder (default: $CA_HOME)\n"
	    "  --help       print this help and exit\n"
	    "  --version    print the version and exit\n"
	    "\n"
	    "Environment: CA_LOG_LEVEL sets the lowest logged level\n"
	    "(error, warn, info or debug; default info).\n");
}

int
core_db_ensure(struct core *core)
{
	static int failures;

	if (core->db != NULL && PQstatus(core->db) == CONNECTION_OK)
		return 0;
	if (core->db == NULL)
		return -1;

	/* Log the first failure and then every 100th, so that a database
	 * that stays down does not flood the log with one line per
	 * request. */
	if (failures % 100 == 0)
		log_warn("database connection lost; reconnecting");
	/* NOTE: PQreset blocks the event loop until the server responds
	 * or the connect timeout of the conninfo passes. */
	PQreset(core->db);
	if (PQstatus(core->db) == CONNECTION_OK) {
		log_info("database connection restored");
		failures = 0;
		return 0;
	}
	if (failures % 100 == 0)
		log_error("database reconnect failed: %s; requests that need "
		    "the database fail until it is back",
		    PQerrorMessage(core->db));
	failures++;
	return -1;
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct core *core = arg;

	log_info("received %s, stopping", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	event_base_loopexit(core->base, NULL);
}

/* Parse the command line; returns the --home value (or NULL), exits for
 * --help, --version and usage errors. */
static const char *
main_parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home",	required_argument,	NULL, 'h' },
		{ "help",	no_argument,		NULL, 'H' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *home = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			home = optarg;
			break;
		case 'H':
			main_usage(stdout);
			exit(0);
		case 'V':
			printf("ca-core %s\n", CA_VERSION);
			exit(0);
		default:
			main_usage(stderr);
			exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ca-core: unexpected argument \"%s\"\n",
		    argv[optind]);
		main_usage(stderr);
		exit(1);
	}
	return home;
}

/* Everything up to the event loop.  Returns 0, or -1 with err. */
static int
main_setup(struct core *core, const char *home_flag, char *err,
    size_t errlen)
{
	char *home = NULL;
	size_t len;
	int created, ret = -1;

	if ((home = config_home(home_flag, err, errlen)) == NULL)
		goto out;
	if (config_load(home, &core->cfg, err, errlen) == -1)
		goto out;
	log_info("ca-core %s starting, config %s", CA_VERSION,
	    core->cfg->path);

	if ((core->db = db_connect(core->cfg, err, errlen)) == NULL)
		goto out;
	if (db_migrate(core->db, err, errlen) == -1)
		goto out;

	if (pki_issuer_load(core->cfg->intermediate_cert,
	    core->cfg->intermediate_key, &core->issuer, err, errlen) == -1)
		goto out;
	if (util_read_file(core->cfg->root_cert, MAIN_MAX_ROOT_PEM,
	    &core->root_pem, &len) == -1) {
		snprintf(err, errlen, "cannot read the root certificate %s: "
		    "%s; check \"root_cert\" in %s", core->cfg->root_cert,
		    strerror(errno), core->cfg->path);
		goto out;
	}

	/* Validators started as root switch to this user in their
	 * sandbox, and refuse to serve when it is missing. */
	if (util_ensure_system_user("acmeca-validator", &created, err,
	    errlen) == -1)
		goto out;
	if (created)
		log_info("created system user acmeca-validator for the "
		    "validators");

	if ((core->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		goto out;
	}
	if ((core->dispatch = dispatch_start(core, err, errlen)) == NULL)
		goto out;
	if (httpd_start(core, err, errlen) == -1)
		goto out;
	if (acme_resume_validations(core) == -1)
		log_warn("resuming validations left from the previous run "
		    "failed; those challenges stay in processing until "
		    "the client retries");
	ret = 0;
 out:
	free(home);
	return ret;
}

/* Free in the reverse order of main_setup.  The dispatcher stops before
 * the front, because its callbacks may still reply to held requests. */
static void
main_teardown(struct core *core)
{
	if (core->dispatch != NULL)
		dispatch_stop(core->dispatch);
	core->dispatch = NULL;
	httpd_stop(core);
	if (core->base != NULL)
		event_base_free(core->base);
	if (core->db != NULL)
		PQfinish(core->db);
	pki_issuer_free(core->issuer);
	free(core->root_pem);
	free(core->base_url);
	config_free(core->cfg);
	memset(core, 0, sizeof(*core));
}

int
main(int argc, char **argv)
{
	struct core core;
	struct event *sigterm = NULL, *sigint = NULL;
	const char *home_flag;
	char err[1024] = "";
	int ret = 1;

	memset(&core, 0, sizeof(core));
	home_flag = main_parse_args(argc, argv);
	log_init("ca-core");

	/* A client that disconnects must not kill the server on write. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_error("cannot ignore SIGPIPE: %s", strerror(errno));
		goto out;
	}
	if (gnutls_global_init() < 0) {
		log_error("gnutls_global_init failed");
		goto out;
	}

	if (main_setup(&core, home_flag, err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto out;
	}
	if ((sigterm = evsignal_new(core.base, SIGTERM, main_signal_cb,
	    &core)) == NULL || evsignal_add(sigterm, NULL) == -1 ||
	    (sigint = evsignal_new(core.base, SIGINT, main_signal_cb,
	    &core)) == NULL || evsignal_add(sigint, NULL) == -1) {
		log_error("cannot install the SIGTERM and SIGINT handlers");
		goto out;
	}

	log_info("ca-core %s ready", CA_VERSION);
	if (event_base_dispatch(core.base) == -1) {
		log_error("the event loop failed");
		goto out;
	}
	ret = 0;
 out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	main_teardown(&core);
	gnutls_global_deinit();
	if (ret == 0)
		log_info("ca-core %s stopped", CA_VERSION);
	return ret;
}
