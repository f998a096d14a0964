"""Hostile and broken clients: each is closed within its timeout and
logged with a sensible outcome, while a normal peer handshaking at the
same time is unaffected."""

import os
import struct
import threading
import time
import unittest
import zlib

import hpack

from common import (PeerOptions, SensorCase, H2Transport, kp,
                    raw_connect, read_until_closed, run_h2_peer)
from peers.handshake import Closed, PeerError

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_DATA, FRAME_HEADERS, FRAME_SETTINGS, FRAME_GOAWAY = 0, 1, 4, 7
END_HEADERS = 0x4
FRAME_SIZE_ERROR, COMPRESSION_ERROR = 6, 9
FAST = 2.0   # seconds: a hostile input that needs no timeout must be gone by then


def h2_frame(ftype, flags, stream, payload):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags])
            + struct.pack(">I", stream) + payload)


def h2_frames(data):
    """(type, flags, stream, payload) of the complete frames in data,
    after skipping nothing: data must start at a frame boundary."""
    out = []
    while len(data) >= 9:
        n = int.from_bytes(data[:3], "big")
        if len(data) < 9 + n:
            break
        out.append((data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7fffffff,
                    data[9:9 + n]))
        data = data[9 + n:]
    return out


def goaway_code(data):
    for ftype, _, _, payload in h2_frames(data):
        if ftype == FRAME_GOAWAY and len(payload) >= 8:
            return int.from_bytes(payload[4:8], "big")
    return None


def request_headers_block(port):
    return hpack.Encoder().encode([
        (":method", "POST"), (":scheme", "http"),
        (":path", kp.METHOD), (":authority", "127.0.0.1:%d" % port),
        ("content-type", "application/grpc"), ("te", "trailers"),
        ("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip")])


