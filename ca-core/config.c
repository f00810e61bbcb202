/*
 * The CA's configuration file, CA_HOME/config.json.
 *
 * Interface (config.h): config_home() finds the home folder, config_load()
 * reads and checks config.json, config_save() writes it, and
 * config_parse_hostport() and config_check_name() check single values.
 * Every problem is returned to the caller as -1 (or NULL) with a message
 * that names the file, the field and the value and suggests a fix.
 * Nothing here logs or exits.  Unknown fields are ignored so that a newer
 * config file still loads in an older program.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "log.h"
#include "util.h"

#define CONFIG_MAX_FILE		(1024 * 1024)
#define CONFIG_MAX_NAME		253
#define CONFIG_MAX_LABEL	63
#define CONFIG_MAX_TYPE		32
#define CONFIG_HTTP01_EXE	"ca-validator-http-01"
#define CONFIG_MAX_ARG_LEN	4096

/* Error context of config_load: the file name and the caller's buffer. */
struct config_ctx {
	const char	*path;
	const char	*prefix;	/* "" or "validators.TYPE." */
	char		*err;
	size_t		 errlen;
};

/* Escape an untrusted value for an error message. */
static const char *
config_quote(const char *text, char *buf, size_t buflen)
{
	return log_escape(text, strlen(text), buf, buflen);
}

char *
config_home(const char *flag, char *err, size_t errlen)
{
	char cwd[PATH_MAX], resolved[PATH_MAX];
	const char *src = flag;
	char *out = NULL;
	size_t len;

	if (src == NULL || *src == '\0')
		src = getenv("CA_HOME");
	if (src == NULL || *src == '\0') {
		util_seterr(err, errlen, "no CA home folder is set; pass "
		    "--home DIR or set the CA_HOME environment variable");
		return NULL;
	}

	/* An existing folder is resolved fully; a new one is made absolute
	 * against the working directory so that a later chdir cannot move
	 * it. */
	if (realpath(src, resolved) != NULL)
		out = strdup(resolved);
	else if (src[0] == '/')
		out = strdup(src);
	else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		util_seterr(err, errlen, "cannot resolve the CA home \"%s\": "
		    "getcwd: %s; pass an absolute path", src, strerror(errno));
		return NULL;
	} else if (asprintf(&out, "%s/%s", cwd, src) == -1)
		out = NULL;
	if (out == NULL) {
		util_seterr(err, errlen, "out of memory");
		return NULL;
	}
	len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	return out;
}

static int
config_check_label(const char *label, size_t len)
{
	size_t i;

	if (len == 0 || len > CONFIG_MAX_LABEL)
		return -1;
	if (label[0] == '-' || label[len - 1] == '-')
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)label[i];

		if (!isalnum(c) && c != '-')
			return -1;
	}
	return 0;
}

int
config_check_name(const char *name, char *err, size_t errlen)
{
	unsigned char addr[16];
	char q[128];
	const char *label, *dot;
	size_t len, i;
	int numeric_tld = 1;

	if (name == NULL || *name == '\0') {
		util_seterr(err, errlen, "empty name; give a DNS name such "
		    "as ca.example.test or an IP address");
		return -1;
	}
	if (inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1)
		return 0;

	len = strlen(name);
	if (len > CONFIG_MAX_NAME) {
		util_seterr(err, errlen, "name \"%s\" is %zu bytes long, "
		    "above the DNS maximum of %d", config_quote(name, q,
		    sizeof(q)), len, CONFIG_MAX_NAME);
		return -1;
	}
	for (label = name; ; label = dot + 1) {
		dot = strchr(label, '.');
		i = dot == NULL ? strlen(label) : (size_t)(dot - label);
		if (config_check_label(label, i) == -1) {
			util_seterr(err, errlen, "\"%s\" is neither an IP "
			    "address nor a valid DNS name; each dot-separated "
			    "label must have 1 to 63 letters, digits or "
			    "hyphens and must not start or end with a hyphen",
			    config_quote(name, q, sizeof(q)));
			return -1;
		}
		if (dot == NULL)
			break;
	}

	/* A name whose last label is all digits reads as a mistyped IPv4
	 * address (1.2.3.400) and is no valid host name. */
	for (i = 0; label[i] != '\0'; i++)
		if (!isdigit((unsigned char)label[i]))
			numeric_tld = 0;
	if (numeric_tld) {
		util_seterr(err, errlen, "\"%s\" is neither a valid IP "
		    "address nor a DNS name (its last label is all digits)",
		    config_quote(name, q, sizeof(q)));
		return -1;
	}
	return 0;
}

