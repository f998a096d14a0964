#!/usr/bin/python3
"""Census speed: `kaspa-sensor census --json` on generated fleet logs of
100,000 and 1,000,000 lines (test/census/fleetgen.py: 16 sensors, 20,000
ids, inbound lines as the sensor writes them, a crawl), its throughput and
peak RSS; beside it jq doing the same distinct-id count by class on the
same file (two passes: jq's reduce into one object is quadratic).  The
class counts of both must agree.

    /usr/bin/python3 bench/census_speed.py [--lines 100000,1000000]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "census"))
import fleetgen  # noqa: E402

SENSOR = os.path.join(HERE, "..", "kaspa-sensor")

# The census's rules in jq.  Pass 1, one small array per line that counts:
# ["c", crawl_id, same network] for a crawl_start, ["n", crawl_id or null,
# peer_id, flag] for an inbound or crawl peer line with a 16-byte id.
JQ_PASS1 = r'''
def verified: (.classification_reason // "" | endswith("_verified"))
  or (.classification_reason == "cached"
      and (.cached_reason // "" | endswith("_verified")));
if .type == "crawl_start" then ["c", .crawl_id, .network == "kaspa-mainnet"]
elif (.peer_id // "" | test("^[0-9a-f]{32}$")) | not then empty
elif .direction == "inbound" and .network == "kaspa-mainnet" then
  ["n", null, .peer_id,
   (if .classification == "private" then "priv"
    elif .classification == "public" then
      (if verified then "pub" else "open" end)
    else "" end)]
elif .type == "peer" then
  ["n", .crawl_id, .peer_id, (if .reachable then "reached" else "" end)]
else empty end
'''
# Pass 2 (jq -s): distinct peer_id per class.
JQ_PASS2 = r'''
(map(select(.[0] == "c" and .[2]) | .[1])) as $crawls
| map(select(.[0] == "n"
             and (.[1] == null or (.[1] as $c | $crawls | index($c) != null))))
| group_by(.[2])
| map(map(.[3]) as $f
      | if ($f | index("pub")) and ($f | index("priv")) then "conflicting"
        elif ($f | index("pub")) or ($f | index("reached")) then "public"
        elif ($f | index("priv")) and (($f | index("open")) | not)
          then "private"
        else "unknown" end)
| group_by(.) | map({key: .[0], value: length}) | from_entries
'''


def census(path):
    """(wall s, peak RSS KB, classes).  GNU time measures the RSS: a child
    forked from this Python process would count the parent's pages it
    had before exec."""
    with tempfile.NamedTemporaryFile("r") as t:
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name,
                              SENSOR, "census", "--json", path],
                             capture_output=True, check=True).stdout
        wall, rss = t.read().split()
    got = json.loads(out)
    classes = {k: v for k, v in got["nodes"].items() if k != "nodes" and v}
    return float(wall), int(rss), classes


def jq(path):
    t0 = time.monotonic()
    one = subprocess.Popen(["jq", "-c", JQ_PASS1, path],
                           stdout=subprocess.PIPE)
    out = subprocess.run(["jq", "-s", "-c", JQ_PASS2], stdin=one.stdout,
                         capture_output=True, check=True).stdout
    if one.wait() != 0:
        raise SystemExit("jq pass 1 failed")
    return time.monotonic() - t0, json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", default="100000,1000000")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="census_bench_") as d:
        rows = []
        for n in (int(x) for x in a.lines.split(",")):
            path = os.path.join(d, "fleet_%d.ndjson" % n)
            fleetgen.write_big(path, n)
            mb = os.path.getsize(path) / 1e6
            wall, rss, classes = min(census(path) for _ in range(3))
            print("census, %d lines (%.0f MB, best of 3): %.2f s, %.0f MB/s,"
                  " %.0f lines/s, peak RSS %.1f MB, %s" % (
                      n, mb, wall, mb / wall, n / wall, rss / 1024,
                      classes))
            rows.append((n, mb, wall, rss, classes, path))
        n, mb, wall, rss, classes, path = rows[-1]
        jq_wall, jq_classes = jq(path)
        print("jq, same distinct-id count by class, %d lines: %.1f s,"
              " %.1f MB/s, %s" % (n, jq_wall, mb / jq_wall, jq_classes))
        if jq_classes != classes:
            raise SystemExit("census and jq disagree: %s vs %s" %
                             (classes, jq_classes))
        print("census speed / jq speed: %.1fx" % (jq_wall / wall))
        if len(rows) > 1:
            print("peak RSS, %d vs %d lines: %.1f MB vs %.1f MB" % (
                rows[0][0], n, rows[0][3] / 1024, rss / 1024))


if __name__ == "__main__":
    main()
