#!/usr/bin/env python3
"""Drive a validator over the framed protocol, as ca-core does.

The validator is started with one end of a socket pair as descriptor 3
(CA_VALIDATOR_FD=3), or, for the "listen" scenario, with --listen PATH.
Each scenario prints one line per message received, in the form

    hello name=NAME types=TYPE,...
    result id=ID status=STATUS error=TYPE detail=DETAIL
    pong id=ID

followed by the raw JSON on a line starting with "json ", and ends with
"exit=N" (the validator's exit status) or "timeout" when the validator did
not stop.  The calling test script greps these lines.
"""

import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

FRAME_MAX = 1024 * 1024


def send_frame(sock, obj):
    body = json.dumps(obj).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_frame(sock):
    """Return the next message, or None when the validator closed."""
    header = recv_exact(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if length < 2 or length > FRAME_MAX:
        raise ValueError("validator sent a frame of %d bytes" % length)
    body = recv_exact(sock, length)
    if body is None:
        raise ValueError("validator closed inside a frame")
    return json.loads(body)


def describe(msg):
    kind = msg.get("type")
    if kind == "hello":
        line = "hello name=%s types=%s" % (
            msg.get("name"), ",".join(msg.get("challenge_types", [])))
    elif kind == "result":
        err = msg.get("error") or {}
        line = "result id=%s status=%s error=%s detail=%s" % (
            msg.get("id"), msg.get("status"), err.get("type", "-"),
            err.get("detail", "-"))
    elif kind == "pong":
        line = "pong id=%s" % msg.get("id")
    else:
        line = "message type=%s" % kind
    print(line)
    print("json " + json.dumps(msg, sort_keys=True))
    sys.stdout.flush()


def validate_request(args, ident, token, keyauth, req_id, http_port=None,
                     timeout_ms=None, ident_type=None, thumbprint=None):
    options = {"http_port": http_port or args.http_port,
               "timeout_ms": timeout_ms or args.timeout_ms}
    if args.resolver:
        options["resolver"] = args.resolver
    msg = {"v": 1, "type": "validate", "id": req_id,
           "challenge": {"type": args.challenge_type, "token": token,
                         "key_authorization": keyauth},
           "identifier": {"type": ident_type or args.identifier_type,
                          "value": ident},
           "options": options}
    if thumbprint:
        msg["account_thumbprint"] = thumbprint
    return msg


def start_inherited(args):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = dict(os.environ, CA_VALIDATOR_FD="3")

    def to_fd3():
        # dup2 onto itself would keep the close-on-exec flag.
        if theirs.fileno() == 3:
            os.set_inheritable(3, True)
        else:
            os.dup2(theirs.fileno(), 3)

    proc = subprocess.Popen([args.validator], env=env, pass_fds=(3,),
                            preexec_fn=to_fd3)
    theirs.close()
    ours.settimeout(args.wait)
    return proc, ours


def finish(proc, sock, close=True):
    """Close our end (EOF for the validator) and report its exit."""
    if close:
        sock.close()
    try:
        print("exit=%d" % proc.wait(timeout=10))
    except subprocess.TimeoutExpired:
        print("timeout")
        proc.kill()
        proc.wait()


def expect_hello(sock):
    msg = recv_frame(sock)
    if msg is None:
        print("closed before hello")
        return False
    describe(msg)
    return msg.get("type") == "hello"


def scenario_validate(args):
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        send_frame(sock, validate_request(
            args, args.identifier, args.token, args.keyauth, args.id,
            thumbprint=args.thumbprint))
        msg = recv_frame(sock)
        if msg is None:
            print("closed before result")
        else:
            describe(msg)
    finish(proc, sock)


def scenario_ping(args):
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        send_frame(sock, {"v": 1, "type": "ping", "id": "health-1"})
        describe(recv_frame(sock))
        # A type this version does not know is ignored, not fatal.
        send_frame(sock, {"v": 1, "type": "future-type", "id": "x"})
        send_frame(sock, {"v": 1, "type": "ping", "id": "health-2"})
        describe(recv_frame(sock))
    finish(proc, sock)


def scenario_in_flight(args):
    """Send a slow validation, then a fast one.  The fast result arrives
    first, the slow one when its deadline passes."""
    hang = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hang.bind(("127.0.0.1", args.hang_port))
    hang.listen(16)    # never accepted: connects succeed, no response
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        send_frame(sock, validate_request(
            args, args.identifier, args.token, args.keyauth, "slow",
            http_port=args.hang_port, timeout_ms=1500))
        send_frame(sock, validate_request(
            args, args.identifier, args.token, args.keyauth, "fast"))
        for _ in range(2):
            msg = recv_frame(sock)
            if msg is None:
                print("closed before result")
                break
            describe(msg)
    finish(proc, sock)
    hang.close()


def scenario_raw_json(args):
    """Send one frame with the given JSON text (which may break the
    protocol) and print what comes back until the validator closes."""
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        sock.settimeout(5)
        body = args.raw.encode()
        sock.sendall(struct.pack(">I", len(body)) + body)
        try:
            while True:
                msg = recv_frame(sock)
                if msg is None:
                    print("closed")
                    break
                describe(msg)
        except (ConnectionResetError, ValueError):
            print("closed")
        except socket.timeout:
            print("still open")
    finish(proc, sock)


def scenario_raw(args):
    """Send raw bytes (hex) and expect the validator to close and exit."""
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        sock.sendall(bytes.fromhex(args.raw))
        try:
            msg = recv_frame(sock)
            print("closed" if msg is None else "unexpected message")
        except (ConnectionResetError, ValueError):
            print("closed")
    finish(proc, sock, close=False)
    sock.close()


def scenario_cancel_on_close(args):
    """Close the socket while a validation is in flight."""
    hang = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hang.bind(("127.0.0.1", args.hang_port))
    hang.listen(16)
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        send_frame(sock, validate_request(
            args, args.identifier, args.token, args.keyauth, "pending",
            http_port=args.hang_port, timeout_ms=5000))
        time.sleep(0.5)
    finish(proc, sock)
    hang.close()


def scenario_close_early(args):
    """Close without reading the hello: a reset, still an ordinary close."""
    proc, sock = start_inherited(args)
    time.sleep(0.5)
    finish(proc, sock)


def scenario_many(args):
    """Send 50 validations at once and print every result."""
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        for n in range(50):
            send_frame(sock, validate_request(
                args, args.identifier, args.token, args.keyauth,
                "many-%d" % n))
        for _ in range(50):
            msg = recv_frame(sock)
            if msg is None:
                print("closed before result")
                break
            describe(msg)
    finish(proc, sock)


def scenario_sigterm(args):
    proc, sock = start_inherited(args)
    if expect_hello(sock):
        proc.send_signal(signal.SIGTERM)
    finish(proc, sock, close=False)
    sock.close()


def scenario_listen(args):
    """Serve two connections on --listen PATH, then stop on SIGTERM."""
    proc = subprocess.Popen([args.validator, "--listen", args.socket_path])
    for _ in range(100):
        if os.path.exists(args.socket_path):
            break
        time.sleep(0.05)
    mode = os.stat(args.socket_path).st_mode & 0o777
    print("mode=%o" % mode)
    socks = []
    for n in range(2):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(args.wait)
        s.connect(args.socket_path)
        socks.append(s)
        expect_hello(s)
    for n, s in enumerate(socks):
        send_frame(s, {"v": 1, "type": "ping", "id": "conn-%d" % n})
        describe(recv_frame(s))
    # Closing one connection must leave the other one served.
    socks[0].close()
    send_frame(socks[1], {"v": 1, "type": "ping", "id": "after-close"})
    describe(recv_frame(socks[1]))
    proc.send_signal(signal.SIGTERM)
    finish(proc, socks[1])
    print("socket_removed=%s" % (not os.path.exists(args.socket_path)))


SCENARIOS = {
    "validate": scenario_validate,
    "ping": scenario_ping,
    "in-flight": scenario_in_flight,
    "raw": scenario_raw,
    "raw-json": scenario_raw_json,
    "cancel-on-close": scenario_cancel_on_close,
    "sigterm": scenario_sigterm,
    "close-early": scenario_close_early,
    "many": scenario_many,
    "listen": scenario_listen,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("validator", help="path of the validator executable")
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--challenge-type", default="http-01")
    p.add_argument("--identifier", default="good.example.test")
    p.add_argument("--identifier-type", default="dns")
    p.add_argument("--token", default="tok")
    p.add_argument("--keyauth", default="tok.thumb")
    p.add_argument("--thumbprint")
    p.add_argument("--id", default="req-1")
    p.add_argument("--http-port", type=int, default=80)
    p.add_argument("--hang-port", type=int, default=0)
    p.add_argument("--resolver", help="HOST:PORT of the DNS resolver")
    p.add_argument("--timeout-ms", type=int, default=5000)
    p.add_argument("--raw", help="hex bytes for the raw scenario, JSON "
                   "text for raw-json")
    p.add_argument("--socket-path", help="socket for the listen scenario")
    p.add_argument("--wait", type=float, default=20.0,
                   help="seconds to wait for a message")
    args = p.parse_args()
    SCENARIOS[args.scenario](args)


if __name__ == "__main__":
    main()
