/*
 * GnuTLS for evhttp.  For each accepted connection, tls_bevcb() returns a
 * filtering bufferevent (bufferevent_filter_new) over a socket bufferevent
 * created without a descriptor.  evhttp then calls bufferevent_setfd() on
 * the filter, and libevent 2.1.12 forwards it to the socket bufferevent
 * (checked with the Debian 12 package).
 * A GnuTLS server session per connection moves bytes through the socket
 * bufferevent's buffers.  Its pull function reads the input evbuffer and
 * reports EAGAIN when it is empty.  Its push function sends directly to
 * the socket and queues in the output evbuffer what the kernel did not
 * take.
 *
 * The input filter drives the handshake and then decrypts records into
 * evhttp's input.  The output filter encrypts what evhttp wrote.  evhttp
 * writes a response in many small pieces, sometimes while the filter's
 * writing is disabled, so every addition to the filter's output schedules
 * a flush event (the output filter in normal mode does the same), and the
 * flush encrypts the whole response at once.  evhttp frees a connection (shutdown and close) as
 * soon as the filter's output is empty; so while encrypted bytes still
 * wait in the socket bufferevent, the filter keeps the last plaintext
 * byte in its output and removes it only when the socket buffer is empty.
 *
 * When evhttp closes a connection whose peer is still sending (a body over
 * the limit gets 413 and a close), unread input would make the kernel send
 * a reset, and the peer could lose the response.  So the free callback
 * keeps a duplicate of the descriptor and reads and discards input for up
 * to TLS_LINGER_MS before closing it (a lingering close).
 *
 * Interface (tls.h): tls_server_new() and tls_server_unref() manage the
 * shared credentials, tls_bevcb() is the evhttp bevcb.
 *
 * Errors: a peer that fails the handshake, sends a fatal alert, a bad
 * record, or stays silent past TLS_HANDSHAKE_TIMEOUT_S loses its
 * connection, logged at debug level with its address.  Only a failure to
 * build the credentials at start is returned as an error.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "tls.h"

/* Plaintext bytes per TLS record. */
#define TLS_RECORD_PLAINTEXT	16384
/* Lingering close: how long and how much input is read and discarded. */
#define TLS_LINGER_MS		2000
#define TLS_LINGER_MAX_BYTES	(1024 * 1024)

struct tls_server {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t	 priority;
	gnutls_datum_t		 ticket_key;
	unsigned		 refs;
};

struct tls_linger {
	LIST_ENTRY(tls_linger)	 entry;
	int			 fd;
	struct event		*ev;
	struct timeval		 deadline;
	size_t			 discarded;
};

/* Lingering descriptors, so that tls_stop() can close them. */
static LIST_HEAD(, tls_linger) tls_lingering = LIST_HEAD_INITIALIZER(
    tls_lingering);
static int tls_stopping;

struct tls_conn {
	struct tls_server	*server;
	gnutls_session_t	 session;
	struct bufferevent	*underlying;
	struct bufferevent	*filter;
	struct event		*deadline;	/* handshake timeout */
	struct event		*flush;		/* deferred encryption */
	int			 handshake_done;
	int			 failed;
	/* The first byte of the filter's output was already encrypted and
	 * sent; see the file comment. */
	int			 held_byte;
};

