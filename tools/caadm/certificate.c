/*
 * `caadm certificate`: obtain a certificate from an ACME CA with the
 * http-01 challenge answered by a built-in standalone responder, or with
 * another challenge type (--challenge) that needs no client-side setup,
 * such as a plugin type that ca-core's validator decides on its own.
 *
 * Interface: cmd_certificate() from caadm.h.  The command parses its
 * options, checks every name and output file before any network traffic,
 * takes its defaults from the CA home (config.json, and the database when
 * it must pick the only ACME provisioner), then runs RFC 8555: directory,
 * newNonce, newAccount with an ephemeral key, newOrder, one challenge of
 * the chosen type per authorization, finalize with a CSR, and the download of
 * the chain.  The key and chain are written atomically at the end.
 *
 * Progress and errors go to stderr.  Every error is fatal: an ACME problem
 * prints its type and detail, and the command returns 1 (2 for a command
 * line that cannot be parsed).  Polls sleep as the server's Retry-After
 * asks, at most 5 s at a time, and give up after 2 minutes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>

#include "acme_client.h"
#include "caadm.h"
#include "certkey.h"
#include "config.h"
#include "db.h"
#include "https_client.h"
#include "keyauth.h"
#include "responder.h"
#include "util.h"

#define CERT_MAX_NAMES		100
#define CERT_MAX_DNS_LEN	253
#define CERT_MAX_LABEL_LEN	63
#define CERT_MAX_PROVISIONER	64
#define CERT_POLL_LIMIT_MS	(2 * 60 * 1000)
#define CERT_MIN_POLL_MS	100
#define CERT_ERRLEN		2048
#define CERT_CHECK		"\xe2\x9c\x93"	/* U+2713 CHECK MARK */
#define CERT_HTTP01		"http-01"
/* Maximum length of a challenge type name for --challenge. */
#define CERT_MAX_CHALLENGE_LEN	32

struct cert_args {
	const char	*provisioner;
	const char	*ca_url;
	const char	*root;
	const char	*http_listen;
	const char	*challenge;
	const char	*eab_kid;
	const char	*eab_hmac_key;
	const char	*kty;
	const char	*curve;
	const char	*size;
	int		 force;
	const char	*positional[3];
	size_t		 npositional;
	const char	*sans[CERT_MAX_NAMES];
	size_t		 nsans;
};

/* Everything the run needs, resolved from the options and the CA home. */
struct cert_plan {
	const char		*subject;
	const char		*crt_file;
	const char		*key_file;
	struct certkey_name	 names[CERT_MAX_NAMES];
	size_t			 nnames;
	gnutls_pk_algorithm_t	 pk;
	gnutls_ecc_curve_t	 curve;
	unsigned int		 bits;
	char			*directory_url;
	char			*provisioner;	/* label for the progress line */
	char			*root;
	char			*listen_host;
	int			 listen_port;
	const char		*challenge;	/* challenge type to answer */
	const char		*eab_kid;	/* External Account Binding */
	const char		*eab_hmac_key;	/* base64url, from caadm eab add */
};

/* Set while a progress line waits for its " done!", so that an error
 * starts on a line of its own. */
static int cert_line_open;

static void
cert_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
cert_progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static void
cert_fail(const char *msg)
{
	if (cert_line_open)
		fputc('\n', stderr);
	cert_line_open = 0;
	fprintf(stderr, "caadm certificate: %s\n", msg);
}

static void
cert_usage(FILE *f)
{
	fprintf(f,
	    "usage: caadm certificate [--provisioner NAME] [--ca-url URL] "
	    "[--root FILE]\n"
	    "           [--http-listen [HOST]:PORT] [--challenge TYPE]\n"
	    "           [--kty EC|RSA|OKP] [--curve P-256|P-384|P-521|Ed25519]\n"
	    "           [--size BITS] [--eab-kid KID --eab-hmac-key KEY] [--force]\n"
	    "           SUBJECT CRT_FILE KEY_FILE [--san NAME]...\n"
	    "\n"
	    "  --provisioner NAME  ACME provisioner of the CA (default: the "
	    "only one)\n"
	    "  --ca-url URL        directory URL, or server base "
	    "https://HOST:PORT\n"
	    "  --root FILE         root certificate (PEM) that the CA's TLS "
	    "chain must reach\n"
	    "  --http-listen ADDR  address of the http-01 responder "
	    "(default :http_port)\n"
	    "  --challenge TYPE    challenge type to answer (default "
	    "http-01).  For any other\n"
	    "                      type caadm sets nothing up: it asks the "
	    "CA to validate\n"
	    "                      and polls, for types whose validator "
	    "decides alone,\n"
	    "                      such as a plugin's allow-list\n"
	    "  --kty, --curve, --size  certificate key (default EC P-256; "
	    "RSA 2048..8192)\n"
	    "  --san NAME          subject alternative name, DNS name or IP "
	    "address; repeatable\n"
	    "  --eab-kid KID, --eab-hmac-key KEY\n"
	    "                      External Account Binding key, for a "
	    "provisioner that\n"
	    "                      requires one (from caadm eab add)\n"
	    "  --force             overwrite CRT_FILE and KEY_FILE\n");
}

