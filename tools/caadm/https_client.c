/*
 * Blocking HTTPS/1.1 client of the built-in ACME client.
 *
 * Interface: https_client_new(), https_request(), https_url_parse() and
 * the response accessors in https_client.h.  Each request opens its own
 * TCP connection (connect timeout 10 s, read and write timeout 30 s).
 * The TLS handshake trusts only the configured root and checks the
 * server's name or IP address.  The request carries "Connection: close",
 * and the response is framed by Content-Length, chunked encoding or the
 * end of the stream.
 * Headers are capped at 64 KiB and the body at 1 MiB.
 *
 * Every failure (DNS, connect, TLS, timeout, malformed HTTP, oversize) is
 * returned to the caller with a message naming the host; nothing here
 * prints, logs or exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "https_client.h"
#include "util.h"

/* Extra room for chunk-size lines and trailers on top of the body cap. */
#define HTTPS_CHUNK_OVERHEAD	(64 * 1024)
#define HTTPS_MAX_HEADERS	100
#define HTTPS_MAX_INTERIM	5

struct https_client {
	gnutls_certificate_credentials_t creds;
};

/* One open connection and its receive buffer. */
struct https_conn {
	int			 fd;
	gnutls_session_t	 session;
	int			 session_ok;
	const char		*host;
	const char		*port;
	char			*buf;
	size_t			 len;	/* bytes held in buf */
	size_t			 cap;
	size_t			 off;	/* bytes of buf already consumed */
	int			 eof;
};

int
https_client_new(const char *root_file, struct https_client **out,
    char *err, size_t errlen)
{
	struct https_client *c = NULL;
	int ret = -1, n;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (gnutls_certificate_allocate_credentials(&c->creds) < 0) {
		c->creds = NULL;
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	n = gnutls_certificate_set_x509_trust_file(c->creds, root_file,
	    GNUTLS_X509_FMT_PEM);
	if (n < 0) {
		util_seterr(err, errlen, "cannot read root certificate %s: %s",
		    root_file, gnutls_strerror(n));
		goto out;
	}
	if (n == 0) {
		util_seterr(err, errlen, "root file %s contains no PEM "
		    "certificate", root_file);
		goto out;
	}
	*out = c;
	c = NULL;
	ret = 0;
 out:
	https_client_free(c);
	return ret;
}

void
https_client_free(struct https_client *c)
{
	if (c == NULL)
		return;
	if (c->creds != NULL)
		gnutls_certificate_free_credentials(c->creds);
	free(c);
}

void
https_url_clear(struct https_url *u)
{
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

static int
https_parse_port(const char *text, size_t len, char port[6])
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	snprintf(port, 6, "%lu", v);
	return 0;
}

int
https_url_parse(const char *url, struct https_url *out, char *err,
    size_t errlen)
{
	const char *auth, *end, *hend, *colon = NULL;
	struct in6_addr a6;
	struct in_addr a4;
	size_t plen;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(url, "https://", 8) != 0) {
		util_seterr(err, errlen, "invalid URL %s: it must start "
		    "with https://", url);
		return -1;
	}
	auth = url + 8;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL) {
		util_seterr(err, errlen, "invalid URL %s: user info is not "
		    "supported", url);
		return -1;
	}

	if (*auth == '[') {
		hend = memchr(auth, ']', (size_t)(end - auth));
		if (hend == NULL)
			goto bad;
		out->host = strndup(auth + 1, (size_t)(hend - auth - 1));
		if (out->host == NULL ||
		    inet_pton(AF_INET6, out->host, &a6) != 1)
			goto bad;
		out->host_is_ip = 1;
		if (hend + 1 < end) {
			if (hend[1] != ':')
				goto bad;
			colon = hend + 1;
		}
	} else {
		colon = memchr(auth, ':', (size_t)(end - auth));
		hend = colon != NULL ? colon : end;
		if (hend == auth)
			goto bad;
		if ((out->host = strndup(auth, (size_t)(hend - auth))) == NULL)
			goto bad;
		out->host_is_ip = inet_pton(AF_INET, out->host, &a4) == 1;
	}
	if (colon != NULL) {
		if (https_parse_port(colon + 1, (size_t)(end - colon - 1),
		    out->port) == -1)
			goto bad;
	} else
		memcpy(out->port, "443", 4);

	/* The path keeps its query but drops any fragment. */
	plen = strcspn(end, "#");
	if (plen == 0 || *end == '?') {
		if (asprintf(&out->path, "/%.*s", (int)plen, end) == -1) {
			out->path = NULL;
			goto bad;
		}
	} else if ((out->path = strndup(end, plen)) == NULL)
		goto bad;
	out->has_path = out->path[0] == '/' && out->path[1] != '\0' &&
	    out->path[1] != '?';
	ret = 0;
 bad:
	if (ret != 0) {
		util_seterr(err, errlen, "invalid URL %s: expected "
		    "https://HOST[:PORT][/PATH]", url);
		https_url_clear(out);
	}
	return ret;
}

