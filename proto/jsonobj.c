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
	size_t end, start;

	if (len > INT_MAX) {
		snprintf(err, errlen, "JSON text too long");
		goto out;
	}

	/* json-c reports a top-level scalar such as "null" as an unfinished
	 * text, so name the real problem before parsing. */
	for (start = 0; start < len && jsonobj_is_space(text[start]); start++)
		;
	if (start == len || text[start] != '{') {
		snprintf(err, errlen, "JSON text is not an object");
		goto out;
	}

	if ((tok = json_tokener_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* NOTE: json-c 0.16 in strict mode still accepts single-quoted
	 * member names, NaN, Infinity and raw control characters inside
	 * strings.  That is harmless here because callers check the type
	 * of every value they use.  Trailing characters are allowed here
	 * only so that the check below can name them. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8 | JSON_TOKENER_ALLOW_TRAILING_CHARS);

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
		/* Not reached after the check for '{', kept as a guard. */
		snprintf(err, errlen, "JSON text is not an object");
		goto out;
	}

	/* json-c stopped at the end of the object.  Anything after it but
	 * white space, a NUL byte included, is trailing data. */
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
