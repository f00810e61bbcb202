/*
 * X.509 with GnuTLS: the CA created by caadm init, loading the issuer,
 * and signing leaf certificates.
 *
 * Interface (pki.h): pki_create_ca() makes a root and an intermediate
 * and writes them as PEM files.  pki_issuer_load() reads the
 * intermediate certificate and its key (a PEM file or a "pkcs11:" URL).
 * pki_sign_leaf() issues a certificate and is the only caller of the
 * signing key for certificates.  pki_der_to_pem() converts DER to PEM.
 * Every failure returns -1 with a message in err.  Warnings (logged):
 * a key file that other users may read, and a requested expiry after the
 * intermediate's, which is shortened to the intermediate's.  Private key
 * bytes read or written here are wiped before they are freed.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>

#include "log.h"
#include "pki.h"
#include "util.h"

#define PKI_SERIAL_RANDOM	16
#define PKI_SERIAL_PREFIX	0x01
#define PKI_CA_LIFETIME		((time_t)3652 * 24 * 3600)	/* 10 years */
/* CA certificates start a little in the past so that a client whose
 * clock is a few minutes behind still accepts them. */
#define PKI_CA_BACKDATE		((time_t)5 * 60)
#define PKI_MAX_FILE		(1024 * 1024)
#define PKI_MAX_CN		64	/* ub-common-name, RFC 5280 */
#define PKI_KEYID_MAX		64

/* A positive serial without a leading zero byte: a fixed prefix byte
 * below 0x80 and 16 random bytes, so 128 random bits. */
static int
pki_random_serial(uint8_t serial[PKI_SERIAL_RANDOM + 1])
{
	serial[0] = PKI_SERIAL_PREFIX;
	return gnutls_rnd(GNUTLS_RND_NONCE, serial + 1, PKI_SERIAL_RANDOM);
}

static int
pki_set_dn(gnutls_x509_crt_t crt, const char *oid, const char *value)
{
	return gnutls_x509_crt_set_dn_by_oid(crt, oid, 0, value,
	    (unsigned)strlen(value));
}

/*
 * Fill the fields shared by the root and the intermediate: version,
 * serial, subject, validity, key, CA basic constraints, key usage and
 * the SKI.  pathlen -1 means no path length limit.
 */
static int
pki_ca_template(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
    const char *cn, const char *org, int pathlen)
{
	uint8_t serial[PKI_SERIAL_RANDOM + 1], keyid[PKI_KEYID_MAX];
	size_t keyidlen = sizeof(keyid);
	time_t now = time(NULL);
	int r;

	if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = pki_random_serial(serial)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = pki_set_dn(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, org)) < 0 ||
	    (r = pki_set_dn(crt, GNUTLS_OID_X520_COMMON_NAME, cn)) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt,
	    now - PKI_CA_BACKDATE)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt,
	    now + PKI_CA_LIFETIME)) < 0 ||
	    (r = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(crt, 1, pathlen)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt,
	    GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, keyid,
	    &keyidlen)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyidlen)) < 0)
		return r;
	return 0;
}

static int
pki_generate_key(gnutls_x509_privkey_t *key)
{
	int r;

	if ((r = gnutls_x509_privkey_init(key)) < 0)
		return r;
	return gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
}

/* The four PEM files of a new CA and where they go. */
struct pki_ca_files {
	char		path[4][PATH_MAX];
	gnutls_datum_t	pem[4];
	int		mode[4];
	int		written[4];
};

static void
pki_ca_files_free(struct pki_ca_files *f, int remove_written)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		if (remove_written && f->written[i])
			unlink(f->path[i]);
		if (f->pem[i].data != NULL) {
			/* Odd entries hold private keys. */
			gnutls_memset(f->pem[i].data, 0, f->pem[i].size);
			gnutls_free(f->pem[i].data);
		}
	}
}

static int
pki_ca_paths(struct pki_ca_files *f, const char *certs_dir,
    const char *secrets_dir, char *err, size_t errlen)
{
	static const char *const names[4] = {
		"root_ca.crt", "root_ca.key",
		"intermediate_ca.crt", "intermediate_ca.key"
	};
	struct stat st;
	size_t i;

	for (i = 0; i < 4; i++) {
		f->mode[i] = i % 2 ? 0600 : 0644;
		if ((size_t)snprintf(f->path[i], sizeof(f->path[i]), "%s/%s",
		    i % 2 ? secrets_dir : certs_dir, names[i]) >=
		    sizeof(f->path[i])) {
			util_seterr(err, errlen, "path too long: %s",
			    i % 2 ? secrets_dir : certs_dir);
			return -1;
		}
		/* Never replace an existing key or certificate. */
		if (lstat(f->path[i], &st) == 0) {
			util_seterr(err, errlen, "%s already exists; move it "
			    "away or choose another CA home", f->path[i]);
			return -1;
		}
	}
	return 0;
}

