/*
 * Validator protocol messages: parsing of frame bodies, typed field access
 * and builders for the messages a validator sends (PROTOCOL.md is the
 * specification).
 *
 * Interface (msg.h): msg_parse() checks the envelope ("v", "type", "id");
 * msg_get_string() and msg_get_int() check single fields; msg_hello(),
 * msg_ping(), msg_pong() and msg_result() build messages; msg_send_fd()
 * writes one as a frame.
 *
 * Errors: every problem with a peer's message is returned with a reason
 * that names the field, so the caller can log it and close the
 * connection.  The reasons never quote the peer's text.  Nothing logs or
 * exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "jsonobj.h"
#include "msg.h"

static const struct {
	enum msg_type	 type;
	const char	*name;
	int		 needs_id;
} msg_types[] = {
	{ MSG_HELLO,	"hello",	0 },
	{ MSG_VALIDATE,	"validate",	1 },
	{ MSG_RESULT,	"result",	1 },
	{ MSG_PING,	"ping",		1 },
	{ MSG_PONG,	"pong",		1 },
	{ MSG_LOG,	"log",		0 },
};

#define MSG_NTYPES	(sizeof(msg_types) / sizeof(msg_types[0]))

/* Maximum length of a type name; longer names are rejected, not looked
 * up, so a peer cannot make us compare megabytes. */
#define MSG_MAX_TYPE_LEN	64

const char *
msg_type_name(enum msg_type type)
{
	size_t i;

	for (i = 0; i < MSG_NTYPES; i++)
		if (msg_types[i].type == type)
			return msg_types[i].name;
	return "unknown";
}

const char *
msg_get_string(struct json_object *obj, const char *field, size_t max_len,
    char *err, size_t errlen)
{
	struct json_object *member;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, field, &member) ||
	    json_object_is_type(member, json_type_null)) {
		snprintf(err, errlen, "missing field \"%s\"", field);
		return NULL;
	}
	if (!json_object_is_type(member, json_type_string)) {
		snprintf(err, errlen, "field \"%s\" is not a string", field);
		return NULL;
	}
	s = json_object_get_string(member);
	len = (size_t)json_object_get_string_len(member);
	if (len > max_len) {
		snprintf(err, errlen, "field \"%s\" is longer than %zu bytes",
		    field, max_len);
		return NULL;
	}

	/* A "\u0000" escape would cut the C string that callers see. */
	if (strlen(s) != len) {
		snprintf(err, errlen, "field \"%s\" contains a NUL character",
		    field);
		return NULL;
	}
	return s;
}

