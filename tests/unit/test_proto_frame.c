/*
 * Unit tests for proto/frame.c: frame_decode() on partial, out-of-range,
 * maximal and back-to-back frames, frame_header(), and frame_read_fd() and
 * frame_write_fd() over socketpairs and pipes, including a peer that
 * closes inside a frame and one that has gone away before a write.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "test.h"

static void
put_header(uint8_t *buf, uint32_t n)
{
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
}

static void
test_decode_short_header(void)
{
	static const uint8_t buf[] = { 0, 0, 0 };
	const uint8_t *body;
	size_t body_len, consumed, len;

	for (len = 0; len < FRAME_HEADER_LEN; len++)
		CHECKF(frame_decode(buf, len, &body, &body_len,
		    &consumed) == FRAME_NEED_MORE, "header of %zu bytes", len);
}

static void
test_decode_length_out_of_range(void)
{
	static const uint32_t bad[] = { 0, 1, FRAME_MAX_BODY + 1,
	    0x7fffffff, 0xffffffff };
	uint8_t buf[FRAME_HEADER_LEN + 2] = { 0 };
	const uint8_t *body;
	size_t body_len, consumed, i;

	/* Only the header is present: the length must be rejected before
	 * any body arrives. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_header(buf, bad[i]);
		CHECKF(frame_decode(buf, FRAME_HEADER_LEN, &body, &body_len,
		    &consumed) == FRAME_BAD_LENGTH, "length %u",
		    (unsigned)bad[i]);
	}
}

static void
test_decode_exact_max_accepted(void)
{
	uint8_t *buf;
	const uint8_t *body;
	size_t body_len, consumed;

	buf = calloc(1, FRAME_HEADER_LEN + FRAME_MAX_BODY);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	put_header(buf, FRAME_MAX_BODY);
	CHECK(frame_decode(buf, FRAME_HEADER_LEN + FRAME_MAX_BODY - 1,
	    &body, &body_len, &consumed) == FRAME_NEED_MORE);
	CHECK(frame_decode(buf, FRAME_HEADER_LEN + FRAME_MAX_BODY, &body,
	    &body_len, &consumed) == FRAME_COMPLETE);
	CHECK(body == buf + FRAME_HEADER_LEN);
	CHECK(body_len == FRAME_MAX_BODY);
	CHECK(consumed == FRAME_HEADER_LEN + FRAME_MAX_BODY);
	free(buf);
}

static void
test_decode_two_frames_in_buffer(void)
{
	uint8_t buf[64];
	const uint8_t *body;
	size_t body_len, consumed, off = 0, len;

	put_header(buf, 2);
	memcpy(buf + 4, "{}", 2);
	put_header(buf + 6, 7);
	memcpy(buf + 10, "{\"a\":1}", 7);
	len = 17;

	CHECK(frame_decode(buf, len, &body, &body_len, &consumed) ==
	    FRAME_COMPLETE);
	CHECK(body_len == 2);
	CHECK(memcmp(body, "{}", 2) == 0);
	CHECK(consumed == 6);
	off += consumed;

	CHECK(frame_decode(buf + off, len - off, &body, &body_len,
	    &consumed) == FRAME_COMPLETE);
	CHECK(body_len == 7);
	CHECK(memcmp(body, "{\"a\":1}", 7) == 0);
	CHECK(consumed == 11);
	off += consumed;

	CHECK(frame_decode(buf + off, len - off, &body, &body_len,
	    &consumed) == FRAME_NEED_MORE);
	CHECK(consumed == 0);
}

static void
test_header_encoding(void)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	CHECK(frame_header(0, hdr) == FRAME_BAD_LENGTH);
	CHECK(frame_header(1, hdr) == FRAME_BAD_LENGTH);
	CHECK(frame_header(FRAME_MAX_BODY + 1, hdr) == FRAME_BAD_LENGTH);
	CHECK(frame_header(FRAME_MAX_BODY, hdr) == FRAME_COMPLETE);
	CHECK(memcmp(hdr, "\x00\x10\x00\x00", FRAME_HEADER_LEN) == 0);
	CHECK(frame_header(0x0102, hdr) == FRAME_COMPLETE);
	CHECK(memcmp(hdr, "\x00\x00\x01\x02", FRAME_HEADER_LEN) == 0);
}

static void
test_fd_round_trip(void)
{
	int sv[2];
	char *body = NULL;
	size_t len = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(frame_write_fd(sv[0], "{\"v\":1}", 7) == FRAME_COMPLETE);
	CHECK(frame_write_fd(sv[0], "{}", 2) == FRAME_COMPLETE);
	close(sv[0]);

	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_COMPLETE);
	CHECK(len == strlen("{\"v\":1}"));
	CHECK(body != NULL);
	if (body != NULL)
		CHECK(strcmp(body, "{\"v\":1}") == 0);
	free(body);
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_COMPLETE);
	CHECK(len == strlen("{}"));
	if (body != NULL)
		CHECK(strcmp(body, "{}") == 0);
	free(body);

	/* The peer closed after a whole frame: an ordinary end. */
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_EOF);
	CHECK(body == NULL);
	CHECK(len == 0);
	close(sv[1]);
}

