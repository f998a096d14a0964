"""A store that refuses a whole batch for a few bad lines: the exporter
splits the batch in halves until the refused lines are single, ships the
rest, and parks only those lines in LOG.dead, each with the store's reason
in LOG.dead.why.  Against a real ClickHouse (a non-Nullable column, null
in 3 lines of 200) through a counting TCP proxy, and against the Firestore
stand-in (a refused document and a line that is no document at all)."""

import itertools
import json
import math
import os
import signal
import socket
import threading
import unittest
import urllib.request

from exportlib import (FAST_EXPORT, ClickHouseClass, Sensor, TestCA,
                       free_port, pump, tmpdir, wait_for)
from firestore_standin import Standin

LINES = 200
BAD = (7, 99, 100)     # two neighbours across the first split
_tables = itertools.count()


def request_bound(n, k):
    """README: a batch of n lines with k refused lines costs at most
    2 k ceil(log2 n) + 1 requests."""
    return 2 * k * math.ceil(math.log2(n)) + 1


def write_log(path, records):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def dead_letters(log):
    """LOG.dead's lines with LOG.dead.why's record for each: every record
    names the bytes it covers; together they cover LOG.dead exactly."""
    with open(log + ".dead", "rb") as f:
        dead = f.read()
    with open(log + ".dead.why") as f:
        why = [json.loads(line) for line in f]
    out, at = [], 0
    for w in why:
        assert w["offset"] == at, (w, at)
        chunk = dead[at:at + w["bytes"]]
        assert chunk.count(b"\n") == w["lines"] and chunk.endswith(b"\n"), w
        out += [(json.loads(line), w) for line in chunk.splitlines()]
        at += w["bytes"]
    assert at == len(dead), (at, len(dead))
    return out


def scrape(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
    return None


class CountingProxy:
    """Forwards each TCP connection to 127.0.0.1:target and counts them
    (the exporter opens one per request).  With hold_after set, later
    connections are accepted but never forwarded: a store that stopped
    answering."""

    def __init__(self, target):
        self.target = target
        self.count = 0
        self.hold_after = None
        self.held = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.count += 1
                hold = self.hold_after is not None and \
                    self.count > self.hold_after
                if hold:
                    self.held.append(c)
            if not hold:
                threading.Thread(target=self._forward, args=(c,),
                                 daemon=True).start()

    def _forward(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), 5)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=pump, args=(upstream, client),
                                daemon=True)
        back.start()
        pump(client, upstream)
        back.join(30)
        client.close()
        upstream.close()

    def release(self):
        with self.lock:
            self.hold_after = None
            for c in self.held:
                c.close()
            self.held = []

    def stop(self):
        self.release()
        self.sock.close()


