"""--metrics: the Prometheus listener on the sensor's own poll loop.

Scrapes after real grpcio handshakes must count them (outcome, protocol
version, log lines and bytes matching the NDJSON file), the exposition
must parse (promtool check metrics when promtool is on PATH, which Debian's
`prometheus` package ships; it is not in APT_PKGS because it is ~100 MB,
so without it the test's own line checks run alone), and the caps hold:
slow clients are cut off, a fifth client waits until a place frees,
oversized heads get 431, and none of this stalls peers or other scrapes."""

import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from common import InteropCase, PeerOptions, Sensor, run_grpc_peer
from harness import free_port, tcp_listening

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def start_with_metrics(*extra, env=None):
    mport = free_port()
    if env is None:
        extra = ("--metrics", "127.0.0.1:%d" % mport) + extra
    else:
        env = dict(env, SENSOR_METRICS="127.0.0.1:%d" % mport)
    sensor = Sensor(*extra, env=env)
    deadline = time.monotonic() + 5
    while not tcp_listening(mport):
        if time.monotonic() > deadline:
            raise RuntimeError("metrics port never listened: %s"
                               % sensor.stderr_text())
        time.sleep(0.02)
    sensor.metrics_port = mport
    return sensor


def read_to_eof(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def http(port, request, timeout=5.0):
    """Send raw bytes, read to EOF: (status, headers dict, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = read_to_eof(s)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, v in
               (ln.split(":", 1) for ln in lines[1:])}
    return status, headers, body


def get(port, path, method="GET"):
    return http(port, ("%s %s HTTP/1.1\r\nHost: x\r\n\r\n"
                       % (method, path)).encode())


def parse_exposition(text):
    """{(name, labels text): value}, checking each line's syntax and that
    every sample follows its family's # TYPE."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            typed.add(line.split(" ")[2])
            continue
        m = SAMPLE_RE.match(line)
        assert m, "bad sample line: %r" % line
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "sample before TYPE: " + line
        samples[(name, m.group(2) or "")] = float(m.group(3))
    return samples


class Metrics(InteropCase):
    @classmethod
    def setUpClass(cls):
        cls.sensor = start_with_metrics()
        cls.port = cls.sensor.metrics_port

    @classmethod
    def tearDownClass(cls):
        rc = cls.sensor.stop()
        if rc != 0:
            raise AssertionError("sensor exit code on SIGTERM: %r" % rc)

    def scrape(self):
        status, headers, body = get(self.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(int(headers["content-length"]), len(body))
        return body.decode("ascii")

    def test_counts_real_handshakes(self):
        before = parse_exposition(self.scrape())
        n = 3
        for pv in (7, 9, 9)[:n]:
            out = run_grpc_peer(self.sensor, PeerOptions(protocol_version=pv))
            self.assert_handshake_ok(out)
            self.record(out.port)
        text = self.scrape()
        after = parse_exposition(text)

        def delta(name, labels=""):
            return after.get((name, labels), 0) - before.get((name, labels), 0)

        self.assertEqual(delta("kaspa_sensor_connections_total",
                               '{outcome="ok"}'), n)
        self.assertEqual(delta("kaspa_sensor_handshakes_total",
                               '{protocol_version="7"}'), 1)
        self.assertEqual(delta("kaspa_sensor_handshakes_total",
                               '{protocol_version="9"}'), 2)
        self.assertEqual(after[("kaspa_sensor_open_connections", "")], 0)
        # The log counters agree with the file itself.
        size = os.path.getsize(self.sensor.log)
        lines = len(self.sensor.records())
        self.assertEqual(after[("kaspa_sensor_log_lines_total", "")], lines)
        self.assertEqual(after[("kaspa_sensor_log_written_bytes_total", "")],
                         size)
        self.assertEqual(after[("kaspa_sensor_log_file_bytes", "")], size)
        self.assertEqual(after[("kaspa_sensor_log_errors_total", "")], 0)
        self.assertEqual(after[("kaspa_sensor_build_info",
                                '{version="0.1.0"}')], 1)
        self.assertEqual(after[("kaspa_sensor_info",
                                '{sensor_id="itest",network="kaspa-mainnet"}')],
                         1)
        self.assertIn(("kaspa_sensor_probe_duration_seconds_bucket",
                       '{le="+Inf"}'), after)
        self.check_with_promtool(text)

    def check_with_promtool(self, text):
        promtool = shutil.which("promtool")
        if promtool is None:
            print("(promtool not on PATH: exposition checked by the test's"
                  " own parser only)")
            return
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_open_connections_gauge(self):
        s = socket.create_connection(("127.0.0.1", self.sensor.port))
        try:
            deadline = time.monotonic() + 3
            while True:
                v = parse_exposition(self.scrape())[
                    ("kaspa_sensor_open_connections", "")]
                if v >= 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            self.assertGreaterEqual(v, 1)
        finally:
            s.close()

    def test_healthz_head_and_errors(self):
        status, headers, body = get(self.port, "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(headers["connection"], "close")
        status, headers, body = get(self.port, "/metrics", "HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(headers["content-length"]), 1000)
        self.assertEqual(get(self.port, "/")[0], 404)
        self.assertEqual(get(self.port, "/metrics/x")[0], 404)
        status, headers, _ = get(self.port, "/metrics", "POST")
        self.assertEqual((status, headers["allow"]), (405, "GET, HEAD"))
        self.assertEqual(http(self.port, b"GET /metrics HTTP/1.1\r\n\r\n")[0],
                         400)
        self.assertEqual(http(self.port, b"\x16\x03\x01\x00\x10\r\n\r\n")[0],
                         400)
        big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 4000
        self.assertEqual(http(self.port, big)[0], 431)

    def test_slow_client_cut_off(self):
        """A client that never finishes its head gets 408 after ~2 s; a
        scrape meanwhile is served at once."""
        slow = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            slow.sendall(b"GET /metr")
            t0 = time.monotonic()
            self.scrape()
            self.assertLess(time.monotonic() - t0, 1.0)
            data = read_to_eof(slow)
            took = time.monotonic() - t0
        finally:
            slow.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        self.assertGreater(took, 1.5)
        self.assertLess(took, 3.5)

    def test_client_cap(self):
        """Four idle clients hold every place: a fifth waits in the
        backlog (no reset) and is served as soon as one leaves; peers
        complete their handshake meanwhile."""
        idle = [socket.create_connection(("127.0.0.1", self.port), timeout=5)
                for _ in range(4)]
        fifth = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            fifth.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            fifth.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                fifth.recv(100)
            out = run_grpc_peer(self.sensor, PeerOptions())
            self.assert_handshake_ok(out)
            t0 = time.monotonic()
            idle.pop().close()
            fifth.settimeout(5)
            data = read_to_eof(fifth)
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data)
        finally:
            fifth.close()
            for s in idle:
                s.close()


class MetricsConfig(unittest.TestCase):
    def listening_sockets(self, sensor):
        """Number of LISTEN sockets the sensor process holds."""
        inodes = set()
        fd_dir = "/proc/%d/fd" % sensor.proc.pid
        for fd in os.listdir(fd_dir):
            target = os.readlink(os.path.join(fd_dir, fd))
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        n = 0
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A" and parts[9] in inodes:
                        n += 1
        return n

    def test_off_by_default(self):
        sensor = Sensor()
        try:
            self.assertEqual(self.listening_sockets(sensor), 1)
            self.assertNotIn("metrics on", sensor.stderr_text())
        finally:
            sensor.stop()

    def test_from_env(self):
        sensor = start_with_metrics(env={})
        try:
            self.assertEqual(self.listening_sockets(sensor), 2)
            self.assertEqual(get(sensor.metrics_port, "/healthz")[0], 200)
        finally:
            sensor.stop()

    def test_bad_address_fails_start(self):
        from harness import SENSOR
        for bad in ("nonsense", "127.0.0.1", "localhost:9090",
                    "127.0.0.1:99999"):
            p = subprocess.run([SENSOR, "--listen", "127.0.0.1:%d" % free_port(),
                                "--log", os.devnull, "--no-probe",
                                "--metrics", bad],
                               capture_output=True, timeout=10)
            self.assertNotEqual(p.returncode, 0, bad)
            self.assertIn(bad.encode(), p.stderr)


if __name__ == "__main__":
    unittest.main()
