#!/usr/bin/env bash
# Integration test of ca-validator-http-01 with real servers on loopback.
# pebble-challtestsrv is the DNS resolver (every name has A 127.0.0.1 and
# no AAAA), and Python's http.server serves the challenge files.
# validator_client.py speaks the framed protocol over a socket pair at
# descriptor 3, as ca-core does.
#
# Usage: CA_BIN=build/asan/bin bash tests/integration/validator_http01_test.sh
# Ports 18560-18567 on 127.0.0.1 must be free.  Prints "N passed, N failed"
# and exits non-zero on any failure.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
: "${CA_BIN:=$top/build/bin}"
validator=$CA_BIN/ca-validator-http-01
client=$top/tests/integration/validator_client.py

# Leak checks stay on for this test unless the caller chose otherwise.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

dns_port=18560
mgmt_port=18561
http_port=18562
closed_port=18563	# nothing listens here
hang_port=18564		# accepts connections, never answers
dead_dns_port=18565	# no resolver listens here
resolver=127.0.0.1:$dns_port

# As root the validator switches to this user before it serves; ca-core
# creates it, but this test starts the validator without ca-core.
if [ "$(id -u)" -eq 0 ] && ! getent passwd acmeca-validator >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin acmeca-validator
fi

passed=0
failed=0
pids=()
work=$(mktemp -d /tmp/validator-http01.XXXXXX)

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

