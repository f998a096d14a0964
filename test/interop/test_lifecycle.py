"""Everything at once, shutdown, connection limits, CLI, env, SIGHUP and
log rotation."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from common import (H2Transport, InteropCase, PeerOptions, Sensor, kp,
                    raw_connect, read_until_closed, run_grpc_peer, run_h2_peer)
from harness import SENSOR, wait_for
from peers.handshake import Closed, PeerError
from test_hostile import (FAST, HTTP1_GET, PREFACE, garbage, gzip_zeros,
                          hpack_table_size_bomb, oversized_frame,
                          tls_client_hello)
import struct


class Storm(InteropCase):
    """Every hostile client and six normal peers, all at the same time."""

    def setUp(self):
        self.sensor = Sensor()

    def tearDown(self):
        self.assertEqual(self.sensor.stop(), 0)

    def test_everything_at_once(self):
        port = self.sensor.port
        attacks = [("garbage", garbage(), "not_http2"),
                   ("http1", HTTP1_GET, "http1"),
                   ("tls", tls_client_hello(), "tls"),
                   ("oversized", oversized_frame(port), "frame_size_error"),
                   ("hpack", hpack_table_size_bomb(port), "compression_error"),
                   ("silent", b"", "timeout"),
                   ("truncated", PREFACE[:10], "timeout")]
        bomb = gzip_zeros(50)
        results = {}
        wait = self.sensor.timing["stage_timeout_ms"] / 1000 + 2

        def attack(i, name, payload):
            try:
                s = raw_connect(port, bind="127.0.0.%d" % (100 + i))
                results[name] = s.getsockname()[1]
                if payload:
                    s.sendall(payload)
                closed, _, _ = read_until_closed(s, wait)
            except OSError:
                closed = True
            s.close()
            results[name + ".closed"] = closed

        def gzip_bomb():
            t = H2Transport("127.0.0.1", port, bind="127.0.0.120")
            results["bomb"] = t.local_port
            try:
                t.send(kp.make_version())
                t.send_raw_message(struct.pack(">BI", 1, len(bomb)) + bomb)
                results["bomb.closed"] = t.drain_to_eof(FAST)
            except (Closed, OSError):
                results["bomb.closed"] = True
            except PeerError:
                results["bomb.closed"] = False
            t.close()

        def normal(i):
            opts = PeerOptions(protocol_version=5 + i, gzip=bool(i % 2),
                               order=("concurrent", "wait")[i % 2])
            if i < 4:
                results["peer%d" % i] = run_h2_peer(
                    self.sensor, opts, bind="127.0.0.%d" % (150 + i))
            else:
                results["peer%d" % i] = run_grpc_peer(self.sensor, opts)

        threads = [threading.Thread(target=attack, args=(i, n, p), daemon=True)
                   for i, (n, p, _) in enumerate(attacks)]
        threads.append(threading.Thread(target=gzip_bomb, daemon=True))
        threads += [threading.Thread(target=normal, args=(i,), daemon=True)
                    for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(wait + 10)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hung")
        self.assertTrue(self.sensor.alive())
        for i in range(6):
            self.assert_handshake_ok(results["peer%d" % i])
        for name, _, outcome in attacks:
            self.assertTrue(results[name + ".closed"], name)
            self.assertEqual(self.record(results[name])["outcome"], outcome, name)
        self.assertTrue(results["bomb.closed"])
        self.assertIn(self.record(results["bomb"])["outcome"],
                      ("gzip_error", "message_too_large"))
        for i in range(4):
            rec = self.record(results["peer%d" % i].port)
            self.assertEqual(rec["outcome"], "ok")
        self.sensor.wait_record(lambda r: False, 0.5)
        recs = self.sensor.records()
        self.assertEqual(len(recs), len(attacks) + 1 + 6, "one line each")
        self.assertEqual(sum(r["outcome"] == "ok" for r in recs), 6)
        self.assertEqual(len({r["event_id"] for r in recs}), len(recs))


class Shutdown(InteropCase):
    def test_sigterm_closes_open_connections(self):
        self.sensor = Sensor(timing={"stage_timeout_ms": 10000,
                                     "ready_timeout_ms": 10000})
        silent = raw_connect(self.sensor.port, bind="127.0.0.41")
        t = H2Transport("127.0.0.1", self.sensor.port, bind="127.0.0.42")
        t.send(kp.make_version())
        kinds = [kp.kind(t.recv(FAST)), kp.kind(t.recv(FAST))]
        self.assertEqual(kinds, ["version", "verack"])   # we never Verack
        t0 = time.monotonic()
        rc = self.sensor.stop()
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertTrue(read_until_closed(silent, 1)[0])
        self.assertTrue(t.drain_to_eof(1))
        silent_port = silent.getsockname()[1]
        silent.close()
        t.close()
        for port, stage in ((silent_port, "tcp"), (t.local_port, "version")):
            rec = self.record(port, timeout=0.5)
            self.assert_record_common(rec, self.sensor)
            self.assertEqual(rec["outcome"], "shutdown")
            self.assertEqual(rec["stage_reached"], stage)
        with self.assertRaises(OSError):
            raw_connect(self.sensor.port, timeout=1).close()


class Limits(InteropCase):
    sensor = None

    def tearDown(self):
        self.assertEqual(self.sensor.stop(), 0)

    def test_per_ip_limit(self):
        self.sensor = Sensor(max_conns_per_ip=2,
                             timing={"stage_timeout_ms": 4000})
        held = [raw_connect(self.sensor.port, bind="127.0.0.51")
                for _ in range(2)]
        time.sleep(0.2)
        extra = raw_connect(self.sensor.port, bind="127.0.0.51")
        closed, secs, _ = read_until_closed(extra, FAST)
        self.assertTrue(closed)
        rec = self.record(extra.getsockname()[1])
        self.assertEqual(rec["outcome"], "ip_limit")
        self.assertEqual(rec["peer_ip"], "127.0.0.51")
        out = run_h2_peer(self.sensor, PeerOptions(), bind="127.0.0.52")
        self.assert_handshake_ok(out)
        for s in held:   # still open: nobody else's limit hit them
            self.assertFalse(read_until_closed(s, 0.05)[0])
            s.close()
        extra.close()

    def test_total_limit(self):
        self.sensor = Sensor("--max-conns", "3",
                             timing={"stage_timeout_ms": 4000})
        held = [raw_connect(self.sensor.port, bind="127.0.0.%d" % (61 + i))
                for i in range(3)]
        time.sleep(0.2)
        extra = raw_connect(self.sensor.port, bind="127.0.0.64")
        self.assertTrue(read_until_closed(extra, FAST)[0])
        rec = self.record(extra.getsockname()[1])
        self.assertEqual(rec["outcome"], "conn_limit")
        for s in held:
            s.close()
        extra.close()


class Cli(unittest.TestCase):
    def run_sensor(self, *args):
        return subprocess.run([SENSOR] + list(args), capture_output=True,
                              timeout=10, stdin=subprocess.DEVNULL)

    def test_help_and_version_exit_0(self):
        for flag in ("--help", "--version"):
            p = self.run_sensor(flag)
            self.assertEqual(p.returncode, 0, flag)
            self.assertTrue(p.stdout.strip(), flag)

    def test_bad_options_exit_2_with_one_line(self):
        for args in (["--bogus"], ["--linger-ms", "abc"], ["--linger-ms"],
                     ["--max-conns", "-1"], ["--listen", "nonsense"]):
            p = self.run_sensor(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, args)

    def test_setup_errors_say_the_reason_without_errno_noise(self):
        """A configuration error prints the reason the module gave, not a
        stale errno ("announce: Success", "export: No error information",
        "export: ca.pem: Invalid argument" for a PEM syntax error)."""
        held = socket.socket()
        held.bind(("127.0.0.1", 0))    # bound, so the sensor cannot bind it
        busy = "127.0.0.1:%d" % held.getsockname()[1]
        https = ["--export-url", "https://127.0.0.1:1/ingest"]
        firestore = ["--export-format", "firestore", "--export-url",
                     "https://127.0.0.1:1/v1/projects/p/databases/d/documents/c"]
        try:
            with tempfile.TemporaryDirectory() as d:
                f = self.files(d)
                cases = [
                    (["--announce"], "kaspa-sensor: --announce needs"
                     " --external-address IP:PORT"),
                    (["--export-url", "bogus"], "kaspa-sensor: export:"
                     " --export-url is not a valid http(s) URL"),
                    (firestore, "kaspa-sensor: export: --export-credentials"
                     " is required"),
                    (["--announce", "--external-address", "127.0.0.1:16111",
                      "--announce-peers", "127.0.0.1:1,bogus"],
                     "kaspa-sensor: --announce-peers: bad peer 'bogus'"
                     " (IP:PORT only: DNS names are not resolved yet)"),
                    (https + ["--export-ca", f["missing"]], "kaspa-sensor:"
                     " export: %s: No such file or directory" % f["missing"]),
                    (https + ["--export-ca", f["bad_pem"]], "kaspa-sensor:"
                     " export: %s: PEM syntax error" % f["bad_pem"]),
                    (https + ["--export-ca", f["no_cert"]], "kaspa-sensor:"
                     " export: %s: no usable CERTIFICATE in the file"
                     % f["no_cert"]),
                    (https + ["--export-header-file", f["bad_header"]],
                     "kaspa-sensor: export: %s: not valid HTTP header lines"
                     % f["bad_header"]),
                    (firestore + ["--export-credentials", f["missing"]],
                     "kaspa-sensor: export: cannot read the service-account"
                     " file: No such file or directory"),
                    (firestore + ["--export-credentials", f["bad_key"]],
                     "kaspa-sensor: export: service-account file: no usable"
                     " RSA private_key: PEM syntax error"),
                    (["--listen", busy], "kaspa-sensor: no address to listen"
                     " on"),
                ]
                log = os.path.join(d, "sensor.ndjson")
                for args, reason in cases:
                    if "--listen" not in args:
                        args = ["--listen", "127.0.0.1:0"] + args
                    p = self.run_sensor("--log", log, *args)
                    self.assertEqual(p.returncode, 1, args)
                    lines = p.stderr.decode().strip().splitlines()
                    self.assertEqual(lines[-1], reason, args)
                    self.assertEqual(sum(reason in ln for ln in lines), 1,
                                     args)
        finally:
            held.close()

    @staticmethod
    def files(d):
        """Broken set-up files in d, by name."""
        bad_pem = ("-----BEGIN %s-----\n!!!! not base64 !!!!\n"
                   "-----END %s-----\n")
        contents = {
            "bad_pem": bad_pem % ("CERTIFICATE", "CERTIFICATE"),
            "no_cert": "not a certificate bundle\n",
            "bad_header": "Authorization Bearer x\n",
            "bad_key": json.dumps({
                "client_email": "sensor@p.iam.gserviceaccount.com",
                "private_key": bad_pem % ("PRIVATE KEY", "PRIVATE KEY")}),
        }
        paths = {"missing": os.path.join(d, "missing.pem")}
        for name, text in contents.items():
            paths[name] = os.path.join(d, name)
            with open(paths[name], "w") as out:
                out.write(text)
        return paths

    def test_crawl_numbers_follow_the_sensors_rule(self):
        """crawl refuses a sign, a blank or a suffix as the sensor does
        (it used to take "+5" and " 5")."""
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "crawl.ndjson")
            for value in ("+5", " 5", "5 ", "-0", "0x5", "5ms", ""):
                p = self.run_sensor("crawl", "--out", out, "--seed",
                                    "127.0.0.1:1", "--crawl-allow-private",
                                    "--crawl-max-seconds", "2",
                                    "--crawl-concurrency", value)
                self.assertEqual(p.returncode, 2, repr(value))
                self.assertIn(b"invalid value for --crawl-concurrency",
                              p.stderr, repr(value))
            self.assertFalse(os.path.exists(out))

    def test_env_and_flag_precedence(self):
        sensor = Sensor(user_agent=None, sensor_id="from-flag",
                        env={"SENSOR_USER_AGENT": "/from-env:1/",
                             "SENSOR_SENSOR_ID": "from-env"})
        try:
            out = run_h2_peer(sensor, PeerOptions())
            self.assertIsNone(out.error, out.error)
            self.assertEqual(out.result.sensor_version.userAgent, "/from-env:1/")
            rec = sensor.record_for_port(out.port)
            self.assertEqual(rec["sensor_id"], "from-flag")
        finally:
            self.assertEqual(sensor.stop(), 0)


class LogFile(InteropCase):
    sensor = None

    def tearDown(self):
        self.assertEqual(self.sensor.stop(), 0)

    def quick_connection(self):
        s = raw_connect(self.sensor.port)
        port = s.getsockname()[1]
        s.sendall(HTTP1_GET)
        read_until_closed(s, FAST)
        s.close()
        return port

    def test_sighup_reopens_log(self):
        self.sensor = Sensor()
        self.record(self.quick_connection())
        os.rename(self.sensor.log, self.sensor.log + ".old")
        self.sensor.proc.send_signal(signal.SIGHUP)
        # The reopen creates the file at the old path at once.
        self.assertTrue(wait_for(lambda: os.path.exists(self.sensor.log), 5),
                        "no new log file after SIGHUP")
        port = self.quick_connection()
        self.record(port)    # in the new file at the old path
        old = self.sensor.records(self.sensor.log + ".old")
        self.assertEqual(len(old), 1)

    def test_rotation_keeps_n_files(self):
        self.sensor = Sensor("--log-max-bytes", "4096", "--log-keep", "2")
        ports = [self.quick_connection() for _ in range(24)]
        self.record(ports[-1])
        log = self.sensor.log
        self.assertTrue(os.path.exists(log + ".1"))
        self.assertTrue(os.path.exists(log + ".2"))
        self.assertFalse(os.path.exists(log + ".3"))
        for path in (log, log + ".1", log + ".2"):
            self.assertLessEqual(os.path.getsize(path), 4096, path)
            for rec in self.sensor.records(path):   # whole lines only
                self.assertEqual(rec["outcome"], "http1")


if __name__ == "__main__":
    unittest.main()
