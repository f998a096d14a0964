#!/usr/bin/python3
"""Seed corpora for the fuzz targets, from real captures.

A grpcio reference listener (test/peers/ref_server.py) runs on loopback
behind a recording TCP proxy; the python-h2 peer (tonic-like: Huffman,
dynamic table) and a grpcio client each run the Kaspa handshake through
it, gzip on and off.  From the recorded bytes, both directions:

  h2/       config byte + what a client sent after its preface (the server
            engine's input) or what the grpcio server sent (the client's)
  hpack/    config byte + each connection's header blocks, length-prefixed
  inflate/  control byte 1 + every gzip message body
  kaspa_pb/ every protobuf message body, decompressed
  json_write/ 8 number bytes + the strings of those messages
  config/   NUL-separated argv/env tokens (written here, not captured)
  metrics/  HTTP request heads python's http.client sends, plus a
            Prometheus scrape (metrics.c's routing)
  http1/    the same heads (http1.c's request parser)
  x509_ip/  certificates made by openssl, and their subjectAltName
            values (written here, not captured)

Usage: capture_seeds.py OUTDIR   (run under /usr/bin/python3)
"""

import gzip
import hashlib
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test"))

from peers import kaspa_proto as kp  # noqa: E402
from peers.grpcpeer import GrpcTransport  # noqa: E402
from peers.h2peer import H2Transport  # noqa: E402
from peers.handshake import Handshake, PeerOptions  # noqa: E402
from peers.ref_server import RefServer  # noqa: E402

PREFACE_LEN = 24
FRAME_DATA, FRAME_HEADERS, FRAME_CONTINUATION = 0, 1, 9
FLAG_END_HEADERS, FLAG_PADDED, FLAG_PRIORITY = 0x4, 0x8, 0x20
HPACK_FULL_TABLE_AND_SCRATCH = 0x07   # fuzz_hpack.c config bits
HPACK_REST = 255

CONFIG_SEEDS = [
    [],
    ["--listen", "127.0.0.1:16111", "--listen", "[::1]:16111"],
    ["--network=kaspa-testnet-10", "--log", "/tmp/x.ndjson",
     "--log-max-bytes", "4096", "--log-keep", "3"],
    ["SENSOR_LISTEN=127.0.0.1:1,[::]:2", "SENSOR_MAX_CONNS=5",
     "--max-conns-per-ip", "2", "--no-probe"],
    ["SENSOR_USER_AGENT=/x:1/", "--sensor-id", "s1", "--probe-verify",
     "--probe-timeout-ms=10", "--probe-budget-ms", "60000"],
    ["--stage-timeout-ms", "10", "--ready-timeout-ms", "600000",
     "--linger-ms", "0", "--version-wait-ms", "60000",
     "--protocol-version", "4294967295"],
    ["SENSOR_NO_PROBE=1", "SENSOR_PROBE_CACHE_TTL_S=604800",
     "--probe-allow-private", "--probe-advertised-any", "--probe-max=7"],
    ["--help"], ["--version"], ["--bogus"], ["--linger-ms"],
]