int
tls_server_new(gnutls_x509_crt_t *chain, unsigned nchain,
    gnutls_x509_privkey_t key, struct tls_server **out, char *err,
    size_t errlen)
{
	struct tls_server *s = NULL;
	const char *errpos = NULL;
	int r, ret = -1;

	*out = NULL;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s->refs = 1;
	if ((r = gnutls_certificate_allocate_credentials(&s->cred)) < 0) {
		s->cred = NULL;
		snprintf(err, errlen, "gnutls_certificate_allocate_credentials "
		    "failed: %s", gnutls_strerror(r));
		goto out;
	}
	if ((r = gnutls_certificate_set_x509_key(s->cred, chain, nchain,
	    key)) < 0) {
		snprintf(err, errlen, "loading the TLS certificate chain "
		    "failed: %s", gnutls_strerror(r));
		goto out;
	}
	if ((r = gnutls_priority_init(&s->priority, TLS_PRIORITY,
	    &errpos)) < 0) {
		s->priority = NULL;
		snprintf(err, errlen, "TLS priority string \"%s\" rejected at "
		    "\"%s\": %s", TLS_PRIORITY, errpos != NULL ? errpos : "",
		    gnutls_strerror(r));
		goto out;
	}
	if ((r = gnutls_session_ticket_key_generate(&s->ticket_key)) < 0) {
		s->ticket_key.data = NULL;
		snprintf(err, errlen, "generating the session ticket key "
		    "failed: %s", gnutls_strerror(r));
		goto out;
	}

	*out = s;
	s = NULL;
	ret = 0;
 out:
	tls_server_unref(s);
	return ret;
}

void
tls_server_unref(struct tls_server *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	if (s->ticket_key.data != NULL) {
		gnutls_memset(s->ticket_key.data, 0, s->ticket_key.size);
		gnutls_free(s->ticket_key.data);
	}
	if (s->priority != NULL)
		gnutls_priority_deinit(s->priority);
	if (s->cred != NULL)
		gnutls_certificate_free_credentials(s->cred);
	free(s);
}

/* Format the peer's address for a log line. */
static const char *
tls_peer(struct tls_conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[64];
	evutil_socket_t fd;
	int port = 0;

	snprintf(buf, len, "unknown peer");
	fd = bufferevent_getfd(c->underlying);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return buf;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (evutil_inet_ntop(AF_INET, &sin->sin_addr, host,
		    sizeof(host)) == NULL)
			return buf;
		port = ntohs(sin->sin_port);
		snprintf(buf, len, "%s:%d", host, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host)) == NULL)
			return buf;
		port = ntohs(sin6->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
	}
	return buf;
}

/* evhttp frees a connection with bufferevent_free(), which clears the
 * callbacks at once but destroys the bufferevent later.  A timer or flush
 * event that fires in between must leave it alone. */
static int
tls_conn_closed(struct tls_conn *c)
{
	bufferevent_event_cb eventcb = NULL;

	bufferevent_getcb(c->filter, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL;
}

/* Mark the connection failed and tell evhttp through the filter's event
 * callback, deferred so that evhttp does not free the bufferevent while a
 * filter function of it is still running. */
static void
tls_conn_fail(struct tls_conn *c, short what)
{
	c->failed = 1;
	if (c->deadline != NULL)
		event_del(c->deadline);
	if (!tls_conn_closed(c))
		bufferevent_trigger_event(c->filter, what,
		    BEV_TRIG_DEFER_CALLBACKS);
}

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct tls_conn *c = ptr;
	int n;

	n = evbuffer_remove(bufferevent_get_input(c->underlying), data, len);
	if (n <= 0) {
		gnutls_transport_set_errno(c->session, EAGAIN);
		return -1;
	}
	return n;
}

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct tls_conn *c = ptr;
	struct evbuffer *out = bufferevent_get_output(c->underlying);
	evutil_socket_t fd = bufferevent_getfd(c->underlying);
	ssize_t n;
	size_t sent = 0;

	/* Send directly while nothing is queued, so that bytes are in the
	 * kernel before evhttp may close the socket.  A send error is left
	 * to the socket bufferevent: it retries the queued bytes, fails the
	 * same way and reports the error through the event callback. */
	if (fd >= 0 && evbuffer_get_length(out) == 0) {
		do {
			n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		} while (n == -1 && errno == EINTR);
		if (n > 0)
			sent = (size_t)n;
	}
	if (sent < len &&
	    evbuffer_add(out, (const char *)data + sent, len - sent) == -1) {
		gnutls_transport_set_errno(c->session, ENOMEM);
		return -1;
	}
	return (ssize_t)len;
}

/* Continue the handshake.  Returns 1 when done, 0 when it needs more
 * input, -1 when it failed (the connection is then failed). */
