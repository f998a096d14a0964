"""Phase 2: the dial-back probe and the public/private classification,
against real listeners.

Everything runs inside a network namespace of our own when we may create
one (root, iproute2, iptables): its loopback is ours alone, so no other
engineer's listener on 16111 can answer a probe, and iptables rules in it
drop SYNs to DROP_NET (a target that times out); routing rules in it can
forbid dialing DENY_NET (connect() fails at once: a local failure).
Without a namespace the cases that need these rules are skipped, the
others run on the shared loopback.  Each case uses its own source IP and
peer id, so the probe cache and the rate limit do not mix cases.

The reference listener is RefServer (grpcio) in a child process, so that
grpc-core's threads never live in our namespace.
"""

import ctypes
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import harness
from common import (TOP_FIELD, H2Transport, InteropCase, PeerOptions,
                    Sensor, probing_sensor)
from peers.handshake import Handshake

DROP_NET = "127.0.9.0/24"        # SYNs to these are dropped in our netns
DENY_NET = "127.0.10.0/24"       # routing prohibits dialing these: EACCES
BUDGET_MS = 2000                 # the sensor's defaults: the brief's < 1 s
TIMEOUT_MS = 800                 # per target, <= 2 s per probe
SLACK_MS = 300                   # poll loop and a loaded 2-core machine
# A compressible user agent: grpc-core sends a message uncompressed when
# gzip would make it bigger, and a short Version would.
REF_UA = "/kaspad:1.0.1(%s)/" % ("ref-" * 30)
CLONE_NEWNET = 0x40000000


# ---- our own network namespace ----

class OwnNetns:
    """A namespace made with `ip netns add`, entered by this thread only:
    sockets, threads and child processes made meanwhile live in it."""

    def __init__(self):
        self.name = "kspt_probe_%d" % os.getpid()
        self.created = False
        self.home = None
        self.libc = ctypes.CDLL(None, use_errno=True)

    def _run(self, *argv):
        r = subprocess.run(argv, capture_output=True, timeout=20)
        if r.returncode != 0:
            raise OSError("%s: %s" % (" ".join(argv),
                                      r.stderr.decode(errors="replace").strip()))

    def _setns(self, fd):
        if self.libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    def enter(self):
        """None once inside, else why not."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        for tool in ("ip", "iptables"):
            if shutil.which(tool) is None:
                return "%s is not installed (make deps)" % tool
        try:
            self._run("ip", "netns", "add", self.name)
            self.created = True
            inside = ("ip", "netns", "exec", self.name)
            self._run(*inside, "ip", "link", "set", "lo", "up")
            self._run(*inside, "iptables", "-A", "INPUT", "-d", DROP_NET,
                      "-p", "tcp", "--syn", "-j", "DROP")
            # The local table after room for rules of our own (deny()).
            self._run(*inside, "ip", "rule", "add", "pref", "100",
                      "lookup", "local")
            self._run(*inside, "ip", "rule", "del", "pref", "0")
            self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
            try:
                self._setns(fd)
            finally:
                os.close(fd)
        except OSError as e:
            self.leave()
            return "cannot build a namespace: %s" % e
        return None

    def deny(self, server_port):
        """Until allow(): connect() to DENY_NET fails with EACCES, except
        for replies from server_port (a peer there can still connect)."""
        self._run("ip", "rule", "add", "pref", "10", "to", DENY_NET,
                  "ipproto", "tcp", "sport", str(server_port),
                  "lookup", "local")
        self._run("ip", "rule", "add", "pref", "11", "to", DENY_NET,
                  "prohibit")

    def allow(self):
        for pref in ("10", "11"):
            subprocess.run(["ip", "rule", "del", "pref", pref],
                           capture_output=True, timeout=20)

    def leave(self):
        if self.home is not None:
            self._setns(self.home)
            os.close(self.home)
            self.home = None
        if self.created:
            subprocess.run(["ip", "netns", "del", self.name],
                           capture_output=True, timeout=20)
            self.created = False


NETNS = OwnNetns()
NO_NETNS = None    # why there is no namespace, or None


def setUpModule():
    global NO_NETNS
    NO_NETNS = NETNS.enter()
    if NO_NETNS:
        print("test_probe: %s; SYN-drop cases skipped" % NO_NETNS,
              file=sys.stderr)


def tearDownModule():
    NETNS.leave()


def needs_drop(test):
    """The case needs our namespace's SYN-dropping address range."""
    def run(self):
        if NO_NETNS:
            harness.skip_or_fail_in_ci(NO_NETNS)
        return test(self)
    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


