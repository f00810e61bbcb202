#!/usr/bin/python3
"""Send malformed and hostile ACME requests to a CA and check each response.

This file is both a small raw ACME client (keys, JWS in the flattened JSON
serialization, CSRs, http-01 responder) and the table of bad-input cases
that tests/integration/badinput_test.sh runs against a real ca-core.  It
uses only the standard library and Debian's python3-cryptography, so run it
with /usr/bin/python3.

Every case states the HTTP status and problem types that RFC 8555 (or RFC
7515 or RFC 7807) requires, with the section in a comment above each group.
Where the RFC fixes only the problem type, the case accepts the client-error
statuses that fit that type.  Every error response must also be
application/problem+json, carry a Replay-Nonce, and never be a 5xx.

Usage:
    acme_probe.py --directory URL --other-directory URL --root CA.pem
        --http01-port PORT [--provisioner acme] [--connect-host 127.0.0.1]

--other-directory is a second ACME provisioner of the same CA, used for
the "kid of another provisioner" case.  The http-01 responder listens on
127.0.0.1:PORT, where the CA's validator must connect.

Prints "ok   NAME" or "FAIL NAME: expected ..., received ..." per check and
ends with "probe: N passed, N failed".  The exit status is 1 when a check
failed.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature)
from cryptography.x509.oid import NameOID

ERR = "urn:ietf:params:acme:error:"
PROBLEM_TYPE = "application/problem+json"


# ---------------------------------------------------------------------------
# Encoding helpers
# ---------------------------------------------------------------------------

def b64u(data):
    """Encode bytes (or str as UTF-8) as unpadded base64url (RFC 7515 2)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def int_bytes(value, length=None):
    if length is None:
        length = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def der_read(data, offset):
    """Read one DER element at offset.  Returns (start, end) of the whole
    element, header included."""
    first_len = data[offset + 1]
    if first_len < 0x80:
        header, length = 2, first_len
    else:
        count = first_len & 0x7f
        header = 2 + count
        length = int.from_bytes(data[offset + 2:offset + 2 + count], "big")
    return offset, offset + header + length


def der_sequence(body):
    """Wrap body in a DER SEQUENCE header."""
    n = len(body)
    if n < 0x80:
        return b"\x30" + bytes([n]) + body
    length = int_bytes(n)
    return b"\x30" + bytes([0x80 | len(length)]) + length + body


# ---------------------------------------------------------------------------
# Keys and JWS
# ---------------------------------------------------------------------------

class Key:
    """An account or certificate key pair with its JWK and JWS signing."""

    CURVES = {"P-256": (ec.SECP256R1, hashes.SHA256, "ES256", 32),
              "P-384": (ec.SECP384R1, hashes.SHA384, "ES384", 48),
              "P-521": (ec.SECP521R1, hashes.SHA512, "ES512", 66)}

    def __init__(self, kind="P-256", bits=2048):
        self.kind = kind
        if kind in self.CURVES:
            self.priv = ec.generate_private_key(self.CURVES[kind][0]())
            self.alg = self.CURVES[kind][2]
        elif kind == "RSA":
            self.priv = rsa.generate_private_key(65537, bits)
            self.alg = "RS256"
        elif kind == "Ed25519":
            self.priv = ed25519.Ed25519PrivateKey.generate()
            self.alg = "EdDSA"
        else:
            raise ValueError("unknown key kind " + kind)

    def jwk(self):
        """Return the public JWK with only the members of RFC 7638."""
        pub = self.priv.public_key()
        if self.kind in self.CURVES:
            size = self.CURVES[self.kind][3]
            nums = pub.public_numbers()
            return {"crv": self.kind, "kty": "EC",
                    "x": b64u(int_bytes(nums.x, size)),
                    "y": b64u(int_bytes(nums.y, size))}
        if self.kind == "RSA":
            nums = pub.public_numbers()
            return {"e": b64u(int_bytes(nums.e)), "kty": "RSA",
                    "n": b64u(int_bytes(nums.n))}
        raw = pub.public_bytes(serialization.Encoding.Raw,
                               serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64u(raw)}

    def private_jwk(self):
        """Return the JWK with the private member "d" added (EC only)."""
        jwk = self.jwk()
        size = self.CURVES[self.kind][3]
        jwk["d"] = b64u(int_bytes(self.priv.private_numbers().private_value,
                                  size))
        return jwk

    def thumbprint(self):
        """Return the RFC 7638 SHA-256 thumbprint, base64url."""
        digest = hashlib.sha256(json_bytes(dict(sorted(
            self.jwk().items())))).digest()
        return b64u(digest)

    def sign(self, data, alg=None):
        """Sign data with alg (default: the key's own) as JWS expects."""
        alg = alg or self.alg
        if self.kind in self.CURVES:
            hash_cls, size = self.CURVES[self.kind][1], self.CURVES[self.kind][3]
            der = self.priv.sign(data, ec.ECDSA(hash_cls()))
            r, s = decode_dss_signature(der)
            return int_bytes(r, size) + int_bytes(s, size)
        if self.kind == "RSA":
            if alg.startswith("PS"):
                pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                  salt_length=32)
            else:
                pad = padding.PKCS1v15()
            return self.priv.sign(data, pad, hashes.SHA256())
        return self.priv.sign(data)

    def sign_der(self, data):
        """ECDSA signature in DER form, which JWS does not allow."""
        return self.priv.sign(data, ec.ECDSA(self.CURVES[self.kind][1]()))


def jws(key, protected, payload, sign_alg=None):
    """Build a flattened JWS.  payload is bytes, "" for POST-as-GET, or an
    object that is serialized as JSON."""
    if isinstance(payload, (dict, list)):
        payload = json_bytes(payload)
    prot_b64 = b64u(json_bytes(protected))
    pay_b64 = b64u(payload) if payload else ""
    sig = key.sign((prot_b64 + "." + pay_b64).encode(), sign_alg)
    return {"protected": prot_b64, "payload": pay_b64, "signature": b64u(sig)}


def jws_hs256(mac_key, protected, payload):
    """Build a flattened JWS with an HS256 MAC, as External Account Binding
    uses (RFC 8555 7.3.4)."""
    prot_b64 = b64u(json_bytes(protected))
    pay_b64 = b64u(json_bytes(payload) if isinstance(payload, dict)
                   else payload)
    mac = hmac.new(mac_key, (prot_b64 + "." + pay_b64).encode(),
                   hashlib.sha256).digest()
    return {"protected": prot_b64, "payload": pay_b64, "signature": b64u(mac)}


def make_csr(key, names, cn=None):
    """Return the DER of a CSR for names (dNSName SANs) signed by key."""
    builder = x509.CertificateSigningRequestBuilder()
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = builder.subject_name(x509.Name(subject))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in names]), critical=False)
    algorithm = None if key.kind == "Ed25519" else hashes.SHA256()
    csr = builder.sign(key.priv, algorithm)
    return csr.public_bytes(serialization.Encoding.DER)


def der_children(der):
    """Return (start, end) of each element inside the outer SEQUENCE."""
    first_len = der[1]
    offset = 2 + (first_len & 0x7f if first_len & 0x80 else 0)
    children = []
    while offset < len(der):
        start, end = der_read(der, offset)
        children.append((start, end))
        offset = end
    return children