class RecordingProxy:
    """Forwards each connection to target and keeps the bytes both ways."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conns = []          # [client_bytes, server_bytes] per connection
        self.threads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            rec = [bytearray(), bytearray()]
            self.conns.append(rec)
            t = threading.Thread(target=self._pump, args=(c, rec), daemon=True)
            self.threads.append(t)
            t.start()

    def _pump(self, client, rec):
        server = socket.create_connection(("127.0.0.1", self.target))
        ends = {client: (server, rec[0]), server: (client, rec[1])}
        open_ = {client, server}
        while open_:
            ready, _, _ = select.select(list(open_), [], [], 10)
            if not ready:
                break
            for s in ready:
                other, buf = ends[s]
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    open_.discard(s)
                    try:
                        other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                buf += data
                other.sendall(data)
        client.close()
        server.close()

    def close(self):
        self.lsock.close()
        for t in self.threads:
            t.join(10)


def run_sessions(port):
    """One handshake per peer kind and option, all at once."""
    def session(transport, opts):
        t = transport("127.0.0.1", port, gzip=opts.gzip)
        hs = Handshake(t, opts)
        try:
            hs.run()
            hs.wait_end()
        finally:
            t.close()

    def h2(opts):
        session(H2Transport, opts)

    def grpc(opts):
        session(GrpcTransport, opts)

    jobs = [(h2, PeerOptions(gzip=True)),
            (h2, PeerOptions(gzip=False, order="wait", protocol_version=10,
                             address=(bytes([1, 2, 3, 4]), 16111))),
            (grpc, PeerOptions(gzip=True)),
            (grpc, PeerOptions(gzip=False, order="wait"))]
    errors = []

    def run(fn, opts):
        try:
            fn(opts)
        except Exception as e:  # reported below; seeds are still written
            errors.append(repr(e))
    threads = [threading.Thread(target=run, args=j, daemon=True) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return errors


def frames(stream):
    """(type, flags, stream_id, payload) of each whole frame."""
    pos = 0
    while pos + 9 <= len(stream):
        n = int.from_bytes(stream[pos:pos + 3], "big")
        ftype, flags = stream[pos + 3], stream[pos + 4]
        sid = int.from_bytes(stream[pos + 5:pos + 9], "big") & 0x7FFFFFFF
        if pos + 9 + n > len(stream):
            return
        yield ftype, flags, sid, bytes(stream[pos + 9:pos + 9 + n])
        pos += 9 + n


def unpad(flags, payload, ftype):
    if flags & FLAG_PADDED:
        pad = payload[0]
        payload = payload[1:len(payload) - pad]
    if ftype == FRAME_HEADERS and flags & FLAG_PRIORITY:
        payload = payload[5:]
    return payload


def header_blocks_and_data(stream):
    blocks, data, block = [], {}, b""
    for ftype, flags, sid, payload in frames(stream):
        if ftype in (FRAME_HEADERS, FRAME_CONTINUATION):
            block += unpad(flags, payload, ftype)
            if flags & FLAG_END_HEADERS:
                blocks.append(block)
                block = b""
        elif ftype == FRAME_DATA:
            data[sid] = data.get(sid, b"") + unpad(flags, payload, ftype)
    return blocks, data


def grpc_messages(data):
    """(flag, raw body) of each whole gRPC message."""
    out, pos = [], 0
    while pos + 5 <= len(data):
        flag, n = struct.unpack(">BI", data[pos:pos + 5])
        if pos + 5 + n > len(data):
            break
        out.append((flag, data[pos + 5:pos + 5 + n]))
        pos += 5 + n
    return out


def hpack_seed(blocks):
    seed = bytes([HPACK_FULL_TABLE_AND_SCRATCH])
    for b in blocks:
        if len(b) >= HPACK_REST:
            return seed + bytes([HPACK_REST]) + b
        seed += bytes([len(b)]) + b
    return seed


def message_strings(body):
    m = kp.KaspadMessage.FromString(body)
    if kp.kind(m) == "version":
        return [m.version.userAgent.encode(), m.version.network.encode(),
                m.version.id]
    if kp.kind(m) == "reject":
        return [m.reject.reason.encode()]
    return []


def seeds_from(conns):
    out = {k: set() for k in ("h2", "hpack", "inflate", "kaspa_pb",
                              "json_write")}
    for client, server in conns:
        client = bytes(client[PREFACE_LEN:])
        for cfg in (0x00, 0x03, 0x10):   # whole, 3-byte pieces, send between
            out["h2"].add(bytes([cfg]) + client)
        out["h2"].add(b"\x00" + bytes(server))
        for stream in (client, bytes(server)):
            blocks, data = header_blocks_and_data(stream)
            if blocks:
                out["hpack"].add(hpack_seed(blocks))
            for payload in data.values():
                for flag, body in grpc_messages(payload):
                    if flag == 1:
                        out["inflate"].add(b"\x01" + body)
                        body = gzip.decompress(body)
                    out["kaspa_pb"].add(body)
                    for s in message_strings(body):
                        out["json_write"].add(struct.pack("<q", 12345) + s)
    out["config"] = {b"\0".join(t.encode() for t in argv)
                     for argv in CONFIG_SEEDS}
    return out


def http_seeds():
    """What http.client sends for GET and HEAD, caught on a loopback
    socket, and the head a Prometheus 2.42 scrape sends."""
    import http.client
    seeds = {b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n"
             b"User-Agent: Prometheus/2.42.0\r\nAccept: application/"
             b"openmetrics-text;version=1.0.0,text/plain;version=0.0.4;"
             b"q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
             b"X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"}
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        for method, path in (("GET", "/metrics"), ("HEAD", "/healthz"),
                             ("POST", "/x?y=1")):
            c = http.client.HTTPConnection("127.0.0.1",
                                           lsock.getsockname()[1], timeout=5)
            c.putrequest(method, path)
            c.endheaders()
            conn, _ = lsock.accept()
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            seeds.add(data)
            conn.close()
            c.close()
    return seeds


X509_SANS = [
    "IP:127.0.0.1",
    "IP:::1,DNS:store.example",
    "critical,email:a@b.example,URI:https://10.0.0.8/,RID:1.2.3.4,"
    "otherName:1.2.3.4;UTF8:x,IP:10.0.0.1,IP:2001:db8::7,"
    "IP:::ffff:127.0.0.1,DNS:127.0.0.1",
]


def x509_seeds():
    """Whole certificates (fuzz_x509_ip's first shape) and their
    GeneralNames (the extnValue of its second)."""
    from cryptography import x509
    seeds = set()
    with tempfile.TemporaryDirectory() as d:
        for san in X509_SANS:
            der = os.path.join(d, "cert.der")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 os.path.join(d, "key.pem"), "-subj", "/CN=127.0.0.1",
                 "-days", "1", "-addext", "subjectAltName=" + san,
                 "-outform", "DER", "-out", der],
                check=True, capture_output=True)
            with open(der, "rb") as f:
                cert = f.read()
            seeds.add(cert)
            seeds.add(x509.load_der_x509_certificate(cert).extensions
                      .get_extension_for_class(x509.SubjectAlternativeName)
                      .value.public_bytes())
    return seeds


def write_seeds(outdir, seeds):
    for name, items in seeds.items():
        d = os.path.join(outdir, name)
        os.makedirs(d, exist_ok=True)
        for item in items:
            path = os.path.join(d, hashlib.sha1(item).hexdigest())
            with open(path, "wb") as f:
                f.write(item)
        print("capture_seeds: %s: %d seeds" % (name, len(items)))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    server = RefServer()
    proxy = RecordingProxy(server.port)
    try:
        errors = run_sessions(proxy.port)
    finally:
        proxy.close()
        server.stop()
    for e in errors:
        print("capture_seeds: session failed: %s" % e, file=sys.stderr)
    seeds = seeds_from(proxy.conns)
    seeds["metrics"] = seeds["http1"] = http_seeds()
    seeds["x509_ip"] = x509_seeds()
    write_seeds(sys.argv[1], seeds)
    return 1 if errors or len(proxy.conns) < 4 else 0


if __name__ == "__main__":
    sys.exit(main())