class ClickHouseBisectCase(ClickHouseClass, unittest.TestCase):
    def setUp(self):
        self.table = "strict_%d_%d" % (os.getpid(), next(_tables))
        # note is a non-Nullable String: a line with "note": null makes
        # ClickHouse refuse the whole INSERT with a 400.
        self.ch.query("CREATE TABLE %s (event_id String, note String)"
                      " ENGINE = MergeTree ORDER BY event_id" % self.table)
        self.proxy = CountingProxy(self.ch.https)
        self.sensors = []
        # The 200 lines are in the log before the sensor starts: its
        # first read takes them all, one batch.
        self.log = os.path.join(tmpdir("export_dl_"), "s.ndjson")
        self.records = [{"event_id": "dl-%03d" % i,
                         "ts": "2026-11-23T16:20:01.123456Z",
                         "note": None if i in BAD else "line %d" % i}
                        for i in range(LINES)]
        write_log(self.log, self.records)
        self.bad_ids = {"dl-%03d" % i for i in BAD}

    def tearDown(self):
        for s in self.sensors:
            if s.proc.poll() is None:
                s.stop()
        self.proxy.stop()

    def sensor(self, *extra):
        s = Sensor("--export-url",
                   self.ch.insert_url(self.table, port=self.proxy.port),
                   "--export-ca", self.ch.tls.ca, *FAST_EXPORT,
                   "--export-batch-lines", "500", "--log", self.log, *extra)
        s.log = self.log
        self.sensors.append(s)
        return s

    def stored_ids(self):
        return self.ch.query("SELECT event_id FROM %s" %
                             self.table).split()

    def assert_settled(self, s):
        """197 rows, the 3 refused lines parked with ClickHouse's reason."""
        self.assertTrue(wait_for(
            lambda: len(set(self.stored_ids())) == LINES - len(BAD) and
            os.path.exists(self.log + ".dead.why") and
            {r["event_id"] for r, _ in dead_letters(self.log)} ==
            self.bad_ids), s.stderr_text())
        want = {r["event_id"] for r in self.records} - self.bad_ids
        self.assertEqual(set(self.stored_ids()), want)
        for rec, why in dead_letters(self.log):
            self.assertIn(rec["event_id"], self.bad_ids)
            self.assertIsNone(rec["note"])
            self.assertEqual(why["lines"], 1)
            self.assertEqual(why["event_id"], rec["event_id"])
            self.assertTrue(why["reason"].startswith("HTTP 400: "), why)
            self.assertIn("Cannot parse", why["reason"])

    def test_three_bad_lines_of_200_only_those_parked(self):
        mport = free_port()
        s = self.sensor("--metrics", "127.0.0.1:%d" % mport)
        self.assert_settled(s)
        self.assertTrue(wait_for(lambda: scrape(
            mport, "kaspa_sensor_export_dead_lines_total") == len(BAD)))
        self.assertEqual(scrape(mport, "kaspa_sensor_export_lines_total"),
                         LINES - len(BAD))
        self.assertEqual(s.stop(), 0)
        # Each line reached the table once: a refused INSERT stored nothing.
        self.assertEqual(len(self.stored_ids()), LINES - len(BAD))
        self.assertEqual(len(dead_letters(self.log)), len(BAD))
        self.assertGreater(self.proxy.count, 1)
        self.assertLessEqual(self.proxy.count, request_bound(LINES, len(BAD)))
        self.assertEqual(s.stderr_text().count("EXPORT REJECTED"), len(BAD))

    def test_kill9_mid_bisect_resends_and_loses_nothing(self):
        # The store stops answering after a few requests of the bisection;
        # the sensor dies there.  The cursor has not moved, so the restart
        # sends the batch again.
        self.proxy.hold_after = 6
        s = self.sensor()
        self.assertTrue(wait_for(lambda: self.proxy.count > 6),
                        s.stderr_text())
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait(5)
        if os.path.exists(self.log + ".cursor"):
            with open(self.log + ".cursor") as f:
                cursor = f.read().split()
            self.assertTrue(cursor == ["none"] or cursor[2] == "0", cursor)
        # Some parts were acknowledged, the cursor still did not move.
        self.assertTrue(0 < len(set(self.stored_ids())) < LINES - len(BAD))
        self.proxy.release()
        s2 = self.sensor()
        self.assert_settled(s2)
        self.assertEqual(s2.stop(), 0)


class FirestoreBisectCase(unittest.TestCase):
    def setUp(self):
        d = tmpdir("export_fsdl_")
        self.tls = TestCA(d)
        self.fs = Standin(self.tls, free_port(), d)
        self.fs.refuses = lambda doc: doc.get("poison") is True
        self.log = os.path.join(d, "s.ndjson")
        self.records = [{"event_id": "fs-%02d" % i, "n": i} for i in range(50)]
        for i in (3, 40):
            self.records[i]["poison"] = True
        del self.records[20]["event_id"]     # no document id: never sent
        write_log(self.log, self.records)

    def tearDown(self):
        if self.sensor.proc.poll() is None:
            self.sensor.stop()
        self.fs.stop()

    def test_refused_documents_and_a_non_document_parked(self):
        self.sensor = Sensor("--export-format", "firestore",
                             "--export-url", self.fs.collection_url(),
                             "--export-credentials", self.fs.account.path,
                             "--export-ca", self.tls.ca, *FAST_EXPORT,
                             "--log", self.log)
        self.sensor.log = self.log
        bad = [self.records[i] for i in (3, 20, 40)]
        self.assertTrue(wait_for(
            lambda: len(self.fs.docs) == 47 and
            os.path.exists(self.log + ".dead.why") and
            len(dead_letters(self.log)) == 3), self.sensor.stderr_text())
        self.assertEqual(self.sensor.stop(), 0)
        self.assertEqual(self.fs.errors, [])
        good = [r for r in self.records if r not in bad]
        self.assertEqual({d["event_id"]: d for d in self.fs.docs.values()},
                         {r["event_id"]: r for r in good})
        parked = dead_letters(self.log)
        self.assertEqual([r for r, _ in parked], bad)
        reasons = [w["reason"] for _, w in parked]
        self.assertIn("invalid document fs-03", reasons[0])
        self.assertNotIn("HTTP", reasons[1])   # refused here, not sent
        self.assertIsNone(parked[1][1]["event_id"])
        self.assertIn("invalid document fs-40", reasons[2])
        self.assertLessEqual(self.fs.commits, request_bound(50, 3))


if __name__ == "__main__":
    unittest.main()
