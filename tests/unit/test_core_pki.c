/*
 * Unit tests for ca-core/pki.c.  They create a CA in a temporary folder,
 * check the root and intermediate, and issue leaves for DNS and IP names
 * with ECDSA and RSA keys.  Each chain is verified with a GnuTLS trust
 * list, and the SANs, key usage, EKU, serial, AKI and SKI are checked.
 * Negative cases: a missing key file, a key of another certificate, a
 * non-CA issuer, bad names and bad validity periods, and an existing CA
 * that must not be replaced.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "pki.h"
#include "test.h"
#include "util.h"

static char test_dir[PATH_MAX];
static char certs_dir[PATH_MAX + 16];
static char secrets_dir[PATH_MAX + 16];

static void
test_path(char *out, size_t outlen, const char *dir, const char *name)
{
	snprintf(out, outlen, "%s/%s", dir, name);
}

static gnutls_x509_crt_t
load_crt(const char *dir, const char *name)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	char path[PATH_MAX + 64], *text = NULL;
	size_t len;

	test_path(path, sizeof(path), dir, name);
	if (util_read_file(path, 1 << 20, &text, &len) == -1)
		return NULL;
	d.data = (unsigned char *)text;
	d.size = (unsigned)len;
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crt_deinit(crt);
		crt = NULL;
	}
	free(text);
	return crt;
}

static gnutls_x509_crt_t
import_der(const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt = NULL;

	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

static int
dn_field_is(gnutls_x509_crt_t crt, const char *oid, const char *want)
{
	char buf[256];
	size_t len = sizeof(buf);

	if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, buf, &len) < 0)
		return 0;
	return strcmp(buf, want) == 0;
}

/* Compare the SKI of a with the AKI of b. */
static int
ski_matches_aki(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	unsigned char ski[64], aki[64];
	size_t skilen = sizeof(ski), akilen = sizeof(aki);

	if (gnutls_x509_crt_get_subject_key_id(a, ski, &skilen, NULL) < 0 ||
	    gnutls_x509_crt_get_authority_key_id(b, aki, &akilen, NULL) < 0)
		return 0;
	return skilen == akilen && memcmp(ski, aki, skilen) == 0;
}

static gnutls_pubkey_t
new_pubkey(gnutls_pk_algorithm_t pk, unsigned bits)
{
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t pub = NULL;

	if (gnutls_privkey_init(&key) < 0 ||
	    gnutls_privkey_generate(key, pk, bits, 0) < 0 ||
	    gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0) {
		gnutls_pubkey_deinit(pub);
		pub = NULL;
	}
	gnutls_privkey_deinit(key);
	return pub;
}

static struct pki_issuer *
load_issuer(void)
{
	struct pki_issuer *iss = NULL;
	char crt[PATH_MAX + 64], key[PATH_MAX + 64], err[512];

	test_path(crt, sizeof(crt), certs_dir, "intermediate_ca.crt");
	test_path(key, sizeof(key), secrets_dir, "intermediate_ca.key");
	CHECKF(pki_issuer_load(crt, key, &iss, err, sizeof(err)) == 0, "%s",
	    err);
	return iss;
}

static void
ca_files_and_modes(void)
{
	static const char *const names[4][2] = {
		{ "certs", "root_ca.crt" }, { "certs", "intermediate_ca.crt" },
		{ "secrets", "root_ca.key" }, { "secrets", "intermediate_ca.key" },
	};
	char path[PATH_MAX + 64], err[512];
	struct stat st;
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", test_dir, names[i][0],
		    names[i][1]);
		CHECKF(stat(path, &st) == 0, "%s missing", path);
		CHECKF((st.st_mode & 0777) == (i < 2 ? 0644u : 0600u),
		    "%s has mode %o", path, st.st_mode & 0777);
	}

	/* A second run must not replace the keys. */
	CHECK(pki_create_ca("Test CA", certs_dir, secrets_dir, err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "already exists") != NULL, "%s", err);
}

