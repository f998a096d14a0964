"""End to end against a real ClickHouse 18.16 over HTTPS (test CA): rows
equal log lines; store down then up; kill -9 and restart; wrong CA; a
400 reply goes to the dead-letter file.  Host checks: a store reached by
IP address needs that address as an iPAddress SAN (RFC 6125), a dNSName
that reads like the address does not do, a name needs a name."""

import itertools
import os
import signal
import socket
import ssl
import threading
import unittest

from exportlib import (FAST_EXPORT, ClickHouseClass, Sensor, TlsListener,
                       TestCA, TABLE_DDL, garbage_connections, log_records,
                       pump, real_handshakes, tmpdir, wait_for)

_tables = itertools.count()
TLS_APPLICATION_DATA = 23     # record type; BearSSL speaks TLS 1.2 at most


class ReplyWithholder:
    """A TCP relay to ClickHouse's HTTPS port: the first `answered`
    connections (one per batch) pass both ways; on the next ones the
    request and the TLS handshake pass, but ClickHouse's reply (its first
    application-data record) is read and never forwarded.  `withheld` is
    set once a reply is: ClickHouse has stored that batch, and the sensor
    does not know it."""

    def __init__(self, upstream_port, answered):
        self.upstream_port = upstream_port
        self.answered = answered
        self.withheld = threading.Event()
        self.socks = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        for n in itertools.count():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return                              # closed
            server = socket.create_connection(("127.0.0.1",
                                               self.upstream_port))
            self.socks += [client, server]
            threading.Thread(target=pump, args=(client, server),
                             daemon=True).start()
            reply = pump if n < self.answered else self.withhold
            threading.Thread(target=reply, args=(server, client),
                             daemon=True).start()

    def withhold(self, src, dst):
        """Forwards whole TLS records up to the first application data."""
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    return
                buf += data
                while len(buf) >= 5:
                    end = 5 + int.from_bytes(buf[3:5], "big")
                    if buf[0] == TLS_APPLICATION_DATA:
                        self.withheld.set()
                        return
                    if len(buf) < end:
                        break
                    dst.sendall(buf[:end])
                    buf = buf[end:]
        except OSError:
            pass

    def close(self):
        self.listener.close()
        for s in self.socks:
            s.close()


class StoreCase(ClickHouseClass, unittest.TestCase):
    """A ClickHouse per class (certificate and listen addresses from
    CH_ARGS), a fresh table per test, helpers; no tests of its own."""

    def setUp(self):
        self.table = "events_%d_%d" % (os.getpid(), next(_tables))
        self.ch.query(TABLE_DDL.format(table=self.table))
        self.sensors = []

    def tearDown(self):
        for s in self.sensors:
            if s.proc.poll() is None:
                s.stop()

    def sensor(self, *extra, url=None, ca=None, log=None):
        """A sensor exporting to our table; `log`: another sensor's log
        (a restart)."""
        s = Sensor("--export-url", url or self.ch.insert_url(self.table),
                   "--export-ca", ca or self.ch.tls.ca, *FAST_EXPORT,
                   *extra, *(["--log", log] if log else []))
        if log:
            s.log = log
        self.sensors.append(s)
        return s

    def count(self, distinct=False):
        what = "uniqExact(event_id)" if distinct else "count()"
        return int(self.ch.query("SELECT %s FROM %s" % (what, self.table)))

    def wait_count(self, n, distinct=False, timeout=20):
        return wait_for(lambda: self.count(distinct) >= n, timeout) and \
            self.count(distinct)

    def assert_refused(self, host, why):
        """Export to the store as `host`: refused, `why` on stderr on each
        retry, nothing stored."""
        s = self.sensor(url=self.ch.insert_url(self.table, host=host))
        garbage_connections(s.port, 2)
        self.assertTrue(wait_for(lambda: s.stderr_text().count(why) >= 2),
                        s.stderr_text())
        self.assertEqual(self.count(), 0)
        self.assertEqual(s.stop(), 0)

    def assert_exports(self, host):
        s = self.sensor(url=self.ch.insert_url(self.table, host=host))
        garbage_connections(s.port, 3)
        self.assertEqual(self.wait_count(3), 3, s.stderr_text())
        # The start-up line names the store as the URL does.
        self.assertIn("export ndjson to https://%s:%d," % (host, self.ch.https),
                      s.stderr_text())
        self.assertEqual(s.stop(), 0)


