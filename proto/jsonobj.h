/*
 * Strict parsing of one JSON object from untrusted bytes, shared by the
 * message, JWK and JWS parsers.
 */
#ifndef PROTO_JSONOBJ_H
#define PROTO_JSONOBJ_H

#include <stddef.h>
#include <json-c/json.h>

/* Parse text (len bytes, need not be NUL-terminated) as exactly one JSON
 * object in valid UTF-8, with nothing but whitespace after it.  json-c's
 * strict mode does the parsing; see jsonobj.c for what it still lets
 * through.  Returns a new object the caller puts, or NULL with
 * a reason in err. */
struct json_object *jsonobj_parse(const char *text, size_t len, char *err,
	    size_t errlen);

#endif
