#!/usr/bin/python3
"""Deterministic HTTP/2 bytes from python's h2 library, for test_h2.c.

  h2_peer.py client
      A gRPC client's byte stream: preface, SETTINGS, the MessageStream call
      on stream 1 with a gzip'd message, a second call on stream 3 (its
      headers come from the HPACK dynamic table), END_STREAM on stream 1.
  h2_peer.py server FILE
      Reads a client's bytes from FILE and answers as a gRPC server:
      SETTINGS, response headers with grpc-encoding gzip, one gzip'd
      message, trailers grpc-status 0.

python h2 Huffman-codes strings and indexes headers, like Rust h2 does.
Bytes go to stdout.  Needs Debian's python3-h2 (/usr/bin/python3).
"""
import gzip
import struct
import sys

import h2.config
import h2.connection

MESSAGE = b"kaspa-test-message " * 8


def grpc_gzip(body):
    z = gzip.compress(body, mtime=0)
    return struct.pack(">BI", 1, len(z)) + z


def client():
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    request = [
        (":method", "POST"), (":scheme", "http"),
        (":path", "/protowire.P2P/MessageStream"),
        (":authority", "127.0.0.1:16111"),
        ("content-type", "application/grpc"), ("te", "trailers"),
        ("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip"),
        ("user-agent", "tonic/0.12.3"),
    ]
    conn.send_headers(1, request)
    conn.send_data(1, grpc_gzip(MESSAGE))
    conn.send_headers(3, request)
    conn.end_stream(1)
    return conn.data_to_send()


def server(path):
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    with open(path, "rb") as f:
        conn.receive_data(f.read())
    conn.send_headers(1, [(":status", "200"),
                          ("content-type", "application/grpc"),
                          ("grpc-encoding", "gzip"),
                          ("grpc-accept-encoding", "gzip")])
    conn.send_data(1, grpc_gzip(MESSAGE))
    conn.send_headers(1, [("grpc-status", "0"),
                          ("grpc-message", "all good")], end_stream=True)
    return conn.data_to_send()


if __name__ == "__main__":
    out = client() if sys.argv[1] == "client" else server(sys.argv[2])
    sys.stdout.buffer.write(out)
