#!/bin/bash
# Validator plugins end to end: ca-core serves the custom challenge type
# "allowlist-01" through the example plugins in validators/examples.  The
# runs are the Python plugin started by ca-core ("exec" with "args"), the
# C plugin started by ca-core, and the Python plugin started by this test
# with --listen and dialled by ca-core ("socket").
#
# In each run, caadm certificate --challenge allowlist-01 obtains a
# certificate for a listed name.  A name that is not listed fails with
# rejectedIdentifier, and a name listed for another account fails with
# unauthorized.  Orders offer the plugin's type next to http-01, and a
# provisioner whose "challenges" option names only allowlist-01 offers
# nothing else.
#
# Ports (loopback only): PLUGIN_PORT (default 18410) for ca-core and
# PLUGIN_PORT+1 as the http-01 port, which no test step serves.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
PLUGIN_PORT=${PLUGIN_PORT:-18410}
CA_PORT=$PLUGIN_PORT
HTTP01_PORT=$((PLUGIN_PORT + 1))
# init_ca stores this resolver address; nothing here resolves names.
DNS_PORT=$((PLUGIN_PORT + 2))
PY_PLUGIN=$top/validators/examples/python/allowlist_validator.py
C_PLUGIN=$CA_BIN/ca-validator-example-allowlist
test_workdir
trap test_cleanup EXIT

for f in "$PY_PLUGIN" "$C_PLUGIN"; do
	if [ ! -x "$f" ]; then
		fail "plugin $f is missing or not executable"
		test_finish
		exit 1
	fi
done

init_ca || abort_test "caadm init"
pass "caadm init"
check "caadm provisioner add acme" "$CA_BIN/caadm" provisioner add acme --type ACME
check "caadm provisioner add restricted" \
    "$CA_BIN/caadm" provisioner add restricted --type ACME

ALLOW=$TEST_DIR/allow-list.txt
cat >"$ALLOW" <<LIST
# names the operator approved
py-exec.example.test
c-exec.example.test
py-socket.example.test
restricted.example.test
127.0.0.2
bound.example.test  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
LIST

# set_validators JSON: replace the "validators" object of config.json.
set_validators() {
	python3 - "$CA_HOME/config.json" "$1" <<'PY'
import json, sys
path, validators = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    cfg = json.load(f)
cfg["validators"] = validators
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
PY
}

# ca-core with the current config; its log is $TEST_DIR/ca-core-RUN.log.
run_ca_core() {
	start_bg "ca-core-$1" "$CA_BIN/ca-core"
	CA_CORE_PID=$LAST_PID
	if ! wait_for "ca-core directory" 30 curl -sf --cacert "$ROOT_CERT" \
	    "https://localhost:$CA_PORT/acme/acme/directory"; then
		fail "$1: ca-core did not serve its directory: $(tail -n 5 "$TEST_DIR/ca-core-$1.log")"
		return 1
	fi
	if ! wait_for "plugin ready" 15 grep -q "ready for allowlist-01" \
	    "$TEST_DIR/ca-core-$1.log"; then
		fail "$1: no validator became ready for allowlist-01: $(tail -n 5 "$TEST_DIR/ca-core-$1.log")"
		return 1
	fi
	pass "$1: plugin ready for allowlist-01"
}

stop_ca_core() {
	kill "$CA_CORE_PID" 2>/dev/null
	wait "$CA_CORE_PID" 2>/dev/null
}

# certificate RUN NAME [caadm options]: caadm certificate for NAME; output
# in $TEST_DIR/RUN-NAME.log, certificate in $TEST_DIR/RUN-NAME.crt.
certificate() {
	run=$1
	name=$2
	shift 2
	timeout 120 "$CA_BIN/caadm" certificate "$@" "$name" \
	    "$TEST_DIR/$run-$name.crt" "$TEST_DIR/$run-$name.key" \
	    >"$TEST_DIR/$run-$name.log" 2>&1
}

# The status of the newest allowlist-01 challenge for a name.
challenge_status() {
	ca_sql "SELECT c.status FROM challenges c JOIN authorizations a ON a.id = c.authz_id WHERE a.identifier_value = '$1' AND c.type = 'allowlist-01' ORDER BY a.created_at DESC LIMIT 1"
}

