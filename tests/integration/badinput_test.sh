#!/bin/bash
# Bad-input suite: malformed and hostile ACME requests against a real CA
# (embedded PostgreSQL, ca-core, its http-01 validator, pebble-challtestsrv
# as the validator's resolver).  acme_probe.py sends each request and checks
# the status and problem type that RFC 8555 requires, the problem+json
# Content-Type and a Replay-Nonce on every error.  It completes real http-01
# challenges to reach the finalize, revocation and key change cases.
# Afterwards ca-core must still run, and its log must show no sanitizer
# report.  Run it against an ASan build: CA_BIN=build/NAME-asan/bin.
. "$(dirname "$0")/lib.sh"

# Ports of this test; override them when they clash with another test.
CA_PORT=${CA_PORT:-18943}
HTTP01_PORT=${HTTP01_PORT:-18902}
DNS_PORT=${DNS_PORT:-18953}
MGMT_PORT=${MGMT_PORT:-18955}
# Debian's python3-cryptography is installed for /usr/bin/python3, which
# may not be the python3 first on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}

test_workdir
trap test_cleanup EXIT

if ! "$PYTHON" -c "import cryptography" 2>/dev/null; then
	fail "$PYTHON cannot import cryptography (install python3-cryptography)"
	test_finish
	exit 1
fi
start_challtestsrv || { fail "pebble-challtestsrv did not start"; test_finish; exit 1; }
init_ca || { fail "caadm init"; test_finish; exit 1; }
pass "caadm init"
check "caadm provisioner add acme" "$CA_BIN/caadm" provisioner add acme --type ACME
check "caadm provisioner add other" "$CA_BIN/caadm" provisioner add other --type ACME
start_ca_core || { fail "ca-core did not serve its directory"; test_finish; exit 1; }
pass "ca-core serves the directory"

base="https://localhost:$CA_PORT/acme"
timeout 300 "$PYTHON" "$(dirname "$0")/acme_probe.py" \
    --directory "$base/acme/directory" \
    --other-directory "$base/other/directory" \
    --root "$ROOT_CERT" --http01-port "$HTTP01_PORT" \
    >"$TEST_DIR/probe.log" 2>&1
probe_rc=$?
cat "$TEST_DIR/probe.log"

add_probe_counts acme_probe.py "$probe_rc" "$TEST_DIR/probe.log"

check "ca-core is still running" kill -0 "$CA_CORE_PID"
check_sanitizer_reports ca-core "$TEST_DIR/ca-core.log"
test_finish
