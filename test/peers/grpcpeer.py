"""Peer B: a grpc-core (grpcio) client doing the Kaspa handshake.

grpc-core does not Huffman-code its headers and sends small messages
uncompressed even with gzip on, so it covers the other half of what real
peers put on the wire (the Go node is grpc-go, close to this)."""

import queue
import threading

import grpc

from . import kaspa_proto as kp
from .handshake import Closed, PeerError

_END = object()


class GrpcTransport:
    def __init__(self, host, port, gzip=True, timeout=30.0):
        self.channel = grpc.insecure_channel(
            "%s:%d" % (host, port),
            # One TCP connection per peer, as nodes do: no subchannel
            # shared between channels to the same target.
            options=[("grpc.use_local_subchannel_pool", 1),
                     ("grpc.enable_http_proxy", 0),
                     ("grpc.enable_retries", 0),
                     ("grpc.primary_user_agent", "kaspa-itest")])
        self.out = queue.Queue()
        self.inbox = queue.Queue()
        self.status = None
        call = self.channel.stream_stream(
            kp.METHOD,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=kp.KaspadMessage.FromString)
        self.call = call(self._requests(), timeout=timeout,
                         compression=grpc.Compression.Gzip if gzip
                         else grpc.Compression.NoCompression)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _requests(self):
        while True:
            m = self.out.get()
            if m is _END:
                return
            yield m

    def _read(self):
        try:
            for m in self.call:
                self.inbox.put(m)
            self.status = (self.call.code(), self.call.details())
        except grpc.RpcError as e:
            self.status = (e.code(), e.details())
        self.inbox.put(_END)

    def send(self, msg):
        self.out.put(msg)

    def recv(self, timeout):
        try:
            m = self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise PeerError("timeout") from None
        if m is _END:
            self.inbox.put(_END)
            raise Closed("call ended: %s" % (self.status,))
        return m

    def close(self):
        self.out.put(_END)
        self.call.cancel()
        self.channel.close()
        self.reader.join(5)
