"""Shared by the fleet tests: run a sensor under a launcher (chroot,
qemu), configured only through SENSOR_* variables, on a loopback port,
and complete real handshakes with it."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "interop"))

from common import PeerOptions, run_grpc_peer, run_h2_peer  # noqa: E402
from harness import free_port, tcp_listening  # noqa: E402


def test_overrides(port):
    """What the tests add to the image's environment: a loopback listen
    port, no dial-back probe, a short linger."""
    return {"SENSOR_LISTEN": "127.0.0.1:%d" % port, "SENSOR_NO_PROBE": "1",
            "SENSOR_LINGER_MS": "300"}


def proc_status(pid):
    """/proc/PID/status as {field: value text}."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f)


def assert_unprivileged(case, pid, user):
    """The process runs as user (uid, gid) with no effective capability."""
    status = proc_status(pid)
    case.assertEqual(status["Uid"].split(), [str(user[0])] * 4)
    case.assertEqual(status["Gid"].split(), [str(user[1])] * 4)
    case.assertIn(status["Groups"].split(), ([], [str(user[1])]))
    case.assertEqual(int(status["CapEff"], 16), 0)
    return status


class LogReader:
    """The NDJSON log a sensor writes, at `log` on this side."""

    def __init__(self, log):
        self.log = log

    def records(self):
        try:
            with open(self.log, "rb") as f:
                return [json.loads(x) for x in f.read().split(b"\n")[:-1]]
        except FileNotFoundError:
            return []

    def record_for_port(self, port, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.records():
                if r.get("peer_port") == port:
                    return r
            time.sleep(0.05)
        return None


class Launched(LogReader):
    """argv run with exactly env (plus what the test adds), listening on
    127.0.0.1:port; log is where its NDJSON file appears on this side."""

    def __init__(self, argv, env, log, stderr_path, start_timeout=20.0):
        super().__init__(log)
        self.host = "127.0.0.1"
        self.port = free_port()
        env = dict(env, **test_overrides(self.port))
        self.stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        deadline = time.monotonic() + start_timeout
        while not tcp_listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("sensor did not start: %s"
                                   % self.stderr_text())
            time.sleep(0.05)

    def stderr_text(self):
        with open(self.stderr.name, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def stop(self, timeout=10.0):
        """SIGTERM; the exit status (None if it had to be killed)."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                rc = None
        self.stderr.close()
        return rc


def handshake_both_peers(case, sensor):
    """A grpcio peer (gzip) and the tonic-like h2 peer (no gzip, waits for
    our Version) each complete the handshake and are logged "ok"."""
    for run, opts in ((run_grpc_peer, PeerOptions(protocol_version=7)),
                      (run_h2_peer, PeerOptions(protocol_version=10,
                                                gzip=False, order="wait"))):
        out = run(sensor, opts)
        case.assertIsNone(out.error, "handshake failed: %r; stderr:\n%s"
                          % (out.error, sensor.stderr_text()))
        case.assertEqual(out.result.received[:3], ["version", "verack",
                                                   "ready"])
        rec = sensor.record_for_port(out.port)
        case.assertIsNotNone(rec, "no record; stderr:\n" + sensor.stderr_text())
        case.assertEqual(rec["outcome"], "ok")
        case.assertEqual(rec["stage_reached"], "ready")
        case.assertEqual(rec["protocol_version"], opts.protocol_version)
