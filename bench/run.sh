#!/bin/bash
# bench/run.sh - kaspa-sensor benchmarks (BENCHMARKS.md).  `make bench`
# builds the sensor, build/bench/loadgen and build/bench/ceiling, then runs
# this.  The server under test (sensor or ceiling) is pinned to one core,
# the generator to the other.  Prints every figure with its unit; exits
# non-zero only when a run failed, never on a threshold.
#
# Knobs (environment): BENCH_SENSOR_CPU=0 BENCH_GEN_CPU=1 BENCH_DURATION_S=12
# BENCH_CONCURRENCY=64 BENCH_IDLE_S=10 BENCH_PORT=17611 BENCH_PROBE_PORT=17612
# BENCH_HOLD="1000 10000" BENCH_SENSOR=./kaspa-sensor (the binary under test)
# BENCH_CORE_ONLY=1 (sections 1-5 only: no crawl or census rows; what
# bench/compare.sh uses)
set -u
cd "$(dirname "$0")/.."

SENSOR=${BENCH_SENSOR:-./kaspa-sensor}
LOADGEN=build/bench/loadgen
CEILING=build/bench/ceiling
SCPU=${BENCH_SENSOR_CPU:-0}
GCPU=${BENCH_GEN_CPU:-1}
DURATION=${BENCH_DURATION_S:-12}
CONC=${BENCH_CONCURRENCY:-64}
IDLE_S=${BENCH_IDLE_S:-10}
PORT=${BENCH_PORT:-17611}
PROBE_PORT=${BENCH_PROBE_PORT:-17612}
HOLDS=${BENCH_HOLD:-1000 10000}
TARGET=127.0.0.1:$PORT
# Every connection gets its own loopback source address (and so its own
# node id): no ephemeral-port exhaustion, no per-IP limit.
SOURCES=(--src-base 127.1.0.1 --src-count 60000)
HZ=$(getconf CLK_TCK)

T=$(mktemp -d /tmp/kaspa-bench.XXXXXX)
SERVER_PID=
HOLD_PID=