/* Map "--name" to the field it fills, or NULL for an unknown option. */
static const char **
cert_option_slot(struct cert_args *a, const char *name, size_t len)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} opts[] = {
		{ "--provisioner", offsetof(struct cert_args, provisioner) },
		{ "--ca-url", offsetof(struct cert_args, ca_url) },
		{ "--root", offsetof(struct cert_args, root) },
		{ "--http-listen", offsetof(struct cert_args, http_listen) },
		{ "--challenge", offsetof(struct cert_args, challenge) },
		{ "--eab-kid", offsetof(struct cert_args, eab_kid) },
		{ "--eab-hmac-key", offsetof(struct cert_args, eab_hmac_key) },
		{ "--kty", offsetof(struct cert_args, kty) },
		{ "--curve", offsetof(struct cert_args, curve) },
		{ "--size", offsetof(struct cert_args, size) },
	};
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return (const char **)(void *)((char *)a +
			    opts[i].offset);
	}
	return NULL;
}

/* Returns 0, 1 for --help, or -1 with a message in err.  Only arguments
 * that start with "--" are options, so a name such as "-bad-.example"
 * reaches the name check and gets a precise message. */
static int
cert_parse_args(int argc, char **argv, struct cert_args *a, char *err,
    size_t errlen)
{
	const char *arg, *value, **slot;
	size_t namelen;
	int i, options_done = 0;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (options_done || strncmp(arg, "--", 2) != 0) {
			if (!options_done && strcmp(arg, "-h") == 0)
				return 1;
			if (a->npositional == 3) {
				util_seterr(err, errlen, "unexpected argument "
				    "\"%s\"", arg);
				return -1;
			}
			a->positional[a->npositional++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0)
			return 1;
		if (strcmp(arg, "--force") == 0) {
			a->force = 1;
			continue;
		}

		namelen = strcspn(arg, "=");
		if (arg[namelen] == '=')
			value = arg + namelen + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			util_seterr(err, errlen, "option %s needs a value", arg);
			return -1;
		}
		if (namelen == 5 && strncmp(arg, "--san", 5) == 0) {
			if (a->nsans == CERT_MAX_NAMES) {
				util_seterr(err, errlen, "too many --san names "
				    "(maximum %d)", CERT_MAX_NAMES);
				return -1;
			}
			a->sans[a->nsans++] = value;
			continue;
		}
		if ((slot = cert_option_slot(a, arg, namelen)) == NULL) {
			util_seterr(err, errlen, "unknown option %.*s",
			    (int)namelen, arg);
			return -1;
		}
		*slot = value;
	}
	if (a->npositional != 3) {
		util_seterr(err, errlen, "expected SUBJECT, CRT_FILE and "
		    "KEY_FILE");
		return -1;
	}
	return 0;
}