/* Connect one address with a timeout.  Returns the descriptor or -1 with
 * errno set (ETIMEDOUT when the timeout ran out). */
static int
https_connect_addr(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t sl = sizeof(int);
	struct pollfd pfd;
	int fd, soerr = 0, n, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int64_t left = deadline - util_now_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
https_connect(struct https_conn *c, int host_is_ip, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv;
	int64_t deadline;
	int gai, fd = -1, flags, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (host_is_ip ? AI_NUMERICHOST : 0);
	if ((gai = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		util_seterr(err, errlen, "cannot resolve %s: %s", c->host,
		    gai_strerror(gai));
		return -1;
	}
	deadline = util_now_ms() + HTTPS_CONNECT_TIMEOUT_MS;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if ((fd = https_connect_addr(ai, deadline)) == -1)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		if (saved == ETIMEDOUT)
			util_seterr(err, errlen, "connecting to %s port %s "
			    "timed out after %d s", c->host, c->port,
			    HTTPS_CONNECT_TIMEOUT_MS / 1000);
		else
			util_seterr(err, errlen, "connecting to %s port %s "
			    "failed: %s", c->host, c->port, strerror(saved));
		return -1;
	}

	/* From here on the socket blocks, bounded by the I/O timeouts. */
	flags = fcntl(fd, F_GETFL);
	tv.tv_sec = HTTPS_IO_TIMEOUT_MS / 1000;
	tv.tv_usec = 0;
	if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		util_seterr(err, errlen, "socket setup for %s failed: %s",
		    c->host, strerror(errno));
		close(fd);
		return -1;
	}
	c->fd = fd;
	return 0;
}

static void
https_verify_message(struct https_conn *c, char *err, size_t errlen)
{
	gnutls_datum_t text = { NULL, 0 };
	unsigned int status;

	status = gnutls_session_get_verify_cert_status(c->session);
	if (gnutls_certificate_verification_status_print(status,
	    gnutls_certificate_type_get(c->session), &text, 0) < 0) {
		util_seterr(err, errlen, "TLS certificate verification of "
		    "%s failed (status 0x%x)", c->host, status);
		return;
	}
	util_seterr(err, errlen, "TLS certificate verification of %s "
	    "failed: %s", c->host, (const char *)text.data);
	gnutls_free(text.data);
}

