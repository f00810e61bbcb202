/*
 * Standalone http-01 responder of `caadm certificate`.
 *
 * Interface: responder_start(), responder_add(), responder_remove(),
 * responder_stop() in responder.h.  One thread polls the listening
 * sockets and a wake-up pipe, and serves each connection in turn with a
 * single HTTP/1.1 response and "Connection: close":
 * GET /.well-known/acme-challenge/TOKEN for a registered token returns 200
 * text/plain with the key authorization, and every other request 404.
 * Each connection gets at most 5 s and 8 KiB of request header.
 *
 * Socket setup failures are returned to the caller by responder_start().
 * Once running, a broken client connection is dropped silently, because
 * the validator retries and the ACME client reports the outcome.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "responder.h"
#include "util.h"

#define RESPONDER_MAX_LISTEN	8
#define RESPONDER_MAX_REQUEST	8192
#define RESPONDER_CONN_MS	5000
#define RESPONDER_PREFIX	"/.well-known/acme-challenge/"

struct responder_entry {
	char	*token;
	char	*keyauth;
};

struct responder {
	int			 listen_fds[RESPONDER_MAX_LISTEN];
	size_t			 nlisten;
	int			 wake[2];
	pthread_t		 thread;
	int			 running;
	pthread_mutex_t		 lock;
	struct responder_entry	 entries[RESPONDER_MAX_TOKENS];
	size_t			 nentries;
	unsigned long		 hits;
};

static int
responder_token_valid(const char *token)
{
	size_t i, len = strlen(token);

	if (len == 0 || len > RESPONDER_MAX_TOKEN_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = token[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* Copy the key authorization of token into a new string, or NULL. */
