/*
 * JSON Web Keys: parsing of public EC (P-256, P-384, P-521), RSA and
 * Ed25519 keys into GnuTLS public keys, their canonical form and RFC 7638
 * thumbprints, and the public JWK of a local private key.
 *
 * Interface (jwk.h): jwk_parse(), jwk_parse_text(), jwk_from_privkey(),
 * jwk_free().
 *
 * Errors: a defective key from a peer is returned as -1 with a reason
 * that never quotes the peer's text.  Defects are an unknown type or
 * curve, private members, bad base64url, a wrong coordinate length, a
 * point off the curve and an RSA key out of bounds.  A GnuTLS failure on
 * a local key is returned the same way.  Nothing logs or exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "b64url.h"
#include "jsonobj.h"
#include "jwk.h"

/* Curves by their JWK name.  size is the byte length of a coordinate (or
 * of the Ed25519 public key), which RFC 7518 section 6.2.1.2 and RFC 8037
 * section 2 fix exactly. */
static const struct jwk_curve {
	enum jwk_kty		 kty;
	const char		*name;
	gnutls_ecc_curve_t	 curve;
	size_t			 size;
	unsigned int		 bits;
} jwk_curves[] = {
	{ JWK_EC,  "P-256",   GNUTLS_ECC_CURVE_SECP256R1, 32, 256 },
	{ JWK_EC,  "P-384",   GNUTLS_ECC_CURVE_SECP384R1, 48, 384 },
	{ JWK_EC,  "P-521",   GNUTLS_ECC_CURVE_SECP521R1, 66, 521 },
	{ JWK_OKP, "Ed25519", GNUTLS_ECC_CURVE_ED25519,   32, 256 },
};

#define JWK_NCURVES	(sizeof(jwk_curves) / sizeof(jwk_curves[0]))

/* Members that only a private JWK carries (RFC 7518 sections 6.2.2,
 * 6.3.2 and 6.4, RFC 8037 section 2). */
static const char *const jwk_private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k"
};

/* FIPS 186-4 appendix B.3.1 bounds the RSA public exponent below 2^256,
 * and a bound keeps a hostile exponent from making verification slow. */
#define JWK_RSA_MAX_E_LEN	32

/* Maximum length of a base64url member: the encoding of an 8192-bit
 * modulus. */
#define JWK_MAX_MEMBER_LEN	((JWK_RSA_MAX_BITS / 8 + 2) / 3 * 4)

static void
jwk_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
jwk_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct jwk_curve *
jwk_curve_by_name(enum jwk_kty kty, const char *name)
{
	size_t i;

	for (i = 0; i < JWK_NCURVES; i++)
		if (jwk_curves[i].kty == kty &&
		    strcmp(jwk_curves[i].name, name) == 0)
			return &jwk_curves[i];
	return NULL;
}

static const struct jwk_curve *
jwk_curve_by_id(gnutls_ecc_curve_t curve)
{
	size_t i;

	for (i = 0; i < JWK_NCURVES; i++)
		if (jwk_curves[i].curve == curve)
			return &jwk_curves[i];
	return NULL;
}

/* Fetch a required string member.  Returns the string (owned by obj) or
 * NULL with a reason in err. */
static const char *
jwk_get_string(struct json_object *obj, const char *name, char *err,
    size_t errlen)
{
	struct json_object *member;

	if (!json_object_object_get_ex(obj, name, &member)) {
		jwk_error(err, errlen, "JWK has no \"%s\"", name);
		return NULL;
	}
	if (!json_object_is_type(member, json_type_string)) {
		jwk_error(err, errlen, "JWK member \"%s\" is not a string",
		    name);
		return NULL;
	}

	/* A "\u0000" escape cuts the C string short.  Without this check
	 * "EC\u0000junk" would pass as "EC", and junk after a NUL in a
	 * coordinate would escape the base64url check. */
	if (strlen(json_object_get_string(member)) !=
	    (size_t)json_object_get_string_len(member)) {
		jwk_error(err, errlen, "JWK member \"%s\" contains a NUL "
		    "character", name);
		return NULL;
	}
	return json_object_get_string(member);
}

/* Fetch and decode a required base64url member.  On success the decoded
 * bytes go to *out (caller frees) and the encoded text to *text (owned by
 * obj). */
static int
jwk_get_b64(struct json_object *obj, const char *name, const char **text,
    uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	const char *s;
	size_t len;

	*text = NULL;
	*out = NULL;
	*out_len = 0;
	if ((s = jwk_get_string(obj, name, err, errlen)) == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len > JWK_MAX_MEMBER_LEN) {
		jwk_error(err, errlen, "JWK member \"%s\" has an invalid "
		    "length", name);
		return -1;
	}
	if (b64url_decode(s, len, out, out_len) == -1) {
		jwk_error(err, errlen, "JWK member \"%s\" is not valid "
		    "base64url", name);
		return -1;
	}
	*text = s;
	return 0;
}

