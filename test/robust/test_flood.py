"""Floods and late errors: a client that keeps the sensor's socket readable every loop
turn must still meet its deadlines (a deadline is not pushed back by data,
however much of it comes), so it cannot hold a connection forever; and a protocol error after the
handshake ends the connection then, not when the linger runs out."""

import socket
import threading
import time

from util import (H2Transport, HTTP1_GET, Handshake, InteropCase,
                  PeerOptions, PREFACE, Sensor, h2_frame, kp, raw_connect)
from test_load import wait_closed

STAGE_MS = 1000
DRAIN_S = 1.0       # conn.c drain_ms[H2_SERVER]
SLACK_S = 1.5
FLOOD_S = 8.0       # well past every limit involved
PING = h2_frame(6, 0, 0, b"12345678")


class Flooder(threading.Thread):
    """Sends `chunk` over and over as fast as the socket takes it (reading
    whatever comes back) until a send fails: the sensor closed the socket
    (its half-close after a goodbye does not count), or FLOOD_S passed."""

    def __init__(self, sock, chunk):
        super().__init__(daemon=True)
        self.sock, self.chunk = sock, chunk
        self.sock.setblocking(False)
        self.sent = 0
        self.closed_after = None

    def run(self):
        t0 = time.monotonic()
        eof = False
        while time.monotonic() - t0 < FLOOD_S:
            try:
                while not eof:
                    eof = not self.sock.recv(65536)
            except BlockingIOError:
                pass
            except OSError:
                break                       # reset: the sensor closed
            off = self.sent % len(self.chunk)   # whole frames only
            try:
                self.sent += self.sock.send(self.chunk[off:])
            except BlockingIOError:
                time.sleep(0.0005)
            except OSError:
                break                       # EPIPE / reset: closed
        else:
            return
        self.closed_after = time.monotonic() - t0


class Flood(InteropCase):
    def setUp(self):
        self.sensor = Sensor(timing={"stage_timeout_ms": STAGE_MS,
                                     "ready_timeout_ms": STAGE_MS})

    def tearDown(self):
        self.assertEqual(self.sensor.stop(), 0)

    def flood(self, bind, opening, chunk):
        s = raw_connect(self.sensor.port, bind=bind)
        s.sendall(opening)
        f = Flooder(s, chunk)
        f.start()
        f.join(FLOOD_S + 2)
        return s, f

    def check(self, s, f, limit, outcome, stage):
        port = s.getsockname()[1]
        self.assertIsNotNone(f.closed_after, "never closed while flooding "
                             "(%d bytes sent in %.0f s)" % (f.sent, FLOOD_S))
        self.assertLess(f.closed_after, limit)
        rec = self.record(port)
        self.assertEqual((rec["outcome"], rec["stage_reached"]),
                         (outcome, stage))
        print("flood: %s closed after %.2f s, %d bytes sent"
              % (outcome, f.closed_after, f.sent))
        s.close()

    def test_flood_after_goodbye(self):
        # Not HTTP/2: the sensor says goodbye at once, then discards input
        # until EOF, for at most the drain time.
        s, f = self.flood("127.0.0.101", HTTP1_GET, b"x" * 65536)
        self.check(s, f, DRAIN_S + SLACK_S, "http1", "tcp")

    def test_ping_flood_before_call(self):
        # Valid HTTP/2 PINGs, no call: the stage limit still ends it.
        s, f = self.flood("127.0.0.102", PREFACE + h2_frame(4, 0, 0, b""),
                          PING * 4096)
        self.check(s, f, STAGE_MS / 1000 + DRAIN_S + SLACK_S, "timeout",
                   "http2")


class LateError(InteropCase):
    LINGER_MS = 20000

    def tearDown(self):
        self.assertEqual(self.sensor.stop(), 0)

    def test_protocol_error_during_linger(self):
        self.sensor = Sensor(timing={"linger_ms": self.LINGER_MS})
        t = H2Transport("127.0.0.1", self.sensor.port, bind="127.0.0.103")
        hs = Handshake(t, PeerOptions())
        t.flush()
        t.send(hs.version())
        hs.expect("version")
        hs.expect("verack")
        t.send(kp.simple("verack"))
        hs.expect("ready")
        t.send(kp.simple("ready"))
        time.sleep(0.2)                 # the sensor is lingering now
        t.sock.sendall(h2_frame(0, 0, 0, b"x"))   # DATA on stream 0
        t0 = time.monotonic()
        limit = DRAIN_S + SLACK_S
        closed = wait_closed([t.sock], limit)
        self.assertEqual(len(closed), 1, "still open %.1f s after a "
                         "protocol error (linger %d ms)"
                         % (limit, self.LINGER_MS))
        rec = self.record(t.sock.getsockname()[1])
        self.assertEqual((rec["outcome"], rec["stage_reached"]),
                         ("ok", "ready"))
        print("late error: closed after %.2f s" % (time.monotonic() - t0))
        t.sock.close()
