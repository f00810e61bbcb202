/*
 * Unit tests for ca-core/config.c: HOST:PORT parsing, DNS name and IP
 * checks, and config_load() on good and broken files in a temporary
 * folder (bad JSON, bad ports, missing and mistyped fields), plus a
 * save and load round trip.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char test_home[PATH_MAX];

static void
write_config(const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_home, CONFIG_FILE);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* Load text as config.json; return config_load's result and keep the
 * message in err. */
static int
load_text(const char *text, char *err, size_t errlen)
{
	struct ca_config *cfg = NULL;
	int r;

	write_config(text);
	err[0] = '\0';
	r = config_load(test_home, &cfg, err, errlen);
	config_free(cfg);
	return r;
}

#define GOOD_FIELDS \
	"\"name\": \"Example CA\", \"dns\": [\"ca.example.test\", " \
	"\"127.0.0.1\"], \"root_cert\": \"certs/root_ca.crt\", " \
	"\"intermediate_cert\": \"certs/intermediate_ca.crt\", " \
	"\"intermediate_key\": \"secrets/intermediate_ca.key\""

static void
hostport_valid_forms(void)
{
	static const struct {
		const char *text, *host;
		int port;
	} cases[] = {
		{ ":8443", "", 8443 },
		{ "127.0.0.1:18443", "127.0.0.1", 18443 },
		{ "[::1]:443", "::1", 443 },
		{ "ca.example.test:1", "ca.example.test", 1 },
		{ "0.0.0.0:65535", "0.0.0.0", 65535 },
	};
	char err[256], *host;
	size_t i;
	int port;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		host = NULL;
		CHECKF(config_parse_hostport(cases[i].text, &host, &port, err,
		    sizeof(err)) == 0, "%s: %s", cases[i].text, err);
		CHECKF(host != NULL && strcmp(host, cases[i].host) == 0,
		    "%s: host %s", cases[i].text, host ? host : "(null)");
		CHECKF(port == cases[i].port, "%s: port %d", cases[i].text,
		    port);
		free(host);
	}
}

static void
hostport_invalid_forms(void)
{
	static const char *const cases[] = {
		"", "8443", ":", ":0", ":65536", ":99999999", ":80x",
		":-1", ": 80", "::1:443", "[::1]443", "[::1", "[nothex]:80",
		"[1.2.3.4]:80", "bad_name:80", "-lead.test:80", "a..b:80",
		"1.2.3.400:80",
	};
	char err[256], *host;
	size_t i;
	int port;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		host = (char *)1;
		port = 7;
		err[0] = '\0';
		CHECKF(config_parse_hostport(cases[i], &host, &port, err,
		    sizeof(err)) == -1, "accepted \"%s\"", cases[i]);
		CHECKF(host == NULL, "\"%s\": host not cleared", cases[i]);
		CHECKF(port == 0, "\"%s\": port not cleared", cases[i]);
		CHECKF(err[0] != '\0', "\"%s\": no message", cases[i]);
	}
}

static void
check_name_cases(void)
{
	char err[256], long_label[80], long_name[4 * 80 + 4];

	CHECK(config_check_name("ca.example.test", err, sizeof(err)) == 0);
	CHECK(config_check_name("localhost", err, sizeof(err)) == 0);
	CHECK(config_check_name("10.0.0.1", err, sizeof(err)) == 0);
	CHECK(config_check_name("2001:db8::1", err, sizeof(err)) == 0);
	CHECK(config_check_name("", err, sizeof(err)) == -1);
	CHECK(config_check_name("a.", err, sizeof(err)) == -1);
	CHECK(config_check_name("*.example.test", err, sizeof(err)) == -1);
	CHECK(config_check_name("a-.test", err, sizeof(err)) == -1);
	CHECK(config_check_name("ex ample.test", err, sizeof(err)) == -1);

	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	CHECK(config_check_name(long_label, err, sizeof(err)) == -1);
	long_label[63] = '\0';
	CHECK(config_check_name(long_label, err, sizeof(err)) == 0);

	/* 4 labels of 63 bytes and 3 dots: 255 bytes, above 253. */
	snprintf(long_name, sizeof(long_name), "%s.%s.%s.%s", long_label,
	    long_label, long_label, long_label);
	CHECK(config_check_name(long_name, err, sizeof(err)) == -1);
	CHECK(strstr(err, "253") != NULL);
}