/* Compute the SHA-256 thumbprint of key->canonical (RFC 7638 section 3). */
static int
jwk_set_thumbprint(struct jwk *key, char *err, size_t errlen)
{
	uint8_t digest[32];
	char *b64;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, key->canonical,
	    strlen(key->canonical), digest) != 0) {
		jwk_error(err, errlen, "SHA-256 failed");
		return -1;
	}
	if ((b64 = b64url_encode(digest, sizeof(digest))) == NULL) {
		jwk_error(err, errlen, "out of memory");
		return -1;
	}
	if (strlen(b64) != JWK_THUMBPRINT_LEN - 1) {
		/* A 32-byte digest always encodes to 43 characters. */
		abort();
	}
	memcpy(key->thumbprint, b64, JWK_THUMBPRINT_LEN);
	free(b64);
	return 0;
}

static int
jwk_parse_ec(struct json_object *obj, struct jwk *key, char *err,
    size_t errlen)
{
	const struct jwk_curve *curve;
	const char *crv, *xs, *ys;
	uint8_t *x = NULL, *y = NULL;
	size_t xlen, ylen;
	gnutls_datum_t dx, dy;
	int ret = -1;

	if ((crv = jwk_get_string(obj, "crv", err, errlen)) == NULL)
		goto out;
	if ((curve = jwk_curve_by_name(JWK_EC, crv)) == NULL) {
		jwk_error(err, errlen, "unsupported EC curve (use P-256, "
		    "P-384 or P-521)");
		goto out;
	}
	if (jwk_get_b64(obj, "x", &xs, &x, &xlen, err, errlen) == -1 ||
	    jwk_get_b64(obj, "y", &ys, &y, &ylen, err, errlen) == -1)
		goto out;
	if (xlen != curve->size || ylen != curve->size) {
		jwk_error(err, errlen, "EC coordinates must be %zu bytes for "
		    "%s", curve->size, curve->name);
		goto out;
	}

	dx.data = x;
	dx.size = (unsigned int)xlen;
	dy.data = y;
	dy.size = (unsigned int)ylen;
	if (gnutls_pubkey_import_ecc_raw(key->pubkey, curve->curve, &dx,
	    &dy) != 0) {
		jwk_error(err, errlen, "EC key rejected by GnuTLS");
		goto out;
	}

	/* GnuTLS 3.7.9 imports a point off the curve without complaint.
	 * This call checks that the point lies on the curve with
	 * coordinates below p. */
	if (gnutls_pubkey_verify_params(key->pubkey) != 0) {
		jwk_error(err, errlen, "EC point is not on curve %s",
		    curve->name);
		goto out;
	}

	key->kty = JWK_EC;
	key->curve = curve->curve;
	key->bits = curve->bits;
	if (asprintf(&key->canonical,
	    "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    curve->name, xs, ys) == -1) {
		key->canonical = NULL;
		jwk_error(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	free(x);
	free(y);
	return ret;
}

/* Number of significant bits in a big-endian integer without leading
 * zero bytes. */
static unsigned int
jwk_bit_length(const uint8_t *v, size_t len)
{
	unsigned int bits;
	uint8_t top;

	if (len == 0)
		return 0;
	bits = (unsigned int)(len - 1) * 8;
	for (top = v[0]; top != 0; top >>= 1)
		bits++;
	return bits;
}

static int
jwk_parse_rsa(struct json_object *obj, struct jwk *key, char *err,
    size_t errlen)
{
	const char *ns, *es;
	uint8_t *n = NULL, *e = NULL;
	size_t nlen, elen;
	gnutls_datum_t dn, de;
	unsigned int bits;
	int ret = -1;

	if (jwk_get_b64(obj, "n", &ns, &n, &nlen, err, errlen) == -1 ||
	    jwk_get_b64(obj, "e", &es, &e, &elen, err, errlen) == -1)
		goto out;

	/* RFC 7518 section 2 requires the minimum number of octets for a
	 * Base64urlUInt, so a leading zero octet is invalid.  It would also
	 * give one key two thumbprints. */
	if (n[0] == 0 || e[0] == 0) {
		jwk_error(err, errlen, "RSA member has a leading zero octet");
		goto out;
	}
	bits = jwk_bit_length(n, nlen);
	if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS) {
		jwk_error(err, errlen, "RSA key has %u bits, outside "
		    "[%d, %d]", bits, JWK_RSA_MIN_BITS, JWK_RSA_MAX_BITS);
		goto out;
	}
	if (elen > JWK_RSA_MAX_E_LEN || (e[elen - 1] & 1) == 0 ||
	    (elen == 1 && e[0] < 3)) {
		jwk_error(err, errlen, "RSA public exponent must be odd, at "
		    "least 3 and below 2^256");
		goto out;
	}

	dn.data = n;
	dn.size = (unsigned int)nlen;
	de.data = e;
	de.size = (unsigned int)elen;
	if (gnutls_pubkey_import_rsa_raw(key->pubkey, &dn, &de) != 0 ||
	    gnutls_pubkey_verify_params(key->pubkey) != 0) {
		jwk_error(err, errlen, "RSA key rejected by GnuTLS");
		goto out;
	}

	key->kty = JWK_RSA;
	key->curve = GNUTLS_ECC_CURVE_INVALID;
	key->bits = bits;
	if (asprintf(&key->canonical,
	    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", es, ns) == -1) {
		key->canonical = NULL;
		jwk_error(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	free(n);
	free(e);
	return ret;
}

static int
jwk_parse_okp(struct json_object *obj, struct jwk *key, char *err,
    size_t errlen)
{
	const struct jwk_curve *curve;
	const char *crv, *xs;
	uint8_t *x = NULL;
	size_t xlen;
	gnutls_datum_t dx;
	int ret = -1;

	if ((crv = jwk_get_string(obj, "crv", err, errlen)) == NULL)
		goto out;
	if ((curve = jwk_curve_by_name(JWK_OKP, crv)) == NULL) {
		jwk_error(err, errlen, "unsupported OKP curve (use Ed25519)");
		goto out;
	}
	if (jwk_get_b64(obj, "x", &xs, &x, &xlen, err, errlen) == -1)
		goto out;
	if (xlen != curve->size) {
		jwk_error(err, errlen, "Ed25519 public key must be %zu bytes",
		    curve->size);
		goto out;
	}

	/* An x that encodes no curve point is not detected here, but every
	 * signature verification with it fails. */
	dx.data = x;
	dx.size = (unsigned int)xlen;
	if (gnutls_pubkey_import_ecc_raw(key->pubkey, curve->curve, &dx,
	    NULL) != 0) {
		jwk_error(err, errlen, "Ed25519 key rejected by GnuTLS");
		goto out;
	}

	key->kty = JWK_OKP;
	key->curve = curve->curve;
	key->bits = curve->bits;
	if (asprintf(&key->canonical,
	    "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", curve->name,
	    xs) == -1) {
		key->canonical = NULL;
		jwk_error(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
 out:
	free(x);
	return ret;
}

int
jwk_parse(struct json_object *obj, struct jwk **out, char *err,
    size_t errlen)
{
	struct jwk *key = NULL;
	const char *kty;
	size_t i;
	int ret = -1;

	*out = NULL;

	if (!json_object_is_type(obj, json_type_object)) {
		jwk_error(err, errlen, "JWK is not a JSON object");
		goto out;
	}
	for (i = 0; i < sizeof(jwk_private_members) /
	    sizeof(jwk_private_members[0]); i++) {
		if (json_object_object_get_ex(obj, jwk_private_members[i],
		    NULL)) {
			jwk_error(err, errlen, "JWK contains the private "
			    "member \"%s\"", jwk_private_members[i]);
			goto out;
		}
	}
	if ((kty = jwk_get_string(obj, "kty", err, errlen)) == NULL)
		goto out;

	if ((key = calloc(1, sizeof(*key))) == NULL) {
		jwk_error(err, errlen, "out of memory");
		goto out;
	}
	if (gnutls_pubkey_init(&key->pubkey) != 0) {
		key->pubkey = NULL;
		jwk_error(err, errlen, "out of memory");
		goto out;
	}

	if (strcmp(kty, "EC") == 0)
		ret = jwk_parse_ec(obj, key, err, errlen);
	else if (strcmp(kty, "RSA") == 0)
		ret = jwk_parse_rsa(obj, key, err, errlen);
	else if (strcmp(kty, "OKP") == 0)
		ret = jwk_parse_okp(obj, key, err, errlen);
	else
		jwk_error(err, errlen, "unsupported JWK key type (use EC, "
		    "RSA or OKP)");
	if (ret == -1)
		goto out;
	if ((ret = jwk_set_thumbprint(key, err, errlen)) == -1)
		goto out;

	*out = key;
	key = NULL;
 out:
	jwk_free(key);
	return ret;
}

int
jwk_parse_text(const char *text, struct jwk **out, char *err, size_t errlen)
{
	struct json_object *obj;
	int ret;

	*out = NULL;
	if ((obj = jsonobj_parse(text, strlen(text), err, errlen)) == NULL)
		return -1;
	ret = jwk_parse(obj, out, err, errlen);
	json_object_put(obj);
	return ret;
}

/* base64url of a big-endian integer with its leading zero bytes removed,
 * then left-padded with zeros to width bytes (0 for no padding). */
static char *
jwk_encode_int(const gnutls_datum_t *v, size_t width)
{
	uint8_t buf[JWK_RSA_MAX_BITS / 8 + 1];
	const uint8_t *p = v->data;
	size_t len = v->size;

	while (len > 1 && p[0] == 0) {
		p++;
		len--;
	}
	if (width < len)
		width = len;
	if (width > sizeof(buf))
		return NULL;
	memset(buf, 0, width - len);
	memcpy(buf + width - len, p, len);
	return b64url_encode(buf, width);
}

int
jwk_from_privkey(gnutls_privkey_t priv, struct jwk **out, char *err,
    size_t errlen)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	gnutls_ecc_curve_t curve_id;
	const struct jwk_curve *curve;
	char *as = NULL, *bs = NULL, *text = NULL;
	int pk, ret = -1;

	*out = NULL;

	if (gnutls_pubkey_init(&pub) != 0) {
		pub = NULL;
		jwk_error(err, errlen, "out of memory");
		goto out;
	}
	if (gnutls_pubkey_import_privkey(pub, priv, 0, 0) != 0) {
		jwk_error(err, errlen, "cannot derive the public key");
		goto out;
	}

	pk = gnutls_pubkey_get_pk_algorithm(pub, NULL);
	if (pk == GNUTLS_PK_RSA) {
		if (gnutls_pubkey_export_rsa_raw2(pub, &a, &b,
		    GNUTLS_EXPORT_FLAG_NO_LZ) != 0) {
			jwk_error(err, errlen, "cannot export the RSA key");
			goto out;
		}
		if ((as = jwk_encode_int(&a, 0)) == NULL ||
		    (bs = jwk_encode_int(&b, 0)) == NULL) {
			jwk_error(err, errlen, "RSA key too large or out of "
			    "memory");
			goto out;
		}
		if (asprintf(&text, "{\"e\":\"%s\",\"kty\":\"RSA\","
		    "\"n\":\"%s\"}", bs, as) == -1)
			text = NULL;
	} else if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519) {
		if (gnutls_pubkey_export_ecc_raw2(pub, &curve_id, &a,
		    pk == GNUTLS_PK_ECDSA ? &b : NULL,
		    GNUTLS_EXPORT_FLAG_NO_LZ) != 0) {
			jwk_error(err, errlen, "cannot export the EC key");
			goto out;
		}
		if ((curve = jwk_curve_by_id(curve_id)) == NULL) {
			jwk_error(err, errlen, "unsupported curve (use P-256, "
			    "P-384, P-521 or Ed25519)");
			goto out;
		}

		/* JWK coordinates have the full width of the curve, and
		 * the export dropped their leading zeros. */
		if ((as = jwk_encode_int(&a, curve->size)) == NULL ||
		    (pk == GNUTLS_PK_ECDSA &&
		    (bs = jwk_encode_int(&b, curve->size)) == NULL)) {
			jwk_error(err, errlen, "out of memory");
			goto out;
		}
		if (pk == GNUTLS_PK_ECDSA) {
			if (asprintf(&text, "{\"crv\":\"%s\",\"kty\":\"EC\","
			    "\"x\":\"%s\",\"y\":\"%s\"}", curve->name, as,
			    bs) == -1)
				text = NULL;
		} else if (asprintf(&text, "{\"crv\":\"%s\",\"kty\":\"OKP\","
		    "\"x\":\"%s\"}", curve->name, as) == -1)
			text = NULL;
	} else {
		jwk_error(err, errlen, "unsupported key algorithm (use RSA, "
		    "ECDSA or Ed25519)");
		goto out;
	}
	if (text == NULL) {
		jwk_error(err, errlen, "out of memory");
		goto out;
	}

	/* Parsing our own text applies the same checks as a peer's key. */
	ret = jwk_parse_text(text, out, err, errlen);
 out:
	gnutls_free(a.data);
	gnutls_free(b.data);
	free(as);
	free(bs);
	free(text);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return ret;
}

void
jwk_free(struct jwk *key)
{
	if (key == NULL)
		return;
	if (key->pubkey != NULL)
		gnutls_pubkey_deinit(key->pubkey);
	free(key->canonical);
	free(key);
}
