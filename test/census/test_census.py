"""`kaspa-sensor census` against known truth: a live fleet on loopback
(simfleet.py: real sensors probing simulated nodes, a crawl), 50 seeded
samplings of generated fleets (fleetgen.py) for the estimate's interval,
and the command on torn, foreign and missing input."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import asyncio

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleetgen  # noqa: E402
import simfleet  # noqa: E402

SENSOR = simfleet.simnet.SENSOR


def tmpdir(test, prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    if not os.environ.get("CENSUS_KEEP"):
        test.addCleanup(shutil.rmtree, d, True)
    return d


def by(rows, key):
    return {r[key]: r for r in rows}


class LiveFleet(unittest.TestCase):
    """4 sensors, 60 nodes (20 public, 40 private: three NAT IPs of 3
    nodes, one behind a public node's IP), 8 restarts, a crawl-only node,
    a conflicting one, an unknown one, one crawl: every exact number of
    the census equals what the simulation did."""

    def test_exact_numbers_equal_the_truth(self):
        d = tmpdir(self, "census_live_")
        fleet = simfleet.Fleet(d, seed=7, public=20, private=40, nat_ips=3,
                               restarts=8)
        t0 = time.monotonic()
        try:
            paths = asyncio.run(asyncio.wait_for(fleet.run(), 50))
        finally:
            fleet.stop_sensors()
        took = time.monotonic() - t0
        truth = fleet.truth()
        got = simfleet.census(paths)
        print("\n  live fleet: %d ids (%d public, %d private), %d inbound"
              " lines, %.1f s" % (truth["nodes"], truth["public"],
                                  truth["private"], truth["inbound_lines"],
                                  took), file=sys.stderr)
        self.assertLess(took, 60)
        self.assertEqual(got["nodes"], {k: truth[k] for k in (
            "nodes", "public", "private", "unknown", "conflicting")})
        self.assertEqual((truth["unknown"], truth["conflicting"]), (1, 1))
        self.assertEqual(got["conflicting"], truth["conflicting_ids"])
        sensors = by(got["sensors"], "sensor_id")
        self.assertEqual(sorted(sensors), fleet.sensors)
        for s, want in truth["sensors"].items():
            self.assertEqual((sensors[s]["nodes"], sensors[s]["private"]),
                             (want["nodes"], want["private"]), s)
        overlap = {(p["a"], p["b"]): p["both"]
                   for p in got["private_overlap"]}
        self.assertEqual(overlap, truth["overlap"])
        self.assertEqual(got["crawl"]["crawls"], 2)
        self.assertEqual(got["crawl"]["reached"], truth["reached"])
        self.assertEqual(got["crawl"]["reached_dialed_a_sensor"],
                         truth["reached_dialed"])
        self.assertEqual(got["ips"]["distinct"], truth["ips"])
        self.assertEqual({r["ids"]: r["ips"] for r in got["ips"]["ids_per_ip"]},
                         truth["ids_per_ip"])
        self.assertGreater(max(truth["ids_per_ip"]), 2)     # NAT shows
        lines = got["lines"]
        self.assertEqual(lines["inbound"], truth["inbound_lines"])
        self.assertEqual(lines["bad"], 0)
        # one empty connection per sensor; unreachable crawl targets: a
        # private node's address and the node that stopped listening
        self.assertEqual(lines["no_id"], fleet.scanners + 2)
        self.assertEqual(lines["crawl_start"], 2)
        # every verdict was a real probe's or a cached one
        reasons = {x.get("classification_reason") for p in paths[:4]
                   for x in fleet_lines(p)}
        self.assertTrue({"advertised_verified", "all_refused", "cached",
                         "open_different_node", "open_not_kaspa"} <= reasons,
                        reasons)
        self.assertGreater(got["crawl"]["reached"],
                           got["crawl"]["reached_dialed_a_sensor"])
        self.assertEqual(got["estimate"]["method"], "darroch_mt")
        self.assertEqual(got["estimate"]["seen"], truth["private"])
        # crawl lines now carry unique event ids
        ids = [x["event_id"] for x in fleet_lines(paths[4]) +
               fleet_lines(paths[5])]
        self.assertEqual(len(ids), len(set(ids)))


def fleet_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


class Coverage(unittest.TestCase):
    """The estimate's 95% interval covers the true number of private ids
    (seen or not) in at least 45 of 50 seeded samplings, for two sensors
    (Chapman) and for four (Darroch's M_t); each generated fleet has 400
    private ids, each sensor seeing each id with its own probability."""

    def coverage(self, sensors, p_private):
        covered, widths = 0, []
        for seed in range(1, 51):
            fleet = fleetgen.Fleet(seed, private=400, sensors=sensors,
                                   p_private=p_private)
            d = tempfile.mkdtemp(prefix="census_cov_")
            try:
                est = simfleet.census(fleetgen.write_fleet(fleet, d))[
                    "estimate"]
            finally:
                shutil.rmtree(d, True)
            truth = fleet.truth()["private_all"]
            self.assertIsNotNone(est["ci95"], est)
            lo, hi = est["ci95"]
            covered += lo <= truth <= hi
            widths.append(hi - lo)
        print("\n  %d sensors (%s): the 95%% interval covered the true"
              " private count in %d of 50 samplings (%.0f%%), mean width"
              " %.0f" % (sensors, est["method"], covered, covered * 2,
                         sum(widths) / 50), file=sys.stderr)
        return covered

    def test_two_sensors_chapman(self):
        self.assertGreaterEqual(self.coverage(2, (0.3, 0.25)), 45)

    def test_four_sensors_darroch(self):
        self.assertGreaterEqual(
            self.coverage(4, (0.3, 0.25, 0.35, 0.2)), 45)


class Command(unittest.TestCase):
    """The command itself on real files: exact line counts with torn and
    foreign lines mixed in, errors, stdin, the window, the table."""

    def setUp(self):
        self.dir = tmpdir(self, "census_cmd_")
        self.fleet = fleetgen.Fleet(3)
        self.paths = fleetgen.write_fleet(self.fleet, self.dir)

    def run_census(self, *args, stdin=None):
        return subprocess.run([SENSOR, "census"] + list(args),
                              capture_output=True, timeout=60, input=stdin)

    def test_torn_and_foreign_lines_counted_exactly(self):
        clean = simfleet.census(self.paths)
        n = sum(len(fleet_lines(p)) for p in self.paths)
        self.assertEqual(clean["lines"]["read"], n)
        self.assertEqual(clean["lines"]["bad"], 0)
        dirty = os.path.join(self.dir, "dirty.ndjson")
        with open(self.paths[0], "rb") as f:
            first = f.readline()
        with open(dirty, "wb") as f:
            f.write(first[:len(first) // 2] + b"\n")       # torn mid-line
            f.write(b"\x00\xff binary junk\n")
            f.write(b'{"hello":"world"}\n')                # foreign
            f.write(b"x" * 200000 + b"\n")                  # too long
            f.write(b'{"ts":"2026-11-23T16:00:00.000000Z","direction":'
                    b'"inbound","peer_id":"zz"}')           # no '\n'
        got = simfleet.census([dirty] + self.paths)
        self.assertEqual(got["lines"]["read"], n + 5)
        self.assertEqual(got["lines"]["bad"], 3)
        self.assertEqual(got["lines"]["other_kind"],
                         clean["lines"]["other_kind"] + 1)
        self.assertEqual(got["lines"]["no_id"], clean["lines"]["no_id"] + 1)
        for k in ("nodes", "sensors", "private_overlap", "ips"):
            self.assertEqual(got[k], clean[k], k)

    def test_stdin_and_a_file_same_as_two_files(self):
        with open(self.paths[1], "rb") as f:
            r = self.run_census("--json", self.paths[0], "-", stdin=f.read())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["nodes"],
                         simfleet.census(self.paths[:2])["nodes"])

    def test_window(self):
        all_ = simfleet.census(self.paths)
        half = simfleet.census(self.paths, "--since", "2026-11-23T16:00:00Z",
                               "--until", "2026-11-23T19:00:00Z")
        self.assertEqual(half["window"]["since"],
                         "2026-11-23T16:00:00.000000Z")
        self.assertGreater(half["lines"]["outside_window"], 0)
        self.assertEqual(half["lines"]["read"], all_["lines"]["read"])
        self.assertLess(half["nodes"]["nodes"], all_["nodes"]["nodes"])

    def test_errors(self):
        r = self.run_census(os.path.join(self.dir, "missing.ndjson"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"missing.ndjson", r.stderr)
        r = self.run_census("--since", "yesterday", self.paths[0])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--since", r.stderr)
        r = self.run_census()
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"usage", r.stderr)
        r = self.run_census("--bogus", self.paths[0])
        self.assertEqual(r.returncode, 2)

    def test_table_says_what_a_node_is(self):
        r = self.run_census(*self.paths)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("restarted node gets a new id", out)
        self.assertIn("Darroch", out)
        self.assertIn("assumes: the private node ids are a closed", out)
        for s in self.fleet.sensors:
            self.assertIn(s, out)

    def test_no_overlap_no_number(self):
        fleet = fleetgen.Fleet(5, private=40, sensors=2, p_private=(0.02,
                                                                    0.02))
        got = simfleet.census(fleetgen.write_fleet(fleet, tmpdir(
            self, "census_apart_")))
        est = got["estimate"]
        self.assertEqual([p["both"] for p in got["private_overlap"]], [0])
        self.assertIsNone(est["method"])
        self.assertIsNone(est["estimate"])
        self.assertIn("both samples", est["why_none"])


if __name__ == "__main__":
    unittest.main()
