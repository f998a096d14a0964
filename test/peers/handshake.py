"""The Kaspa handshake as the reference node's dialer runs it, over any
transport with send(msg) / recv(timeout) / close().

Reference behaviour (PROTOCOL.md): both sides send Version at once; on the
peer's Version send Verack; after both Veracks send Ready and wait for the
other's Ready; then flows start: RequestAddresses (request_id set) must be
answered by Addresses with the same response_id, Ping by Pong{same nonce}.
"""

import os
import random
import time
from dataclasses import dataclass, field
from typing import List, Optional

from . import kaspa_proto as kp


class PeerError(Exception):
    """The remote side did something the handshake does not allow."""


class Closed(PeerError):
    """The call or the connection ended while we waited for a message."""


@dataclass
class PeerOptions:
    protocol_version: int = 7
    gzip: bool = True
    order: str = "concurrent"        # "concurrent" (Version first) or "wait"
    network: str = "kaspa-mainnet"
    user_agent: str = "/kaspad:1.0.1/"
    services: int = 1
    address: Optional[tuple] = None  # (ip bytes, port) advertised in Version
    peer_id: bytes = field(default_factory=lambda: os.urandom(16))
    timestamp_ms: Optional[int] = None
    disable_relay_tx: bool = False
    request_addresses: bool = True
    ping: bool = True
    extra_fields: bytes = b""        # raw top-level fields sent after
                                     # every message (kp.with_fields)
    timeout: float = 5.0             # per awaited message
    end_timeout: float = 3.0         # waiting for the server to end the call


@dataclass
class PeerResult:
    sensor_version: Optional[object] = None   # VersionMessage
    received: List[str] = field(default_factory=list)  # payload kinds, in order
    addresses: Optional[object] = None        # KaspadMessage with addresses
    pong: Optional[object] = None             # KaspadMessage with pong
    ping_nonce: int = 0
    reject_reason: Optional[str] = None
    ended: bool = False                       # the server ended the call
    t_ready: Optional[float] = None


class Handshake:
    def __init__(self, transport, opts: PeerOptions):
        self.t = transport
        self.o = opts
        self.r = PeerResult()
        self.pending = []

    def _next(self, timeout):
        m = self.t.recv(timeout)
        self.r.received.append(kp.kind(m))
        if kp.kind(m) == "reject":
            self.r.reject_reason = m.reject.reason
        return m

    def expect(self, name, timeout=None):
        """Next message of type `name`; earlier messages of other types
        are kept (in order) for later expects.  A Reject ends the wait."""
        for i, m in enumerate(self.pending):
            if kp.kind(m) == name:
                return self.pending.pop(i)
        deadline = time.monotonic() + (timeout or self.o.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerError("timed out waiting for %s (got %s)"
                                % (name, self.r.received))
            m = self._next(left)
            if kp.kind(m) == name:
                return m
            if kp.kind(m) == "reject":
                raise PeerError("rejected: %r" % m.reject.reason)
            self.pending.append(m)

    def send(self, msg):
        self.t.send(kp.with_fields(msg, self.o.extra_fields))

    def version(self):
        o = self.o
        return kp.make_version(o.protocol_version, o.peer_id, o.user_agent,
                               o.network, o.services, o.timestamp_ms,
                               o.address, o.disable_relay_tx)

    def run(self):
        """The full dialer handshake and one round of each flow."""
        if self.o.order == "concurrent":
            self.send(self.version())
        self.r.sensor_version = self.expect("version").version
        if self.o.order == "wait":
            self.send(self.version())
        self.send(kp.simple("verack"))
        self.expect("verack")
        self.send(kp.simple("ready"))
        self.expect("ready")
        self.r.t_ready = time.monotonic()
        if self.o.request_addresses:
            req = kp.simple("requestAddresses")
            req.request_id = random.randint(1, 2**32 - 1)
            self.send(req)
            self.r.addresses = self.expect("addresses")
            if self.r.addresses.response_id != req.request_id:
                raise PeerError("Addresses response_id %d != request_id %d"
                                % (self.r.addresses.response_id, req.request_id))
        if self.o.ping:
            self.r.ping_nonce = random.randint(1, 2**64 - 1)
            p = kp.simple("ping", nonce=self.r.ping_nonce)
            p.request_id = random.randint(1, 2**32 - 1)
            self.send(p)
            self.r.pong = self.expect("pong")
            if self.r.pong.pong.nonce != self.r.ping_nonce:
                raise PeerError("Pong nonce %d != %d"
                                % (self.r.pong.pong.nonce, self.r.ping_nonce))
            if self.r.pong.response_id != p.request_id:
                raise PeerError("Pong response_id %d != %d"
                                % (self.r.pong.response_id, p.request_id))
        return self.r

    def wait_end(self):
        """Read until the server ends the call (it lingers, then sends
        trailers); messages that arrive meanwhile are recorded."""
        deadline = time.monotonic() + self.o.end_timeout
        while time.monotonic() < deadline:
            try:
                self._next(deadline - time.monotonic())
            except Closed:
                self.r.ended = True
                return True
            except PeerError:
                return False
        return False
