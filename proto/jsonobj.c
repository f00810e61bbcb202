/*
 * Strict JSON object parsing for everything proto/ reads from a peer:
 * frame bodies, JWS bodies, protected headers and stored JWKs.
 *
 * Interface: jsonobj_parse() in jsonobj.h.  Syntax errors, invalid UTF-8,
 * nesting deeper than json-c's default of 32 levels, a value that is not
 * an object and trailing bytes are reported to the caller as bad input.
 * Nothing logs or exits.
 */
#include <limits.h>
#include <stdio.h>

#include "jsonobj.h"

static int
jsonobj_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct json_object *
jsonobj_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL, *ret = NULL;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT_MAX) {
		snprintf(err, errlen, "JSON text too long");
		goto out;
	}
	if ((tok = json_tokener_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL) {
		/* json_tokener_continue means the text ended inside a value. */
		snprintf(err, errlen, "invalid JSON: %s",
		    jerr == json_tokener_continue ? "unexpected end of text" :
		    json_tokener_error_desc(jerr));
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "JSON text is not an object");
		goto out;
	}

	/* json-c stops at the end of the first value, and in strict mode it
	 * still accepts a NUL byte there, so check the rest here. */
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!jsonobj_is_space(text[end])) {
			snprintf(err, errlen, "trailing data after the JSON "
			    "object at offset %zu", end);
			goto out;
		}
	}

	ret = obj;
	obj = NULL;
 out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return ret;
}
