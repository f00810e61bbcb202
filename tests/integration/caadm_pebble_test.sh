#!/bin/bash
# Integration test of `caadm certificate` against pebble, the reference
# ACME server, with pebble-challtestsrv as pebble's DNS resolver so that
# every test name resolves to 127.0.0.1 (and ::1).
#
# Usage: tests/integration/caadm_pebble_test.sh [BUILD_DIR]
#   BUILD_DIR contains bin/caadm; default $CA_BIN, then build/asan, then build.
#   CAADM_TEST_PORT_BASE moves the ten loopback ports used (default 18780).
#
# Needs pebble, pebble-challtestsrv, certtool and gnutls-serv (Debian
# packages pebble and gnutls-bin) and curl.  Prints "N passed, N failed"
# and exits 1 when a check failed, 2 when the setup failed.

set -u

ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# tests/run-all.sh names the programs' folder in CA_BIN.
if [ -n "${1:-}" ]; then
	CAADM=$(cd "$1" && pwd)/bin/caadm
elif [ -n "${CA_BIN:-}" ]; then
	CAADM=$CA_BIN/caadm
elif [ -x "$ROOT_DIR/build/asan/bin/caadm" ]; then
	CAADM=$ROOT_DIR/build/asan/bin/caadm
else
	CAADM=$ROOT_DIR/build/bin/caadm
fi

BASE=${CAADM_TEST_PORT_BASE:-18780}
ACME_PORT=$BASE			# pebble ACME API
MGMT_PORT=$((BASE + 1))		# pebble management API (roots)
DNS_PORT=$((BASE + 2))		# pebble-challtestsrv DNS
CTS_PORT=$((BASE + 3))		# pebble-challtestsrv management
HTTP01_PORT=$((BASE + 4))	# where pebble sends http-01 requests
TLSALPN_PORT=$((BASE + 5))	# unused, pebble needs a value
CLOSED_PORT=$((BASE + 6))	# nothing listens here
V6_TLS_PORT=$((BASE + 7))	# gnutls-serv on [::1]
OTHER_PORT=$((BASE + 8))	# a responder pebble does not reach

PASSED=0
FAILED=0
PIDS=()
WORK=$(mktemp -d /tmp/caadm-pebble.XXXXXX)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
unset CA_HOME

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

