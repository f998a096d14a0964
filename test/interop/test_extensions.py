"""Protocol extensions: a peer built like a relay / hole-punching fork of
the reference node (test/proto/kaspa_ext.proto: extra NetAddress fields 2
and 5-8, extra Version fields 11 and up) handshakes normally, and the
NDJSON line records every field the sensor does not know, bounded.  So
does a peer that sends a top-level field no KaspadMessage has beside
every payload, as the protocol grows (request_id came that way)."""

import os
import unittest

from common import (TOP_FIELD, TOP_FIELD_JSON, Handshake, PeerOptions,
                    SensorCase, kp, run_grpc_peer, run_h2_peer)
from peers.wire import length_delimited, tag, varint

ext = kp.generate(os.path.join(kp.REPO, "test", "proto"), "kaspa_ext")

RELAY_PEER_ID = bytes(range(38))        # longer than the 32 bytes kept
RELAY_PROTO = "/libp2p/circuit/relay/0.2.0/hop"


def relay_version(opts):
    """The peer's Version as the fork sends it, with every extra field."""
    m = ext.KaspadMessage()
    v = m.version
    v.protocolVersion = opts.protocol_version
    v.services = opts.services
    v.timestamp = 1767225600123
    v.id = opts.peer_id
    v.userAgent = opts.user_agent
    v.network = opts.network
    a = v.address
    a.ip, a.port = bytes([1, 2, 3, 4]), 16111
    a.services = (1 << 63) | 5
    a.relay_port = 4001
    a.relay_peer_id = RELAY_PEER_ID
    a.relay_ipv4 = 0xC0000201
    a.relay_flags = 0xFEDCBA9876543210
    v.relay_services = 2**64 - 1
    v.peer_record = b"\x01\x02\x03"
    v.relay.protocol = RELAY_PROTO
    v.relay.max_circuits = 16
    v.punch_delay = -5
    v.clock_skew = -3
    v.last_field = 1
    return m


def hex_of(b):
    return b[:32].hex()


def expected_version_fields():
    relay = ext.RelayInfo(protocol=RELAY_PROTO,
                          max_circuits=16).SerializeToString()
    return [
        {"field": 11, "wire_type": 0, "value": 2**64 - 1},
        {"field": 12, "wire_type": 2, "len": 3, "hex": "010203",
         "truncated": False},
        {"field": 13, "wire_type": 2, "len": len(relay), "hex": hex_of(relay),
         "truncated": True},
        {"field": 14, "wire_type": 5, "value": 2**32 - 5},
        {"field": 15, "wire_type": 0, "value": 5},
        {"field": 536870911, "wire_type": 0, "value": 1},
    ]


EXPECTED_ADDRESS_FIELDS = [
    {"field": 2, "wire_type": 0, "value": (1 << 63) | 5},
    {"field": 5, "wire_type": 0, "value": 4001},
    {"field": 6, "wire_type": 2, "len": 38, "hex": hex_of(RELAY_PEER_ID),
     "truncated": True},
    {"field": 7, "wire_type": 5, "value": 0xC0000201},
    {"field": 8, "wire_type": 1, "value": 0xFEDCBA9876543210},
]


def fork_handshake(version_bytes):
    """The reference dialer's handshake, sending version_bytes(opts) as
    its Version."""
    class ForkHandshake(Handshake):
        def version(self):
            return kp.RawMessage(version_bytes(self.o))
    return ForkHandshake


def many_fields(opts):
    """40 unknown varints in the Version, 20 unknown fixed32 in its
    address: 8 of each are kept, the rest counted."""
    m = relay_version(opts)
    v = m.version
    for name in ("relay_services", "peer_record", "relay", "punch_delay",
                 "clock_skew", "last_field"):
        v.ClearField(name)
    v.address.Clear()
    v.address.ip, v.address.port = bytes([1, 2, 3, 4]), 16111
    addr = v.address.SerializeToString() + b"".join(
        tag(100 + i, 5) + i.to_bytes(4, "little") for i in range(20))
    v.ClearField("address")
    body = v.SerializeToString() + length_delimited(4, addr) + b"".join(
        tag(11 + i, 0) + varint(i) for i in range(40))
    return length_delimited(20, body)


def big_bytes_fields(opts):
    """8 unknown fields of 5000 bytes each: the hex is cut at 32 bytes and
    the line's share for them keeps only some, counting the others."""
    m = relay_version(opts)
    m.version.ClearField("last_field")
    body = m.version.SerializeToString() + b"".join(
        length_delimited(20 + i, bytes([i]) * 5000) for i in range(8))
    return length_delimited(20, body)


