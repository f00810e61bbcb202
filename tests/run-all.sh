#!/bin/sh
# Run the unit tests, then every integration test, against the programs in
# BUILD/bin, and print the summed totals as "total: N passed, N failed".
# Usage: run-all.sh BUILD
set -u
build=${1:-build}
CA_BIN=$(cd "$build/bin" && pwd)
export CA_BIN
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0

# Add the "N passed, N failed" line of a test's output to the totals; a
# test that printed no such line or exited non-zero counts as one failure.
tally() {
	out=$1
	status=$2
	name=$3
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $name printed no result line (exit status $status)"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed 's/^\([0-9]*\) passed.*/\1/')
	f=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name exited with status $status"
		failed=$((failed + 1))
	fi
}

out=$(mktemp)
for t in "$CA_BIN"/test_*; do
	[ -x "$t" ] || continue
	echo "== unit: $(basename "$t")"
	"$t" >"$out" 2>&1
	status=$?
	cat "$out"
	tally "$out" "$status" "$(basename "$t")"
done

for t in "$top"/tests/integration/*_test.sh; do
	[ -f "$t" ] || continue
	echo "== integration: $(basename "$t")"
	bash "$t" >"$out" 2>&1
	status=$?
	cat "$out"
	tally "$out" "$status" "$(basename "$t")"
done
rm -f "$out"

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
