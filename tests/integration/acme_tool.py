#!/usr/bin/python3
"""A small ACME client for acme_features_test.sh.

It drives the RFC 8555 features of ca-core that certbot and lego do not
reach from the command line: key change, revocation signed by the
certificate key, authorization deactivation, the orders list, name
policy and EAB key reuse.  It prints one "ok" or "FAIL" line per check
with the reason.
Exit status 0 when every check passed, 1 otherwise.

Usage: acme_tool.py DIRECTORY_URL ROOT_CERT SCENARIO [ARGS...]
Only Debian's python3-cryptography is needed; requests go to the
directory's host, which the test keeps on loopback.
"""
import base64
import hashlib
import hmac
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

failures = 0


def check(ok, what, why=""):
    global failures
    if ok:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what + (": " + why if why else ""))
    return ok


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Key:
    """An EC P-256 account or certificate key."""

    def __init__(self, private=None):
        self.private = private or ec.generate_private_key(ec.SECP256R1())
        numbers = self.private.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": b64(numbers.x.to_bytes(32, "big")),
                    "y": b64(numbers.y.to_bytes(32, "big"))}
        canonical = json.dumps(self.jwk, sort_keys=True,
                               separators=(",", ":"))
        self.thumbprint = b64(hashlib.sha256(canonical.encode()).digest())

    def sign(self, data):
        der = self.private.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def jws(self, header, payload):
        header = dict(header, alg="ES256")
        protected = b64(json.dumps(header))
        body = "" if payload is None else b64(json.dumps(payload))
        signature = self.sign((protected + "." + body).encode())
        return {"protected": protected, "payload": body,
                "signature": b64(signature)}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return {}

    def links(self, rel):
        found = []
        for value in self.headers.get_all("Link") or []:
            for part in value.split(","):
                url, _, params = part.strip().partition(";")
                if 'rel="%s"' % rel in params.replace(" ", ""):
                    found.append(url.strip().strip("<>"))
        return found

    def problem(self):
        return self.json().get("type", "").replace(
            "urn:ietf:params:acme:error:", "")


class Client:
    def __init__(self, directory, root):
        self.context = ssl.create_default_context(cafile=root)
        self.directory = self.request("GET", directory).json()
        self.nonce = None
        self.key = Key()
        self.kid = None

    def request(self, method, url, body=None, content_type=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type",
                       content_type or "application/jose+json")
        try:
            with urllib.request.urlopen(req, context=self.context,
                                        timeout=30) as resp:
                result = Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            result = Response(err.code, err.headers, err.read())
        if result.headers.get("Replay-Nonce"):
            self.nonce = result.headers["Replay-Nonce"]
        return result

    def fresh_nonce(self):
        if self.nonce is None:
            self.request("HEAD", self.directory["newNonce"])
        nonce, self.nonce = self.nonce, None
        return nonce

    def post(self, url, payload, key=None, kid=None, use_jwk=False,
             header_extra=None):
        key = key or self.key
        header = {"nonce": self.fresh_nonce(), "url": url}
        if use_jwk:
            header["jwk"] = key.jwk
        else:
            header["kid"] = kid or self.kid
        header.update(header_extra or {})
        return self.request("POST", url, key.jws(header, payload))

    def new_account(self, eab=None, key=None):
        payload = {"termsOfServiceAgreed": True}
        url = self.directory["newAccount"]
        if eab is not None:
            payload["externalAccountBinding"] = eab_binding(
                eab[0], eab[1], url, (key or self.key).jwk)
        resp = self.post(url, payload, key=key, use_jwk=True)
        if resp.status in (200, 201) and key is None:
            self.kid = resp.headers["Location"]
        return resp

    def new_order(self, names, **extra):
        payload = {"identifiers": [{"type": "dns", "value": n}
                                   for n in names]}
        payload.update(extra)
        return self.post(self.directory["newOrder"], payload)


def eab_binding(kid, mac_key, url, jwk):
    protected = b64(json.dumps({"alg": "HS256", "kid": kid, "url": url}))
    payload = b64(json.dumps(jwk))
    mac = hmac.new(b64decode(mac_key), (protected + "." + payload).encode(),
                   hashlib.sha256).digest()
    return {"protected": protected, "payload": payload, "signature": b64(mac)}


