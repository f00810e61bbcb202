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

test_workdir
trap test_cleanup EXIT

require_python_cryptography
setup_ca
check "caadm provisioner add acme" "$CA_BIN/caadm" provisioner add acme --type ACME
check "caadm provisioner add other" "$CA_BIN/caadm" provisioner add other --type ACME
start_ca_core || abort_test "ca-core did not serve its directory"
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
