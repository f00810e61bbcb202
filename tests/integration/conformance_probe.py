#!/usr/bin/python3
"""Check the RFC 8555 shape of ca-core's successful and error responses.

acme_probe.py sends hostile input; this probe walks the normal flow the
way an independent conformance checker would and checks what comes back:
the HTTP status of every step, the required members and their JSON types
in account, order, authorization and challenge objects, and the headers
(Content-Type, Replay-Nonce, Link rel="index" and rel="up", Location,
Retry-After, Cache-Control, Allow).  It reuses acme_probe.py's client, so
run it with /usr/bin/python3 (Debian's python3-cryptography).

Usage:
    conformance_probe.py --directory URL --tos-directory URL --root CA.pem
        --http01-port PORT

--tos-directory is an ACME provisioner of the same CA with terms of
service.  Prints "ok   NAME" or "FAIL NAME: ..." per check and ends with
"probe: N passed, N failed"; the exit status is 1 when a check failed.
"""

import argparse
import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acme_probe import (  # noqa: E402
    ERR, Account, Client, Key, Responder, Results, b64u,
    expect_error, jws, make_csr)

JSON_TYPE = "application/json"
PEM_CHAIN_TYPE = "application/pem-certificate-chain"
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ---------------------------------------------------------------------------
# Predicates over a Response
# ---------------------------------------------------------------------------

def media_type(resp):
    return (resp.header("Content-Type") or "").split(";")[0].strip().lower()


def header_values(resp, name):
    return [v for k, v in resp.headers if k.lower() == name.lower()]


def links(resp, rel):
    """The targets of every Link header with relation rel."""
    found = []
    for value in header_values(resp, "Link"):
        for part in value.split(","):
            m = re.match(r'\s*<([^>]*)>\s*;\s*rel="?([^";]+)"?', part)
            if m and m.group(2) == rel:
                found.append(m.group(1))
    return found


def is_time(value):
    if not isinstance(value, str) or not RFC3339.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def member(name, kind=None, predicate=None):
    """A check that the JSON body has member name of type kind."""
    def check(resp):
        body = resp.json if isinstance(resp.json, dict) else {}
        if name not in body:
            return False
        if kind is not None and not isinstance(body[name], kind):
            return False
        return predicate is None or predicate(body[name])
    text = "member %r" % name
    if kind is not None:
        text += " of type %s" % getattr(kind, "__name__", kind)
    return (text, check)


def absent(name):
    return ("no member %r" % name,
            lambda r: isinstance(r.json, dict) and name not in r.json)


def equals(name, value):
    return ("%s is %r" % (name, value),
            lambda r: isinstance(r.json, dict) and r.json.get(name) == value)


def has_header(name, value=None):
    if value is None:
        return ("a %s header" % name, lambda r: bool(r.header(name)))
    return ("%s: %s" % (name, value), lambda r: r.header(name) == value)


def no_header(name):
    return ("no %s header" % name, lambda r: r.header(name) is None)


def time_member(name):
    return ("%s is an RFC 3339 date-time" % name,
            lambda r: isinstance(r.json, dict) and is_time(r.json.get(name)))


def link_index(ctx):
    want = ctx.c.directory_url
    return ('Link <%s>;rel="index"' % want,
            lambda r: want in links(r, "index"))


def link_up(url):
    return ('Link <%s>;rel="up"' % url, lambda r: url in links(r, "up"))


def json_object(resp):
    return media_type(resp) == JSON_TYPE and isinstance(resp.json, dict)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