class ClickHouseCase(StoreCase):
    # DNS names only, two of them written like addresses.
    CH_ARGS = {"san": "DNS:localhost,DNS:127.0.0.1,DNS:::1"}

    def test_rows_equal_log_lines(self):
        s = self.sensor()
        outs = real_handshakes(s, 3)
        for o in outs:
            self.assertIsNone(o.error, o.error)
        garbage_connections(s.port, 20)
        self.assertTrue(wait_for(lambda: len(log_records(s)) == 23))
        self.assertEqual(self.wait_count(23), 23, s.stderr_text())
        keys = ("event_id", "ts", "sensor_id", "peer_ip", "peer_port",
                "stage_reached", "outcome")
        want = sorted((tuple(r[k] for k in keys) for r in log_records(s)))
        got = sorted(tuple(r[k] for k in keys)
                     for r in self.ch.rows(self.table))
        self.assertEqual(got, want)
        self.assertEqual(sum(r[6] == "ready" or r[5] == "ready" for r in want)
                         >= 3, True)
        # The MATERIALIZED time column parsed every ts.
        bad = self.ch.query("SELECT count() FROM %s WHERE toYear(time) < 2020"
                            % self.table)
        self.assertEqual(bad.strip(), "0")
        self.assertEqual(s.stop(), 0)

    def test_store_down_then_up_loses_nothing(self):
        s = self.sensor()
        garbage_connections(s.port, 5)
        self.assertEqual(self.wait_count(5), 5)
        self.ch.stop()
        try:
            garbage_connections(s.port, 30, spacing=0.02)
            self.assertTrue(wait_for(
                lambda: s.stderr_text().count("export attempt") >= 2))
            self.assertIn("export failing", s.stderr_text())
        finally:
            self.ch.start()
        garbage_connections(s.port, 5)
        self.assertEqual(self.wait_count(40), 40, s.stderr_text())
        self.assertEqual(self.count(distinct=True), 40)
        self.assertTrue(wait_for(lambda: "export ok" in
                                 s.stderr_text().split("export failing")[-1]))
        self.assertEqual(s.stop(), 0)

    def test_kill9_mid_batch_then_restart(self):
        """kill -9 after ClickHouse stored a batch and before the sensor
        heard so, the worst moment: the cursor moves only on the reply, so
        the restart sends that one batch again (at most --export-batch-
        lines duplicates per kill) and loses nothing."""
        batch, total, answered = 3, 30, 2
        first = Sensor()     # every line is there first: full batches
        garbage_connections(first.port, total)
        self.assertEqual(first.stop(), 0)
        self.assertEqual(len(log_records(first)), total)
        relay = ReplyWithholder(self.ch.https, answered)
        self.addCleanup(relay.close)
        url = self.ch.insert_url(self.table, port=relay.port)
        s = self.sensor("--export-batch-lines", str(batch), url=url,
                        log=first.log)
        self.assertTrue(relay.withheld.wait(30), s.stderr_text())
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait(5)
        shipped_before = self.count()
        self.assertEqual(shipped_before, (answered + 1) * batch)
        self.assertLess(shipped_before, total, "the kill came too late")

        s2 = self.sensor("--export-batch-lines", str(batch), log=first.log)
        garbage_connections(s2.port, 10)
        lines = wait_for(lambda: len(log_records(s2)) >= total + 10 and
                         len(log_records(s2)))
        self.assertEqual(lines, total + 10)
        self.assertEqual(self.wait_count(lines, distinct=True), lines,
                         s2.stderr_text())
        ids = {r["event_id"] for r in log_records(s2)}
        got = set(self.ch.query("SELECT DISTINCT event_id FROM %s" %
                                self.table).split())
        self.assertEqual(got, ids)
        self.assertEqual(self.count() - lines, batch,
                         "the withheld batch, sent again, and nothing more")
        self.assertEqual(s2.stop(), 0)

    def test_wrong_ca_refused_reported_retried(self):
        other = TestCA(tmpdir("export_ca_"))
        s = self.sensor(ca=other.ca)
        garbage_connections(s.port, 3)
        self.assertTrue(wait_for(
            lambda: s.stderr_text().count("certificate not trusted") >= 2))
        self.assertEqual(self.count(), 0)
        self.assertEqual(s.stop(), 0)
        # The right CA later: everything that waited arrives.
        s2 = self.sensor(log=s.log)
        self.assertEqual(self.wait_count(3), 3, s2.stderr_text())
        self.assertEqual(s2.stop(), 0)

    def test_dns_name_never_matches_ip_v4(self):
        self.assert_refused("127.0.0.1", "certificate has no iPAddress SAN "
                            "matching 127.0.0.1 (BearSSL error 56)")

    def test_dns_name_never_matches_ip_v6(self):
        self.assert_refused("[::1]", "certificate has no iPAddress SAN "
                            "matching ::1 (BearSSL error 56)")

    def test_400_is_dead_lettered(self):
        # user_agent is null in a junk connection's line: a non-Nullable
        # String column makes ClickHouse answer 400 for the batch.
        self.ch.query("CREATE TABLE %s_strict (event_id String, user_agent"
                      " String) ENGINE = MergeTree ORDER BY event_id"
                      % self.table)
        s = self.sensor(url=self.ch.insert_url(self.table + "_strict"))
        garbage_connections(s.port, 2)
        dead = s.log + ".dead"
        self.assertTrue(wait_for(lambda: os.path.exists(dead) and
                                 len(s.records(dead)) == 2), s.stderr_text())
        self.assertIn("EXPORT REJECTED", s.stderr_text())
        self.assertIn("HTTP 400", s.stderr_text())
        self.assertEqual({r["event_id"] for r in s.records(dead)},
                         {r["event_id"] for r in log_records(s)})
        # It moved on: the cursor is past the parked lines (saved just
        # after the dead-letter file).
        self.assertTrue(wait_for(lambda: os.path.exists(s.log + ".cursor")))
        garbage_connections(s.port, 1)
        self.assertTrue(wait_for(lambda: len(s.records(dead)) == 3))
        self.assertEqual(s.stop(), 0)


    def test_unwritable_dead_letter_file_holds_the_cursor(self):
        # The refused lines cannot be parked (the dead-letter path is a
        # directory): they stay unshipped, retried, and the cursor stays;
        # once the file can be written they are parked and it moves on.
        self.ch.query("CREATE TABLE %s_strict (event_id String, user_agent"
                      " String) ENGINE = MergeTree ORDER BY event_id"
                      % self.table)
        s = self.sensor(url=self.ch.insert_url(self.table + "_strict"))
        dead, cursor = s.log + ".dead", s.log + ".cursor"
        os.mkdir(dead)
        garbage_connections(s.port, 2)
        self.assertTrue(wait_for(lambda: s.stderr_text().count(
            "COULD NOT WRITE the dead-letter file") >= 3), s.stderr_text())
        self.assertIn("refused lines not parked", s.stderr_text())
        if os.path.exists(cursor):        # "dev ino offset"
            self.assertEqual(open(cursor).read().split()[2], "0",
                             "the cursor passed lines that were not parked")
        os.rmdir(dead)
        self.assertTrue(wait_for(lambda: os.path.exists(dead) and
                                 len(s.records(dead)) == 2), s.stderr_text())
        self.assertEqual({r["event_id"] for r in s.records(dead)},
                         {r["event_id"] for r in log_records(s)})
        self.assertTrue(wait_for(lambda: os.path.exists(cursor)))
        self.assertEqual(s.stop(), 0)