pass() {
	passed=$((passed + 1))
	echo "ok   $*"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL $*"
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

# Wait up to 10 s for a TCP port on 127.0.0.1 to accept connections.
wait_port() {
	python3 - "$1" <<'EOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# run NAME SCENARIO [client options]: run the client, output in NAME.out
# and the validator's log in NAME.err.
run() {
	local name=$1
	shift
	timeout 90 python3 "$client" "$validator" "$@" \
	    >"$work/$name.out" 2>"$work/$name.err"
}

# expect NAME DESCRIPTION REGEX: NAME.out has a line matching REGEX.
expect() {
	if grep -qE -- "$3" "$work/$1.out"; then
		pass "$2"
	else
		fail "$2: no line matching '$3'; client output:"
		sed 's/^/    /' "$work/$1.out"
		echo "    validator log:"
		sed 's/^/    /' "$work/$1.err"
	fi
}

# expect_clean NAME: the validator's log shows no sanitizer report.
expect_clean() {
	if grep -qE 'Sanitizer|runtime error:' "$work/$1.err"; then
		fail "$1: sanitizer report in the validator log:"
		sed 's/^/    /' "$work/$1.err"
	else
		pass "$1: no sanitizer report"
	fi
}

# Make challtestsrv return SERVFAIL for a name.
set_servfail() {
	python3 - "$mgmt_port" "$1" <<'EOF'
import json, sys, urllib.request
body = json.dumps({"host": sys.argv[2]}).encode()
urllib.request.urlopen("http://127.0.0.1:%s/set-servfail" % sys.argv[1],
                       body, timeout=5).read()
EOF
}

# Prerequisites: a missing tool is a failure, not a skip.
for tool in pebble-challtestsrv python3 timeout; do
	if ! command -v "$tool" >/dev/null; then
		fail "prerequisite: $tool is not installed"
		finish
	fi
done
if [ ! -x "$validator" ]; then
	fail "prerequisite: $validator not found (build it, or set CA_BIN)"
	finish
fi

# The challenge files: good (no newline), good with a newline, a wrong
# body, and one larger than the 8 KiB the validator reads.
webroot=$work/www
mkdir -p "$webroot/.well-known/acme-challenge"
printf 'tokgood.thumb' >"$webroot/.well-known/acme-challenge/tokgood"
printf 'toknl.thumb\n' >"$webroot/.well-known/acme-challenge/toknl"
printf 'something "else"\n\001' >"$webroot/.well-known/acme-challenge/tokwrong"
head -c 10000 /dev/zero | tr '\0' 'a' \
    >"$webroot/.well-known/acme-challenge/tokbig"

pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    -dns01 "127.0.0.1:$dns_port" -http01 "" -https01 "" -tlsalpn01 "" \
    -management "127.0.0.1:$mgmt_port" >"$work/challtestsrv.log" 2>&1 &
pids+=($!)
# http.server as "python3 -m http.server" runs it, but with a listen backlog
# of 128 instead of 5, so that 50 simultaneous connections are not dropped.
python3 -c '
import functools, http.server, sys
http.server.ThreadingHTTPServer.request_queue_size = 128
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                handler).serve_forever()
' "$http_port" "$webroot" >"$work/http.log" 2>&1 &
pids+=($!)
if ! wait_port "$mgmt_port" || ! wait_port "$http_port"; then
	fail "setup: challtestsrv or http.server did not start"
	cat "$work/challtestsrv.log" "$work/http.log"
	finish
fi

common=(--resolver "$resolver" --http-port "$http_port")

# Valid results, and the records that come with them.
run good validate "${common[@]}" --token tokgood --keyauth tokgood.thumb \
    --thumbprint thumb
expect good "hello arrives first" \
    '^hello name=ca-validator-http-01 types=http-01$'
expect good "good key authorization is valid" '^result id=req-1 status=valid '
expect good "record names the URL" \
    "\"url\": \"http://good.example.test:$http_port/.well-known/acme-challenge/tokgood\""
expect good "record lists resolved addresses" \
    '"addresses_resolved": \["127.0.0.1"\]'
expect good "record names the address used" '"address_used": "127.0.0.1"'
expect good "validator exits 0 on EOF" '^exit=0$'
expect_clean good

run newline validate "${common[@]}" --token toknl --keyauth toknl.thumb
expect newline "trailing newline is valid" '^result id=req-1 status=valid '

run ip validate --http-port "$http_port" --identifier-type ip \
    --identifier 127.0.0.1 --token tokgood --keyauth tokgood.thumb
expect ip "ip identifier is valid without DNS" '^result id=req-1 status=valid '

# Wrong responses from the web server.
run wrong validate "${common[@]}" --token tokwrong --keyauth tokwrong.thumb
expect wrong "wrong body is unauthorized" \
    'status=invalid error=urn:ietf:params:acme:error:unauthorized'
expect wrong "wrong body is quoted escaped" \
    'received "something \\x22else\\x22\\x0a\\x01"$'

run notfound validate "${common[@]}" --token tokmissing \
    --keyauth tokmissing.thumb
expect notfound "404 is unauthorized with the status" \
    'error=urn:ietf:params:acme:error:unauthorized detail=.*HTTP status 404'

run big validate "${common[@]}" --token tokbig --keyauth tokbig.thumb
expect big "body over 8 KiB is unauthorized" \
    'error=urn:ietf:params:acme:error:unauthorized detail=.*larger than 8192 bytes'
expect_clean big

# Network failures.
run closed validate --resolver "$resolver" --http-port "$closed_port" \
    --token tokgood --keyauth tokgood.thumb
expect closed "closed port is a connection problem" \
    'error=urn:ietf:params:acme:error:connection detail=.*connection refused'

set_servfail broken.example.test. || fail "setup: set-servfail failed"
run servfail validate "${common[@]}" --identifier broken.example.test \
    --token tokgood --keyauth tokgood.thumb
expect servfail "SERVFAIL is a dns problem" \
    'error=urn:ietf:params:acme:error:dns detail=.*SERVFAIL'

run deaddns validate --resolver "127.0.0.1:$dead_dns_port" \
    --http-port "$http_port" --timeout-ms 2000 --token tokgood \
    --keyauth tokgood.thumb
expect deaddns "unreachable resolver is a dns problem" \
    'error=urn:ietf:params:acme:error:dns detail=DNS lookup timed out after 2000 ms'
expect_clean deaddns

# Requests the validator rejects as malformed.
run badtoken validate "${common[@]}" --token 'bad/token' \
    --keyauth 'bad/token.thumb'
expect badtoken "token outside base64url is malformed" \
    'error=urn:ietf:params:acme:error:malformed detail=token'
long_token=$(head -c 129 /dev/zero | tr '\0' 'a')
run longtoken validate "${common[@]}" --token "$long_token" \
    --keyauth "$long_token.thumb"
expect longtoken "token over 128 bytes is malformed" \
    'error=urn:ietf:params:acme:error:malformed'
run badname validate "${common[@]}" --identifier 'bad_name..test' \
    --token tokgood --keyauth tokgood.thumb
expect badname "bad DNS name is malformed" \
    'error=urn:ietf:params:acme:error:malformed detail=identifier'
run badip validate --http-port "$http_port" --identifier-type ip \
    --identifier 127.0.0.256 --token tokgood --keyauth tokgood.thumb
expect badip "bad IP address is malformed" \
    'error=urn:ietf:params:acme:error:malformed'
run badthumb validate "${common[@]}" --token tokgood \
    --keyauth tokgood.thumb --thumbprint other
expect badthumb "key authorization for another account is malformed" \
    'error=urn:ietf:params:acme:error:malformed detail=.*thumbprint'
run badtype validate "${common[@]}" --challenge-type dns-01 \
    --token tokgood --keyauth tokgood.thumb
expect badtype "challenge type not served is malformed" \
    'error=urn:ietf:params:acme:error:malformed detail=challenge type'

# Protocol: ping, concurrency, shutdown.
run ping ping
expect ping "ping gets pong" '^pong id=health-1$'
expect ping "unknown message type is ignored" '^pong id=health-2$'

run inflight in-flight "${common[@]}" --hang-port "$hang_port" \
    --token tokgood --keyauth tokgood.thumb
if [ "$(grep '^result' "$work/inflight.out" | sed 's/ status.*//' |
    tr '\n' ' ')" = "result id=fast result id=slow " ]; then
	pass "two validations in flight are answered by id, fast first"
else
	fail "two validations in flight: wrong answers or order:"
	sed 's/^/    /' "$work/inflight.out"
fi
expect inflight "silent server is a connection timeout" \
    'result id=slow status=invalid error=urn:ietf:params:acme:error:connection detail=.*timed out'
expect_clean inflight

run cancel cancel-on-close "${common[@]}" --hang-port "$hang_port" \
    --token tokgood --keyauth tokgood.thumb
expect cancel "closing with work in flight exits 0" '^exit=0$'
expect_clean cancel

run many many "${common[@]}" --token tokgood --keyauth tokgood.thumb
if [ "$(grep -c '^result id=many-[0-9]* status=valid ' "$work/many.out")" \
    -eq 50 ]; then
	pass "50 validations in flight are all valid"
else
	fail "50 validations in flight: not all valid:"
	grep '^result' "$work/many.out" | sed 's/^/    /'
fi
expect_clean many

run closeearly close-early
expect closeearly "close before reading hello exits 0" '^exit=0$'

run sigterm sigterm
expect sigterm "SIGTERM exits 0" '^exit=0$'

run listen listen --socket-path "$work/v.sock"
expect listen "listening socket has mode 0600" '^mode=600$'
expect listen "each connection gets pong" '^pong id=conn-1$'
expect listen "other connections survive a close" '^pong id=after-close$'
expect listen "SIGTERM stops the listener with 0" '^exit=0$'
expect listen "socket is removed on exit" '^socket_removed=True$'
expect_clean listen

# Hostile input closes the connection without a crash.
run oversize raw --raw 7fffffff
expect oversize "oversize frame header closes the connection" '^closed$'
expect oversize "oversize frame: exit 1, not a crash" '^exit=1$'
run shortframe raw --raw 00000001
expect shortframe "frame under 2 bytes closes the connection" '^closed$'
run garbage raw-json --raw '{"v":1,"type":"validate",'
expect garbage "garbage JSON closes the connection" '^closed$'
expect garbage "garbage JSON: exit 1, not a crash" '^exit=1$'
run notobject raw-json --raw '[1,2]'
expect notobject "JSON array closes the connection" '^closed$'
run missing raw-json --raw '{"v":1,"type":"validate","id":"m1"}'
expect missing "validate without fields closes the connection" '^closed$'
grep -q 'missing field "challenge"' "$work/missing.err" &&
    pass "missing field is named in the log" ||
    fail "missing field is not named in the log"
run badversion raw-json --raw '{"v":2,"type":"ping","id":"p"}'
expect badversion "wrong protocol version closes the connection" '^closed$'
run hello raw-json --raw '{"v":1,"type":"hello","name":"x","version":"1"}'
expect hello "unexpected hello from ca-core closes the connection" '^closed$'
run bigtimeout raw-json --raw \
    "{\"v\":1,\"type\":\"validate\",\"id\":\"d\",\"challenge\":{\"type\":\"http-01\",\"token\":\"t\",\"key_authorization\":\"t.x\"},\"identifier\":{\"type\":\"ip\",\"value\":\"127.0.0.1\"},\"options\":{\"http_port\":$http_port,\"timeout_ms\":99999999}}"
expect bigtimeout "timeout_ms above the maximum is capped, not rejected" \
    '^result id=d status=invalid error=urn:ietf:params:acme:error:unauthorized'
expect bigtimeout "connection stays open after a capped timeout" \
    '^still open$'
for name in oversize shortframe garbage notobject missing badversion hello \
    bigtimeout; do
	expect_clean "$name"
done

finish