class Extensions(SensorCase):
    def handshake(self, version_bytes=None, peer="h2", protocol_version=9,
                  **kw):
        """The reference dialer's handshake and flows; version_bytes(opts)
        replaces its Version if given."""
        opts = PeerOptions(protocol_version=protocol_version,
                           services=(1 << 20) | 1, **kw)
        run = run_h2_peer if peer == "h2" else run_grpc_peer
        hs = fork_handshake(version_bytes) if version_bytes else Handshake
        out = run(self.sensor, opts, handshake=hs)
        self.assert_handshake_ok(out)
        self.assertEqual(out.result.received[:5],
                         ["version", "verack", "ready", "addresses", "pong"])
        rec = self.record(out.port)
        self.assert_record_common(rec, self.sensor)
        self.assertEqual(rec["outcome"], "ok")
        self.assertEqual(rec["stage_reached"], "ready")
        self.assertEqual(rec["peer_id"], opts.peer_id.hex())
        self.assertEqual(rec["protocol_version"], protocol_version)
        return rec

    def check_relay_fork(self, peer, gzip):
        rec = self.handshake(
            lambda o: relay_version(o).SerializeToString(), peer, gzip=gzip)
        self.assertEqual(rec["services"], (1 << 20) | 1)
        self.assertEqual(rec["advertised_address"], "1.2.3.4:16111")
        self.assertEqual(rec["unknown_fields"], expected_version_fields())
        self.assertEqual(rec["advertised_unknown_fields"],
                         EXPECTED_ADDRESS_FIELDS)
        self.assertEqual(rec["message_unknown_fields"], [])
        self.assertNotIn("unknown_fields_dropped", rec)
        self.assertNotIn("advertised_unknown_fields_dropped", rec)

    def test_relay_fork_h2_gzip(self):
        self.check_relay_fork("h2", True)

    def test_relay_fork_h2_plain(self):
        self.check_relay_fork("h2", False)

    def test_relay_fork_grpcio(self):
        self.check_relay_fork("grpc", True)

    def test_plain_peer_has_none(self):
        opts = PeerOptions(address=(bytes([1, 2, 3, 4]), 16111))
        rec = self.record(run_h2_peer(self.sensor, opts).port)
        self.assertEqual(rec["outcome"], "ok")
        self.assertEqual(rec["unknown_fields"], [])
        self.assertEqual(rec["advertised_unknown_fields"], [])
        rec = self.record(run_h2_peer(self.sensor, PeerOptions()).port)
        self.assertEqual(rec["unknown_fields"], [])
        self.assertIsNone(rec["advertised_unknown_fields"], "no address")
        self.assertEqual(rec["message_unknown_fields"], [])

    def test_many_fields_capped(self):
        rec = self.handshake(many_fields)
        self.assertEqual(rec["unknown_fields"],
                         [{"field": 11 + i, "wire_type": 0, "value": i}
                          for i in range(8)])
        self.assertEqual(rec["unknown_fields_dropped"], 32)
        self.assertEqual(rec["advertised_unknown_fields"],
                         [{"field": 100 + i, "wire_type": 5, "value": i}
                          for i in range(8)])
        self.assertEqual(rec["advertised_unknown_fields_dropped"], 12)

    def test_big_fields_bounded(self):
        rec = self.handshake(big_bytes_fields)
        fields = rec["unknown_fields"]
        self.assertEqual(fields[:5], expected_version_fields()[:5])
        big = fields[5:]
        self.assertGreater(len(big), 0)
        for i, f in enumerate(big):
            self.assertEqual(f, {"field": 20 + i, "wire_type": 2,
                                 "len": 5000, "hex": ("%02x" % i) * 32,
                                 "truncated": True})
        # 5 + 8 unknown fields: kaspa_pb keeps 8, and of those the line
        # keeps what fits its share; all the others are counted.
        self.assertEqual(len(fields) + rec["unknown_fields_dropped"], 13)

    def check_top_field(self, peer, gzip, order, pv):
        """Every message the peer sends carries TOP_FIELD after its
        payload: the handshake and both flows complete (handshake()
        checks), and the Version's line records the field."""
        rec = self.handshake(peer=peer, protocol_version=pv, gzip=gzip,
                             order=order, extra_fields=TOP_FIELD)
        self.assertEqual(rec["message_unknown_fields"], [TOP_FIELD_JSON])
        self.assertNotIn("message_unknown_fields_dropped", rec)
        self.assertEqual(rec["unknown_fields"], [])
        self.assertIsNone(rec["advertised_unknown_fields"])
        self.assertEqual(rec["version_order"],
                         "peer_first" if order == "concurrent"
                         else "sensor_first")
        if peer == "h2":
            self.assertEqual(rec["compressed"], gzip)

    def test_top_field_h2_gzip(self):
        """python-h2 gzips every message, small ones included."""
        self.check_top_field("h2", True, "concurrent", 10)

    def test_top_field_h2_gzip_wait(self):
        self.check_top_field("h2", True, "wait", 5)


def _add_top_field_matrix():
    """grpcio peers: gzip and plain, both Version orders, the oldest and
    newest protocol versions."""
    for gzip in (True, False):
        for order in ("concurrent", "wait"):
            for pv in (5, 10):
                name = "test_top_field_grpc_%s_%s_v%d" % (
                    "gzip" if gzip else "plain", order, pv)
                setattr(Extensions, name,
                        lambda self, a=(gzip, order, pv):
                        self.check_top_field("grpc", *a))


_add_top_field_matrix()


if __name__ == "__main__":
    unittest.main()
