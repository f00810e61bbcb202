/*
 * caadm init: create a CA in its home folder.
 *
 * Interface: cmd_init() (caadm.h).  It checks every flag first, then
 * creates HOME (0700), certs/ and secrets/, the root and intermediate,
 * the embedded PostgreSQL cluster (unless --database-url is given), runs
 * the schema migrations, and writes config.json last.  config.json marks
 * a finished CA: init rejects a home that has one, and when a step fails
 * it removes what it created so that the same command can run again.
 * Migrations applied to an external database stay (they are idempotent).
 * Exit status 0 on success, 1 on failure, 2 on a usage error.
 *
 * NOTE: an interrupt (Ctrl-C) skips the cleanup; remove the home folder,
 * and stop its cluster with pg_ctl if one was started, before a rerun.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libpq-fe.h>

#include "caadm.h"
#include "config.h"
#include "db.h"
#include "pgembed.h"
#include "pki.h"
#include "util.h"

/* "NAME Intermediate CA" must fit the 64-byte limit of a common name. */
#define INIT_MAX_NAME	(64 - (int)sizeof(" Intermediate CA") + 1)

static const char init_usage[] =
    "usage: caadm init --name NAME --dns NAME_OR_IP [--dns ...] "
    "--address HOST:PORT\n"
    "                  [--http-port N] [--tls-port N] [--resolver IP:PORT]\n"
    "                  [--database-url URL]\n\n"
    "Create a CA in the home folder (--home DIR or $CA_HOME): a root and an\n"
    "intermediate certificate, a database and config.json.\n\n"
    "  --name NAME          CA name; certificates read \"NAME Root CA\" "
    "(at most %d bytes)\n"
    "  --dns NAME_OR_IP     DNS name or IP address of ca-core; repeat the "
    "flag or\n"
    "                       separate names with commas\n"
    "  --address HOST:PORT  where ca-core listens, e.g. :8443 or "
    "[::1]:8443\n"
    "  --http-port N        port the http-01 validator connects to "
    "(default 80)\n"
    "  --tls-port N         port the tls-alpn-01 validator connects to "
    "(default 443)\n"
    "  --resolver IP:PORT   DNS resolver of the validators (default: the "
    "system's)\n"
    "  --database-url URL   PostgreSQL to use instead of an embedded "
    "cluster in\n"
    "                       HOME/db, e.g. postgresql://ca@db.example/ca\n";

/* The files and folders this run of init created, so that a failure
 * removes exactly those. */
struct init_state {
	struct ca_config	*cfg;
	char			 certs[PATH_MAX];
	char			 secrets[PATH_MAX];
	int			 made_home;
	int			 made_certs;
	int			 made_secrets;
	int			 made_ca;
	int			 made_db;
};

static int
init_usage_error(const char *fmt, const char *value)
{
	fprintf(stderr, "caadm init: ");
	fprintf(stderr, fmt, value);
	fprintf(stderr, "\nRun caadm init --help for the options.\n");
	return 2;
}

static int
init_parse_port(const char *flag, const char *text, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || !isdigit(
	    (unsigned char)text[0]) || v < 1 || v > 65535) {
		fprintf(stderr, "caadm init: %s \"%s\" is not a port; use a "
		    "number from 1 to 65535\n", flag, text);
		return -1;
	}
	*port = (int)v;
	return 0;
}

static int
init_check_name(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > INIT_MAX_NAME) {
		fprintf(stderr, "caadm init: --name \"%s\" has %zu bytes; use "
		    "1 to %d so that \"NAME Intermediate CA\" fits the 64-byte "
		    "limit of a certificate's common name\n", name, len,
		    INIT_MAX_NAME);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			fprintf(stderr, "caadm init: --name contains a control "
			    "character; use printable text\n");
			return -1;
		}
	}
	if (isspace((unsigned char)name[0]) ||
	    isspace((unsigned char)name[len - 1])) {
		fprintf(stderr, "caadm init: --name \"%s\" starts or ends "
		    "with a space; remove it\n", name);
		return -1;
	}
	return 0;
}

/* Add the comma-separated names of one --dns flag, lowercased and
 * without duplicates. */