int
msg_get_int(struct json_object *obj, const char *field, int64_t min,
    int64_t max, int64_t *out, char *err, size_t errlen)
{
	struct json_object *member;
	int64_t v;

	if (!json_object_object_get_ex(obj, field, &member))
		return 0;
	if (!json_object_is_type(member, json_type_int)) {
		snprintf(err, errlen, "field \"%s\" is not an integer", field);
		return -1;
	}

	/* json-c clamps values beyond int64_t; a positive value above
	 * INT64_MAX is still visible as an unsigned one. */
	v = json_object_get_int64(member);
	if (v < min || v > max ||
	    (v == INT64_MAX && json_object_get_uint64(member) > INT64_MAX)) {
		snprintf(err, errlen, "field \"%s\" is outside [%lld, %lld]",
		    field, (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Check "v": it must be the integer PROTO_VERSION, not 1.0 or "1". */
static int
msg_check_version(struct json_object *obj, char *err, size_t errlen)
{
	int64_t v = 0;

	if (!json_object_object_get_ex(obj, "v", NULL)) {
		snprintf(err, errlen, "missing field \"v\"");
		return -1;
	}
	if (msg_get_int(obj, "v", INT64_MIN, INT64_MAX, &v, err,
	    errlen) == -1)
		return -1;
	if (v != PROTO_VERSION) {
		snprintf(err, errlen, "unsupported protocol version "
		    "(this side speaks %d)", PROTO_VERSION);
		return -1;
	}
	return 0;
}

struct json_object *
msg_parse(const uint8_t *body, size_t len, enum msg_type *type, char *err,
    size_t errlen)
{
	struct json_object *obj = NULL, *ret = NULL;
	const char *name;
	size_t i;
	int needs_id = 0;

	*type = MSG_UNKNOWN;

	if (len > FRAME_MAX_BODY) {
		snprintf(err, errlen, "message longer than %d bytes",
		    FRAME_MAX_BODY);
		goto out;
	}
	if ((obj = jsonobj_parse((const char *)body, len, err,
	    errlen)) == NULL)
		goto out;
	if (msg_check_version(obj, err, errlen) == -1)
		goto out;
	if ((name = msg_get_string(obj, "type", MSG_MAX_TYPE_LEN, err,
	    errlen)) == NULL)
		goto out;

	for (i = 0; i < MSG_NTYPES; i++) {
		if (strcmp(name, msg_types[i].name) == 0) {
			*type = msg_types[i].type;
			needs_id = msg_types[i].needs_id;
			break;
		}
	}

	if (needs_id) {
		if (msg_get_string(obj, "id", MSG_MAX_ID_LEN, err,
		    errlen) == NULL)
			goto out;
		if (json_object_get_string_len(json_object_object_get(obj,
		    "id")) == 0) {
			snprintf(err, errlen, "field \"id\" is empty");
			goto out;
		}
	}

	ret = obj;
	obj = NULL;
 out:
	if (ret == NULL)
		*type = MSG_UNKNOWN;
	json_object_put(obj);
	return ret;
}

/* Add a string member; a NULL value becomes "".  Returns 0 or -1. */
static int
msg_add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *s;

	if ((s = json_object_new_string(value != NULL ? value : "")) == NULL)
		return -1;
	if (json_object_object_add(obj, key, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

/* Start a message {"v": PROTO_VERSION, "type": type} with an optional
 * "id".  Returns NULL on memory exhaustion. */
static struct json_object *
msg_new(const char *type, const char *id)
{
	struct json_object *obj = NULL, *v = NULL, *ret = NULL;

	if ((obj = json_object_new_object()) == NULL)
		goto out;
	if ((v = json_object_new_int(PROTO_VERSION)) == NULL ||
	    json_object_object_add(obj, "v", v) != 0)
		goto out;
	v = NULL;
	if (msg_add_string(obj, "type", type) == -1)
		goto out;
	if (id != NULL && msg_add_string(obj, "id", id) == -1)
		goto out;

	ret = obj;
	obj = NULL;
 out:
	json_object_put(v);
	json_object_put(obj);
	return ret;
}

struct json_object *
msg_hello(const char *name, const char *version,
    const char *const *challenge_types, size_t ntypes)
{
	struct json_object *obj = NULL, *types = NULL, *type = NULL;
	struct json_object *ret = NULL;
	size_t i;

	if ((obj = msg_new("hello", NULL)) == NULL)
		goto out;
	if (msg_add_string(obj, "name", name) == -1 ||
	    msg_add_string(obj, "version", version) == -1)
		goto out;
	if ((types = json_object_new_array()) == NULL)
		goto out;
	for (i = 0; i < ntypes; i++) {
		if ((type = json_object_new_string(challenge_types[i])) == NULL)
			goto out;
		if (json_object_array_add(types, type) != 0)
			goto out;
		type = NULL;
	}
	if (json_object_object_add(obj, "challenge_types", types) != 0)
		goto out;
	types = NULL;

	ret = obj;
	obj = NULL;
 out:
	json_object_put(type);
	json_object_put(types);
	json_object_put(obj);
	return ret;
}

struct json_object *
msg_ping(const char *id)
{
	return msg_new("ping", id != NULL ? id : "");
}

struct json_object *
msg_pong(const char *id)
{
	return msg_new("pong", id != NULL ? id : "");
}

struct json_object *
msg_result(const char *id, const char *status, const char *problem_type,
    const char *detail, struct json_object *records)
{
	struct json_object *obj = NULL, *error = NULL, *ret = NULL;
	int invalid;

	if ((obj = msg_new("result", id != NULL ? id : "")) == NULL)
		goto out;
	if (msg_add_string(obj, "status", status) == -1)
		goto out;

	/* PROTOCOL.md requires "error" with every invalid result, so a
	 * missing problem type becomes serverInternal rather than a
	 * message that ca-core would reject. */
	invalid = status == NULL || strcmp(status, "valid") != 0;
	if (invalid) {
		if ((error = json_object_new_object()) == NULL)
			goto out;
		if (msg_add_string(error, "type", problem_type != NULL ?
		    problem_type :
		    "urn:ietf:params:acme:error:serverInternal") == -1 ||
		    msg_add_string(error, "detail", detail != NULL ? detail :
		    "validation failed") == -1)
			goto out;
		if (json_object_object_add(obj, "error", error) != 0)
			goto out;
		error = NULL;
	}

	if (records == NULL && (records = json_object_new_array()) == NULL)
		goto out;
	if (json_object_object_add(obj, "records", records) != 0)
		goto out;
	records = NULL;

	ret = obj;
	obj = NULL;
 out:
	json_object_put(records);
	json_object_put(error);
	json_object_put(obj);
	return ret;
}

int
msg_send_fd(int fd, struct json_object *obj)
{
	const char *text;
	size_t len = 0;

	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL)
		return -1;
	return frame_write_fd(fd, text, len) == FRAME_COMPLETE ? 0 : -1;
}