static int
config_parse_port(const char *text, int *port)
{
	long v = 0;
	size_t i;

	*port = 0;
	if (text[0] == '\0' || strlen(text) > 5)
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		if (!isdigit((unsigned char)text[i]))
			return -1;
		v = v * 10 + (text[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
config_parse_hostport(const char *text, char **host, int *port, char *err,
    size_t errlen)
{
	unsigned char addr[16];
	char q[128], nameerr[256];
	const char *colon, *end;
	char *h = NULL;

	*host = NULL;
	*port = 0;
	if (text == NULL || *text == '\0') {
		util_seterr(err, errlen, "empty address; use HOST:PORT, "
		    ":PORT or [IPv6]:PORT");
		return -1;
	}
	config_quote(text, q, sizeof(q));

	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL || end[1] != ':') {
			util_seterr(err, errlen, "address \"%s\" is invalid; "
			    "write an IPv6 address as [ADDRESS]:PORT", q);
			return -1;
		}
		colon = end + 1;
		h = strndup(text + 1, (size_t)(end - text - 1));
		if (h != NULL && inet_pton(AF_INET6, h, addr) != 1) {
			util_seterr(err, errlen, "address \"%s\": the part "
			    "in brackets is not an IPv6 address", q);
			goto fail;
		}
	} else {
		if ((colon = strrchr(text, ':')) == NULL) {
			util_seterr(err, errlen, "address \"%s\" has no port; "
			    "use HOST:PORT or :PORT", q);
			return -1;
		}
		h = strndup(text, (size_t)(colon - text));
		if (h != NULL && strchr(h, ':') != NULL) {
			util_seterr(err, errlen, "address \"%s\": put an IPv6 "
			    "address in brackets, as in [::1]:8443", q);
			goto fail;
		}
		if (h != NULL && *h != '\0' &&
		    config_check_name(h, nameerr, sizeof(nameerr)) == -1) {
			util_seterr(err, errlen, "address \"%s\": %s", q,
			    nameerr);
			goto fail;
		}
	}
	if (h == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (config_parse_port(colon + 1, port) == -1) {
		util_seterr(err, errlen, "address \"%s\": the port is not a "
		    "number from 1 to 65535", q);
		goto fail;
	}
	*host = h;
	return 0;
 fail:
	free(h);
	*port = 0;
	return -1;
}

/* Look up an optional field: 0 and the value, 1 when absent or null, -1
 * when it has another JSON type than expected. */
static int
config_field(const struct config_ctx *ctx, json_object *root,
    const char *field, json_type type, json_object **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(root, field, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, type)) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"%s%s\" must "
		    "be a JSON %s, not %s", ctx->path, ctx->prefix, field,
		    json_type_to_name(type),
		    json_type_to_name(json_object_get_type(v)));
		return -1;
	}
	*out = v;
	return 0;
}

/* A string field: 0 with a malloc'd copy, 1 when absent, -1 on error.  An
 * empty string is an error because no field has an empty meaning. */
