"""dist/clickhouse/schema.sql and census.sql against a real ClickHouse
18.16: a live fleet (test/census/simfleet.py: four sensors probing
simulated nodes, one announcing, two crawls) plus scanners and forks with
unknown fields ships every kind of line the suites produce (inbound,
announce, crawl_start, seeder, peer, addresses with parts, crawl_end):
sensor logs through the exporter, crawl files by a plain POST.  No dead
letter; every field of every line comes back equal; and census.sql on
those rows gives exactly what `kaspa-sensor census --json` gives on the
same files, over everything and over a window."""

import asyncio
import json
import os
import re
import sys
import types
import unittest
import urllib.parse
import urllib.request

from exportlib import FAST_EXPORT, ClickHouse, tmpdir, wait_for
from common import PeerOptions, run_h2_peer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(REPO, "test", "census"))
import simfleet  # noqa: E402
import test_extensions  # noqa: E402  (the interop suite's fork peers)

SCHEMA = os.path.join(REPO, "dist", "clickhouse", "schema.sql")
CENSUS = os.path.join(REPO, "dist", "clickhouse", "census.sql")
LINES_QUERY = {"query": "INSERT INTO sensor.lines FORMAT CSV",
               "format_csv_delimiter": "\x01"}
TABLES = {"inbound": "inbound", "announce": "announce",
          "crawl_start": "crawl_start", "seeder": "crawl_seeder",
          "peer": "crawl_peer", "addresses": "crawl_addresses",
          "crawl_end": "crawl_end"}


def statements(path):
    """(label, sql) per statement; label from a "-- census: NAME" line."""
    out, cur, label = [], [], None
    with open(path) as f:
        for line in f:
            if line.startswith("-- census: "):
                label = line.split()[2]
            if line.startswith("--"):
                continue
            cur.append(line)
            if line.rstrip().endswith(";"):
                out.append((label, "".join(cur).strip().rstrip(";")))
                cur, label = [], None
    return out


def kind(line):
    return line.get("direction") or line.get("type")


def read_lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f]