int
pki_create_ca(const char *name, const char *certs_dir,
    const char *secrets_dir, char *err, size_t errlen)
{
	struct pki_ca_files files;
	gnutls_x509_privkey_t root_key = NULL, int_key = NULL;
	gnutls_x509_crt_t root = NULL, inter = NULL;
	uint8_t keyid[PKI_KEYID_MAX];
	size_t keyidlen = sizeof(keyid), i;
	char root_cn[256], int_cn[256];
	int r, ret = -1;

	memset(&files, 0, sizeof(files));
	if (name == NULL || *name == '\0' ||
	    strlen(name) + strlen(" Intermediate CA") > PKI_MAX_CN) {
		util_seterr(err, errlen, "CA name must have 1 to %zu bytes",
		    PKI_MAX_CN - strlen(" Intermediate CA"));
		return -1;
	}
	snprintf(root_cn, sizeof(root_cn), "%s Root CA", name);
	snprintf(int_cn, sizeof(int_cn), "%s Intermediate CA", name);
	if (pki_ca_paths(&files, certs_dir, secrets_dir, err, errlen) == -1)
		return -1;

	/* The root signs itself; the intermediate has no subordinate CAs. */
	if ((r = pki_generate_key(&root_key)) < 0 ||
	    (r = gnutls_x509_crt_init(&root)) < 0 ||
	    (r = pki_ca_template(root, root_key, root_cn, name, -1)) < 0 ||
	    (r = gnutls_x509_crt_sign2(root, root, root_key,
	    GNUTLS_DIG_SHA256, 0)) < 0)
		goto gnutls_fail;
	if ((r = pki_generate_key(&int_key)) < 0 ||
	    (r = gnutls_x509_crt_init(&inter)) < 0 ||
	    (r = pki_ca_template(inter, int_key, int_cn, name, 0)) < 0 ||
	    (r = gnutls_x509_crt_get_subject_key_id(root, keyid, &keyidlen,
	    NULL)) < 0 ||
	    (r = gnutls_x509_crt_set_authority_key_id(inter, keyid,
	    keyidlen)) < 0 ||
	    (r = gnutls_x509_crt_sign2(inter, root, root_key,
	    GNUTLS_DIG_SHA256, 0)) < 0)
		goto gnutls_fail;

	if ((r = gnutls_x509_crt_export2(root, GNUTLS_X509_FMT_PEM,
	    &files.pem[0])) < 0 ||
	    (r = gnutls_x509_privkey_export2_pkcs8(root_key,
	    GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &files.pem[1])) < 0 ||
	    (r = gnutls_x509_crt_export2(inter, GNUTLS_X509_FMT_PEM,
	    &files.pem[2])) < 0 ||
	    (r = gnutls_x509_privkey_export2_pkcs8(int_key,
	    GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &files.pem[3])) < 0)
		goto gnutls_fail;

	for (i = 0; i < 4; i++) {
		if (util_write_file(files.path[i], files.pem[i].data,
		    files.pem[i].size, files.mode[i]) == -1) {
			util_seterr(err, errlen, "cannot write %s: %s",
			    files.path[i], strerror(errno));
			goto out;
		}
		files.written[i] = 1;
	}
	ret = 0;
	goto out;

 gnutls_fail:
	util_seterr(err, errlen, "creating the CA certificates failed: %s",
	    gnutls_strerror(r));
 out:
	pki_ca_files_free(&files, ret != 0);
	gnutls_x509_crt_deinit(root);
	gnutls_x509_crt_deinit(inter);
	gnutls_x509_privkey_deinit(root_key);
	gnutls_x509_privkey_deinit(int_key);
	return ret;
}