# ---- listeners the probe dials ----

class RefProcess:
    """RefServer (grpcio, gzip replies, sends its Version at once) in a
    child process; `calls` gets the monotonic time of every call.
    extra_fields: raw top-level fields it sends after every reply."""

    def __init__(self, host, node_id, port=0, extra_fields=b""):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.abspath(__file__), "--ref-server",
             host, node_id.hex(), str(port), extra_fields.hex()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().split()
        if line[:1] != [b"port"]:
            self.proc.kill()
            raise RuntimeError("ref server did not start: %r" % line)
        self.port = int(line[1])
        self.calls = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(b"call "):
                self.calls.append(float(line.split()[1]))

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def ref_server_main(host, id_hex, port, extra_hex):
    from peers.ref_server import RefServer

    class ReportingRef(RefServer):
        def _stream(self, requests, context):
            print("call %.6f" % time.monotonic(), flush=True)
            yield from super()._stream(requests, context)

    ref = ReportingRef(host=host, version_wait=0, user_agent=REF_UA,
                       port=int(port), extra_fields=bytes.fromhex(extra_hex))
    ref.id = bytes.fromhex(id_hex)
    print("port %d" % ref.port, flush=True)
    sys.stdin.read()          # until the test closes our stdin
    ref.stop()


class TcpListener:
    """Accepts on host; reply None keeps each connection open and silent,
    else sends reply and closes."""

    def __init__(self, host, reply=None):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.held = []
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.reply is None:
                self.held.append(c)
            else:
                c.sendall(self.reply)
                c.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        for c in self.held:
            c.close()
        self.sock.close()


def closed_port(host):
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ip_bytes(ip):
    return socket.inet_aton(ip)


# ---- peers ----

def open_peer(sensor, src, peer_id, address=None):
    """Handshake up to Ready (no flows) from src; the transport stays open."""
    opts = PeerOptions(peer_id=peer_id, address=address,
                       request_addresses=False, ping=False)
    t = H2Transport(sensor.host, sensor.port, gzip=True, bind=src,
                    timeout=opts.timeout)
    # As tonic does: without it, Verack and Ready wait for the sensor's
    # delayed ACK and every handshake_ms reads ~43 ms.
    t.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Handshake(t, opts).run()
    except Exception:
        t.close()
        raise
    return t


def peer_once(sensor, src, peer_id, address=None):
    """Handshake then close; returns (src, source port)."""
    t = open_peer(sensor, src, peer_id, address)
    t.close()
    return src, t.local_port


class ProbeCase(InteropCase):
    def start_sensor(self, *extra, **kw):
        s = probing_sensor(*extra, **kw)
        self.addCleanup(s.stop)
        if not hasattr(self, "sensor"):
            self.sensor = s
        return s

    def start_ref(self, host, node_id, port=0, extra_fields=b""):
        ref = RefProcess(host, node_id, port, extra_fields)
        self.addCleanup(ref.stop)
        return ref

    def crawl(self, *args, timeout=30):
        """`kaspa-sensor crawl` (one RequestAddresses per node); its lines."""
        out = os.path.join(tempfile.mkdtemp(prefix="crawl_itest_"),
                           "c.ndjson")
        self.addCleanup(shutil.rmtree, os.path.dirname(out), True)
        r = subprocess.run([harness.SENSOR, "crawl", "--out", out,
                            "--crawl-allow-private", "--crawl-requests", "1",
                            "--crawl-max-seconds", "20"] + list(args),
                           capture_output=True, timeout=timeout,
                           env={k: v for k, v in os.environ.items()
                                if not k.startswith("SENSOR_")})
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        with open(out) as f:
            return [json.loads(line) for line in f]

    @staticmethod
    def peers(lines):
        keep = ("address", "reachable", "reason", "stage", "peer_id",
                "user_agent", "replies")
        return [{k: p.get(k) for k in keep} for p in lines
                if p["type"] == "peer"]

    def start_listener(self, host, reply=None):
        lst = TcpListener(host, reply)
        self.addCleanup(lst.close)
        return lst

    def line(self, peer, sensor=None, timeout=None):
        """The NDJSON line of the connection from peer = (ip, port)."""
        sensor = sensor or self.sensor
        ip, port = peer
        rec = sensor.wait_record(
            lambda r: r.get("peer_ip") == ip and r.get("peer_port") == port,
            timeout or (BUDGET_MS + 4000) / 1000)
        self.assertIsNotNone(rec, "no line for %s:%d; stderr:\n%s"
                             % (ip, port, sensor.stderr_text()))
        self.assert_record_common(rec, sensor)
        return rec

    def assert_verdict(self, rec, classification, reason):
        self.assertEqual((rec["classification"], rec["classification_reason"]),
                         (classification, reason), rec)

    def assert_attempts(self, rec, expected):
        """expected: [(target, kind, connect, verify)]; rtt_ms is checked
        for shape: a number once connect() got an answer."""
        got = rec.get("probe_attempts")
        self.assertIsInstance(got, list, rec)
        self.assertEqual([(a["target"], a["kind"], a["connect"], a["verify"])
                          for a in got], expected, rec)
        for a in got:
            if a["connect"] == "timeout":
                self.assertIsNone(a["rtt_ms"])
            else:
                self.assertIsInstance(a["rtt_ms"], (int, float))
                self.assertGreaterEqual(a["rtt_ms"], 0)
                self.assertLess(a["rtt_ms"], TIMEOUT_MS)
        self.assertLessEqual(rec["probe_ms"], BUDGET_MS + SLACK_MS)

    def assert_no_probe(self, rec):
        self.assertNotIn("probe_attempts", rec)
        self.assertNotIn("probe_ms", rec)


