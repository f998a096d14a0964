"""A reference listener on grpcio, behaving as the sensor spec says (echo
the dialer's protocolVersion, or send our own after a wait; Verack; Ready;
answer RequestAddresses and Ping; linger; end the call).  It validates the
test peers against a real gRPC stack independently of the sensor."""

import os
import queue
import threading
import time
from concurrent import futures

import grpc

from . import kaspa_proto as kp


class RefServer:
    def __init__(self, network="kaspa-mainnet", protocol_version=7,
                 version_wait=0.2, linger=0.3, user_agent="/ref:0.1/",
                 host="127.0.0.1", gzip=True, port=0, extra_fields=b""):
        """gzip: compress replies, as real nodes do, when the dialer sent
        grpc-accept-encoding: gzip (grpc-core sends identity otherwise).
        extra_fields: raw top-level fields sent after every reply, as a
        newer or forked protocol adds them."""
        self.network = network
        self.protocol_version = protocol_version
        self.version_wait = version_wait
        self.linger = linger
        self.user_agent = user_agent
        self.extra_fields = extra_fields
        self.id = os.urandom(16)
        self.outcomes = []
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=16),
            compression=grpc.Compression.Gzip if gzip else None)
        handler = grpc.method_handlers_generic_handler("protowire.P2P", {
            "MessageStream": grpc.stream_stream_rpc_method_handler(
                self._stream,
                request_deserializer=kp.KaspadMessage.FromString,
                response_serializer=lambda m: (
                    m.SerializeToString() + self.extra_fields))})
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("%s:%d" % (host, port))
        self.server.start()

    def stop(self):
        self.server.stop(0)

    def _version(self, pv):
        return kp.make_version(pv, self.id, self.user_agent, self.network, 0)

    def _stream(self, requests, context):
        inbox = queue.Queue()

        def read():
            try:
                for m in requests:
                    inbox.put(m)
            except Exception:  # cancelled call
                pass
            inbox.put(None)
        threading.Thread(target=read, daemon=True).start()

        def get(deadline):
            try:
                return inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return "timeout"

        first = get(time.monotonic() + self.version_wait)
        if first in (None,):
            return
        held = []
        if first != "timeout" and kp.kind(first) == "version":
            yield self._version(first.version.protocolVersion)
            held.append(first)
        else:
            yield self._version(self.protocol_version)
            if first != "timeout":
                held.append(first)
        got_verack = sent_verack = got_ready = sent_ready = False
        deadline = time.monotonic() + 8
        while True:
            m = held.pop(0) if held else get(deadline)
            if m == "timeout" and got_ready:
                self.outcomes.append("ok")
                return  # linger over: grpcio sends the trailers
            if m is None or m == "timeout":
                self.outcomes.append("closed" if m is None else "timeout")
                return
            k = kp.kind(m)
            if k == "version":
                if m.version.network != self.network:
                    yield kp.simple("reject", reason="wrong network")
                    self.outcomes.append("wrong_network")
                    return
                yield kp.simple("verack")
                sent_verack = True
            elif k == "verack":
                got_verack = True
            elif k == "ready":
                got_ready = True
                deadline = time.monotonic() + self.linger
            elif k == "reject":
                self.outcomes.append("peer_reject")
                return
            elif k == "requestAddresses":
                r = kp.simple("addresses")
                r.response_id = m.request_id
                yield r
            elif k == "ping":
                r = kp.simple("pong", nonce=m.ping.nonce)
                r.response_id = m.request_id
                yield r
            if got_verack and sent_verack and not sent_ready:
                sent_ready = True
                yield kp.simple("ready")
