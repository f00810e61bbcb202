/*
 * Unit tests for proto/msg.c: envelope checks of msg_parse() (version,
 * type, id, JSON shape, trailing data), the field getters, and the
 * builders sent through frame_write_fd() and parsed back.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "msg.h"
#include "test.h"

/* Parse a NUL-terminated text; returns the object or NULL. */
static struct json_object *
parse(const char *text, enum msg_type *type, char *err, size_t errlen)
{
	return msg_parse((const uint8_t *)text, strlen(text), type, err,
	    errlen);
}

/* Returns 1 when text is rejected with a reason containing want. */
static int
rejected_with(const char *text, const char *want)
{
	struct json_object *obj;
	enum msg_type type = MSG_PING;
	char err[256] = "";

	obj = parse(text, &type, err, sizeof(err));
	if (obj != NULL) {
		json_object_put(obj);
		fprintf(stderr, "  accepted: %s\n", text);
		return 0;
	}
	if (type != MSG_UNKNOWN || strstr(err, want) == NULL) {
		fprintf(stderr, "  error \"%s\", want \"%s\"\n", err, want);
		return 0;
	}
	return 1;
}

static void
test_parse_known_types(void)
{
	static const struct { const char *text; enum msg_type type; } v[] = {
		{ "{\"v\":1,\"type\":\"hello\",\"name\":\"x\"}", MSG_HELLO },
		{ "{\"v\":1,\"type\":\"validate\",\"id\":\"a\"}", MSG_VALIDATE },
		{ "{\"v\":1,\"type\":\"result\",\"id\":\"a\"}", MSG_RESULT },
		{ "{\"v\":1,\"type\":\"ping\",\"id\":\"a\"}", MSG_PING },
		{ " {\"type\":\"pong\",\"id\":\"7\",\"v\":1}\n", MSG_PONG },
		{ "{\"v\":1,\"type\":\"log\",\"level\":\"info\","
		    "\"message\":\"m\"}", MSG_LOG },
	};
	struct json_object *obj;
	enum msg_type type;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		obj = parse(v[i].text, &type, err, sizeof(err));
		CHECKF(obj != NULL, "%s: %s", v[i].text, err);
		CHECKF(type == v[i].type, "%s: type %d", v[i].text, type);
		json_object_put(obj);
	}
}

static void
test_parse_unknown_type_is_returned(void)
{
	struct json_object *obj;
	enum msg_type type = MSG_PING;
	char err[256];

	/* A future type without an id is well formed and reaches the
	 * caller, which logs and ignores it. */
	obj = parse("{\"v\":1,\"type\":\"status\",\"extra\":[1,2]}", &type,
	    err, sizeof(err));
	CHECK(obj != NULL);
	CHECK(type == MSG_UNKNOWN);
	json_object_put(obj);
}

static void
test_parse_missing_fields(void)
{
	CHECK(rejected_with("{\"type\":\"ping\",\"id\":\"a\"}", "\"v\""));
	CHECK(rejected_with("{\"v\":1,\"id\":\"a\"}", "\"type\""));
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\"}", "\"id\""));
	CHECK(rejected_with("{\"v\":1,\"type\":\"validate\"}", "\"id\""));
	CHECK(rejected_with("{\"v\":1,\"type\":\"result\",\"id\":null}",
	    "\"id\""));
}

static void
test_parse_wrong_version(void)
{
	CHECK(rejected_with("{\"v\":2,\"type\":\"ping\",\"id\":\"a\"}",
	    "version"));
	CHECK(rejected_with("{\"v\":0,\"type\":\"ping\",\"id\":\"a\"}",
	    "version"));
	CHECK(rejected_with("{\"v\":1.0,\"type\":\"ping\",\"id\":\"a\"}",
	    "integer"));
	CHECK(rejected_with("{\"v\":\"1\",\"type\":\"ping\",\"id\":\"a\"}",
	    "integer"));
	CHECK(rejected_with("{\"v\":18446744073709551617,\"type\":\"ping\","
	    "\"id\":\"a\"}", "\"v\""));
}

static void
test_parse_wrong_field_types(void)
{
	CHECK(rejected_with("{\"v\":1,\"type\":7,\"id\":\"a\"}", "\"type\""));
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\",\"id\":5}", "\"id\""));
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\",\"id\":\"\"}",
	    "empty"));
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\",\"id\":\"a\\u0000b\"}",
	    "NUL"));
}

static void
test_parse_trailing_garbage(void)
{
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\",\"id\":\"a\"}x",
	    "trailing"));
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\",\"id\":\"a\"}{}",
	    "trailing"));
}