static int
init_add_dns(struct ca_config *cfg, const char *arg)
{
	char err[512], *copy, *item, *save = NULL, *p;
	size_t i;
	int ret = -1, dup;

	if ((copy = strdup(arg)) == NULL)
		return -1;
	if (*arg == '\0' || arg[strlen(arg) - 1] == ',' || arg[0] == ',' ||
	    strstr(arg, ",,") != NULL) {
		fprintf(stderr, "caadm init: --dns \"%s\" has an empty name; "
		    "separate names with single commas\n", arg);
		goto out;
	}
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		for (p = item; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (config_check_name(item, err, sizeof(err)) == -1) {
			fprintf(stderr, "caadm init: --dns: %s\n", err);
			goto out;
		}
		for (i = 0, dup = 0; i < cfg->ndns; i++)
			dup |= strcmp(cfg->dns[i], item) == 0;
		if (dup)
			continue;
		if (cfg->ndns == CONFIG_MAX_DNS) {
			fprintf(stderr, "caadm init: more than %d --dns names\n",
			    CONFIG_MAX_DNS);
			goto out;
		}
		if ((cfg->dns[cfg->ndns] = strdup(item)) == NULL)
			goto out;
		cfg->ndns++;
	}
	ret = 0;
 out:
	free(copy);
	return ret;
}

