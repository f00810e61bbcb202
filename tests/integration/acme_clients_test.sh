#!/bin/bash
# Real ACME clients against a real CA: PostgreSQL (embedded cluster),
# ca-core with its http-01 validator process, and pebble-challtestsrv as
# the validator's resolver.  certbot, lego and caadm each obtain a
# certificate for two names through http-01; a challenge whose token is
# not served ends invalid without a hang.
. "$(dirname "$0")/lib.sh"

test_workdir
trap test_cleanup EXIT

setup_ca
check "caadm provisioner add" "$CA_BIN/caadm" provisioner add acme --type ACME
start_ca_core || abort_test "ca-core did not serve its directory"
pass "ca-core serves the directory"
directory="https://localhost:$CA_PORT/acme/acme/directory"

# certbot, standalone http-01 responder on the validator's port.
if REQUESTS_CA_BUNDLE=$ROOT_CERT timeout 180 certbot certonly --standalone \
    --non-interactive --agree-tos --register-unsafely-without-email \
    --server "$directory" --http-01-port "$HTTP01_PORT" \
    --http-01-address 127.0.0.1 \
    --config-dir "$TEST_DIR/certbot/config" --work-dir "$TEST_DIR/certbot/work" \
    --logs-dir "$TEST_DIR/certbot/logs" --cert-name certbot-test \
    -d certbot-a.example.test -d certbot-b.example.test \
    >"$TEST_DIR/certbot.log" 2>&1; then
	verify_cert "certbot certificate" \
	    "$TEST_DIR/certbot/config/live/certbot-test/fullchain.pem" \
	    certbot-a.example.test certbot-b.example.test
else
	fail "certbot certonly: $(tail -n 5 "$TEST_DIR/certbot.log")"
fi

# lego, with its own http-01 server.
if LEGO_CA_CERTIFICATES=$ROOT_CERT timeout 180 lego --server "$directory" \
    --accept-tos --email lego@example.test --path "$TEST_DIR/lego" \
    --http --http.port "127.0.0.1:$HTTP01_PORT" \
    -d lego-a.example.test -d lego-b.example.test run \
    >"$TEST_DIR/lego.log" 2>&1; then
	verify_cert "lego certificate" \
	    "$TEST_DIR/lego/certificates/lego-a.example.test.crt" \
	    lego-a.example.test lego-b.example.test
else
	fail "lego run: $(tail -n 5 "$TEST_DIR/lego.log")"
fi

# caadm's built-in client talks to the CA of CA_HOME.
if timeout 180 "$CA_BIN/caadm" certificate --provisioner acme \
    caadm-a.example.test "$TEST_DIR/caadm.crt" "$TEST_DIR/caadm.key" \
    --san caadm-b.example.test >"$TEST_DIR/caadm-cert.log" 2>&1; then
	verify_cert "caadm certificate" "$TEST_DIR/caadm.crt" \
	    caadm-a.example.test caadm-b.example.test
	check "caadm printed its progress" \
	    grep -q "Finalizing Order" "$TEST_DIR/caadm-cert.log"
	check "caadm key file is private" \
	    test "$(stat -c %a "$TEST_DIR/caadm.key")" = 600
else
	fail "caadm certificate: $(tail -n 5 "$TEST_DIR/caadm-cert.log")"
fi

# IP identifiers (RFC 8738), IPv4 and IPv6: the validator connects to the
# address itself, and caadm's responder listens on both families.
if timeout 120 "$CA_BIN/caadm" certificate --provisioner acme \
    --http-listen ":$HTTP01_PORT" 127.0.0.1 "$TEST_DIR/ip.crt" \
    "$TEST_DIR/ip.key" --san ::1 >"$TEST_DIR/caadm-ip.log" 2>&1; then
	# openssl prints ::1 in its full form.
	verify_cert "caadm certificate for 127.0.0.1 and ::1" "$TEST_DIR/ip.crt" \
	    127.0.0.1 0:0:0:0:0:0:0:1
	check "IP identifiers are stored with type ip" \
	    test "$(ca_sql "SELECT count(*) FROM authorizations WHERE identifier_type = 'ip' AND status = 'valid'")" -eq 2
else
	fail "caadm certificate for IP addresses: $(tail -n 5 "$TEST_DIR/caadm-ip.log")"
fi

# Everything is in PostgreSQL.
check "database holds 4 accounts" \
    test "$(ca_sql "SELECT count(*) FROM accounts")" -ge 4
check "database holds 3 valid orders" \
    test "$(ca_sql "SELECT count(*) FROM orders WHERE status = 'valid'")" -ge 3
check "database holds 6 valid authorizations" \
    test "$(ca_sql "SELECT count(*) FROM authorizations WHERE status = 'valid'")" -ge 6
check "database holds 6 valid http-01 challenges" \
    test "$(ca_sql "SELECT count(*) FROM challenges WHERE type = 'http-01' AND status = 'valid'")" -ge 6
check "database holds 4 certificates" \
    test "$(ca_sql "SELECT count(*) FROM certificates")" -eq 4

# A token that nobody serves: lego answers on another port than the one
# the validator checks, so the challenge fails and the order is invalid.
start=$(date +%s)
if LEGO_CA_CERTIFICATES=$ROOT_CERT timeout 120 lego --server "$directory" \
    --accept-tos --email lego@example.test --path "$TEST_DIR/lego-bad" \
    --http --http.port "127.0.0.1:$((HTTP01_PORT + 1))" \
    -d unserved.example.test run >"$TEST_DIR/lego-bad.log" 2>&1; then
	fail "lego obtained a certificate for a token nobody served"
else
	elapsed=$(($(date +%s) - start))
	check "unserved token: lego stops within 60 s (took ${elapsed}s)" \
	    test "$elapsed" -lt 60
	check "unserved token: lego reports the problem" \
	    grep -Eq "urn:ietf:params:acme:error:(connection|unauthorized)" \
	    "$TEST_DIR/lego-bad.log"
	check "unserved token: challenge is invalid" \
	    test "$(ca_sql "SELECT c.status FROM challenges c JOIN authorizations a ON a.id = c.authz_id WHERE a.identifier_value = 'unserved.example.test' AND c.type = 'http-01'")" = invalid
	check "unserved token: order is invalid" \
	    test "$(ca_sql "SELECT o.status FROM orders o JOIN authorizations a ON a.order_id = o.id WHERE a.identifier_value = 'unserved.example.test'")" = invalid
fi

check "ca-core is still running" kill -0 "$CA_CORE_PID"
test_finish
