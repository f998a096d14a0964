#!/usr/bin/env bash
# `make test`: every suite in turn, each one's output as it runs, then one
# closing line "N passed, N failed" over all of them.  A failing suite does
# not stop the others; the exit status is 1 if any test or suite failed.
set -u
cd "$(dirname "$0")/.."

suites=(unit interop export-test census-test fuzz-smoke robust test-scratch test-arm64)
passed=0
failed=0
broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Counts in one suite's output: cmocka ("[  PASSED  ] N test(s)",
# "[  FAILED  ] N test(s)"), our runners ("N passed, N failed"), unittest
# ("Ran N tests" + "FAILED (failures=F, errors=E)", when no runner line
# wraps it) and fuzz/run.sh (one
# "fuzz_NAME: ..." line per target, "FAILED" in it on a crash).
count() {
	awk '
	/^\[  PASSED  \] [0-9]+ test/ { p += $4 }
	/^\[  FAILED  \] [0-9]+ test/ { f += $4 }
	/^([a-z]+: )?[0-9]+ passed, [0-9]+ failed/ {
		sub(/^[a-z]+: /, ""); p += $1; f += $3; runner = 1 }
	/^Ran [0-9]+ tests? in/ { ran += $2 }
	/^FAILED \(/ { n = split($0, a, /[=,)]/); for (i = 2; i <= n; i += 2) uf += a[i] }
	/^fuzz_[a-z0-9_]+: / { if ($0 ~ /FAILED/) f++; else p++ }
	# our runners wrap unittest: count their line only
	END { if (runner) { ran = 0; uf = 0 }; print p + ran - uf, f + uf }' "$1"
}

for s in "${suites[@]}"; do
	echo "=== make $s"
	make --no-print-directory "$s" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	read -r p f < <(count "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1     # the suite failed before any test could say so
	fi
	[ "$rc" -ne 0 ] && broken+=("$s")
	passed=$((passed + p))
	failed=$((failed + f))
	echo "=== make $s: $p passed, $f failed"
done

echo
[ ${#broken[@]} -gt 0 ] && echo "failing suites: ${broken[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
