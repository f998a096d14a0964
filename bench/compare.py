#!/usr/bin/python3
"""bench/compare.py - the core benchmarks of two sensor builds, interleaved.

    bench/compare.py BEFORE_REV [--runs 3]

Builds BEFORE_REV's kaspa-sensor in a temporary git worktree and this
tree's kaspa-sensor, loadgen and ceiling (`make bench` prerequisites), then
runs bench/run.sh with BENCH_CORE_ONLY=1 alternately on each binary (before,
after, before, after, ...) so drift in the machine hits both alike. The
generator, the ceiling server and the script are this tree's in every run;
only the binary under test differs.  Prints, per figure, the median and the
range (min-max) of each side and the change of the medians; the range is
the noise.  Raw outputs stay in build/bench/compare/.

On a shared VM the timed figures move by 20 % or more between runs, so it
also counts, with valgrind's callgrind, the sensor's user-space
instructions per gzip handshake: (Ir after 3,000 handshakes - Ir after
1,000) / 2,000, which does not depend on the machine's speed.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench", "compare")
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def run(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def build_before(rev, where):
    run(["git", "-C", ROOT, "worktree", "add", "--detach", where, rev],
        stdout=subprocess.DEVNULL)
    run(["make", "-C", where, "-j2", "kaspa-sensor"], stdout=subprocess.DEVNULL)
    return os.path.join(where, "kaspa-sensor")


def bench_once(sensor, log_path):
    env = dict(os.environ, BENCH_SENSOR=sensor, BENCH_CORE_ONLY="1")
    with open(log_path, "w") as log:
        run([os.path.join(ROOT, "bench", "run.sh")], env=env, stdout=log,
            stderr=subprocess.STDOUT, cwd=ROOT)
    return parse(log_path)


INSTR_PORT = 17613


def instructions(sensor, total, log_dir):
    """The sensor's user-space instructions for `total` handshakes."""
    out = os.path.join(log_dir, "callgrind.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
         sensor, "--listen", "127.0.0.1:%d" % INSTR_PORT,
         "--log", os.path.join(log_dir, "s.ndjson"), "--no-probe",
         "--max-conns-per-ip", "100000"],
        stderr=subprocess.DEVNULL, cwd=log_dir)
    try:
        wait_port(INSTR_PORT)
        run([os.path.join(ROOT, "build", "bench", "loadgen"), "--target",
             "127.0.0.1:%d" % INSTR_PORT, "--src-base", "127.1.0.1",
             "--src-count", "60000", "--mode", "full", "--concurrency", "8",
             "--total", str(total)], stdout=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait()
    with open(out) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + out)


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sensor under valgrind did not listen on %d" % port)


def instructions_per_handshake(sensor):
    with tempfile.TemporaryDirectory(prefix="kaspa-instr.") as d:
        return (instructions(sensor, 3000, d) -
                instructions(sensor, 1000, d)) / 2000


def add_instructions(sensor, log, figures):
    """Appends the callgrind figure to the run's raw output (as run.sh
    prints a figure) and to its figures."""
    label = "user-space instructions per handshake (callgrind)"
    value = instructions_per_handshake(sensor)
    with open(log, "a") as f:
        f.write("%-52s %.0f\n" % (label, value))
    figures[label] = [value]


def parse(path):
    """Figure label -> the numbers on its line (run.sh prints 52-column
    labels, then the value and unit).  An indented label belongs to the
    figure above it: "handshakes/s, gzip ... / sensor CPU per handshake"."""
    figures = {}
    parent = ""
    with open(path) as f:
        for line in f:
            if line.startswith("==") or len(line) < 53:
                continue
            label, value = line[:52].rstrip(), line[52:]
            numbers = [float(n) for n in NUMBER.findall(value)]
            if not label.startswith(" "):
                parent = label
            elif label.lstrip().startswith('"'):
                continue    # a tally of classification reasons
            else:
                label = parent + " / " + label.strip()
            if numbers:
                figures[label] = numbers
    return figures


def summary(values):
    med = statistics.median(values)
    return med, "%s (%s-%s)" % (fmt(med), fmt(min(values)), fmt(max(values)))


def fmt(x):
    return "%.0f" % x if abs(x) >= 100 else "%.3g" % x


def report(labels, before, after):
    print("| figure | before: median (range) | after: median (range) | change |")
    print("|---|---|---|---|")
    for label in labels:
        for i in range(len(before[0].get(label, []))):
            b = [r[label][i] for r in before if len(r.get(label, [])) > i]
            a = [r[label][i] for r in after if len(r.get(label, [])) > i]
            if not a or not b:
                continue
            bm, bs = summary(b)
            am, as_ = summary(a)
            change = "%+.1f %%" % ((am - bm) * 100 / bm) if bm else "-"
            name = label.strip() + ("" if i == 0 else " [%d]" % (i + 1))
            print("| %s | %s | %s | %s |" % (name, bs, as_, change))


def report_saved(args):
    sides = {"before": [], "after": []}
    labels = []
    for i in range(1, args.runs + 1):
        for side in sides:
            sides[side].append(parse(os.path.join(OUT, "%s-%d.txt" % (side, i))))
            labels += [k for k in sides[side][-1] if k not in labels]
    print("before = %s, %d runs each, interleaved (saved outputs)" % (
        args.before, args.runs))
    report(labels, sides["before"], sides["after"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before", help="git revision of the 'before' build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--report-only", action="store_true",
                    help="summarize the raw outputs of the last comparison")
    args = ap.parse_args()
    if args.report_only:
        return report_saved(args)
    run(["make", "-C", ROOT, "-j2", "kaspa-sensor", "build/bench/loadgen",
         "build/bench/ceiling"], stdout=subprocess.DEVNULL)
    os.makedirs(OUT, exist_ok=True)
    before, after, labels = [], [], []
    with tempfile.TemporaryDirectory(prefix="kaspa-compare.") as tmp:
        where = os.path.join(tmp, "before")
        try:
            old = build_before(args.before, where)
            new = os.path.join(ROOT, "kaspa-sensor")
            for i in range(1, args.runs + 1):
                for side, sensor, into in (("before", old, before),
                                           ("after", new, after)):
                    log = os.path.join(OUT, "%s-%d.txt" % (side, i))
                    print("run %d/%d: %s" % (i, args.runs, side),
                          file=sys.stderr, flush=True)
                    into.append(bench_once(sensor, log))
                    add_instructions(sensor, log, into[-1])
                    labels += [k for k in into[-1] if k not in labels]
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force",
                            where], stderr=subprocess.DEVNULL)
    print("before = %s, after = %s, %d runs each, interleaved" % (
        args.before, subprocess.run(
            ["git", "-C", ROOT, "describe", "--always", "--dirty"],
            capture_output=True, text=True).stdout.strip(), args.runs))
    report(labels, before, after)


if __name__ == "__main__":
    main()