static int
tls_conn_handshake(struct tls_conn *c)
{
	char peer[80], *desc;
	int r;

	do {
		r = gnutls_handshake(c->session);
	} while (r == GNUTLS_E_INTERRUPTED ||
	    (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r)));
	if (r == GNUTLS_E_AGAIN)
		return 0;
	if (r < 0) {
		log_debug("TLS handshake with %s failed: %s",
		    tls_peer(c, peer, sizeof(peer)), gnutls_strerror(r));
		(void)gnutls_alert_send_appropriate(c->session, r);
		tls_conn_fail(c, BEV_EVENT_ERROR | BEV_EVENT_READING);
		return -1;
	}

	c->handshake_done = 1;
	event_del(c->deadline);
	if ((desc = gnutls_session_get_desc(c->session)) != NULL) {
		log_debug("TLS handshake with %s done: %s",
		    tls_peer(c, peer, sizeof(peer)), desc);
		gnutls_free(desc);
	}
	return 1;
}

/* Decrypt every complete record into dst.  Returns BEV_OK when some
 * plaintext was added. */
static enum bufferevent_filter_result
tls_conn_recv(struct tls_conn *c, struct evbuffer *dst)
{
	char buf[TLS_RECORD_PLAINTEXT], peer[80];
	int added = 0;
	ssize_t n;

	for (;;) {
		n = gnutls_record_recv(c->session, buf, sizeof(buf));
		if (n > 0) {
			if (evbuffer_add(dst, buf, (size_t)n) == -1) {
				tls_conn_fail(c, BEV_EVENT_ERROR |
				    BEV_EVENT_READING);
				break;
			}
			added = 1;
			continue;
		}
		if (n == GNUTLS_E_AGAIN)
			break;
		if (n == GNUTLS_E_INTERRUPTED ||
		    n == GNUTLS_E_WARNING_ALERT_RECEIVED)
			continue;
		if (n == GNUTLS_E_REHANDSHAKE) {
			/* A TLS 1.2 client asked to renegotiate; we do not. */
			(void)gnutls_alert_send(c->session, GNUTLS_AL_WARNING,
			    GNUTLS_A_NO_RENEGOTIATION);
			continue;
		}
		if (n == 0) {
			/* close_notify: the peer sends nothing more. */
			tls_conn_fail(c, BEV_EVENT_EOF | BEV_EVENT_READING);
			break;
		}
		if (!gnutls_error_is_fatal((int)n))
			continue;
		log_debug("TLS connection with %s failed: %s",
		    tls_peer(c, peer, sizeof(peer)), gnutls_strerror((int)n));
		if (n == GNUTLS_E_FATAL_ALERT_RECEIVED)
			log_debug("TLS alert from %s: %s", peer,
			    gnutls_alert_get_name(gnutls_alert_get(c->session)));
		tls_conn_fail(c, BEV_EVENT_ERROR | BEV_EVENT_READING);
		break;
	}
	return added ? BEV_OK : BEV_NEED_MORE;
}

static enum bufferevent_filter_result
tls_filter_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct tls_conn *c = arg;
	int r;

	/* The limit is ignored: evhttp sets no read watermark, and a
	 * record must be taken whole once GnuTLS has decrypted it. */
	if (c->failed) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	}
	if (!c->handshake_done) {
		if ((r = tls_conn_handshake(c)) == 0)
			return BEV_NEED_MORE;
		if (r < 0) {
			evbuffer_drain(src, evbuffer_get_length(src));
			return BEV_ERROR;
		}
	}
	return tls_conn_recv(c, dst);
}

/* Encrypt all of src.  Returns 1 when src shrank, 0 when nothing could be
 * sent, -1 on a failed connection. */
