"""Slowloris: clients that stall at every stage of the handshake, or send
one byte at a time, are timed out by the per-stage deadline (which data
does not push back) and their slots are freed."""

import socket
import threading
import time

from util import (H2Transport, Handshake, InteropCase, PeerOptions, PREFACE,
                  Sensor, fd_count, h2_frame, kp, raw_connect, run_h2_peer,
                  wait_for)
from test_load import wait_closed

STAGE_MS = 1000
DRAIN_S = 1.0       # conn.c drain_ms[H2_SERVER]: after our GOAWAY, wait for the EOF
SLACK_S = 1.0
TIMING = {"stage_timeout_ms": STAGE_MS, "ready_timeout_ms": STAGE_MS}
EMPTY_SETTINGS = h2_frame(4, 0, 0, b"")


def stall_raw(port, data, bind):
    s = raw_connect(port, bind=bind)
    if data:
        s.sendall(data)
    return s


def stall_h2(port, bind, steps):
    """Open the call and run the first `steps` handshake steps, then stop:
    0 = call open, 1 = our Version sent (theirs and a Verack back),
    2 = our Verack sent too (their Ready back)."""
    t = H2Transport("127.0.0.1", port, bind=bind)
    hs = Handshake(t, PeerOptions())
    t.flush()
    if steps >= 1:
        t.send(hs.version())
        hs.expect("version")
        hs.expect("verack")
    if steps >= 2:
        t.send(kp.simple("verack"))
        hs.expect("ready")
    return t.sock


# name -> (how to stall, stage_reached in the log)
STALLS = {
    "silent": (lambda p, b: stall_raw(p, b"", b), "tcp"),
    "half_preface": (lambda p, b: stall_raw(p, PREFACE[:10], b), "tcp"),
    "preface": (lambda p, b: stall_raw(p, PREFACE, b), "http2"),
    "settings": (lambda p, b: stall_raw(p, PREFACE + EMPTY_SETTINGS, b),
                 "http2"),
    "call_open": (lambda p, b: stall_h2(p, b, 0), "call"),
    "after_version": (lambda p, b: stall_h2(p, b, 1), "version"),
    "after_verack": (lambda p, b: stall_h2(p, b, 2), "verack"),
}


class Trickler(threading.Thread):
    """Sends data one byte every `gap` seconds and notes when the sensor
    closed the connection (EOF or reset seen)."""

    def __init__(self, sock, data, gap):
        super().__init__(daemon=True)
        self.sock, self.data, self.gap = sock, data, gap
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.t0 = time.monotonic()
        self.closed_after = None
        self.sent = 0

    def _peer_closed(self):
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def run(self):
        for b in self.data:
            if self._peer_closed():
                break
            try:
                self.sock.send(bytes([b]))
                self.sent += 1
            except OSError:
                break
            time.sleep(self.gap)
        else:
            return
        self.closed_after = time.monotonic() - self.t0


class Slowloris(InteropCase):
    def tearDown(self):
        self.assertEqual(self.sensor.stop(), 0)

    def test_stall_at_every_stage(self):
        n = len(STALLS)
        self.sensor = Sensor("--max-conns", str(n), timing=TIMING)
        pid = self.sensor.proc.pid
        fds_idle = fd_count(pid)
        socks = {}
        t0 = time.monotonic()
        for i, (name, (stall, _)) in enumerate(STALLS.items()):
            socks[name] = stall(self.sensor.port, "127.0.0.%d" % (80 + i))
        setup_s = time.monotonic() - t0
        # Each stage has its own limit: the last stall may take 3 of them.
        budget = 3 * STAGE_MS / 1000 + DRAIN_S + SLACK_S
        closed = wait_closed(list(socks.values()), budget)
        self.assertEqual(len(closed), n, "%d of %d stalled clients closed "
                         "within %.1f s" % (len(closed), n, budget))
        print("slowloris: %d stalls set up in %.2f s, all closed by %.2f s"
              % (n, setup_s, time.monotonic() - t0))
        for name, (_, stage) in STALLS.items():
            rec = self.record(socks[name].getsockname()[1])
            self.assertEqual((rec["outcome"], rec["stage_reached"]),
                             ("timeout", stage), name)
            socks[name].close()
        # Slots freed: fds back to idle, and a full handshake is served
        # although every stall filled a --max-conns slot.
        self.assertTrue(wait_for(lambda: fd_count(pid) == fds_idle, 2),
                        "sensor holds %d fds, %d when idle"
                        % (fd_count(pid), fds_idle))
        out = run_h2_peer(self.sensor, PeerOptions(), bind="127.0.0.90")
        self.assert_handshake_ok(out)
        self.assertEqual(self.record(out.port)["outcome"], "ok")

    def test_byte_at_a_time(self):
        self.sensor = Sensor("--max-conns", "2", timing=TIMING)
        port = self.sensor.port
        # One trickles the preface and SETTINGS frames; the other opens the
        # call at full speed, then trickles its Version message.  Either
        # would take over twice the stage limit to send it all.
        preface = Trickler(raw_connect(port, bind="127.0.0.91"),
                           PREFACE + EMPTY_SETTINGS * 10, 0.02)
        t = H2Transport("127.0.0.1", port, bind="127.0.0.92")
        t.flush()
        t.conn.send_data(t.sid, kp.frame(kp.make_version().SerializeToString(),
                                         False))
        version = Trickler(t.sock, t.conn.data_to_send(), 0.02)
        for tr in (preface, version):
            tr.start()
        for tr in (preface, version):
            tr.join(10)
        limit = STAGE_MS / 1000 + DRAIN_S + SLACK_S
        for name, tr, stage in (("preface", preface, "http2"),
                                ("version", version, "call")):
            self.assertIsNotNone(tr.closed_after, "%s: never closed" % name)
            self.assertLess(tr.closed_after, limit, name)
            self.assertLess(tr.sent, len(tr.data), name)
            rec = self.record(tr.sock.getsockname()[1])
            self.assertEqual((rec["outcome"], rec["stage_reached"]),
                             ("timeout", stage), name)
            print("slowloris: %s trickler closed after %.2f s, %d bytes"
                  % (name, tr.closed_after, tr.sent))
            tr.sock.close()
        out = run_h2_peer(self.sensor, PeerOptions(), bind="127.0.0.93")
        self.assert_handshake_ok(out)
