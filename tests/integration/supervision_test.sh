#!/bin/bash
# Validator supervision in ca-core under load, with real processes.
#
# Burst: 20 `caadm certificate` runs in parallel, each for its own IP
# identifier 127.0.1.N with its http-01 responder on 127.0.1.N.  The test
# stops the http-01 validator (SIGSTOP) so that validations pile up in
# flight on it, then kills it with SIGKILL.  ca-core must log the death
# with the validator's name and pid and restart it.  It must retry the
# validations that were in flight on the new instance, so that every
# challenge ends valid and none stays processing.
#
# Misbehaving validators, started by ca-core from the config: one replies to
# a validation request with a frame that is not JSON, one with a frame over the
# 1 MiB limit, and one stops answering validations and pings.  For each,
# ca-core must log the fault and restart the validator, the challenge must
# end invalid with a serverInternal problem, and ca-core must keep serving
# its directory and other validations.
#
# Ports (loopback only): SUPERVISION_PORT (default 18420) for ca-core and
# SUPERVISION_PORT+1 as the http-01 port on 127.0.1.1..127.0.1.20.  Takes
# about 45 s, most of it the silent validator's 15 s validation timeout
# and 10 s pong timeout.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
SUPERVISION_PORT=${SUPERVISION_PORT:-18420}
CA_PORT=$SUPERVISION_PORT
HTTP01_PORT=$((SUPERVISION_PORT + 1))
# init_ca stores this resolver address; IP identifiers need no DNS.
DNS_PORT=$((SUPERVISION_PORT + 2))
BURST=20
test_workdir
trap test_cleanup EXIT

init_ca || abort_test "caadm init"
pass "caadm init"
check "caadm provisioner add" "$CA_BIN/caadm" provisioner add acme --type ACME

# Each misbehaving validator gets its own name in ca-core's log through a
# symlink to the one script.
for mode in garbage oversize silent; do
	ln -s "$top/tests/integration/misbehaving_validator.py" \
	    "$TEST_DIR/$mode-validator"
done
python3 - "$CA_HOME/config.json" "$CA_BIN" "$TEST_DIR" <<'PY'
import json, sys
path, bin_dir, test_dir = sys.argv[1:]
with open(path) as f:
    cfg = json.load(f)
cfg["validators"] = {"http-01": {"exec": f"{bin_dir}/ca-validator-http-01"}}
for mode in ("garbage", "oversize", "silent"):
    cfg["validators"][f"{mode}-01"] = {"exec": f"{test_dir}/{mode}-validator",
                                       "args": [mode]}
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
PY
start_ca_core || abort_test "ca-core did not serve its directory"
pass "ca-core serves the directory"
LOG=$TEST_DIR/ca-core.log
directory="https://localhost:$CA_PORT/acme/acme/directory"
wait_for "validators ready" 15 sh -c "[ \$(grep -c ' ready for ' '$LOG') -ge 4 ]" ||
	fail "not every validator became ready: $(grep -c ' ready for ' "$LOG") of 4"

# validator_pid NAME: pid of the newest instance of validator NAME.
validator_pid() {
	sed -n "s/.*started validator $1\[\([0-9]*\)\].*/\1/p" "$LOG" | tail -n 1
}

# ---- SIGKILL during a burst ----

OLD_PID=$(validator_pid ca-validator-http-01)
if [ -z "$OLD_PID" ] || ! kill -0 "$OLD_PID" 2>/dev/null; then
	fail "no running http-01 validator found in $LOG"
	test_finish
	exit 1
fi

burst_pids=""
for i in $(seq 1 $BURST); do
	ip=127.0.1.$i
	timeout 150 "$CA_BIN/caadm" certificate --provisioner acme \
	    --http-listen "$ip:$HTTP01_PORT" "$ip" "$TEST_DIR/burst-$i.crt" \
	    "$TEST_DIR/burst-$i.key" >"$TEST_DIR/burst-$i.log" 2>&1 &
	burst_pids="$burst_pids $!"
done

# Hold the validator still so that validations are in flight on it, then
# kill it.
kill -STOP "$OLD_PID"
in_flight() {
	[ "$(ca_sql "SELECT count(*) FROM challenges WHERE status = 'processing'")" -ge 5 ]
}
wait_for "validations in flight" 10 in_flight || true
n=$(ca_sql "SELECT count(*) FROM challenges WHERE status = 'processing'")
echo "     $n challenges processing when the validator is killed"
kill -KILL "$OLD_PID"
[ "$n" -ge 1 ] && pass "burst: $n validations in flight at SIGKILL" ||
	fail "burst: no validation was in flight at SIGKILL"

burst_failed=0
i=0
for pid in $burst_pids; do
	i=$((i + 1))
	if ! wait "$pid"; then
		burst_failed=$((burst_failed + 1))
		echo "     burst $i: $(tail -n 1 "$TEST_DIR/burst-$i.log")"
	fi
done
[ "$burst_failed" = 0 ] && pass "burst: all $BURST caadm runs obtained certificates" ||
	fail "burst: $burst_failed of $BURST caadm runs failed"

check "burst: death logged with name and pid" grep -q \
    "validator ca-validator-http-01\[$OLD_PID\] killed by signal SIGKILL" "$LOG"
check "burst: restart logged with the old pid" grep -q \
    "restarting validator ca-validator-http-01 in [0-9]* s (last instance: pid $OLD_PID)" "$LOG"
