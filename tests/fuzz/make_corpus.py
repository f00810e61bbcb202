#!/usr/bin/python3
"""Write the seed corpora of the libFuzzer targets to corpus/NAME/.

Each seed is a valid input, so that fuzzing starts deep inside the parser.
The seeds are frames that contain protocol messages, JWSs signed by fresh
test keys with the "jwk" or "kid" header, and public JWKs.  There are also
DER CSRs whose names match the order in fuzz_csr.c, and identifiers, times
and contacts for fuzz_identifier.
The keys are new on every run, so the files differ between runs.
Usage: /usr/bin/python3 tests/fuzz/make_corpus.py  (needs the Debian
package python3-cryptography).
"""

import base64
import ipaddress
import json
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def write_seeds(target, seeds):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def int_bytes(value, width=None):
    if width is None:
        width = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(width, "big")


def public_jwk(key):
    """Return the public JWK of key as a dict, members in RFC 7638 order."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384",
               "secp521r1": "P-521"}[key.curve.name]
        return {"crv": crv, "kty": "EC",
                "x": b64url(int_bytes(numbers.x, size)),
                "y": b64url(int_bytes(numbers.y, size))}
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {"e": b64url(int_bytes(numbers.e)), "kty": "RSA",
                "n": b64url(int_bytes(numbers.n))}
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}


def sign(key, alg, data):
    """Sign data as JWS alg requires: r || s at fixed width for ECDSA."""
    if alg.startswith("ES"):
        digest = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(),
                  "ES512": hashes.SHA512()}[alg]
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        return int_bytes(r, size) + int_bytes(s, size)
    if alg == "RS256":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                          salt_length=32), hashes.SHA256())
    return key.sign(data)


def flattened_jws(key, alg, header, payload):
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(payload.encode()) if payload is not None else ""
    signature = sign(key, alg, (protected + "." + body).encode())
    return json.dumps({"protected": protected, "payload": body,
                       "signature": b64url(signature)})


def jws_seeds(keys):
    url = "https://ca.test/acme/acme/new-order"
    order = '{"identifiers":[{"type":"dns","value":"a.test"}]}'
    seeds = {}
    for alg, key in (("ES256", keys["p256"]), ("ES384", keys["p384"]),
                     ("ES512", keys["p521"]), ("RS256", keys["rsa"]),
                     ("PS256", keys["rsa"]), ("EdDSA", keys["ed25519"])):
        header = {"alg": alg, "jwk": public_jwk(key), "nonce": "n0nce-1",
                  "url": url}
        seeds["jwk-" + alg] = flattened_jws(key, alg, header, order)
    header = {"alg": "ES256", "kid": "https://ca.test/acme/acme/acct/1",
              "nonce": "n0nce-2", "url": url}
    seeds["kid-post-as-get"] = flattened_jws(keys["p256"], "ES256", header,
                                             None)

    # External Account Binding: HS256 with the key fuzz_jws.c uses.
    import hmac
    import hashlib
    header = {"alg": "HS256", "kid": "eab-1", "url": url}
    protected = b64url(json.dumps(header).encode())
    payload = b64url(json.dumps(public_jwk(keys["p256"])).encode())
    mac = hmac.new(b"fuzz-eab-hmac-key-of-32-bytes!!",
                   (protected + "." + payload).encode(), hashlib.sha256)
    seeds["eab-hs256"] = json.dumps({"protected": protected,
                                     "payload": payload,
                                     "signature": b64url(mac.digest())})
    return seeds


def jwk_seeds(keys):
    seeds = {}
    for name, key in keys.items():
        seeds[name] = json.dumps(public_jwk(key), separators=(",", ":"))
    # Member order and white space differ from the canonical form.
    jwk = public_jwk(keys["p256"])
    seeds["p256-reordered"] = json.dumps(
        {"y": jwk["y"], "x": jwk["x"], "kty": "EC", "crv": "P-256",
         "use": "sig"}, indent=1)
    return seeds


def csr(key, names, cn=None, algorithm=hashes.SHA256()):
    sans = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    builder = x509.CertificateSigningRequestBuilder()
    builder = builder.subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans),
                                        critical=False)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = None
    request = builder.sign(key, algorithm)
    return request.public_bytes(serialization.Encoding.DER)


def csr_seeds(keys):
    every = ["a.test", "*.a.test", "192.0.2.1", "2001:db8::1"]
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return {
        "p256-all-names": csr(keys["p256"], every),
        "p384-cn-and-sans": csr(keys["p384"], every, cn="a.test"),
        "rsa-cn-only": csr(keys["rsa"], [], cn="a.test"),
        "ed25519-wildcard": csr(keys["ed25519"], ["*.a.test", "A.Test"]),
        "p521-ip-cn": csr(keys["p521"], ["192.0.2.1"], cn="2001:db8::1"),
        "p256-extra-name": csr(keys["p256"], every + ["b.test"]),
        "rsa1024-weak-key": csr(weak, ["a.test"]),
    }


def frame(body):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return struct.pack(">I", len(body)) + body


MESSAGES = {
    "hello": '{"v":1,"type":"hello","name":"http-01","version":"1.0",'
             '"challenge_types":["http-01"]}',
    "validate": '{"v":1,"type":"validate","id":"c-1","challenge_type":'
                '"http-01","identifier":{"type":"dns","value":"a.test"},'
                '"token":"tok_-1","key_authorization":"tok_-1.thumb",'
                '"timeout_ms":10000,"http_port":80,"tls_port":443,'
                '"resolver":"127.0.0.1:53"}',
    "result-valid": '{"v":1,"type":"result","id":"c-1","status":"valid",'
                    '"records":[{"url":"http://a.test/x","status":200}]}',
    "result-invalid": '{"v":1,"type":"result","id":"c-2","status":'
                      '"invalid","error":{"type":"urn:ietf:params:acme:'
                      'error:connection","detail":"refused"},"records":[]}',
    "ping": '{"v":1,"type":"ping","id":"p-7"}',
    "pong": '{"v":1,"type":"pong","id":"p-7"}',
    "log": '{"v":1,"type":"log","level":"info","message":"started"}',
    "future-type": '{"v":1,"type":"stats","uptime":3.5}',
}


def identifier_seeds():
    # The first byte selects the function in fuzz_identifier.c.
    cases = [
        (0, "a.test"), (0, "*.Example.TEST"), (0, "xn--bcher-kva.test"),
        (1, "192.0.2.1"), (1, "2001:DB8:0:0:0:0:0:1"),
        (2, "::ffff:192.0.2.1"), (2, "host-1.a.test"),
        (3, "2024-05-01T10:00:00Z"), (3, "2024-02-29t23:59:60.25+02:00"),
        (3, "1999-12-31T23:59:59-08:30"),
        (4, "mailto:admin@a.test"), (4, "mailto:first.last+acme@A.Test"),
        (5, "*.a.test"), (5, "10.0.0.0/8"), (5, "2001:db8::/32"),
        (5, "a.test"),
    ]
    return {"%d-%02d" % (mode, i): bytes([mode]) + text.encode()
            for i, (mode, text) in enumerate(cases)}


def main():
    keys = {
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537,
                                        key_size=2048),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
    }
    write_seeds("fuzz_jws", jws_seeds(keys))
    write_seeds("fuzz_jwk", jwk_seeds(keys))
    write_seeds("fuzz_csr", csr_seeds(keys))
    write_seeds("fuzz_msg", MESSAGES)
    frames = {name: frame(body) for name, body in MESSAGES.items()}
    frames["two-frames"] = frame(MESSAGES["ping"]) + frame(MESSAGES["pong"])
    frames["truncated"] = frame(MESSAGES["validate"])[:40]
    frames["max-length-header"] = struct.pack(">I", 1024 * 1024) + b"{}"
    write_seeds("fuzz_frame", frames)
    write_seeds("fuzz_b64url", {
        "empty": "", "one-byte": b64url(b"\xff"), "two-bytes": b64url(b"ab"),
        "digest": b64url(bytes(range(32))),
        "protected": b64url(b'{"alg":"ES256","nonce":"x"}'),
    })
    write_seeds("fuzz_identifier", identifier_seeds())


if __name__ == "__main__":
    main()
