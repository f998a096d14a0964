"""The longest line an inbound connection can produce is written whole.

Every member of the line is pushed to its cap through the real path: the
operator's sensor id and network made of control bytes (each becomes a
6-byte \\u00XX escape), a peer whose HTTP user-agent header, Version user
agent and Reject reason are full of them, an IPv6 advertised address
with a port over 65535 (logged as sent), the widest numbers, and all
three unknown-field lists filled past their share with the widest
objects.  The probe dials the peer's source port back (nothing listens:
refused; the non-Kaspa network has no default port to dial).  The line
must come out whole, as valid JSON; it is longer than the 8 KiB line
buffer the sensor once had, which dropped it."""

import json
import os
import re
import sys
import unittest

from common import (H2Transport, InteropCase, PeerOptions, kp,
                    probing_sensor)
from peers.handshake import Handshake
from peers.wire import length_delimited, tag, varint

# Control bytes without a short escape (\b \t \n \f \r): 6 bytes each.
WIDE = "".join(chr(c) for c in range(1, 32) if chr(c) not in "\b\t\n\f\r")
U64_MAX = 2**64 - 1
FIELD_MAX = 2**29 - 1
UNKNOWN_KEPT = 8                 # KASPA_UNKNOWN_MAX
UNKNOWN_SENT = 10
SRC = "127.255.255.254"          # the longest loopback IPv4 text
ADVERTISED_IP = b"\xff" * 16     # ffff:ffff:...: the longest IPv6 text
ADVERTISED_PORT = 2**32 - 1
OLD_LINE_MAX = 8192


def wide(n):
    return (WIDE * (n // len(WIDE) + 1))[:n]


def widest_unknowns():
    """Unknown fields whose JSON objects are the widest: bytes kept whole
    (32 bytes, "truncated":false) first, then varints of 20 digits; more
    than the line's share holds and than kaspa_pb keeps."""
    out = b""
    for i in range(UNKNOWN_SENT):
        number = FIELD_MAX - i
        if i < UNKNOWN_SENT // 2:
            out += length_delimited(number, bytes([0xa0 + i]) * 32)
        else:
            out += tag(number, 0) + varint(U64_MAX)
    return out


def widest_version(network):
    """A KaspadMessage with a Version whose every logged field is at its
    widest, unknown fields in it, its address and the message itself."""
    address = (tag(1, 0) + varint(U64_MAX) +
               length_delimited(3, ADVERTISED_IP) +
               tag(4, 0) + varint(ADVERTISED_PORT) + widest_unknowns())
    version = (tag(1, 0) + varint(2**32 - 1) +          # protocolVersion
               tag(2, 0) + varint(U64_MAX) +            # services
               tag(3, 0) + varint(2**64 - 2**63) +      # timestamp INT64_MIN
               length_delimited(4, address) +
               length_delimited(5, os.urandom(16)) +    # id
               length_delimited(6, wide(300).encode()) +  # userAgent, cut
               length_delimited(10, network.encode()) +
               widest_unknowns())
    return length_delimited(20, version) + widest_unknowns()


def line_of(sensor, port):
    """The raw log line of the connection from port, or None."""
    with open(sensor.log, "rb") as f:
        for line in f.read().split(b"\n")[:-1]:
            if json.loads(line)["peer_port"] == port:
                return line
    return None


def json_line_max():
    with open(os.path.join(kp.REPO, "codec", "json_write.h")) as f:
        return int(re.search(r"#define JSON_LINE_MAX (\d+)", f.read())[1])


class LongestLine(InteropCase):
    def test_longest_inbound_line_is_written(self):
        network = wide(64)                       # KASPA_NETWORK_MAX
        self.sensor = probing_sensor(sensor_id=wide(255), network=network)
        self.addCleanup(self.sensor.stop)
        opts = PeerOptions(network=network, gzip=False)
        t = H2Transport(self.sensor.host, self.sensor.port, gzip=False,
                        bind=SRC, http_user_agent=wide(200))
        try:
            hs = Handshake(t, opts)
            t.send(kp.RawMessage(widest_version(network)))
            hs.expect("version")
            hs.expect("verack")
            reject = kp.KaspadMessage()
            reject.reject.reason = wide(256)     # KASPA_REASON_MAX
            t.send(reject)
            self.assertTrue(hs.wait_end(), "the sensor ends the call")
        finally:
            t.close()

        rec = self.record(t.local_port)
        line = line_of(self.sensor, t.local_port)
        print("\nlongest inbound line: %d bytes (JSON_LINE_MAX %d)"
              % (len(line) + 1, json_line_max()), file=sys.stderr)
        self.assertGreater(len(line) + 1, OLD_LINE_MAX)
        self.assertLess(len(line) + 1, json_line_max())
        line.decode("utf-8")                     # strict: valid UTF-8
        self.assertEqual(rec["sensor_id"], wide(255))
        self.assertEqual(rec["network"], network)
        self.assertEqual(rec["user_agent"], wide(256))
        self.assertEqual(rec["http_user_agent"], wide(127))
        self.assertEqual(rec["reject_reason"], wide(256))
        self.assertEqual(rec["outcome"], "peer_reject")
        self.assertEqual(rec["advertised_address"],
                         "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:%d"
                         % ADVERTISED_PORT)
        self.assertEqual(rec["protocol_version"], 2**32 - 1)
        self.assertEqual(rec["services"], U64_MAX)
        self.assertEqual(rec["peer_timestamp_ms"], -2**63)
        for key in ("unknown_fields", "advertised_unknown_fields",
                    "message_unknown_fields"):
            kept = rec[key]
            self.assertGreater(len(kept), 0, key)
            self.assertEqual(kept[0], {"field": FIELD_MAX, "wire_type": 2,
                                       "len": 32, "hex": "a0" * 32,
                                       "truncated": False}, key)
            self.assertEqual(len(kept) + rec[key + "_dropped"],
                             UNKNOWN_SENT, key)
        self.assertEqual((rec["classification"],
                          rec["classification_reason"]),
                         ("private", "all_refused"))
        self.assertEqual(
            [(a["target"], a["kind"], a["connect"])
             for a in rec["probe_attempts"]],
            [("%s:%d" % (SRC, t.local_port), "source_port", "refused")])


if __name__ == "__main__":
    unittest.main()