# plugin_checks RUN ALLOWED_NAME: the checks every run makes.
plugin_checks() {
	run=$1
	allowed=$2
	if certificate "$run" "$allowed" --provisioner acme --challenge allowlist-01; then
		verify_cert "$run: certificate for $allowed" \
		    "$TEST_DIR/$run-$allowed.crt" "$allowed"
		check "$run: caadm named the challenge type" grep -q \
		    "Using the allowlist-01 challenge" "$TEST_DIR/$run-$allowed.log"
	else
		fail "$run: caadm certificate for $allowed: $(tail -n 3 "$TEST_DIR/$run-$allowed.log")"
	fi
	st=$(challenge_status "$allowed")
	[ "$st" = valid ] && pass "$run: allowlist-01 challenge of $allowed is valid" ||
		fail "$run: allowlist-01 challenge of $allowed is '$st', expected valid"

	denied=denied-$run.example.test
	if certificate "$run" "$denied" --provisioner acme --challenge allowlist-01; then
		fail "$run: caadm obtained a certificate for unlisted $denied"
	else
		check "$run: unlisted name fails with rejectedIdentifier" grep -q \
		    "urn:ietf:params:acme:error:rejectedIdentifier" "$TEST_DIR/$run-$denied.log"
		check "$run: no certificate file for the unlisted name" \
		    test ! -e "$TEST_DIR/$run-$denied.crt"
	fi
	st=$(challenge_status "$denied")
	[ "$st" = invalid ] && pass "$run: challenge of unlisted name is invalid" ||
		fail "$run: challenge of unlisted name is '$st', expected invalid"

	if certificate "$run" bound.example.test --provisioner acme --challenge allowlist-01 --force; then
		fail "$run: caadm obtained a certificate for a name bound to another account"
	else
		check "$run: name bound to another account fails with unauthorized" \
		    grep -q "urn:ietf:params:acme:error:unauthorized" \
		    "$TEST_DIR/$run-bound.example.test.log"
	fi

	check "$run: ca-core is still running" kill -0 "$CA_CORE_PID"
	if grep -q "ERROR: AddressSanitizer\|runtime error:" "$TEST_DIR/ca-core-$run.log"; then
		fail "$run: sanitizer report in ca-core-$run.log"
	fi
}

# The http-01 validator runs as well, so that orders offer two types.
HTTP01='"http-01": {"exec": "'$CA_BIN'/ca-validator-http-01"}'
ca_sql "UPDATE provisioners SET options = '{\"challenges\": [\"allowlist-01\"]}' WHERE name = 'restricted'" >/dev/null 2>&1 ||
	fail "setting the challenges option of provisioner restricted"

# ---- Python plugin started by ca-core ----
set_validators "{$HTTP01, \"allowlist-01\": {\"exec\": \"$PY_PLUGIN\", \"args\": [\"--allow-list\", \"$ALLOW\"]}}"
if run_ca_core py-exec; then
	plugin_checks py-exec py-exec.example.test

	# The order offered both types: the plugin's and http-01.
	types=$(ca_sql "SELECT string_agg(c.type, ',' ORDER BY c.type) FROM challenges c JOIN authorizations a ON a.id = c.authz_id WHERE a.identifier_value = 'py-exec.example.test'")
	[ "$types" = "allowlist-01,http-01" ] && pass "order offered allowlist-01 and http-01" ||
		fail "order offered '$types', expected allowlist-01,http-01"

	# IP identifiers are offered the plugin's type too.
	if certificate py-exec 127.0.0.2 --provisioner acme --challenge allowlist-01; then
		verify_cert "py-exec: certificate for IP 127.0.0.2" \
		    "$TEST_DIR/py-exec-127.0.0.2.crt" 127.0.0.2
	else
		fail "py-exec: caadm certificate for 127.0.0.2: $(tail -n 3 "$TEST_DIR/py-exec-127.0.0.2.log")"
	fi

	# A provisioner that allows only allowlist-01 offers no http-01.
	if certificate restricted restricted.example.test --provisioner restricted; then
		fail "restricted provisioner offered http-01"
	else
		check "restricted provisioner offers only allowlist-01" grep -q \
		    "offers no http-01 challenge for restricted.example.test (offered: allowlist-01)" \
		    "$TEST_DIR/restricted-restricted.example.test.log"
	fi
	if certificate restricted restricted.example.test --provisioner restricted \
	    --challenge allowlist-01 --force; then
		verify_cert "restricted provisioner issues through allowlist-01" \
		    "$TEST_DIR/restricted-restricted.example.test.crt" restricted.example.test
	else
		fail "restricted provisioner with allowlist-01: $(tail -n 3 "$TEST_DIR/restricted-restricted.example.test.log")"
	fi
	check "plugin log records reach ca-core's log" grep -q \
	    "allowlist_validator.py\[[0-9]*\]: .*py-exec.example.test: allowed by line" \
	    "$TEST_DIR/ca-core-py-exec.log"
	stop_ca_core