setup_error() {
	echo "setup failed: $*" >&2
	for log in "$WORK"/*.log; do
		[ -f "$log" ] && { echo "--- $log"; tail -20 "$log"; } >&2
	done
	exit 2
}

pass() {
	PASSED=$((PASSED + 1))
	echo "ok   $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && echo "     $*"
	[ -f "$WORK/err" ] && sed 's/^/     | /' "$WORK/err"
}

# check NAME COMMAND...: one assertion.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

wait_port() {
	local port=$1 i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Run caadm certificate; stores the status in RC and stderr in $WORK/err.
run_caadm() {
	(cd "$WORK" && "$CAADM" certificate "$@") >"$WORK/out" 2>"$WORK/err"
	RC=$?
}

err_has() {
	grep -qF -- "$1" "$WORK/err"
}

not() {
	! "$@"
}

absent() {
	local f
	for f in "$@"; do
		[ ! -e "$f" ] || return 1
	done
}

# The SANs of a certificate, one per line, sorted: "DNS:name", "IP:addr".
cert_sans() {
	certtool -i --infile "$1" 2>/dev/null |
	    sed -n 's/^[[:space:]]*DNSname: \(.*\)$/DNS:\1/p;
	        s/^[[:space:]]*IPAddress: \(.*\)$/IP:\1/p' | sort
}

# Verify a downloaded chain up to pebble's issuing root.
verify_chain() {
	certtool --verify --load-ca-certificate "$WORK/pebble-root.crt" \
	    --infile "$1" >/dev/null 2>&1
}

file_mode() {
	stat -c %a "$1"
}

for tool in pebble pebble-challtestsrv certtool gnutls-serv curl; do
	command -v "$tool" >/dev/null || setup_error "$tool is not installed"
done
[ -x "$CAADM" ] || setup_error "$CAADM not found; build it first"

# TLS certificate of the ACME endpoints, for 127.0.0.1, ::1 and localhost.
cd "$WORK" || setup_error "cannot enter $WORK"
cat >tls-ca.tmpl <<'EOF'
cn = "caadm test TLS root"
ca
cert_signing_key
expiration_days = 2
EOF
cat >tls-server.tmpl <<'EOF'
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
encryption_key
expiration_days = 2
EOF
{
	certtool --generate-privkey --key-type ecdsa --outfile tls-ca.key &&
	certtool --generate-self-signed --load-privkey tls-ca.key \
	    --template tls-ca.tmpl --outfile tls-ca.crt &&
	certtool --generate-privkey --key-type ecdsa --outfile tls.key &&
	certtool --generate-certificate --load-privkey tls.key \
	    --load-ca-certificate tls-ca.crt --load-ca-privkey tls-ca.key \
	    --template tls-server.tmpl --outfile tls.crt &&
	certtool --generate-privkey --key-type ecdsa --outfile other-ca.key &&
	certtool --generate-self-signed --load-privkey other-ca.key \
	    --template tls-ca.tmpl --outfile other-ca.crt
} >certtool.log 2>&1 || setup_error "certtool failed"

cat >pebble.json <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$ACME_PORT",
    "managementListenAddress": "127.0.0.1:$MGMT_PORT",
    "certificate": "$WORK/tls.crt",
    "privateKey": "$WORK/tls.key",
    "httpPort": $HTTP01_PORT,
    "tlsPort": $TLSALPN_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF

# Only the DNS server and management API of challtestsrv are needed; its
# own challenge servers stay off so that nothing binds outside our ports.
pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" \
    -management "127.0.0.1:$CTS_PORT" -http01 "" -https01 "" \
    -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    >challtestsrv.log 2>&1 &
PIDS+=($!)
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config pebble.json -dnsserver "127.0.0.1:$DNS_PORT" \
    >pebble.log 2>&1 &
PIDS+=($!)
wait_port "$ACME_PORT" || setup_error "pebble did not start"
wait_port "$MGMT_PORT" || setup_error "pebble management did not start"
curl -sf --cacert tls-ca.crt "https://127.0.0.1:$MGMT_PORT/roots/0" \
    >pebble-root.crt || setup_error "cannot fetch pebble's root"

DIR_URL="https://127.0.0.1:$ACME_PORT/dir"
COMMON=(--ca-url "$DIR_URL" --root "$WORK/tls-ca.crt")

echo "caadm certificate against pebble on 127.0.0.1:$ACME_PORT"

# --- issuance with a SAN ------------------------------------------------
run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" \
    example.com out.crt out.key --san www.example.com
check "issue exits 0" [ "$RC" -eq 0 ]
check "issue prints provisioner" err_has "✓ Provisioner: "
check "issue validates example.com" \
    err_has "Using Standalone Mode HTTP challenge to validate example.com ."
check "issue validates www.example.com" err_has \
    "Using Standalone Mode HTTP challenge to validate www.example.com ."
check "issue waits for ready" \
    err_has "Waiting for Order to be 'ready' for finalization ."
check "issue finalizes" err_has "Finalizing Order ."
check "issue prints certificate" err_has "✓ Certificate: out.crt"
check "issue prints key" err_has "✓ Private Key: out.key"
check "issue SANs exact" [ "$(cert_sans out.crt | tr '\n' ' ')" = \
    "DNS:example.com DNS:www.example.com " ]
check "issue key mode 0600" [ "$(file_mode out.key)" = 600 ]
check "issue crt mode 0644" [ "$(file_mode out.crt)" = 644 ]
check "issue key is PKCS#8" \
    grep -q -- "-----BEGIN PRIVATE KEY-----" out.key
check "issue chain has two certificates" \
    [ "$(grep -c -- "-----BEGIN CERTIFICATE-----" out.crt)" -ge 2 ]
check "issue chain verifies to pebble root" verify_chain out.crt
KEY_ID=$(certtool --key-id --load-privkey out.key 2>/dev/null)
CRT_ID=$(certtool --key-id --load-certificate out.crt 2>/dev/null)
check "issue key ID present" [ -n "$KEY_ID" ]
check "issue key matches certificate" [ "$KEY_ID" = "$CRT_ID" ]

# --- names: case, duplicates, IP addresses, both address families -------
run_caadm "${COMMON[@]}" --http-listen ":$HTTP01_PORT" \
    Example.COM dup.crt dup.key --san example.com --san WWW.example.com \
    --san www.example.com
check "duplicate names exit 0" [ "$RC" -eq 0 ]
check "duplicate names collapse" [ "$(cert_sans dup.crt | tr '\n' ' ')" = \
    "DNS:example.com DNS:www.example.com " ]

run_caadm "${COMMON[@]}" --http-listen ":$HTTP01_PORT" \
    127.0.0.1 ip.crt ip.key --san ::1 --san ip.example.com
check "IP identifiers exit 0" [ "$RC" -eq 0 ]
check "IP identifiers in SANs" [ "$(cert_sans ip.crt | tr '\n' ' ')" = \
    "DNS:ip.example.com IP:127.0.0.1 IP:::1 " ]

# --- key types ------------------------------------------------------------
run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" \
    --kty RSA --size 3072 rsa.example.com rsa.crt rsa.key
check "RSA key exits 0" [ "$RC" -eq 0 ]
check "RSA key file is RSA" \
    sh -c "certtool -k --infile rsa.key | grep -q 'Algorithm: RSA'"
check "RSA certificate is 3072 bits" \
    sh -c "certtool -i --infile rsa.crt | grep -q 'Modulus (bits 3072)'"

run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" \
    --kty OKP ed.example.com ed.crt ed.key
check "Ed25519 key exits 0" [ "$RC" -eq 0 ]
check "Ed25519 key in certificate" \
    sh -c "certtool -i --infile ed.crt | grep -q 'Algorithm: EdDSA'"

run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" \
    --curve P-384 p384.example.com p384.crt p384.key
check "P-384 key exits 0" [ "$RC" -eq 0 ]
check "P-384 key in certificate" \
    sh -c "certtool -i --infile p384.crt | grep -q 'Curve:.*SECP384R1'"

# --- existing files ------------------------------------------------------
cp out.crt before.crt
run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" \
    example.com out.crt new.key
check "existing crt rejected" [ "$RC" -eq 1 ]
check "existing crt message" err_has "out.crt already exists; pass --force"
check "existing crt unchanged" cmp -s out.crt before.crt
check "no key written on rejection" absent new.key

run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" \
    example.com new.crt out.key
check "existing key rejected" [ "$RC" -eq 1 ]
check "existing key message" err_has "out.key already exists; pass --force"

run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$HTTP01_PORT" --force \
    example.com out.crt out.key
check "--force overwrites" [ "$RC" -eq 0 ]
check "--force wrote a new certificate" not cmp -s out.crt before.crt
check "--force keeps key mode 0600" [ "$(file_mode out.key)" = 600 ]

# --- invalid input, rejected before any network traffic ------------------
# The closed port proves it: reaching the network would change the error.
BAD=(--ca-url "https://127.0.0.1:$CLOSED_PORT/dir" --root "$WORK/tls-ca.crt"
    --http-listen "127.0.0.1:$HTTP01_PORT")
run_caadm "${BAD[@]}" -bad-.example bad.crt bad.key
check "hyphen name rejected" [ "$RC" -eq 1 ]
check "hyphen name message" err_has 'invalid name "-bad-.example"'
check "hyphen name no network" not err_has "connecting to"

run_caadm "${BAD[@]}" good.example bad.crt bad.key --san "*.example.com"
check "wildcard rejected" [ "$RC" -eq 1 ]
check "wildcard message" err_has "wildcard names need the dns-01"

run_caadm "${BAD[@]}" "exa mple.com" bad.crt bad.key
check "space in name rejected" [ "$RC" -eq 1 ]

run_caadm "${BAD[@]}" 10.0.0.300 bad.crt bad.key
check "numeric name rejected" err_has 'invalid name "10.0.0.300"'

run_caadm "${BAD[@]}" --kty EC --curve Ed448 x.example bad.crt bad.key
check "unknown curve rejected" err_has 'invalid --curve "Ed448"'

run_caadm "${BAD[@]}" --kty RSA --size 1024 x.example bad.crt bad.key
check "small RSA rejected" err_has 'invalid --size "1024"'

run_caadm "${BAD[@]}" --bogus x.example bad.crt bad.key
check "unknown option exits 2" [ "$RC" -eq 2 ]
check "unknown option message" err_has "unknown option --bogus"

run_caadm "${BAD[@]}" x.example bad.crt
check "missing KEY_FILE exits 2" [ "$RC" -eq 2 ]

run_caadm --ca-url "https://127.0.0.1:$ACME_PORT" --root "$WORK/tls-ca.crt" \
    x.example bad.crt bad.key
check "base URL without provisioner rejected" \
    err_has "--provisioner NAME is required"

run_caadm --ca-url "http://127.0.0.1:$ACME_PORT/dir" \
    --root "$WORK/tls-ca.crt" x.example bad.crt bad.key
check "http URL rejected" err_has "it must start with https://"

check "no output files after rejections" absent bad.crt bad.key

# --- network and TLS failures --------------------------------------------
run_caadm "${BAD[@]}" x.example bad.crt bad.key
check "closed port exits 1" [ "$RC" -eq 1 ]
check "closed port message" \
    err_has "connecting to 127.0.0.1 port $CLOSED_PORT failed"

run_caadm --ca-url "$DIR_URL" --root "$WORK/other-ca.crt" \
    --http-listen "127.0.0.1:$HTTP01_PORT" x.example bad.crt bad.key
check "wrong root exits 1" [ "$RC" -eq 1 ]
check "wrong root message" \
    err_has "TLS certificate verification of 127.0.0.1 failed"

run_caadm --ca-url "$DIR_URL" --root "$WORK/pebble.json" \
    --http-listen "127.0.0.1:$HTTP01_PORT" x.example bad.crt bad.key
check "root without PEM rejected" err_has "pebble.json"

# An IPv6 literal URL reaches a TLS server on [::1]; gnutls-serv answers
# with HTML, so the run must fail only at the directory's JSON.
gnutls-serv --http --x509certfile tls.crt --x509keyfile tls.key \
    -p "$V6_TLS_PORT" >gnutls-serv.log 2>&1 &
PIDS+=($!)
if wait_port "$V6_TLS_PORT"; then
	run_caadm --ca-url "https://[::1]:$V6_TLS_PORT/dir" \
	    --root "$WORK/tls-ca.crt" --http-listen "127.0.0.1:$HTTP01_PORT" \
	    x.example bad.crt bad.key
	check "IPv6 URL passes TLS to ::1" err_has "is not a JSON object"
else
	fail "IPv6 URL passes TLS to ::1" "gnutls-serv did not start"
fi

# --- responder problems and a failing challenge -------------------------
exec 5<>"/dev/tcp/127.0.0.1/$ACME_PORT"	# any open port will do
run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$ACME_PORT" \
    x.example bad.crt bad.key
check "busy responder port rejected" err_has "cannot listen on 127.0.0.1:$ACME_PORT"
exec 5<&-

run_caadm "${COMMON[@]}" --http-listen "127.0.0.1:$OTHER_PORT" \
    fails.example bad.crt bad.key
check "failed challenge exits 1" [ "$RC" -eq 1 ]
check "failed challenge prints problem" \
    err_has "validation of fails.example failed: urn:ietf:params:acme:error:"
check "failed challenge writes nothing" absent bad.crt bad.key

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
