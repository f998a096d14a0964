"""Shared pieces of the export tests: a test CA and server certificates
made with openssl, a real ClickHouse server on loopback (HTTPS with that
CA), the interop harness's Sensor, and ways to make log lines."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import atexit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, os.path.join(HERE, ".."))

from harness import Sensor, free_port, wait_for  # noqa: E402,F401
from common import PeerOptions, run_h2_peer  # noqa: E402,F401

CLICKHOUSE = "/usr/sbin/clickhouse-server"
# What the sensor itself needs to come up fast in every test.
FAST_EXPORT = ["--export-batch-ms", "100", "--export-retry-max-ms", "800",
               "--export-timeout-ms", "3000"]


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    if not os.environ.get("EXPORT_KEEP"):
        atexit.register(shutil.rmtree, d, True)
    return d


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class TestCA:
    """A CA and a server certificate with the subject CN `name` and the
    subjectAltName `san` (openssl's syntax; default DNS:`name`)."""

    def __init__(self, directory, name="localhost", san=None):
        self.dir = directory
        p = lambda f: os.path.join(directory, f)  # noqa: E731
        self.ca, self.key, self.cert = p("ca.pem"), p("server.key"), p("server.pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", p("ca.key"), "-out", self.ca, "-days", "2",
                "-subj", "/CN=kaspa-sensor test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                "-out", p("server.csr"), "-subj", "/CN=" + name)
        with open(p("ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n" % (san or "DNS:" + name))
        openssl("x509", "-req", "-in", p("server.csr"), "-CA", self.ca,
                "-CAkey", p("ca.key"), "-CAcreateserial", "-out", self.cert,
                "-days", "2", "-extfile", p("ext"))


class TlsListener:
    """A TLS listener on 127.0.0.1 with a TestCA's server certificate that
    answers no request; it records the server name each ClientHello
    carries (None: no SNI)."""

    def __init__(self, tls):
        self.names = []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(tls.cert, tls.key)
        self.ctx.sni_callback = lambda sock, name, ctx: self.names.append(name)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return                      # stop() closed the socket
            conn.settimeout(5)
            try:
                self.ctx.wrap_socket(conn, server_side=True).close()
            except OSError:                 # ssl.SSLError is one
                conn.close()

    def stop(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(10)


CONFIG = """<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>{http}</http_port>
  <https_port>{https}</https_port>
  <tcp_port>{tcp}</tcp_port>
{listen}
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <openSSL><server>
    <certificateFile>{cert}</certificateFile>
    <privateKeyFile>{key}</privateKeyFile>
    <verificationMode>none</verificationMode>
    <loadDefaultCAFile>false</loadDefaultCAFile>
    <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
  </server></openSSL>
</yandex>
"""

USERS = """<yandex><profiles><default/></profiles>
<users><default><password></password>
<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
<profile>default</profile><quota>default</quota></default></users>
<quotas><default/></quotas></yandex>
"""

# ClickHouse 18.16 has no DateTime64: ts stays a String, and a parsed
# DateTime (seconds) is MATERIALIZED from it.
TABLE_DDL = """CREATE TABLE {table} (
    event_id String,
    ts String,
    time DateTime MATERIALIZED parseDateTimeBestEffort(substring(ts, 1, 19)),
    sensor_id String,
    peer_ip String,
    peer_port UInt16,
    stage_reached String,
    outcome String
) ENGINE = MergeTree ORDER BY (event_id)"""


class ClickHouse:
    """clickhouse-server in the foreground with its own config in a temp
    dir; stopped by its PID.  Its certificate: CN `name`, SAN `san` (see
    TestCA); it listens on the addresses in `listen`."""

    def __init__(self, name="localhost", san=None,
                 listen=("127.0.0.1", "::1")):
        self.dir = tmpdir("export_ch_")
        self.tls = TestCA(self.dir, name, san)
        self.http, self.https, self.tcp = free_port(), free_port(), free_port()
        hosts = "\n".join("  <listen_host>%s</listen_host>" % h
                          for h in listen)
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(CONFIG.format(http=self.http, https=self.https,
                                  tcp=self.tcp, dir=self.dir, listen=hosts,
                                  cert=self.tls.cert, key=self.tls.key))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(USERS)
        self.proc = None
        self.start()
        atexit.register(self.stop)

    def start(self):
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [CLICKHOUSE, "--config-file", os.path.join(self.dir, "config.xml")],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
            cwd=self.dir)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.query("SELECT 1").strip() == "1":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("clickhouse did not start: see %s" %
                                   self.log.name)
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait(5)
        self.proc = None

    def query(self, sql):
        """Runs sql over plain HTTP (the test's own channel); raises on an
        HTTP error (curl would exit 0 on those)."""
        req = urllib.request.Request("http://127.0.0.1:%d/" % self.http,
                                     data=sql.encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def insert_url(self, table, host="localhost", skip_unknown=True,
                   port=None):
        """`host` as a URL has it: a name, 127.0.0.1 or [::1]; `port`:
        another way in (a proxy in front of the HTTPS port)."""
        q = {"query": "INSERT INTO %s FORMAT JSONEachRow" % table}
        if skip_unknown:
            q["input_format_skip_unknown_fields"] = "1"
        return "https://%s:%d/?%s" % (host, port or self.https,
                                      urllib.parse.urlencode(q))

    def rows(self, table):
        out = self.query("SELECT event_id, ts, sensor_id, peer_ip, peer_port,"
                         " stage_reached, outcome FROM %s FORMAT JSONEachRow"
                         % table)
        return [json.loads(line) for line in out.splitlines() if line]


class ClickHouseClass:
    """A unittest.TestCase mixin: one ClickHouse server for the class,
    as cls.ch, made with CH_ARGS (certificate names, listen addresses)."""

    CH_ARGS = {}
    ch = None

    @classmethod
    def setUpClass(cls):
        cls.ch = ClickHouse(**cls.CH_ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.ch.stop()


def log_records(sensor, paths=None):
    """All lines of the sensor's log files (rotated ones too), parsed."""
    recs = []
    for p in paths or log_files(sensor.log):
        recs += sensor.records(p)
    return recs


def log_files(log):
    d, base = os.path.split(log)
    names = [n for n in os.listdir(d)
             if n == base or (n.startswith(base + ".") and
                              n[len(base) + 1:].isdigit())]
    return [os.path.join(d, n) for n in sorted(names)]


def pump(src, dst):
    """Copies src to dst until src ends, then half-closes dst (a relay's
    one direction)."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def garbage_connections(port, n, spacing=0.0):
    """n connections that send junk: one log line each (outcome
    not_http2), quickly."""
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"\x00\xffnot http2" + os.urandom(64))
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
        if spacing:
            time.sleep(spacing)


def real_handshakes(sensor, n):
    """n full Kaspa handshakes at once (h2 peers), each one log line."""
    outs = [None] * n

    def one(i):
        outs[i] = run_h2_peer(sensor, PeerOptions(ping=False,
                                                  request_addresses=False))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outs
