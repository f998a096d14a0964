"""Peer A: a tonic-like Kaspa node on raw python-h2.

h2c with prior knowledge, HPACK with Huffman coding and incremental
indexing (python-h2's encoder does both), grpc-encoding: gzip and every
message gzip-compressed (flag 1), or flag 0 with gzip off -- what
rusty-kaspa's tonic client puts on the wire.  Counts every byte both ways
so the sensor's bytes_in / bytes_out can be checked.
"""

import socket
import time

import h2.config
import h2.connection
import h2.events

from . import kaspa_proto as kp
from .handshake import Closed, PeerError

TONIC_UA = "tonic/0.12.3"


def _frame(ftype, flags, stream, payload):
    return (len(payload).to_bytes(3, "big") + bytes([ftype, flags])
            + stream.to_bytes(4, "big") + payload)


class H2Transport:
    def __init__(self, host, port, gzip=True, bind=None, timeout=5.0,
                 http_user_agent=TONIC_UA, authority=None,
                 split_headers=False, data_chunk=None, trickle=False,
                 extra_headers=(), hpack_table_size=None):
        """split_headers: send the header block as HEADERS + 2
        CONTINUATION frames; data_chunk: re-cut DATA frames to this many
        bytes; trickle: one byte per TCP segment; hpack_table_size: our
        encoder announces a smaller dynamic table (a size update at the
        start of the block) and evicts entries while encoding."""
        self.gzip = gzip
        self.split_headers = split_headers
        self.data_chunk = data_chunk
        self.trickle = trickle
        self.wire = b""
        self.preface_left = 24
        if ":" in host:
            host_port = "[%s]:%d" % (host, port)
        else:
            host_port = "%s:%d" % (host, port)
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(bind, 0) if bind else None)
        self.sock.settimeout(timeout)
        self.local_port = self.sock.getsockname()[1]
        self.local_ip = self.sock.getsockname()[0]
        self.bytes_sent = 0
        self.bytes_received = 0
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True,
                                      header_encoding="utf-8"))
        self.deframer = kp.GrpcDeframer()
        self.inbox = []
        self.response_headers = None
        self.trailers = None
        self.stream_ended = False
        self.reset_code = None
        self.goaway_code = None
        self.eof = False
        self.flags_seen = set()
        self.conn.initiate_connection()
        self.sid = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"), (":scheme", "http"),
            (":path", kp.METHOD),
            (":authority", authority or host_port),
            ("content-type", "application/grpc"), ("te", "trailers"),
            ("user-agent", http_user_agent),
            ("grpc-accept-encoding", "gzip"),
        ]
        if gzip:
            headers.insert(6, ("grpc-encoding", "gzip"))
        headers += list(extra_headers)
        if hpack_table_size is not None:
            self.conn.encoder.header_table_size = hpack_table_size
        self.conn.send_headers(self.sid, headers)
        # Preface, SETTINGS and HEADERS go out with the first message, or
        # with the first read when we wait for the server to speak first.
        self.pending_out = self.conn.data_to_send()

    def _write(self, data):
        if self.split_headers or self.data_chunk:
            data = self._recut(data)
        if not data:
            return
        if self.trickle:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
                time.sleep(0.001)
        else:
            self.sock.sendall(data)
        self.bytes_sent += len(data)

    def _recut(self, data):
        """Same HTTP/2 content, other framing: python-h2 keeps its state,
        the wire carries CONTINUATION frames or tiny DATA frames."""
        self.wire += data
        out = b""
        if self.preface_left:
            k = min(self.preface_left, len(self.wire))
            out, self.wire = self.wire[:k], self.wire[k:]
            self.preface_left -= k
        while len(self.wire) >= 9:
            n = int.from_bytes(self.wire[:3], "big")
            if len(self.wire) < 9 + n:
                break
            ftype, flags = self.wire[3], self.wire[4]
            sid = int.from_bytes(self.wire[5:9], "big")
            payload = self.wire[9:9 + n]
            raw, self.wire = self.wire[:9 + n], self.wire[9 + n:]
            if ftype == 1 and self.split_headers and flags == 0x4 and n >= 3:
                third = n // 3
                parts = (payload[:third], payload[third:2 * third],
                         payload[2 * third:])
                out += _frame(1, 0, sid, parts[0])
                out += _frame(9, 0, sid, parts[1])
                out += _frame(9, 0x4, sid, parts[2])
            elif ftype == 0 and self.data_chunk and not flags & 0x8 and n:
                for i in range(0, n, self.data_chunk):
                    last = i + self.data_chunk >= n
                    out += _frame(0, flags if last else 0, sid,
                                  payload[i:i + self.data_chunk])
            else:
                out += raw
        return out

    def flush(self):
        self._write(self.pending_out + self.conn.data_to_send())
        self.pending_out = b""

    def send_raw_message(self, framed):
        """Send already framed gRPC bytes as DATA, honouring the peer's
        max frame size and flow-control windows."""
        view = memoryview(framed)
        while view:
            window = min(self.conn.local_flow_control_window(self.sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.flush()
                self._pump(time.monotonic() + 5.0)
                continue
            self.conn.send_data(self.sid, bytes(view[:window]))
            view = view[window:]
        self.flush()

    def send(self, msg):
        self.send_raw_message(kp.frame(msg.SerializeToString(), self.gzip))

    def send_many(self, msgs):
        """Several messages in one DATA frame (and one TCP write)."""
        self.send_raw_message(b"".join(
            kp.frame(m.SerializeToString(), self.gzip) for m in msgs))

    def _pump(self, deadline):
        """Read once from the socket and process the events."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerError("timeout")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise PeerError("timeout") from None
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise Closed("connection closed")
        self.bytes_received += len(data)
        for ev in self.conn.receive_data(data):
            self._event(ev)
        try:
            self._write(self.conn.data_to_send())
        except OSError:
            pass

    def _event(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            self.response_headers = dict(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                ev.stream_id)
            for flag, body in self.deframer.feed(ev.data):
                self.flags_seen.add(flag)
                self.inbox.append(kp.KaspadMessage.FromString(body))
        elif isinstance(ev, h2.events.TrailersReceived):
            self.trailers = dict(ev.headers)
        elif isinstance(ev, h2.events.StreamEnded):
            self.stream_ended = True
        elif isinstance(ev, h2.events.StreamReset):
            self.reset_code = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway_code = ev.error_code

    def recv(self, timeout):
        deadline = time.monotonic() + timeout
        if self.pending_out:
            self.flush()
        while not self.inbox:
            if self.stream_ended or self.reset_code is not None \
                    or self.eof:
                raise Closed("call ended")
            self._pump(deadline)
        return self.inbox.pop(0)

    def drain_to_eof(self, timeout):
        """Read until the server closes the TCP connection; True if it did."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._pump(deadline)
        except Closed:
            return True
        except PeerError:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
