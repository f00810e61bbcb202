#!/bin/bash
# Fuzz smoke test: build the libFuzzer targets of tests/fuzz with `make
# fuzz` and run each for FUZZ_SECONDS (default 15) on its seed corpus.  A
# target that ends without a crash is one pass.  A crash, leak, timeout or
# sanitizer report is one failure, printed with the path of the input that
# reproduces it and the first lines of the report.  Without clang and its
# fuzzer runtime the test prints a skip line and counts nothing.
#
# Inputs that the fuzzer finds go to a scratch folder, so the seed corpora
# under tests/fuzz/corpus stay as they are.  Crash inputs are kept in
# build/fuzz/artifacts.  Rerun one with: build/fuzz/fuzz_NAME FILE
. "$(dirname "$0")/lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
# Per-input limits: an input slower than FUZZ_TIMEOUT seconds or a process
# above FUZZ_RSS_MB megabytes is reported as a failure.
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_CC=${FUZZ_CC:-clang}

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/fuzz
artifacts=$build/artifacts

# The targets that parse JSON get a dictionary of its syntax and of the
# member names the parsers look for.
json_targets=" fuzz_msg fuzz_jws fuzz_jwk "

test_workdir
trap test_cleanup EXIT

# Check for clang and the libFuzzer runtime by linking a trivial target.
have_libfuzzer() {
	command -v "$FUZZ_CC" >/dev/null 2>&1 || return 1
	cat >"$TEST_DIR/probe.c" <<-'PROBE'
	int LLVMFuzzerTestOneInput(const unsigned char *data, unsigned long size);
	int LLVMFuzzerTestOneInput(const unsigned char *data, unsigned long size)
	{
		(void)data;
		(void)size;
		return 0;
	}
	PROBE
	"$FUZZ_CC" -fsanitize=fuzzer -o "$TEST_DIR/probe" "$TEST_DIR/probe.c" \
	    >/dev/null 2>&1
}

if ! have_libfuzzer; then
	echo "skip fuzz targets: $FUZZ_CC with the libFuzzer runtime is not" \
	    "installed (Debian packages clang and libclang-rt-14-dev)"
	test_finish
	exit 0
fi

if ! make -C "$top" --no-print-directory -j2 FUZZ_CC="$FUZZ_CC" fuzz \
    >"$TEST_DIR/build.log" 2>&1; then
	fail "make fuzz: $(tail -n 5 "$TEST_DIR/build.log")"
	test_finish
	exit 1
fi
pass "make fuzz builds the targets"
mkdir -p "$artifacts"

# run_target NAME: fuzz one target and record a pass or a failure.
run_target() {
	name=$1
	seeds=$top/tests/fuzz/corpus/$name
	scratch=$TEST_DIR/corpus-$name
	log=$TEST_DIR/$name.log
	dict=
	case "$json_targets" in
	*" $name "*) dict=-dict=$top/tests/fuzz/json.dict ;;
	esac
	mkdir -p "$scratch"

	# Leak checking is on, unlike in the other tests, because a parser
	# that leaks on bad input leaks on every hostile request.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$build/$name" $dict -max_total_time="$FUZZ_SECONDS" \
	    -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB" \
	    -artifact_prefix="$artifacts/$name-" -print_final_stats=1 \
	    "$scratch" "$seeds" >"$log" 2>&1
	status=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$status" -eq 0 ]; then
		pass "$name: ${runs:-?} inputs in ${FUZZ_SECONDS}s without a crash"
		return
	fi
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	fail "$name exited with status $status; reproducer: ${crash:-none written}"
	grep -m 1 -A 12 -E '^==[0-9]+==|^[^ ]*: assertion failed|runtime error|^ALARM|out-of-memory' \
	    "$log" | sed 's/^/    /'
}

for src in "$top"/tests/fuzz/fuzz_*.c; do
	run_target "$(basename "$src" .c)"
done
test_finish
