"""Runs ./kaspa-sensor on a loopback port and reads its NDJSON log."""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILT = os.environ.get("KASPA_SENSOR", os.path.join(REPO, "kaspa-sensor"))


def private_copy(path):
    """The suite runs a copy, so a rebuild in the checkout during the run
    cannot swap the binary under it."""
    d = tempfile.mkdtemp(prefix="sensor_bin_")
    atexit.register(shutil.rmtree, d, True)
    dst = os.path.join(d, "kaspa-sensor")
    try:
        shutil.copy2(path, dst)
    except OSError as e:
        print("interop: cannot copy %s: %s" % (path, e), file=sys.stderr)
        return path
    return dst


SENSOR = private_copy(BUILT)

# Short timeouts so every failure path resolves within a few seconds.
TIMING = {"version_wait_ms": 200, "stage_timeout_ms": 1500,
          "ready_timeout_ms": 2000, "linger_ms": 300}


def _supports(flag):
    try:
        p = subprocess.run([SENSOR, "--help"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag.encode() in p.stdout + p.stderr


# The sensor must never dial anything from the tests (peers advertise
# 1.2.3.4 and 2001:db8::1): switch its dial-back probe off when it has one.
NO_PROBE = ["--no-probe"] if _supports("--no-probe") else []


def skip_or_fail_in_ci(why):
    """The running test cannot run here (why): it skips, except under
    CI=true (root, every package installed), where it fails, since CI must
    prove every test every time."""
    if os.environ.get("CI") == "true":
        raise AssertionError("CI=true and this test cannot run: " + why)
    raise unittest.SkipTest(why)


def wait_for(pred, timeout=15.0, step=0.02):
    """Polls pred() until it returns something true or timeout seconds
    pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_listening(port, net="/proc/net"):
    """True if something LISTENs on 127.0.0.1:port or the wildcard
    (read from /proc so that no connection ends up in the sensor's log);
    net: /proc/PID/net for another process's network namespace."""
    want = ":%04X" % port
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(net, name)) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(want) and parts[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def client_ports(server_port):
    """Local ports of ESTABLISHED loopback connections to server_port."""
    want = ":%04X" % server_port
    ports = set()
    # grpc-core dials from a dual-stack socket: v4-mapped rows in tcp6.
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[2].endswith(want) and parts[3] == "01":
                    ports.add(int(parts[1].split(":")[1], 16))
    return ports


class Sensor:
    def __init__(self, *extra, sensor_id="itest", protocol_version=7,
                 network="kaspa-mainnet", user_agent="/kaspa-sensor:itest/",
                 timing=None, max_conns_per_ip=64, env=None,
                 host="127.0.0.1", binary=SENSOR):
        self.dir = tempfile.mkdtemp(prefix="sensor_itest_")
        if not os.environ.get("INTEROP_KEEP"):   # keep logs for debugging
            atexit.register(shutil.rmtree, self.dir, True)
        self.log = os.path.join(self.dir, "s.ndjson")
        self.host = host
        self.port = free_port()
        self.network = network
        self.user_agent = user_agent
        self.protocol_version = protocol_version
        self.sensor_id = sensor_id
        t = dict(TIMING, **(timing or {}))
        self.timing = t
        # A None value leaves the option out (to test the env variable).
        named = (("--sensor-id", sensor_id), ("--network", network),
                 ("--user-agent", user_agent),
                 ("--protocol-version", protocol_version))
        listen = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)
        self.argv = [binary, "--listen", listen,
                     "--log", self.log]
        for flag, value in named:
            if value is not None:
                self.argv += [flag, str(value)]
        self.argv += ["--version-wait-ms", str(t["version_wait_ms"]),
                      "--stage-timeout-ms", str(t["stage_timeout_ms"]),
                      "--ready-timeout-ms", str(t["ready_timeout_ms"]),
                      "--linger-ms", str(t["linger_ms"]),
                      "--max-conns-per-ip", str(max_conns_per_ip)]
        self.argv += NO_PROBE + list(extra)
        self.stderr = open(os.path.join(self.dir, "stderr.txt"), "wb")
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("SENSOR_")}
        full_env.update(env or {})
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr,
                                     env=full_env)
        deadline = time.monotonic() + 5
        while not tcp_listening(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError("sensor exited %d: %s" % (
                    self.proc.returncode, self.stderr_text()))
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("sensor does not listen on %d" % self.port)
            time.sleep(0.02)

    def stderr_text(self):
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr.name, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def records(self, path=None):
        """Every complete NDJSON line written so far, parsed; a line that
        is not valid JSON fails the test that reads it."""
        try:
            with open(path or self.log, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        return [json.loads(line) for line in lines[:-1]]

    def wait_record(self, pred, timeout=6.0):
        """The first record for which pred(record) holds, polling the log
        until timeout; None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            for r in self.records():
                if pred(r):
                    return r
            if time.monotonic() > deadline:
                return None
            time.sleep(0.03)

    def record_for_port(self, port, timeout=6.0):
        return self.wait_record(lambda r: r.get("peer_port") == port, timeout)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.stderr.close()
                return None
        self.stderr.close()
        return self.proc.returncode