static int
init_check_resolver(const char *text)
{
	unsigned char addr[16];
	char err[512], *host = NULL;
	int port, ok;

	if (config_parse_hostport(text, &host, &port, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm init: --resolver: %s\n", err);
		return -1;
	}
	ok = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	free(host);
	if (!ok) {
		fprintf(stderr, "caadm init: --resolver \"%s\" must be an IP "
		    "address and port, such as 127.0.0.1:53 or [::1]:53\n",
		    text);
		return -1;
	}
	return 0;
}

static int
init_check_database_url(const char *url)
{
	PQconninfoOption *opts;
	char *msg = NULL;

	/* The URL may hold a password, so it is not repeated here. */
	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		PQfreemem(msg);
		fprintf(stderr, "caadm init: --database-url is not a valid "
		    "PostgreSQL connection URL; use the form "
		    "postgresql://USER@HOST:PORT/DBNAME\n");
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

enum {
	OPT_NAME = 256, OPT_DNS, OPT_ADDRESS, OPT_HTTP_PORT, OPT_TLS_PORT,
	OPT_RESOLVER, OPT_DATABASE_URL, OPT_HELP
};

static const struct option init_options[] = {
	{ "name",		required_argument, NULL, OPT_NAME },
	{ "dns",		required_argument, NULL, OPT_DNS },
	{ "address",		required_argument, NULL, OPT_ADDRESS },
	{ "http-port",		required_argument, NULL, OPT_HTTP_PORT },
	{ "tls-port",		required_argument, NULL, OPT_TLS_PORT },
	{ "resolver",		required_argument, NULL, OPT_RESOLVER },
	{ "database-url",	required_argument, NULL, OPT_DATABASE_URL },
	{ "help",		no_argument,	   NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* Store one option in cfg.  Returns 0, or 2 on a usage error. */
static int
init_option(struct ca_config *cfg, int opt, const char *arg)
{
	char err[512];
	char **slot = NULL;

	switch (opt) {
	case OPT_NAME:
		if (init_check_name(arg) == -1)
			return 2;
		slot = &cfg->name;
		break;
	case OPT_DNS:
		return init_add_dns(cfg, arg) == -1 ? 2 : 0;
	case OPT_ADDRESS:
		free(cfg->listen_host);
		cfg->listen_host = NULL;
		if (config_parse_hostport(arg, &cfg->listen_host,
		    &cfg->listen_port, err, sizeof(err)) == -1) {
			fprintf(stderr, "caadm init: --address: %s\n", err);
			return 2;
		}
		return 0;
	case OPT_HTTP_PORT:
		return init_parse_port("--http-port", arg,
		    &cfg->http_port) == -1 ? 2 : 0;
	case OPT_TLS_PORT:
		return init_parse_port("--tls-port", arg,
		    &cfg->tls_port) == -1 ? 2 : 0;
	case OPT_RESOLVER:
		if (init_check_resolver(arg) == -1)
			return 2;
		slot = &cfg->resolver;
		break;
	case OPT_DATABASE_URL:
		if (init_check_database_url(arg) == -1)
			return 2;
		slot = &cfg->database_url;
		break;
	default:
		return 2;
	}
	free(*slot);
	if ((*slot = strdup(arg)) == NULL) {
		fprintf(stderr, "caadm init: out of memory\n");
		return 2;
	}
	return 0;
}

/* Parse the flags into cfg.  Returns 0, 2 on a usage error, or -1 after
 * --help (exit status 0). */
static int
init_parse(struct ca_config *cfg, int argc, char **argv)
{
	int opt, r;

	cfg->http_port = 80;
	cfg->tls_port = 443;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", init_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			printf(init_usage, INIT_MAX_NAME);
			return -1;
		}
		if (opt == ':')
			return init_usage_error("%s needs a value",
			    argv[optind - 1]);
		if (opt == '?')
			return init_usage_error("unknown option %s",
			    argv[optind - 1]);
		if ((r = init_option(cfg, opt, optarg)) != 0)
			return r;
	}
	if (optind < argc)
		return init_usage_error("unexpected argument \"%s\"",
		    argv[optind]);
	if (cfg->name == NULL)
		return init_usage_error("%s", "missing --name; give the CA a "
		    "name, as in --name \"Example CA\"");
	if (cfg->ndns == 0)
		return init_usage_error("%s", "missing --dns; give the DNS "
		    "name or IP address that clients use to reach ca-core, as "
		    "in --dns ca.example.test");
	if (cfg->listen_host == NULL)
		return init_usage_error("%s", "missing --address; give the "
		    "address ca-core listens on, as in --address :8443");
	return 0;
}

static int
init_remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	if (remove(path) == -1)
		fprintf(stderr, "caadm init: cannot remove %s: %s\n", path,
		    strerror(errno));
	return 0;
}

/* Remove what a failed init created, newest first. */
static void
init_cleanup(struct init_state *st)
{
	static const char *const ca_files[] = {
		"certs/root_ca.crt", "secrets/root_ca.key",
		"certs/intermediate_ca.crt", "secrets/intermediate_ca.key"
	};
	char path[PATH_MAX + 64], err[512];
	size_t i;

	if (st->made_db) {
		if (pgembed_stop(st->cfg->home, err, sizeof(err)) == -1)
			fprintf(stderr, "caadm init: %s\n", err);
		snprintf(path, sizeof(path), "%s/db", st->cfg->home);
		nftw(path, init_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	for (i = 0; st->made_ca && i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", st->cfg->home,
		    ca_files[i]);
		unlink(path);
	}
	if (st->made_secrets)
		rmdir(st->secrets);
	if (st->made_certs)
		rmdir(st->certs);
	if (st->made_home && rmdir(st->cfg->home) == -1)
		fprintf(stderr, "caadm init: left %s in place: %s\n",
		    st->cfg->home, strerror(errno));
}

/* mkdir that notes whether it created the folder. */
static int
init_mkdir(const char *path, int mode, int *made)
{
	struct stat sb;

	if (mkdir(path, (mode_t)mode) == 0) {
		*made = 1;
		return 0;
	}
	if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	fprintf(stderr, "caadm init: cannot create %s: %s\n", path,
	    errno == EEXIST ? "a file of that name exists" : strerror(errno));
	return -1;
}

static int
init_make_dirs(struct init_state *st)
{
	struct ca_config *cfg = st->cfg;
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", cfg->home);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (util_mkdirs(parent, 0755) == -1) {
			fprintf(stderr, "caadm init: cannot create %s: %s\n",
			    parent, strerror(errno));
			return -1;
		}
	}
	if ((size_t)snprintf(st->certs, sizeof(st->certs), "%s/certs",
	    cfg->home) >= sizeof(st->certs) ||
	    (size_t)snprintf(st->secrets, sizeof(st->secrets), "%s/secrets",
	    cfg->home) >= sizeof(st->secrets)) {
		fprintf(stderr, "caadm init: home path too long\n");
		return -1;
	}
	if (init_mkdir(cfg->home, 0700, &st->made_home) == -1 ||
	    init_mkdir(st->certs, 0755, &st->made_certs) == -1 ||
	    init_mkdir(st->secrets, 0700, &st->made_secrets) == -1)
		return -1;
	return 0;
}

static int
init_set_paths(struct ca_config *cfg, const struct init_state *st)
{
	if (asprintf(&cfg->root_cert, "%s/root_ca.crt", st->certs) == -1 ||
	    asprintf(&cfg->intermediate_cert, "%s/intermediate_ca.crt",
	    st->certs) == -1 ||
	    asprintf(&cfg->intermediate_key, "%s/intermediate_ca.key",
	    st->secrets) == -1) {
		fprintf(stderr, "caadm init: out of memory\n");
		return -1;
	}
	return 0;
}

