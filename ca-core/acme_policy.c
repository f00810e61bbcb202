/*
 * Provisioner options that shape issuance: certificate lifetimes and the
 * allow/deny name policy.
 *
 * Interface: acme_option_bool(), acme_option_int(), acme_durations_get()
 * and acme_policy_check() in acme_internal.h.  The options are the
 * provisioner's JSON object as caadm wrote it.  A value of the wrong type
 * or out of range is logged as a warning and the default applies, so a
 * hand-edited option never stops the provisioner.  Nothing here is
 * fatal.
 */
#include <stdio.h>
#include <string.h>

#include "acme_internal.h"
#include "acme_syntax.h"
#include "log.h"

/* Maximum lifetime an option may set: ten years, in seconds. */
#define ACME_DURATION_LIMIT	(10LL * 365 * 24 * 3600)

int
acme_option_bool(const struct acme_request *r, const char *key)
{
	struct json_object *value;

	return r->prov.options != NULL &&
	    json_object_object_get_ex(r->prov.options, key, &value) &&
	    json_object_is_type(value, json_type_boolean) &&
	    json_object_get_boolean(value);
}

long long
acme_option_int(const struct acme_request *r, const char *key,
    long long def, long long lo, long long hi)
{
	struct json_object *value;
	long long v;

	if (r->prov.options == NULL ||
	    !json_object_object_get_ex(r->prov.options, key, &value))
		return def;
	if (!json_object_is_type(value, json_type_int)) {
		log_warn("acme: provisioner %s: option %s is not an integer; "
		    "using %lld", r->prov.name, key, def);
		return def;
	}
	v = json_object_get_int64(value);
	if (v < lo || v > hi) {
		log_warn("acme: provisioner %s: %s=%lld is outside %lld..%lld; "
		    "using %lld", r->prov.name, key, v, lo, hi, def);
		return def;
	}
	return v;
}

void
acme_durations_get(const struct acme_request *r, struct acme_durations *d)
{
	d->def = acme_option_int(r, "default_duration_seconds",
	    ACME_DEFAULT_DURATION, ACME_MIN_DURATION, ACME_DURATION_LIMIT);
	d->min = acme_option_int(r, "min_duration_seconds", ACME_MIN_DURATION,
	    ACME_MIN_DURATION, ACME_DURATION_LIMIT);
	d->max = acme_option_int(r, "max_duration_seconds",
	    d->def > ACME_MAX_DURATION ? d->def : ACME_MAX_DURATION,
	    ACME_MIN_DURATION, ACME_DURATION_LIMIT);

	/* caadm keeps min <= default <= max; a hand-edited set that breaks
	 * it is repaired here so that issuance still works. */
	if (d->min > d->max) {
		log_warn("acme: provisioner %s: min_duration_seconds %lld is "
		    "above max_duration_seconds %lld; using the maximum",
		    r->prov.name, d->min, d->max);
		d->min = d->max;
	}
	if (d->def < d->min)
		d->def = d->min;
	if (d->def > d->max)
		d->def = d->max;
}

/* The first pattern of option list that id falls under, or NULL. */
static const char *
acme_policy_find(const struct acme_request *r, const char *list,
    const struct acme_identifier *id, int *nentries)
{
	struct json_object *array, *item;
	size_t i, n;

	*nentries = 0;
	if (r->prov.options == NULL ||
	    !json_object_object_get_ex(r->prov.options, list, &array) ||
	    !json_object_is_type(array, json_type_array))
		return NULL;
	n = json_object_array_length(array);
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(array, i);
		if (!json_object_is_type(item, json_type_string))
			continue;
		(*nentries)++;
		if (acme_policy_match(json_object_get_string(item), id))
			return json_object_get_string(item);
	}
	return NULL;
}

int
acme_policy_check(const struct acme_request *r,
    const struct acme_identifier *id, char *err, size_t errlen)
{
	const char *hit;
	int nallow, ndeny;

	if ((hit = acme_policy_find(r, "deny", id, &ndeny)) != NULL) {
		snprintf(err, errlen, "%s \"%s\" is denied by the policy of "
		    "this provisioner (deny %s)",
		    acme_identifier_type_name(id->type), id->value, hit);
		return -1;
	}
	if (acme_policy_find(r, "allow", id, &nallow) == NULL && nallow > 0) {
		snprintf(err, errlen, "%s \"%s\" is not in the allow list of "
		    "this provisioner", acme_identifier_type_name(id->type),
		    id->value);
		return -1;
	}
	return 0;
}
