#!/usr/bin/env python3
"""Example validator plugin for ca-core: the "allowlist-01" challenge type.

An operator keeps a file of the identifiers that may get certificates,
optionally each bound to one ACME account.  A validation is valid when the
identifier is listed and, where the line names an account key thumbprint,
the request comes from that account.  This proves the operator's approval,
not control of the name, so it suits a private PKI where the operator
registers names ahead of time.  The client has nothing to set up: it only
POSTs the challenge.

Allow-list file, read once at start (restart the plugin to reload it):

    # comment
    www.example.test
    db.example.test   9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
    192.0.2.10

Usage:
    allowlist_validator.py --allow-list FILE [--listen PATH]

Without --listen the plugin serves the socket that ca-core passes at the
descriptor named by CA_VALIDATOR_FD.  With --listen it creates a Unix
socket at PATH and serves every connection in its own thread, for ca-core
instances that dial it ("socket" in ca-core's config).

Protocol: proto/PROTOCOL.md, version 1.  Only the Python standard library
is used.  Errors: a bad allow-list file or command line is fatal at start
(exit status 2).  A peer that breaks the protocol (bad frame length,
invalid JSON, a missing or mistyped field) loses its connection with a line
on stderr; in fd mode the plugin then exits with status 1 so that ca-core
restarts it.  A request that is well formed but outside ACME's limits gets
an invalid result with a malformed problem.
"""

import argparse
import ipaddress
import json
import os
import socket
import stat
import struct
import sys
import threading

PROTOCOL_VERSION = 1
NAME = "example-allowlist-validator"
VERSION = "1.0.0"
CHALLENGE_TYPE = "allowlist-01"

FRAME_HEADER_LEN = 4
FRAME_MIN_BODY = 2
FRAME_MAX_BODY = 1024 * 1024
MAX_ID_LEN = 128
MAX_STRING_LEN = 8192
MAX_IDENTIFIER_LEN = 253
MAX_ALLOW_LIST_BYTES = 16 * 1024 * 1024

PROBLEM = "urn:ietf:params:acme:error:"


class ProtocolError(Exception):
    """The peer broke the protocol; the connection must be closed."""


def log(text):
    print(f"{NAME}[{os.getpid()}]: {text}", file=sys.stderr, flush=True)


def normalize(identifier_type, value):
    """Canonical text of an identifier, or None when it is not valid."""
    if identifier_type == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    name = value.lower()
    if len(name) > MAX_IDENTIFIER_LEN or name.endswith("."):
        return None
    labels = name.split(".")
    for label in labels:
        if not 1 <= len(label) <= 63 or label[0] == "-" or label[-1] == "-":
            return None
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in label):
            return None
    return name


