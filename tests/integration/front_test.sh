#!/bin/bash
# Tests of ca-core's HTTPS front and validator dispatch.
#
# Front: starts a CA (embedded PostgreSQL) and ca-core on loopback.  The
# checks cover TLS 1.2 and 1.3, the chain against the root, TLS 1.1
# rejected, and plain HTTP on the TLS port.  Silent and slow clients must
# be dropped after the 10 s handshake timeout.  Then come 200 parallel
# requests, a body over 64 KiB (413), Connection: close, start errors,
# and a clean stop on SIGTERM.
#
# Dispatch: builds tests/integration/dispatch_driver.c with dispatch.c and
# supervisor.c (ASan and UBSan, pings every 2 s) and runs it against
# fake_validator.py in each of its modes, as a child and behind a socket.
#
# Ports: FRONT_PORT (default 18461) and FRONT_PORT+1, loopback only.
# Takes about a minute, most of it waiting for timeouts.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
FRONT_PORT=${FRONT_PORT:-18461}
test_workdir
trap test_cleanup EXIT

# ---- front ----

CA_HOME=$TEST_DIR/ca
export CA_HOME
test_clusters="$test_clusters $CA_HOME"
if ! "$CA_BIN/caadm" init --name "Front Test CA" --dns localhost \
    --dns 127.0.0.1 --address "127.0.0.1:$FRONT_PORT" \
    --http-port $((FRONT_PORT + 1)) >"$TEST_DIR/init.log" 2>&1; then
	fail "caadm init: $(tail -n 3 "$TEST_DIR/init.log")"
	test_finish
	exit 1
fi
"$CA_BIN/caadm" provisioner add acme --type ACME >"$TEST_DIR/prov.log" 2>&1 ||
	fail "caadm provisioner add: $(tail -n 3 "$TEST_DIR/prov.log")"
ROOT=$CA_HOME/certs/root_ca.crt
URL=https://localhost:$FRONT_PORT/acme/acme/directory

CA_LOG_LEVEL=debug start_bg ca-core "$CA_BIN/ca-core"
CORE_PID=$LAST_PID
if ! wait_for "ca-core" 30 curl -sf --cacert "$ROOT" "$URL"; then
	fail "ca-core did not serve $URL: $(tail -n 5 "$TEST_DIR/ca-core.log")"
	test_finish
	exit 1
fi

# http_code EXTRA_CURL_ARGS...: print the status of a GET of $URL.
http_code() {
	curl -sS --max-time 10 --cacert "$ROOT" -o /dev/null \
	    -w '%{http_code}' "$@" "$URL" 2>/dev/null
}

code=$(http_code --tlsv1.3)
[ "$code" = 200 ] && pass "TLS 1.3 request" || fail "TLS 1.3 request: $code"
code=$(http_code --tlsv1.2 --tls-max 1.2)
[ "$code" = 200 ] && pass "TLS 1.2 request" || fail "TLS 1.2 request: $code"

if gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.1' \
    --x509cafile "$ROOT" -p "$FRONT_PORT" localhost </dev/null \
    >"$TEST_DIR/tls11.out" 2>&1; then
	fail "TLS 1.1 handshake succeeded"
else
	pass "TLS 1.1 rejected"
fi

openssl s_client -connect "127.0.0.1:$FRONT_PORT" -servername localhost \
    -CAfile "$ROOT" -verify_return_error -showcerts </dev/null \
    >"$TEST_DIR/chain.out" 2>&1
grep -q "Verify return code: 0 (ok)" "$TEST_DIR/chain.out" &&
	pass "chain verifies against the root" ||
	fail "chain does not verify, see $TEST_DIR/chain.out"
n=$(grep -c "BEGIN CERTIFICATE" "$TEST_DIR/chain.out")
[ "$n" = 2 ] && pass "chain is leaf and intermediate" ||
	fail "chain has $n certificates, expected 2"

# Plain HTTP on the TLS port gets a TLS alert or a close, never HTTP.
out=$(python3 - "$FRONT_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except OSError as e:
    print("error", e)
print("http" if b"HTTP/" in data else "nohttp", data[:1].hex())
PY
)
case $out in
nohttp*) pass "plain HTTP on the TLS port rejected ($out)" ;;
*) fail "plain HTTP on the TLS port: $out" ;;
esac
code=$(http_code)
[ "$code" = 200 ] && pass "server alive after plain HTTP" ||
	fail "server after plain HTTP: $code"

# A client that sends nothing, and one that trickles a byte every 2 s,
# are both dropped when the handshake deadline passes.
for kind in silent trickle; do
	secs=$(python3 - "$FRONT_PORT" "$kind" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
start = time.time()
s.settimeout(2)
hello = b"\x16\x03\x01\x02\x00"
i = 0
while time.time() - start < 30:
    try:
        if sys.argv[2] == "trickle" and i < len(hello):
            s.send(hello[i:i + 1])
            i += 1
        if s.recv(100) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print(int(time.time() - start))
PY
)
	if [ "$secs" -ge 9 ] && [ "$secs" -le 14 ]; then
		pass "$kind client dropped after ${secs}s"
	else
		fail "$kind client dropped after ${secs}s, expected about 10"
	fi
