"""Repeated SIGTERM/SIGINT while an export batch hangs: the sensor under
ASan/UBSan (make build/asan/kaspa-sensor).  The first signal writes every
pending line and gives the export up to 2 s; a second one stops at once;
any later one changes nothing.  Always exit 0, no torn line, and the
export cursor never passes lines the store did not acknowledge."""

import os
import signal
import socket
import subprocess
import threading
import time

from harness import REPO, private_copy
from util import (InteropCase, Sensor, fd_count, quick_connection,
                  raw_connect, read_lines, wait_for)

BUILT_ASAN = os.environ.get("KASPA_SENSOR_ASAN", os.path.join(
    REPO, "build", "asan", "kaspa-sensor"))
QUICK = 5           # logged connections, all in the hanging batch
APART = 0.05        # seconds between the signals of a "double Ctrl-C"


class SilentStore:
    """A loopback TCP listener that accepts, reads every request and
    never answers: the export batch it gets stays pending."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = "http://127.0.0.1:%d/ingest" % self.sock.getsockname()[1]
        self.received = b""
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return          # closed
            self.conns.append(c)
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.received += data

    def got(self, text):
        with self.lock:
            return text.encode() in self.received

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def cursor_offset(path):
    """The shipped offset the cursor file records: 0 when it is absent
    or says "none" (nothing shipped)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return 0
    return 0 if text == "none\n" else int(text.split()[2])


class RepeatedSignals(InteropCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BUILT_ASAN):
            raise AssertionError("no sanitizer build at %s: make %s"
                                 % (BUILT_ASAN, "build/asan/kaspa-sensor"))
        cls.binary = private_copy(BUILT_ASAN)

    def shut_down_with(self, signals, apart):
        """A sensor whose first export batch hangs (lines from QUICK
        connections) and that holds one more connection open; `signals`
        sent `apart` seconds apart.  Checks the exit, the log and the
        cursor; returns the sensor's stderr."""
        store = SilentStore()
        self.addCleanup(store.close)
        self.sensor = sensor = Sensor(
            "--export-url", store.url, "--export-allow-http",
            "--export-batch-ms", "20", "--export-timeout-ms", "60000",
            binary=self.binary)
        self.addCleanup(sensor.stop)
        ports = [quick_connection(sensor.port, bind="127.0.0.%d" % (10 + i))[0]
                 for i in range(QUICK)]
        self.assertTrue(wait_for(lambda: len(sensor.records()) == QUICK, 5))
        first = sensor.records()[0]["event_id"]
        self.assertTrue(wait_for(lambda: store.got(first), 5),
                        "no batch reached the store:\n" + sensor.stderr_text())
        fds = fd_count(sensor.proc.pid)
        held = raw_connect(sensor.port, bind="127.0.0.30")
        self.addCleanup(held.close)
        self.assertTrue(wait_for(lambda: fd_count(sensor.proc.pid) > fds, 5))

        for i, sig in enumerate(signals):
            if i > 0:
                time.sleep(apart)
            sensor.proc.send_signal(sig)
        try:
            rc = sensor.proc.wait(10)   # no more signals from the test
        except subprocess.TimeoutExpired:
            rc = None
        err = sensor.stderr_text()
        self.assertEqual(rc, 0, err)
        for report in ("Sanitizer", "runtime error"):
            self.assertNotIn(report, err)

        records, problems = read_lines(sensor.log)
        self.assertEqual(problems, [])
        by_port = {r["peer_port"]: r for r in records}
        self.assertEqual(len(by_port), QUICK + 1)
        for p in ports:
            self.assertEqual(by_port[p]["outcome"], "http1")
        self.assertEqual(by_port[held.getsockname()[1]]["outcome"], "shutdown")
        # The store acknowledged nothing: nothing counts as shipped.
        self.assertEqual(cursor_offset(sensor.log + ".cursor"), 0)
        return err

    def assert_stopped_at_once(self, err):
        self.assertIn("stopping now", err)
        self.assertNotIn("export stops with", err, "the drain ran out")

    def test_second_sigterm_stops_now(self):
        self.assert_stopped_at_once(self.shut_down_with(
            [signal.SIGTERM, signal.SIGTERM], APART))

    def test_sigint_then_sigterm_stops_now(self):
        self.assert_stopped_at_once(self.shut_down_with(
            [signal.SIGINT, signal.SIGTERM], APART))

    def test_three_signals_in_a_row(self):
        # Back to back: a signal still pending absorbs another of its
        # kind, so SIGINT in the middle makes sure at least two arrive.
        self.assert_stopped_at_once(self.shut_down_with(
            [signal.SIGTERM, signal.SIGINT, signal.SIGTERM], 0))
