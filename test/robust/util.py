"""Helpers for the fault and abuse tests: the interop harness (Sensor,
peers, raw sockets) plus load generators and /proc readings."""

import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from common import (H2Transport, InteropCase, PeerOptions, Sensor, kp,  # noqa: E402,F401
                    raw_connect, read_until_closed, run_h2_peer)
from harness import skip_or_fail_in_ci, wait_for  # noqa: E402,F401
from peers.handshake import Handshake  # noqa: E402,F401
from test_hostile import HTTP1_GET, PREFACE, h2_frame  # noqa: E402,F401


def proc_status_kb(pid, key):
    """VmRSS, VmHWM, ... of a process, in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def log_files(log):
    """The log and every rotated LOG.N beside it, in no particular order
    (a kill in the middle of a rotation may leave a gap in the numbers)."""
    d, base = os.path.split(log)
    return [os.path.join(d, f) for f in os.listdir(d)
            if f == base or (f.startswith(base + ".") and
                             f[len(base) + 1:].isdigit())]


def read_lines(path):
    """(records, problems): every line parsed; a line that is not one
    complete JSON object, or bytes after the last newline, is a problem."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], []
    records, problems = [], []
    lines = data.split(b"\n")
    if lines[-1]:
        problems.append("torn tail: %r" % lines[-1][:80])
    for line in lines[:-1]:
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
            records.append(rec)
        except ValueError:
            problems.append("bad line: %r" % line[:80])
    return records, problems


def quick_connection(port, bind="127.0.0.1", timeout=2.0):
    """An HTTP/1.1 request: the sensor logs it (outcome http1) and closes
    at once.  Returns (client port, answered): answered means the sensor
    sent its GOAWAY, so it had accepted the connection.  (None, False) if
    no connection was made."""
    try:
        s = raw_connect(port, bind=bind, timeout=timeout)
    except OSError:
        return None, False
    answered = False
    try:
        client_port = s.getsockname()[1]
        s.sendall(HTTP1_GET)
        answered = len(read_until_closed(s, timeout)[2]) > 0
    except OSError:
        pass
    finally:
        s.close()
    return client_port, answered


class Hammer:
    """Threads making quick connections until stopped; `answered` holds
    the client port of every connection the sensor answered."""

    def __init__(self, port, threads=4):
        self.port = port
        self.answered = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,),
                                         daemon=True) for i in range(threads)]

    def _run(self, i):
        bind = "127.0.%d.%d" % (10 + i, 1)
        while not self.stopped.is_set():
            p, answered = quick_connection(self.port, bind=bind)
            if p is None:
                time.sleep(0.005)    # the sensor is down: retry soon
            elif answered:
                with self.lock:
                    self.answered.append(p)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(10)
        return list(self.answered)


def connect_many(port, n, first_octet=2):
    """n plain TCP connections from 127.<first_octet..>.x.y; the sockets
    (those that connected) and the number that failed."""
    socks, failed = [], 0
    for i in range(n):
        bind = "127.%d.%d.%d" % (first_octet + i // 65025,
                                 1 + i // 255 % 255, 1 + i % 255)
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                         source_address=(bind, 0))
            socks.append(s)
        except OSError:
            failed += 1
    return socks, failed