static int
pki_load_crt(const char *path, gnutls_x509_crt_t *crt, char *err,
    size_t errlen)
{
	gnutls_datum_t d;
	char *text = NULL;
	size_t len;
	int r;

	*crt = NULL;
	if (util_read_file(path, PKI_MAX_FILE, &text, &len) == -1) {
		util_seterr(err, errlen, "cannot read certificate %s: %s", path,
		    strerror(errno));
		return -1;
	}
	d.data = (unsigned char *)text;
	d.size = (unsigned)len;
	if ((r = gnutls_x509_crt_init(crt)) < 0 ||
	    (r = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		util_seterr(err, errlen, "%s is not a PEM certificate: %s", path,
		    gnutls_strerror(r));
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

static int
pki_load_key(const char *path, gnutls_privkey_t *key, char *err,
    size_t errlen)
{
	gnutls_datum_t d;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int r, ret = -1;

	*key = NULL;
	if ((r = gnutls_privkey_init(key)) < 0) {
		util_seterr(err, errlen, "gnutls_privkey_init: %s",
		    gnutls_strerror(r));
		return -1;
	}
	if (strncmp(path, "pkcs11:", 7) == 0) {
		/* The URL names the token and object; a PIN comes from the
		 * URL's pin-value or pin-source attribute. */
		if ((r = gnutls_privkey_import_url(*key, path, 0)) < 0) {
			util_seterr(err, errlen, "cannot load the PKCS#11 key: "
			    "%s", gnutls_strerror(r));
			goto out;
		}
		ret = 0;
		goto out;
	}

	if (util_read_file(path, PKI_MAX_FILE, &text, &len) == -1) {
		util_seterr(err, errlen, "cannot read key %s: %s", path,
		    strerror(errno));
		goto out;
	}
	d.data = (unsigned char *)text;
	d.size = (unsigned)len;
	if ((r = gnutls_privkey_import_x509_raw(*key, &d, GNUTLS_X509_FMT_PEM,
	    NULL, 0)) < 0) {
		util_seterr(err, errlen, "%s is not an unencrypted PEM private "
		    "key: %s", path, gnutls_strerror(r));
		goto out;
	}
	/* Warn only once the file is known to hold a key. */
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("key file %s can be read by other users (mode %04o); "
		    "run chmod 600 %s", path, (unsigned)(st.st_mode & 07777),
		    path);
	ret = 0;
 out:
	if (text != NULL)
		util_wipe(text, len);
	free(text);
	if (ret != 0) {
		gnutls_privkey_deinit(*key);
		*key = NULL;
	}
	return ret;
}

/* Check that the key belongs to the certificate. */
static int
pki_check_pair(gnutls_x509_crt_t crt, gnutls_privkey_t key,
    const char *key_path, char *err, size_t errlen)
{
	gnutls_pubkey_t pub = NULL;
	uint8_t a[PKI_KEYID_MAX], b[PKI_KEYID_MAX];
	size_t alen = sizeof(a), blen = sizeof(b);
	int r, ret = -1;

	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0 ||
	    (r = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a,
	    &alen)) < 0 ||
	    (r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b,
	    &blen)) < 0) {
		util_seterr(err, errlen, "cannot read the public key of %s: %s",
		    key_path, gnutls_strerror(r));
		goto out;
	}
	if (alen != blen || memcmp(a, b, alen) != 0) {
		util_seterr(err, errlen, "key %s does not belong to the "
		    "intermediate certificate; configure the matching pair",
		    key_path);
		goto out;
	}
	ret = 0;
 out:
	gnutls_pubkey_deinit(pub);
	return ret;
}

int
pki_issuer_load(const char *crt_path, const char *key_path,
    struct pki_issuer **out, char *err, size_t errlen)
{
	struct pki_issuer *iss;
	gnutls_datum_t pem = { NULL, 0 };
	unsigned int ca = 0, critical;
	int r, pathlen;

