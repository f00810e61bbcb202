/*
 * A small blocking HTTPS/1.1 client for the built-in ACME client: one
 * request per connection, TLS through GnuTLS, trust limited to one root
 * file, hostname (or IP address) verification.
 */
#ifndef CAADM_HTTPS_CLIENT_H
#define CAADM_HTTPS_CLIENT_H

#include <stddef.h>

#define HTTPS_CONNECT_TIMEOUT_MS	10000
#define HTTPS_IO_TIMEOUT_MS		30000
/* Maximum size of a response body, and separately of its header block. */
#define HTTPS_MAX_BODY			(1024 * 1024)
#define HTTPS_MAX_HEADER		(64 * 1024)

struct https_client;

struct https_header {
	char	*name;
	char	*value;
};

struct https_response {
	int			 status;
	struct https_header	*headers;
	size_t			 nheaders;
	char			*body;		/* NUL-terminated, may hold NULs */
	size_t			 body_len;
};

/* Parts of an "https://HOST[:PORT][/PATH]" URL.  host has no brackets for
 * an IPv6 literal; path starts with '/' and keeps any query. */
struct https_url {
	char	*host;
	char	 port[6];
	char	*path;
	int	 host_is_ip;
	int	 has_path;	/* 1 when the URL had a path other than "/" */
};

/* Create a client that trusts only the certificates in root_file (PEM).
 * Returns 0 and a new client in *out, or -1 with a message in err. */
int	 https_client_new(const char *root_file, struct https_client **out,
	    char *err, size_t errlen);
void	 https_client_free(struct https_client *);

/* Send one request and read the whole response.  body may be NULL for no
 * body; content_type and accept may be NULL to leave the header out.
 * Returns 0 and a new response in *out for any HTTP status, or -1 with a
 * message in err naming the host when the connection, TLS, or HTTP
 * framing failed or the response exceeds the size limits. */
int	 https_request(struct https_client *, const char *method,
	    const char *url, const char *content_type, const char *accept,
	    const char *body, size_t body_len, struct https_response **out,
	    char *err, size_t errlen);

/* Value of the first header called name (case-insensitive), or NULL.  The
 * string belongs to the response. */
const char	*https_response_header(const struct https_response *,
	    const char *name);
void	 https_response_free(struct https_response *);

/* Split url into its parts.  Accepts only the https scheme, no user
 * info, a port in 1..65535.  Returns 0, or -1 with a message in err. */
int	 https_url_parse(const char *url, struct https_url *out, char *err,
	    size_t errlen);
void	 https_url_clear(struct https_url *);

#endif