def csr_with_foreign_signature(der, other_der):
    """Return der's request info and algorithm with the signature of
    other_der, so the self-signature does not verify."""
    tbs, alg, _ = der_children(der)
    _, _, other_sig = der_children(other_der)
    return der_sequence(der[tbs[0]:tbs[1]] + der[alg[0]:alg[1]] +
                        other_der[other_sig[0]:other_sig[1]])


# ---------------------------------------------------------------------------
# HTTPS transport
# ---------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            pass

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def problem_type(self):
        if isinstance(self.json, dict):
            return self.json.get("type")
        return None

    def describe(self):
        kind = self.problem_type()
        detail = self.json.get("detail") if isinstance(self.json, dict) \
            else None
        text = "%d %s" % (self.status, kind or "(no problem type)")
        if detail:
            text += " (%s)" % detail[:160]
        return text


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed loopback address, with the TLS name and Host header
    of the CA's URL, so no name goes through the system resolver."""

    def __init__(self, connect_host, tls_host, port, context):
        super().__init__(tls_host, port, context=context, timeout=30)
        self._connect_host = connect_host
        self._tls_host = tls_host
        self._ctx = context

    def connect(self):
        raw = socket.create_connection((self._connect_host, self.port),
                                       self.timeout)
        self.sock = self._ctx.wrap_socket(raw, server_hostname=self._tls_host)


