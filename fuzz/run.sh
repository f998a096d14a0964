#!/bin/sh
# run.sh BIN SECONDS CORPUS [DIR | -libFuzzer-flag]...
# Runs one libFuzzer target for SECONDS (0: no time limit, e.g. with
# -runs=N) over CORPUS (kept, grows) plus the read-only DIRs (the committed
# corpus, the captured seeds) and prints one result line
# (test/count_results.py counts it):
#   fuzz_h2: passed, 60 s, 1234567 runs, 20576 execs/s, cov 1419 (at start
#   1070), ft 6408, corpus 467/52311b, crashes 0, peak rss 183 MB
# or, after the end of its log indented, "fuzz_h2: FAILED (exit N), ...,
# input in build/fuzz/crashes/", and the status is 1.  The log goes to
# $FUZZ_LOG_DIR (default: next to BIN), one file per target.
set -u
bin=$1 secs=$2 corpus=$3
shift 3
name=$(basename "$bin")
crashes=$(dirname "$bin")/crashes
logdir=${FUZZ_LOG_DIR:-$(dirname "$bin")}
log=$logdir/$name.log
mkdir -p "$corpus" "$crashes" "$logdir"
start=$(date +%s)
# CORPUS first: libFuzzer adds what it finds to the first directory only.
"$bin" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$crashes/$name-" "$corpus" "$@" >"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
# "#1234<TAB>DONE cov: 567 ft: 890 corp: 12/3456b ..." (INITED: at start;
# the last status line of any kind at the end, as a crash stops before DONE)
status_line() { grep -E "^#[0-9]+[[:space:]]+$1.* cov: " "$log" | tail -1; }
field() { sed -n "s/.* $1: \([0-9/KMGb]*\).*/\1/p"; }
stat() { sed -n "s/^stat::$1: *//p" "$log"; }
end=$(status_line "")
stats="$elapsed s, $(stat number_of_executed_units) runs,\
 $(stat average_exec_per_sec) execs/s, cov $(echo "$end" | field cov)\
 (at start $(status_line INITED | field cov)), ft $(echo "$end" | field ft),\
 corpus $(echo "$end" | field corp),\
 crashes $(grep -c '^artifact_prefix=.*Test unit written to' "$log"),\
 peak rss $(stat peak_rss_mb) MB"
if [ $rc -eq 0 ]; then
	echo "$name: passed, $stats"
	exit 0
fi
tail -40 "$log" | sed 's/^/    /'    # indented: no line of it is a result
echo "$name: FAILED (exit $rc), $stats, input in $crashes/"
exit 1
