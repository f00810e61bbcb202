/*
 * The directory and newNonce resources (RFC 8555 sections 7.1.1, 7.2),
 * read with GET, HEAD or POST-as-GET.
 *
 * Interface: acme_handle_directory() and acme_handle_new_nonce() in
 * acme_internal.h.  The directory meta comes from the provisioner's
 * options: "terms_of_service" and "website" (strings), "caa_identities"
 * (array of strings) and "require_eab" (boolean, shown as
 * externalAccountRequired); other types there are ignored with a
 * warning.
 */
#include <stdlib.h>
#include <string.h>

#include "acme_internal.h"
#include "log.h"

static int
acme_directory_add_url(struct acme_request *r, struct json_object *dir,
    const char *key, const char *kind)
{
	char *url;
	int ret;

	if ((url = acme_url(r->prefix, kind, NULL, NULL)) == NULL)
		return -1;
	ret = acme_json_add_string(dir, key, url);
	free(url);
	return ret;
}

static void
acme_meta_copy_string(struct acme_request *r, struct json_object *meta,
    const char *option, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(r->prov.options, option, &value))
		return;
	if (!json_object_is_type(value, json_type_string)) {
		log_warn("acme: provisioner %s: option %s is not a string; "
		    "left out of the directory", r->prov.name, option);
		return;
	}
	json_object_object_add(meta, key, json_object_get(value));
}

static struct json_object *
acme_directory_meta(struct acme_request *r)
{
	struct json_object *meta, *caa;

	if ((meta = json_object_new_object()) == NULL)
		return NULL;
	acme_meta_copy_string(r, meta, "terms_of_service", "termsOfService");
	acme_meta_copy_string(r, meta, "website", "website");
	if (json_object_object_get_ex(r->prov.options, "caa_identities",
	    &caa) && json_object_is_type(caa, json_type_array))
		json_object_object_add(meta, "caaIdentities",
		    json_object_get(caa));
	json_object_object_add(meta, "externalAccountRequired",
	    json_object_new_boolean(acme_option_bool(r, "require_eab")));
	return meta;
}

enum acme_outcome
acme_handle_directory(struct acme_request *r)
{
	struct json_object *dir = NULL, *meta = NULL;

	if (acme_require_post_as_get(r, "the directory") == -1)
		return ACME_DONE;
	if ((dir = json_object_new_object()) == NULL ||
	    acme_directory_add_url(r, dir, "newNonce", "new-nonce") == -1 ||
	    acme_directory_add_url(r, dir, "newAccount", "new-account") == -1 ||
	    acme_directory_add_url(r, dir, "newOrder", "new-order") == -1 ||
	    acme_directory_add_url(r, dir, "revokeCert", "revoke-cert") == -1 ||
	    acme_directory_add_url(r, dir, "keyChange", "key-change") == -1 ||
	    (meta = acme_directory_meta(r)) == NULL ||
	    json_object_object_add(dir, "meta", meta) != 0) {
		json_object_put(meta);
		acme_reply_internal(r, "cannot build the directory");
		goto out;
	}
	acme_reply_json(r, 200, dir, NULL);
 out:
	json_object_put(dir);
	return ACME_DONE;
}

enum acme_outcome
acme_handle_new_nonce(struct acme_request *r)
{
	if (acme_require_post_as_get(r, "newNonce") == -1)
		return ACME_DONE;

	/* RFC 8555 section 7.2: 204 for GET, 200 for HEAD (and for
	 * POST-as-GET, as for any POST-as-GET that succeeds), never cached. */
	acme_add_header(r, "Cache-Control", "no-store");
	acme_reply_body(r, r->method == EVHTTP_REQ_GET ? 204 : 200, NULL,
	    NULL, 0);
	return ACME_DONE;
}