static int
init_database(struct init_state *st)
{
	struct stat sb;
	char err[1024], path[PATH_MAX + 8];
	PGconn *conn;
	int ret;

	if (st->cfg->database_url == NULL) {
		if (pgembed_create(st->cfg->home, err, sizeof(err)) == -1) {
			fprintf(stderr, "caadm init: %s\n", err);
			/* initdb may have left a partial cluster. */
			snprintf(path, sizeof(path), "%s/db", st->cfg->home);
			st->made_db = stat(path, &sb) == 0;
			return -1;
		}
		st->made_db = 1;
	}
	if ((conn = db_connect(st->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "caadm init: %s\n", err);
		return -1;
	}
	if ((ret = db_migrate(conn, err, sizeof(err))) == -1)
		fprintf(stderr, "caadm init: %s\n", err);
	PQfinish(conn);
	return ret;
}

/* Print the root's SHA-256 fingerprint, which clients pin to bootstrap
 * trust. */
static void
init_print_fingerprint(const char *path)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	unsigned char fp[32];
	size_t fplen = sizeof(fp), len, i;
	char *text = NULL;

	if (util_read_file(path, 1024 * 1024, &text, &len) == -1)
		return;
	d.data = (unsigned char *)text;
	d.size = (unsigned)len;
	if (gnutls_x509_crt_init(&crt) >= 0 &&
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp,
	    &fplen) >= 0) {
		printf("  Root fingerprint (SHA-256): ");
		for (i = 0; i < fplen; i++)
			printf("%02x", fp[i]);
		printf("\n");
	}
	gnutls_x509_crt_deinit(crt);
	free(text);
}

static void
init_report(const struct init_state *st)
{
	const struct ca_config *cfg = st->cfg;

	printf("✓ Root certificate: %s\n", cfg->root_cert);
	init_print_fingerprint(cfg->root_cert);
	printf("✓ Root private key: %s/root_ca.key\n", st->secrets);
	printf("✓ Intermediate certificate: %s\n", cfg->intermediate_cert);
	printf("✓ Intermediate private key: %s\n", cfg->intermediate_key);
	if (cfg->database_url == NULL)
		printf("✓ Database: embedded PostgreSQL in %s/db (running; "
		    "socket in %s/db/run, log %s/db/postgresql.log)\n",
		    cfg->home, cfg->home, cfg->home);
	else
		printf("✓ Database: the server at --database-url, schema "
		    "migrated\n");
	printf("✓ Configuration: %s\n", cfg->path);
	printf("Next: caadm provisioner add acme --type ACME, then start "
	    "ca-core.\n");
}

int
cmd_init(int argc, char **argv)
{
	struct init_state st;
	struct ca_config *cfg;
	struct stat sb;
	char err[1024];
	int r, status = 1;

	memset(&st, 0, sizeof(st));
	if ((cfg = st.cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "caadm init: out of memory\n");
		return 1;
	}
	if ((r = init_parse(cfg, argc, argv)) != 0) {
		status = r == -1 ? 0 : r;
		goto out;
	}
	if ((cfg->home = config_home(caadm_home_flag, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "caadm init: %s\n", err);
		status = 2;
		goto out;
	}
	if (asprintf(&cfg->path, "%s/%s", cfg->home, CONFIG_FILE) == -1) {
		cfg->path = NULL;
		fprintf(stderr, "caadm init: out of memory\n");
		goto out;
	}
	if (stat(cfg->path, &sb) == 0) {
		fprintf(stderr, "caadm init: %s already exists, so %s already "
		    "holds a CA; to create another one, pass --home DIR (or "
		    "set CA_HOME) with a new folder\n", cfg->path, cfg->home);
		goto out;
	}

	if (cfg->database_url == NULL &&
	    pgembed_check_home(cfg->home, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm init: %s\n", err);
		goto out;
	}

	if (init_make_dirs(&st) == -1 || init_set_paths(cfg, &st) == -1)
		goto fail;
	if (pki_create_ca(cfg->name, st.certs, st.secrets, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "caadm init: %s\n", err);
		goto fail;
	}
	st.made_ca = 1;
	if (init_database(&st) == -1)
		goto fail;

	/* Last, so that only a complete CA has a config.json. */
	if (config_save(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "caadm init: %s\n", err);
		goto fail;
	}
	init_report(&st);
	status = 0;
	goto out;
 fail:
	init_cleanup(&st);
	fprintf(stderr, "caadm init: failed; removed what this run created, "
	    "so the same command can be run again\n");
 out:
	config_free(cfg);
	return status;
}