static void
test_parse_embedded_nul_after_object(void)
{
	static const char text[] = "{\"v\":1,\"type\":\"ping\",\"id\":\"a\"}\0";
	struct json_object *obj;
	enum msg_type type;
	char err[256];

	obj = msg_parse((const uint8_t *)text, sizeof(text) - 1, &type, err,
	    sizeof(err));
	CHECK(obj == NULL);
	CHECK(strstr(err, "trailing") != NULL);
}

static void
test_parse_not_an_object(void)
{
	CHECK(rejected_with("[1,2]", "not an object"));
	CHECK(rejected_with("\"ping\"", "not an object"));
	CHECK(rejected_with("null", "not an object"));
	CHECK(rejected_with("{\"v\":1", "invalid JSON"));
	CHECK(rejected_with("{\"v\":1,}", "invalid JSON"));
	CHECK(rejected_with("", "not an object"));
	CHECK(rejected_with(" \n", "not an object"));
}

static void
test_parse_invalid_utf8(void)
{
	CHECK(rejected_with("{\"v\":1,\"type\":\"ping\",\"id\":\"\xff\xfe\"}",
	    "invalid JSON"));
}

static void
test_parse_huge_id(void)
{
	char text[MSG_MAX_ID_LEN + 128], id[MSG_MAX_ID_LEN + 2];
	struct json_object *obj;
	enum msg_type type;
	char err[256];

	memset(id, 'i', MSG_MAX_ID_LEN);
	id[MSG_MAX_ID_LEN] = '\0';
	snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"ping\",\"id\":\"%s\"}",
	    id);
	obj = parse(text, &type, err, sizeof(err));
	CHECKF(obj != NULL, "id of exactly %d bytes: %s", MSG_MAX_ID_LEN,
	    err);
	json_object_put(obj);

	id[MSG_MAX_ID_LEN] = 'i';
	id[MSG_MAX_ID_LEN + 1] = '\0';
	snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"ping\",\"id\":\"%s\"}",
	    id);
	CHECK(rejected_with(text, "longer than"));
}

static void
test_parse_deep_nesting(void)
{
	char text[2048];
	size_t i, n = 0;

	n += (size_t)snprintf(text, sizeof(text),
	    "{\"v\":1,\"type\":\"hello\",\"x\":");
	for (i = 0; i < 500; i++)
		text[n++] = '[';
	for (i = 0; i < 500; i++)
		text[n++] = ']';
	text[n++] = '}';
	text[n] = '\0';
	CHECK(rejected_with(text, "invalid JSON"));
}

static void
test_get_string_and_int(void)
{
	struct json_object *obj;
	int64_t v = 5;
	char err[256];

	obj = json_tokener_parse("{\"s\":\"abc\",\"n\":42,\"neg\":-1,"
	    "\"d\":1.5,\"big\":99999999999999999999}");
	CHECK(obj != NULL);
	CHECK(msg_get_string(obj, "s", 3, err, sizeof(err)) != NULL);
	CHECK(msg_get_string(obj, "s", 2, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "\"s\"") != NULL);
	CHECK(msg_get_string(obj, "missing", 10, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "missing") != NULL);
	CHECK(msg_get_string(obj, "n", 10, err, sizeof(err)) == NULL);

	CHECK(msg_get_int(obj, "absent", 0, 10, &v, err, sizeof(err)) == 0);
	CHECK(v == 5);
	CHECK(msg_get_int(obj, "n", 0, 100, &v, err, sizeof(err)) == 0);
	CHECK(v == 42);
	CHECK(msg_get_int(obj, "n", 0, 41, &v, err, sizeof(err)) == -1);
	CHECK(msg_get_int(obj, "neg", 0, 100, &v, err, sizeof(err)) == -1);
	CHECK(msg_get_int(obj, "d", 0, 100, &v, err, sizeof(err)) == -1);
	CHECK(msg_get_int(obj, "s", 0, 100, &v, err, sizeof(err)) == -1);
	CHECK(msg_get_int(obj, "big", 0, INT64_MAX, &v, err,
	    sizeof(err)) == -1);
	json_object_put(obj);
}

/* Send obj over a socketpair and parse what arrives. */
static struct json_object *
send_and_parse(struct json_object *obj, enum msg_type *type)
{
	struct json_object *back = NULL;
	char *body = NULL, err[256];
	size_t len;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return NULL;
	if (msg_send_fd(sv[0], obj) == 0 &&
	    frame_read_fd(sv[1], &body, &len) == FRAME_COMPLETE)
		back = msg_parse((const uint8_t *)body, len, type, err,
		    sizeof(err));
	free(body);
	close(sv[0]);
	close(sv[1]);
	return back;
}