class Context:
    def __init__(self, args):
        self.args = args
        self.c = Client(args.directory, args.root, "127.0.0.1")
        self.responder = Responder(args.http01_port)
        self.results = Results()

    def expect(self, name, resp, status, extra=()):
        """A success: status, Link rel="index", a Replay-Nonce after a
        POST (the caller says which), and the extra checks."""
        problems = []
        if resp.status != status:
            problems.append("expected HTTP %d" % status)
        for description, predicate in extra:
            try:
                good = predicate(resp)
            except Exception:  # a malformed body fails the check
                good = False
            if not good:
                problems.append(description)
        if problems:
            self.results.fail(name, "; ".join(problems) + "; received " +
                              resp.describe() + " " + repr(resp.headers))
        else:
            self.results.ok("%s: %d" % (name, resp.status))

    def post_success(self, name, resp, status, extra=()):
        """A successful POST: also Replay-Nonce and Link rel="index"."""
        self.expect(name, resp, status, [
            has_header("Replay-Nonce"), link_index(self)] + list(extra))

    def error(self, name, resp, status, types, extra=()):
        expect_error(self.results, name, resp, status, types,
                     [link_index(self)] + list(extra))


def check_directory(ctx):
    c = ctx.c
    resp = c.http.request("GET", c.directory_url)
    ctx.expect("directory GET", resp, 200, [
        ("application/json object", json_object),
        link_index(ctx)] + [
        member(k, str) for k in ("newNonce", "newAccount", "newOrder",
                                 "revokeCert", "keyChange")] + [
        member("meta", dict)])

    resp = c.http.request("HEAD", c.url("newNonce"))
    ctx.expect("newNonce HEAD", resp, 200, [
        has_header("Replay-Nonce"), has_header("Cache-Control", "no-store"),
        link_index(ctx)])
    resp = c.http.request("GET", c.url("newNonce"))
    ctx.expect("newNonce GET", resp, 204, [
        has_header("Replay-Nonce"), has_header("Cache-Control", "no-store"),
        link_index(ctx)])


def check_bootstrap_post_as_get(ctx):
    """RFC 8555 6.3: the directory and newNonce also take POST-as-GET."""
    c, a = ctx.c, ctx.a
    resp = c.post(c.directory_url, "", a)
    ctx.post_success("directory POST-as-GET by kid", resp, 200, [
        ("application/json object", json_object),
        member("newOrder", str)])
    resp = c.post(c.url("newNonce"), "", a)
    ctx.post_success("newNonce POST-as-GET by kid", resp, 200, [
        has_header("Cache-Control", "no-store")])
    resp = c.post(c.url("newNonce"), "", key=Key())
    ctx.post_success("newNonce POST-as-GET by jwk", resp, 200, [
        has_header("Cache-Control", "no-store")])
    resp = c.post(c.directory_url, {}, a)
    ctx.error("directory POST with a payload", resp, 400, "malformed")


def account_checks(ctx):
    return [("application/json object", json_object),
            member("status", str), member("contact", list),
            member("orders", str)]


def check_accounts(ctx):
    c = ctx.c
    key = Key()
    resp = c.post(c.url("newAccount"), {
        "termsOfServiceAgreed": True,
        "contact": ["mailto:admin@conformance.test"]}, key=key)
    ctx.post_success("newAccount creates", resp, 201, [
        has_header("Location"), equals("status", "valid")] +
        account_checks(ctx))
    ctx.a = Account(key, resp.header("Location"))

    resp = c.post(c.url("newAccount"), {"termsOfServiceAgreed": True},
                  key=key)
    ctx.post_success("newAccount for an existing key", resp, 200, [
        has_header("Location", ctx.a.url)])
    resp = c.post(c.url("newAccount"), {"onlyReturnExisting": True},
                  key=key)
    ctx.post_success("onlyReturnExisting finds the account", resp, 200, [
        has_header("Location", ctx.a.url)])
    resp = c.post(c.url("newAccount"), {"onlyReturnExisting": True},
                  key=Key())
    ctx.error("onlyReturnExisting for an unknown key", resp, 400,
              "accountDoesNotExist")

    resp = c.get(ctx.a.url, ctx.a)
    ctx.post_success("account POST-as-GET", resp, 200, account_checks(ctx))
    ctx.orders_url = (resp.json or {}).get("orders")

    resp = c.post(ctx.a.url, {"contact": ["mailto:ops@conformance.test"]},
                  ctx.a)
    ctx.post_success("account contact update", resp, 200, [
        equals("contact", ["mailto:ops@conformance.test"])] +
        account_checks(ctx))
    # RFC 8555 7.3.2 lets a client send back the account object it got,
    # whose "status" is "valid".
    resp = c.post(ctx.a.url, {"status": "valid"}, ctx.a)
    ctx.post_success("account update repeating status valid", resp, 200,
                     [equals("status", "valid")])
    resp = c.post(ctx.a.url, {"status": "revoked"}, ctx.a)
    ctx.error("account update to status revoked", resp, 400, "malformed")