static int
https_handshake(struct https_client *cl, struct https_conn *c,
    int host_is_ip, char *err, size_t errlen)
{
	int64_t deadline;
	int r;

	if ((r = gnutls_init(&c->session, GNUTLS_CLIENT |
	    GNUTLS_NO_SIGNAL)) < 0) {
		util_seterr(err, errlen, "TLS setup failed: %s",
		    gnutls_strerror(r));
		return -1;
	}
	c->session_ok = 1;
	if ((r = gnutls_set_default_priority(c->session)) < 0 ||
	    (r = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE,
	    cl->creds)) < 0 ||
	    (!host_is_ip && (r = gnutls_server_name_set(c->session,
	    GNUTLS_NAME_DNS, c->host, strlen(c->host))) < 0)) {
		util_seterr(err, errlen, "TLS setup failed: %s",
		    gnutls_strerror(r));
		return -1;
	}

	/* The certificate must match the host, a DNS name or an IP
	 * address, and chain to the configured root. */
	gnutls_session_set_verify_cert(c->session, c->host, 0);
	gnutls_transport_set_int(c->session, c->fd);
	gnutls_handshake_set_timeout(c->session, HTTPS_IO_TIMEOUT_MS);

	deadline = util_now_ms() + HTTPS_IO_TIMEOUT_MS;
	do {
		r = gnutls_handshake(c->session);
	} while (r < 0 && !gnutls_error_is_fatal(r) &&
	    util_now_ms() < deadline);
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		https_verify_message(c, err, errlen);
		return -1;
	}
	if (r < 0) {
		util_seterr(err, errlen, "TLS handshake with %s port %s "
		    "failed: %s", c->host, c->port, gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static int
https_send_all(struct https_conn *c, const char *data, size_t len,
    char *err, size_t errlen)
{
	int64_t deadline = util_now_ms() + HTTPS_IO_TIMEOUT_MS;
	ssize_t n;

	while (len > 0) {
		n = gnutls_record_send(c->session, data, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (util_now_ms() >= deadline) {
				util_seterr(err, errlen, "sending to %s timed "
				    "out", c->host);
				return -1;
			}
			continue;
		}
		if (n < 0) {
			util_seterr(err, errlen, "sending to %s failed: %s",
			    c->host, gnutls_strerror((int)n));
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more bytes into c->buf, keeping the total at most max.  Returns 1
 * when bytes arrived, 0 at end of stream, -1 on error. */
static int
https_fill(struct https_conn *c, size_t max, char *err, size_t errlen)
{
	int64_t deadline;
	ssize_t n;
	size_t want;
	char *nb;

	if (c->eof)
		return 0;
	if (c->len >= max) {
		util_seterr(err, errlen, "response from %s is larger than "
		    "%d bytes", c->host, HTTPS_MAX_BODY);
		return -1;
	}
	if (c->cap - c->len < 4096) {
		size_t ncap = c->cap == 0 ? 16384 : c->cap * 2;

		if (ncap > max + 1)
			ncap = max + 1;
		if (ncap > c->cap) {
			if ((nb = realloc(c->buf, ncap)) == NULL) {
				util_seterr(err, errlen, "out of memory");
				return -1;
			}
			c->buf = nb;
			c->cap = ncap;
		}
	}
	want = c->cap - c->len - 1;
	if (want > max - c->len)
		want = max - c->len;
	/* GNUTLS_E_AGAIN also comes back after a TLS 1.3 session ticket
	 * that carried no data, so only the elapsed time detects a timeout. */
	deadline = util_now_ms() + HTTPS_IO_TIMEOUT_MS;
	for (;;) {
		n = gnutls_record_recv(c->session, c->buf + c->len, want);
		if ((n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) &&
		    util_now_ms() < deadline)
			continue;
		break;
	}
	if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
		/* A peer that closes without close_notify still ends the
		 * stream; framed bodies detect truncation themselves. */
		c->eof = 1;
		return 0;
	}
	if (n == GNUTLS_E_AGAIN) {
		util_seterr(err, errlen, "reading from %s timed out after "
		    "%d s", c->host, HTTPS_IO_TIMEOUT_MS / 1000);
		return -1;
	}
	if (n < 0) {
		util_seterr(err, errlen, "reading from %s failed: %s",
		    c->host, gnutls_strerror((int)n));
		return -1;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 1;
}

/* Find the next CRLF-terminated line at c->off, reading more as needed.
 * Returns the line length (without CRLF) or -1. */
static ssize_t
https_next_line(struct https_conn *c, size_t max, size_t maxline,
    char *err, size_t errlen)
{
	char *p;
	int r;

	for (;;) {
		p = c->len > c->off ?
		    memmem(c->buf + c->off, c->len - c->off, "\r\n", 2) : NULL;
		if (p != NULL && (size_t)(p - (c->buf + c->off)) <= maxline)
			return p - (c->buf + c->off);
		if (p != NULL || c->len - c->off > maxline + 1) {
			util_seterr(err, errlen, "response from %s has a line "
			    "longer than %zu bytes", c->host, maxline);
			return -1;
		}
		if ((r = https_fill(c, max, err, errlen)) == -1)
			return -1;
		if (r == 0) {
			util_seterr(err, errlen, "response from %s ended "
			    "early", c->host);
			return -1;
		}
	}
}

static int
https_need(struct https_conn *c, size_t n, size_t max, char *err,
    size_t errlen)
{
	int r;

	while (c->len - c->off < n) {
		if ((r = https_fill(c, max, err, errlen)) == -1)
			return -1;
		if (r == 0) {
			util_seterr(err, errlen, "response body from %s ended "
			    "early", c->host);
			return -1;
		}
	}
	return 0;
}

static int
https_add_header(struct https_response *r, const char *line, size_t len)
{
	const char *colon, *v, *vend;
	struct https_header *nh;
	size_t i;

	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return -1;
	for (i = 0; line + i < colon; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch <= ' ' || ch >= 127 || strchr("\"(),/:;<=>?@[\\]{}",
		    ch) != NULL)
			return -1;
	}
	v = colon + 1;
	vend = line + len;
	while (v < vend && (*v == ' ' || *v == '\t'))
		v++;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	if (memchr(v, '\0', (size_t)(vend - v)) != NULL)
		return -1;
	if (r->nheaders >= HTTPS_MAX_HEADERS)
		return -1;
	nh = realloc(r->headers, (r->nheaders + 1) * sizeof(*nh));
	if (nh == NULL)
		return -1;
	r->headers = nh;
	nh = &r->headers[r->nheaders];
	nh->name = strndup(line, (size_t)(colon - line));
	nh->value = strndup(v, (size_t)(vend - v));
	if (nh->name == NULL || nh->value == NULL) {
		free(nh->name);
		free(nh->value);
		return -1;
	}
	r->nheaders++;
	return 0;
}

/* Read the status line and header block of one response. */
static int
https_read_head(struct https_conn *c, struct https_response *r, char *err,
    size_t errlen)
{
	size_t start = c->off;
	ssize_t n;
	char *line;

	if ((n = https_next_line(c, HTTPS_MAX_HEADER, 1024, err,
	    errlen)) == -1)
		return -1;
	line = c->buf + c->off;
	if (n < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
	    line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
	    line[11] < '0' || line[11] > '9' || (n > 12 && line[12] != ' ')) {
		util_seterr(err, errlen, "response from %s is not HTTP/1.x",
		    c->host);
		return -1;
	}
	r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	c->off += (size_t)n + 2;

	for (;;) {
		if ((n = https_next_line(c, HTTPS_MAX_HEADER,
		    HTTPS_MAX_HEADER, err, errlen)) == -1)
			return -1;
		line = c->buf + c->off;
		c->off += (size_t)n + 2;
		if (c->off - start > HTTPS_MAX_HEADER) {
			util_seterr(err, errlen, "response header from %s is "
			    "larger than %d bytes", c->host, HTTPS_MAX_HEADER);
			return -1;
		}
		if (n == 0)
			return 0;
		if (https_add_header(r, line, (size_t)n) == -1) {
			util_seterr(err, errlen, "response from %s has an "
			    "invalid header line", c->host);
			return -1;
		}
	}
}

static int
https_append_body(struct https_response *r, const char *data, size_t len)
{
	char *nb;

	if (len > HTTPS_MAX_BODY - r->body_len)
		return -1;
	if ((nb = realloc(r->body, r->body_len + len + 1)) == NULL)
		return -1;
	memcpy(nb + r->body_len, data, len);
	r->body = nb;
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int
https_read_chunked(struct https_conn *c, struct https_response *r,
    char *err, size_t errlen)
{
	const size_t max = HTTPS_MAX_HEADER + HTTPS_MAX_BODY +
	    HTTPS_CHUNK_OVERHEAD;
	unsigned long long size;
	ssize_t n;
	char *end;

	for (;;) {
		if ((n = https_next_line(c, max, 1024, err, errlen)) == -1)
			return -1;
		errno = 0;
		size = strtoull(c->buf + c->off, &end, 16);
		if (end == c->buf + c->off || errno != 0 ||
		    (*end != ';' && *end != '\r' && *end != ' ' &&
		    *end != '\t') || c->buf[c->off] == '-' ||
		    c->buf[c->off] == '+' || c->buf[c->off] == ' ') {
			util_seterr(err, errlen, "response from %s has an "
			    "invalid chunk size", c->host);
			return -1;
		}
		c->off += (size_t)n + 2;
		if (size == 0)
			break;
		if (size > HTTPS_MAX_BODY - r->body_len) {
			util_seterr(err, errlen, "response body from %s is "
			    "larger than %d bytes", c->host, HTTPS_MAX_BODY);
			return -1;
		}
		if (https_need(c, (size_t)size + 2, max, err, errlen) == -1)
			return -1;
		if (memcmp(c->buf + c->off + size, "\r\n", 2) != 0) {
			util_seterr(err, errlen, "response from %s has a "
			    "malformed chunk", c->host);
			return -1;
		}
		if (https_append_body(r, c->buf + c->off, (size_t)size) == -1) {
			util_seterr(err, errlen, "out of memory");
			return -1;
		}
		c->off += (size_t)size + 2;
	}

	/* Trailer fields are read and ignored up to the empty line. */
	do {
		if ((n = https_next_line(c, max, 8192, err, errlen)) == -1)
			return -1;
		c->off += (size_t)n + 2;
	} while (n != 0);
	return 0;
}

static int
https_parse_length(const char *text, size_t *out)
{
	unsigned long long v = 0;
	const char *p;

	if (*text == '\0')
		return -1;
	for (p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > HTTPS_MAX_BODY)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (v > HTTPS_MAX_BODY)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int
https_read_body(struct https_conn *c, struct https_response *r,
    int is_head, char *err, size_t errlen)
{
	const char *te, *cl;
	size_t want;
	int n;

	if ((r->body = strdup("")) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (is_head || r->status == 204 || r->status == 304)
		return 0;
	if ((te = https_response_header(r, "Transfer-Encoding")) != NULL) {
		size_t tl = strlen(te);

		if (tl < 7 || strcasecmp(te + tl - 7, "chunked") != 0) {
			util_seterr(err, errlen, "response from %s uses an "
			    "unsupported transfer coding", c->host);
			return -1;
		}
		return https_read_chunked(c, r, err, errlen);
	}
	if ((cl = https_response_header(r, "Content-Length")) != NULL) {
		if (https_parse_length(cl, &want) == -1) {
			util_seterr(err, errlen, "response from %s has an "
			    "invalid or too large Content-Length", c->host);
			return -1;
		}
		if (https_need(c, want, c->off + want, err, errlen) == -1)
			return -1;
		if (https_append_body(r, c->buf + c->off, want) == -1) {
			util_seterr(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}

	/* No framing: the body runs to the end of the stream. */
	while ((n = https_fill(c, c->off + HTTPS_MAX_BODY, err,
	    errlen)) == 1)
		;
	if (n == -1)
		return -1;
	if (https_append_body(r, c->buf + c->off, c->len - c->off) == -1) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static char *
https_build_request(const char *method, const struct https_url *u,
    const char *content_type, const char *accept, size_t body_len)
{
	char *req = NULL, hostport[300];
	const char *fmt;

	if (strcmp(u->port, "443") == 0)
		fmt = strchr(u->host, ':') != NULL ? "[%s]" : "%s";
	else
		fmt = strchr(u->host, ':') != NULL ? "[%s]:%s" : "%s:%s";
	if ((size_t)snprintf(hostport, sizeof(hostport), fmt, u->host,
	    u->port) >= sizeof(hostport))
		return NULL;
	if (asprintf(&req, "%s %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: caadm\r\n"
	    "%s%s%s"
	    "%s%s%s"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n", method, u->path, hostport,
	    accept != NULL ? "Accept: " : "", accept != NULL ? accept : "",
	    accept != NULL ? "\r\n" : "",
	    content_type != NULL ? "Content-Type: " : "",
	    content_type != NULL ? content_type : "",
	    content_type != NULL ? "\r\n" : "", body_len) == -1)
		return NULL;
	return req;
}

int
https_request(struct https_client *cl, const char *method, const char *url,
    const char *content_type, const char *accept, const char *body,
    size_t body_len, struct https_response **out, char *err, size_t errlen)
{
	struct https_conn c;
	struct https_response *r = NULL;
	struct https_url u;
	char *req = NULL;
	int ret = -1, interim;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	if (https_url_parse(url, &u, err, errlen) == -1)
		return -1;
	c.host = u.host;
	c.port = u.port;
	if (body == NULL)
		body_len = 0;

	if ((req = https_build_request(method, &u, content_type, accept,
	    body_len)) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (https_connect(&c, u.host_is_ip, err, errlen) == -1 ||
	    https_handshake(cl, &c, u.host_is_ip, err, errlen) == -1 ||
	    https_send_all(&c, req, strlen(req), err, errlen) == -1 ||
	    (body_len > 0 && https_send_all(&c, body, body_len, err,
	    errlen) == -1))
		goto out;

	/* Skip interim 1xx responses; we never send Expect, but a server
	 * may still send 100 Continue. */
	for (interim = 0; ; interim++) {
		https_response_free(r);
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			util_seterr(err, errlen, "out of memory");
			goto out;
		}
		if (https_read_head(&c, r, err, errlen) == -1)
			goto out;
		if (r->status >= 200)
			break;
		if (interim >= HTTPS_MAX_INTERIM) {
			util_seterr(err, errlen, "%s sent too many interim "
			    "responses", c.host);
			goto out;
		}
	}
	if (https_read_body(&c, r, strcmp(method, "HEAD") == 0, err,
	    errlen) == -1)
		goto out;
	*out = r;
	r = NULL;
	ret = 0;
 out:
	https_response_free(r);
	if (c.session_ok) {
		if (ret == 0)
			gnutls_bye(c.session, GNUTLS_SHUT_WR);
		gnutls_deinit(c.session);
	}
	if (c.fd != -1)
		close(c.fd);
	free(c.buf);
	free(req);
	https_url_clear(&u);
	return ret;
}

const char *
https_response_header(const struct https_response *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

void
https_response_free(struct https_response *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	free(r);
}
