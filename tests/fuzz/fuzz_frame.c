/*
 * libFuzzer target for proto/frame.c.  The input is a byte stream from a
 * peer.  frame_decode() splits it into frames, and each frame's header
 * must encode back to the same bytes with frame_header().  The same
 * stream then goes through a pipe to frame_read_fd(), which must return
 * the same frames and end in the matching state: EOF at a frame boundary,
 * TRUNCATED inside a frame, BAD_LENGTH where frame_decode() found one.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"

/* Linux pipes buffer 64 KiB by default, so a write of at most this many
 * bytes completes without a reader.  Longer inputs skip the pipe check. */
#define FUZZ_PIPE_MAX	65536

/* Frames that frame_decode() found, for the comparison with the pipe. */
struct fuzz_frames {
	size_t			 count;
	size_t			 offset[FUZZ_PIPE_MAX / 6 + 1];
	size_t			 len[FUZZ_PIPE_MAX / 6 + 1];
	enum frame_result	 last;	/* result that ended the loop */
	size_t			 rest;	/* bytes left after the last frame */
};

static void
fuzz_decode_all(const uint8_t *data, size_t size, struct fuzz_frames *frames)
{
	const uint8_t *body;
	uint8_t hdr[FRAME_HEADER_LEN];
	size_t body_len, consumed, pos = 0;
	enum frame_result r;

	frames->count = 0;
	for (;;) {
		r = frame_decode(data + pos, size - pos, &body, &body_len,
		    &consumed);
		if (r != FRAME_COMPLETE)
			break;

		FUZZ_ASSERT(body == data + pos + FRAME_HEADER_LEN);
		FUZZ_ASSERT(body_len >= FRAME_MIN_BODY);
		FUZZ_ASSERT(body_len <= FRAME_MAX_BODY);
		FUZZ_ASSERT(consumed == FRAME_HEADER_LEN + body_len);
		FUZZ_ASSERT(consumed <= size - pos);
		FUZZ_ASSERT(frame_header(body_len, hdr) == FRAME_COMPLETE);
		FUZZ_ASSERT(memcmp(hdr, data + pos, FRAME_HEADER_LEN) == 0);

		/* Each frame is at least 6 bytes, so the arrays fit every
		 * frame of an input that the pipe check takes. */
		if (frames->count < sizeof(frames->len) /
		    sizeof(frames->len[0])) {
			frames->offset[frames->count] = pos + FRAME_HEADER_LEN;
			frames->len[frames->count] = body_len;
		}
		frames->count++;
		pos += consumed;
	}

	/* Outputs are cleared on anything but a complete frame. */
	FUZZ_ASSERT(body == NULL && body_len == 0 && consumed == 0);
	FUZZ_ASSERT(r == FRAME_NEED_MORE || r == FRAME_BAD_LENGTH);
	if (r == FRAME_BAD_LENGTH)
		FUZZ_ASSERT(size - pos >= FRAME_HEADER_LEN);
	frames->last = r;
	frames->rest = size - pos;
}

/* The result that frame_read_fd() must give after the decoded frames. */
static enum frame_result
fuzz_expected_end(const struct fuzz_frames *frames)
{
	if (frames->last == FRAME_BAD_LENGTH)
		return FRAME_BAD_LENGTH;
	return frames->rest == 0 ? FRAME_EOF : FRAME_TRUNCATED;
}

static void
fuzz_read_pipe(const uint8_t *data, size_t size,
    const struct fuzz_frames *frames)
{
	char *body;
	size_t body_len, n = 0;
	enum frame_result r;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) == -1)
		abort();
	if (size > 0 && write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);

	while ((r = frame_read_fd(fds[0], &body, &body_len)) ==
	    FRAME_COMPLETE) {
		FUZZ_ASSERT(n < frames->count);
		FUZZ_ASSERT(body_len == frames->len[n]);
		FUZZ_ASSERT(memcmp(body, data + frames->offset[n],
		    body_len) == 0);
		FUZZ_ASSERT(body[body_len] == '\0');
		free(body);
		n++;
	}
	FUZZ_ASSERT(body == NULL && body_len == 0);
	FUZZ_ASSERT(n == frames->count);
	FUZZ_ASSERT(r == fuzz_expected_end(frames));
	close(fds[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_frames frames;

	fuzz_decode_all(data, size, &frames);
	if (size <= FUZZ_PIPE_MAX)
		fuzz_read_pipe(data, size, &frames);
	return 0;
}