	*out = NULL;
	if ((iss = calloc(1, sizeof(*iss))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (pki_load_crt(crt_path, &iss->crt, err, errlen) == -1)
		goto fail;
	r = gnutls_x509_crt_get_basic_constraints(iss->crt, &critical, &ca,
	    &pathlen);
	if (r < 0 || !ca) {
		util_seterr(err, errlen, "%s is not a CA certificate "
		    "(basicConstraints CA:TRUE is missing)", crt_path);
		goto fail;
	}
	if (pki_load_key(key_path, &iss->key, err, errlen) == -1 ||
	    pki_check_pair(iss->crt, iss->key, key_path, err, errlen) == -1)
		goto fail;
	if ((r = gnutls_x509_crt_export2(iss->crt, GNUTLS_X509_FMT_PEM,
	    &pem)) < 0 || (iss->chain_pem = strndup((const char *)pem.data,
	    pem.size)) == NULL) {
		util_seterr(err, errlen, "cannot export %s: %s", crt_path,
		    r < 0 ? gnutls_strerror(r) : "out of memory");
		gnutls_free(pem.data);
		goto fail;
	}
	gnutls_free(pem.data);
	*out = iss;
	return 0;
 fail:
	pki_issuer_free(iss);
	return -1;
}

void
pki_issuer_free(struct pki_issuer *iss)
{
	if (iss == NULL)
		return;
	gnutls_x509_crt_deinit(iss->crt);
	gnutls_privkey_deinit(iss->key);
	free(iss->chain_pem);
	free(iss);
}

/* A SAN value the issuer accepts: a DNS name, possibly with a leading
 * "*." wildcard, of letters, digits, hyphens and dots.  ca-core checks
 * identifiers fully before it requests a certificate. */
static int
pki_check_dns(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.')
			continue;
		if (c == '*' && i == 0 && name[1] == '.')
			continue;
		return -1;
	}
	return 0;
}

/* Build the subjectAltName extension; it is critical when the subject
 * is empty (RFC 5280, section 4.2.1.6). */
static int
pki_set_sans(gnutls_x509_crt_t crt, const struct pki_leaf_request *req,
    char *err, size_t errlen)
{
	gnutls_subject_alt_names_t sans = NULL;
	gnutls_datum_t value, ext = { NULL, 0 };
	unsigned char addr[16];
	size_t i;
	int r = 0, ret = -1;
	unsigned type;

	if (req->nnames == 0) {
		util_seterr(err, errlen, "a certificate needs at least one name");
		return -1;
	}
	if ((r = gnutls_subject_alt_names_init(&sans)) < 0)
		goto gnutls_fail;
	for (i = 0; i < req->nnames; i++) {
		const char *name = req->names[i];

		if (inet_pton(AF_INET, name, addr) == 1) {
			type = GNUTLS_SAN_IPADDRESS;
			value.data = addr;
			value.size = 4;
		} else if (inet_pton(AF_INET6, name, addr) == 1) {
			type = GNUTLS_SAN_IPADDRESS;
			value.data = addr;
			value.size = 16;
		} else if (pki_check_dns(name) == 0) {
			type = GNUTLS_SAN_DNSNAME;
			value.data = (unsigned char *)(uintptr_t)name;
			value.size = (unsigned)strlen(name);
		} else {
			char q[128];

			util_seterr(err, errlen, "\"%s\" is neither a DNS name "
			    "nor an IP address", log_escape(name, strlen(name),
			    q, sizeof(q)));
			goto out;
		}
		if ((r = gnutls_subject_alt_names_set(sans, type, &value,
		    NULL)) < 0)
			goto gnutls_fail;
	}
	if ((r = gnutls_x509_ext_export_subject_alt_names(sans, &ext)) < 0 ||
	    (r = gnutls_x509_crt_set_extension_by_oid(crt, GNUTLS_X509EXT_OID_SAN,
	    ext.data, ext.size, req->common_name == NULL)) < 0)
		goto gnutls_fail;
	ret = 0;
	goto out;
 gnutls_fail:
	util_seterr(err, errlen, "setting subjectAltName failed: %s",
	    gnutls_strerror(r));
 out:
	gnutls_free(ext.data);
	if (sans != NULL)
		gnutls_subject_alt_names_deinit(sans);
	return ret;
}

/* Key identifiers: AKI from the issuer's SKI, SKI from the leaf's key. */
static int
pki_set_key_ids(gnutls_x509_crt_t crt, const struct pki_issuer *iss,
    gnutls_pubkey_t pub)
{
	uint8_t id[PKI_KEYID_MAX];
	size_t idlen = sizeof(id);
	unsigned critical;
	int r;

	r = gnutls_x509_crt_get_subject_key_id(iss->crt, id, &idlen, &critical);
	if (r < 0) {
		/* An issuer without SKI: use the hash of its key. */
		idlen = sizeof(id);
		r = gnutls_x509_crt_get_key_id(iss->crt, GNUTLS_KEYID_USE_SHA1,
		    id, &idlen);
	}
	if (r < 0 ||
	    (r = gnutls_x509_crt_set_authority_key_id(crt, id, idlen)) < 0)
		return r;
	idlen = sizeof(id);
	if ((r = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, id,
	    &idlen)) < 0)
		return r;
	return gnutls_x509_crt_set_subject_key_id(crt, id, idlen);
}