def check_terms(ctx):
    """RFC 8555 7.3.3: userActionRequired links to the terms."""
    tos = Client(ctx.args.tos_directory, ctx.args.root, "127.0.0.1")
    terms = tos.dir.get("meta", {}).get("termsOfService")
    resp = tos.post(tos.url("newAccount"), {"contact": []}, key=Key())
    expect_error(ctx.results, "newAccount without agreeing to the terms",
                 resp, 403, "userActionRequired", [
                     ('Link rel="terms-of-service" to %s' % terms,
                      lambda r: terms is not None and
                      terms in links(r, "terms-of-service"))])


def order_checks(status):
    checks = [("application/json object", json_object),
              equals("status", status), time_member("expires"),
              member("identifiers", list, lambda v: all(
                  isinstance(i, dict) and isinstance(i.get("type"), str) and
                  isinstance(i.get("value"), str) for i in v)),
              member("authorizations", list, lambda v: len(v) > 0 and all(
                  isinstance(u, str) for u in v)),
              member("finalize", str)]
    if status == "valid":
        checks.append(member("certificate", str))
    else:
        checks.append(absent("certificate"))
    if status == "invalid":
        checks.append(member("error", dict, lambda e: str(
            e.get("type", "")).startswith(ERR)))
    else:
        checks.append(absent("error"))
    return checks


def authz_checks(status):
    return [("application/json object", json_object),
            equals("status", status),
            member("identifier", dict, lambda i: i.get("type") == "dns" and
                   isinstance(i.get("value"), str)),
            member("challenges", list, lambda v: len(v) > 0 and all(
                isinstance(ch.get("type"), str) and
                isinstance(ch.get("url"), str) and
                isinstance(ch.get("status"), str) and
                isinstance(ch.get("token"), str) for ch in v))]


def new_order(ctx, names):
    return ctx.c.post(ctx.c.url("newOrder"), {"identifiers": [
        {"type": "dns", "value": n} for n in names]}, ctx.a)