static int
config_string(const struct config_ctx *ctx, json_object *root,
    const char *field, int required, char **out)
{
	json_object *v;
	int r;

	*out = NULL;
	if ((r = config_field(ctx, root, field, json_type_string, &v)) != 0) {
		if (r == 1 && required)
			util_seterr(ctx->err, ctx->errlen, "%s: required "
			    "field \"%s%s\" is missing; add it or rerun caadm "
			    "init", ctx->path, ctx->prefix, field);
		return r == 1 && required ? -1 : r;
	}
	if (json_object_get_string_len(v) == 0) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"%s%s\" is "
		    "empty", ctx->path, ctx->prefix, field);
		return -1;
	}
	if ((*out = strdup(json_object_get_string(v))) == NULL) {
		util_seterr(ctx->err, ctx->errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
config_port(const struct config_ctx *ctx, json_object *root,
    const char *field, int def, int *out)
{
	json_object *v;
	int64_t n;
	int r;

	*out = def;
	if ((r = config_field(ctx, root, field, json_type_int, &v)) != 0)
		return r == 1 ? 0 : -1;
	n = json_object_get_int64(v);
	if (n < 1 || n > 65535) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"%s\" is "
		    "%lld; set a port from 1 to 65535", ctx->path, field,
		    (long long)n);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* Make a path from the config absolute: relative paths are relative to
 * home.  Takes ownership of *path. */
static int
config_absolute(const struct config_ctx *ctx, const char *home, char **path)
{
	char *abs;

	if ((*path)[0] == '/')
		return 0;
	if (asprintf(&abs, "%s/%s", home, *path) == -1) {
		util_seterr(ctx->err, ctx->errlen, "out of memory");
		return -1;
	}
	free(*path);
	*path = abs;
	return 0;
}

static int
config_load_dns(const struct config_ctx *ctx, json_object *root,
    struct ca_config *cfg)
{
	char nameerr[384];
	json_object *arr, *v;
	size_t i, n;
	int r;

	if ((r = config_field(ctx, root, "dns", json_type_array, &arr)) == -1)
		return -1;
	if (r == 1) {
		util_seterr(ctx->err, ctx->errlen, "%s: required field "
		    "\"dns\" is missing; list the names and IP addresses "
		    "of the CA, as in \"dns\": [\"ca.example.test\"]",
		    ctx->path);
		return -1;
	}
	n = json_object_array_length(arr);
	if (n == 0 || n > CONFIG_MAX_DNS) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"dns\" has "
		    "%zu entries; list 1 to %d names", ctx->path, n,
		    CONFIG_MAX_DNS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string)) {
			util_seterr(ctx->err, ctx->errlen, "%s: field "
			    "\"dns\" entry %zu is not a string", ctx->path,
			    i + 1);
			return -1;
		}
		if (config_check_name(json_object_get_string(v), nameerr,
		    sizeof(nameerr)) == -1) {
			util_seterr(ctx->err, ctx->errlen, "%s: field "
			    "\"dns\": %s", ctx->path, nameerr);
			return -1;
		}
		if ((cfg->dns[i] = strdup(json_object_get_string(v))) == NULL) {
			util_seterr(ctx->err, ctx->errlen, "out of memory");
			return -1;
		}
		cfg->ndns = i + 1;
	}
	return 0;
}

static int
config_check_type(const char *type)
{
	size_t i, len = strlen(type);

	if (len == 0 || len > CONFIG_MAX_TYPE)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)type[i];

		if (!islower(c) && !isdigit(c) && c != '-')
			return -1;
	}
	return 0;
}

/* Read the optional "args" of a validator: an array of at most
 * CONFIG_MAX_VALIDATOR_ARGS strings of at most CONFIG_MAX_ARG_LEN bytes
 * each, without NUL characters.  Stores a NULL-terminated copy in *out, or
 * leaves it NULL when the field is absent. */