static int
tls_conn_send(struct tls_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	unsigned char *data;
	size_t len, chunk, done = 0;
	ssize_t n;
	char peer[80];

	len = evbuffer_get_length(src);
	if (c->held_byte || len == 0)
		return 0;
	if ((data = evbuffer_pullup(src, (ev_ssize_t)len)) == NULL) {
		tls_conn_fail(c, BEV_EVENT_ERROR | BEV_EVENT_WRITING);
		return -1;
	}
	while (done < len) {
		chunk = len - done > TLS_RECORD_PLAINTEXT ?
		    TLS_RECORD_PLAINTEXT : len - done;
		do {
			n = gnutls_record_send(c->session, data + done, chunk);
		} while (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN);
		if (n < 0) {
			log_debug("TLS send to %s failed: %s",
			    tls_peer(c, peer, sizeof(peer)),
			    gnutls_strerror((int)n));
			tls_conn_fail(c, BEV_EVENT_ERROR | BEV_EVENT_WRITING);
			return -1;
		}
		done += (size_t)n;
	}

	/* Keep one byte while ciphertext is still queued; see the file
	 * comment.  NOTE: only a full kernel send buffer reaches this
	 * branch, and front_test.sh does not create one. */
	if (evbuffer_get_length(dst) > 0) {
		evbuffer_drain(src, len - 1);
		c->held_byte = 1;
	} else
		evbuffer_drain(src, len);
	return 1;
}

static void
tls_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;

	if (tls_conn_closed(c) || c->failed)
		return;
	bufferevent_flush(c->filter, EV_WRITE, BEV_FLUSH);
}

static enum bufferevent_filter_result
tls_filter_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct tls_conn *c = arg;
	int released = 0, r;

	if (c->failed)
		return BEV_ERROR;
	if (!c->handshake_done)
		return BEV_NEED_MORE;

	/* The held byte went out with the last batch; once the socket
	 * buffer is empty the kernel has all of it. */
	if (c->held_byte && evbuffer_get_length(dst) == 0) {
		evbuffer_drain(src, 1);
		c->held_byte = 0;
		released = 1;
	}
	if (evbuffer_get_length(src) <= (size_t)c->held_byte)
		return released ? BEV_OK : BEV_NEED_MORE;

	if (mode == BEV_NORMAL) {
		event_active(c->flush, EV_TIMEOUT, 0);
		return released ? BEV_OK : BEV_NEED_MORE;
	}
	if ((r = tls_conn_send(c, src, dst)) < 0)
		return BEV_ERROR;
	return r > 0 || released ? BEV_OK : BEV_NEED_MORE;
}

/* evhttp may add a response while the filter's writing is disabled and
 * enable it afterwards, which runs no filter; so every addition schedules
 * the flush. */
static void
tls_output_added_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tls_conn *c = arg;

	if (info->n_added > 0 && !c->failed)
		event_active(c->flush, EV_TIMEOUT, 0);
}

static void
tls_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;
	char peer[80];

	if (c->handshake_done || c->failed || tls_conn_closed(c))
		return;
	log_debug("TLS handshake with %s timed out after %d s",
	    tls_peer(c, peer, sizeof(peer)), TLS_HANDSHAKE_TIMEOUT_S);
	tls_conn_fail(c, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
}