class Transport:
    def __init__(self, directory_url, root, connect_host):
        parts = urllib.parse.urlsplit(directory_url)
        self.tls_host = parts.hostname
        self.port = parts.port or 443
        self.connect_host = connect_host
        self.context = ssl.create_default_context(cafile=root)
        self.conn = None

    def request(self, method, url, body=None, headers=None):
        parts = urllib.parse.urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        headers = dict(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self.conn = PinnedHTTPSConnection(
                    self.connect_host, self.tls_host, self.port, self.context)
            try:
                self.conn.request(method, target, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                result = Response(resp.status, resp.getheaders(), data)
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return result
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


# ---------------------------------------------------------------------------
# ACME client
# ---------------------------------------------------------------------------

class Account:
    def __init__(self, key, url):
        self.key = key
        self.url = url


class Client:
    """A raw ACME client that can also send deliberately broken requests."""

    def __init__(self, directory_url, root, connect_host):
        self.http = Transport(directory_url, root, connect_host)
        self.directory_url = directory_url
        self.dir = self.http.request("GET", directory_url).json
        self.nonces = []

    def url(self, name):
        return self.dir[name]

    def nonce(self):
        if self.nonces:
            return self.nonces.pop()
        resp = self.http.request("HEAD", self.url("newNonce"))
        return resp.header("Replay-Nonce")

    def send(self, url, body, content_type="application/jose+json",
             method="POST"):
        """POST raw bytes (or a dict as JSON) and keep the new nonce."""
        if isinstance(body, dict) or isinstance(body, list):
            body = json_bytes(body)
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        resp = self.http.request(method, url, body=body, headers=headers)
        nonce = resp.header("Replay-Nonce")
        if nonce:
            self.nonces.append(nonce)
        return resp

    def signed(self, url, payload, key, kid=None, jwk=None, nonce=True,
               extra=None, drop=(), sign_alg=None, alg=None, header_url=None):
        """Build a JWS for url.  kid signs with an account URL, otherwise
        the key's JWK is embedded.  extra adds protected members, drop
        removes them."""
        protected = {"alg": alg or key.alg,
                     "nonce": self.nonce() if nonce is True else nonce,
                     "url": header_url or url}
        if kid is not None:
            protected["kid"] = kid
        else:
            protected["jwk"] = jwk or key.jwk()
        protected.update(extra or {})
        for name in drop:
            protected.pop(name, None)
        return jws(key, protected, payload, sign_alg)

    def post(self, url, payload, account=None, key=None, **kw):
        """POST a signed request as account (kid) or with key (jwk)."""
        if account is not None:
            body = self.signed(url, payload, account.key, kid=account.url,
                               **kw)
        else:
            body = self.signed(url, payload, key, **kw)
        return self.send(url, body)

    def new_account(self, key, payload=None):
        payload = payload or {"termsOfServiceAgreed": True}
        resp = self.post(self.url("newAccount"), payload, key=key)
        if resp.status not in (200, 201):
            raise RuntimeError("newAccount failed: " + resp.describe())
        return Account(key, resp.header("Location"))

    def new_order(self, account, names):
        resp = self.post(self.url("newOrder"), {"identifiers": [
            {"type": "dns", "value": n} for n in names]}, account)
        if resp.status != 201:
            raise RuntimeError("newOrder failed: " + resp.describe())
        order = resp.json
        order["url"] = resp.header("Location")
        return order

    def get(self, url, account):
        return self.post(url, "", account)

    def http01(self, account, authz_url, responder):
        """Serve the http-01 key authorization, POST {} to the challenge and
        poll the authorization until it is final.  Returns its status."""
        authz = self.get(authz_url, account).json
        chall = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
        responder.tokens[chall["token"]] = (chall["token"] + "." +
                                            account.key.thumbprint())
        self.post(chall["url"], {}, account)
        deadline = time.time() + 30
        while time.time() < deadline:
            status = self.get(authz_url, account).json["status"]
            if status != "pending":
                return status
            time.sleep(0.3)
        return "timeout"

    def ready_order(self, account, names, responder):
        """Create an order for names and validate it to "ready"."""
        order = self.new_order(account, names)
        for authz_url in order["authorizations"]:
            status = self.http01(account, authz_url, responder)
            if status != "valid":
                raise RuntimeError("authorization %s ended %s" %
                                   (authz_url, status))
        deadline = time.time() + 15
        while time.time() < deadline:
            state = self.get(order["url"], account).json
            if state["status"] == "ready":
                state["url"] = order["url"]
                return state
            time.sleep(0.2)
        raise RuntimeError("order %s did not become ready" % order["url"])

    def finalize(self, account, order, csr_der):
        return self.post(order["finalize"], {"csr": b64u(csr_der)}, account)


class Responder(http.server.ThreadingHTTPServer):
    """A loopback http-01 responder: GET /.well-known/acme-challenge/TOKEN
    returns the key authorization stored in tokens."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port):
        self.tokens = {}
        super().__init__(("127.0.0.1", port), ResponderHandler)
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()


class ResponderHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        token = self.path.rsplit("/", 1)[-1]
        value = self.server.tokens.get(token)
        if not self.path.startswith("/.well-known/acme-challenge/") or \
                value is None:
            self.send_error(404)
            return
        body = value.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        print("ok   " + name, flush=True)

    def fail(self, name, why):
        self.failed += 1
        print("FAIL %s: %s" % (name, why), flush=True)


def expect_error(results, name, resp, statuses, types, extra=None):
    """Check an error response: status in statuses, problem type in types
    (short names; None accepts any ACME type), problem+json, a
    Replay-Nonce, a "status" member equal to the HTTP status if present,
    and any extra (description, predicate) pairs."""
    statuses = (statuses,) if isinstance(statuses, int) else tuple(statuses)
    want_types = None if types is None else tuple(
        ERR + t for t in ((types,) if isinstance(types, str) else types))
    got_type = resp.problem_type()

    problems = []
    if resp.status >= 500:
        problems.append("a server error")
    if resp.status not in statuses or (
            want_types is not None and got_type not in want_types) or (
            want_types is None and not (got_type or "").startswith(ERR)):
        problems.append("expected %s %s" % (
            "/".join(str(s) for s in statuses),
            "/".join(t[len(ERR):] for t in want_types) if want_types
            else "(any ACME problem type)"))

    content_type = (resp.header("Content-Type") or "").split(";")[0].strip()
    if content_type != PROBLEM_TYPE:
        problems.append("Content-Type %r, expected %s (RFC 7807)" %
                        (content_type, PROBLEM_TYPE))
    # RFC 8555 6.5 makes the nonce a MUST on badNonce and a SHOULD on other
    # errors.  ca-core sends one with every reply, so it is checked on all.
    if not resp.header("Replay-Nonce"):
        problems.append("no Replay-Nonce header (RFC 8555 6.5)")
    if isinstance(resp.json, dict) and "type" in resp.json and \
            "status" in resp.json and resp.json["status"] != resp.status:
        problems.append("problem \"status\" %r differs from HTTP %d "
                        "(RFC 7807)" % (resp.json["status"], resp.status))
    for description, predicate in extra or ():
        if not predicate(resp):
            problems.append(description)

    if problems:
        results.fail(name, "; ".join(problems) + "; received " +
                     resp.describe())
    else:
        results.ok("%s: %s" % (name, resp.describe()))


def expect_success(results, name, resp, statuses, extra=None):
    statuses = (statuses,) if isinstance(statuses, int) else tuple(statuses)
    problems = []
    if resp.status not in statuses:
        problems.append("expected %s" % "/".join(str(s) for s in statuses))
    for description, predicate in extra or ():
        if not predicate(resp):
            problems.append(description)
    if problems:
        results.fail(name, "; ".join(problems) + "; received " +
                     resp.describe())
    else:
        results.ok("%s: %d" % (name, resp.status))


def run_table(results, rows):
    """Run rows of (name, statuses, types, request[, extra checks])."""
    for row in rows:
        name, statuses, types, request = row[:4]
        extra = row[4] if len(row) > 4 else None
        try:
            resp = request()
        except Exception as exc:  # a crash of the probe is a failed case
            results.fail(name, "the request could not be made: %r" % exc)
            continue
        expect_error(results, name, resp, statuses, types, extra)


# Client-error statuses that fit a problem type whose status the RFC leaves
# open: 400 for a bad request, 401/403 for authorization, as RFC 8555 uses
# them in its examples.
BAD = (400,)
AUTHZ = (401, 403)
ANY_4XX = (400, 401, 403)
NAME_TYPES = ("malformed", "rejectedIdentifier")
HAS_ALGORITHMS = ('a non-empty "algorithms" list (RFC 8555 6.2)',
                  lambda r: isinstance(r.json, dict) and
                  isinstance(r.json.get("algorithms"), list) and
                  len(r.json["algorithms"]) > 0)


class Context:
    """Accounts, orders and URLs that the cases share."""

    def __init__(self, args):
        self.args = args
        self.c = Client(args.directory, args.root, args.connect_host)
        self.responder = Responder(args.http01_port)
        self.domain = "badinput.test"

    def name(self, label):
        return "%s.%s" % (label, self.domain)


def raw_body(ctx, mutate, url=None, account=None, payload=None):
    """A valid JWS as account (default: A) for url (default: newOrder),
    passed through mutate(dict) -> dict or bytes before it is sent."""
    c = ctx.c
    url = url or c.url("newOrder")
    account = account or ctx.a
    if payload is None:
        payload = {"identifiers": [{"type": "dns",
                                    "value": ctx.name("raw")}]}
    body = c.signed(url, payload, account.key, kid=account.url)
    return c.send(url, mutate(body))


def with_protected(ctx, protected, payload=None, key=None, url=None):
    """Send a JWS with exactly this protected header, signed by key."""
    c = ctx.c
    url = url or c.url("newOrder")
    key = key or ctx.a.key
    if payload is None:
        payload = {"identifiers": [{"type": "dns",
                                    "value": ctx.name("hdr")}]}
    return c.send(url, jws(key, protected, payload))


def order_with(ctx, identifiers, **more):
    payload = {"identifiers": identifiers}
    payload.update(more)
    return ctx.c.post(ctx.c.url("newOrder"), payload, ctx.a)


def dns_order(ctx, value):
    return order_with(ctx, [{"type": "dns", "value": value}])


def transport_cases(ctx):
    c = ctx.c
    signed = lambda: c.signed(c.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": ctx.name("ct")}]}, ctx.a.key, kid=ctx.a.url)
    unknown_path = c.directory_url.rsplit("/", 1)[0] + "/no-such-resource"
    unknown_prov = c.directory_url.replace("/acme/%s/" % ctx.args.provisioner,
                                           "/acme/no-such-provisioner/")
    return [
        # RFC 8555 6.2: a POST that is not application/jose+json gets 415;
        # the problem type is not fixed.
        ("Content-Type text/plain", 415, None,
         lambda: c.send(c.url("newOrder"), signed(), "text/plain")),
        ("Content-Type application/json", 415, None,
         lambda: c.send(c.url("newOrder"), signed(), "application/json")),
        ("Content-Type missing", 415, None,
         lambda: c.send(c.url("newOrder"), signed(), None)),
        # RFC 8555 6.3: GET on anything but directory and newNonce is
        # 405 malformed.
        ("GET newAccount", 405, "malformed",
         lambda: c.http.request("GET", c.url("newAccount"))),
        ("GET newOrder", 405, "malformed",
         lambda: c.http.request("GET", c.url("newOrder"))),
        ("GET order", 405, "malformed",
         lambda: c.http.request("GET", ctx.pending["url"])),
        ("GET authorization", 405, "malformed",
         lambda: c.http.request("GET", ctx.pending["authorizations"][0])),
        ("GET revokeCert", 405, "malformed",
         lambda: c.http.request("GET", c.url("revokeCert"))),
        ("GET keyChange", 405, "malformed",
         lambda: c.http.request("GET", c.url("keyChange"))),
        # RFC 8555 6.7: a method the protocol does not use may get 405.
        ("DELETE newOrder", 405, None,
         lambda: c.http.request("DELETE", c.url("newOrder"))),
        # HTTP semantics: no resource at the path is 404 Not Found.
        ("unknown path", 404, None,
         lambda: c.send(unknown_path, signed())),
        ("unknown provisioner", 404, None,
         lambda: c.http.request("GET", unknown_prov)),
        ("unknown order id", 404, None,
         lambda: c.get(c.url("newOrder").rsplit("/", 1)[0] +
                       "/order/doesnotexist", ctx.a)),
        # An oversize body is rejected as too large (413) or malformed,
        # never with a 5xx.
        ("oversize body (70 KiB)", (413, 400), "malformed",
         lambda: c.send(c.url("newOrder"), b'{"protected":"' +
                        b"A" * 70000 + b'"}')),
        # RFC 8555 6.2: every POST carries a JWS.
        ("empty body", BAD, "malformed",
         lambda: c.send(c.url("newOrder"), b"")),
    ]


def structure_cases(ctx):
    def drop(member):
        return lambda b: {k: v for k, v in b.items() if k != member}

    def setm(member, value):
        return lambda b: dict(b, **{member: value})

    def resign_protected(header_bytes):
        # A protected header that is not a JSON object, signed correctly.
        def mutate(b):
            prot = b64u(header_bytes)
            sig = ctx.a.key.sign((prot + "." + b["payload"]).encode())
            return {"protected": prot, "payload": b["payload"],
                    "signature": b64u(sig)}
        return mutate

    def der_signature(b):
        data = (b["protected"] + "." + b["payload"]).encode()
        return dict(b, signature=b64u(ctx.a.key.sign_der(data)))

    def padded(b):
        # Grow the header by spaces until its base64 needs padding, then
        # send it with the "=" that base64url in JWS leaves out.
        header = b64u_decode(b["protected"])
        while len(header) % 3 == 0:
            header += b" "
        prot = base64.urlsafe_b64encode(header).decode()
        sig = ctx.a.key.sign((prot + "." + b["payload"]).encode())
        return dict(b, protected=prot, signature=b64u(sig))

    def std_alphabet(b):
        sig = base64.b64encode(b64u_decode(b["signature"])).decode()
        if "+" not in sig and "/" not in sig:
            sig = sig[:-3] + "+/" + sig[-1]
        return dict(b, signature=sig.rstrip("="))

    def compact(b):
        return ("%s.%s.%s" % (b["protected"], b["payload"],
                              b["signature"])).encode()

    def general(b):
        return {"payload": b["payload"], "signatures": [
            {"protected": b["protected"], "signature": b["signature"]}]}

    def not_utf8(b):
        return json_bytes(b)[:-2] + b'\xff\xfe"}'

    r = lambda mutate: (lambda: raw_body(ctx, mutate))
    return [
        # RFC 8555 6.2 and RFC 7515 7.2.2: the body is one flattened JWS
        # with "protected", "payload" and "signature".  Anything else is
        # malformed.
        ("body not JSON", BAD, "malformed", r(lambda b: b"hello, CA")),
        ("body a JSON array", BAD, "malformed", r(lambda b: [b])),
        ("body a JSON string", BAD, "malformed", r(lambda b: b'"jws"')),
        ("body not UTF-8", BAD, "malformed", r(not_utf8)),
        ("compact serialization", BAD, "malformed", r(compact)),
        ("protected missing", BAD, "malformed", r(drop("protected"))),
        ("payload missing", BAD, "malformed", r(drop("payload"))),
        ("signature missing", BAD, "malformed", r(drop("signature"))),
        ("protected not base64url", BAD, "malformed",
         r(setm("protected", "eyJ!!!"))),
        ("payload not base64url", BAD, "malformed",
         r(setm("payload", "e30*"))),
        ("signature not base64url", BAD, "malformed",
         r(setm("signature", "%%%"))),
        ("protected a number", BAD, "malformed", r(setm("protected", 7))),
        ("payload a number", BAD, "malformed", r(setm("payload", 7))),
        ("protected not JSON", BAD, "malformed",
         r(resign_protected(b"alg=ES256"))),
        ("protected a JSON array", BAD, "malformed",
         r(resign_protected(b'["ES256"]'))),
        # RFC 8555 6.2: one signature only, no unprotected header.
        ("general serialization", BAD, "malformed", r(general)),
        ("unprotected header", BAD, "malformed",
         r(lambda b: dict(b, header={"kid": ctx.a.url}))),
        # RFC 8555 6.1: base64url with trailing "=" MUST be rejected.
        ("protected with '=' padding", BAD, "malformed", r(padded)),
        ("signature in standard base64", BAD, "malformed", r(std_alphabet)),
        # RFC 8555 6.2: the server verifies the JWS before it acts, so a
        # signature that does not verify rejects the request.
        ("signature empty", BAD, "malformed", r(setm("signature", ""))),
        ("signature one byte short", BAD, "malformed",
         r(lambda b: dict(b, signature=b64u(b64u_decode(b["signature"])
                                            [:-1])))),
        ("ECDSA signature in DER form", BAD, "malformed", r(der_signature)),
        ("tampered payload", (400, 401, 403), ("malformed", "unauthorized"),
         r(lambda b: dict(b, payload=b64u(json_bytes({"identifiers": [
             {"type": "dns", "value": ctx.name("evil")}]}))))),
    ]


def header_cases(ctx):
    c = ctx.c
    a = ctx.a
    new_order = c.url("newOrder")

    def base(**extra):
        prot = {"alg": a.key.alg, "kid": a.url, "nonce": c.nonce(),
                "url": new_order}
        prot.update(extra)
        return {k: v for k, v in prot.items() if v is not None}

    def hs256():
        prot = base(alg="HS256")
        return c.send(new_order, jws_hs256(b"k" * 32, prot, {
            "identifiers": [{"type": "dns", "value": ctx.name("hs")}]}))

    def duplicate_url():
        # RFC 7515: a duplicate header member is rejected or the last one
        # wins.  The last "url" names another resource, so either way the
        # request fails.
        text = json_bytes(base())[:-1] + b',"url":"%s"}' % \
            c.url("newAccount").encode()
        prot = b64u(text)
        pay = b64u(json_bytes({"identifiers": [
            {"type": "dns", "value": ctx.name("dup")}]}))
        sig = a.key.sign((prot + "." + pay).encode())
        return c.send(new_order, {"protected": prot, "payload": pay,
                                  "signature": b64u(sig)})

    def reused_nonce():
        nonce = c.nonce()
        first = c.post(new_order, {"identifiers": [
            {"type": "dns", "value": ctx.name("reuse")}]}, a, nonce=nonce)
        if first.status != 201:
            raise RuntimeError("first use of the nonce failed: " +
                               first.describe())
        resp = c.post(new_order, {"identifiers": [
            {"type": "dns", "value": ctx.name("reuse")}]}, a, nonce=nonce)
        ctx.bad_nonce_reply = resp
        return resp

    def url_other_host():
        url = new_order.replace("://localhost:", "://127.0.0.1:")
        return c.send(new_order, c.signed(new_order, {"identifiers": [
            {"type": "dns", "value": ctx.name("host")}]}, a.key, kid=a.url,
            header_url=url))

    other = ctx.other_account
    off_curve = dict(ctx.a.key.jwk(), y=b64u(bytes(31) + b"\x07"))
    rsa_small = ctx.rsa1024
    ident = {"identifiers": [{"type": "dns", "value": ctx.name("key")}]}
    na = c.url("newAccount")
    tos = {"termsOfServiceAgreed": True}
    fresh = Key()
    return [
        # RFC 8555 6.2: "none", MAC and unknown algorithms are 400
        # badSignatureAlgorithm with an "algorithms" list.
        ("alg none", BAD, "badSignatureAlgorithm",
         lambda: with_protected(ctx, base(alg="none")), [HAS_ALGORITHMS]),
        ("alg HS256 on a normal request", BAD, "badSignatureAlgorithm",
         hs256, [HAS_ALGORITHMS]),
        ("alg unknown (XY999)", BAD, "badSignatureAlgorithm",
         lambda: with_protected(ctx, base(alg="XY999")), [HAS_ALGORITHMS]),
        ("alg missing", BAD, ("badSignatureAlgorithm", "malformed"),
         lambda: with_protected(ctx, base(alg=None))),
        ("alg ES512 with a P-256 key", BAD,
         ("badSignatureAlgorithm", "malformed"),
         lambda: with_protected(ctx, base(alg="ES512"))),
        # RFC 8555 6.5: a missing, unknown or used nonce is 400 badNonce;
        # 6.5.2: a nonce that is not base64url is malformed.
        ("nonce missing", BAD, "badNonce",
         lambda: with_protected(ctx, base(nonce=None))),
        ("nonce unknown", BAD, "badNonce",
         lambda: with_protected(ctx, base(nonce=b64u(os.urandom(24))))),
        ("nonce not base64url", BAD, ("malformed", "badNonce"),
         lambda: with_protected(ctx, base(nonce="not a nonce!"))),
        ("nonce a number", BAD, ("malformed", "badNonce"),
         lambda: with_protected(ctx, base(nonce=12345))),
        ("nonce reused", BAD, "badNonce", reused_nonce),
        # RFC 8555 6.2, 6.4: "url" is required and must equal the request
        # URL, else the request is unauthorized.
        ("url missing", BAD, "malformed",
         lambda: with_protected(ctx, base(url=None))),
        ("url of another resource", AUTHZ, "unauthorized",
         lambda: with_protected(ctx, base(url=c.url("newAccount")))),
        ("url with another host form", AUTHZ, "unauthorized",
         url_other_host),
        # RFC 8555 6.4 compares the whole string: a NUL and more after the
        # right URL is another URL.
        ("url with NUL and a suffix", AUTHZ, "unauthorized",
         lambda: with_protected(ctx, base(url=new_order + "\u0000/evil"))),
        ("url duplicated, last one wrong", ANY_4XX,
         ("malformed", "unauthorized"), duplicate_url),
        # RFC 8555 6.2: exactly one of "jwk" and "kid"; "jwk" for
        # newAccount, "kid" for everything else.
        ("jwk and kid on newOrder", BAD, "malformed",
         lambda: with_protected(ctx, base(jwk=a.key.jwk()))),
        ("jwk and kid on newAccount", BAD, "malformed",
         lambda: c.send(na, jws(fresh, {
             "alg": fresh.alg, "nonce": c.nonce(), "url": na,
             "jwk": fresh.jwk(), "kid": a.url}, tos))),
        ("neither jwk nor kid", BAD, "malformed",
         lambda: with_protected(ctx, base(kid=None))),
        ("jwk on newOrder", BAD, "malformed",
         lambda: c.post(new_order, ident, key=a.key)),
        ("kid on newAccount", BAD, "malformed",
         lambda: c.post(na, tos, a)),
        # RFC 8555 6.7: a "kid" naming no account is accountDoesNotExist.
        ("kid unknown", ANY_4XX, "accountDoesNotExist",
         lambda: with_protected(ctx, base(kid=a.url.rsplit("/", 1)[0] +
                                          "/nosuchaccount"))),
        ("kid with NUL and a suffix", ANY_4XX,
         ("accountDoesNotExist", "malformed", "unauthorized"),
         lambda: with_protected(ctx, base(kid=a.url + "\u0000/evil"))),
        ("kid not a URL", ANY_4XX, ("accountDoesNotExist", "malformed"),
         lambda: with_protected(ctx, base(kid="1"))),
        ("kid of another provisioner", ANY_4XX,
         ("accountDoesNotExist", "unauthorized"),
         lambda: c.post(new_order, ident, other)),
        # RFC 8555 6.2: a key the server rejects is 400 badPublicKey.  A
        # JWK with private members leaks the key, so it is rejected too.
        ("jwk with private member d", BAD, ("badPublicKey", "malformed"),
         lambda: c.post(na, tos, key=fresh, jwk=fresh.private_jwk())),
        ("jwk EC point off the curve", BAD, "badPublicKey",
         lambda: c.post(na, tos, key=a.key, jwk=off_curve)),
        ("jwk EC x of wrong length", BAD, ("badPublicKey", "malformed"),
         lambda: c.post(na, tos, key=fresh, jwk=dict(
             fresh.jwk(), x=b64u(bytes(31))))),
        ("jwk kty oct", BAD, ("badPublicKey", "malformed"),
         lambda: c.post(na, tos, key=fresh, jwk={"kty": "oct",
                                                 "k": b64u(b"k" * 32)})),
        ("jwk RSA 1024 bits", BAD, ("badPublicKey", "malformed"),
         lambda: c.post(na, tos, key=rsa_small)),
        # RFC 8555 6.2: the signature must verify with the named key.
        ("kid of A signed by B's key", (400, 401, 403),
         ("malformed", "unauthorized"),
         lambda: c.send(new_order, c.signed(new_order, ident, ctx.b.key,
                                            kid=a.url))),
        ("jwk of one key signed by another", (400, 401, 403),
         ("malformed", "unauthorized"),
         lambda: c.post(na, tos, key=fresh, jwk=Key().jwk())),
        # RFC 7515: a JWS that lists a "crit" extension the server does
        # not understand is rejected.  RFC 8555 6.2: the unencoded payload
        # option (RFC 7797) must not be used.
        ("crit extension", BAD, "malformed",
         lambda: with_protected(ctx, base(crit=["exp"], exp=1))),
        ("unencoded payload (b64 false)", BAD, "malformed",
         lambda: with_protected(ctx, base(b64=False, crit=["b64"]))),
    ]


def payload_cases(ctx):
    c = ctx.c
    na = c.url("newAccount")
    fresh = Key()
    long_label = "a" * 64 + ".test"
    long_name = ".".join(["a" * 63] * 4) + ".test"
    too_many = [{"type": "dns", "value": ctx.name("n%d" % i)}
                for i in range(101)]
    return [
        # RFC 8555 7.3: newAccount takes a JSON object.
        ("newAccount payload not JSON", BAD, "malformed",
         lambda: c.post(na, b"termsOfServiceAgreed", key=Key())),
        ("newAccount payload a JSON array", BAD, "malformed",
         lambda: c.post(na, [{"termsOfServiceAgreed": True}], key=Key())),
        ("newAccount POST-as-GET", BAD, "malformed",
         lambda: c.post(na, "", key=Key())),
        # RFC 8555 7.3.1: onlyReturnExisting for an unknown key is
        # 400 accountDoesNotExist.
        ("onlyReturnExisting unknown key", 400, "accountDoesNotExist",
         lambda: c.post(na, {"onlyReturnExisting": True}, key=fresh)),
        # RFC 8555 7.3: an unsupported scheme is unsupportedContact, a bad
        # value of a supported scheme is invalidContact.
        ("contact tel: scheme", (400, 403), "unsupportedContact",
         lambda: c.post(na, {"termsOfServiceAgreed": True,
                             "contact": ["tel:+15555550100"]}, key=Key())),
        ("contact https: scheme", (400, 403), "unsupportedContact",
         lambda: c.post(na, {"termsOfServiceAgreed": True,
                             "contact": ["https://example.test/"]},
                        key=Key())),
        ("contact mailto without address", (400, 403), "invalidContact",
         lambda: c.post(na, {"termsOfServiceAgreed": True,
                             "contact": ["mailto:not-an-address"]},
                        key=Key())),
        ("contact mailto with NUL and a suffix", (400, 403),
         ("invalidContact", "malformed"),
         lambda: c.post(na, {"termsOfServiceAgreed": True, "contact": [
             "mailto:a@example.test\u0000,b@evil.test"]}, key=Key())),
        ("account update to a tel: contact", (400, 403),
         "unsupportedContact",
         lambda: c.post(ctx.a.url, {"contact": ["tel:+15555550100"]},
                        ctx.a)),
        ("contact a string, not an array", BAD,
         ("malformed", "invalidContact"),
         lambda: c.post(na, {"termsOfServiceAgreed": True,
                             "contact": "mailto:a@example.test"},
                        key=Key())),
        # RFC 8555 7.4: newOrder needs a non-empty "identifiers" array of
        # {type, value} objects.
        ("newOrder POST-as-GET", BAD, "malformed",
         lambda: c.post(c.url("newOrder"), "", ctx.a)),
        ("newOrder without identifiers", BAD, "malformed",
         lambda: c.post(c.url("newOrder"), {"identifier": {
             "type": "dns", "value": ctx.name("one")}}, ctx.a)),
        ("newOrder identifiers empty", (400, 403), NAME_TYPES,
         lambda: order_with(ctx, [])),
        ("newOrder identifiers a string", BAD, "malformed",
         lambda: order_with(ctx, ctx.name("s"))),
        ("identifier without value", BAD, "malformed",
         lambda: order_with(ctx, [{"type": "dns"}])),
        ("identifier value a number", BAD, "malformed",
         lambda: order_with(ctx, [{"type": "dns", "value": 7}])),
        # RFC 8555 6.7: an identifier type the server does not know is
        # unsupportedIdentifier.
        ("identifier type email", (400, 403), "unsupportedIdentifier",
         lambda: order_with(ctx, [{"type": "email",
                                   "value": "a@example.test"}])),
        # RFC 8555 6.7.1 and 7.4: a name that is not a valid host name is
        # malformed or rejectedIdentifier.
        ("dns name with trailing dot", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, ctx.name("dot") + ".")),
        ("dns name with double dot", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "a..badinput.test")),
        ("dns label of 64 bytes", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, long_label)),
        ("dns name of 258 bytes", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, long_name)),
        ("dns name with underscore", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "_under.badinput.test")),
        ("dns name in raw Unicode", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "b\u00fccher.badinput.test")),
        ("dns name with a space", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "a b.badinput.test")),
        ("dns name with NUL", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "nul\u0000.badinput.test")),
        ("dns name empty", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "")),
        ("wildcard not leftmost", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "a.*.badinput.test")),
        ("wildcard inside a label", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "a*.badinput.test")),
        ("wildcard alone", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "*")),
        ("IPv4 address as a dns name", (400, 403), NAME_TYPES,
         lambda: dns_order(ctx, "10.0.0.1")),
        ("ip identifier 300.1.2.3", (400, 403), NAME_TYPES,
         lambda: order_with(ctx, [{"type": "ip", "value": "300.1.2.3"}])),
        ("ip identifier with a zone", (400, 403), NAME_TYPES,
         lambda: order_with(ctx, [{"type": "ip", "value": "fe80::1%eth0"}])),
        ("101 identifiers", (400, 403), NAME_TYPES,
         lambda: order_with(ctx, too_many)),
        # RFC 8555 7.4: notBefore and notAfter are RFC 3339 date-times.
        ("notBefore garbage", BAD, "malformed",
         lambda: order_with(ctx, [{"type": "dns",
                                   "value": ctx.name("nb")}],
                            notBefore="yesterday")),
        ("notAfter a number", BAD, "malformed",
         lambda: order_with(ctx, [{"type": "dns",
                                   "value": ctx.name("na")}],
                            notAfter=1700000000)),
        ("notAfter before notBefore", BAD, "malformed",
         lambda: order_with(ctx, [{"type": "dns",
                                   "value": ctx.name("nanb")}],
                            notBefore="2030-01-02T00:00:00Z",
                            notAfter="2030-01-01T00:00:00Z")),
    ]


def access_cases(ctx):
    c = ctx.c
    b = ctx.b
    pending = ctx.pending
    authz = ctx.pending_authz
    chall = ctx.pending_chall
    return [
        # RFC 8555 6.3, 7.1: only the owning account may read or change an
        # object; anything else is unauthorized.
        ("B reads A's order", AUTHZ, "unauthorized",
         lambda: c.get(pending["url"], b)),
        ("B reads A's authorization", AUTHZ, "unauthorized",
         lambda: c.get(authz, b)),
        ("B reads A's challenge", AUTHZ, "unauthorized",
         lambda: c.get(chall["url"], b)),
        ("B answers A's challenge", AUTHZ, "unauthorized",
         lambda: c.post(chall["url"], {}, b)),
        ("B reads A's account", AUTHZ, "unauthorized",
         lambda: c.get(ctx.a.url, b)),
        ("B reads A's order list", AUTHZ, "unauthorized",
         lambda: c.get(ctx.a.url + "/orders", b)),
        ("B finalizes A's ready order", AUTHZ, "unauthorized",
         lambda: c.finalize(b, ctx.ready, make_csr(Key(), ctx.ready_names))),
        # RFC 8555 7.5.1: the challenge response is a JSON object.
        ("challenge POST with a JSON array", BAD, "malformed",
         lambda: c.post(chall["url"], [{}], ctx.a)),
        ("challenge POST with a JSON string", BAD, "malformed",
         lambda: c.post(chall["url"], b'"ready"', ctx.a)),
        # RFC 8555 7.4: finalizing an order that is not ready is
        # 403 orderNotReady.
        ("finalize a pending order", 403, "orderNotReady",
         lambda: c.finalize(ctx.a, pending, make_csr(Key(),
                                                     ctx.pending_names))),
    ]


def run_status_forgery(ctx, results):
    """RFC 8555 7.1.6: only the server moves an authorization or order to
    valid; a client payload with "status": "valid" must not do it."""
    c = ctx.c
    for name, url in (("authorization", ctx.pending_authz),
                      ("order", ctx.pending["url"])):
        resp = c.post(url, {"status": "valid"}, ctx.a)
        after = (c.get(url, ctx.a).json or {}).get("status")
        check = "%s POST with status valid" % name
        if resp.status >= 500:
            results.fail(check, "received " + resp.describe())
        elif after == "valid":
            results.fail(check, "expected the %s to stay pending, received "
                         "%s and status valid" % (name, resp.describe()))
        else:
            results.ok("%s: %d, %s stays %s" % (check, resp.status, name,
                                                after))


def finalize_cases(ctx):
    c = ctx.c
    a = ctx.a
    order = ctx.ready
    names = ctx.ready_names
    key = Key()
    good = make_csr(key, names)
    other = make_csr(Key(), names)
    fin = lambda payload: (lambda: c.post(order["finalize"], payload, a))
    csr = lambda der: fin({"csr": b64u(der)})
    pem = make_csr(key, names)
    pem_text = "-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END " \
        "CERTIFICATE REQUEST-----\n" % base64.b64encode(pem).decode()
    return [
        # RFC 8555 7.4: a CSR whose names differ from the order, or that
        # the CA will not sign, is badCSR; a short key may be badPublicKey
        # (6.7: "badCSR ... e.g., due to a short key").
        ("CSR with an extra name", BAD, "badCSR",
         csr(make_csr(key, names + [ctx.name("extra")]))),
        ("CSR missing a name", BAD, "badCSR",
         csr(make_csr(key, names[:1]))),
        ("CSR with a different name", BAD, "badCSR",
         csr(make_csr(key, [ctx.name("other1"), ctx.name("other2")]))),
        ("CSR with only a foreign CN", BAD, "badCSR",
         csr(make_csr(key, [], cn=ctx.name("cnonly")))),
        ("CSR signed by another key", BAD, "badCSR",
         csr(csr_with_foreign_signature(good, other))),
        ("CSR truncated", BAD, "badCSR", csr(good[:-10])),
        ("CSR that is a certificate", BAD, "badCSR", csr(ctx.root_der)),
        ("CSR random bytes", BAD, "badCSR", csr(os.urandom(200))),
        ("CSR not base64url", BAD, ("badCSR", "malformed"),
         fin({"csr": "!!!not base64!!!"})),
        ("CSR in PEM", BAD, ("badCSR", "malformed"), fin({"csr": pem_text})),
        ("CSR RSA 1024 bits", BAD, ("badCSR", "badPublicKey"),
         csr(make_csr(ctx.rsa1024, names))),
        ("CSR field missing", BAD, "malformed", fin({"csrs": b64u(good)})),
        ("CSR field a number", BAD, "malformed", fin({"csr": 12345})),
        ("finalize POST-as-GET", BAD, "malformed", fin("")),
    ]


def revoke_cases(ctx):
    c = ctx.c
    url = c.url("revokeCert")
    cert = b64u(ctx.cert_der)
    return [
        # RFC 8555 7.6: only the issuing account, an account authorized
        # for all names, or the certificate key may revoke.  The RFC's
        # example rejection is 403 unauthorized.
        ("B revokes A's certificate", AUTHZ, "unauthorized",
         lambda: c.post(url, {"certificate": cert}, ctx.b)),
        ("unrelated jwk revokes A's certificate", AUTHZ, "unauthorized",
         lambda: c.post(url, {"certificate": cert}, key=Key())),
        # RFC 8555 7.6: a reason code that is not allowed is
        # badRevocationReason.  The RFC 5280 reasonCodes that 7.6 refers to
        # are 0 to 10, and 7 is unused.
        ("revoke with reason 7", (400, 403), "badRevocationReason",
         lambda: c.post(url, {"certificate": cert, "reason": 7}, ctx.a)),
        ("revoke with reason 11", (400, 403), "badRevocationReason",
         lambda: c.post(url, {"certificate": cert, "reason": 11}, ctx.a)),
        ("revoke with reason -1", (400, 403), ("badRevocationReason",
                                               "malformed"),
         lambda: c.post(url, {"certificate": cert, "reason": -1}, ctx.a)),
        ("revoke with certificate garbage", BAD, ("malformed", "badCSR"),
         lambda: c.post(url, {"certificate": "AAAA"}, ctx.a)),
        ("revoke without certificate", BAD, "malformed",
         lambda: c.post(url, {"reason": 1}, ctx.a)),
    ]


def inner_jws(new_key, url, payload, nonce=None, kid=None, sign_key=None):
    protected = {"alg": new_key.alg, "url": url}
    if kid is None:
        protected["jwk"] = new_key.jwk()
    else:
        protected["kid"] = kid
    if nonce is not None:
        protected["nonce"] = nonce
    return jws(sign_key or new_key, protected, payload)


def key_change_cases(ctx):
    c = ctx.c
    d = ctx.d
    url = c.url("keyChange")
    new = ctx.d_new_key
    kc = {"account": d.url, "oldKey": d.key.jwk()}
    send = lambda inner, account=d: (lambda: c.post(url, inner, account))
    taken_key = ctx.b.key
    return [
        # RFC 8555 7.3.5: the inner JWS has "jwk", the outer "url" and no
        # "nonce", and is signed by the new key.  Its payload names the
        # account and its current key.  The RFC fixes no problem type for
        # these failures, so malformed or unauthorized are accepted.
        ("key change inner JWS with a nonce", BAD, "malformed",
         send(inner_jws(new, url, kc, nonce=c.nonce()))),
        ("key change inner url differs", ANY_4XX,
         ("malformed", "unauthorized"),
         send(inner_jws(new, c.url("newOrder"), kc))),
        ("key change inner with kid, no jwk", BAD, "malformed",
         send(inner_jws(new, url, kc, kid=d.url))),
        ("key change inner signed by another key", ANY_4XX,
         ("malformed", "unauthorized"),
         send(inner_jws(new, url, kc, sign_key=Key()))),
        ("key change oldKey is another key", ANY_4XX,
         ("malformed", "unauthorized"),
         send(inner_jws(new, url, {"account": d.url,
                                   "oldKey": Key().jwk()}))),
        ("key change account is another account", ANY_4XX,
         ("malformed", "unauthorized"),
         send(inner_jws(new, url, {"account": ctx.a.url,
                                   "oldKey": d.key.jwk()}))),
        ("key change payload not a JWS", BAD, "malformed",
         send({"account": d.url, "oldKey": d.key.jwk()})),
        ("key change inner payload missing oldKey", BAD, "malformed",
         send(inner_jws(new, url, {"account": d.url}))),
        ("key change outer signed with jwk", BAD, "malformed",
         lambda: c.post(url, inner_jws(new, url, kc), key=d.key)),
        # RFC 8555 7.3.5: a new key that another account uses is 409 with
        # that account's URL in Location.
        ("key change to B's key", 409, None,
         send(inner_jws(taken_key, url, kc)),
         [("Location of account B (RFC 8555 7.3.5)",
           lambda r: r.header("Location") == ctx.b.url)]),
    ]


def build_context(args, results):
    ctx = Context(args)
    c = ctx.c
    ctx.root_der = x509.load_pem_x509_certificate(
        open(args.root, "rb").read()).public_bytes(serialization.Encoding.DER)
    ctx.rsa1024 = Key("RSA", 1024)
    ctx.a = c.new_account(Key())
    ctx.b = c.new_account(Key())
    other = Client(args.other_directory, args.root, args.connect_host)
    ctx.other_account = other.new_account(Key())

    ctx.pending_names = [ctx.name("pending")]
    ctx.pending = c.new_order(ctx.a, ctx.pending_names)
    ctx.pending_authz = ctx.pending["authorizations"][0]
    authz = c.get(ctx.pending_authz, ctx.a).json
    ctx.pending_chall = [ch for ch in authz["challenges"]
                         if ch["type"] == "http-01"][0]

    ctx.ready_names = [ctx.name("ready-a"), ctx.name("ready-b")]
    ctx.ready = c.ready_order(ctx.a, ctx.ready_names, ctx.responder)
    return ctx


def run_algorithm_accounts(ctx, results):
    # RFC 8555 6.2: ES256 is required, EdDSA recommended; the CA also
    # lists ES384, ES512, RS256 and PS256.
    for kind, alg in (("P-256", "ES256"), ("P-384", "ES384"),
                      ("P-521", "ES512"), ("RSA", "RS256"), ("RSA", "PS256"),
                      ("Ed25519", "EdDSA")):
        key = Key(kind)
        key.alg = alg
        resp = ctx.c.post(ctx.c.url("newAccount"),
                          {"termsOfServiceAgreed": True}, key=key)
        expect_success(results, "newAccount signed with %s" % alg, resp, 201)


def run_nonce_retry(ctx, results):
    # RFC 8555 6.5: the badNonce response carries a nonce that the server
    # accepts in a retry.
    resp = getattr(ctx, "bad_nonce_reply", None)
    fresh = resp.header("Replay-Nonce") if resp is not None else None
    if not fresh:
        results.fail("retry with the badNonce Replay-Nonce",
                     "the badNonce answer had no Replay-Nonce")
        return
    retry = ctx.c.post(ctx.c.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": ctx.name("retry")}]}, ctx.a, nonce=fresh)
    expect_success(results, "retry with the badNonce Replay-Nonce", retry,
                   201)


def run_finalize(ctx, results):
    c = ctx.c
    run_table(results, finalize_cases(ctx))
    # RFC 8555 7.4: after badCSR the order SHOULD stay ready.
    state = c.get(ctx.ready["url"], ctx.a).json or {}
    if state.get("status") == "ready":
        results.ok("order still ready after the badCSR answers")
    else:
        results.fail("order still ready after the badCSR answers",
                     "expected ready, received %r" % state.get("status"))
    ctx.cert_key = Key()
    resp = c.finalize(ctx.a, ctx.ready, make_csr(ctx.cert_key,
                                                 ctx.ready_names))
    expect_success(results, "finalize with a good CSR", resp, 200,
                   [("order status valid",
                     lambda r: (r.json or {}).get("status") == "valid")])
    deadline = time.time() + 15
    order = resp.json or {}
    while order.get("status") == "processing" and time.time() < deadline:
        time.sleep(0.3)
        order = c.get(ctx.ready["url"], ctx.a).json or {}
    pem = c.get(order["certificate"], ctx.a).body
    cert = x509.load_pem_x509_certificates(pem)[0] \
        if hasattr(x509, "load_pem_x509_certificates") \
        else x509.load_pem_x509_certificate(pem)
    ctx.cert_url = order["certificate"]
    ctx.cert_der = cert.public_bytes(serialization.Encoding.DER)
    run_table(results, [
        # RFC 8555 7.4: a second finalize finds the order valid, not ready.
        ("finalize a valid order", 403, "orderNotReady",
         lambda: c.finalize(ctx.a, ctx.ready,
                            make_csr(Key(), ctx.ready_names))),
        # RFC 8555 7.4.2, 6.3: only the owner downloads the certificate.
        ("B downloads A's certificate", AUTHZ, "unauthorized",
         lambda: c.get(ctx.cert_url, ctx.b)),
    ])


def run_csr_nul(ctx, results):
    """A "csr" string with a NUL and more after a valid CSR is not
    base64url (RFC 8555 7.4, 6.1).  A server that stops reading at the
    NUL issues for it, so this case gets its own ready order."""
    c = ctx.c
    names = [ctx.name("nul-a")]
    order = c.ready_order(ctx.a, names, ctx.responder)
    run_table(results, [
        ("CSR with NUL and a suffix", BAD, ("badCSR", "malformed"),
         lambda: c.post(order["finalize"], {"csr": b64u(make_csr(
             Key(), names)) + "\u0000junk"}, ctx.a)),
    ])


def run_revocation(ctx, results):
    c = ctx.c
    run_table(results, revoke_cases(ctx))
    url = c.url("revokeCert")
    cert = b64u(ctx.cert_der)
    resp = c.post(url, {"certificate": cert, "reason": 1}, ctx.a)
    expect_success(results, "A revokes its certificate (reason 1)", resp,
                   200)
    run_table(results, [
        # RFC 8555 7.6: revoking a revoked certificate is
        # 400 alreadyRevoked, whichever key signs.
        ("revoke again by account", 400, "alreadyRevoked",
         lambda: c.post(url, {"certificate": cert}, ctx.a)),
        ("revoke again by certificate key", 400, "alreadyRevoked",
         lambda: c.post(url, {"certificate": cert}, key=ctx.cert_key)),
    ])


def run_deactivation(ctx, results):
    c = ctx.c
    acct = c.new_account(Key())
    resp = c.post(acct.url, {"status": "deactivated"}, acct)
    expect_success(results, "account deactivates itself", resp, 200,
                   [("status deactivated", lambda r: (r.json or {}).get(
                       "status") == "deactivated")])
    run_table(results, [
        # RFC 8555 7.3.6: any POST or POST-as-GET from a deactivated
        # account is 401 unauthorized.
        ("deactivated account reads itself", 401, "unauthorized",
         lambda: c.get(acct.url, acct)),
        ("deactivated account orders", 401, "unauthorized",
         lambda: c.post(c.url("newOrder"), {"identifiers": [
             {"type": "dns", "value": ctx.name("deact")}]}, acct)),
        ("deactivated key on newAccount", 401, "unauthorized",
         lambda: c.post(c.url("newAccount"),
                        {"termsOfServiceAgreed": True}, key=acct.key)),
    ])


def run_key_change(ctx, results):
    c = ctx.c
    ctx.d = c.new_account(Key())
    ctx.d_new_key = Key()
    run_table(results, key_change_cases(ctx))
    d = ctx.d
    url = c.url("keyChange")
    inner = inner_jws(ctx.d_new_key, url, {"account": d.url,
                                           "oldKey": d.key.jwk()})
    resp = c.post(url, inner, d)
    expect_success(results, "key change to a new key", resp, 200)
    new_account = Account(ctx.d_new_key, d.url)
    resp = c.get(d.url, new_account)
    expect_success(results, "request under the new key", resp, 200)
    resp = c.post(c.url("newAccount"), {"onlyReturnExisting": True},
                  key=ctx.d_new_key)
    expect_success(results, "newAccount lookup by the new key", resp, 200,
                   [("Location of the same account",
                     lambda r: r.header("Location") == d.url)])
    run_table(results, [
        # RFC 8555 7.3.5: the old key no longer authenticates the account.
        ("request under the old key", ANY_4XX,
         ("unauthorized", "accountDoesNotExist", "malformed"),
         lambda: c.get(d.url, d)),
        # RFC 8555 7.3.1: no account has the old key any more.
        ("newAccount lookup by the old key", 400, "accountDoesNotExist",
         lambda: c.post(c.url("newAccount"), {"onlyReturnExisting": True},
                        key=d.key)),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directory", required=True)
    parser.add_argument("--other-directory", required=True,
                        help="directory URL of a second ACME provisioner")
    parser.add_argument("--provisioner", default="acme")
    parser.add_argument("--root", required=True)
    parser.add_argument("--http01-port", type=int, required=True)
    parser.add_argument("--connect-host", default="127.0.0.1")
    args = parser.parse_args()

    results = Results()
    try:
        ctx = build_context(args, results)
    except Exception as exc:
        results.fail("setup (accounts and orders)", repr(exc))
        print("probe: %d passed, %d failed" % (results.passed,
                                               results.failed))
        return 1

    steps = [
        lambda: run_algorithm_accounts(ctx, results),
        lambda: run_table(results, transport_cases(ctx)),
        lambda: run_table(results, structure_cases(ctx)),
        lambda: run_table(results, header_cases(ctx)),
        lambda: run_nonce_retry(ctx, results),
        lambda: run_table(results, payload_cases(ctx)),
        lambda: run_table(results, access_cases(ctx)),
        lambda: run_status_forgery(ctx, results),
        lambda: run_finalize(ctx, results),
        lambda: run_csr_nul(ctx, results),
        lambda: run_revocation(ctx, results),
        lambda: run_deactivation(ctx, results),
        lambda: run_key_change(ctx, results),
    ]
    for step in steps:
        try:
            step()
        except Exception as exc:
            results.fail("probe step stopped early", repr(exc))

    resp = ctx.c.http.request("GET", args.directory)
    expect_success(results, "directory still served after the run", resp,
                   200)
    print("probe: %d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