static int
config_load_args(const struct config_ctx *ctx, const char *type,
    json_object *obj, char ***out)
{
	json_object *arr, *v;
	char q[128];
	char **args;
	size_t i, n;
	int r;

	*out = NULL;
	config_quote(type, q, sizeof(q));
	if ((r = config_field(ctx, obj, "args", json_type_array, &arr)) != 0)
		return r == 1 ? 0 : -1;
	n = json_object_array_length(arr);
	if (n > CONFIG_MAX_VALIDATOR_ARGS) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"validators.%s."
		    "args\" has %zu entries; the maximum is %d", ctx->path, q,
		    n, CONFIG_MAX_VALIDATOR_ARGS);
		return -1;
	}
	if ((args = calloc(n + 1, sizeof(*args))) == NULL) {
		util_seterr(ctx->err, ctx->errlen, "out of memory");
		return -1;
	}
	*out = args;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) > CONFIG_MAX_ARG_LEN ||
		    strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v)) {
			util_seterr(ctx->err, ctx->errlen, "%s: field "
			    "\"validators.%s.args\" entry %zu is not a string "
			    "of at most %d bytes without NUL characters",
			    ctx->path, q, i + 1, CONFIG_MAX_ARG_LEN);
			return -1;
		}
		if ((args[i] = strdup(json_object_get_string(v))) == NULL) {
			util_seterr(ctx->err, ctx->errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int
config_load_validator(const struct config_ctx *ctx, const char *home,
    const char *type, json_object *obj, struct validator_config *vc)
{
	char q[128], prefix[64];
	struct config_ctx sub = *ctx;
	int rexec, rsock;

	config_quote(type, q, sizeof(q));
	if (config_check_type(type) == -1) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"validators\": "
		    "\"%s\" is not a challenge type name; use lowercase "
		    "letters, digits and hyphens, as in \"http-01\"",
		    ctx->path, q);
		return -1;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"validators."
		    "%s\" must be an object with \"exec\" or \"socket\"",
		    ctx->path, q);
		return -1;
	}
	if ((vc->type = strdup(type)) == NULL) {
		util_seterr(ctx->err, ctx->errlen, "out of memory");
		return -1;
	}

	/* Name the nested field in messages, as in validators.http-01.exec. */
	snprintf(prefix, sizeof(prefix), "validators.%s.", type);
	sub.prefix = prefix;
	if ((rexec = config_string(&sub, obj, "exec", 0, &vc->exec)) == -1 ||
	    (rsock = config_string(&sub, obj, "socket", 0, &vc->socket)) == -1)
		return -1;
	if ((rexec == 0) == (rsock == 0)) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"validators."
		    "%s\" must have exactly one of \"exec\" (a program to "
		    "start) or \"socket\" (a Unix socket to connect to)",
		    ctx->path, q);
		return -1;
	}
	if (config_load_args(ctx, type, obj, &vc->args) == -1)
		return -1;
	if (vc->args != NULL && vc->exec == NULL) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"validators."
		    "%s.args\" applies only to \"exec\"; remove it or pass "
		    "the arguments to the program that listens on the socket",
		    ctx->path, q);
		return -1;
	}
	if (vc->exec != NULL)
		return config_absolute(ctx, home, &vc->exec);
	return config_absolute(ctx, home, &vc->socket);
}

static int
config_default_validator(const struct config_ctx *ctx, struct ca_config *cfg)
{
	struct validator_config *vc = &cfg->validators[0];
	char *dir;

	if ((dir = util_exe_dir()) == NULL) {
		util_seterr(ctx->err, ctx->errlen, "%s: no \"validators\" "
		    "field, and the folder of this program is unknown; add "
		    "\"validators\": {\"http-01\": {\"exec\": PATH}}",
		    ctx->path);
		return -1;
	}
	vc->type = strdup("http-01");
	if (asprintf(&vc->exec, "%s/%s", dir, CONFIG_HTTP01_EXE) == -1)
		vc->exec = NULL;
	free(dir);
	if (vc->type == NULL || vc->exec == NULL) {
		util_seterr(ctx->err, ctx->errlen, "out of memory");
		return -1;
	}
	cfg->nvalidators = 1;
	return 0;
}

static int
config_load_validators(const struct config_ctx *ctx, json_object *root,
    struct ca_config *cfg)
{
	json_object *obj;
	int r;