class IpSanCase(StoreCase):
    """A certificate for two addresses (no DNS name; CN is a name)."""
    CH_ARGS = {"name": "store.example", "san": "IP:127.0.0.1,IP:::1",
               "listen": ("127.0.0.1", "::1", "127.0.0.2")}

    def test_ipv4_literal_matches_ip_san(self):
        self.assert_exports("127.0.0.1")

    def test_ipv6_literal_matches_ip_san(self):
        self.assert_exports("[::1]")

    def test_other_ip_refused(self):
        self.assert_refused("127.0.0.2", "certificate has no iPAddress SAN "
                            "matching 127.0.0.2")

    def test_no_sni_for_an_ip_literal(self):
        # RFC 6066 3: an address is not a HostName; a name is sent.
        rec = TlsListener(self.ch.tls)
        try:
            for host, want in (("127.0.0.1", None), ("localhost", "localhost")):
                s = self.sensor(url="https://%s:%d/" % (host, rec.port))
                garbage_connections(s.port, 1)
                self.assertTrue(wait_for(lambda: rec.names), s.stderr_text())
                self.assertEqual(s.stop(), 0)
                self.assertEqual(set(rec.names), {want})
                rec.names.clear()
        finally:
            rec.stop()

    def test_oversized_certificate_refused(self):
        # The address is in it, but past 16 KB it is not read.
        big = TestCA(tmpdir("export_big_"), san="IP:127.0.0.1," + ",".join(
            "DNS:host%04d.store.example" % i for i in range(800)))
        with open(big.cert) as f:
            self.assertGreater(len(ssl.PEM_cert_to_DER_cert(f.read())), 16384)
        listener = TlsListener(big)
        try:
            s = self.sensor(url="https://127.0.0.1:%d/" % listener.port,
                            ca=big.ca)
            garbage_connections(s.port, 1)
            self.assertTrue(wait_for(lambda: "certificate over 16384 bytes: "
                                     "no iPAddress SAN check for 127.0.0.1 "
                                     "(BearSSL error 50)" in s.stderr_text()),
                            s.stderr_text())
            self.assertEqual(s.stop(), 0)
        finally:
            listener.stop()

    def test_name_still_needs_a_dns_name(self):
        # The name path is BearSSL's, unchanged: an IP SAN names no host.
        self.assert_refused("localhost", "certificate does not match the "
                            "host name")


if __name__ == "__main__":
    unittest.main()