static void
test_build_hello(void)
{
	static const char *const types[] = { "http-01", "tls-alpn-01" };
	struct json_object *obj, *back, *arr;
	enum msg_type type;
	char err[256];

	obj = msg_hello("http-01 validator", "1.0", types, 2);
	CHECK(obj != NULL);
	back = send_and_parse(obj, &type);
	CHECK(back != NULL);
	CHECK(type == MSG_HELLO);
	if (back != NULL)
		CHECK(strcmp(msg_get_string(back, "name", 100, err,
		    sizeof(err)), "http-01 validator") == 0);
	CHECK(json_object_object_get_ex(back, "challenge_types", &arr));
	CHECK(json_object_array_length(arr) == 2);
	CHECK(strcmp(json_object_get_string(
	    json_object_array_get_idx(arr, 1)), "tls-alpn-01") == 0);
	json_object_put(back);
	json_object_put(obj);
}

static void
test_build_ping_pong(void)
{
	struct json_object *obj, *back;
	enum msg_type type;
	char err[256];

	obj = msg_ping("p-1");
	back = send_and_parse(obj, &type);
	CHECK(back != NULL);
	if (back != NULL)
		CHECK(type == MSG_PING);
	if (back != NULL)
		CHECK(strcmp(msg_get_string(back, "id", 10, err,
		    sizeof(err)), "p-1") == 0);
	json_object_put(back);
	json_object_put(obj);

	obj = msg_pong("p-1");
	back = send_and_parse(obj, &type);
	CHECK(back != NULL);
	if (back != NULL)
		CHECK(type == MSG_PONG);
	json_object_put(back);
	json_object_put(obj);
	CHECK(strcmp(msg_type_name(MSG_PONG), "pong") == 0);
	CHECK(strcmp(msg_type_name(MSG_LOG), "log") == 0);
}

static void
test_build_result(void)
{
	struct json_object *obj, *back, *error, *records, *rec;
	enum msg_type type;
	char err[256];

	rec = json_object_new_array();
	json_object_array_add(rec, json_object_new_object());
	obj = msg_result("r1", "invalid",
	    "urn:ietf:params:acme:error:connection", "connection refused",
	    rec);
	back = send_and_parse(obj, &type);
	CHECK(back != NULL);
	if (back != NULL)
		CHECK(type == MSG_RESULT);
	if (back != NULL)
		CHECK(strcmp(msg_get_string(back, "status", 10, err,
		    sizeof(err)), "invalid") == 0);
	CHECK(json_object_object_get_ex(back, "error", &error));
	CHECK(strcmp(msg_get_string(error, "type", 100, err, sizeof(err)),
	    "urn:ietf:params:acme:error:connection") == 0);
	CHECK(json_object_object_get_ex(back, "records", &records));
	CHECK(json_object_array_length(records) == 1);
	json_object_put(back);
	json_object_put(obj);

	/* A valid result has no "error" and an empty records array. */
	obj = msg_result("r2", "valid", NULL, NULL, NULL);
	CHECK(obj != NULL);
	CHECK(!json_object_object_get_ex(obj, "error", NULL));
	CHECK(json_object_object_get_ex(obj, "records", &records));
	CHECK(json_object_array_length(records) == 0);
	json_object_put(obj);

	/* An invalid result without a problem type still carries one. */
	obj = msg_result("r3", "invalid", NULL, NULL, NULL);
	CHECK(json_object_object_get_ex(obj, "error", &error));
	CHECK(strcmp(msg_get_string(error, "type", 100, err, sizeof(err)),
	    "urn:ietf:params:acme:error:serverInternal") == 0);
	json_object_put(obj);
}

static void
test_send_slash_not_escaped(void)
{
	struct json_object *obj;
	char *body = NULL;
	size_t len;
	int sv[2];

	obj = msg_result("a/b", "valid", NULL, NULL, NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(msg_send_fd(sv[0], obj) == 0);
	CHECK(frame_read_fd(sv[1], &body, &len) == FRAME_COMPLETE);
	CHECK(body != NULL);
	if (body != NULL)
		CHECK(strstr(body, "\"a/b\"") != NULL);
	if (body != NULL)
		CHECK(strchr(body, ' ') == NULL);
	free(body);
	close(sv[0]);
	close(sv[1]);
	json_object_put(obj);
}

int
main(void)
{
	RUN(test_parse_known_types);
	RUN(test_parse_unknown_type_is_returned);
	RUN(test_parse_missing_fields);
	RUN(test_parse_wrong_version);
	RUN(test_parse_wrong_field_types);
	RUN(test_parse_trailing_garbage);
	RUN(test_parse_embedded_nul_after_object);
	RUN(test_parse_not_an_object);
	RUN(test_parse_invalid_utf8);
	RUN(test_parse_huge_id);
	RUN(test_parse_deep_nesting);
	RUN(test_get_string_and_int);
	RUN(test_build_hello);
	RUN(test_build_ping_pong);
	RUN(test_build_result);
	RUN(test_send_slash_not_escaped);
	return TEST_SUMMARY();
}