def check_order_flow(ctx):
    c, a = ctx.c, ctx.a
    names = ["flow.conformance.test"]
    resp = new_order(ctx, names)
    ctx.post_success("newOrder", resp, 201, [has_header("Location")] +
                     order_checks("pending"))
    order = resp.json or {}
    order_url = resp.header("Location")

    resp = c.get(order_url, a)
    ctx.post_success("pending order POST-as-GET", resp, 200, [
        has_header("Retry-After")] + order_checks("pending"))
    resp = c.post(order_url, {}, a)
    ctx.error("order POST with a payload", resp, 400, "malformed")

    resp = c.get(ctx.orders_url, a)
    ctx.post_success("account orders list", resp, 200, [
        member("orders", list, lambda v: order_url in v)])

    authz_url = order["authorizations"][0]
    resp = c.get(authz_url, a)
    ctx.post_success("pending authorization POST-as-GET", resp, 200, [
        has_header("Retry-After"), time_member("expires"),
        absent("wildcard"),
        ("two challenges offered (http-01, allowlist-01)",
         lambda r: len(r.json["challenges"]) == 2)] +
        authz_checks("pending"))
    authz = resp.json or {}
    chall = [ch for ch in authz.get("challenges", [])
             if ch.get("type") == "http-01"][0]

    resp = c.get(chall["url"], a)
    ctx.post_success("pending challenge POST-as-GET", resp, 200, [
        equals("status", "pending"), link_up(authz_url),
        has_header("Retry-After"), absent("validated")])

    ctx.responder.tokens[chall["token"]] = (chall["token"] + "." +
                                            a.key.thumbprint())
    resp = c.post(chall["url"], {}, a)
    ctx.post_success("challenge response", resp, 200, [
        ("status processing or valid", lambda r: (r.json or {}).get(
            "status") in ("processing", "valid")),
        link_up(authz_url), equals("url", chall["url"])])

    authz = wait_final(ctx, authz_url)
    resp = c.get(chall["url"], a)
    ctx.post_success("validated challenge", resp, 200, [
        equals("status", "valid"), time_member("validated"),
        absent("error"), no_header("Retry-After")])
    resp = c.get(authz_url, a)
    ctx.post_success("valid authorization", resp, 200, [
        time_member("expires"), no_header("Retry-After"),
        ("only the validated challenge listed", lambda r: [
            ch["url"] for ch in r.json["challenges"]] == [chall["url"]])] +
        authz_checks("valid"))

    resp = c.get(order_url, a)
    ctx.post_success("ready order", resp, 200, order_checks("ready"))

    key = Key()
    resp = c.post(order["finalize"], {"csr": b64u(make_csr(key, names))}, a)
    ctx.post_success("finalize", resp, 200, [
        has_header("Location", order_url)] + order_checks("valid"))
    cert_url = (resp.json or {}).get("certificate")

    resp = c.get(order_url, a)
    ctx.post_success("valid order", resp, 200, [
        no_header("Retry-After")] + order_checks("valid"))
    resp = c.get(cert_url, a)
    ctx.post_success("certificate download", resp, 200, [
        ("Content-Type %s" % PEM_CHAIN_TYPE,
         lambda r: media_type(r) == PEM_CHAIN_TYPE),
        ("two or more PEM certificates", lambda r: r.body.count(
            b"-----BEGIN CERTIFICATE-----") >= 2)])
    resp = c.post(cert_url, {}, a)
    ctx.error("certificate POST with a payload", resp, 400, "malformed")

    ctx.cert_pem = c.get(cert_url, a).body
    ctx.urls = {"order": order_url, "authorization": authz_url,
                "challenge": chall["url"], "certificate": cert_url,
                "account": a.url, "finalize": order["finalize"]}


def wait_final(ctx, authz_url):
    deadline = time.time() + 20
    while time.time() < deadline:
        authz = ctx.c.get(authz_url, ctx.a).json or {}
        if authz.get("status") != "pending":
            return authz
        time.sleep(0.2)
    return {}


def check_failed_challenge(ctx):
    """RFC 8555 7.1.4, 7.1.6: a failed challenge makes its authorization
    and order invalid, each with an error."""
    c, a = ctx.c, ctx.a
    resp = new_order(ctx, ["fail.conformance.test"])
    order_url = resp.header("Location")
    authz_url = (resp.json or {}).get("authorizations", [None])[0]
    authz = c.get(authz_url, a).json or {}
    chall = [ch for ch in authz.get("challenges", [])
             if ch.get("type") == "http-01"][0]
    c.post(chall["url"], {}, a)  # the responder has no such token
    wait_final(ctx, authz_url)
    resp = c.get(chall["url"], a)
    ctx.post_success("failed challenge", resp, 200, [
        equals("status", "invalid"), absent("validated"),
        member("error", dict, lambda e: str(e.get("type", "")).startswith(
            ERR))])
    resp = c.get(authz_url, a)
    ctx.post_success("invalid authorization", resp, 200, [
        ("only the failed challenge listed", lambda r: [
            ch["url"] for ch in r.json["challenges"]] == [chall["url"]])] +
        authz_checks("invalid"))
    resp = c.get(order_url, a)
    ctx.post_success("invalid order", resp, 200, order_checks("invalid"))


