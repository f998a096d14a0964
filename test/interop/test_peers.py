"""The test peers themselves, against a grpcio listener (no sensor): a
failure here is a bug in the peers, not in the sensor."""

import unittest

from common import GrpcTransport, H2Transport, PeerOptions
from peers.handshake import Handshake
from peers.ref_server import RefServer


class PeersAgainstGrpcio(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RefServer(protocol_version=7)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def check(self, peer, gzip, order):
        opts = PeerOptions(protocol_version=9, gzip=gzip, order=order)
        if peer == "h2":
            t = H2Transport("127.0.0.1", self.server.port, gzip=gzip)
        else:
            t = GrpcTransport("127.0.0.1", self.server.port, gzip=gzip)
        hs = Handshake(t, opts)
        try:
            r = hs.run()
            self.assertTrue(hs.wait_end(), "server ended the call")
        finally:
            t.close()
        self.assertEqual(r.received[:5],
                         ["version", "verack", "ready", "addresses", "pong"])
        self.assertEqual(r.sensor_version.protocolVersion,
                         9 if order == "concurrent" else 7)
        if peer == "h2":
            self.assertEqual(t.trailers.get("grpc-status"), "0")


for _peer in ("h2", "grpc"):
    for _gzip in (True, False):
        for _order in ("concurrent", "wait"):
            setattr(PeersAgainstGrpcio, "test_%s_%s_%s" % (
                _peer, "gzip" if _gzip else "plain", _order),
                lambda self, a=(_peer, _gzip, _order): self.check(*a))

if __name__ == "__main__":
    unittest.main()