static void
root_and_intermediate(void)
{
	gnutls_x509_crt_t root, inter;
	unsigned int ca = 0, usage = 0, critical;
	int pathlen = 99;

	root = load_crt(certs_dir, "root_ca.crt");
	inter = load_crt(certs_dir, "intermediate_ca.crt");
	CHECK(root != NULL);
	CHECK(inter != NULL);
	if (root == NULL || inter == NULL)
		goto out;

	CHECK(dn_field_is(root, GNUTLS_OID_X520_COMMON_NAME, "Test CA Root CA"));
	CHECK(dn_field_is(root, GNUTLS_OID_X520_ORGANIZATION_NAME, "Test CA"));
	CHECK(gnutls_x509_crt_check_issuer(root, root) == 1);
	CHECK(gnutls_x509_crt_get_basic_constraints(root, &critical, &ca,
	    &pathlen) >= 0 && ca == 1 && pathlen == -1);
	CHECK(gnutls_x509_crt_get_key_usage(root, &usage, &critical) >= 0);
	CHECK(usage == (GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));

	CHECK(dn_field_is(inter, GNUTLS_OID_X520_COMMON_NAME,
	    "Test CA Intermediate CA"));
	CHECK(gnutls_x509_crt_check_issuer(inter, root) == 1);
	ca = 0;
	CHECK(gnutls_x509_crt_get_basic_constraints(inter, &critical, &ca,
	    &pathlen) >= 0 && ca == 1 && pathlen == 0);
	CHECK(ski_matches_aki(root, inter));
	CHECK(gnutls_x509_crt_get_expiration_time(inter) - time(NULL) >
	    (time_t)9 * 365 * 24 * 3600);
 out:
	gnutls_x509_crt_deinit(root);
	gnutls_x509_crt_deinit(inter);
}

/* Verify leaf -> intermediate -> root with the root as the only trust
 * anchor. */
static int
chain_verifies(gnutls_x509_crt_t leaf, gnutls_x509_crt_t inter,
    gnutls_x509_crt_t root)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t chain[2] = { leaf, inter };
	unsigned int status = 1;
	int r;

	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		return 0;
	/* GNUTLS_TL_NO_DUPLICATES is not set, so tl does not own root. */
	r = gnutls_x509_trust_list_add_cas(tl, &root, 1, 0);
	if (r == 1)
		r = gnutls_x509_trust_list_verify_crt(tl, chain, 2, 0, &status,
		    NULL);
	gnutls_x509_trust_list_deinit(tl, 0);
	return r >= 0 && status == 0;
}

static void
check_sans(gnutls_x509_crt_t crt)
{
	char buf[256];
	size_t len;
	unsigned char v4[4], v6[16];
	int type, i, found = 0;

	inet_pton(AF_INET, "192.0.2.7", v4);
	inet_pton(AF_INET6, "2001:db8::7", v6);
	for (i = 0; ; i++) {
		len = sizeof(buf);
		type = gnutls_x509_crt_get_subject_alt_name(crt, (unsigned)i,
		    buf, &len, NULL);
		if (type < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME &&
		    strcmp(buf, "leaf.example.test") == 0)
			found |= 1;
		else if (type == GNUTLS_SAN_IPADDRESS && len == 4 &&
		    memcmp(buf, v4, 4) == 0)
			found |= 2;
		else if (type == GNUTLS_SAN_IPADDRESS && len == 16 &&
		    memcmp(buf, v6, 16) == 0)
			found |= 4;
		else
			found |= 8;
	}
	CHECKF(i == 3, "%d SANs", i);
	CHECKF(found == 7, "SAN set %d", found);
}

static void
check_leaf_extensions(gnutls_x509_crt_t crt, gnutls_pubkey_t pub, int rsa)
{
	unsigned char id[64], want[64];
	size_t idlen = sizeof(id), wantlen = sizeof(want);
	unsigned int usage = 0, critical, ca = 1;
	char oid[128];
	size_t oidlen;
	int pathlen;

	CHECK(gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca,
	    &pathlen) >= 0 && ca == 0);
	CHECK(gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0);
	CHECK(usage & GNUTLS_KEY_DIGITAL_SIGNATURE);
	CHECK(!(usage & GNUTLS_KEY_KEY_CERT_SIGN));
	CHECKF(!!(usage & GNUTLS_KEY_KEY_ENCIPHERMENT) == rsa,
	    "keyEncipherment %s for %s", usage & GNUTLS_KEY_KEY_ENCIPHERMENT ?
	    "set" : "unset", rsa ? "RSA" : "ECDSA");

	oidlen = sizeof(oid);
	CHECK(gnutls_x509_crt_get_key_purpose_oid(crt, 0, oid, &oidlen,
	    NULL) >= 0 && strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0);
	oidlen = sizeof(oid);
	CHECK(gnutls_x509_crt_get_key_purpose_oid(crt, 1, oid, &oidlen,
	    NULL) >= 0 && strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0);

	CHECK(gnutls_x509_crt_get_subject_key_id(crt, id, &idlen, NULL) >= 0);
	CHECK(gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, want,
	    &wantlen) >= 0);
	CHECK(idlen == wantlen);
	CHECK(memcmp(id, want, idlen < wantlen ? idlen : wantlen) == 0);
}