static void
test_fd_write_rejects_bad_length(void)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(frame_write_fd(sv[0], "x", 1) == FRAME_BAD_LENGTH);
	CHECK(frame_write_fd(sv[0], "", 0) == FRAME_BAD_LENGTH);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_truncated_body(void)
{
	uint8_t raw[FRAME_HEADER_LEN + 3];
	int sv[2];
	char *body = NULL;
	size_t len = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	put_header(raw, 10);
	memcpy(raw + FRAME_HEADER_LEN, "{\"a", 3);
	CHECK(write(sv[0], raw, sizeof(raw)) == (ssize_t)sizeof(raw));
	close(sv[0]);
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_TRUNCATED);
	CHECK(body == NULL);
	close(sv[1]);
}

static void
test_fd_truncated_header(void)
{
	static const uint8_t raw[] = { 0, 0 };
	int sv[2];
	char *body = NULL;
	size_t len = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[0], raw, sizeof(raw)) == (ssize_t)sizeof(raw));
	close(sv[0]);
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_TRUNCATED);
	close(sv[1]);
}

static void
test_fd_bad_length(void)
{
	uint8_t raw[FRAME_HEADER_LEN];
	int sv[2];
	char *body = NULL;
	size_t len = 0;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	put_header(raw, 0xffffffff);
	CHECK(write(sv[0], raw, sizeof(raw)) == (ssize_t)sizeof(raw));
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_BAD_LENGTH);
	CHECK(body == NULL);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_closed_peer_gives_epipe(void)
{
	int sv[2];

	/* Without MSG_NOSIGNAL this write would kill the test with
	 * SIGPIPE. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	errno = 0;
	CHECK(frame_write_fd(sv[0], "{}", 2) == FRAME_IO_ERROR);
	CHECK(errno == EPIPE);
	close(sv[0]);
}

static void
test_fd_pipe_falls_back_to_write(void)
{
	int p[2];
	char *body = NULL;
	size_t len = 0;

	CHECK(pipe(p) == 0);
	CHECK(frame_write_fd(p[1], "{\"x\":2}", 7) == FRAME_COMPLETE);
	close(p[1]);
	CHECK(frame_read_fd(p[0], &body, &len) == FRAME_COMPLETE);
	CHECK(len == strlen("{\"x\":2}"));
	CHECK(body != NULL);
	if (body != NULL)
		CHECK(strcmp(body, "{\"x\":2}") == 0);
	free(body);
	close(p[0]);
}

static void
test_fd_max_frame_with_short_reads(void)
{
	char *big, *body = NULL;
	size_t len = 0;
	pid_t pid;
	int sv[2], status = 0;

	big = malloc(FRAME_MAX_BODY);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, ' ', FRAME_MAX_BODY);
	big[0] = '{';
	big[FRAME_MAX_BODY - 1] = '}';

	/* 1 MiB exceeds the socket buffer, so the writer blocks and the
	 * reader sees many short reads. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	CHECK(pid != -1);
	if (pid == 0) {
		close(sv[1]);
		_exit(frame_write_fd(sv[0], big, FRAME_MAX_BODY) ==
		    FRAME_COMPLETE ? 0 : 1);
	}
	close(sv[0]);
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_COMPLETE);
	CHECK(len == FRAME_MAX_BODY);
	CHECK(body != NULL);
	if (body != NULL)
		CHECK(memcmp(body, big, FRAME_MAX_BODY) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
	free(body);
	free(big);
	close(sv[1]);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void
test_fd_read_retries_on_eintr(void)
{
	struct sigaction sa, old;
	struct itimerval it;
	char *body = NULL;
	size_t len = 0;
	pid_t pid;
	int sv[2], status = 0;

	/* No SA_RESTART: the timer interrupts the blocked read() with
	 * EINTR before the child writes, and frame_read_fd must retry. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGALRM, &sa, &old) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	CHECK(pid != -1);
	if (pid == 0) {
		close(sv[1]);
		usleep(300 * 1000);
		_exit(frame_write_fd(sv[0], "{}", 2) == FRAME_COMPLETE ?
		    0 : 1);
	}
	close(sv[0]);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 50 * 1000;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);

	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_COMPLETE);
	CHECK(len == strlen("{}"));
	CHECK(body != NULL);
	if (body != NULL)
		CHECK(strcmp(body, "{}") == 0);
	CHECKF(alarms == 1, "the timer fired %d times", (int)alarms);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
	free(body);
	close(sv[1]);
	sigaction(SIGALRM, &old, NULL);
}

static void
test_strerror_names_every_result(void)
{
	CHECK(strcmp(frame_strerror(FRAME_TRUNCATED),
	    frame_strerror(FRAME_EOF)) != 0);
	CHECK(strlen(frame_strerror(FRAME_BAD_LENGTH)) > 0);
	CHECK(strlen(frame_strerror((enum frame_result)42)) > 0);
}

int
main(void)
{
	RUN(test_decode_short_header);
	RUN(test_decode_length_out_of_range);
	RUN(test_decode_exact_max_accepted);
	RUN(test_decode_two_frames_in_buffer);
	RUN(test_header_encoding);
	RUN(test_fd_round_trip);
	RUN(test_fd_write_rejects_bad_length);
	RUN(test_fd_truncated_body);
	RUN(test_fd_truncated_header);
	RUN(test_fd_bad_length);
	RUN(test_fd_closed_peer_gives_epipe);
	RUN(test_fd_pipe_falls_back_to_write);
	RUN(test_fd_max_frame_with_short_reads);
	RUN(test_fd_read_retries_on_eintr);
	RUN(test_strerror_names_every_result);
	return TEST_SUMMARY();
}