static void
load_good_file(void)
{
	struct ca_config *cfg = NULL;
	char err[512], want[PATH_MAX + 64];

	write_config("{" GOOD_FIELDS ", \"address\": \":8443\", "
	    "\"http_port\": 5002, \"resolver\": \"127.0.0.1:8053\", "
	    "\"unknown_field\": [1, 2] }\n");
	CHECKF(config_load(test_home, &cfg, err, sizeof(err)) == 0, "%s", err);
	if (cfg == NULL)
		return;
	CHECK(strcmp(cfg->name, "Example CA") == 0);
	CHECK(cfg->ndns == 2);
	CHECK(strcmp(cfg->dns[1], "127.0.0.1") == 0);
	CHECK(strcmp(cfg->listen_host, "") == 0);
	CHECK(cfg->listen_port == 8443);
	CHECK(cfg->http_port == 5002);
	CHECK(cfg->tls_port == 443);
	CHECK(cfg->database_url == NULL);
	CHECK(cfg->resolver != NULL &&
	    strcmp(cfg->resolver, "127.0.0.1:8053") == 0);
	snprintf(want, sizeof(want), "%s/certs/root_ca.crt", test_home);
	CHECKF(strcmp(cfg->root_cert, want) == 0, "root_cert %s",
	    cfg->root_cert);
	snprintf(want, sizeof(want), "%s/secrets/intermediate_ca.key",
	    test_home);
	CHECK(strcmp(cfg->intermediate_key, want) == 0);

	/* Without "validators" the built-in http-01 validator is used. */
	CHECK(cfg->nvalidators == 1);
	CHECK(strcmp(cfg->validators[0].type, "http-01") == 0);
	CHECK(cfg->validators[0].exec != NULL &&
	    strstr(cfg->validators[0].exec, "/ca-validator-http-01") != NULL);
	CHECK(cfg->validators[0].socket == NULL);
	config_free(cfg);
}

static void
load_validators_and_pkcs11(void)
{
	struct ca_config *cfg = NULL;
	char err[512], want[PATH_MAX + 64];

	write_config("{\"name\": \"X\", \"dns\": [\"x.test\"], "
	    "\"address\": \"[::1]:8443\", \"root_cert\": \"/etc/ca/root.crt\", "
	    "\"intermediate_cert\": \"i.crt\", "
	    "\"intermediate_key\": \"pkcs11:token=ca;object=int\", "
	    "\"database_url\": \"postgresql://ca@db.test/ca\", "
	    "\"validators\": {\"dns-01\": {\"socket\": \"run/dns.sock\"}, "
	    "\"http-01\": {\"exec\": \"/usr/libexec/v\"}}}");
	CHECKF(config_load(test_home, &cfg, err, sizeof(err)) == 0, "%s", err);
	if (cfg == NULL)
		return;
	CHECK(strcmp(cfg->listen_host, "::1") == 0);
	CHECK(strcmp(cfg->root_cert, "/etc/ca/root.crt") == 0);
	CHECK(strcmp(cfg->intermediate_key, "pkcs11:token=ca;object=int") == 0);
	CHECK(cfg->database_url != NULL);
	CHECK(cfg->nvalidators == 2);
	snprintf(want, sizeof(want), "%s/run/dns.sock", test_home);
	CHECK(strcmp(cfg->validators[0].type, "dns-01") == 0);
	CHECK(cfg->validators[0].socket != NULL &&
	    strcmp(cfg->validators[0].socket, want) == 0);
	CHECK(cfg->validators[1].exec != NULL &&
	    strcmp(cfg->validators[1].exec, "/usr/libexec/v") == 0);
	config_free(cfg);
}

static void
load_bad_json(void)
{
	char err[512];

	CHECK(load_text("{\"name\": \"X\",\n\"dns\": [}", err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "invalid JSON at line 2") != NULL, "%s", err);
	CHECK(strstr(err, CONFIG_FILE) != NULL);

	CHECK(load_text("{\"name\": \"X\"", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "unexpected end of file") != NULL, "%s", err);

	CHECK(load_text("{} trailing", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "after the object") != NULL, "%s", err);

	CHECK(load_text("[1, 2]", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "one JSON object") != NULL, "%s", err);

	CHECK(load_text("", err, sizeof(err)) == -1);
}

static void
load_bad_ports(void)
{
	char err[512];

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":8443\", "
	    "\"http_port\": 70000}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "\"http_port\"") != NULL &&
	    strstr(err, "70000") != NULL, "%s", err);

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":8443\", "
	    "\"tls_port\": 0}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "\"tls_port\"") != NULL, "%s", err);

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":8443\", "
	    "\"tls_port\": \"443\"}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "must be a JSON int") != NULL, "%s", err);

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":84430\"}", err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "\"address\"") != NULL &&
	    strstr(err, ":84430") != NULL, "%s", err);

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":8443\", "
	    "\"resolver\": \"dns.test:53\"}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "\"resolver\"") != NULL, "%s", err);
}