NEW_PID=$(validator_pid ca-validator-http-01)
[ -n "$NEW_PID" ] && [ "$NEW_PID" != "$OLD_PID" ] && kill -0 "$NEW_PID" 2>/dev/null &&
	pass "burst: validator restarted as pid $NEW_PID" ||
	fail "burst: no new http-01 validator is running (last pid '$NEW_PID')"
check "burst: in-flight validations queued for a retry" grep -q \
    "ca-validator-http-01\[$OLD_PID\] dropped with [0-9]* validations in flight: [1-9][0-9]* queued for a retry" "$LOG"

processing_left() {
	[ "$(ca_sql "SELECT count(*) FROM challenges WHERE status = 'processing'")" = 0 ]
}
wait_for "no challenge processing" 30 processing_left &&
	pass "burst: no challenge left processing" ||
	fail "burst: $(ca_sql "SELECT count(*) FROM challenges WHERE status = 'processing'") challenges still processing after 30 s"
valid=$(ca_sql "SELECT count(*) FROM challenges c JOIN authorizations a ON a.id = c.authz_id WHERE a.identifier_value LIKE '127.0.1.%' AND c.type = 'http-01' AND c.status = 'valid'")
[ "$valid" = "$BURST" ] && pass "burst: all $BURST http-01 challenges valid" ||
	fail "burst: $valid of $BURST http-01 challenges valid: $(ca_sql "SELECT c.status || ' ' || coalesce(c.error->>'detail', '') FROM challenges c JOIN authorizations a ON a.id = c.authz_id WHERE a.identifier_value LIKE '127.0.1.%' AND c.type = 'http-01' AND c.status <> 'valid'" | head -n 3)"

# ---- validators that break the protocol ----

directory_ok() {
	curl -sf --max-time 5 --cacert "$ROOT_CERT" "$directory" >/dev/null
}

# All three at once, each for its own challenge type.
start=$(date +%s)
bad_pids=""
n=0
for mode in garbage oversize silent; do
	n=$((n + 1))
	ip=127.0.2.$n
	timeout 150 "$CA_BIN/caadm" certificate --provisioner acme \
	    --challenge "$mode-01" "$ip" "$TEST_DIR/$mode.crt" \
	    "$TEST_DIR/$mode.key" >"$TEST_DIR/$mode.log" 2>&1 &
	bad_pids="$bad_pids $!"
done
sleep 3
directory_ok && pass "ca-core serves the directory while validators misbehave" ||
	fail "ca-core does not serve the directory while validators misbehave"

# An http-01 validation works meanwhile.
if timeout 60 "$CA_BIN/caadm" certificate --provisioner acme \
    --http-listen "127.0.1.99:$HTTP01_PORT" 127.0.1.99 "$TEST_DIR/during.crt" \
    "$TEST_DIR/during.key" >"$TEST_DIR/during.log" 2>&1; then
	pass "http-01 issuance works while validators misbehave"
else
	fail "http-01 issuance while validators misbehave: $(tail -n 1 "$TEST_DIR/during.log")"
fi

n=0
for pid in $bad_pids; do
	n=$((n + 1))
	wait "$pid"
	status=$?
	mode=$(echo garbage oversize silent | cut -d' ' -f$n)
	if [ "$status" = 0 ]; then
		fail "$mode: caadm obtained a certificate"
		continue
	fi
	check "$mode: caadm reports serverInternal" grep -q \
	    "urn:ietf:params:acme:error:serverInternal" "$TEST_DIR/$mode.log"
	st=$(ca_sql "SELECT c.status FROM challenges c JOIN authorizations a ON a.id = c.authz_id WHERE a.identifier_value = '127.0.2.$n' AND c.type = '$mode-01'")
	[ "$st" = invalid ] && pass "$mode: challenge ends invalid" ||
		fail "$mode: challenge is '$st', expected invalid"
done
elapsed=$(($(date +%s) - start))
[ "$elapsed" -le 40 ] && pass "misbehaving validators: challenges decided in ${elapsed}s" ||
	fail "misbehaving validators: challenges took ${elapsed}s, expected at most 40"

check "garbage: fault logged" grep -q "garbage-validator\[[0-9]*\]: invalid message" "$LOG"
check "garbage: retried once, then failed" grep -q \
    "garbage-validator\[[0-9]*\] dropped with 1 validations in flight: 0 queued for a retry, 1 failed after their retry" "$LOG"
check "oversize: fault logged" grep -q \
    "oversize-validator\[[0-9]*\]: frame length 2097152 is outside 2..1048576" "$LOG"
check "silent: timeout logged" grep -q \
    "silent-validator\[[0-9]*\] sent no result for validation .* within 15000 ms" "$LOG"
wait_for "silent validator dropped" 15 grep -q \
    "silent-validator\[[0-9]*\]: no pong within 10 s" "$LOG" &&
	pass "silent: missing pong after the timeout detected" ||
	fail "silent: no missing pong logged"
for mode in garbage oversize silent; do
	wait_for "$mode restart" 10 sh -c "[ \$(grep -c 'started validator $mode-validator\[' '$LOG') -ge 2 ]" &&
		pass "$mode: validator restarted" ||
		fail "$mode: validator not restarted: $(grep -c "started validator $mode-validator\[" "$LOG") starts"
done

directory_ok && pass "ca-core still serves the directory" ||
	fail "ca-core no longer serves the directory"
check "ca-core is still running" kill -0 "$CA_CORE_PID"
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$LOG"; then
	fail "sanitizer report in ca-core's log"
else
	pass "no sanitizer report in ca-core's log"
fi
test_finish