	/* Without the field the built-in http-01 validator next to this
	 * program is used.  With it, exactly the listed validators run. */
	if ((r = config_field(ctx, root, "validators", json_type_object,
	    &obj)) == 1)
		return config_default_validator(ctx, cfg);
	if (r == -1)
		return -1;
	json_object_object_foreach(obj, key, val) {
		if (cfg->nvalidators == CONFIG_MAX_VALIDATORS) {
			util_seterr(ctx->err, ctx->errlen, "%s: field "
			    "\"validators\" has more than %d entries",
			    ctx->path, CONFIG_MAX_VALIDATORS);
			return -1;
		}
		if (config_load_validator(ctx, cfg->home, key, val,
		    &cfg->validators[cfg->nvalidators++]) == -1)
			return -1;
	}
	return 0;
}

static int
config_load_address(const struct config_ctx *ctx, json_object *root,
    struct ca_config *cfg)
{
	unsigned char addr[16];
	char msg[384], *text = NULL, *host = NULL;
	int port;

	if (config_string(ctx, root, "address", 1, &text) == -1)
		return -1;
	if (config_parse_hostport(text, &cfg->listen_host, &cfg->listen_port,
	    msg, sizeof(msg)) == -1) {
		util_seterr(ctx->err, ctx->errlen, "%s: field \"address\": %s",
		    ctx->path, msg);
		free(text);
		return -1;
	}
	free(text);

	if (config_string(ctx, root, "resolver", 0, &cfg->resolver) == -1)
		return -1;
	if (cfg->resolver == NULL)
		return 0;
	if (config_parse_hostport(cfg->resolver, &host, &port, msg,
	    sizeof(msg)) == -1 || *host == '\0' ||
	    (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1)) {
		if (host != NULL)
			snprintf(msg, sizeof(msg), "the host must be an IP "
			    "address");
		util_seterr(ctx->err, ctx->errlen, "%s: field \"resolver\": "
		    "%s; use IP:PORT such as 127.0.0.1:53, or remove the field "
		    "to use the system's resolver", ctx->path, msg);
		free(host);
		return -1;
	}
	free(host);
	return 0;
}

static int
config_load_fields(const struct config_ctx *ctx, json_object *root,
    struct ca_config *cfg)
{
	if (!json_object_is_type(root, json_type_object)) {
		util_seterr(ctx->err, ctx->errlen, "%s: the file must hold "
		    "one JSON object", ctx->path);
		return -1;
	}
	if (config_string(ctx, root, "name", 1, &cfg->name) == -1 ||
	    config_load_dns(ctx, root, cfg) == -1 ||
	    config_load_address(ctx, root, cfg) == -1 ||
	    config_string(ctx, root, "database_url", 0,
	    &cfg->database_url) == -1 ||
	    config_string(ctx, root, "root_cert", 1, &cfg->root_cert) == -1 ||
	    config_string(ctx, root, "intermediate_cert", 1,
	    &cfg->intermediate_cert) == -1 ||
	    config_string(ctx, root, "intermediate_key", 1,
	    &cfg->intermediate_key) == -1 ||
	    config_port(ctx, root, "http_port", 80, &cfg->http_port) == -1 ||
	    config_port(ctx, root, "tls_port", 443, &cfg->tls_port) == -1 ||
	    config_load_validators(ctx, root, cfg) == -1)
		return -1;

	if (config_absolute(ctx, cfg->home, &cfg->root_cert) == -1 ||
	    config_absolute(ctx, cfg->home, &cfg->intermediate_cert) == -1)
		return -1;
	/* A PKCS#11 URL names a key in a token, not a file. */
	if (strncmp(cfg->intermediate_key, "pkcs11:", 7) != 0 &&
	    config_absolute(ctx, cfg->home, &cfg->intermediate_key) == -1)
		return -1;
	return 0;
}