static void
load_missing_fields(void)
{
	char err[512];

	CHECK(load_text("{\"dns\": [\"x.test\"], \"address\": \":1\"}", err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "required field \"name\" is missing") != NULL,
	    "%s", err);

	CHECK(load_text("{\"name\": \"X\", \"address\": \":1\"}", err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "\"dns\" is missing") != NULL, "%s", err);

	CHECK(load_text("{" GOOD_FIELDS "}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "\"address\" is missing") != NULL, "%s", err);

	CHECK(load_text("{\"name\": \"X\", \"dns\": [], \"address\": \":1\"}",
	    err, sizeof(err)) == -1);
	CHECKF(strstr(err, "\"dns\" has 0 entries") != NULL, "%s", err);

	CHECK(load_text("{\"name\": \"X\", \"dns\": [\"bad name\"], "
	    "\"address\": \":1\"}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "bad name") != NULL, "%s", err);

	CHECK(load_text("{\"name\": 5, \"dns\": [\"x.test\"]}", err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "\"name\" must be a JSON string") != NULL, "%s",
	    err);

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":1\", "
	    "\"validators\": {\"http-01\": {}}}", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "exactly one of") != NULL, "%s", err);

	CHECK(load_text("{" GOOD_FIELDS ", \"address\": \":1\", "
	    "\"validators\": {\"http-01\": {\"exec\": 1}}}", err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "validators.http-01.exec") != NULL, "%s", err);
}

static void
load_missing_file(void)
{
	struct ca_config *cfg = (struct ca_config *)1;
	char err[512], path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", test_home, CONFIG_FILE);
	unlink(path);
	CHECK(config_load(test_home, &cfg, err, sizeof(err)) == -1);
	CHECK(cfg == NULL);
	CHECKF(strstr(err, "not found") != NULL &&
	    strstr(err, "caadm init") != NULL, "%s", err);
}

static void
save_load_round_trip(void)
{
	struct ca_config *cfg = NULL, *again = NULL;
	char err[512];

	write_config("{" GOOD_FIELDS ", \"address\": \"[::1]:8443\", "
	    "\"resolver\": \"[::1]:53\"}");
	CHECKF(config_load(test_home, &cfg, err, sizeof(err)) == 0, "%s", err);
	if (cfg == NULL)
		return;
	CHECKF(config_save(cfg, err, sizeof(err)) == 0, "%s", err);
	CHECKF(config_load(test_home, &again, err, sizeof(err)) == 0, "%s",
	    err);
	if (again != NULL) {
		CHECK(strcmp(again->listen_host, "::1") == 0);
		CHECK(again->listen_port == 8443);
		CHECK(strcmp(again->root_cert, cfg->root_cert) == 0);
		CHECK(strcmp(again->resolver, "[::1]:53") == 0);
		CHECK(again->ndns == cfg->ndns);
	}
	config_free(cfg);
	config_free(again);
}

static void
home_from_flag_and_env(void)
{
	char err[256], *home;

	home = config_home("/srv/ca/", err, sizeof(err));
	CHECK(home != NULL);
	CHECKF(home == NULL || strcmp(home, "/srv/ca") == 0, "home %s", home);
	free(home);

	unsetenv("CA_HOME");
	CHECK(config_home(NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "CA_HOME") != NULL);

	setenv("CA_HOME", test_home, 1);
	home = config_home(NULL, err, sizeof(err));
	CHECK(home != NULL);
	CHECKF(home == NULL || strcmp(home, test_home) == 0, "home %s", home);
	free(home);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_core_config.XXXXXX", *dir, path[PATH_MAX + 32];
	int status;

	if ((dir = mkdtemp(tmpl)) == NULL || realpath(dir, test_home) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(hostport_valid_forms);
	RUN(hostport_invalid_forms);
	RUN(check_name_cases);
	RUN(load_good_file);
	RUN(load_validators_and_pkcs11);
	RUN(load_bad_json);
	RUN(load_bad_ports);
	RUN(load_missing_fields);
	RUN(load_missing_file);
	RUN(save_load_round_trip);
	RUN(home_from_flag_and_env);
	status = TEST_SUMMARY();

	snprintf(path, sizeof(path), "%s/%s", test_home, CONFIG_FILE);
	unlink(path);
	rmdir(test_home);
	return status;
}
