/*
 * Validator protocol messages (proto/PROTOCOL.md is the specification).
 * Every message is one JSON object with "v" (PROTO_VERSION) and "type";
 * validate, result, ping and pong also carry a string "id".
 */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define PROTO_VERSION		1
#define MSG_MAX_ID_LEN		128
#define MSG_MAX_STRING_LEN	8192

enum msg_type {
	MSG_UNKNOWN = 0,
	MSG_HELLO,
	MSG_VALIDATE,
	MSG_RESULT,
	MSG_PING,
	MSG_PONG,
	MSG_LOG
};

/* Parse a frame body.  Checks that it is one JSON object with "v" equal to
 * PROTO_VERSION and a string "type", and that messages which need an id
 * have a string "id" of 1..MSG_MAX_ID_LEN bytes.  Returns the object (the
 * caller puts it) and sets *type; MSG_UNKNOWN is returned for a
 * well-formed message of a type this version does not know.  Returns NULL
 * with a reason in err on anything else. */
struct json_object *msg_parse(const uint8_t *body, size_t len,
	    enum msg_type *type, char *err, size_t errlen);

const char	*msg_type_name(enum msg_type);

/* Fetch a required string member of at most max_len bytes; NULL with a
 * reason naming the field in err when it is missing, not a string or too
 * long.  The string belongs to obj. */
const char	*msg_get_string(struct json_object *obj, const char *field,
	    size_t max_len, char *err, size_t errlen);

/* Fetch an optional integer member into *out within [min, max].  Returns 0
 * (absent leaves *out unchanged), or -1 with a reason in err. */
int	 msg_get_int(struct json_object *obj, const char *field,
	    int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);

/* Builders.  Each returns a new object the caller puts, or NULL on memory
 * exhaustion.  String arguments are copied. */
struct json_object *msg_hello(const char *name, const char *version,
	    const char *const *challenge_types, size_t ntypes);
struct json_object *msg_ping(const char *id);
struct json_object *msg_pong(const char *id);
/* status is "valid" or "invalid"; problem_type and detail only for invalid
 * (problem_type is a full urn:ietf:params:acme:error: URN); records may be
 * NULL and is taken over by the message. */
struct json_object *msg_result(const char *id, const char *status,
	    const char *problem_type, const char *detail,
	    struct json_object *records);

/* Serialize obj compactly and send it as one frame.  Returns 0 or -1. */
int	 msg_send_fd(int fd, struct json_object *obj);

#endif