static int
cert_check_dns_name(const char *name, char *err, size_t errlen)
{
	const char *label = name, *dot;
	size_t len = strlen(name), llen, i;
	int numeric = 1;

	if (len > CERT_MAX_DNS_LEN) {
		util_seterr(err, errlen, "invalid name \"%s\": longer than %d "
		    "characters", name, CERT_MAX_DNS_LEN);
		return -1;
	}
	for (;;) {
		dot = strchr(label, '.');
		llen = dot != NULL ? (size_t)(dot - label) : strlen(label);
		if (llen == 0 || llen > CERT_MAX_LABEL_LEN) {
			util_seterr(err, errlen, "invalid name \"%s\": every "
			    "label must have 1 to %d characters", name,
			    CERT_MAX_LABEL_LEN);
			return -1;
		}
		if (label[0] == '-' || label[llen - 1] == '-') {
			util_seterr(err, errlen, "invalid name \"%s\": a label "
			    "must not start or end with a hyphen", name);
			return -1;
		}
		numeric = 1;
		for (i = 0; i < llen; i++) {
			unsigned char ch = (unsigned char)label[i];

			if ((ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') &&
			    ch != '-') {
				util_seterr(err, errlen, "invalid name \"%s\": "
				    "only letters, digits, hyphens and dots "
				    "are allowed", name);
				return -1;
			}
			if (ch < '0' || ch > '9')
				numeric = 0;
		}
		if (dot == NULL)
			break;
		label = dot + 1;
	}
	if (numeric) {
		util_seterr(err, errlen, "invalid name \"%s\": neither an IP "
		    "address nor a DNS name (the last label is numeric)", name);
		return -1;
	}
	return 0;
}

/* Check one name and store its canonical form: lower case for DNS names,
 * inet_ntop() text for IP addresses. */
static int
cert_parse_name(const char *text, struct certkey_name *out, char *err,
    size_t errlen)
{
	unsigned char addr[16];
	char buf[INET6_ADDRSTRLEN], *lower = NULL;
	size_t len = strlen(text), i;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		util_seterr(err, errlen, "invalid name: empty");
		return -1;
	}
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']' &&
	    len - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) == 1)
			text = buf;
	}
	if (inet_pton(AF_INET, text, addr) == 1 ||
	    inet_pton(AF_INET6, text, addr) == 1) {
		int af = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

		if (inet_ntop(af, addr, buf, sizeof(buf)) == NULL)
			return -1;
		out->is_ip = 1;
		out->value = strdup(buf);
		goto done;
	}
	if (strchr(text, ':') != NULL) {
		util_seterr(err, errlen, "invalid name \"%s\": not an IP "
		    "address", text);
		return -1;
	}
	if (strncmp(text, "*.", 2) == 0) {
		util_seterr(err, errlen, "invalid name \"%s\": wildcard names "
		    "need the dns-01 challenge, which caadm certificate does "
		    "not support", text);
		return -1;
	}
	if ((lower = strdup(text)) == NULL)
		goto done;
	for (i = 0; i < len; i++) {
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	}
	if (cert_check_dns_name(lower, err, errlen) == -1) {
		free(lower);
		return -1;
	}
	out->value = lower;
 done:
	if (out->value == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* SUBJECT first, then every --san, without duplicates. */
static int
cert_build_names(const struct cert_args *a, struct cert_plan *p, char *err,
    size_t errlen)
{
	struct certkey_name n;
	const char *text;
	size_t i, j;

	for (i = 0; i <= a->nsans; i++) {
		text = i == 0 ? a->positional[0] : a->sans[i - 1];
		if (cert_parse_name(text, &n, err, errlen) == -1)
			return -1;
		for (j = 0; j < p->nnames; j++) {
			if (strcmp(p->names[j].value, n.value) == 0)
				break;
		}
		if (j < p->nnames || p->nnames == CERT_MAX_NAMES) {
			free(n.value);
			continue;
		}
		p->names[p->nnames++] = n;
	}
	return 0;
}

static int
cert_key_options(const struct cert_args *a, struct cert_plan *p, char *err,
    size_t errlen)
{
	const char *kty = a->kty, *curve = a->curve;
	char *end;
	long bits;

	if (kty == NULL)
		kty = curve != NULL && strcasecmp(curve, "Ed25519") == 0 ?
		    "OKP" : "EC";
	if (strcasecmp(kty, "RSA") == 0) {
		if (curve != NULL) {
			util_seterr(err, errlen, "--curve does not apply to "
			    "--kty RSA; use --size BITS");
			return -1;
		}
		p->pk = GNUTLS_PK_RSA;
		p->bits = 2048;
		if (a->size != NULL) {
			errno = 0;
			bits = strtol(a->size, &end, 10);
			if (errno != 0 || end == a->size || *end != '\0' ||
			    bits < 2048 || bits > 8192) {
				util_seterr(err, errlen, "invalid --size \"%s\": "
				    "use 2048 to 8192 bits", a->size);
				return -1;
			}
			p->bits = (unsigned int)bits;
		}
		return 0;
	}
	if (a->size != NULL) {
		util_seterr(err, errlen, "--size applies only to --kty RSA");
		return -1;
	}
	if (strcasecmp(kty, "OKP") == 0) {
		if (curve != NULL && strcasecmp(curve, "Ed25519") != 0) {
			util_seterr(err, errlen, "invalid --curve \"%s\" for "
			    "--kty OKP: use Ed25519", curve);
			return -1;
		}
		p->pk = GNUTLS_PK_EDDSA_ED25519;
		p->curve = GNUTLS_ECC_CURVE_ED25519;
		return 0;
	}
	if (strcasecmp(kty, "EC") != 0) {
		util_seterr(err, errlen, "invalid --kty \"%s\": use EC, RSA or "
		    "OKP", kty);
		return -1;
	}
	p->pk = GNUTLS_PK_ECDSA;
	if (curve == NULL || strcasecmp(curve, "P-256") == 0)
		p->curve = GNUTLS_ECC_CURVE_SECP256R1;
	else if (strcasecmp(curve, "P-384") == 0)
		p->curve = GNUTLS_ECC_CURVE_SECP384R1;
	else if (strcasecmp(curve, "P-521") == 0)
		p->curve = GNUTLS_ECC_CURVE_SECP521R1;
	else {
		util_seterr(err, errlen, "invalid --curve \"%s\" for --kty EC: "
		    "use P-256, P-384 or P-521 (Ed25519 needs --kty OKP)",
		    curve);
		return -1;
	}
	return 0;
}

static int
cert_check_output(const char *path, const char *what, int force, char *err,
    size_t errlen)
{
	struct stat st;
	char *copy, *dir;
	int ret = 0;

	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			util_seterr(err, errlen, "%s file %s is a directory",
			    what, path);
			return -1;
		}
		if (!force) {
			util_seterr(err, errlen, "%s file %s already exists; "
			    "pass --force to overwrite it", what, path);
			return -1;
		}
	}

	/* Find an unwritable folder now, not after the CA issued. */
	if ((copy = strdup(path)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == -1) {
		util_seterr(err, errlen, "cannot write %s file %s: folder %s: "
		    "%s", what, path, dir, strerror(errno));
		ret = -1;
	}
	free(copy);
	return ret;
}

static int
cert_provisioner_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > CERT_MAX_PROVISIONER)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.'))
			return 0;
	}
	return 1;
}

