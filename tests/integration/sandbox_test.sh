#!/usr/bin/env bash
# Integration test of the validator sandbox.  sandbox_probe enters the
# sandbox exactly as a validator does and then tries one forbidden action;
# the checks below expect each to be denied, both as root (chroot and the
# switch to acmeca-validator) and as nobody (Landlock).  A running
# ca-validator-http-01 is checked through /proc/PID/status, and the seccomp
# debug switch must name the forbidden call.
#
# When CA_BIN holds an ASan build, the probe checks run a second time with
# a plain build made here (make BUILD=build/sandbox), because ASan builds
# skip RLIMIT_AS.
#
# Usage: CA_BIN=build/asan/bin bash tests/integration/sandbox_test.sh
# Needs root (for the root path and setpriv) and util-linux's setpriv.
# Uses no network port.  Prints "N passed, N failed".

. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
test_workdir
trap test_cleanup EXIT

SIGSYS_STATUS=$((128 + 31))

# probe_expect DESC PATTERN BIN ARGS...: run the probe (stdout and stderr
# together) and pass when the output matches PATTERN.
probe_expect() {
	local desc=$1 pattern=$2 bin=$3 out status
	shift 3
	out=$("$bin" "$@" 2>&1)
	status=$?
	if echo "$out" | grep -qE "$pattern"; then
		pass "$desc"
	else
		fail "$desc: no line matching '$pattern' (exit $status); output:"
		echo "$out" | sed 's/^/    /'
	fi
}

# probe_killed DESC BIN ARGS...: pass when the probe dies by SIGSYS, or
# reports the action denied with EPERM.
probe_killed() {
	local desc=$1 bin=$2 out status
	shift 2
	out=$("$bin" "$@" 2>&1)
	status=$?
	if [ "$status" -eq "$SIGSYS_STATUS" ]; then
		pass "$desc (killed by SIGSYS)"
	elif echo "$out" | grep -q "denied errno=EPERM"; then
		pass "$desc (EPERM)"
	else
		fail "$desc: expected death by SIGSYS or EPERM, got exit $status; output:"
		echo "$out" | sed 's/^/    /'
	fi
}

# probe_suite LABEL BIN [WRAPPER...]: every forbidden action, with the
# probe run through WRAPPER (e.g. setpriv) when given.
probe_suite() {
	local label=$1 bin=$2
	shift 2
	local run=("$@" "$bin")

	probe_expect "$label: sandbox entered" "info: sandbox entered" \
	    "${run[@]}" none
	probe_expect "$label: open /etc/passwd is denied" \
	    "^open: denied errno=(EACCES|ENOENT)$" "${run[@]}" open
	probe_killed "$label: execve /bin/true is denied" "${run[@]}" exec
	probe_killed "$label: fork is denied" "${run[@]}" fork
	probe_expect "$label: setuid(0) is denied" \
	    "^setuid: denied errno=EPERM$" "${run[@]}" setuid
	probe_expect "$label: AF_INET socket allowed when declared" \
	    "^socket-inet: allowed$" "${run[@]}" --net socket-inet
	probe_expect "$label: AF_INET6 socket allowed when declared" \
	    "^socket-inet6: allowed$" "${run[@]}" --net socket-inet6
	probe_expect "$label: AF_UNIX socket denied when not declared" \
	    "^socket-unix: denied errno=" "${run[@]}" --net socket-unix
	probe_expect "$label: network-free denies AF_INET" \
	    "^socket-inet: denied errno=" "${run[@]}" --no-net socket-inet
	probe_expect "$label: network-free denies AF_INET6" \
	    "^socket-inet6: denied errno=" "${run[@]}" --no-net socket-inet6
	probe_expect "$label: network-free denies AF_UNIX" \
	    "^socket-unix: denied errno=" "${run[@]}" --no-net socket-unix
	probe_expect "$label: seccomp filter mode" "^Seccomp:[[:space:]]+2$" \
	    "${run[@]}" status
	probe_expect "$label: no_new_privs set" "^NoNewPrivs:[[:space:]]+1$" \
	    "${run[@]}" status
	probe_expect "$label: not root" "^Uid:[[:space:]]+[1-9][0-9]*[[:space:]]" \
	    "${run[@]}" status
	probe_expect "$label: debug switch names execve" \
	    "system call [0-9]+ \(execve\) is not allowed" \
	    env CA_VALIDATOR_SECCOMP_DEBUG=1 "${run[@]}" exec
}