def load_allow_list(path):
    """Read the allow-list: {identifier: (thumbprint or None, line)}."""
    entries = {}
    with open(path, "rb") as f:
        data = f.read(MAX_ALLOW_LIST_BYTES + 1)
    if len(data) > MAX_ALLOW_LIST_BYTES:
        raise ValueError(f"{path} is larger than {MAX_ALLOW_LIST_BYTES} bytes")
    for number, raw in enumerate(data.decode("utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if len(line) > 2:
            raise ValueError(f"{path}:{number}: expected NAME [THUMBPRINT]")
        kind = "ip" if ":" in line[0] or line[0].replace(".", "").isdigit() else "dns"
        name = normalize(kind, line[0])
        if name is None:
            raise ValueError(f"{path}:{number}: {line[0]!r} is neither a DNS "
                             "name nor an IP address")
        entries[name] = (line[1] if len(line) == 2 else None, number)
    return entries


def recv_exact(sock, n, inside_frame):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            if inside_frame or data:
                raise ProtocolError("connection closed inside a frame")
            return None
        data += chunk
    return bytes(data)


def read_message(sock):
    """Read one frame and check the envelope.  None at a clean close."""
    header = recv_exact(sock, FRAME_HEADER_LEN, False)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if not FRAME_MIN_BODY <= length <= FRAME_MAX_BODY:
        raise ProtocolError(f"frame length {length} is outside "
                            f"{FRAME_MIN_BODY}..{FRAME_MAX_BODY}")
    body = recv_exact(sock, length, True)
    try:
        msg = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"frame body is not UTF-8 JSON: {e}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("frame body is not a JSON object")
    if type(msg.get("v")) is not int or msg["v"] != PROTOCOL_VERSION:
        raise ProtocolError(f'field "v" is not the integer {PROTOCOL_VERSION}')
    if not isinstance(msg.get("type"), str):
        raise ProtocolError('field "type" is missing or not a string')
    if msg["type"] in ("validate", "ping"):
        get_string(msg, "id", MAX_ID_LEN)
        if msg["id"] == "":
            raise ProtocolError('field "id" is empty')
    return msg


def get_string(obj, field, max_len=MAX_STRING_LEN):
    value = obj.get(field) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        raise ProtocolError(f'field "{field}" is missing or not a string')
    if len(value.encode("utf-8")) > max_len or "\0" in value:
        raise ProtocolError(f'field "{field}" is longer than {max_len} bytes '
                            "or contains NUL")
    return value


class Connection:
    """One session with ca-core on a connected socket."""

    def __init__(self, sock, allow_list):
        self.sock = sock
        self.allow_list = allow_list
        self.lock = threading.Lock()

    def send(self, msg):
        body = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        with self.lock:
            self.sock.sendall(struct.pack(">I", len(body)) + body)

    def send_log(self, level, text):
        self.send({"v": 1, "type": "log", "level": level,
                   "message": text[:1024]})

    def result(self, msg_id, problem=None, detail="", records=()):
        msg = {"v": 1, "type": "result", "id": msg_id,
               "status": "invalid" if problem else "valid",
               "records": list(records)}
        if problem:
            msg["error"] = {"type": PROBLEM + problem, "detail": detail}
        self.send(msg)

    def validate(self, msg):
        msg_id = msg["id"]
        challenge = msg.get("challenge")
        identifier = msg.get("identifier")
        challenge_type = get_string(challenge, "type", 64)
        get_string(challenge, "token")
        get_string(challenge, "key_authorization")
        id_type = get_string(identifier, "type", 64)
        value = get_string(identifier, "value")
        thumbprint = msg.get("account_thumbprint")
        if thumbprint is not None:
            thumbprint = get_string(msg, "account_thumbprint")

        if challenge_type != CHALLENGE_TYPE:
            self.result(msg_id, "malformed", f"this validator serves "
                        f"{CHALLENGE_TYPE}, not {challenge_type[:64]!r}")
            return
        if id_type not in ("dns", "ip"):
            self.result(msg_id, "rejectedIdentifier",
                        f"{CHALLENGE_TYPE} validates dns and ip identifiers, "
                        f"not {id_type[:64]!r}")
            return
        name = normalize(id_type, value)
        if name is None:
            self.result(msg_id, "malformed", f"{value[:MAX_IDENTIFIER_LEN]!r} "
                        f"is not a valid {id_type} identifier")
            return
        entry = self.allow_list.get(name)
        if entry is None:
            self.send_log("info", f"id={msg_id} {name}: not on the allow-list")
            self.result(msg_id, "rejectedIdentifier",
                        f"{name} is not on the operator's allow-list")
            return
        bound, line = entry
        if bound is not None and bound != thumbprint:
            self.send_log("info", f"id={msg_id} {name}: listed for another "
                          "account")
            self.result(msg_id, "unauthorized", f"{name} is on the "
                        "allow-list for a different ACME account")
            return
        self.send_log("info", f"id={msg_id} {name}: allowed by line {line}")
        self.result(msg_id, records=[{"hostname": name,
                                      "allow_list_line": line}])

    def serve(self):
        """Serve until ca-core closes.  Raises ProtocolError or OSError."""
        self.send({"v": 1, "type": "hello", "name": NAME, "version": VERSION,
                   "challenge_types": [CHALLENGE_TYPE]})
        while True:
            msg = read_message(self.sock)
            if msg is None:
                return
            if msg["type"] == "ping":
                self.send({"v": 1, "type": "pong", "id": msg["id"]})
            elif msg["type"] == "validate":
                self.validate(msg)
            # Other message types are ignored, as the protocol requires.


def serve_socket(sock, allow_list):
    try:
        Connection(sock, allow_list).serve()
        return 0
    except ProtocolError as e:
        log(f"closing the connection: {e}")
        return 1
    except OSError as e:
        log(f"connection failed: {e}")
        return 1
    finally:
        sock.close()


def listen(path, allow_list):
    if os.path.lexists(path):
        if not stat_is_socket(path):
            log(f"{path} exists and is not a socket; remove it or choose "
                "another path")
            return 2
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        server.bind(path)
    finally:
        os.umask(old)
    server.listen(16)
    log(f"listening on {path} for {CHALLENGE_TYPE}")
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve_socket, args=(conn, allow_list),
                         daemon=True).start()


def stat_is_socket(path):
    return stat.S_ISSOCK(os.lstat(path).st_mode)


def main():
    parser = argparse.ArgumentParser(description=f"ca-core validator for "
                                     f"{CHALLENGE_TYPE} (protocol version 1)")
    parser.add_argument("--allow-list", required=True, metavar="FILE",
                        help="file of allowed identifiers, one per line, "
                        "each optionally followed by an account thumbprint")
    parser.add_argument("--listen", metavar="PATH",
                        help="serve a Unix socket at PATH (mode 0660) "
                        "instead of the descriptor in CA_VALIDATOR_FD")
    args = parser.parse_args()
    try:
        allow_list = load_allow_list(args.allow_list)
    except (OSError, ValueError) as e:
        log(f"cannot load the allow-list: {e}")
        return 2
    log(f"loaded {len(allow_list)} allow-list entries from {args.allow_list}")
    if args.listen:
        return listen(args.listen, allow_list)
    fd_text = os.environ.get("CA_VALIDATOR_FD", "")
    if not fd_text.isdigit():
        log("CA_VALIDATOR_FD is not set; start this program from ca-core, "
            "or use --listen PATH")
        return 2
    sock = socket.socket(fileno=int(fd_text))
    return serve_socket(sock, allow_list)


if __name__ == "__main__":
    sys.exit(main())
