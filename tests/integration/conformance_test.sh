#!/bin/bash
# RFC 8555 conformance suite: conformance_probe.py walks accounts, orders,
# authorizations, challenges, finalize, download, key change and
# revocation against a real CA (embedded PostgreSQL, ca-core, its http-01
# validator, pebble-challtestsrv as the validator's resolver).  It checks
# the status of every step, the members of every object and the headers
# of every response.  Run it against an ASan build:
# CA_BIN=build/NAME-asan/bin.
. "$(dirname "$0")/lib.sh"

# Ports of this test; override them when they clash with another test.
CA_PORT=${CA_PORT:-18843}
HTTP01_PORT=${HTTP01_PORT:-18802}
DNS_PORT=${DNS_PORT:-18853}
MGMT_PORT=${MGMT_PORT:-18855}

test_workdir
trap test_cleanup EXIT

require_python_cryptography
setup_ca
check "caadm provisioner add acme" "$CA_BIN/caadm" provisioner add acme --type ACME
check "caadm provisioner add tos" "$CA_BIN/caadm" provisioner add tos \
    --type ACME --terms-of-service https://ca.conformance.test/terms
# A second challenge type, so that an authorization offers two challenges
# and a final one must list only the challenge that decided it.  The
# allowlist-01 example plugin with an empty list never validates.
echo "# no names" >"$TEST_DIR/allow-list.txt"
/usr/bin/python3 - "$CA_HOME/config.json" "$CA_BIN" "$TEST_DIR/allow-list.txt" <<'PY'
import json, sys
path, bin_dir, allow = sys.argv[1:4]
with open(path) as f:
    cfg = json.load(f)
cfg["validators"] = {
    "http-01": {"exec": bin_dir + "/ca-validator-http-01"},
    "allowlist-01": {"exec": bin_dir + "/ca-validator-example-allowlist",
                     "args": ["--allow-list", allow]}}
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
PY
start_ca_core || abort_test "ca-core did not serve its directory"
wait_for "allowlist-01 validator" 15 grep -q "ready for allowlist-01" \
    "$TEST_DIR/ca-core.log" || fail "no validator became ready for allowlist-01"
pass "ca-core serves the directory"

base="https://localhost:$CA_PORT/acme"
timeout 120 "$PYTHON" "$(dirname "$0")/conformance_probe.py" \
    --directory "$base/acme/directory" \
    --tos-directory "$base/tos/directory" \
    --root "$ROOT_CERT" --http01-port "$HTTP01_PORT" \
    >"$TEST_DIR/probe.log" 2>&1
probe_rc=$?
cat "$TEST_DIR/probe.log"

add_probe_counts conformance_probe.py "$probe_rc" "$TEST_DIR/probe.log"

check "ca-core is still running" kill -0 "$CA_CORE_PID"
check_sanitizer_reports ca-core "$TEST_DIR/ca-core.log"
test_finish
