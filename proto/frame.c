/*
 * Length-prefixed frames: a 4-byte unsigned big-endian length N in
 * [FRAME_MIN_BODY, FRAME_MAX_BODY], then N bytes of body.
 *
 * Interface (frame.h): frame_decode() finds one frame in a caller's buffer
 * (for event loops), frame_header() encodes a header, and frame_read_fd()
 * and frame_write_fd() move one frame over a blocking descriptor.
 *
 * Errors: a length out of range or a peer that closes inside a frame is
 * bad input, and the caller should close that connection.  EINTR and short
 * reads and writes are retried here.  Nothing logs or exits.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

static uint32_t
frame_get_length(const uint8_t *hdr)
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
}

static int
frame_length_ok(size_t n)
{
	return n >= FRAME_MIN_BODY && n <= FRAME_MAX_BODY;
}

enum frame_result
frame_decode(const uint8_t *buf, size_t len, const uint8_t **body,
    size_t *body_len, size_t *consumed)
{
	uint32_t n;

	*body = NULL;
	*body_len = 0;
	*consumed = 0;

	if (len < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;

	/* Check the range before the caller waits for (and buffers) up to
	 * 4 GiB announced by a hostile peer. */
	n = frame_get_length(buf);
	if (!frame_length_ok(n))
		return FRAME_BAD_LENGTH;
	if (len - FRAME_HEADER_LEN < n)
		return FRAME_NEED_MORE;

	*body = buf + FRAME_HEADER_LEN;
	*body_len = n;
	*consumed = FRAME_HEADER_LEN + (size_t)n;
	return FRAME_COMPLETE;
}

enum frame_result
frame_header(size_t body_len, uint8_t hdr[FRAME_HEADER_LEN])
{
	if (!frame_length_ok(body_len))
		return FRAME_BAD_LENGTH;
	hdr[0] = (uint8_t)(body_len >> 24);
	hdr[1] = (uint8_t)(body_len >> 16);
	hdr[2] = (uint8_t)(body_len >> 8);
	hdr[3] = (uint8_t)body_len;
	return FRAME_COMPLETE;
}

/* Read exactly len bytes.  Returns FRAME_COMPLETE, FRAME_EOF when the peer
 * closed before the first byte, FRAME_TRUNCATED when it closed later, or
 * FRAME_IO_ERROR with errno set. */
static enum frame_result
frame_read_full(int fd, uint8_t *buf, size_t len)
{
	size_t have = 0;
	ssize_t n;

	while (have < len) {
		n = read(fd, buf + have, len - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return FRAME_IO_ERROR;
		if (n == 0)
			return have == 0 ? FRAME_EOF : FRAME_TRUNCATED;
		have += (size_t)n;
	}
	return FRAME_COMPLETE;
}

enum frame_result
frame_read_fd(int fd, char **body, size_t *body_len)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	uint8_t *buf = NULL;
	enum frame_result ret;
	uint32_t n;

	*body = NULL;
	*body_len = 0;

	if ((ret = frame_read_full(fd, hdr, sizeof(hdr))) != FRAME_COMPLETE)
		goto out;
	n = frame_get_length(hdr);
	if (!frame_length_ok(n)) {
		ret = FRAME_BAD_LENGTH;
		goto out;
	}
	if ((buf = malloc((size_t)n + 1)) == NULL) {
		ret = FRAME_NOMEM;
		goto out;
	}

	/* The header has been read, so a close now is inside the frame. */
	ret = frame_read_full(fd, buf, n);
	if (ret == FRAME_EOF)
		ret = FRAME_TRUNCATED;
	if (ret != FRAME_COMPLETE)
		goto out;

	buf[n] = '\0';
	*body = (char *)buf;
	*body_len = n;
	buf = NULL;
 out:
	free(buf);
	return ret;
}

/* Write all len bytes.  send() with MSG_NOSIGNAL keeps a closed peer from
 * raising SIGPIPE; write() serves descriptors that are not sockets (pipes
 * in tests), where the caller must handle SIGPIPE itself. */
static enum frame_result
frame_write_full(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int use_send = 1;

	while (done < len) {
		if (use_send)
			n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		else
			n = write(fd, buf + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && use_send && errno == ENOTSOCK) {
			use_send = 0;
			continue;
		}
		if (n == -1)
			return FRAME_IO_ERROR;
		done += (size_t)n;
	}
	return FRAME_COMPLETE;
}

enum frame_result
frame_write_fd(int fd, const char *body, size_t body_len)
{
	uint8_t *buf = NULL;
	enum frame_result ret;

	if (!frame_length_ok(body_len)) {
		ret = FRAME_BAD_LENGTH;
		goto out;
	}

	/* Header and body go out from one buffer, so a small frame takes one
	 * system call and the peer rarely sees a header without its body. */
	if ((buf = malloc(FRAME_HEADER_LEN + body_len)) == NULL) {
		ret = FRAME_NOMEM;
		goto out;
	}
	(void)frame_header(body_len, buf);
	memcpy(buf + FRAME_HEADER_LEN, body, body_len);
	ret = frame_write_full(fd, buf, FRAME_HEADER_LEN + body_len);
 out:
	free(buf);
	return ret;
}

const char *
frame_strerror(enum frame_result r)
{
	switch (r) {
	case FRAME_COMPLETE:
		return "complete frame";
	case FRAME_NEED_MORE:
		return "incomplete frame";
	case FRAME_BAD_LENGTH:
		return "frame length out of range (2..1048576 bytes)";
	case FRAME_IO_ERROR:
		return "read or write failed";
	case FRAME_EOF:
		return "peer closed the connection";
	case FRAME_TRUNCATED:
		return "peer closed the connection inside a frame";
	case FRAME_NOMEM:
		return "out of memory";
	}
	return "unknown frame result";
}
