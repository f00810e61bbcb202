# Helpers shared by the integration tests (sourced, not run).
#
# Each test gets a scratch folder, starts what it needs in the background,
# records the PIDs and stops exactly those on exit.  Checks print "ok" or
# "FAIL" lines with the reason; test_finish prints "N passed, N failed".

set -u

: "${CA_BIN:=$(cd "$(dirname "$0")/../.." && pwd)/build/bin}"
export CA_BIN
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

test_passed=0
test_failed=0
test_pids=""
test_clusters=""

test_workdir() {
	TEST_DIR=$(mktemp -d "/tmp/ca-test.XXXXXX")
	chmod 755 "$TEST_DIR"
	export TEST_DIR
}

pass() {
	test_passed=$((test_passed + 1))
	echo "ok   $*"
}

fail() {
	test_failed=$((test_failed + 1))
	echo "FAIL $*"
}

# check DESCRIPTION COMMAND...: pass when the command exits 0.
check() {
	desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc (command failed: $*)"
	fi
}

# Start a command in the background with its output in a log file.
# Usage: start_bg NAME COMMAND...; sets LAST_PID.
start_bg() {
	name=$1
	shift
	"$@" >"$TEST_DIR/$name.log" 2>&1 &
	LAST_PID=$!
	test_pids="$test_pids $LAST_PID"
}