class CensusInClickHouse(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.ch = ClickHouse()
        for _, sql in statements(SCHEMA):
            cls.ch.query(sql)

    @classmethod
    def tearDownClass(cls):
        cls.ch.stop()

    def rows(self, sql):
        out = self.ch.query(sql + " FORMAT JSONEachRow")
        return [json.loads(x) for x in out.splitlines() if x]

    def post_lines(self, path):
        with open(path, "rb") as f:
            req = urllib.request.Request(
                "http://127.0.0.1:%d/?%s" % (self.ch.http,
                                             urllib.parse.urlencode(
                                                 LINES_QUERY)),
                data=f.read())
        with urllib.request.urlopen(req, timeout=20) as r:
            self.assertEqual(r.status, 200)

    def make_fleet(self):
        d = tmpdir("census_export_")
        url = "https://localhost:%d/?%s" % (self.ch.https,
                                            urllib.parse.urlencode(LINES_QUERY))
        fleet = simfleet.Fleet(d, seed=11, public=8, private=12,
                               sensor_args=["--export-url", url,
                                            "--export-ca", self.ch.tls.ca] +
                               FAST_EXPORT, announce_from="sim-s0")

        forks = [PeerOptions(), PeerOptions()]

        async def run():
            paths = await fleet.run()
            # lines the fleet does not make: a scanner's first bytes, a
            # relay fork's unknown fields, one with too many of them
            s1 = types.SimpleNamespace(host=fleet.sensor_ip["sim-s1"],
                                       port=simfleet.PORT)
            simfleet.scanner(s1.host, s1.port)
            for i, build in enumerate((
                    lambda o: test_extensions.relay_version(o)
                    .SerializeToString(), test_extensions.many_fields)):
                out = await asyncio.to_thread(
                    run_h2_peer, s1, forks[i], bind="127.83.0.%d" % (i + 1),
                    handshake=test_extensions.fork_handshake(build))
                self.assertIsNone(out.error, out.error)
            return paths

        def all_logged():
            s0, s1 = fleet.lines("sim-s0"), fleet.lines("sim-s1")
            return any(kind(x) == "announce" for x in s0) and \
                any("first_bytes" in x for x in s1) and \
                {o.peer_id.hex() for o in forks} <= {
                    x.get("peer_id") for x in s1}
        try:
            paths = asyncio.run(asyncio.wait_for(run(), 60))
            self.assertTrue(wait_for(all_logged, 15))
        finally:
            fleet.stop_sensors()
        return fleet, paths

    def test_schema_round_trip_and_census_sql(self):
        fleet, paths = self.make_fleet()
        sensor_logs, crawl_files = paths[:4], paths[4:]
        lines = [x for p in paths for x in read_lines(p)]
        for p in crawl_files:
            self.post_lines(p)
        counts = {}
        for x in lines:
            counts[kind(x)] = counts.get(kind(x), 0) + 1
        self.assertEqual(set(counts), set(TABLES), "every kind of line")

        def stored():
            return {k: int(self.ch.query(
                "SELECT count() FROM sensor.%s FINAL" % t))
                for k, t in TABLES.items()}
        self.assertTrue(wait_for(lambda: stored() == counts, 30),
                        (stored(), counts))
        for s in fleet.sensors:      # the exporter parked nothing
            dead = fleet.log(s) + ".dead"
            self.assertFalse(os.path.exists(dead) and os.path.getsize(dead),
                             dead)
        self.check_round_trip(lines)
        self.check_census(paths, lines)
        self.check_one_sensor(fleet.log("sim-s1"))

    # ---- every field of every line ----
    def check_round_trip(self, lines):
        seen_keys = {}
        for k, table in TABLES.items():
            rows = {r["event_id"]: r for r in self.rows(
                "SELECT * FROM sensor.%s FINAL" % table)}
            mine = [x for x in lines if kind(x) == k]
            self.assertEqual(len(rows), len(mine), table)
            for x in mine:
                row = rows[x["event_id"]]
                self.assertEqual(set(x) - set(row), set(),
                                 "%s: fields without a column" % table)
                for key, want in x.items():
                    self.assertEqual(self.value(row[key], want), want,
                                     "%s.%s of %s" % (table, key, x))
                for key in set(row) - set(x):      # absent: NULL or []
                    self.assertIn(row[key], (None, []), (table, key))
                seen_keys.setdefault(table, set()).update(x)
        # the suites' optional fields did occur
        for key in ("first_bytes", "cached_reason", "probe_attempts",
                    "unknown_fields_dropped",
                    "advertised_unknown_fields_dropped"):
            self.assertIn(key, seen_keys["inbound"])
        self.assertIn("parts", seen_keys["crawl_addresses"])

    @staticmethod
    def value(stored, want):
        """The stored column as the line had it."""
        if want is None or isinstance(want, list) and stored == want:
            return stored
        if isinstance(want, (list, dict)):
            return json.loads(stored)         # JSON text of the array
        if isinstance(want, bool):
            return bool(stored)
        if isinstance(want, int):
            return int(stored)                # 64-bit ints come quoted
        if isinstance(want, float):
            return float(stored)
        return stored

    # ---- census.sql == kaspa-sensor census --json ----
    def sql_census(self, since_ms=0, until_ms=2**64 - 1):
        out = {}
        for label, sql in statements(CENSUS):
            if label is None:
                sql = re.sub(r"toUInt64\(0\) AS since_ms",
                             "toUInt64(%d) AS since_ms" % since_ms, sql)
                sql = re.sub(r"toUInt64\(18446744073709551615\) AS until_ms",
                             "toUInt64(%d) AS until_ms" % until_ms, sql)
                self.ch.query(sql)
            else:
                out[label] = self.rows(sql)
        return out

    def check_census(self, paths, lines):
        everything = simfleet.census(paths)
        self.assertTrue(everything["forks"]["signatures"], "a fork was seen")
        self.compare(self.sql_census(), everything)
        ts = sorted(x["ts"] for x in lines if kind(x) == "inbound")
        since, until = ts[len(ts) // 3], ts[2 * len(ts) // 3]
        ms = [int(round(simfleet_ms(t))) for t in (since, until)]
        window = simfleet.census(paths, "--since", since, "--until", until)
        self.assertGreater(window["lines"]["outside_window"], 0)
        self.compare(self.sql_census(*ms), window)

    def check_one_sensor(self, log):
        """One sensor's log alone: the samples are the two halves of its
        window, split at the same instant on both sides."""
        for table in TABLES.values():
            self.ch.query("TRUNCATE TABLE sensor.%s" % table)
        self.post_lines(log)
        got = simfleet.census([log])
        self.assertEqual(got["estimate"]["samples"], "halves of the window")
        self.compare(self.sql_census(), got)

    def compare(self, sql, got):
        classes = ("nodes", "public", "private", "unknown", "conflicting")

        def counts(rows, key):
            return {r[key]: tuple(int(r[c]) for c in classes) for r in rows}

        def mine(rows, key):
            return {r[key]: tuple(r[c] for c in classes) for r in rows}

        self.assertEqual(
            (int(sql["lines"][0]["inbound_lines"]),
             int(sql["lines"][0]["crawl_peer_lines"])),
            (got["lines"]["inbound"], got["lines"]["crawl_peer"]))
        self.assertEqual(tuple(int(v) for v in sql["nodes"][0].values()),
                         tuple(got["nodes"][c] for c in classes))
        self.assertGreater(got["nodes"]["private"], 0)
        self.assertEqual([r["id"] for r in sql["conflicting"]],
                         sorted(got["conflicting"]))
        self.assertEqual({int(r["ids"]): int(r["ips"])
                          for r in sql["ids_per_ip"]},
                         {r["ids"]: r["ips"]
                          for r in got["ips"]["ids_per_ip"]})
        self.assertEqual(counts(sql["user_agents"], "user_agent"),
                         mine(got["user_agents"], "user_agent"))
        self.assertEqual(counts(sql["protocol_versions"], "protocol_version"),
                         mine(got["protocol_versions"], "protocol_version"))
        bits = mine(got["services"]["bits"], "bit")
        for name, code in (("none", -1), ("unknown", -2)):
            if got["services"][name]["nodes"]:
                bits[code] = tuple(got["services"][name][c] for c in classes)
        self.assertEqual(counts(sql["service_bits"], "bit"), bits)
        self.assertEqual(counts(sql["forks"], "fields"),
                         mine(got["forks"]["signatures"], "fields"))
        self.assertEqual(counts(sql["sensors"], "sensor_id"),
                         mine(got["sensors"], "sensor_id"))
        self.assertEqual({(r["a"], r["b"]): int(r["both"])
                          for r in sql["private_overlap"]},
                         {(r["a"], r["b"]): r["both"]
                          for r in got["private_overlap"] if r["both"]})
        self.assertEqual({k: int(v) for k, v in sql["crawl"][0].items()},
                         got["crawl"])
        est, e = sql["estimate"][0], got["estimate"]
        self.assertEqual(int(est["seen"]), e["seen"])
        sizes = {r["sample"]: r["private"] for r in e["sample_sizes"]}
        if e["samples"] == "sensors":
            self.assertEqual({r["sensor_id"]: int(r["private"])
                              for r in sql["sensors"]}, sizes)
            return
        self.assertEqual(simfleet_ms(e["halves_meet"]),
                         int(est["halves_meet"]))
        self.assertEqual((int(est["first_half"]), int(est["second_half"]),
                          int(est["both_halves"])),
                         (sizes["first_half"], sizes["second_half"],
                          e["recaptures"]))


def simfleet_ms(ts):
    """RFC 3339 UTC with microseconds to Unix ms (cut, as census does)."""
    import calendar
    import time
    sec = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    return sec * 1000 + int(ts[20:23])


if __name__ == "__main__":
    unittest.main()