def scenario_keychange(client):
    check(client.new_account().status == 201, "key change: account created")
    other = Client.__new__(Client)
    other.__dict__.update(client.__dict__)
    other.key, other.kid, other.nonce = Key(), None, None
    check(other.new_account().status == 201,
          "key change: second account created")

    url = client.directory["keyChange"]
    new = Key()

    def inner(new_key, old_jwk, nonce=None, account=None):
        header = {"jwk": new_key.jwk, "url": url}
        if nonce:
            header["nonce"] = nonce
        return new_key.jws(header, {"account": account or client.kid,
                                    "oldKey": old_jwk})

    resp = client.post(url, inner(new, client.key.jwk, nonce="abc"))
    check(resp.status == 400 and resp.problem() == "malformed",
          "key change: inner JWS with a nonce is rejected",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(url, inner(new, Key().jwk))
    check(resp.status == 400, "key change: wrong oldKey is rejected",
          "got %d" % resp.status)
    resp = client.post(url, inner(other.key, client.key.jwk))
    check(resp.status == 409 and resp.headers.get("Location") == other.kid,
          "key change: key of another account is 409 with its Location",
          "got %d Location %s" % (resp.status, resp.headers.get("Location")))

    resp = client.post(url, inner(new, client.key.jwk))
    check(resp.status == 200, "key change: accepted",
          "got %d %s" % (resp.status, resp.body[:300]))
    old = client.key
    client.key = new
    resp = client.post(client.kid, None)
    check(resp.status == 200 and resp.json().get("status") == "valid",
          "key change: request under the new key works",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(client.kid, None, key=old)
    check(resp.status in (400, 401, 403),
          "key change: request under the old key is rejected",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(client.directory["newAccount"],
                       {"onlyReturnExisting": True}, key=old, use_jwk=True)
    check(resp.problem() == "accountDoesNotExist",
          "key change: old key has no account any more",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(client.directory["newAccount"],
                       {"onlyReturnExisting": True}, key=new, use_jwk=True)
    check(resp.status == 200 and resp.headers.get("Location") == client.kid,
          "key change: new key finds the account",
          "got %d" % resp.status)


def scenario_policy(client, denied, allowed):
    client.new_account()
    resp = client.new_order([allowed, denied, "ok-" + allowed])
    subs = resp.json().get("subproblems", [])
    check(resp.status == 400 and resp.problem() == "rejectedIdentifier",
          "policy: denied name is rejectedIdentifier",
          "got %d %s" % (resp.status, resp.body[:300]))
    check(len(subs) == 1 and subs[0].get("identifier") ==
          {"type": "dns", "value": denied},
          "policy: one subproblem names the denied identifier",
          "subproblems %s" % subs)
    resp = client.new_order([allowed])
    check(resp.status == 201, "policy: allowed name is accepted",
          "got %d %s" % (resp.status, resp.body[:300]))
    resp = client.new_order(["bad_name." + allowed, "x..y.test"])
    subs = resp.json().get("subproblems", [])
    check(resp.problem() == "rejectedIdentifier" and len(subs) == 2,
          "policy: two invalid names give two subproblems",
          "got %d %s" % (resp.status, resp.body[:300]))


def scenario_orders(client, count, page_size):
    client.new_account()
    created = []
    for i in range(count):
        resp = client.new_order(["order-%d.example.test" % i])
        if resp.status == 201:
            created.append(resp.headers["Location"])
    check(len(created) == count, "orders: %d orders created" % count)

    account = client.post(client.kid, None).json()
    url, seen, pages = account.get("orders"), [], 0
    check(url is not None, "orders: account object has an orders URL")
    while url and pages < count + 2:
        resp = client.post(url, None)
        if not check(resp.status == 200, "orders: page %d read" % pages,
                     "got %d %s" % (resp.status, resp.body[:200])):
            break
        batch = resp.json().get("orders", [])
        if batch and len(batch) > page_size:
            check(False, "orders: page %d holds at most %d" %
                  (pages, page_size), "it holds %d" % len(batch))
        seen.extend(batch)
        pages += 1
        nexts = resp.links("next")
        url = nexts[0] if nexts else None

    check(sorted(seen) == sorted(created),
          "orders: the pages list every order once (%d pages)" % pages,
          "listed %d of %d" % (len(seen), len(created)))
    check(pages == -(-count // page_size),
          "orders: %d pages of %d" % (pages, page_size))
    resp = client.post(account["orders"], {})
    check(resp.status == 400, "orders: a non-empty payload is rejected",
          "got %d" % resp.status)


def scenario_deactivate(client):
    client.new_account()
    order = client.new_order(["deactivate.example.test"])
    authz = order.json()["authorizations"][0]
    resp = client.post(authz, {"status": "valid"})
    check(resp.status == 400, "authz: only deactivation is accepted",
          "got %d" % resp.status)
    resp = client.post(authz, {"status": "deactivated"})
    check(resp.status == 200 and resp.json().get("status") == "deactivated",
          "authz: deactivated", "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(order.headers["Location"], None)
    check(resp.json().get("status") == "invalid",
          "authz: its order is invalid", "order %s" % resp.body[:300])
    resp = client.post(authz, {"status": "deactivated"})
    check(resp.status == 400, "authz: deactivating twice is rejected",
          "got %d" % resp.status)
    resp = client.post(order.json()["finalize"], {"csr": "AAAA"})
    check(resp.problem() == "orderNotReady",
          "order: finalize before ready is orderNotReady",
          "got %d %s" % (resp.status, resp.body[:200]))


def scenario_expire(client, backdate_command):
    """Backdate an order with backdate_command ORDER_ID, then read it."""
    client.new_account()
    order = client.new_order(["expire.example.test"])
    url = order.headers["Location"]
    authz = order.json()["authorizations"][0]
    subprocess.run([backdate_command, url.rsplit("/", 1)[1]], check=True)

    resp = client.post(url, None)
    check(resp.json().get("status") == "invalid" and
          "expired" in resp.json().get("error", {}).get("detail", ""),
          "expiry: a pending order past its expiry reads as invalid",
          "order %s" % resp.body[:300])
    resp = client.post(authz, None)
    check(resp.json().get("status") == "expired",
          "expiry: its authorization reads as expired",
          "authz %s" % resp.body[:300])
    chall = resp.json().get("challenges", [{}])[0].get("url")
    resp = client.post(chall, {})
    check(resp.json().get("status") == "pending",
          "expiry: a challenge POST starts no validation",
          "got %d %s" % (resp.status, resp.body[:300]))


def scenario_lifetime(client, too_long):
    client.new_account()
    resp = client.new_order(["lifetime.example.test"],
                            notBefore="2030-01-01T00:00:00Z",
                            notAfter=too_long)
    check(resp.status == 400 and resp.problem() == "malformed" and
          "maximum" in resp.json().get("detail", ""),
          "lifetime: notAfter past the maximum is malformed",
          "got %d %s" % (resp.status, resp.body[:300]))
    resp = client.new_order(["lifetime.example.test"],
                            notBefore="2030-01-01T00:00:00Z",
                            notAfter="2030-01-01T12:00:00Z")
    check(resp.status == 201 and
          resp.json().get("notAfter") == "2030-01-01T12:00:00Z",
          "lifetime: notBefore and notAfter within the limits",
          "got %d %s" % (resp.status, resp.body[:300]))


def scenario_revoke_certkey(client, cert_path, key_path, reason):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(key_path, "rb") as f:
        private = serialization.load_pem_private_key(f.read(), None)
    der = cert.public_bytes(serialization.Encoding.DER)
    url = client.directory["revokeCert"]
    resp = client.post(url, {"certificate": b64(der), "reason": 7},
                       key=Key(private), use_jwk=True)
    check(resp.problem() == "badRevocationReason",
          "revoke: reason 7 is badRevocationReason",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(url, {"certificate": b64(der), "reason": reason},
                       key=Key(), use_jwk=True)
    check(resp.status == 403 and resp.problem() == "unauthorized",
          "revoke: a foreign jwk is unauthorized",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(url, {"certificate": b64(der), "reason": reason},
                       key=Key(private), use_jwk=True)
    check(resp.status == 200, "revoke: signed by the certificate key",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.post(url, {"certificate": b64(der), "reason": reason},
                       key=Key(private), use_jwk=True)
    check(resp.status == 400 and resp.problem() == "alreadyRevoked",
          "revoke: second revocation is alreadyRevoked",
          "got %d %s" % (resp.status, resp.body[:200]))


def scenario_revoke_foreign(client, cert_path):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    client.new_account()
    der = cert.public_bytes(serialization.Encoding.DER)
    resp = client.post(client.directory["revokeCert"],
                       {"certificate": b64(der)})
    check(resp.status == 403 and resp.problem() == "unauthorized",
          "revoke: another account's certificate is unauthorized",
          "got %d %s" % (resp.status, resp.body[:200]))


def scenario_eab(client, kid, mac_key):
    resp = client.new_account()
    check(resp.status == 403 and resp.problem() == "externalAccountRequired",
          "eab: registration without a binding is externalAccountRequired",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.new_account(eab=(kid, b64(b"wrong key of 32 bytes........")))
    check(resp.status == 403 and resp.problem() == "unauthorized",
          "eab: a wrong MAC key is unauthorized",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.new_account(eab=(kid, mac_key))
    check(resp.status == 201, "eab: registration with the key",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.new_account(eab=(kid, mac_key), key=Key())
    check(resp.status == 403 and resp.problem() == "unauthorized",
          "eab: the key cannot bind a second account",
          "got %d %s" % (resp.status, resp.body[:200]))


def scenario_headers(client):
    resp = client.request("HEAD", client.directory["newNonce"])
    check(resp.status == 200 and resp.headers.get("Replay-Nonce"),
          "nonce: HEAD newNonce is 200 with Replay-Nonce")
    check(any(u.endswith("/directory") for u in resp.links("index")),
          "nonce: HEAD newNonce has Link rel=\"index\"")
    resp = client.request("GET", client.directory["newNonce"])
    check(resp.status == 204 and resp.headers.get("Replay-Nonce"),
          "nonce: GET newNonce is 204 with Replay-Nonce")
    client.new_account()
    header = {"nonce": "AAAAAAAAAAAAAAAAAAAAAA", "url": client.kid,
              "kid": client.kid}
    resp = client.request("POST", client.kid, client.key.jws(header, None))
    check(resp.problem() == "badNonce" and resp.headers.get("Replay-Nonce"),
          "nonce: badNonce carries a fresh Replay-Nonce",
          "got %d %s" % (resp.status, resp.body[:200]))
    resp = client.request("POST", client.kid, client.key.jws(
        {"nonce": client.fresh_nonce(), "url": client.kid,
         "kid": client.kid}, None), content_type="application/json")
    check(resp.status == 415, "request: application/json is 415",
          "got %d" % resp.status)


SCENARIOS = {
    "keychange": scenario_keychange,
    "policy": scenario_policy,
    "orders": lambda c, n, size: scenario_orders(c, int(n), int(size)),
    "deactivate": scenario_deactivate,
    "lifetime": scenario_lifetime,
    "expire": scenario_expire,
    "revoke-certkey": lambda c, cert, key, reason:
        scenario_revoke_certkey(c, cert, key, int(reason)),
    "revoke-foreign": scenario_revoke_foreign,
    "eab": scenario_eab,
    "headers": scenario_headers,
}


def main():
    if len(sys.argv) < 4 or sys.argv[3] not in SCENARIOS:
        sys.stderr.write("usage: acme_tool.py DIRECTORY ROOT_CERT "
                         "{%s} [ARGS...]\n" % ",".join(sorted(SCENARIOS)))
        return 2
    client = Client(sys.argv[1], sys.argv[2])
    try:
        SCENARIOS[sys.argv[3]](client, *sys.argv[4:])
    except Exception as err:  # report, so that the test shows the cause
        check(False, "%s: scenario raised %s: %s" % (sys.argv[3],
              type(err).__name__, err))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
