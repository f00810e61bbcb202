#!/usr/bin/python3
"""Obtain or revoke a certificate with Debian's python3-acme library.

issue:  register (or reuse) the account of --account-key, order the names,
        answer each http-01 challenge with a file under --webroot, finalize
        and write the key and the full chain.
revoke: find the account of --account-key with onlyReturnExisting and
        revoke --cert with it (reason code --reason).

Exit status 0 on success; an error is printed to stderr with status 1.
"""

import argparse
import datetime
import os
import sys

import josepy as jose
from OpenSSL import crypto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from acme import challenges, client, crypto_util, errors, messages


def load_or_create_account_key(path):
    """Return the JWK in PEM file PATH, creating a 2048-bit RSA key first."""
    if not os.path.exists(path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as out:
            out.write(pem)
    with open(path, "rb") as pem_file:
        key = serialization.load_pem_private_key(pem_file.read(), password=None)
    return jose.JWKRSA(key=key)


def connect(args, jwk):
    """Return a ClientV2 for the directory, trusting only --ca-file."""
    net = client.ClientNetwork(jwk, alg=jose.RS256, verify_ssl=args.ca_file,
                               user_agent="acmeca-interop-test")
    directory = client.ClientV2.get_directory(args.directory, net)
    return client.ClientV2(directory, net)


def use_account(acme, jwk, email, only_existing):
    """Register the account, or attach the existing one of this key.

    python3-acme raises ConflictError when newAccount returns 200 with the
    Location of an account that already exists for the key.
    """
    if only_existing:
        request = messages.NewRegistration(key=jwk.public_key(),
                                           only_return_existing=True)
    else:
        request = messages.NewRegistration.from_data(
            email=email, terms_of_service_agreed=True)
    try:
        acme.new_account(request)
    except errors.ConflictError as existing:
        regr = messages.RegistrationResource(uri=existing.location,
                                             body=messages.Registration())
        acme.net.account = regr
        acme.net.account = acme.query_registration(regr)


def make_rsa_key():
    key = crypto.PKey()
    key.generate_key(crypto.TYPE_RSA, 2048)
    return key


def issue(args):
    jwk = load_or_create_account_key(args.account_key)
    acme = connect(args, jwk)
    use_account(acme, jwk, args.email, only_existing=False)

    key_pem = crypto.dump_privatekey(crypto.FILETYPE_PEM, make_rsa_key())
    csr_pem = crypto_util.make_csr(key_pem, args.names)
    order = acme.new_order(csr_pem)

    challenge_dir = os.path.join(args.webroot, ".well-known", "acme-challenge")
    os.makedirs(challenge_dir, exist_ok=True)
    written = []
    for authz in order.authorizations:
        http01 = [c for c in authz.body.challenges
                  if isinstance(c.chall, challenges.HTTP01)]
        if not http01:
            raise SystemExit("no http-01 challenge offered for "
                             + authz.body.identifier.value)
        response, validation = http01[0].response_and_validation(jwk)
        path = os.path.join(challenge_dir, http01[0].chall.encode("token"))
        with open(path, "w", encoding="ascii") as out:
            out.write(validation)
        written.append(path)
        acme.answer_challenge(http01[0], response)

    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    try:
        finished = acme.poll_and_finalize(order, deadline)
    finally:
        for path in written:
            os.remove(path)

    with open(os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "wb") as out:
        out.write(key_pem)
    with open(args.cert, "w", encoding="ascii") as out:
        out.write(finished.fullchain_pem)


def revoke(args):
    jwk = load_or_create_account_key(args.account_key)
    acme = connect(args, jwk)
    use_account(acme, jwk, None, only_existing=True)
    with open(args.cert, "rb") as pem:
        cert = crypto.load_certificate(crypto.FILETYPE_PEM, pem.read())
    acme.revoke(jose.ComparableX509(cert), args.reason)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["issue", "revoke"])
    parser.add_argument("--directory", required=True, help="ACME directory URL")
    parser.add_argument("--ca-file", required=True,
                        help="PEM roots that the server's TLS chain must verify against")
    parser.add_argument("--account-key", required=True,
                        help="PEM account key, created when missing")
    parser.add_argument("--email", default="python-acme@example.test")
    parser.add_argument("--webroot", help="folder served on the http-01 port")
    parser.add_argument("--cert", required=True,
                        help="full chain to write (issue) or to revoke")
    parser.add_argument("--key", help="certificate key to write (issue)")
    parser.add_argument("--reason", type=int, default=0,
                        help="RFC 5280 revocation reason code")
    parser.add_argument("names", nargs="*")
    args = parser.parse_intermixed_args()

    if args.command == "issue":
        if not args.names or not args.webroot or not args.key:
            parser.error("issue needs --webroot, --key and at least one name")
        issue(args)
    else:
        revoke(args)


if __name__ == "__main__":
    try:
        main()
    except errors.Error as failure:
        print(f"python3-acme: {type(failure).__name__}: {failure}", file=sys.stderr)
        sys.exit(1)
    except messages.Error as problem:
        print(f"python3-acme: server returned problem {problem}", file=sys.stderr)
        sys.exit(1)