static char *
pki_hex(const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *out;
	size_t i;

	if ((out = malloc(len * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
	return out;
}

/* The leaf's validity, with not_after cut to the issuer's expiry. */
static int
pki_set_validity(gnutls_x509_crt_t crt, const struct pki_issuer *iss,
    const struct pki_leaf_request *req, char *err, size_t errlen)
{
	time_t not_after = req->not_after, limit;

	if (req->not_after <= req->not_before) {
		util_seterr(err, errlen, "not_after must be later than "
		    "not_before");
		return -1;
	}
	limit = gnutls_x509_crt_get_expiration_time(iss->crt);
	if (limit != (time_t)-1 && not_after > limit) {
		log_warn("requested certificate expiry %lld is after the "
		    "intermediate's %lld; using the intermediate's",
		    (long long)not_after, (long long)limit);
		not_after = limit;
	}
	if (gnutls_x509_crt_set_activation_time(crt, req->not_before) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, not_after) < 0) {
		util_seterr(err, errlen, "cannot set the validity period");
		return -1;
	}
	return 0;
}

int
pki_sign_leaf(const struct pki_issuer *iss, const struct pki_leaf_request *req,
    gnutls_datum_t *der, char **serial_hex, char *err, size_t errlen)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t issuer_pub = NULL;
	gnutls_digest_algorithm_t dig = GNUTLS_DIG_SHA256;
	uint8_t serial[PKI_SERIAL_RANDOM + 1];
	unsigned usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
	int r, ret = -1;

	der->data = NULL;
	der->size = 0;
	*serial_hex = NULL;
	if (req->common_name != NULL && (*req->common_name == '\0' ||
	    strlen(req->common_name) > PKI_MAX_CN)) {
		util_seterr(err, errlen, "common name must have 1 to %d bytes",
		    PKI_MAX_CN);
		return -1;
	}
	/* RSA keys also encrypt the TLS 1.2 RSA key exchange. */
	if (gnutls_pubkey_get_pk_algorithm(req->pubkey, NULL) == GNUTLS_PK_RSA)
		usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;

	if ((r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = pki_random_serial(serial)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_pubkey(crt, req->pubkey)) < 0)
		goto gnutls_fail;
	if (req->common_name != NULL && (r = pki_set_dn(crt,
	    GNUTLS_OID_X520_COMMON_NAME, req->common_name)) < 0)
		goto gnutls_fail;
	if (pki_set_validity(crt, iss, req, err, errlen) == -1 ||
	    pki_set_sans(crt, req, err, errlen) == -1)
		goto out;
	if ((r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt, usage)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(crt,
	    GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(crt,
	    GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
	    (r = pki_set_key_ids(crt, iss, req->pubkey)) < 0)
		goto gnutls_fail;

	/* The digest that suits the issuer's key (SHA-256 for P-256). */
	if (gnutls_pubkey_init(&issuer_pub) >= 0 &&
	    gnutls_pubkey_import_x509(issuer_pub, iss->crt, 0) >= 0)
		(void)gnutls_pubkey_get_preferred_hash_algorithm(issuer_pub,
		    &dig, NULL);
	if ((r = gnutls_x509_crt_privkey_sign(crt, iss->crt, iss->key, dig,
	    0)) < 0 ||
	    (r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der)) < 0)
		goto gnutls_fail;
	if ((*serial_hex = pki_hex(serial, sizeof(serial))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
	goto out;
 gnutls_fail:
	util_seterr(err, errlen, "signing the certificate failed: %s",
	    gnutls_strerror(r));
 out:
	if (ret != 0) {
		gnutls_free(der->data);
		der->data = NULL;
		der->size = 0;
	}
	gnutls_pubkey_deinit(issuer_pub);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

char *
pki_der_to_pem(const gnutls_datum_t *der)
{
	gnutls_datum_t pem = { NULL, 0 };
	char *out;

	if (gnutls_pem_base64_encode2("CERTIFICATE", der, &pem) < 0)
		return NULL;
	out = strndup((const char *)pem.data, pem.size);
	gnutls_free(pem.data);
	return out;
}