/* Pick the only ACME provisioner of the CA from its database. */
static int
cert_pick_provisioner(const struct ca_config *cfg, char **out, char *err,
    size_t errlen)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char names[512] = "";
	int i, n, ret = -1;

	*out = NULL;
	if ((conn = db_connect(cfg, err, errlen)) == NULL)
		goto out;
	if ((res = db_exec(conn, "SELECT name FROM provisioners "
	    "WHERE type = 'ACME' ORDER BY name", 0, NULL, err,
	    errlen)) == NULL)
		goto out;
	n = PQntuples(res);
	if (n == 0) {
		util_seterr(err, errlen, "the CA in %s has no ACME provisioner; "
		    "add one with: caadm provisioner add NAME --type ACME",
		    cfg->home);
		goto out;
	}
	if (n > 1) {
		for (i = 0; i < n; i++) {
			size_t used = strlen(names);

			snprintf(names + used, sizeof(names) - used, "%s%s",
			    i > 0 ? ", " : "", PQgetvalue(res, i, 0));
		}
		util_seterr(err, errlen, "the CA has several ACME provisioners "
		    "(%s); pass --provisioner NAME", names);
		goto out;
	}
	if ((*out = strdup(PQgetvalue(res, 0, 0))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	if (res != NULL)
		PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	return ret;
}

/* Use the provisioner from the command line, or from the database. */
static int
cert_choose_provisioner(const struct cert_args *a,
    const struct ca_config *cfg, struct cert_plan *p, char *err,
    size_t errlen)
{
	if (a->provisioner != NULL) {
		if (!cert_provisioner_valid(a->provisioner)) {
			util_seterr(err, errlen, "invalid provisioner name "
			    "\"%s\"", a->provisioner);
			return -1;
		}
		if ((p->provisioner = strdup(a->provisioner)) == NULL) {
			util_seterr(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (cfg == NULL) {
		util_seterr(err, errlen, "--provisioner NAME is required when "
		    "--ca-url is a server base URL and no CA home is set");
		return -1;
	}
	if (cert_pick_provisioner(cfg, &p->provisioner, err, errlen) == -1)
		return -1;
	if (!cert_provisioner_valid(p->provisioner)) {
		util_seterr(err, errlen, "the database names an invalid "
		    "provisioner \"%s\"", p->provisioner);
		return -1;
	}
	return 0;
}

/* Take the provisioner label from ".../acme/NAME/directory", else show
 * the directory URL itself. */
static int
cert_label_from_url(struct cert_plan *p)
{
	const char *s = strstr(p->directory_url, "/acme/"), *e;

	if (s != NULL) {
		s += strlen("/acme/");
		e = strchr(s, '/');
		if (e != NULL && strcmp(e, "/directory") == 0 && e > s) {
			p->provisioner = strndup(s, (size_t)(e - s));
			return p->provisioner != NULL ? 0 : -1;
		}
	}
	p->provisioner = strdup(p->directory_url);
	return p->provisioner != NULL ? 0 : -1;
}

static int
cert_directory_url(const struct cert_args *a, const struct ca_config *cfg,
    struct cert_plan *p, char *err, size_t errlen)
{
	struct https_url u;
	const char *host;
	size_t blen;
	int rc;

	if (a->ca_url == NULL) {
		if (cfg == NULL || cfg->ndns == 0) {
			util_seterr(err, errlen, "%s", cfg == NULL ?
			    "no --ca-url given and no CA home set; pass "
			    "--ca-url URL, or --home DIR or CA_HOME" :
			    "the CA configuration lists no DNS name; pass "
			    "--ca-url URL");
			return -1;
		}
		if (cert_choose_provisioner(a, cfg, p, err, errlen) == -1)
			return -1;
		host = cfg->dns[0];
		rc = asprintf(&p->directory_url, strchr(host, ':') != NULL ?
		    "https://[%s]:%d/acme/%s/directory" :
		    "https://%s:%d/acme/%s/directory", host, cfg->listen_port,
		    p->provisioner);
		goto done;
	}

	if (https_url_parse(a->ca_url, &u, err, errlen) == -1)
		return -1;
	rc = u.has_path;
	https_url_clear(&u);
	if (rc) {
		/* A URL with a path is the directory itself (pebble
		 * serves /dir, ca-core /acme/NAME/directory). */
		if ((p->directory_url = strdup(a->ca_url)) == NULL)
			goto nomem;
		if (a->provisioner != NULL)
			p->provisioner = strdup(a->provisioner);
		else
			rc = cert_label_from_url(p);
		if (p->provisioner == NULL || rc == -1)
			goto nomem;
		return 0;
	}
	if (cert_choose_provisioner(a, cfg, p, err, errlen) == -1)
		return -1;
	blen = strcspn(a->ca_url + 8, "/?#") + 8;
	rc = asprintf(&p->directory_url, "%.*s/acme/%s/directory", (int)blen,
	    a->ca_url, p->provisioner);
 done:
	if (rc == -1) {
		p->directory_url = NULL;
		goto nomem;
	}
	return 0;
 nomem:
	util_seterr(err, errlen, "out of memory");
	return -1;
}

/* Fill the CA URL, root and responder address from the options, falling
 * back on the CA home.  The home is read only when something is missing. */
static int
cert_resolve(const struct cert_args *a, struct cert_plan *p, char *err,
    size_t errlen)
{
	struct ca_config *cfg = NULL;
	struct https_url u;
	char *home = NULL, *listen = NULL;
	int need_home, url_is_base = 1, ret = -1;

	if (a->ca_url != NULL) {
		if (https_url_parse(a->ca_url, &u, err, errlen) == -1)
			goto out;
		url_is_base = !u.has_path;
		https_url_clear(&u);
	}
	need_home = a->ca_url == NULL || a->root == NULL ||
	    a->http_listen == NULL || (url_is_base && a->provisioner == NULL);
	if (need_home && (home = config_home(caadm_home_flag, NULL, 0)) !=
	    NULL && config_load(home, &cfg, err, errlen) == -1)
		goto out;

	if (cert_directory_url(a, cfg, p, err, errlen) == -1)
		goto out;

	if (a->root != NULL)
		p->root = strdup(a->root);
	else if (cfg != NULL && cfg->root_cert != NULL)
		p->root = strdup(cfg->root_cert);
	else {
		util_seterr(err, errlen, "--root FILE is required when no CA "
		    "home is set");
		goto out;
	}

	if (a->http_listen != NULL)
		listen = strdup(a->http_listen);
	else if (asprintf(&listen, ":%d", cfg != NULL ? cfg->http_port :
	    80) == -1)
		listen = NULL;
	if (p->root == NULL || listen == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (config_parse_hostport(listen, &p->listen_host, &p->listen_port,
	    err, errlen) == -1)
		goto out;
	ret = 0;
 out:
	free(listen);
	free(home);
	config_free(cfg);
	return ret;
}

/* Sleep before the next poll.  Returns -1 when the poll deadline has
 * passed. */
static int
cert_poll_sleep(int ms, int64_t deadline)
{
	struct timespec ts;
	int64_t left = deadline - util_now_ms();

	if (left <= 0)
		return -1;

	/* "Retry-After: 0" still gets a short pause, so that a server
	 * that always sends it cannot drive a busy loop. */
	if (ms < CERT_MIN_POLL_MS)
		ms = CERT_MIN_POLL_MS;
	if (ms > left)
		ms = (int)left;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return 0;
}

/* Describe the "error" member of a challenge. */
static void
cert_challenge_error(struct json_object *chal, const char *name, char *err,
    size_t errlen)
{
	struct json_object *problem;
	char text[1536];

	if (json_object_object_get_ex(chal, "error", &problem) &&
	    json_object_is_type(problem, json_type_object)) {
		acme_problem_format(problem, text, sizeof(text));
		util_seterr(err, errlen, "validation of %s failed: %s", name,
		    text);
	} else
		util_seterr(err, errlen, "validation of %s failed; the CA gave "
		    "no problem detail", name);
}

/* Describe why an authorization is invalid, from the first of its
 * challenges that carries an error. */
static void
cert_authz_error(struct json_object *authz, const char *name, char *err,
    size_t errlen)
{
	struct json_object *chals, *ch;
	size_t i, n;

	if (json_object_object_get_ex(authz, "challenges", &chals) &&
	    json_object_is_type(chals, json_type_array)) {
		n = json_object_array_length(chals);
		for (i = 0; i < n; i++) {
			ch = json_object_array_get_idx(chals, i);
			if (json_object_object_get_ex(ch, "error", NULL)) {
				cert_challenge_error(ch, name, err, errlen);
				return;
			}
		}
	}
	cert_challenge_error(authz, name, err, errlen);
}

/* Find the challenge of the type wanted, or explain which types the CA
 * offered. */
static struct json_object *
cert_find_challenge(struct json_object *authz, const char *wanted,
    const char *name, char *err, size_t errlen)
{
	struct json_object *chals, *ch;
	char offered[512] = "", shown[64];
	const char *type;
	size_t i, n, used;

	if (!json_object_object_get_ex(authz, "challenges", &chals) ||
	    !json_object_is_type(chals, json_type_array)) {
		util_seterr(err, errlen, "the authorization for %s has no "
		    "challenges", name);
		return NULL;
	}
	n = json_object_array_length(chals);
	for (i = 0; i < n; i++) {
		ch = json_object_array_get_idx(chals, i);
		type = acme_json_string(ch, "type");
		if (type != NULL && strcmp(type, wanted) == 0)
			return ch;
		used = strlen(offered);
		snprintf(offered + used, sizeof(offered) - used, "%s%s",
		    used > 0 ? ", " : "", acme_escape(type, shown,
		    sizeof(shown)));
	}
	util_seterr(err, errlen, "the CA offers no %s challenge for %s "
	    "(offered: %s)", wanted, name, n > 0 ? offered : "none");
	return NULL;
}

/* Respond to the challenge of type wanted of one authorization and poll it
 * until it is valid.  Only http-01 gets client-side setup (a token on
 * the responder resp); for any other type the challenge is just
 * triggered. */
static int
cert_authorize(struct acme_client *acme, struct responder *resp,
    const char *wanted, const char *authz_url, char *err, size_t errlen)
{
	struct json_object *authz = NULL, *chal_obj = NULL, *ident;
	struct json_object *chal;
	const char *status, *token, *chal_url;
	char name[300], *keyauth = NULL, *token_copy = NULL;
	unsigned long hits_before = 0;
	int64_t deadline;
	int retry_ms, validating = 0, http01, ret = -1;

	http01 = strcmp(wanted, CERT_HTTP01) == 0;
	if (acme_post_json(acme, authz_url, NULL, &authz, NULL, NULL, err,
	    errlen) == -1)
		goto out;
	ident = NULL;
	json_object_object_get_ex(authz, "identifier", &ident);
	acme_escape(acme_json_string(ident, "value"), name, sizeof(name));
	if (http01)
		cert_progress("Using Standalone Mode HTTP challenge to "
		    "validate %s ", name);
	else
		cert_progress("Using the %s challenge, which needs no setup "
		    "here, to validate %s ", wanted, name);
	cert_line_open = 1;

	status = acme_json_string(authz, "status");
	if (status != NULL && strcmp(status, "valid") == 0)
		goto done;
	if (status == NULL || strcmp(status, "pending") != 0) {
		util_seterr(err, errlen, "the authorization for %s is %s, not "
		    "pending", name, status != NULL ? status : "missing a "
		    "status");
		goto out;
	}
	if ((chal = cert_find_challenge(authz, wanted, name, err,
	    errlen)) == NULL)
		goto out;
	token = acme_json_string(chal, "token");
	chal_url = acme_json_string(chal, "url");
	if (token == NULL || chal_url == NULL) {
		util_seterr(err, errlen, "the %s challenge for %s has no "
		    "token or url", wanted, name);
		goto out;
	}
	if (!http01)
		goto trigger;
	if ((keyauth = keyauth_build(token, acme_thumbprint(acme))) == NULL ||
	    (token_copy = strdup(token)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (responder_add(resp, token, keyauth, err, errlen) == -1) {
		free(token_copy);
		token_copy = NULL;
		goto out;
	}

	hits_before = responder_hits(resp);
 trigger:
	/* RFC 8555 7.5.1: an empty object tells the CA to validate. */
	if (acme_post_json(acme, chal_url, "{}", &chal_obj, NULL, &retry_ms,
	    err, errlen) == -1)
		goto out;
	cert_progress(".");
	validating = 1;
	status = acme_json_string(chal_obj, "status");
	if (status != NULL && strcmp(status, "valid") == 0)
		goto done;
	if (status != NULL && strcmp(status, "invalid") == 0) {
		cert_challenge_error(chal_obj, name, err, errlen);
		goto out;
	}

	/* Pending or processing: poll the authorization. */
	deadline = util_now_ms() + CERT_POLL_LIMIT_MS;
	for (;;) {
		if (cert_poll_sleep(retry_ms, deadline) == -1) {
			util_seterr(err, errlen, "validation of %s did not "
			    "finish within %d s", name,
			    CERT_POLL_LIMIT_MS / 1000);
			goto out;
		}
		json_object_put(authz);
		authz = NULL;
		if (acme_post_json(acme, authz_url, NULL, &authz, NULL,
		    &retry_ms, err, errlen) == -1)
			goto out;
		cert_progress(".");
		status = acme_json_string(authz, "status");
		if (status != NULL && strcmp(status, "valid") == 0)
			break;
		if (status != NULL && strcmp(status, "invalid") == 0) {
			cert_authz_error(authz, name, err, errlen);
			goto out;
		}
		if (strcmp(status != NULL ? status : "", "pending") != 0) {
			util_seterr(err, errlen, "the authorization for %s "
			    "became %s", name, status != NULL ? status :
			    "a value without status");
			goto out;
		}
	}
 done:
	cert_progress(" done!\n");
	cert_line_open = 0;
	ret = 0;
 out:
	if (ret != 0 && http01 && validating &&
	    responder_hits(resp) == hits_before) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, "; the CA never fetched "
		    "the token from the http-01 responder, so check that "
		    "--http-listen is the address and port the CA connects to");
	}
	if (token_copy != NULL)
		responder_remove(resp, token_copy);
	free(token_copy);
	free(keyauth);
	if (authz != NULL)
		json_object_put(authz);
	if (chal_obj != NULL)
		json_object_put(chal_obj);
	return ret;
}

static char *
cert_order_payload(const struct cert_plan *p)
{
	struct json_object *root, *ids, *id;
	char *text = NULL;
	size_t i;

	if ((root = json_object_new_object()) == NULL)
		return NULL;
	if ((ids = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(root, "identifiers", ids);
	for (i = 0; i < p->nnames; i++) {
		if ((id = json_object_new_object()) == NULL)
			goto out;
		json_object_array_add(ids, id);
		json_object_object_add(id, "type", json_object_new_string(
		    p->names[i].is_ip ? "ip" : "dns"));
		json_object_object_add(id, "value",
		    json_object_new_string(p->names[i].value));
	}
	text = strdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
 out:
	json_object_put(root);
	return text;
}

/* Poll the order until its status is target.  *order holds the last
 * version on return; a first version may be passed in. */
static int
cert_wait_order(struct acme_client *acme, const char *order_url,
    const char *target, const char *busy, struct json_object **order,
    int retry_ms, char *err, size_t errlen)
{
	struct json_object *problem;
	int64_t deadline = util_now_ms() + CERT_POLL_LIMIT_MS;
	const char *status;
	char text[1536], shown[64];

	for (;;) {
		if (*order != NULL) {
			status = acme_json_string(*order, "status");
			if (status != NULL && strcmp(status, target) == 0)
				return 0;
			if (status != NULL && strcmp(status, "invalid") == 0) {
				if (json_object_object_get_ex(*order, "error",
				    &problem))
					acme_problem_format(problem, text,
					    sizeof(text));
				else
					snprintf(text, sizeof(text), "no "
					    "problem detail");
				util_seterr(err, errlen, "the order became "
				    "invalid: %s", text);
				return -1;
			}
			if (status == NULL || strcmp(status, busy) != 0) {
				util_seterr(err, errlen, "the order is %s, "
				    "expected %s or %s", acme_escape(status,
				    shown, sizeof(shown)), busy, target);
				return -1;
			}
			if (cert_poll_sleep(retry_ms, deadline) == -1) {
				util_seterr(err, errlen, "the order did not "
				    "become %s within %d s", target,
				    CERT_POLL_LIMIT_MS / 1000);
				return -1;
			}
			json_object_put(*order);
			*order = NULL;
		}
		if (acme_post_json(acme, order_url, NULL, order, NULL,
		    &retry_ms, err, errlen) == -1)
			return -1;
		cert_progress(".");
	}
}

static int
cert_download(struct acme_client *acme, struct json_object *order,
    gnutls_x509_privkey_t key, char **chain, size_t *chain_len, char *err,
    size_t errlen)
{
	struct https_response *r = NULL;
	const char *url = acme_json_string(order, "certificate");
	int ret = -1;

	if (url == NULL) {
		util_seterr(err, errlen, "the valid order has no certificate "
		    "URL");
		goto out;
	}
	if (acme_post(acme, url, NULL, "application/pem-certificate-chain",
	    &r, err, errlen) == -1)
		goto out;
	if (certkey_check_chain(r->body, r->body_len, key, err, errlen) == -1)
		goto out;
	*chain = r->body;
	*chain_len = r->body_len;
	r->body = NULL;
	ret = 0;
 out:
	https_response_free(r);
	return ret;
}

/* The order: newOrder, authorizations, finalize, download. */
static int
cert_obtain(struct acme_client *acme, struct responder *resp,
    const struct cert_plan *p, gnutls_x509_privkey_t key, char **chain,
    size_t *chain_len, char *err, size_t errlen)
{
	struct json_object *order = NULL, *authzs, *a;
	char *payload = NULL, *order_url = NULL, *csr = NULL;
	char *finalize = NULL;
	const char *text;
	size_t i, n;
	int retry_ms = ACME_DEFAULT_POLL_MS, ret = -1;

	if ((payload = cert_order_payload(p)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (acme_post_json(acme, acme_directory_url(acme, "newOrder"),
	    payload, &order, &order_url, NULL, err, errlen) == -1)
		goto out;
	if (order_url == NULL) {
		util_seterr(err, errlen, "the newOrder response has no "
		    "Location header");
		goto out;
	}
	if (!json_object_object_get_ex(order, "authorizations", &authzs) ||
	    !json_object_is_type(authzs, json_type_array)) {
		util_seterr(err, errlen, "the order has no authorizations");
		goto out;
	}
	n = json_object_array_length(authzs);
	for (i = 0; i < n; i++) {
		a = json_object_array_get_idx(authzs, i);
		if (!json_object_is_type(a, json_type_string)) {
			util_seterr(err, errlen, "the order lists an "
			    "authorization that is not a URL");
			goto out;
		}
		if (cert_authorize(acme, resp, p->challenge,
		    json_object_get_string(a), err, errlen) == -1)
			goto out;
	}

	cert_progress("Waiting for Order to be 'ready' for finalization ");
	cert_line_open = 1;
	json_object_put(order);
	order = NULL;
	if (cert_wait_order(acme, order_url, "ready", "pending", &order,
	    retry_ms, err, errlen) == -1)
		goto out;
	cert_progress(" done!\n");
	cert_line_open = 0;

	if ((text = acme_json_string(order, "finalize")) == NULL) {
		util_seterr(err, errlen, "the order has no finalize URL");
		goto out;
	}
	if ((finalize = strdup(text)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (certkey_csr(key, p->subject, p->names, p->nnames, &csr, err,
	    errlen) == -1)
		goto out;
	free(payload);
	if (asprintf(&payload, "{\"csr\":\"%s\"}", csr) == -1) {
		payload = NULL;
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	cert_progress("Finalizing Order ");
	cert_line_open = 1;
	json_object_put(order);
	order = NULL;
	if (acme_post_json(acme, finalize, payload, &order, NULL, &retry_ms,
	    err, errlen) == -1)
		goto out;
	cert_progress(".");
	if (cert_wait_order(acme, order_url, "valid", "processing", &order,
	    retry_ms, err, errlen) == -1)
		goto out;
	cert_progress(" done!\n");
	cert_line_open = 0;

	if (cert_download(acme, order, key, chain, chain_len, err,
	    errlen) == -1)
		goto out;
	ret = 0;
 out:
	if (order != NULL)
		json_object_put(order);
	free(payload);
	free(order_url);
	free(finalize);
	free(csr);
	return ret;
}

static int
cert_write_files(const struct cert_plan *p, gnutls_x509_privkey_t key,
    const char *chain, size_t chain_len, char *err, size_t errlen)
{
	gnutls_datum_t pem = { NULL, 0 };
	int ret = -1;

	if (certkey_export(key, &pem, err, errlen) == -1)
		goto out;
	if (util_write_file(p->key_file, pem.data, pem.size, 0600) == -1) {
		util_seterr(err, errlen, "cannot write %s: %s", p->key_file,
		    strerror(errno));
		goto out;
	}
	if (util_write_file(p->crt_file, chain, chain_len, 0644) == -1) {
		util_seterr(err, errlen, "cannot write %s: %s", p->crt_file,
		    strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	util_wipe(pem.data, pem.size);
	gnutls_free(pem.data);
	return ret;
}

static void
cert_plan_clear(struct cert_plan *p)
{
	size_t i;

	for (i = 0; i < p->nnames; i++)
		free(p->names[i].value);
	free(p->directory_url);
	free(p->provisioner);
	free(p->root);
	free(p->listen_host);
	memset(p, 0, sizeof(*p));
}

enum cert_prepare_result {
	CERT_PREPARED = 0,
	CERT_HELP,		/* --help: print the usage and succeed */
	CERT_USAGE_ERROR,	/* the command line cannot be parsed */
	CERT_INVALID		/* a name, file or default is unusable */
};

/* A challenge type name as ca-core's config accepts it: lowercase
 * letters, digits and hyphens. */
static int
cert_check_challenge(const char *type, char *err, size_t errlen)
{
	size_t i, len = strlen(type);

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)type[i];

		if ((ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') &&
		    ch != '-')
			break;
	}
	if (len == 0 || len > CERT_MAX_CHALLENGE_LEN || i < len) {
		util_seterr(err, errlen, "invalid --challenge \"%.*s\": use a "
		    "challenge type of 1 to %d lowercase letters, digits and "
		    "hyphens, such as http-01", CERT_MAX_CHALLENGE_LEN + 1,
		    type, CERT_MAX_CHALLENGE_LEN);
		return -1;
	}
	return 0;
}

/* Everything that needs no network: options, names, files, defaults. */
static enum cert_prepare_result
cert_prepare(int argc, char **argv, struct cert_plan *p, char *err,
    size_t errlen)
{
	struct cert_args a;
	int rc;

	if ((rc = cert_parse_args(argc, argv, &a, err, errlen)) != 0)
		return rc == 1 ? CERT_HELP : CERT_USAGE_ERROR;
	p->subject = a.positional[0];
	p->crt_file = a.positional[1];
	p->key_file = a.positional[2];
	p->challenge = a.challenge != NULL ? a.challenge : CERT_HTTP01;
	if (cert_check_challenge(p->challenge, err, errlen) == -1)
		return CERT_INVALID;
	if ((a.eab_kid == NULL) != (a.eab_hmac_key == NULL)) {
		util_seterr(err, errlen, "--eab-kid and --eab-hmac-key go "
		    "together; pass both, as printed by caadm eab add");
		return CERT_USAGE_ERROR;
	}
	p->eab_kid = a.eab_kid;
	p->eab_hmac_key = a.eab_hmac_key;
	if (cert_build_names(&a, p, err, errlen) == -1 ||
	    cert_key_options(&a, p, err, errlen) == -1)
		return CERT_INVALID;
	if (strcmp(p->crt_file, p->key_file) == 0) {
		util_seterr(err, errlen, "CRT_FILE and KEY_FILE are both %s",
		    p->crt_file);
		return CERT_INVALID;
	}
	if (cert_check_output(p->crt_file, "certificate", a.force, err,
	    errlen) == -1 ||
	    cert_check_output(p->key_file, "private key", a.force, err,
	    errlen) == -1 ||
	    cert_resolve(&a, p, err, errlen) == -1)
		return CERT_INVALID;
	return CERT_PREPARED;
}

int
cmd_certificate(int argc, char **argv)
{
	struct cert_plan plan;
	struct https_client *http = NULL;
	struct responder *resp = NULL;
	struct acme_client *acme = NULL;
	gnutls_x509_privkey_t key = NULL;
	char err[CERT_ERRLEN], *chain = NULL;
	size_t chain_len = 0;
	int ret = 1;

	memset(&plan, 0, sizeof(plan));
	cert_line_open = 0;
	switch (cert_prepare(argc, argv, &plan, err, sizeof(err))) {
	case CERT_PREPARED:
		break;
	case CERT_HELP:
		cert_usage(stdout);
		ret = 0;
		goto out;
	case CERT_USAGE_ERROR:
		cert_fail(err);
		cert_usage(stderr);
		ret = 2;
		goto out;
	case CERT_INVALID:
		cert_fail(err);
		goto out;
	}

	if (https_client_new(plan.root, &http, err, sizeof(err)) == -1 ||
	    (strcmp(plan.challenge, CERT_HTTP01) == 0 &&
	    responder_start(plan.listen_host, plan.listen_port, &resp, err,
	    sizeof(err)) == -1) ||
	    acme_client_new(http, plan.directory_url, &acme, err,
	    sizeof(err)) == -1 ||
	    (plan.eab_kid != NULL && acme_client_set_eab(acme, plan.eab_kid,
	    plan.eab_hmac_key, err, sizeof(err)) == -1) ||
	    acme_fetch_directory(acme, err, sizeof(err)) == -1) {
		cert_fail(err);
		goto out;
	}
	cert_progress(CERT_CHECK " Provisioner: %s (ACME)\n",
	    plan.provisioner);

	if (acme_new_account(acme, err, sizeof(err)) == -1 ||
	    certkey_generate(plan.pk, plan.curve, plan.bits, &key, err,
	    sizeof(err)) == -1 ||
	    cert_obtain(acme, resp, &plan, key, &chain, &chain_len, err,
	    sizeof(err)) == -1 ||
	    cert_write_files(&plan, key, chain, chain_len, err,
	    sizeof(err)) == -1) {
		cert_fail(err);
		goto out;
	}
	cert_progress(CERT_CHECK " Certificate: %s\n", plan.crt_file);
	cert_progress(CERT_CHECK " Private Key: %s\n", plan.key_file);
	ret = 0;
 out:
	free(chain);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	acme_client_free(acme);
	responder_stop(resp);
	https_client_free(http);
	cert_plan_clear(&plan);
	return ret;
}