done
grep -q "timed out after 10 s" "$TEST_DIR/ca-core.log" &&
	pass "handshake timeout logged" || fail "handshake timeout not logged"

# 200 requests at once.
for i in $(seq 1 200); do
	echo "url = \"$URL\""
	echo "output = \"/dev/null\""
done >"$TEST_DIR/parallel.cfg"
curl -sS --parallel --parallel-max 200 --max-time 30 --cacert "$ROOT" \
    -K "$TEST_DIR/parallel.cfg" -w '%{http_code}\n' \
    >"$TEST_DIR/parallel.out" 2>"$TEST_DIR/parallel.err"
n=$(grep -c '^200$' "$TEST_DIR/parallel.out")
[ "$n" = 200 ] && pass "200 parallel requests" ||
	fail "parallel requests: $n of 200 got 200"

# ca-core closes while the client still sends; ten tries show that the
# 413 is not lost to a connection reset.
codes=""
for i in $(seq 1 10); do
	codes="$codes $(head -c 300000 /dev/zero | curl -sS --max-time 10 \
	    --cacert "$ROOT" -H 'Content-Type: application/jose+json' \
	    --data-binary @- -o /dev/null -w '%{http_code}' \
	    "https://localhost:$FRONT_PORT/acme/acme/new-account" 2>/dev/null)"
done
[ "$codes" = "$(printf ' 413%.0s' $(seq 1 10))" ] &&
	pass "body over 64 KiB gets 413" || fail "body over 64 KiB:$codes"

code=$(http_code -X PUT)
[ "$code" = 405 ] && pass "PUT gets 405" || fail "PUT: $code"

# With Connection: close ca-core closes right after the response, which
# must still arrive whole.
body=$(curl -sS --max-time 10 --cacert "$ROOT" -H 'Connection: close' "$URL")
echo "$body" | python3 -c 'import json,sys; json.load(sys.stdin)' &&
	pass "Connection: close response complete" ||
	fail "Connection: close response: $body"
code=$(http_code --http1.0)
[ "$code" = 200 ] && pass "HTTP/1.0 request" || fail "HTTP/1.0 request: $code"

# A second instance on the same port fails with one clear line.
"$CA_BIN/ca-core" >"$TEST_DIR/second.log" 2>&1
status=$?
if [ "$status" = 1 ] && grep -q "Address already in use" "$TEST_DIR/second.log"
then
	pass "port in use is fatal with a clear message"
else
	fail "second instance: status $status, $(tail -n 2 "$TEST_DIR/second.log")"
fi
env -u CA_HOME "$CA_BIN/ca-core" >"$TEST_DIR/nohome.log" 2>&1
status=$?
[ "$status" = 1 ] && grep -q "CA_HOME" "$TEST_DIR/nohome.log" &&
	pass "missing home is fatal" || fail "missing home: status $status"

kill -TERM "$CORE_PID"
wait "$CORE_PID"
status=$?
[ "$status" = 0 ] && pass "SIGTERM stops ca-core with status 0" ||
	fail "ca-core exited with status $status after SIGTERM"
grep -q "ca-core .* stopped" "$TEST_DIR/ca-core.log" && pass "stop line logged" ||
	fail "no stop line in the log"
grep -q "validator .* stopped:" "$TEST_DIR/ca-core.log" &&
	pass "validator child stopped with ca-core" ||
	fail "no validator stop line in the log"
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$TEST_DIR/ca-core.log"; then
	fail "sanitizer report in ca-core's log"
else
	pass "no sanitizer report in ca-core's log"
fi

# ---- dispatch ----

DRIVER=$TEST_DIR/dispatch_driver
FAKE=$top/tests/integration/fake_validator.py
# shellcheck disable=SC2046
if ! (cd "$top" && ${CC:-cc} -std=c11 -D_GNU_SOURCE -g -O1 \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -DDISPATCH_PING_INTERVAL_S=2 -DDISPATCH_PONG_TIMEOUT_S=1 \
    -Iproto -Ica-core $(pkg-config --cflags libevent json-c libpq) \
    tests/integration/dispatch_driver.c ca-core/dispatch.c \
    ca-core/supervisor.c ca-core/log.c proto/frame.c proto/msg.c \
    proto/jsonobj.c $(pkg-config --libs libevent json-c) -o "$DRIVER") \
    >"$TEST_DIR/driver-build.log" 2>&1; then
	fail "building the dispatch driver: $(tail -n 5 "$TEST_DIR/driver-build.log")"
	test_finish
	exit 1
fi

# drive MODE COUNT TIMEOUT_MS RUN_S [wait]: output in $TEST_DIR/MODE.out.
drive() {
	mode=$1
	shift
	FAKE_VALIDATOR_MODE=$mode "$DRIVER" "$FAKE" "$@" \
	    >"$TEST_DIR/$mode.out" 2>&1
}