static void
check_serial(gnutls_x509_crt_t crt, const char *serial_hex)
{
	unsigned char serial[32];
	size_t len = sizeof(serial), i;
	char hex[65];

	CHECK(gnutls_x509_crt_get_serial(crt, serial, &len) >= 0);
	CHECKF(len >= 17, "serial has %zu bytes", len);
	CHECK(serial[0] != 0);
	CHECK(serial[0] < 0x80);
	for (i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", serial[i]);
	CHECKF(serial_hex != NULL && strcmp(hex, serial_hex) == 0,
	    "serial_hex %s, certificate %s", serial_hex, hex);
}

static void
issue_and_verify(gnutls_pk_algorithm_t pk, unsigned bits, int rsa)
{
	static const char *const names[] = {
		"leaf.example.test", "192.0.2.7", "2001:db8::7"
	};
	struct pki_leaf_request req;
	struct pki_issuer *iss;
	gnutls_x509_crt_t root = NULL, inter = NULL, leaf = NULL;
	gnutls_pubkey_t pub;
	gnutls_datum_t der = { NULL, 0 };
	char err[512], *serial = NULL, *pem;
	time_t now = time(NULL);

	iss = load_issuer();
	pub = new_pubkey(pk, bits);
	CHECK(pub != NULL);
	if (iss == NULL || pub == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	req.pubkey = pub;
	req.names = names;
	req.nnames = 3;
	req.common_name = "leaf.example.test";
	req.not_before = now - 60;
	req.not_after = now + 24 * 3600;
	CHECKF(pki_sign_leaf(iss, &req, &der, &serial, err,
	    sizeof(err)) == 0, "%s", err);
	if (der.data == NULL)
		goto out;

	leaf = import_der(&der);
	root = load_crt(certs_dir, "root_ca.crt");
	inter = load_crt(certs_dir, "intermediate_ca.crt");
	CHECK(leaf != NULL);
	CHECK(root != NULL);
	CHECK(inter != NULL);
	if (leaf == NULL || root == NULL || inter == NULL)
		goto out;
	CHECK(chain_verifies(leaf, inter, root));
	CHECK(ski_matches_aki(inter, leaf));
	CHECK(gnutls_x509_crt_get_activation_time(leaf) == now - 60);
	CHECK(gnutls_x509_crt_get_expiration_time(leaf) == now + 24 * 3600);
	CHECK(dn_field_is(leaf, GNUTLS_OID_X520_COMMON_NAME,
	    "leaf.example.test"));
	check_sans(leaf);
	check_leaf_extensions(leaf, pub, rsa);
	check_serial(leaf, serial);

	pem = pki_der_to_pem(&der);
	CHECK(pem != NULL &&
	    strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	free(pem);
 out:
	gnutls_free(der.data);
	free(serial);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(root);
	gnutls_x509_crt_deinit(inter);
	gnutls_pubkey_deinit(pub);
	pki_issuer_free(iss);
}

static void
leaf_ecdsa_verifies(void)
{
	issue_and_verify(GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
}

static void
leaf_rsa_verifies(void)
{
	issue_and_verify(GNUTLS_PK_RSA, 2048, 1);
}

static void
leaf_serials_differ(void)
{
	static const char *const names[] = { "a.example.test" };
	struct pki_leaf_request req;
	struct pki_issuer *iss = load_issuer();
	gnutls_pubkey_t pub = new_pubkey(GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	gnutls_datum_t der1 = { NULL, 0 }, der2 = { NULL, 0 };
	char err[512], *s1 = NULL, *s2 = NULL;

	if (iss == NULL || pub == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	req.pubkey = pub;
	req.names = names;
	req.nnames = 1;
	req.not_before = time(NULL);
	req.not_after = req.not_before + 3600;
	CHECK(pki_sign_leaf(iss, &req, &der1, &s1, err, sizeof(err)) == 0);
	CHECK(pki_sign_leaf(iss, &req, &der2, &s2, err, sizeof(err)) == 0);
	CHECK(s1 != NULL);
	CHECK(s2 != NULL);
	if (s1 == NULL || s2 == NULL)
		goto out;
	CHECK(strcmp(s1, s2) != 0);
	CHECK(strlen(s1) == 34);
 out:
	gnutls_free(der1.data);
	gnutls_free(der2.data);
	free(s1);
	free(s2);
	gnutls_pubkey_deinit(pub);
	pki_issuer_free(iss);
}

static void
leaf_without_cn_has_critical_san(void)
{
	static const char *const names[] = { "nocn.example.test" };
	struct pki_leaf_request req;
	struct pki_issuer *iss = load_issuer();
	gnutls_pubkey_t pub = new_pubkey(GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t leaf = NULL;
	char err[512], buf[256], *serial = NULL;
	size_t len = sizeof(buf);
	unsigned int critical = 0, i;

	if (iss == NULL || pub == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	req.pubkey = pub;
	req.names = names;
	req.nnames = 1;
	req.not_before = time(NULL);
	req.not_after = req.not_before + 3600;
	CHECKF(pki_sign_leaf(iss, &req, &der, &serial, err,
	    sizeof(err)) == 0, "%s", err);
	if ((leaf = import_der(&der)) == NULL)
		goto out;
	CHECK(gnutls_x509_crt_get_subject_alt_name(leaf, 0, buf, &len,
	    NULL) == GNUTLS_SAN_DNSNAME);
	for (i = 0; ; i++) {
		len = sizeof(buf);
		if (gnutls_x509_crt_get_extension_info(leaf, i, buf, &len,
		    &critical) < 0)
			break;
		if (strcmp(buf, "2.5.29.17") == 0)
			break;
	}
	CHECKF(strcmp(buf, "2.5.29.17") == 0 && critical == 1,
	    "subjectAltName missing or not critical");
 out:
	gnutls_free(der.data);
	free(serial);
	gnutls_x509_crt_deinit(leaf);
	gnutls_pubkey_deinit(pub);
	pki_issuer_free(iss);
}

static void
leaf_rejects_bad_requests(void)
{
	static const char *const bad_name[] = { "bad name.test" };
	static const char *const good_name[] = { "ok.example.test" };
	struct pki_leaf_request req;
	struct pki_issuer *iss = load_issuer();
	gnutls_pubkey_t pub = new_pubkey(GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	gnutls_datum_t der = { NULL, 0 };
	char err[512], *serial = NULL;

	if (iss == NULL || pub == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	req.pubkey = pub;
	req.names = bad_name;
	req.nnames = 1;
	req.not_before = time(NULL);
	req.not_after = req.not_before + 3600;
	CHECK(pki_sign_leaf(iss, &req, &der, &serial, err, sizeof(err)) == -1);
	CHECK(der.data == NULL);
	CHECK(serial == NULL);
	CHECKF(strstr(err, "bad name.test") != NULL, "%s", err);

	req.names = good_name;
	req.nnames = 0;
	CHECK(pki_sign_leaf(iss, &req, &der, &serial, err, sizeof(err)) == -1);

	req.nnames = 1;
	req.not_after = req.not_before;
	CHECK(pki_sign_leaf(iss, &req, &der, &serial, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "not_after") != NULL, "%s", err);

	req.not_after = req.not_before + 3600;
	req.common_name = "a-common-name-that-is-longer-than-sixty-four-bytes-"
	    "which-x509-forbids";
	CHECK(pki_sign_leaf(iss, &req, &der, &serial, err, sizeof(err)) == -1);
 out:
	gnutls_free(der.data);
	free(serial);
	gnutls_pubkey_deinit(pub);
	pki_issuer_free(iss);
}

static void
issuer_load_failures(void)
{
	struct pki_issuer *iss = (struct pki_issuer *)1;
	char crt[PATH_MAX + 64], key[PATH_MAX + 64], root[PATH_MAX + 64];
	char err[512];

	test_path(crt, sizeof(crt), certs_dir, "intermediate_ca.crt");
	test_path(root, sizeof(root), certs_dir, "root_ca.crt");

	CHECK(pki_issuer_load(crt, "/nonexistent/intermediate_ca.key", &iss,
	    err, sizeof(err)) == -1);
	CHECK(iss == NULL);
	CHECKF(strstr(err, "/nonexistent/intermediate_ca.key") != NULL, "%s",
	    err);

	test_path(key, sizeof(key), secrets_dir, "root_ca.key");
	CHECK(pki_issuer_load(crt, key, &iss, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "does not belong") != NULL, "%s", err);

	/* A certificate file given as the key. */
	CHECK(pki_issuer_load(crt, root, &iss, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "private key") != NULL, "%s", err);

	CHECK(pki_issuer_load("/nonexistent.crt", key, &iss, err,
	    sizeof(err)) == -1);
	CHECKF(strstr(err, "/nonexistent.crt") != NULL, "%s", err);
}

static void
issuer_rejects_leaf_certificate(void)
{
	static const char *const names[] = { "leaf.example.test" };
	struct pki_leaf_request req;
	struct pki_issuer *iss = load_issuer(), *bad = NULL;
	gnutls_pubkey_t pub = new_pubkey(GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	gnutls_datum_t der = { NULL, 0 };
	char err[512], path[PATH_MAX + 64], key[PATH_MAX + 64];
	char *serial = NULL, *pem = NULL;

	if (iss == NULL || pub == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	req.pubkey = pub;
	req.names = names;
	req.nnames = 1;
	req.not_before = time(NULL);
	req.not_after = req.not_before + 3600;
	if (pki_sign_leaf(iss, &req, &der, &serial, err, sizeof(err)) != 0 ||
	    (pem = pki_der_to_pem(&der)) == NULL)
		goto out;
	test_path(path, sizeof(path), test_dir, "leaf.crt");
	test_path(key, sizeof(key), secrets_dir, "intermediate_ca.key");
	CHECK(util_write_file(path, pem, strlen(pem), 0644) == 0);
	CHECK(pki_issuer_load(path, key, &bad, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "not a CA certificate") != NULL, "%s", err);
	unlink(path);
 out:
	free(pem);
	gnutls_free(der.data);
	free(serial);
	gnutls_pubkey_deinit(pub);
	pki_issuer_free(iss);
	pki_issuer_free(bad);
}

static void
remove_test_dir(void)
{
	static const char *const files[] = {
		"certs/root_ca.crt", "certs/intermediate_ca.crt",
		"secrets/root_ca.key", "secrets/intermediate_ca.key"
	};
	char path[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		test_path(path, sizeof(path), test_dir, files[i]);
		unlink(path);
	}
	rmdir(certs_dir);
	rmdir(secrets_dir);
	rmdir(test_dir);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_core_pki.XXXXXX", err[512];
	int status;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(test_dir, sizeof(test_dir), "%s", tmpl);
	snprintf(certs_dir, sizeof(certs_dir), "%s/certs", test_dir);
	snprintf(secrets_dir, sizeof(secrets_dir), "%s/secrets", test_dir);
	if (mkdir(certs_dir, 0755) == -1 || mkdir(secrets_dir, 0700) == -1) {
		perror("mkdir");
		return 1;
	}
	if (pki_create_ca("Test CA", certs_dir, secrets_dir, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "pki_create_ca: %s\n", err);
		remove_test_dir();
		return 1;
	}

	RUN(ca_files_and_modes);
	RUN(root_and_intermediate);
	RUN(leaf_ecdsa_verifies);
	RUN(leaf_rsa_verifies);
	RUN(leaf_serials_differ);
	RUN(leaf_without_cn_has_critical_san);
	RUN(leaf_rejects_bad_requests);
	RUN(issuer_load_failures);
	RUN(issuer_rejects_leaf_certificate);
	status = TEST_SUMMARY();
	remove_test_dir();
	return status;
}
