#!/usr/bin/env python3
"""A validator that breaks the protocol on purpose, for supervision_test.sh.

Started by ca-core (socket at CA_VALIDATOR_FD) with one argument, the
mode.  It sends a correct hello for the challenge type MODE-01 and answers
pings, then misbehaves on every validate request:

  garbage   answers with a frame whose body is not JSON
  oversize  answers with a frame header of 2 MiB, over the 1 MiB limit
  silent    never answers validates, and stops answering pings too
"""
import json
import os
import socket
import struct
import sys


def send(sock, obj):
    body = json.dumps(obj).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def main():
    mode = sys.argv[1] if len(sys.argv) == 2 else ""
    if mode not in ("garbage", "oversize", "silent"):
        print("usage: misbehaving_validator.py garbage|oversize|silent",
              file=sys.stderr)
        return 2
    sock = socket.socket(fileno=int(os.environ["CA_VALIDATOR_FD"]))
    send(sock, {"v": 1, "type": "hello", "name": f"{mode}-validator",
                "version": "1.0", "challenge_types": [f"{mode}-01"]})
    hung = False
    while True:
        (length,) = struct.unpack(">I", recv_exact(sock, 4))
        msg = json.loads(recv_exact(sock, length))
        if msg.get("type") == "ping" and not hung:
            send(sock, {"v": 1, "type": "pong", "id": msg["id"]})
        elif msg.get("type") == "validate":
            if mode == "garbage":
                sock.sendall(struct.pack(">I", 9) + b"\x00garbage!")
            elif mode == "oversize":
                sock.sendall(struct.pack(">I", 2 * 1024 * 1024) + b"{}")
            else:
                hung = True


if __name__ == "__main__":
    sys.exit(main())
