/*
 * The CA's configuration: CA_HOME/config.json, written by `caadm init` and
 * read by ca-core and caadm.
 */
#ifndef CA_CONFIG_H
#define CA_CONFIG_H

#include <stddef.h>

#define CONFIG_FILE		"config.json"
#define CONFIG_MAX_DNS		32
#define CONFIG_MAX_VALIDATORS	16
#define CONFIG_MAX_VALIDATOR_ARGS	32

struct validator_config {
	char	*type;		/* challenge type, e.g. "http-01" */
	char	*exec;		/* executable ca-core starts, or NULL */
	/* Arguments after the program name (exec only), NULL-terminated;
	 * NULL when the config lists none. */
	char	**args;
	char	*socket;	/* Unix socket ca-core dials, or NULL */
};

struct ca_config {
	char	*home;		/* absolute path of the CA's home folder */
	char	*path;		/* absolute path of config.json */
	char	*name;		/* CA name, e.g. "Example CA" */
	char	*dns[CONFIG_MAX_DNS];	/* names and IP addresses of ca-core */
	size_t	 ndns;
	char	*listen_host;	/* "" means every address */
	int	 listen_port;
	char	*database_url;	/* NULL: the embedded cluster under home */
	char	*root_cert;	/* absolute paths */
	char	*intermediate_cert;
	char	*intermediate_key;
	/* What the built-in validators use. */
	int	 http_port;	/* http-01 port, default 80 */
	int	 tls_port;	/* tls-alpn-01 port, default 443 */
	char	*resolver;	/* "HOST:PORT", or NULL for the system's */
	struct validator_config validators[CONFIG_MAX_VALIDATORS];
	size_t	 nvalidators;
};

/* Resolve the home folder: flag (from --home) if set, else $CA_HOME.
 * Returns a malloc'd absolute path, or NULL with a message in err telling
 * the user to pass --home or set CA_HOME. */
char	*config_home(const char *flag, char *err, size_t errlen);

/* Load home/config.json.  Every field is checked (types, port ranges,
 * "HOST:PORT" forms); unknown fields are ignored.  Returns 0 and a new
 * config in *out, or -1 with a message naming the file and field. */
int	 config_load(const char *home, struct ca_config **out, char *err,
	    size_t errlen);

/* Write cfg to cfg->path atomically, mode 0600. */
int	 config_save(const struct ca_config *cfg, char *err, size_t errlen);

/* Parse "HOST:PORT", ":PORT", "[V6]:PORT".  host is malloc'd ("" when
 * empty).  Returns 0 or -1 with a message naming the value. */
int	 config_parse_hostport(const char *text, char **host, int *port,
	    char *err, size_t errlen);

/* Check that name is a DNS name (letters, digits and hyphens in labels of
 * 1..63 bytes, at most 253 bytes, no trailing dot) or an IPv4 or IPv6
 * address.  Returns 0, or -1 with a message naming the value. */
int	 config_check_name(const char *name, char *err, size_t errlen);

void	 config_free(struct ca_config *);

#endif
