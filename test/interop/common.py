"""Helpers shared by the interop tests: run one peer against a sensor,
check an NDJSON record, raw sockets for hostile clients."""

import ipaddress
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from peers import kaspa_proto as kp  # noqa: E402
from peers.grpcpeer import GrpcTransport  # noqa: E402
from peers.h2peer import H2Transport  # noqa: E402
from peers.handshake import Handshake, PeerOptions  # noqa: E402
from peers.wire import length_delimited  # noqa: E402
import harness  # noqa: E402
from harness import Sensor, client_ports  # noqa: E402,F401

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
EVENT_RE = re.compile(r"^[0-9a-f]{32}-\d+$")
RECORD_KEYS = {
    "ts", "event_id", "sensor_id", "direction", "peer_ip", "peer_port",
    "local_port", "protocol_version", "user_agent", "network", "peer_id",
    "advertised_address", "services", "disable_relay_tx",
    "peer_timestamp_ms", "our_protocol_version", "version_order",
    "http_user_agent", "compressed", "handshake_ms", "duration_ms",
    "stage_reached", "outcome", "reject_reason", "bytes_in", "bytes_out"}

# A top-level field no KaspadMessage has (payloads end at 63, the ids are
# 101 and 102), as the protocol grows, and how the sensor logs it.
TOP_FIELD_VALUE = b"kaspa-next\x00\xff"
TOP_FIELD = length_delimited(1000, TOP_FIELD_VALUE)
TOP_FIELD_JSON = {"field": 1000, "wire_type": 2, "len": len(TOP_FIELD_VALUE),
                  "hex": TOP_FIELD_VALUE.hex(), "truncated": False}


def format_address(addr):
    """The log's advertised_address for (ip bytes, port)."""
    if addr is None:
        return None
    ip = ipaddress.ip_address(addr[0])
    if ip.version == 6:
        return "[%s]:%d" % (ip, addr[1])
    return "%s:%d" % (ip, addr[1])


def probing_sensor(*extra, allow_private=True, **kw):
    """harness.Sensor with the probe on: the harness switches it off for
    every other test (they must never dial back)."""
    saved, harness.NO_PROBE = harness.NO_PROBE, []
    try:
        flags = ("--probe-allow-private",) if allow_private else ()
        return Sensor(*flags, *extra, **kw)
    finally:
        harness.NO_PROBE = saved


class Outcome:
    """What one peer saw: the transport, the handshake result, whether the
    sensor ended the call, the client port, and any exception."""

    def __init__(self):
        self.transport = None
        self.result = None
        self.ended = False
        self.port = None
        self.error = None
        self.eof = None


def run_h2_peer(sensor, opts, bind="127.0.0.1", handshake=Handshake,
                **transport_kw):
    """Full handshake with Peer A; transport_kw go to H2Transport."""
    out = Outcome()
    t = H2Transport(sensor.host, sensor.port, gzip=opts.gzip, bind=bind,
                    timeout=opts.timeout, **transport_kw)
    out.transport, out.port = t, t.local_port
    hs = handshake(t, opts)
    try:
        out.result = hs.run()
        out.ended = hs.wait_end()
        out.eof = t.drain_to_eof(2.0)
    except Exception as e:  # reported by the test
        out.error = e
        out.result = hs.r
    finally:
        t.close()
    return out


def run_grpc_peer(sensor, opts, handshake=Handshake):
    out = Outcome()
    before = client_ports(sensor.port)
    t = GrpcTransport("127.0.0.1", sensor.port, gzip=opts.gzip)
    out.transport = t
    hs = handshake(t, opts)
    try:
        out.result = hs.run()
        ports = client_ports(sensor.port) - before
        out.port = ports.pop() if len(ports) == 1 else None
        out.ended = hs.wait_end()
    except Exception as e:
        out.error = e
        out.result = hs.r
    finally:
        t.close()
    return out


class InteropCase(unittest.TestCase):
    maxDiff = None

    def assert_handshake_ok(self, out):
        if out.error is not None:
            self.fail("handshake failed: %r; received %s; sensor stderr:\n%s"
                      % (out.error, out.result.received if out.result else None,
                         self.sensor.stderr_text()))

    def assert_record_common(self, rec, sensor):
        # Every key of the spec; keys added later (first_bytes,
        # classification...) are allowed.
        self.assertEqual(RECORD_KEYS - set(rec), set(), "NDJSON keys missing")
        if "first_bytes" in rec:   # of a client that is not HTTP/2
            self.assertEqual(rec["stage_reached"], "tcp")
            self.assertRegex(rec["first_bytes"], r"^([0-9a-f]{2})+$")
        self.assertRegex(rec["ts"], TS_RE)
        ts = time.strptime(rec["ts"][:19], "%Y-%m-%dT%H:%M:%S")
        self.assertLess(abs(time.mktime(ts) - time.timezone - time.time()), 120,
                        "ts is accept time, UTC")
        self.assertRegex(rec["event_id"], EVENT_RE)
        self.assertEqual(rec["sensor_id"], sensor.sensor_id)
        self.assertEqual(rec["direction"], "inbound")
        self.assertEqual(rec["local_port"], sensor.port)
        self.assertIsInstance(rec["bytes_in"], int)
        self.assertIsInstance(rec["bytes_out"], int)
        self.assertIsInstance(rec["duration_ms"], (int, float))
        self.assertGreaterEqual(rec["duration_ms"], 0)

    def record(self, port, timeout=6.0):
        self.assertIsNotNone(port, "client port unknown")
        rec = self.sensor.record_for_port(port, timeout)
        self.assertIsNotNone(rec, "no NDJSON record for port %d within %.1fs; "
                             "stderr:\n%s" % (port, timeout,
                                              self.sensor.stderr_text()))
        return rec


class SensorCase(InteropCase):
    """One sensor for the whole class, which must exit 0 on SIGTERM."""

    @classmethod
    def setUpClass(cls):
        cls.sensor = Sensor()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sensor.stop()
        if rc != 0:
            raise AssertionError("sensor exit code on SIGTERM: %r" % rc)


def raw_connect(port, bind="127.0.0.1", timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(bind, 0))
    s.settimeout(timeout)
    return s


def read_until_closed(sock, timeout):
    """Read until EOF or reset; returns (closed, seconds, bytes read)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, time.monotonic() - t0, got
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False, time.monotonic() - t0, got
        except OSError:
            return True, time.monotonic() - t0, got
        if not data:
            return True, time.monotonic() - t0, got
        got += data