static char *
responder_lookup(struct responder *r, const char *token, size_t len)
{
	char *found = NULL;
	size_t i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nentries; i++) {
		if (strlen(r->entries[i].token) == len &&
		    memcmp(r->entries[i].token, token, len) == 0) {
			found = strdup(r->entries[i].keyauth);
			if (found != NULL)
				r->hits++;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

/* Read the request header with a deadline.  Returns its length, or -1
 * when the client was too slow, too long or closed early. */
static ssize_t
responder_read_request(int fd, char *buf, size_t cap, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (len < cap - 1) {
		int64_t left = deadline - util_now_ms();

		if (left <= 0)
			return -1;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (memmem(buf, len, "\r\n\r\n", 4) != NULL ||
		    memmem(buf, len, "\n\n", 2) != NULL)
			return (ssize_t)len;
	}
	return -1;
}

static void
responder_send_all(int fd, const char *data, size_t len, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len > 0) {
		int64_t left = deadline - util_now_ms();

		if (left <= 0)
			return;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Find the token in a request line "GET TARGET HTTP/1.x".  Accepts the
 * origin form and the absolute form "http://HOST/PATH" of the target. */
static const char *
responder_parse_token(char *line, size_t *token_len)
{
	char *target, *version, *p;

	if (strncmp(line, "GET ", 4) != 0)
		return NULL;
	target = line + 4;
	if ((version = strchr(target, ' ')) == NULL ||
	    strncmp(version, " HTTP/1.", 8) != 0)
		return NULL;
	*version = '\0';
	if (strncasecmp(target, "http://", 7) == 0) {
		if ((p = strchr(target + 7, '/')) == NULL)
			return NULL;
		target = p;
	}
	if (strncmp(target, RESPONDER_PREFIX, strlen(RESPONDER_PREFIX)) != 0)
		return NULL;
	target += strlen(RESPONDER_PREFIX);
	*token_len = strcspn(target, "?#");
	if (*token_len == 0)
		return NULL;
	return target;
}

static void
responder_handle(struct responder *r, int fd)
{
	int64_t deadline = util_now_ms() + RESPONDER_CONN_MS;
	char req[RESPONDER_MAX_REQUEST], *resp = NULL, *keyauth = NULL;
	const char *token;
	size_t token_len = 0;
	int n;

	if (responder_read_request(fd, req, sizeof(req), deadline) == -1)
		return;
	req[strcspn(req, "\r\n")] = '\0';
	if ((token = responder_parse_token(req, &token_len)) != NULL)
		keyauth = responder_lookup(r, token, token_len);

	if (keyauth != NULL)
		n = asprintf(&resp, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", strlen(keyauth), keyauth);
	else
		n = asprintf(&resp, "HTTP/1.1 404 Not Found\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Length: 10\r\n"
		    "Connection: close\r\n\r\nnot found\n");
	if (n != -1)
		responder_send_all(fd, resp, (size_t)n, deadline);
	else
		resp = NULL;
	free(resp);
	free(keyauth);
}

static void *
responder_main(void *arg)
{
	struct responder *r = arg;
	struct pollfd pfds[RESPONDER_MAX_LISTEN + 1];
	size_t i;
	int fd;

	for (i = 0; i < r->nlisten; i++) {
		pfds[i].fd = r->listen_fds[i];
		pfds[i].events = POLLIN;
	}
	pfds[r->nlisten].fd = r->wake[0];
	pfds[r->nlisten].events = POLLIN;

	for (;;) {
		if (poll(pfds, r->nlisten + 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfds[r->nlisten].revents != 0)
			break;
		for (i = 0; i < r->nlisten; i++) {
			if ((pfds[i].revents & POLLIN) == 0)
				continue;
			fd = accept4(pfds[i].fd, NULL, NULL,
			    SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd == -1)
				continue;
			/* NOTE: connections are served one at a time, so a
			 * stalled client delays the next by up to 5 s. */
			responder_handle(r, fd);
			close(fd);
		}
	}
	return NULL;
}

static int
responder_listen(struct responder *r, const struct sockaddr *sa,
    socklen_t salen, char *err, size_t errlen)
{
	char name[INET6_ADDRSTRLEN + 8] = "?";
	char host[INET6_ADDRSTRLEN], serv[8];
	int fd, one = 1;

	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(name, sizeof(name), sa->sa_family == AF_INET6 ?
		    "[%s]:%s" : "%s:%s", host, serv);
	if (r->nlisten >= RESPONDER_MAX_LISTEN) {
		util_seterr(err, errlen, "too many listen addresses");
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1) {
		util_seterr(err, errlen, "cannot create a socket for %s: "
		    "%s", name, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

	/* Keep IPv6 sockets off IPv4 so that "" can bind both families. */
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, salen) == -1 || listen(fd, 64) == -1) {
		int saved = errno;

		util_seterr(err, errlen, "cannot listen on %s for the "
		    "http-01 challenge: %s", name, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	r->listen_fds[r->nlisten++] = fd;
	return 0;
}

static int
responder_listen_any(struct responder *r, int port, char *err,
    size_t errlen)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons((uint16_t)port);
	s4.sin_addr.s_addr = htonl(INADDR_ANY);
	if (responder_listen(r, (struct sockaddr *)&s4, sizeof(s4), err,
	    errlen) == -1)
		return -1;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons((uint16_t)port);
	s6.sin6_addr = in6addr_any;
	if (responder_listen(r, (struct sockaddr *)&s6, sizeof(s6), err,
	    errlen) == -1) {
		/* NOTE: a host without IPv6 keeps the IPv4 socket only. */
		if (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)
			return 0;
		return -1;
	}
	return 0;
}

static int
responder_listen_host(struct responder *r, const char *host, int port,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char serv[8];
	int gai, ret = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((gai = getaddrinfo(host, serv, &hints, &res)) != 0) {
		util_seterr(err, errlen, "cannot resolve the listen "
		    "address %s: %s", host, gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (responder_listen(r, ai->ai_addr, ai->ai_addrlen, err,
		    errlen) == -1)
			goto out;
	}
	ret = 0;
 out:
	freeaddrinfo(res);
	return ret;
}

int
responder_start(const char *host, int port, struct responder **out,
    char *err, size_t errlen)
{
	struct responder *r;
	int rc;

	*out = NULL;
	if (port < 1 || port > 65535) {
		util_seterr(err, errlen, "invalid http-01 port %d", port);
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	r->wake[0] = r->wake[1] = -1;
	pthread_mutex_init(&r->lock, NULL);

	if (*host == '\0')
		rc = responder_listen_any(r, port, err, errlen);
	else
		rc = responder_listen_host(r, host, port, err, errlen);
	if (rc == -1)
		goto fail;
	if (pipe2(r->wake, O_CLOEXEC) == -1) {
		util_seterr(err, errlen, "pipe failed: %s",
		    strerror(errno));
		goto fail;
	}
	if ((rc = pthread_create(&r->thread, NULL, responder_main, r)) != 0) {
		util_seterr(err, errlen, "cannot start the responder "
		    "thread: %s", strerror(rc));
		goto fail;
	}
	r->running = 1;
	*out = r;
	return 0;
 fail:
	responder_stop(r);
	return -1;
}

int
responder_add(struct responder *r, const char *token, const char *keyauth,
    char *err, size_t errlen)
{
	struct responder_entry e;
	int ret = -1;

	if (!responder_token_valid(token)) {
		util_seterr(err, errlen, "the CA sent an invalid "
		    "challenge token (not base64url or longer than %d)",
		    RESPONDER_MAX_TOKEN_LEN);
		return -1;
	}
	e.token = strdup(token);
	e.keyauth = strdup(keyauth);
	pthread_mutex_lock(&r->lock);
	if (e.token == NULL || e.keyauth == NULL)
		util_seterr(err, errlen, "out of memory");
	else if (r->nentries >= RESPONDER_MAX_TOKENS)
		util_seterr(err, errlen, "too many challenge tokens");
	else {
		r->entries[r->nentries++] = e;
		e.token = e.keyauth = NULL;
		ret = 0;
	}
	pthread_mutex_unlock(&r->lock);
	free(e.token);
	free(e.keyauth);
	return ret;
}

void
responder_remove(struct responder *r, const char *token)
{
	size_t i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nentries; i++) {
		if (strcmp(r->entries[i].token, token) != 0)
			continue;
		free(r->entries[i].token);
		free(r->entries[i].keyauth);
		r->entries[i] = r->entries[--r->nentries];
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

unsigned long
responder_hits(struct responder *r)
{
	unsigned long n;

	pthread_mutex_lock(&r->lock);
	n = r->hits;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void
responder_stop(struct responder *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->running) {
		ssize_t n;

		do {
			n = write(r->wake[1], "x", 1);
		} while (n == -1 && errno == EINTR);
		pthread_join(r->thread, NULL);
	}
	for (i = 0; i < r->nlisten; i++)
		close(r->listen_fds[i]);
	if (r->wake[0] != -1)
		close(r->wake[0]);
	if (r->wake[1] != -1)
		close(r->wake[1]);
	for (i = 0; i < r->nentries; i++) {
		free(r->entries[i].token);
		free(r->entries[i].keyauth);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}