# The user that validators switch to as root; ca-core creates it, and so
# does this test when it runs alone.
if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root (chroot, user switch, setpriv)"
	exit 1
fi
if ! getent passwd acmeca-validator >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group acmeca-validator
fi

suites() {
	local bin=$1 label=$2
	probe_suite "$label root" "$bin/sandbox_probe"
	probe_expect "$label root: chroot and user switch" \
	    "sandbox entered \(user acmeca-validator uid [0-9]+, root dir /var/empty/acmeca" \
	    "$bin/sandbox_probe" none
	probe_suite "$label nobody" "$bin/sandbox_probe" \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups
	probe_expect "$label nobody: Landlock path" \
	    "sandbox entered \(user unchanged uid [0-9]+, landlock ABI [0-9]+" \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$bin/sandbox_probe" none
}

suites "$CA_BIN" "$(basename "$(dirname "$CA_BIN")")"

# ASan builds skip RLIMIT_AS, so a plain build checks that too.
if "$CA_BIN/sandbox_probe" none 2>&1 | grep -q "ASan build"; then
	if make -C "$top" -s BUILD=build/sandbox build/sandbox/bin/sandbox_probe \
	    >"$TEST_DIR/make.log" 2>&1; then
		pass "plain build of sandbox_probe"
		suites "$top/build/sandbox/bin" "plain"
		probe_expect "plain: RLIMIT_AS is set" \
		    "RLIMIT_AS limited to [0-9]+" \
		    env CA_LOG_LEVEL=debug "$top/build/sandbox/bin/sandbox_probe" none
	else
		fail "plain build of sandbox_probe failed; see $TEST_DIR/make.log"
	fi
fi

# A running validator: /proc/PID/status from outside.
sock=$TEST_DIR/http01.sock
start_bg http01 "$CA_BIN/ca-validator-http-01" --listen "$sock"
vpid=$LAST_PID
if wait_for "the validator's sandbox" 10 grep -q "sandbox entered" \
    "$TEST_DIR/http01.log"; then
	pass "http-01 validator entered the sandbox"
else
	fail "http-01 validator did not enter the sandbox; log:"
	sed 's/^/    /' "$TEST_DIR/http01.log"
fi
status_file=/proc/$vpid/status
if grep -qE "^Seccomp:[[:space:]]+2$" "$status_file"; then
	pass "http-01 /proc status: Seccomp 2"
else
	fail "http-01 /proc status: Seccomp is not 2: $(grep Seccomp: "$status_file")"
fi
if grep -qE "^NoNewPrivs:[[:space:]]+1$" "$status_file"; then
	pass "http-01 /proc status: NoNewPrivs 1"
else
	fail "http-01 /proc status: NoNewPrivs is not 1: $(grep NoNewPrivs: "$status_file")"
fi
if grep -qE "^Uid:[[:space:]]+[1-9]" "$status_file"; then
	pass "http-01 /proc status: Uid not 0"
else
	fail "http-01 /proc status: runs as root: $(grep Uid: "$status_file")"
fi
kill "$vpid" 2>/dev/null
wait "$vpid" 2>/dev/null
if wait_for "the socket's removal" 5 test ! -e "$sock"; then
	pass "http-01 --listen socket removed after exit"
else
	fail "http-01 --listen socket $sock still exists after exit"
fi
if grep -q "stopped with status 0" "$TEST_DIR/http01.log"; then
	pass "http-01 validator stopped cleanly on SIGTERM"
else
	fail "http-01 validator did not stop cleanly; log:"
	sed 's/^/    /' "$TEST_DIR/http01.log"
fi

test_finish