/* Parse text as JSON; on a syntax error name the line. */
static json_object *
config_parse_json(const struct config_ctx *ctx, const char *text, size_t len)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *root;
	size_t end, i, line = 1;

	if ((tok = json_tokener_new()) == NULL) {
		util_seterr(ctx->err, ctx->errlen, "out of memory");
		return NULL;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (jerr == json_tokener_success) {
		/* Only whitespace may follow the object. */
		for (i = end; i < len; i++)
			if (!isspace((unsigned char)text[i]))
				break;
		if (i == len)
			return root;
		end = i;
		json_object_put(root);
		root = NULL;
	} else if (jerr == json_tokener_continue)
		end = len;
	for (i = 0; i < end && i < len; i++)
		if (text[i] == '\n')
			line++;
	util_seterr(ctx->err, ctx->errlen, "%s: invalid JSON at line %zu: %s; "
	    "fix the syntax or rerun caadm init in an empty home", ctx->path,
	    line, jerr == json_tokener_success ? "unexpected text after the "
	    "object" : jerr == json_tokener_continue ? "unexpected end of file" :
	    json_tokener_error_desc(jerr));
	return NULL;
}

int
config_load(const char *home, struct ca_config **out, char *err,
    size_t errlen)
{
	struct config_ctx ctx;
	struct ca_config *cfg = NULL;
	json_object *root = NULL;
	char *text = NULL;
	size_t len;
	int ret = -1;

	*out = NULL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->home = strdup(home)) == NULL ||
	    asprintf(&cfg->path, "%s/%s", home, CONFIG_FILE) == -1) {
		if (cfg != NULL)
			cfg->path = NULL;
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	ctx.path = cfg->path;
	ctx.prefix = "";
	ctx.err = err;
	ctx.errlen = errlen;

	if (util_read_file(cfg->path, CONFIG_MAX_FILE, &text, &len) == -1) {
		if (errno == ENOENT)
			util_seterr(err, errlen, "%s not found; create a CA "
			    "with caadm init, or point --home or CA_HOME at "
			    "the folder that holds one", cfg->path);
		else
			util_seterr(err, errlen, "cannot read %s: %s",
			    cfg->path, errno == EFBIG ? "file larger than "
			    "1 MiB" : strerror(errno));
		goto out;
	}
	if ((root = config_parse_json(&ctx, text, len)) == NULL)
		goto out;
	if (config_load_fields(&ctx, root, cfg) == -1)
		goto out;
	*out = cfg;
	cfg = NULL;
	ret = 0;
 out:
	/* The text may hold a database password. */
	if (text != NULL)
		util_wipe(text, len);
	free(text);
	json_object_put(root);
	config_free(cfg);
	return ret;
}

/* The form of path to store: relative to home when it lies inside it, so
 * that a home folder can be moved as a whole. */