cleanup() {
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "bench: FAILED: $*" >&2
	for f in "$T"/*.err; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }
	done
	exit 1
}

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 12000 ] || fail "ulimit -n is $(ulimit -n); 12000 needed"

# ---- helpers ----
figure() { printf '%-52s %s\n' "$1" "$2"; }
kv() { grep -o " $1=[^ ]*" "$2" | cut -d= -f2; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ctx_switches() {
	awk '/ctxt_switches/ {n += $2} END {print n}' "/proc/$1/status"
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# Wait until something accepts on $1 (up to 5 s); bash's /dev/tcp, no fork.
wait_port() {
	local end=$((SECONDS + 5))
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
	done
	return 0
}

# start_sensor NAME [sensor options...]
start_sensor() {
	local name=$1
	shift
	taskset -c "$SCPU" "$SENSOR" --listen "$TARGET" \
	    --log "$T/$name.ndjson" --log-max-bytes 4294967296 \
	    --max-conns 20000 --max-conns-per-ip 100000 "$@" \
	    2>"$T/$name.err" &
	SERVER_PID=$!
	wait_port "$PORT" || fail "$name: sensor did not start"
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# gen NAME [loadgen options...]: one generator run, summary in $T/NAME.out
gen() {
	local name=$1
	shift
	taskset -c "$GCPU" "$LOADGEN" --target "$TARGET" "${SOURCES[@]}" "$@" \
	    >"$T/$name.out" 2>"$T/$name.err" || fail "$name: loadgen exited $?"
	[ "$(kv ok "$T/$name.out")" -gt 0 ] || fail "$name: no connection succeeded"
	kill -0 "$SERVER_PID" 2>/dev/null || fail "$name: the server died"
}

# load NAME [loadgen options...]: a sustained full-handshake run against the
# running sensor; sets RATE and CPU_US (sensor CPU per handshake).
load() {
	local name=$1
	shift
	local t0 t1
	t0=$(ticks "$SERVER_PID")
	gen "$name" --mode full --concurrency "$CONC" --duration-s "$DURATION" "$@"
	t1=$(ticks "$SERVER_PID")
	local out=$T/$name.out
	RATE=$(kv rate_per_s "$out")
	CPU_US=$(calc %.1f "($t1 - $t0) * 1e6 / $HZ / $(kv ok "$out")")
	SENSOR_UTIL=$(calc %.0f "($t1 - $t0) * 100 / $HZ / $(kv elapsed_s "$out")")
	GEN_UTIL=$(calc %.0f "$(kv cpu_s "$out") * 100 / $(kv elapsed_s "$out")")
	local failed=0 k
	for k in fail_connect fail_timeout fail_closed fail_h2; do
		failed=$((failed + $(kv $k "$out")))
	done
	FAILED=$failed
}

# ---- 1. binary, startup, idle ----
echo "== kaspa-sensor benchmarks: $(nproc) cores, sensor on CPU $SCPU," \
    "generator on CPU $GCPU, $(uname -r)"
figure "binary size (static, stripped)" "$(stat -c %s "$SENSOR") bytes"

best=
for i in 1 2 3 4 5; do
	t0=$EPOCHREALTIME
	start_sensor startup --no-probe
	t1=$EPOCHREALTIME
	stop_server
	us=$(calc %.0f "($t1 - $t0) * 1e6")
	[ -z "$best" ] || [ "$us" -lt "$best" ] && best=$us
done
figure "startup: exec to accepting (best of 5)" "$(calc %.2f "$best / 1000") ms"

start_sensor idle --no-probe
sleep 1
IDLE_RSS=$(rss_kb "$SERVER_PID")
c0=$(ctx_switches "$SERVER_PID")
sleep "$IDLE_S"
c1=$(ctx_switches "$SERVER_PID")
figure "RSS idle" "$IDLE_RSS KB"
figure "idle wake-ups (context switches over ${IDLE_S} s)" \
    "$(calc %.2f "($c1 - $c0) / $IDLE_S") /s"
stop_server

# ---- 2. ceiling: accept() + close() ----
taskset -c "$SCPU" "$CEILING" "$TARGET" 2>"$T/ceiling.err" &
SERVER_PID=$!
wait_port "$PORT" || fail "ceiling server did not start"
gen ceiling --mode tcp --concurrency "$CONC" --duration-s "$DURATION"
CEIL=$(kv rate_per_s "$T/ceiling.out")
stop_server
figure "ceiling: accept()+close() (${DURATION} s)" "$CEIL conn/s"

# ---- 3. full handshakes, gzip and plain, no probing ----
start_sensor full --no-probe
load full_gzip
figure "handshakes/s, gzip (${DURATION} s, $CONC concurrent)" "$RATE /s"
figure "  ratio to the ceiling" "$(calc %.1f "$RATE * 100 / $CEIL") %"
figure "  handshake latency p50 / p99" \
    "$(kv p50_ms "$T/full_gzip.out") / $(kv p99_ms "$T/full_gzip.out") ms"
figure "  sensor CPU per handshake" "$CPU_US us"
figure "  CPU busy: sensor / generator" "$SENSOR_UTIL % / $GEN_UTIL %"
figure "  failed sessions" "$FAILED"
GZIP_RATE=$RATE
load full_plain --no-gzip
figure "handshakes/s, uncompressed (${DURATION} s)" "$RATE /s"
figure "  sensor CPU per handshake" "$CPU_US us"
figure "  handshake latency p50 / p99" \
    "$(kv p50_ms "$T/full_plain.out") / $(kv p99_ms "$T/full_plain.out") ms"
stop_server
ok_lines=$(grep -c '"outcome":"ok"' "$T/full.ndjson")
figure "  log lines with outcome ok (both runs)" "$ok_lines"

# ---- 4. probing: the generator is also the node the sensor dials back ----
start_sensor probe --probe-allow-private --probe-cache-ttl-s 0 \
    --probe-max 1024
load probe --advertise-port "$PROBE_PORT" --listen-port "$PROBE_PORT"
stop_server
verified=$(grep -c '"classification_reason":"advertised_verified"' \
    "$T/probe.ndjson")
lines=$(grep -c '"outcome"' "$T/probe.ndjson")
figure "handshakes/s with probing, gzip (${DURATION} s)" "$RATE /s"
figure "  effect of probing on handshakes/s" \
    "$(calc %+.1f "($RATE - $GZIP_RATE) * 100 / $GZIP_RATE") %"
figure "  verified probes/s" \
    "$(calc %.1f "$verified / $(kv elapsed_s "$T/probe.out")") /s"
figure "  verified probes / connections logged" "$verified / $lines"
figure "  sensor CPU per handshake + probe" "$CPU_US us"
figure "  CPU busy: sensor / generator" "$SENSOR_UTIL % / $GEN_UTIL %"
grep -o '"classification_reason":"[a-z_]*"' "$T/probe.ndjson" | sort |
    uniq -c | sort -rn | head -4 | while read -r n reason; do
	figure "    ${reason#*:}" "$n"
done

# ---- 5. memory with connections held mid-handshake ----
for n in $HOLDS; do
	start_sensor "hold$n" --no-probe --stage-timeout-ms 600000
	sleep 0.5
	base=$(rss_kb "$SERVER_PID")
	: >"$T/hold$n.out"
	taskset -c "$GCPU" "$LOADGEN" --target "$TARGET" "${SOURCES[@]}" \
	    --mode hold --concurrency "$n" --rate 20000 \
	    >"$T/hold$n.out" 2>"$T/hold$n.err" &
	HOLD_PID=$!
	end=$((SECONDS + 60))
	until grep -q '^held' "$T/hold$n.out"; do
		kill -0 "$HOLD_PID" 2>/dev/null || fail "hold $n: loadgen died"
		[ $SECONDS -ge $end ] && fail "hold $n: not all connections held"
		sleep 0.2
	done
	sleep 0.5
	rss=$(rss_kb "$SERVER_PID")
	figure "RSS with $n connections held mid-handshake" \
	    "$rss KB ($(calc %.0f "($rss - $base) * 1024 / $n") bytes/conn)"
	if [ "$n" = "${HOLDS##* }" ]; then
		load busy
		figure "  handshakes/s, gzip, while they are held" "$RATE /s"
		figure "  sensor CPU per handshake" "$CPU_US us"
	fi
	kill "$HOLD_PID"
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
	stop_server
done

if [ "${BENCH_CORE_ONLY:-0}" = 1 ]; then
	echo "== done"
	exit 0
fi

# Crawl speed: 10,000 simulated nodes (python, one process) on 127.77/16.
crawl=$(/usr/bin/python3 "$(dirname "$0")/crawl_scale.py" --nodes 10000) ||
	fail "crawl_scale.py"
echo "$crawl" | sed -n 's/^\(peers visited\|wall time\|rate\)/crawl, &/p'

# Census: 100,000 and 1,000,000 generated fleet lines, and jq beside it.
/usr/bin/python3 "$(dirname "$0")/census_speed.py" || fail "census_speed.py"
echo "== done"
