"""Protobuf classes for proto/kaspa.proto, generated with protoc at import
time into a temporary folder (nothing generated is committed), plus the
gRPC length-prefixed framing both peers share."""

import atexit
import gzip
import importlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO_DIR = os.path.join(REPO, "proto")
METHOD = "/protowire.P2P/MessageStream"
PAYLOAD_FIELDS = ("addresses", "requestAddresses", "ping", "pong", "verack",
                  "version", "reject", "ready")


def generate(proto_dir, name):
    """The module protoc generates from proto_dir/name.proto."""
    out = tempfile.mkdtemp(prefix=name + "_pb2_")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(["protoc", "--python_out=" + out, "-I", proto_dir,
                    os.path.join(proto_dir, name + ".proto")],
                   check=True, timeout=30)
    sys.path.insert(0, out)
    try:
        return importlib.import_module(name + "_pb2")
    finally:
        sys.path.remove(out)


pb = generate(PROTO_DIR, "kaspa")
KaspadMessage = pb.KaspadMessage


def kind(msg):
    """Payload name of a KaspadMessage ('version', 'verack', ...) or None."""
    return msg.WhichOneof("payload")


def make_version(protocol_version=7, peer_id=None, user_agent="/kaspad:1.0.1/",
                 network="kaspa-mainnet", services=1, timestamp_ms=None,
                 address=None, disable_relay_tx=False):
    """A KaspadMessage carrying a Version; address is (ip_bytes, port)."""
    import time
    m = KaspadMessage()
    v = m.version
    v.protocolVersion = protocol_version
    v.services = services
    v.timestamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    v.id = os.urandom(16) if peer_id is None else peer_id
    v.userAgent = user_agent
    v.network = network
    v.disableRelayTx = disable_relay_tx
    if address is not None:
        v.address.ip, v.address.port = address
    return m


def simple(name, **fields):
    """A KaspadMessage with an empty-ish payload: simple('verack'),
    simple('ping', nonce=5), simple('reject', reason='x')."""
    m = KaspadMessage()
    sub = getattr(m, name)
    sub.SetInParent()
    for k, val in fields.items():
        setattr(sub, k, val)
    return m


class RawMessage:
    """Bytes both transports and RefServer send exactly as they are (they
    only call SerializeToString)."""

    def __init__(self, raw):
        self.raw = raw

    def SerializeToString(self):
        return self.raw


def with_fields(msg, fields):
    """msg followed by fields: top-level fields encoded by hand, which our
    proto lacks (a newer or forked protocol's)."""
    if not fields:
        return msg
    return RawMessage(msg.SerializeToString() + fields)


def frame(body, compress):
    """gRPC message framing: flag, 4-byte big-endian length, body."""
    if compress:
        body = gzip.compress(body)
    return struct.pack(">BI", 1 if compress else 0, len(body)) + body


class GrpcDeframer:
    """Splits a byte stream into gRPC messages (which may span or share
    DATA frames).  feed() returns the list of (compressed_flag, body) now
    complete; gzip bodies are decompressed."""

    MAX = 16 << 20

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 5:
            flag, n = struct.unpack(">BI", self.buf[:5])
            if n > self.MAX:
                raise ValueError("gRPC message of %d bytes" % n)
            if len(self.buf) < 5 + n:
                break
            body = self.buf[5:5 + n]
            self.buf = self.buf[5 + n:]
            if flag == 1:
                body = gzip.decompress(body)
            elif flag != 0:
                raise ValueError("bad gRPC compressed flag %d" % flag)
            out.append((flag, body))
        return out
