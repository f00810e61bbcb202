#!/usr/bin/env python3
"""A validator stand-in for the dispatch tests.

It speaks the validator protocol (4-byte big-endian length, then one JSON
object) on the socket that ca-core passes at the descriptor named by
CA_VALIDATOR_FD.  With --listen PATH it serves each connection to a Unix
socket at PATH instead, one at a time.  FAKE_VALIDATOR_MODE selects how it
misbehaves:

  normal     answer every validate with a valid result
  reverse    collect FAKE_BATCH validates, answer them in reverse order
  oversize   answer the first validate with a frame header of 2 MiB
  badjson    answer the first validate with a frame that is not JSON
  silent     never answer validates (pings still get pongs)
  exit       exit with status 3 on the first validate
  crash      exit with status 3 at once, before hello
  nopong     answer validates but never pings
  nohello    never send hello
  wrongtype  announce only dns-01 in hello
  unknownid  send a result for an id never sent, then answer normally
  logs       send log records (valid, too long, bad level), then answer
"""
import json
import os
import socket
import struct
import sys

MODE = os.environ.get("FAKE_VALIDATOR_MODE", "normal")
BATCH = int(os.environ.get("FAKE_BATCH", "5"))


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


def recv(sock):
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    return json.loads(recv_exact(sock, length))


def result(msg_id):
    return {"v": 1, "type": "result", "id": msg_id, "status": "valid",
            "records": []}


def serve(sock):
    if MODE == "crash":
        sys.exit(3)
    types = ["dns-01"] if MODE == "wrongtype" else ["http-01"]
    if MODE != "nohello":
        send(sock, {"v": 1, "type": "hello", "name": "fake-validator",
                    "version": "1.0", "challenge_types": types})
    batch = []
    first = True
    while True:
        msg = recv(sock)
        if msg["type"] == "ping":
            if MODE == "nopong":
                continue
            send(sock, {"v": 1, "type": "pong", "id": msg["id"]})
            continue
        if msg["type"] != "validate":
            continue
        if first and MODE == "oversize":
            sock.sendall(struct.pack(">I", 2 * 1024 * 1024) + b"{}")
        elif first and MODE == "badjson":
            sock.sendall(struct.pack(">I", 5) + b"nojsn")
        elif first and MODE == "exit":
            sys.exit(3)
        elif first and MODE == "unknownid":
            send(sock, result("v999-999"))
        elif first and MODE == "logs":
            send(sock, {"v": 1, "type": "log", "level": "info",
                        "message": "checked \x01 example.test"})
            send(sock, {"v": 1, "type": "log", "level": "info",
                        "message": "x" * 2000})
            send(sock, {"v": 1, "type": "log", "level": "shout",
                        "message": "bad level"})
        first = False
        if MODE == "silent":
            continue
        if MODE == "reverse":
            batch.append(msg["id"])
            if len(batch) == BATCH:
                for msg_id in reversed(batch):
                    send(sock, result(msg_id))
                batch = []
            continue
        send(sock, result(msg["id"]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--listen":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(sys.argv[2])
        server.listen(4)
        while True:
            conn, _ = server.accept()
            try:
                serve(conn)
            except SystemExit:
                pass
            conn.close()
    serve(socket.socket(fileno=int(os.environ["CA_VALIDATOR_FD"])))


if __name__ == "__main__":
    main()
