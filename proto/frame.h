/*
 * Length-prefixed frames between ca-core and validators: a 4-byte unsigned
 * big-endian length N, then N bytes of UTF-8 JSON holding one object.
 */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_LEN	4
#define FRAME_MIN_BODY		2		/* "{}" */
#define FRAME_MAX_BODY		(1024 * 1024)	/* 1 MiB */

enum frame_result {
	FRAME_COMPLETE = 1,	/* one frame decoded */
	FRAME_NEED_MORE = 0,	/* buffer holds a prefix of a frame */
	FRAME_BAD_LENGTH = -1,	/* length outside [FRAME_MIN_BODY, FRAME_MAX_BODY] */
	FRAME_IO_ERROR = -2,	/* read or write failed, errno is set */
	FRAME_EOF = -3,		/* peer closed at a frame boundary */
	FRAME_TRUNCATED = -4,	/* peer closed inside a frame */
	FRAME_NOMEM = -5
};

/* Look for one frame at the start of buf (len bytes, e.g. an evbuffer's
 * contiguous head).  On FRAME_COMPLETE, *body points into buf, and
 * *consumed is the number of bytes (header plus body) the frame used.  The
 * length is checked before the caller needs to buffer the body. */
enum frame_result frame_decode(const uint8_t *buf, size_t len,
	    const uint8_t **body, size_t *body_len, size_t *consumed);

/* Write the 4-byte header for a body of body_len bytes into hdr.  Returns
 * FRAME_BAD_LENGTH when body_len is out of range. */
enum frame_result frame_header(size_t body_len, uint8_t hdr[FRAME_HEADER_LEN]);

/* Blocking read of one frame from fd, retrying on EINTR and short reads.
 * On FRAME_COMPLETE stores a malloc'd NUL-terminated body in *body. */
enum frame_result frame_read_fd(int fd, char **body, size_t *body_len);

/* Blocking write of one frame to fd; MSG_NOSIGNAL is used on sockets, so a
 * closed peer gives FRAME_IO_ERROR with errno EPIPE, not SIGPIPE. */
enum frame_result frame_write_fd(int fd, const char *body, size_t body_len);

const char	*frame_strerror(enum frame_result);

#endif