def hpack_int(prefix_bits, first, value):
    """RFC 7541 5.1 integer with the given prefix and first-byte pattern."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def tls_client_hello():
    suites = b"\x13\x01\x13\x02\xc0\x2f\xc0\x2b\x00\x2f"
    body = (b"\x03\x03" + os.urandom(32) + b"\x00"
            + struct.pack(">H", len(suites)) + suites + b"\x01\x00")
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


HTTP1_GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.0\r\n\r\n"


def garbage():
    return b"\x00\xff" + os.urandom(4094)


def call_opening(port, hpack_prefix=b""):
    """Preface, empty SETTINGS and the request HEADERS of the call."""
    block = hpack_prefix + request_headers_block(port)
    return (PREFACE + h2_frame(FRAME_SETTINGS, 0, 0, b"")
            + h2_frame(FRAME_HEADERS, END_HEADERS, 1, block))


def oversized_frame(port):
    """The call, then a DATA frame header claiming 16 MB - 1 (we never
    negotiated more than 16384) and its first 16 KB."""
    huge = struct.pack(">I", 0xFFFFFF)[1:] + bytes([FRAME_DATA, 0]) \
        + struct.pack(">I", 1)
    return call_opening(port) + huge + bytes(16384)


def hpack_table_size_bomb(port):
    """Dynamic table size update to 2^30, far above the 4096 allowed."""
    return call_opening(port, hpack_int(5, 0x20, 1 << 30))


_bombs = {}


def gzip_zeros(megabytes):
    """gzip (one member) of N MB of zeros, built in 1 MB steps."""
    if megabytes not in _bombs:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = bytes(1 << 20)
        parts = [c.compress(chunk) for _ in range(megabytes)]
        _bombs[megabytes] = b"".join(parts) + c.flush()
    return _bombs[megabytes]


class Bystander(threading.Thread):
    """A normal peer doing the full handshake in parallel."""

    def __init__(self, sensor, n):
        super().__init__(daemon=True)
        self.sensor = sensor
        self.opts = PeerOptions(protocol_version=5 + n % 6, gzip=bool(n % 2))
        self.bind = "127.0.0.%d" % (20 + n % 50)
        self.out = None

    def run(self):
        self.out = run_h2_peer(self.sensor, self.opts, bind=self.bind)


class Hostile(SensorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.n = 0

    def setUp(self):
        Hostile.n += 1
        self.bystander = Bystander(self.sensor, Hostile.n)

    def check_bystander(self):
        self.bystander.join(15)
        self.assertFalse(self.bystander.is_alive(), "bystander hung")
        out = self.bystander.out
        self.assert_handshake_ok(out)
        self.assertTrue(out.ended)
        rec = self.record(out.port)
        self.assertEqual((rec["outcome"], rec["stage_reached"]), ("ok", "ready"))
        self.assertTrue(self.sensor.alive())

    def hostile_bytes(self, payload, close_within, keep_sending=None):
        """Connect, start the bystander, send payload, wait for the close.
        Returns (record, seconds to close, bytes the sensor sent)."""
        s = raw_connect(self.sensor.port, bind="127.0.0.99")
        port = s.getsockname()[1]
        self.bystander.start()
        try:
            if payload:
                s.sendall(payload)
            if keep_sending:
                keep_sending(s)
            closed, secs, got = read_until_closed(s, close_within)
        except OSError:   # reset while we were still sending
            closed, secs, got = True, 0.0, b""
        finally:
            s.close()
        self.assertTrue(closed, "sensor kept the connection open for %.1fs"
                        % close_within)
        rec = self.record(port)
        self.assert_record_common(rec, self.sensor)
        self.assertEqual(rec["peer_ip"], "127.0.0.99")
        if "first_bytes" in rec:
            got_first = bytes.fromhex(rec["first_bytes"])
            self.assertTrue(got_first and payload.startswith(got_first),
                            "first_bytes is what we sent")
        self.check_bystander()
        return rec, secs, got

    @property
    def stage_timeout(self):
        return self.sensor.timing["stage_timeout_ms"] / 1000.0

    # -- not HTTP/2 at all --------------------------------------------------
    def test_random_garbage(self):
        rec, _, _ = self.hostile_bytes(garbage(), FAST)
        self.assertEqual(rec["outcome"], "not_http2")
        self.assertEqual(rec["stage_reached"], "tcp")
        self.assertIn("first_bytes", rec)
        self.assertIsNone(rec["protocol_version"])

    def test_http1_get(self):
        rec, _, _ = self.hostile_bytes(HTTP1_GET, FAST)
        self.assertEqual(rec["outcome"], "http1")
        self.assertEqual(rec["stage_reached"], "tcp")
        self.assertIn("first_bytes", rec)

    def test_tls_client_hello(self):
        rec, _, _ = self.hostile_bytes(tls_client_hello(), FAST)
        self.assertEqual(rec["outcome"], "tls")
        self.assertEqual(rec["stage_reached"], "tcp")
        self.assertIn("first_bytes", rec)

    # -- silence ---------------------------------------------------------------
    def test_truncated_preface_then_silence(self):
        rec, secs, _ = self.hostile_bytes(PREFACE[:10], self.stage_timeout + 2)
        self.assertEqual(rec["outcome"], "timeout")
        self.assertEqual(rec["stage_reached"], "tcp")
        self.assertGreater(secs, self.stage_timeout * 0.8)

    def test_silent_client(self):
        rec, secs, _ = self.hostile_bytes(b"", self.stage_timeout + 2)
        self.assertEqual(rec["outcome"], "timeout")
        self.assertEqual(rec["stage_reached"], "tcp")
        self.assertGreater(secs, self.stage_timeout * 0.8)
        self.assertEqual(rec["bytes_in"], 0)

    def test_silent_after_call_opened(self):
        rec, secs, _ = self.hostile_bytes(
            call_opening(self.sensor.port), self.stage_timeout + 2 + self.sensor.timing["version_wait_ms"] / 1000)
        self.assertEqual(rec["outcome"], "timeout")
        self.assertIn(rec["stage_reached"], ("call", "version"))

    # -- HTTP/2 level ------------------------------------------------------------
    def test_oversized_frame(self):
        rec, _, got = self.hostile_bytes(oversized_frame(self.sensor.port),
                                         FAST)
        self.assertEqual(rec["outcome"], "frame_size_error")
        self.assertEqual(goaway_code(got), FRAME_SIZE_ERROR,
                         "GOAWAY(FRAME_SIZE_ERROR) before the close")

    def test_hpack_table_size_bomb(self):
        rec, _, got = self.hostile_bytes(
            hpack_table_size_bomb(self.sensor.port), FAST)
        self.assertEqual(rec["outcome"], "compression_error")
        self.assertEqual(goaway_code(got), COMPRESSION_ERROR)

    # -- gRPC message level ------------------------------------------------------
    def gzip_bomb(self, megabytes):
        body = gzip_zeros(megabytes)
        t = H2Transport("127.0.0.1", self.sensor.port, gzip=True,
                        bind="127.0.0.98")
        self.bystander.start()
        t0 = time.monotonic()
        try:
            t.send(kp.make_version())
            t.send_raw_message(struct.pack(">BI", 1, len(body)) + body)
            closed = t.drain_to_eof(FAST)
        except (Closed, OSError):
            closed = True
        except PeerError:
            closed = False
        finally:
            t.close()
        secs = time.monotonic() - t0
        self.assertTrue(closed, "connection still open")
        self.assertLess(secs, FAST + 1)
        rec = self.record(t.local_port)
        self.assert_record_common(rec, self.sensor)
        self.assertNotIn(rec["outcome"], ("ok", "timeout", "closed"))
        self.assertIn(rec["outcome"], ("gzip_error", "message_too_large"))
        self.check_bystander()
        self.assertLess(self.sensor_peak_rss_mb(), 64)
        return rec

    def sensor_peak_rss_mb(self):
        with open("/proc/%d/status" % self.sensor.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0

    def test_gzip_bomb_under_wire_cap(self):
        self.gzip_bomb(50)    # ~50 KB on the wire, 50 MB inflated

    def test_gzip_bomb_100mb(self):
        self.gzip_bomb(100)   # ~100 KB on the wire

    # -- Kaspa level ---------------------------------------------------------------
    def kaspa_close(self, version, then=None):
        """Open a call, send version, optionally `then(transport)`, read
        until the sensor closes; returns (transport, kinds received)."""
        t = H2Transport("127.0.0.1", self.sensor.port, gzip=True,
                        bind="127.0.0.97")
        self.bystander.start()
        kinds = []
        try:
            t.send(version)
            if then:
                then(t, kinds)
            while True:
                kinds.append(kp.kind(t.recv(FAST + self.stage_timeout)))
        except Closed:
            pass
        finally:
            t.close()
        return t, kinds

    def stalled_handshake(self, send_verack):
        """Version (and Verack), then nothing: the sensor must give up
        after its stage (or Ready) timeout."""
        def stall(t, kinds):
            while "verack" not in kinds:
                kinds.append(kp.kind(t.recv(FAST)))
            if send_verack:
                t.send(kp.simple("verack"))
        t0 = time.monotonic()
        t, kinds = self.kaspa_close(kp.make_version(), stall)
        return t, kinds, time.monotonic() - t0

    def test_no_verack(self):
        t, _, secs = self.stalled_handshake(False)
        rec = self.record(t.local_port)
        self.assertEqual((rec["outcome"], rec["stage_reached"]),
                         ("timeout", "version"))
        self.assertIsNone(rec["handshake_ms"])
        self.assertLess(secs, self.stage_timeout + 1.5)
        self.check_bystander()

    def test_no_ready(self):
        t, kinds, secs = self.stalled_handshake(True)
        self.assertIn("ready", kinds)
        rec = self.record(t.local_port)
        self.assertEqual((rec["outcome"], rec["stage_reached"]),
                         ("timeout", "verack"))
        self.assertIsNone(rec["handshake_ms"])
        ready = self.sensor.timing["ready_timeout_ms"] / 1000
        self.assertGreater(secs, ready * 0.8)
        self.assertLess(secs, ready + 1.5)
        self.check_bystander()

    def test_wrong_network(self):
        t, kinds = self.kaspa_close(kp.make_version(network="kaspa-testnet-10"))
        self.assertIn("reject", kinds)
        self.assertNotIn("ready", kinds)
        rec = self.record(t.local_port)
        self.assert_record_common(rec, self.sensor)
        self.assertEqual(rec["outcome"], "wrong_network")
        self.assertEqual(rec["network"], "kaspa-testnet-10")
        self.check_bystander()

    def test_peer_sends_reject(self):
        def reject(t, kinds):
            while "version" not in kinds:
                kinds.append(kp.kind(t.recv(FAST)))
            t.send(kp.simple("reject", reason="itest says no"))
        t, kinds = self.kaspa_close(kp.make_version(), reject)
        rec = self.record(t.local_port)
        self.assert_record_common(rec, self.sensor)
        self.assertEqual(rec["outcome"], "peer_reject")
        self.assertEqual(rec["reject_reason"], "itest says no")
        self.check_bystander()

    def test_version_id_not_16_bytes(self):
        t, kinds = self.kaspa_close(kp.make_version(peer_id=os.urandom(8)))
        self.assertNotIn("ready", kinds)
        rec = self.record(t.local_port)
        self.assertEqual(rec["outcome"], "bad_version_message")
        self.check_bystander()


if __name__ == "__main__":
    unittest.main()