# wait_for DESCRIPTION SECONDS COMMAND...: retry until the command succeeds.
wait_for() {
	desc=$1
	limit=$2
	shift 2
	i=0
	while [ "$i" -lt $((limit * 10)) ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "timed out after ${limit}s waiting for $desc" >&2
	return 1
}

test_cleanup() {
	for pid in $test_pids; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $test_pids; do
		wait "$pid" 2>/dev/null || true
	done
	for home in $test_clusters; do
		pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
		if [ -f "$home/db/data/postmaster.pid" ]; then
			if [ "$(id -u)" -eq 0 ]; then
				runuser -u acmeca-db -- "$pg_bin/pg_ctl" -D "$home/db/data" \
				    -m fast -w stop >/dev/null 2>&1 || true
			else
				"$pg_bin/pg_ctl" -D "$home/db/data" -m fast -w stop \
				    >/dev/null 2>&1 || true
			fi
		fi
	done
	if [ "${KEEP_TEST_DIR:-0}" = 1 ] || [ "$test_failed" -ne 0 ]; then
		echo "logs kept in $TEST_DIR"
	else
		rm -rf "$TEST_DIR"
	fi
}

test_finish() {
	echo "$test_passed passed, $test_failed failed"
	[ "$test_failed" -eq 0 ]
}

# abort_test MESSAGE: record a failure that stops the test, print the
# totals and exit; the EXIT trap stops what the test started.
abort_test() {
	fail "$1"
	test_finish
	exit 1
}

# Debian's python3-cryptography is installed for /usr/bin/python3, which
# may not be the python3 first on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}

# End the test unless $PYTHON can import the cryptography module.
require_python_cryptography() {
	"$PYTHON" -c "import cryptography" 2>/dev/null ||
	    abort_test "$PYTHON cannot import cryptography (install python3-cryptography)"
}

# Start pebble-challtestsrv as the validators' resolver: every name
# resolves to 127.0.0.1, and TXT records can be added over its management
# API on CHALLTESTSRV_MGMT.
start_challtestsrv() {
	DNS_PORT=${DNS_PORT:-18053}
	MGMT_PORT=${MGMT_PORT:-18055}
	start_bg challtestsrv pebble-challtestsrv -defaultIPv4 127.0.0.1 \
	    -defaultIPv6 "" -dns01 "127.0.0.1:$DNS_PORT" \
	    -management "127.0.0.1:$MGMT_PORT" -http01 "" -https01 "" \
	    -tlsalpn01 ""
	wait_for "pebble-challtestsrv" 10 \
	    curl -sf -X POST -d '{"ip":"127.0.0.1"}' "http://127.0.0.1:$MGMT_PORT/set-default-ipv4"
}

# Create a CA in $TEST_DIR/ca listening on CA_PORT with its http-01
# validator checking port HTTP01_PORT through the challtestsrv resolver.
init_ca() {
	CA_PORT=${CA_PORT:-18443}
	HTTP01_PORT=${HTTP01_PORT:-5002}
	CA_HOME=$TEST_DIR/ca
	export CA_HOME
	test_clusters="$test_clusters $CA_HOME"
	"$CA_BIN/caadm" init --name "Test CA" --dns localhost --dns 127.0.0.1 \
	    --address "127.0.0.1:$CA_PORT" --http-port "$HTTP01_PORT" \
	    --resolver "127.0.0.1:$DNS_PORT" >"$TEST_DIR/init.log" 2>&1 || {
		cat "$TEST_DIR/init.log"
		return 1
	}
	ROOT_CERT=$CA_HOME/certs/root_ca.crt
	INTERMEDIATE_CERT=$CA_HOME/certs/intermediate_ca.crt
	export ROOT_CERT INTERMEDIATE_CERT
}

# Start the resolver and create the CA, or end the test.
setup_ca() {
	start_challtestsrv || abort_test "pebble-challtestsrv did not start"
	init_ca || abort_test "caadm init"
	pass "caadm init"
}

start_ca_core() {
	start_bg ca-core "$CA_BIN/ca-core"
	CA_CORE_PID=$LAST_PID
	wait_for "ca-core directory" 30 curl -sf --cacert "$ROOT_CERT" \
	    "https://localhost:$CA_PORT/acme/${1:-acme}/directory" || {
		tail -n 30 "$TEST_DIR/ca-core.log"
		return 1
	}
}

# SQL against the CA's embedded cluster; prints unaligned rows.
ca_sql() {
	psql -X -A -t -v ON_ERROR_STOP=1 \
	    "host=$CA_HOME/db/run dbname=acmeca user=acmeca-db" -c "$1"
}

# verify_cert DESCRIPTION FILE NAME...: the chain in FILE verifies against
# the root, and the leaf's SANs are exactly the names given.
verify_cert() {
	desc=$1
	file=$2
	shift 2
	if ! openssl verify -CAfile "$ROOT_CERT" -untrusted "$INTERMEDIATE_CERT" \
	    "$file" >"$TEST_DIR/verify.out" 2>&1; then
		fail "$desc: chain does not verify: $(cat "$TEST_DIR/verify.out")"
		return
	fi
	want=$(for n in "$@"; do echo "$n"; done | sort | tr '\n' ' ')
	got=$(openssl x509 -in "$file" -noout -ext subjectAltName 2>/dev/null |
	    tail -n +2 | tr ',' '\n' | sed -e 's/^ *//' -e 's/^DNS://' \
	    -e 's/^IP Address://' | sort | tr '\n' ' ')
	if [ "$want" != "$got" ]; then
		fail "$desc: SANs are '$got', expected '$want'"
		return
	fi
	pass "$desc"
}

# add_probe_counts SCRIPT STATUS LOG: add the "probe: N passed, N failed"
# line that a Python probe printed to LOG to this test's totals.  A probe
# without that line, or one that exited non-zero with no failed case,
# counts as one failure.
add_probe_counts() {
	script=$1
	status=$2
	log=$3
	summary=$(grep -E '^probe: [0-9]+ passed, [0-9]+ failed$' "$log")
	if [ -z "$summary" ]; then
		fail "$script ended without its summary (exit $status): $(tail -n 5 "$log")"
		return
	fi
	n_pass=$(echo "$summary" | sed -E 's/^probe: ([0-9]+) passed.*/\1/')
	n_fail=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
	test_passed=$((test_passed + n_pass))
	test_failed=$((test_failed + n_fail))
	if [ "$status" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
		fail "$script exited $status with no failed case"
	fi
}

# check_sanitizer_reports NAME LOG: a program of a sanitizer build wrote
# no AddressSanitizer, UBSan or LeakSanitizer report to LOG.
check_sanitizer_reports() {
	check "$1 log has no AddressSanitizer report" \
	    test "$(grep -c 'ERROR: AddressSanitizer' "$2")" -eq 0
	check "$1 log has no UBSan runtime error" \
	    test "$(grep -c 'runtime error' "$2")" -eq 0
	check "$1 log has no LeakSanitizer report" \
	    test "$(grep -c 'ERROR: LeakSanitizer' "$2")" -eq 0
}