fi

# ---- C plugin started by ca-core ----
set_validators "{$HTTP01, \"allowlist-01\": {\"exec\": \"$C_PLUGIN\", \"args\": [\"--allow-list\", \"$ALLOW\"]}}"
if run_ca_core c-exec; then
	plugin_checks c-exec c-exec.example.test
	stop_ca_core
fi

# ---- Python plugin behind a socket, run by this test ----
SOCK=$TEST_DIR/allowlist.sock
start_bg py-listen python3 "$PY_PLUGIN" --allow-list "$ALLOW" --listen "$SOCK"
LISTEN_PID=$LAST_PID
if wait_for "plugin socket" 10 test -S "$SOCK"; then
	set_validators "{$HTTP01, \"allowlist-01\": {\"socket\": \"$SOCK\"}}"
	if run_ca_core py-socket; then
		check "py-socket: ca-core dialled the socket" grep -q \
		    "connected to validator $SOCK" "$TEST_DIR/ca-core-py-socket.log"
		plugin_checks py-socket py-socket.example.test

		# The plugin restarts under its own supervisor: ca-core
		# redials, and validations work again.
		kill "$LISTEN_PID"
		wait "$LISTEN_PID" 2>/dev/null
		start_bg py-listen2 python3 "$PY_PLUGIN" --allow-list "$ALLOW" --listen "$SOCK"
		if wait_for "redial" 20 sh -c "[ \$(grep -c 'ready for allowlist-01' '$TEST_DIR/ca-core-py-socket.log') -ge 2 ]"; then
			pass "py-socket: ca-core redialled the restarted plugin"
			if certificate py-socket2 py-socket.example.test --provisioner acme --challenge allowlist-01; then
				pass "py-socket: certificate after the redial"
			else
				fail "py-socket: caadm after the redial: $(tail -n 3 "$TEST_DIR/py-socket2-py-socket.example.test.log")"
			fi
		else
			fail "py-socket: no redial after the plugin restarted: $(tail -n 5 "$TEST_DIR/ca-core-py-socket.log")"
		fi
		stop_ca_core
	fi
else
	fail "the Python plugin did not create $SOCK: $(tail -n 3 "$TEST_DIR/py-listen.log")"
fi

# ---- bad plugin configs are rejected at start with a clear message ----
set_validators '{"allowlist-01": {"socket": "/nonexistent.sock", "args": ["x"]}}'
"$CA_BIN/ca-core" >"$TEST_DIR/badargs.log" 2>&1
status=$?
[ "$status" != 0 ] && grep -q 'args.* applies only to "exec"' "$TEST_DIR/badargs.log" &&
	pass "args with socket rejected" ||
	fail "args with socket: status $status, $(tail -n 2 "$TEST_DIR/badargs.log")"
set_validators '{"allowlist-01": {"exec": "'"$PY_PLUGIN"'", "args": ["ok", 5]}}'
"$CA_BIN/ca-core" >"$TEST_DIR/badargs2.log" 2>&1
status=$?
[ "$status" != 0 ] && grep -q 'args" entry 2 is not a string' "$TEST_DIR/badargs2.log" &&
	pass "non-string argument rejected" ||
	fail "non-string argument: status $status, $(tail -n 2 "$TEST_DIR/badargs2.log")"

test_finish
