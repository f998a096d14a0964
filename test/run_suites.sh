#!/usr/bin/env bash
# `make test`: every suite in turn, each one's output as it runs, then one
# closing line "N passed, N failed, N skipped" over all of them, summed
# from the result lines test/count_results.py reads in each suite's
# output.  A failing suite does not stop the others; the exit status is 1
# if any test or suite failed, and under CI=true if any test skipped.
set -u
cd "$(dirname "$0")/.."

suites=(unit interop export-test census-test fuzz-smoke robust test-scratch test-arm64 test-docker)
passed=0
failed=0
skipped=0
broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for s in "${suites[@]}"; do
	echo "=== make $s"
	make --no-print-directory "$s" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	read -r p f k < <(/usr/bin/python3 test/count_results.py "$log")
	if [ "$f" -eq 0 ] && { [ "$rc" -ne 0 ] || [ $((p + k)) -eq 0 ]; }; then
		f=1     # it failed, or ran nothing, without a test saying so
		rc=1
	fi
	[ "$rc" -ne 0 ] && broken+=("$s")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + k))
	echo "=== make $s: $p passed, $f failed, $k skipped"
done

echo
[ ${#broken[@]} -gt 0 ] && echo "failing suites: ${broken[*]}"
ci_skips=0
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
	echo "CI=true: $skipped tests skipped; CI must run every test"
	ci_skips=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ] && [ "$ci_skips" -eq 0 ]