static const char *
config_relative(const char *home, const char *path)
{
	size_t n = strlen(home);

	if (strncmp(path, home, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
		return path + n + 1;
	return path;
}

static int
config_is_default_validator(const struct ca_config *cfg)
{
	char *dir, *path = NULL;
	int same;

	if (cfg->nvalidators != 1 || cfg->validators[0].exec == NULL ||
	    strcmp(cfg->validators[0].type, "http-01") != 0)
		return 0;
	if ((dir = util_exe_dir()) == NULL)
		return 0;
	if (asprintf(&path, "%s/%s", dir, CONFIG_HTTP01_EXE) == -1)
		path = NULL;
	same = path != NULL && strcmp(path, cfg->validators[0].exec) == 0;
	free(dir);
	free(path);
	return same;
}

static int
config_add_string(json_object *obj, const char *key, const char *value)
{
	json_object *s;

	if (value == NULL)
		return 0;
	if ((s = json_object_new_string(value)) == NULL)
		return -1;
	return json_object_object_add(obj, key, s);
}

static json_object *
config_validators_json(const struct ca_config *cfg)
{
	json_object *all, *entry, *args, *arg;
	const struct validator_config *vc;
	size_t i, j;

	if ((all = json_object_new_object()) == NULL)
		return NULL;
	for (i = 0; i < cfg->nvalidators; i++) {
		vc = &cfg->validators[i];
		if ((entry = json_object_new_object()) == NULL ||
		    json_object_object_add(all, vc->type, entry) != 0 ||
		    config_add_string(entry, "exec", vc->exec) != 0 ||
		    config_add_string(entry, "socket", vc->socket) != 0)
			goto fail;
		if (vc->args == NULL)
			continue;
		if ((args = json_object_new_array()) == NULL ||
		    json_object_object_add(entry, "args", args) != 0) {
			json_object_put(args);
			goto fail;
		}
		for (j = 0; vc->args[j] != NULL; j++) {
			if ((arg = json_object_new_string(vc->args[j])) ==
			    NULL)
				goto fail;
			if (json_object_array_add(args, arg) != 0) {
				json_object_put(arg);
				goto fail;
			}
		}
	}
	return all;
 fail:
	json_object_put(all);
	return NULL;
}

static json_object *
config_to_json(const struct ca_config *cfg)
{
	json_object *root, *dns = NULL, *v;
	char *address = NULL;
	int ok;
	size_t i;

	if ((root = json_object_new_object()) == NULL)
		return NULL;
	ok = (dns = json_object_new_array()) != NULL;
	for (i = 0; ok && i < cfg->ndns; i++)
		ok = (v = json_object_new_string(cfg->dns[i])) != NULL &&
		    json_object_array_add(dns, v) == 0;
	if (ok)
		ok = json_object_object_add(root, "name",
		    json_object_new_string(cfg->name)) == 0 &&
		    json_object_object_add(root, "dns", dns) == 0;
	else
		json_object_put(dns);
	if (ok && asprintf(&address, strchr(cfg->listen_host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", cfg->listen_host, cfg->listen_port) == -1) {
		address = NULL;
		ok = 0;
	}
	ok = ok && config_add_string(root, "address", address) == 0 &&
	    config_add_string(root, "database_url", cfg->database_url) == 0 &&
	    config_add_string(root, "root_cert",
	    config_relative(cfg->home, cfg->root_cert)) == 0 &&
	    config_add_string(root, "intermediate_cert",
	    config_relative(cfg->home, cfg->intermediate_cert)) == 0 &&
	    config_add_string(root, "intermediate_key",
	    config_relative(cfg->home, cfg->intermediate_key)) == 0 &&
	    json_object_object_add(root, "http_port",
	    json_object_new_int(cfg->http_port)) == 0 &&
	    json_object_object_add(root, "tls_port",
	    json_object_new_int(cfg->tls_port)) == 0 &&
	    config_add_string(root, "resolver", cfg->resolver) == 0;
	if (ok && cfg->nvalidators > 0 && !config_is_default_validator(cfg))
		ok = (v = config_validators_json(cfg)) != NULL &&
		    json_object_object_add(root, "validators", v) == 0;
	free(address);
	if (!ok) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

int
config_save(const struct ca_config *cfg, char *err, size_t errlen)
{
	json_object *root;
	const char *text;
	char *buf = NULL;
	size_t len;
	int ret = -1;

	if ((root = config_to_json(cfg)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL || asprintf(&buf, "%s\n", text) == -1) {
		buf = NULL;
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	len = strlen(buf);
	if (util_write_file(cfg->path, buf, len, 0600) == -1) {
		util_seterr(err, errlen, "cannot write %s: %s", cfg->path,
		    strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	if (buf != NULL)
		util_wipe(buf, strlen(buf));
	free(buf);
	json_object_put(root);
	return ret;
}

void
config_free(struct ca_config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	free(cfg->home);
	free(cfg->path);
	free(cfg->name);
	for (i = 0; i < cfg->ndns; i++)
		free(cfg->dns[i]);
	free(cfg->listen_host);
	if (cfg->database_url != NULL)
		util_wipe(cfg->database_url, strlen(cfg->database_url));
	free(cfg->database_url);
	free(cfg->root_cert);
	free(cfg->intermediate_cert);
	free(cfg->intermediate_key);
	free(cfg->resolver);
	for (i = 0; i < cfg->nvalidators; i++) {
		free(cfg->validators[i].type);
		free(cfg->validators[i].exec);
		for (j = 0; cfg->validators[i].args != NULL &&
		    cfg->validators[i].args[j] != NULL; j++)
			free(cfg->validators[i].args[j]);
		free(cfg->validators[i].args);
		free(cfg->validators[i].socket);
	}
	free(cfg);
}