static void
tls_linger_close(struct tls_linger *l)
{
	LIST_REMOVE(l, entry);
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static void
tls_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_linger *l = arg;
	struct timeval now;
	char buf[16384];
	ssize_t n;

	gettimeofday(&now, NULL);
	if ((what & EV_TIMEOUT) || timercmp(&now, &l->deadline, >)) {
		tls_linger_close(l);
		return;
	}
	for (;;) {
		n = read(l->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		l->discarded += (size_t)n;
		if (l->discarded > TLS_LINGER_MAX_BYTES)
			break;
	}
	tls_linger_close(l);
}

/* Start a lingering close on a duplicate of the connection's descriptor;
 * the bufferevent closes the original.  Without memory or descriptors
 * the connection just closes at once. */
static void
tls_linger_start(struct event_base *base, evutil_socket_t fd)
{
	struct timeval tv = { TLS_LINGER_MS / 1000,
	    (TLS_LINGER_MS % 1000) * 1000 };
	struct tls_linger *l;
	int dupfd;

	if ((dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ev = event_new(base, dupfd, EV_READ | EV_PERSIST,
	    tls_linger_cb, l)) == NULL || event_add(l->ev, &tv) == -1) {
		if (l != NULL && l->ev != NULL)
			event_free(l->ev);
		free(l);
		close(dupfd);
		return;
	}
	l->fd = dupfd;
	gettimeofday(&l->deadline, NULL);
	timeradd(&l->deadline, &tv, &l->deadline);
	LIST_INSERT_HEAD(&tls_lingering, l, entry);
}

void
tls_stop(void)
{
	tls_stopping = 1;
	while (!LIST_EMPTY(&tls_lingering))
		tls_linger_close(LIST_FIRST(&tls_lingering));
}

static void
tls_conn_free(void *arg)
{
	struct tls_conn *c = arg;
	evutil_socket_t fd;

	if (c == NULL)
		return;

	/* The filter's free callback runs before the filter drops its
	 * reference to the socket bufferevent, whose descriptor is still
	 * open here. */
	if (!tls_stopping && c->underlying != NULL &&
	    (fd = bufferevent_getfd(c->underlying)) >= 0)
		tls_linger_start(bufferevent_get_base(c->underlying), fd);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->flush != NULL)
		event_free(c->flush);
	if (c->session != NULL)
		gnutls_deinit(c->session);
	tls_server_unref(c->server);
	free(c);
}

static int
tls_conn_session(struct tls_conn *c)
{
	static const gnutls_datum_t http11 = {
		(unsigned char *)(uintptr_t)"http/1.1", 8
	};
	struct tls_server *s = c->server;

	if (gnutls_init(&c->session, GNUTLS_SERVER | GNUTLS_NONBLOCK |
	    GNUTLS_NO_SIGNAL) < 0) {
		c->session = NULL;
		return -1;
	}
	if (gnutls_priority_set(c->session, s->priority) < 0 ||
	    gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE,
	    s->cred) < 0 ||
	    gnutls_session_ticket_enable_server(c->session,
	    &s->ticket_key) < 0 ||
	    gnutls_alpn_set_protocols(c->session, &http11, 1, 0) < 0)
		return -1;
	gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_ptr(c->session, c);
	gnutls_transport_set_pull_function(c->session, tls_pull);
	gnutls_transport_set_push_function(c->session, tls_push);
	return 0;
}

struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	struct tls_server **current = arg;
	struct timeval tv = { TLS_HANDSHAKE_TIMEOUT_S, 0 };
	struct tls_conn *c = NULL;
	struct bufferevent *u = NULL, *f = NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->server = *current;
	c->server->refs++;
	if ((u = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		goto fail;
	c->underlying = u;
	if ((c->deadline = evtimer_new(base, tls_deadline_cb, c)) == NULL ||
	    (c->flush = event_new(base, -1, 0, tls_flush_cb, c)) == NULL)
		goto fail;
	if (tls_conn_session(c) == -1)
		goto fail;

	/* From here the filter owns u (close on free) and c (free
	 * callback). */
	if ((f = bufferevent_filter_new(u, tls_filter_in, tls_filter_out,
	    BEV_OPT_CLOSE_ON_FREE, tls_conn_free, c)) == NULL)
		goto fail;
	c->filter = f;
	if (evbuffer_add_cb(bufferevent_get_output(f), tls_output_added_cb,
	    c) == NULL) {
		/* Freeing the filter frees u and c too. */
		bufferevent_free(f);
		log_warn("cannot set up TLS for a new connection: out of "
		    "memory");
		return NULL;
	}
	evtimer_add(c->deadline, &tv);
	return f;
 fail:
	log_warn("cannot set up TLS for a new connection: out of memory");
	if (u != NULL)
		bufferevent_free(u);
	if (c != NULL)
		c->underlying = NULL;
	tls_conn_free(c);
	return NULL;
}

int
tls_bev_is_tls(struct bufferevent *bev)
{
	return bev != NULL && bufferevent_get_underlying(bev) != NULL;
}