# ---- the cases ----

class RefServerGzip(ProbeCase):
    def test_ref_server_gzips_its_version(self):
        """Precondition: the listener the probe verifies against compresses
        its replies when the dialer accepts gzip, as real nodes do."""
        node_id = os.urandom(16)
        ref = self.start_ref("127.0.0.1", node_id)
        t = H2Transport("127.0.0.1", ref.port, gzip=True)
        self.addCleanup(t.close)
        # It speaks first; sending nothing keeps its (tiny, uncompressed)
        # Verack out of the way.
        m = t.recv(3)
        self.assertEqual(m.WhichOneof("payload"), "version")
        self.assertEqual(m.version.id, node_id)
        self.assertEqual(t.flags_seen, {1})
        self.assertEqual(t.response_headers.get("grpc-encoding"), "gzip")


class Verdicts(ProbeCase):
    """One sensor with the defaults (--probe-allow-private for loopback)."""

    def setUp(self):
        self.start_sensor()

    def test_public_advertised_verified(self):
        src, node_id = "127.0.0.2", os.urandom(16)
        ref = self.start_ref(src, node_id)
        t = open_peer(self.sensor, src, node_id, (ip_bytes(src), ref.port))
        # The probe runs while the inbound connection is still open.
        deadline = time.monotonic() + BUDGET_MS / 1000
        while not ref.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        closed_at = time.monotonic()
        t.close()
        self.assertEqual(len(ref.calls), 1, "the probe did not reach the "
                         "advertised listener while the peer was connected")
        self.assertLess(ref.calls[0], closed_at)
        rec = self.line((src, t.local_port))
        target = "%s:%d" % (src, ref.port)
        self.assert_verdict(rec, "public", "advertised_verified")
        self.assertEqual(rec["probe_target"], target)
        self.assert_attempts(rec, [(target, "advertised", "connected",
                                    "verified")])
        self.assertNotIn("cached_reason", rec)

        # The same node reconnects: the verdict comes from the cache.
        rec2 = self.line(peer_once(self.sensor, src, node_id,
                                   (ip_bytes(src), ref.port)))
        self.assert_verdict(rec2, "public", "cached")
        self.assertEqual(rec2["cached_reason"], "advertised_verified")
        self.assertEqual(rec2["probe_target"], target)
        self.assert_no_probe(rec2)
        time.sleep(0.2)
        self.assertEqual(len(ref.calls), 1, "a cached node was dialed again")

    def test_different_node_is_private(self):
        src = "127.0.0.3"
        ref = self.start_ref(src, os.urandom(16))
        peer = peer_once(self.sensor, src, os.urandom(16),
                         (ip_bytes(src), ref.port))
        rec = self.line(peer)
        self.assert_verdict(rec, "private", "open_different_node")
        self.assertIsNone(rec["probe_target"])
        self.assert_attempts(rec, [
            ("%s:%d" % (src, ref.port), "advertised", "connected",
             "different_node"),
            ("%s:16111" % src, "default_port", "refused", None),
            ("%s:%d" % peer, "source_port", "refused", None)])

    def test_silent_listener_is_not_kaspa(self):
        src = "127.0.0.4"
        lst = self.start_listener(src)
        t0 = time.monotonic()
        peer = peer_once(self.sensor, src, os.urandom(16),
                         (ip_bytes(src), lst.port))
        rec = self.line(peer)
        self.assertLess(time.monotonic() - t0,
                        (BUDGET_MS + SLACK_MS) / 1000 + 1)
        self.assert_verdict(rec, "unknown", "open_not_kaspa")
        self.assertIsNone(rec["probe_target"])
        # Waiting for a Version that never comes spends the budget.
        self.assert_attempts(rec, [("%s:%d" % (src, lst.port), "advertised",
                                    "connected", "not_kaspa")])
        self.assertGreaterEqual(rec["probe_ms"], BUDGET_MS - 50)
        self.assertEqual(lst.accepted, 1)

    def test_http1_listener_is_not_kaspa_then_next_targets(self):
        src = "127.0.0.14"
        lst = self.start_listener(
            src, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        peer = peer_once(self.sensor, src, os.urandom(16),
                         (ip_bytes(src), lst.port))
        rec = self.line(peer)
        self.assert_verdict(rec, "unknown", "open_not_kaspa")
        self.assert_attempts(rec, [
            ("%s:%d" % (src, lst.port), "advertised", "connected",
             "not_kaspa"),
            ("%s:16111" % src, "default_port", "refused", None),
            ("%s:%d" % peer, "source_port", "refused", None)])
        self.assertLess(rec["probe_ms"], BUDGET_MS / 2)

    def test_nothing_listening_is_private(self):
        src = "127.0.0.5"
        port = closed_port(src)
        peer = peer_once(self.sensor, src, os.urandom(16),
                         (ip_bytes(src), port))
        rec = self.line(peer)
        self.assert_verdict(rec, "private", "all_refused")
        self.assertIsNone(rec["probe_target"])
        self.assert_attempts(rec, [
            ("%s:%d" % (src, port), "advertised", "refused", None),
            ("%s:16111" % src, "default_port", "refused", None),
            ("%s:%d" % peer, "source_port", "refused", None)])

    def test_no_advertised_address(self):
        src = "127.0.0.6"
        peer = peer_once(self.sensor, src, os.urandom(16))
        rec = self.line(peer)
        self.assert_verdict(rec, "private", "all_refused")
        self.assert_attempts(rec, [
            ("%s:16111" % src, "default_port", "refused", None),
            ("%s:%d" % peer, "source_port", "refused", None)])

    def test_advertised_other_ip_is_not_dialed(self):
        """Not a reflector: the listener on another IP is never dialed."""
        src, other, node_id = "127.0.0.7", "127.0.0.8", os.urandom(16)
        ref = self.start_ref(other, node_id)
        peer = peer_once(self.sensor, src, node_id,
                         (ip_bytes(other), ref.port))
        rec = self.line(peer)
        self.assert_verdict(rec, "private", "all_refused")
        self.assert_attempts(rec, [
            ("%s:16111" % src, "default_port", "refused", None),
            ("%s:%d" % peer, "source_port", "refused", None)])
        self.assertEqual(ref.calls, [])

    @needs_drop
    def test_dropped_syns_time_out_within_budget(self):
        src, node_id = "127.0.9.1", os.urandom(16)
        port = 17000
        t0 = time.monotonic()
        first = open_peer(self.sensor, src, node_id, (ip_bytes(src), port))
        # The same node again, or another id from that IP, while its probe
        # runs: one probe per IP at a time.
        for again in (node_id, os.urandom(16)):
            rec2 = self.line(peer_once(self.sensor, src, again,
                                       (ip_bytes(src), port)), timeout=1.0)
            self.assert_verdict(rec2, "unknown", "rate_limited")
            self.assert_no_probe(rec2)
        first.close()
        rec = self.line((src, first.local_port))
        elapsed = time.monotonic() - t0
        self.assert_verdict(rec, "private", "all_timeout")
        self.assert_attempts(rec, [
            ("%s:%d" % (src, port), "advertised", "timeout", None),
            ("%s:16111" % src, "default_port", "timeout", None),
            ("%s:%d" % (src, first.local_port), "source_port", "timeout",
             None)])
        self.assertGreaterEqual(rec["probe_ms"], BUDGET_MS - 50)
        self.assertLess(elapsed, (BUDGET_MS + SLACK_MS) / 1000 + 1)
        # After the verdict, a reconnect is answered from the cache.
        rec3 = self.line(peer_once(self.sensor, src, node_id,
                                   (ip_bytes(src), port)), timeout=1.0)
        self.assert_verdict(rec3, "private", "cached")
        self.assertEqual(rec3["cached_reason"], "all_timeout")
        self.assert_no_probe(rec3)


    @needs_drop
    def test_local_failure_is_unknown(self):
        """Every connect() fails at once (our own routing forbids it): the
        verdict is written at once, and it is not "private"."""
        src, node_id = "127.0.10.1", os.urandom(16)
        NETNS.deny(self.sensor.port)
        self.addCleanup(NETNS.allow)
        peer = peer_once(self.sensor, src, node_id, (ip_bytes(src), 17000))
        rec = self.line(peer, timeout=1.0)
        self.assert_verdict(rec, "unknown", "probe_error")
        self.assertEqual([(a["target"], a["connect"], a["rtt_ms"])
                          for a in rec["probe_attempts"]],
                         [("%s:17000" % src, "error", None),
                          ("%s:16111" % src, "error", None),
                          ("%s:%d" % peer, "error", None)])
        self.assertLess(rec["probe_ms"], 100)
        # Not cached: once the routes allow it, the node is probed again.
        NETNS.allow()
        rec = self.line(peer_once(self.sensor, src, node_id,
                                  (ip_bytes(src), 17000)))
        self.assert_verdict(rec, "private", "all_refused")


class Options(ProbeCase):
    def test_no_probe(self):
        self.sensor = Sensor()     # the harness passes --no-probe
        self.addCleanup(self.sensor.stop)
        src = "127.0.0.10"
        ref = self.start_ref(src, b"\x01" * 16)
        rec = self.line(peer_once(self.sensor, src, b"\x01" * 16,
                                  (ip_bytes(src), ref.port)))
        self.assert_verdict(rec, "unknown", "probe_disabled")
        self.assertIsNone(rec["probe_target"])
        self.assert_no_probe(rec)
        self.assertEqual(ref.calls, [])

    def test_no_probe_verify_open_is_enough(self):
        self.start_sensor("--no-probe-verify")
        src = "127.0.0.11"
        lst = self.start_listener(src)
        rec = self.line(peer_once(self.sensor, src, os.urandom(16),
                                  (ip_bytes(src), lst.port)))
        target = "%s:%d" % (src, lst.port)
        self.assert_verdict(rec, "public", "advertised_open")
        self.assertEqual(rec["probe_target"], target)
        self.assert_attempts(rec, [(target, "advertised", "connected", None)])
        peer = peer_once(self.sensor, src, os.urandom(16))
        self.assert_attempts(self.line(peer), [
            ("%s:16111" % src, "default_port", "refused", None),
            ("%s:%d" % peer, "source_port", "refused", None)])

    def test_advertised_any_ip(self):
        self.start_sensor("--probe-advertised-any")
        src, other, node_id = "127.0.0.12", "127.0.0.13", os.urandom(16)
        ref = self.start_ref(other, node_id)
        rec = self.line(peer_once(self.sensor, src, node_id,
                                  (ip_bytes(other), ref.port)))
        target = "%s:%d" % (other, ref.port)
        self.assert_verdict(rec, "public", "advertised_verified")
        self.assert_attempts(rec, [(target, "advertised", "connected",
                                    "verified")])

    def test_bogon_skipped_without_allow_private(self):
        """Loopback source and loopback/private advertised addresses: no
        target at all, nothing dialed."""
        self.start_sensor(allow_private=False)
        src, node_id = "127.0.0.15", os.urandom(16)
        ref = self.start_ref(src, node_id)
        for advertised in ((ip_bytes(src), ref.port),
                           (ip_bytes("10.1.2.3"), 16111),
                           (socket.inet_pton(socket.AF_INET6, "fd00::1"),
                            16111)):
            rec = self.line(peer_once(self.sensor, src, os.urandom(16),
                                      advertised))
            self.assert_verdict(rec, "unknown", "no_routable_target")
            self.assertIsNone(rec["probe_target"])
            self.assert_no_probe(rec)
        self.assertEqual(ref.calls, [])

    @needs_drop
    def test_probe_max(self):
        self.start_sensor("--probe-max", "1")
        busy = peer_once(self.sensor, "127.0.9.2", os.urandom(16),
                         (ip_bytes("127.0.9.2"), 17000))
        other = peer_once(self.sensor, "127.0.0.16", os.urandom(16))
        self.assert_verdict(self.line(other, timeout=1.0), "unknown",
                            "rate_limited")
        self.assert_verdict(self.line(busy), "private", "all_timeout")


class TopField(ProbeCase):
    """A node whose every reply carries TOP_FIELD, a top-level field no
    KaspadMessage has: the probe and the crawler still see its Version
    and finish the handshake with it."""

    def test_probe_verifies_it(self):
        self.start_sensor()
        src, node_id = "127.0.0.17", os.urandom(16)
        ref = self.start_ref(src, node_id, extra_fields=TOP_FIELD)
        rec = self.line(peer_once(self.sensor, src, node_id,
                                  (ip_bytes(src), ref.port)))
        target = "%s:%d" % (src, ref.port)
        self.assert_verdict(rec, "public", "advertised_verified")
        self.assert_attempts(rec, [(target, "advertised", "connected",
                                    "verified")])

    def test_crawl_reaches_it(self):
        src, node_id = "127.0.0.18", os.urandom(16)
        ref = self.start_ref(src, node_id, extra_fields=TOP_FIELD)
        seed = "%s:%d" % (src, ref.port)
        self.assertEqual(self.peers(self.crawl("--seed", seed)), [{
            "address": seed, "reachable": True, "reason": "ok",
            "stage": "ready", "peer_id": node_id.hex(),
            "user_agent": REF_UA, "replies": 1}])


class Load(ProbeCase):
    N = 200
    WORKERS = 16

    def run_batch(self, sensor):
        """N handshakes, each from its own IP in DROP_NET (one probe per
        IP at a time), WORKERS at a time; returns their NDJSON lines."""
        def one(i):
            src = "127.0.9.%d" % (10 + i)
            return peer_once(sensor, src, os.urandom(16))
        with ThreadPoolExecutor(self.WORKERS) as pool:
            peers = set(pool.map(one, range(self.N)))
        deadline = time.monotonic() + (BUDGET_MS + 10000) / 1000
        while True:
            recs = [r for r in sensor.records()
                    if (r["peer_ip"], r["peer_port"]) in peers]
            if len(recs) == self.N or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(len(recs), self.N, sensor.stderr_text())
        return recs

    @staticmethod
    def percentiles(recs):
        ms = sorted(r["handshake_ms"] for r in recs)
        return statistics.median(ms), ms[int(len(ms) * 0.99) - 1], ms[-1]

    @staticmethod
    def max_overlap(recs):
        """Most probes running at once, from accept time and probe_ms."""
        ev = []
        for r in recs:
            t = time.mktime(time.strptime(r["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
            t += float(r["ts"][19:-1])
            ev += [(t, 1), (t + r["probe_ms"] / 1000, -1)]
        run = best = 0
        for _, d in sorted(ev):
            run += d
            best = max(best, run)
        return best

    @needs_drop
    def test_probes_do_not_slow_handshakes(self):
        plain = Sensor()          # --no-probe
        self.addCleanup(plain.stop)
        base = self.run_batch(plain)
        probing = self.start_sensor()
        loaded = self.run_batch(probing)
        for r in loaded:
            self.assert_verdict(r, "private", "all_timeout")
        for r in base:
            self.assert_verdict(r, "unknown", "probe_disabled")
        p_base, p_loaded = self.percentiles(base), self.percentiles(loaded)
        overlap = self.max_overlap(loaded)
        print("\n  handshake_ms over %d handshakes, %d at a time: "
              "no probe p50 %.3f p99 %.3f max %.3f; with probes "
              "(all timing out, up to %d at once) p50 %.3f p99 %.3f max %.3f"
              % ((self.N, self.WORKERS) + p_base + (overlap,) + p_loaded),
              file=sys.stderr)
        self.assertGreaterEqual(overlap, 50, "probes did not overlap")
        self.assertLess(p_loaded[0], 3 * p_base[0] + 50)
        self.assertLess(p_loaded[1], 3 * p_base[1] + 200)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ref-server"]:
        ref_server_main(*sys.argv[2:6])
    else:
        unittest.main()