def check_deactivation(ctx):
    """RFC 8555 7.5.2: deactivation returns the deactivated
    authorization, and its order can no longer become ready."""
    c, a = ctx.c, ctx.a
    resp = new_order(ctx, ["deactivate.conformance.test"])
    order_url = resp.header("Location")
    authz_url = (resp.json or {}).get("authorizations", [None])[0]
    resp = c.post(authz_url, {"status": "deactivated"}, a)
    ctx.post_success("authorization deactivation", resp, 200, [
        equals("status", "deactivated")] + authz_checks("deactivated"))
    resp = c.get(order_url, a)
    ctx.post_success("order after deactivation", resp, 200,
                     order_checks("invalid"))


def check_methods(ctx):
    """RFC 8555 6.3: only the directory and newNonce accept GET.  Other
    resources reply 405 with Allow and a problem document."""
    for kind in ("order", "authorization", "challenge", "certificate",
                 "account", "finalize"):
        resp = ctx.c.http.request("GET", ctx.urls[kind])
        ctx.error("GET of the %s URL" % kind, resp, 405, "malformed", [
            has_header("Allow", "POST")])
    for name in ("newAccount", "newOrder", "revokeCert", "keyChange"):
        resp = ctx.c.http.request("GET", ctx.c.url(name))
        ctx.error("GET of %s" % name, resp, 405, "malformed", [
            has_header("Allow", "POST")])
    resp = ctx.c.http.request("PUT", ctx.c.directory_url, body=b"{}")
    ctx.error("PUT of the directory", resp, 405, "malformed", [
        has_header("Allow", "GET, HEAD, POST")])
    resp = ctx.c.http.request("GET", ctx.c.directory_url.replace(
        "/directory", "/no-such-resource"))
    ctx.error("GET of an unknown resource", resp, 404, "malformed")


def check_key_change(ctx):
    """RFC 8555 7.3.5: a key change returns the account object."""
    c = ctx.c
    acct = c.new_account(Key())
    new_key = Key()
    url = c.url("keyChange")
    inner = jws(new_key, {"alg": new_key.alg, "jwk": new_key.jwk(),
                          "url": url},
                {"account": acct.url, "oldKey": acct.key.jwk()})
    resp = c.post(url, inner, acct)
    ctx.post_success("key change", resp, 200, account_checks(ctx))


def check_revocation(ctx):
    """RFC 8555 7.6: a revocation that succeeds is 200."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    c = ctx.c
    cert = x509.load_pem_x509_certificate(ctx.cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    resp = c.post(c.url("revokeCert"), {"certificate": b64u(der)}, ctx.a)
    ctx.post_success("revokeCert", resp, 200)
    resp = c.post(c.url("revokeCert"), {"certificate": b64u(der)}, ctx.a)
    ctx.error("revokeCert again", resp, 400, "alreadyRevoked")


def check_account_deactivation(ctx):
    c = ctx.c
    acct = c.new_account(Key())
    resp = c.post(acct.url, {"status": "deactivated"}, acct)
    ctx.post_success("account deactivation", resp, 200, [
        equals("status", "deactivated")] + account_checks(ctx))
    resp = c.get(acct.url, acct)
    ctx.error("request of a deactivated account", resp, 401,
              "unauthorized")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directory", required=True)
    parser.add_argument("--tos-directory", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--http01-port", type=int, required=True)
    args = parser.parse_args()

    ctx = Context(args)
    steps = [check_directory, check_accounts, check_bootstrap_post_as_get,
             check_terms, check_order_flow, check_failed_challenge,
             check_deactivation, check_methods,
             check_key_change, check_revocation, check_account_deactivation]
    for step in steps:
        try:
            step(ctx)
        except Exception as exc:  # a crash of one step fails it
            ctx.results.fail("%s stopped early" % step.__name__, repr(exc))
    results = ctx.results
    print("probe: %d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
