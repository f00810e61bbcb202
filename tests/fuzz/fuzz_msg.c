/*
 * libFuzzer target for proto/msg.c: msg_parse() on a frame body from a
 * peer, then the field getters that the message handlers call.  An
 * accepted message must carry "v": 1 and a short string "type", and an
 * "id" of 1..MSG_MAX_ID_LEN bytes when its type needs one.  A rejection
 * must come with a reason.  The compact serialization of an accepted
 * message must parse again to the same type.
 */
#include <json-c/json.h>

#include "fuzz.h"
#include "msg.h"

/* Fields that the ca-core and validator handlers read. */
static const char *const fuzz_string_fields[] = {
	"id", "type", "name", "version", "status", "token", "value",
	"resolver", "level", "message",
};
static const char *const fuzz_int_fields[] = {
	"v", "timeout_ms", "http_port", "tls_port",
};

static int
fuzz_needs_id(enum msg_type type)
{
	return type == MSG_VALIDATE || type == MSG_RESULT ||
	    type == MSG_PING || type == MSG_PONG;
}

static void
fuzz_check_getters(struct json_object *obj)
{
	const char *s;
	char err[256];
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(fuzz_string_fields) /
	    sizeof(fuzz_string_fields[0]); i++) {
		err[0] = '\0';
		s = msg_get_string(obj, fuzz_string_fields[i],
		    MSG_MAX_STRING_LEN, err, sizeof(err));
		if (s == NULL)
			FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		else
			FUZZ_ASSERT(strlen(s) <= MSG_MAX_STRING_LEN);
	}
	for (i = 0; i < sizeof(fuzz_int_fields) /
	    sizeof(fuzz_int_fields[0]); i++) {
		v = -1;
		err[0] = '\0';
		if (msg_get_int(obj, fuzz_int_fields[i], 0, 65535, &v, err,
		    sizeof(err)) == -1)
			FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		else
			FUZZ_ASSERT(v >= -1 && v <= 65535);
	}
}

/* Serialize obj as msg_send_fd() does and parse the text again. */
static void
fuzz_check_round_trip(struct json_object *obj, enum msg_type type)
{
	struct json_object *again;
	enum msg_type type2;
	const char *text;
	size_t len = 0;
	char err[256];

	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	FUZZ_ASSERT(text != NULL);
	again = msg_parse((const uint8_t *)text, len, &type2, err,
	    sizeof(err));
	if (again == NULL)
		fprintf(stderr, "serialized message rejected: %s\n", err);
	FUZZ_ASSERT(again != NULL);
	FUZZ_ASSERT(type2 == type);
	json_object_put(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj;
	enum msg_type type;
	const char *id;
	char err[256];

	err[0] = '\0';
	obj = msg_parse(data, size, &type, err, sizeof(err));
	if (obj == NULL) {
		FUZZ_ASSERT(type == MSG_UNKNOWN);
		FUZZ_ASSERT(fuzz_reason_ok(err, sizeof(err)));
		return 0;
	}

	FUZZ_ASSERT(json_object_is_type(obj, json_type_object));
	FUZZ_ASSERT(json_object_get_int64(json_object_object_get(obj,
	    "v")) == PROTO_VERSION);
	FUZZ_ASSERT(msg_get_string(obj, "type", 64, err,
	    sizeof(err)) != NULL);
	if (type != MSG_UNKNOWN)
		FUZZ_ASSERT(strcmp(msg_type_name(type), json_object_get_string(
		    json_object_object_get(obj, "type"))) == 0);
	if (fuzz_needs_id(type)) {
		id = msg_get_string(obj, "id", MSG_MAX_ID_LEN, err,
		    sizeof(err));
		FUZZ_ASSERT(id != NULL && id[0] != '\0');
	}

	fuzz_check_getters(obj);
	fuzz_check_round_trip(obj, type);
	json_object_put(obj);
	return 0;
}
