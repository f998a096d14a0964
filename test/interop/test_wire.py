"""Legal wire variations real stacks produce: CONTINUATION frames, tiny
DATA frames, one byte per TCP segment, several messages per DATA frame,
unknown payloads, long or odd user agents, IPv6."""

import os
import unittest

from common import (H2Transport, InteropCase, PeerOptions, Sensor,
                    SensorCase, kp, run_h2_peer)
from peers.handshake import Closed, Handshake

# KaspadMessage with a payload we do not model: field 30 (a block relay
# message in the reference proto), an empty sub-message.
UNKNOWN_PAYLOAD = b"\xf2\x01\x00"


class Wire(SensorCase):
    def ok_record(self, out):
        self.assert_handshake_ok(out)
        self.assertTrue(out.ended)
        rec = self.record(out.port)
        self.assert_record_common(rec, self.sensor)
        self.assertEqual((rec["outcome"], rec["stage_reached"]), ("ok", "ready"))
        return rec

    def test_headers_in_continuation_frames(self):
        self.ok_record(run_h2_peer(self.sensor, PeerOptions(),
                                   split_headers=True))

    def test_hpack_small_table_evictions_and_references(self):
        # A 256-byte table evicts while the block is decoded; repeated
        # headers are encoded as references to dynamic-table entries.
        extra = [("x-kaspa-note", "n" * 40)] * 3 + [("x-other", "o" * 30)] * 2
        self.ok_record(run_h2_peer(self.sensor, PeerOptions(),
                                   extra_headers=extra, hpack_table_size=256))

    def test_one_byte_data_frames(self):
        for gzip in (True, False):
            with self.subTest(gzip=gzip):
                rec = self.ok_record(run_h2_peer(
                    self.sensor, PeerOptions(gzip=gzip), data_chunk=1))
                self.assertEqual(rec["compressed"], gzip)

    def test_one_byte_per_tcp_segment(self):
        for order in ("concurrent", "wait"):
            with self.subTest(order=order):
                self.ok_record(run_h2_peer(
                    self.sensor, PeerOptions(order=order, timeout=8),
                    trickle=True, split_headers=True))

    def test_several_messages_in_one_data_frame(self):
        t = H2Transport("127.0.0.1", self.sensor.port, gzip=True)
        try:
            t.send(kp.make_version())
            hs = Handshake(t, PeerOptions())
            hs.expect("version")
            hs.expect("verack")
            req = kp.simple("requestAddresses")
            req.request_id = 77
            ping = kp.simple("ping", nonce=2**64 - 1)
            t.send_many([kp.simple("verack"), kp.simple("ready"), req, ping])
            hs.expect("ready")
            self.assertEqual(hs.expect("addresses").response_id, 77)
            self.assertEqual(hs.expect("pong").pong.nonce, 2**64 - 1)
            self.assertTrue(hs.wait_end())
        finally:
            t.close()
        rec = self.record(t.local_port)
        self.assertEqual(rec["outcome"], "ok")

    def test_unknown_payloads_are_skipped(self):
        t = H2Transport("127.0.0.1", self.sensor.port, gzip=True)
        try:
            t.send(kp.make_version())
            t.send_raw_message(kp.frame(UNKNOWN_PAYLOAD, True))
            hs = Handshake(t, PeerOptions())
            hs.expect("version")
            t.send(kp.simple("verack"))
            hs.expect("verack")
            t.send(kp.simple("ready"))
            hs.expect("ready")
            t.send_raw_message(kp.frame(UNKNOWN_PAYLOAD, False))
            req = kp.simple("requestAddresses")
            req.request_id = 5
            t.send(req)
            self.assertEqual(hs.expect("addresses").response_id, 5)
            self.assertTrue(hs.wait_end())
        finally:
            t.close()
        self.assertEqual(self.record(t.local_port)["outcome"], "ok")

    def test_long_user_agent_truncated_at_256(self):
        ua = "/kaspad:1.0.1(" + "x" * 1000 + ")/"
        rec = self.ok_record(run_h2_peer(self.sensor,
                                         PeerOptions(user_agent=ua)))
        self.assertEqual(rec["user_agent"], ua[:256])

    def test_user_agent_needing_json_escapes(self):
        ua = '/kaspad:1.0.1("q" \\ \n\t\x01 \u00e9 \u2603 \U0001F600)/'
        rec = self.ok_record(run_h2_peer(self.sensor,
                                         PeerOptions(user_agent=ua)))
        self.assertEqual(rec["user_agent"], ua)

    def test_user_agent_invalid_utf8_still_valid_json(self):
        marker = "/kaspad:ZZZZ/"
        msg = kp.make_version(user_agent=marker).SerializeToString()
        msg = msg.replace(b"ZZZZ", b"\xff\xc3(\x80")
        t = H2Transport("127.0.0.1", self.sensor.port, gzip=False)
        try:
            t.send_raw_message(kp.frame(msg, False))
            t.recv(3)
        finally:
            t.close()
        rec = self.record(t.local_port)   # records() parses strictly
        self.assertTrue(rec["user_agent"] is None
                        or rec["user_agent"].startswith("/kaspad:"))

    def test_gzip_flag_without_grpc_encoding(self):
        t = H2Transport("127.0.0.1", self.sensor.port, gzip=False)
        try:
            t.send_raw_message(kp.frame(kp.make_version().SerializeToString(),
                                        True))
            try:
                while True:
                    t.recv(3)
            except Closed:
                pass
        finally:
            t.close()
        rec = self.record(t.local_port)
        self.assertEqual(rec["outcome"], "bad_encoding")
        self.assertEqual(rec["stage_reached"], "call")


class Ipv6(InteropCase):
    def test_ipv6_loopback(self):
        self.sensor = Sensor(host="::1")
        try:
            out = run_h2_peer(self.sensor, PeerOptions(), bind=None)
            self.assert_handshake_ok(out)
            rec = self.record(out.port)
            self.assertEqual(rec["peer_ip"], "::1")
            self.assertEqual(rec["outcome"], "ok")
        finally:
            self.assertEqual(self.sensor.stop(), 0)


if __name__ == "__main__":
    unittest.main()