# expect MODE DESCRIPTION PATTERN [COUNT]: PATTERN matches COUNT lines
# (default: at least one).
expect() {
	n=$(grep -c -e "$3" "$TEST_DIR/$1.out")
	if [ -n "${4:-}" ] && [ "$n" != "$4" ]; then
		fail "$1: $2 ($n lines match '$3', expected $4)"
	elif [ "$n" = 0 ]; then
		fail "$1: $2 (no line matches '$3')"
	else
		pass "$1: $2"
	fi
}

drive normal 20 5000 15
expect normal "all 20 answered" "^result v1-[0-9]* valid$" 20
expect normal "unconfigured type fails at once" \
    "^failed no validator is configured for dns-01$" 1

FAKE_BATCH=5 drive reverse 10 5000 15
expect reverse "answers out of order all delivered" "^result v1-[0-9]* valid$" 10
# The results of each batch of 5 arrive in reverse order.
order=$(grep '^result' "$TEST_DIR/reverse.out" | head -n 5 |
    sed 's/^result v1-\([0-9]*\).*/\1/' | tr '\n' ' ')
[ "$order" = "5 4 3 2 1 " ] && pass "reverse: first batch in reverse order" ||
	fail "reverse: first batch arrived as $order"

drive oversize 3 5000 4
expect oversize "frame length logged" "frame length 2097152 is outside"
expect oversize "outstanding validations fail" "^failed validator restarted$" 3

drive badjson 3 5000 4
expect badjson "bad JSON logged" "invalid message:"
expect badjson "outstanding validations fail" "^failed validator restarted$" 3

drive silent 3 1500 4
expect silent "timeouts give a reason" \
    "^failed validator fake_validator.py sent no result within 1500 ms$" 3

drive unknownid 3 5000 5
expect unknownid "unknown id logged" 'result for unknown id "v999-999"'
expect unknownid "real answers still delivered" "^result v1-[0-9]* valid$" 3

drive logs 2 5000 5
expect logs "log record tagged" 'fake_validator.py\[[0-9]*\]: checked \\x01 example.test'
expect logs "long log record dropped" "longer than 1024 bytes"
expect logs "unknown level dropped" "unknown level"

drive wrongtype 2 1500 4
expect wrongtype "type mismatch warned" "does not list http-01"
expect wrongtype "no validations sent" \
    "^failed no validator for http-01 was available within 1500 ms$" 2

drive exit 2 1500 4 wait
expect exit "exit status logged" "exited with status 3"
expect exit "pending validations fail" "^failed validator restarted$" 2
expect exit "restart scheduled" "restarting validator fake_validator.py in 1 s"

drive crash 1 500 9 wait
expect crash "backoff 1 s" "restarting validator fake_validator.py in 1 s"
expect crash "backoff 2 s" "restarting validator fake_validator.py in 2 s"
expect crash "backoff 4 s" "restarting validator fake_validator.py in 4 s"

drive nopong 1 5000 5 wait
expect nopong "missing pong detected" "no pong within 1 s"
expect nopong "child killed and restarted" "restarting validator"

drive nohello 1 1000 7 wait
expect nohello "missing hello detected" "no hello within 5 s"

# A validator behind a Unix socket: served, then dropped and redialled.
SOCK=$TEST_DIR/validator.sock
FAKE_VALIDATOR_MODE=exit start_bg fake-listen python3 "$FAKE" --listen "$SOCK"
wait_for "validator socket" 10 test -S "$SOCK"
FAKE_VALIDATOR_MODE=normal "$DRIVER" "socket:$SOCK" 2 1500 4 wait \
    >"$TEST_DIR/socket.out" 2>&1
expect socket "socket validator connected" "connected to validator $SOCK"
expect socket "dropped validations fail" "^failed validator restarted$" 2
expect socket "redial scheduled" "redialling validator $SOCK in 1 s"
# The retry of the dropped validations drops the second connection too,
# so a third one may come up before the driver stops.
n=$(grep -c "ready for http-01" "$TEST_DIR/socket.out")
[ "$n" -ge 2 ] && pass "socket: redial succeeded ($n connections)" ||
	fail "socket: redial succeeded ($n connections ready, expected 2 or more)"
kill "$LAST_PID" 2>/dev/null
rm -f "$SOCK"
"$DRIVER" "socket:$SOCK" 1 500 4 wait >"$TEST_DIR/nosocket.out" 2>&1
expect nosocket "missing socket logged" "cannot connect to validator socket"
expect nosocket "redial backs off" "redialling validator $SOCK in 2 s"

for mode in normal reverse oversize badjson silent unknownid logs wrongtype \
    exit crash nopong nohello socket nosocket; do
	if grep -q "ERROR: AddressSanitizer\|runtime error:" "$TEST_DIR/$mode.out"
	then
		fail "$mode: sanitizer report in $TEST_DIR/$mode.out"
	fi
	expect "$mode" "driver finished" "^done [0-9]* callbacks$" 1
done

test_finish
