#!/bin/sh
# run.sh BIN SECONDS CORPUS SEEDS [libFuzzer flags...]
# Runs one libFuzzer target for SECONDS over CORPUS (kept, grows) plus
# SEEDS (read only) and prints one result line (test/count_results.py
# counts it):
#   fuzz_h2: passed, 60 s, 1234567 runs, 20576 execs/s, cov 1419 (at start
#   1070), ft 6408, corpus 467, peak rss 183 MB
# or, after the end of its log indented, "fuzz_h2: FAILED (exit N), ...,
# input in build/fuzz/crashes/", and the status is 1.
set -u
bin=$1 secs=$2 corpus=$3 seeds=$4
shift 4
name=$(basename "$bin")
crashes=$(dirname "$bin")/crashes
log=$(dirname "$bin")/$name.log
mkdir -p "$corpus" "$crashes"
"$bin" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$crashes/$name-" "$@" "$corpus" "$seeds" >"$log" 2>&1
rc=$?
# "#1234<TAB>DONE cov: 567 ft: 890 corp: 12/3456b ..." (INITED: at start)
field() {
	grep -E "^#[0-9]+[[:space:]]+$1" "$log" | tail -1 |
	    sed -n "s/.* $2: \([0-9]*\).*/\1/p"
}
stat() { sed -n "s/^stat::$1: *//p" "$log"; }
stats="$secs s, $(stat number_of_executed_units) runs,\
 $(stat average_exec_per_sec) execs/s, cov $(field DONE cov)\
 (at start $(field INITED cov)), ft $(field DONE ft),\
 corpus $(field DONE corp), peak rss $(stat peak_rss_mb) MB"
if [ $rc -eq 0 ]; then
	echo "$name: passed, $stats"
	exit 0
fi
tail -40 "$log" | sed 's/^/    /'    # indented: no line of it is a result
echo "$name: FAILED (exit $rc), $stats, input in $crashes/"
exit 1
