#!/bin/sh
# Run every unit test binary under BUILD/bin and print the totals.
# Usage: run-unit.sh BUILD
set -u
build=${1:-build}
passed=0
failed=0
for t in "$build"/bin/test_*; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	if "$t"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
