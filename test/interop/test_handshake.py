"""Every peer x gzip on/off x both Version orders x protocolVersion 5..10
completes Version -> Verack -> Ready with the sensor, gets Addresses and a
Pong, and is logged with the right values."""

import time
import unittest

from common import (PeerOptions, SensorCase, format_address,
                    run_grpc_peer, run_h2_peer)

PEERS = ("h2", "grpc")
VERSIONS = range(5, 11)
ADDRESSES = ((bytes([1, 2, 3, 4]), 16111),
             (bytes.fromhex("20010db8000000000000000000000001"), 16111),
             None)
USER_AGENTS = ("/kaspad:1.0.1/", "/kaspad:1.0.1(itest)/")


class Handshake(SensorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sensor_ids = set()

    def check(self, peer, gzip, order, pv, i):
        opts = PeerOptions(
            protocol_version=pv, gzip=gzip, order=order,
            user_agent=USER_AGENTS[i % 2], address=ADDRESSES[i % 3],
            services=(1 << 40) + i if i % 2 else i,
            timestamp_ms=int(time.time() * 1000) - i,
            disable_relay_tx=bool(i % 4 == 1))
        bind = "127.0.0.%d" % (2 + i % 5)
        if peer == "h2":
            out = run_h2_peer(self.sensor, opts, bind=bind)
        else:
            bind = "127.0.0.1"
            out = run_grpc_peer(self.sensor, opts)
        self.assert_handshake_ok(out)
        r = out.result
        self.assertEqual(r.received[:5],
                         ["version", "verack", "ready", "addresses", "pong"])
        self.assertEqual(len(r.addresses.addresses.addressList), 0)
        self.assertTrue(out.ended, "the sensor ends the call after linger")

        sv = r.sensor_version
        want_pv = pv if order == "concurrent" else self.sensor.protocol_version
        self.assertEqual(sv.protocolVersion, want_pv)
        self.assertEqual(len(sv.id), 16)
        self.sensor_ids.add(sv.id)
        self.assertEqual(len(self.sensor_ids), 1, "one id per process")
        self.assertEqual(sv.network, self.sensor.network)
        self.assertEqual(sv.userAgent, self.sensor.user_agent)
        self.assertEqual(sv.services, 0)
        self.assertFalse(sv.HasField("address"))
        self.assertLess(abs(sv.timestamp - time.time() * 1000), 60000,
                        "Version timestamp is Unix ms")

        if peer == "h2":
            t = out.transport
            self.assertEqual(t.response_headers.get(":status"), "200")
            self.assertTrue(t.response_headers.get("content-type", "")
                            .startswith("application/grpc"))
            self.assertEqual((t.trailers or {}).get("grpc-status"), "0",
                             "trailers grpc-status 0")
            self.assertTrue(out.eof, "TCP closed after the call ended")

        # By address and port: the matrix binds several 127.0.0.x, and two
        # of them may get the same ephemeral port.
        rec = self.sensor.wait_record(
            lambda r: (r.get("peer_ip"), r.get("peer_port")) == (bind, out.port))
        self.assertIsNotNone(rec, "no NDJSON record for %s:%s" % (bind, out.port))
        self.assert_record_common(rec, self.sensor)
        want = {
            "peer_ip": bind, "peer_port": out.port,
            "protocol_version": pv, "user_agent": opts.user_agent,
            "network": opts.network, "peer_id": opts.peer_id.hex(),
            "advertised_address": format_address(opts.address),
            "services": opts.services,
            "disable_relay_tx": opts.disable_relay_tx,
            "peer_timestamp_ms": opts.timestamp_ms,
            "our_protocol_version": want_pv,
            "version_order": ("peer_first" if order == "concurrent"
                              else "sensor_first"),
            "stage_reached": "ready", "outcome": "ok", "reject_reason": None,
        }
        self.assertEqual({k: rec[k] for k in want}, want)
        if peer == "h2":
            self.assertEqual(rec["http_user_agent"], "tonic/0.12.3")
            self.assertEqual(rec["compressed"], gzip)
            self.assertEqual(rec["bytes_out"], t.bytes_received)
            self.assertLessEqual(rec["bytes_in"], t.bytes_sent)
            self.assertGreater(rec["bytes_in"], 200)
        else:
            self.assertIn("kaspa-itest", rec["http_user_agent"] or "")
            if not gzip:
                self.assertFalse(rec["compressed"])
            self.assertGreater(rec["bytes_in"], 100)
            self.assertGreater(rec["bytes_out"], 100)
        self.assertIsInstance(rec["handshake_ms"], (int, float))
        self.assertGreater(rec["handshake_ms"], 0)
        self.assertLessEqual(rec["handshake_ms"], rec["duration_ms"])
        self.assertGreaterEqual(rec["duration_ms"],
                                self.sensor.timing["linger_ms"] * 0.9)

    def test_advertised_port_out_of_range(self):
        # NetAddress.port is a uint32: log what came, not its low 16 bits.
        opts = PeerOptions(address=(bytes([1, 2, 3, 4]), 70000))
        out = run_h2_peer(self.sensor, opts, bind="127.0.0.8")
        self.assert_handshake_ok(out)
        rec = self.record(out.port)
        self.assertEqual(rec["advertised_address"], "1.2.3.4:70000")


def _add_matrix():
    i = 0
    for peer in PEERS:
        for gzip in (True, False):
            for order in ("concurrent", "wait"):
                for pv in VERSIONS:
                    name = "test_%s_%s_%s_v%d" % (
                        peer, "gzip" if gzip else "plain", order, pv)
                    setattr(Handshake, name,
                            lambda self, a=(peer, gzip, order, pv, i):
                            self.check(*a))
                    i += 1


_add_matrix()

if __name__ == "__main__":
    unittest.main()
