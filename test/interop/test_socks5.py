"""dial.c through a real SOCKS5 server (Debian's microsocks, in our own
network namespace like test_probe): probes and crawls through it reach a
real grpcio node and classify it exactly as direct ones do; a proxy that
refuses the target, a proxy that is down and a wrong password map to the
right outcomes; and `crawl` without --seed asks the network's DNS seeders
through a fake name server on loopback (--resolv-conf), never a real one.

Figures (probe latency direct vs through the proxy) are printed for the
README's "Probing through Tor / SOCKS5" section.
"""

import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
import test_probe
from test_probe import (ProbeCase, closed_port, ip_bytes, open_peer,
                        peer_once)

MICROSOCKS = shutil.which("microsocks")
NETNS = test_probe.OwnNetns()
NETNS.name = "kspt_socks_%d" % os.getpid()
WHY_NOT = None
MAINNET_SEEDERS = [
    "mainnet-dnsseed-1.kaspanet.org", "mainnet-dnsseed-2.kaspanet.org",
    "seeder1.kaspad.net", "seeder2.kaspad.net", "seeder3.kaspad.net",
    "seeder4.kaspad.net", "kaspadns.kaspacalc.net", "n-mainnet.kaspa.ws",
    "dnsseeder-kaspa-mainnet.x-con.at"]


def setUpModule():
    global WHY_NOT
    WHY_NOT = NETNS.enter()
    if WHY_NOT is None and MICROSOCKS is None:
        WHY_NOT = "microsocks is not installed (make deps)"


def tearDownModule():
    NETNS.leave()


class Microsocks:
    """microsocks on 127.0.0.1:PORT (our namespace's loopback)."""

    def __init__(self, user=None, password=None):
        self.port = closed_port("127.0.0.1")
        argv = [MICROSOCKS, "-i", "127.0.0.1", "-p", str(self.port)]
        if user:
            argv += ["-u", user, "-P", password]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not harness.tcp_listening(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("microsocks did not start")
            time.sleep(0.02)

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)


class FakeDns:
    """A name server on 127.0.0.1:53 in our namespace: every A query gets
    `answer`, AAAA none (or no reply at all: `silent_aaaa`); `names`
    records what was asked."""

    def __init__(self, answer, silent_aaaa=False):
        self.answer = socket.inet_aton(answer)
        self.silent_aaaa = silent_aaaa
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        self.sock.settimeout(0.1)
        self.names = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                pkt, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            qid, = struct.unpack("!H", pkt[:2])
            labels, i = [], 12
            while pkt[i]:
                labels.append(pkt[i + 1:i + 1 + pkt[i]].decode())
                i += 1 + pkt[i]
            qtype, = struct.unpack("!H", pkt[i + 1:i + 3])
            question = pkt[12:i + 5]
            self.names.append((".".join(labels), qtype))
            if qtype == 28 and self.silent_aaaa:
                continue
            answers = b""
            if qtype == 1:
                answers = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + \
                    self.answer
            head = struct.pack("!HHHHHH", qid, 0x8180, 1,
                               1 if answers else 0, 0, 0)
            self.sock.sendto(head + question + answers, peer)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def attempts(rec):
    """The source port differs between two connections: its target is
    left out."""
    return [(a["target"] if a["kind"] != "source_port" else "-", a["kind"],
             a["connect"], a["verify"]) for a in rec.get("probe_attempts", [])]


def verdict(rec):
    return (rec["classification"], rec["classification_reason"],
            rec["probe_target"])


class Socks5Case(ProbeCase):
    def setUp(self):
        if WHY_NOT:
            harness.skip_or_fail_in_ci(WHY_NOT)

    def proxy(self, **kw):
        p = Microsocks(**kw)
        self.addCleanup(p.stop)
        return p


class ProbeViaSocks5(Socks5Case):
    def both(self, proxy_addr, *extra, **kw):
        """A direct sensor and one whose probes go through proxy_addr."""
        direct = self.start_sensor(*extra, **kw)
        via = self.start_sensor("--socks5", proxy_addr, *extra, **kw)
        return direct, via

    def probe_both(self, direct, via, src, node_id, advertised_port):
        recs = []
        for sensor in (direct, via):
            peer = peer_once(sensor, src, node_id,
                             (ip_bytes(src), advertised_port))
            recs.append(self.line(peer, sensor))
        self.assertNotIn("probe_via", recs[0])
        self.assertEqual(recs[1]["probe_via"], "socks5")
        return recs

    def test_public_node_same_verdict_as_direct(self):
        src, node_id = "127.0.0.21", os.urandom(16)
        ref = self.start_ref(src, node_id)
        direct, via = self.both(self.proxy().addr)
        d, v = self.probe_both(direct, via, src, node_id, ref.port)
        self.assertEqual(verdict(d), ("public", "advertised_verified",
                                      "%s:%d" % (src, ref.port)))
        self.assertEqual(verdict(v), verdict(d))
        self.assertEqual(attempts(v), attempts(d))
        self.assertEqual(len(ref.calls), 2)    # both really reached it

    def test_private_node_same_verdict_as_direct(self):
        """Nothing listens: the proxy's 0x05 is our "refused"."""
        src = "127.0.0.22"
        port = closed_port(src)
        direct, via = self.both(self.proxy().addr)
        d, v = self.probe_both(direct, via, src, os.urandom(16), port)
        self.assertEqual(verdict(d), ("private", "all_refused", None))
        self.assertEqual(verdict(v), verdict(d))
        self.assertEqual(attempts(v), attempts(d))

    def test_different_node_same_verdict_as_direct(self):
        src = "127.0.0.23"
        ref = self.start_ref(src, os.urandom(16))
        direct, via = self.both(self.proxy().addr)
        d, v = self.probe_both(direct, via, src, os.urandom(16), ref.port)
        self.assertEqual(verdict(d), ("private", "open_different_node", None))
        self.assertEqual(verdict(v), verdict(d))
        self.assertEqual(attempts(v), attempts(d))

    def test_dropped_syns_time_out_through_the_proxy(self):
        """microsocks waits on the SYNs; our deadline ends each target as
        "timeout", as a direct probe's does."""
        src = test_probe.DROP_NET.replace("0/24", "21")
        via = self.start_sensor("--socks5", self.proxy().addr)
        t = open_peer(via, src, os.urandom(16), (ip_bytes(src), 17000))
        t.close()
        rec = self.line((src, t.local_port), via)
        self.assertEqual(verdict(rec), ("private", "all_timeout", None))
        self.assertEqual([a["connect"] for a in rec["probe_attempts"]],
                         ["timeout"] * 3)
        self.assertLessEqual(rec["probe_ms"], test_probe.BUDGET_MS +
                             test_probe.SLACK_MS)

    def test_proxy_down_is_unknown_not_private(self):
        src, node_id = "127.0.0.24", os.urandom(16)
        ref = self.start_ref(src, node_id)
        via = self.start_sensor("--socks5", "127.0.0.1:%d"
                                % closed_port("127.0.0.1"))
        peer = peer_once(via, src, node_id, (ip_bytes(src), ref.port))
        rec = self.line(peer, via)
        self.assertEqual(verdict(rec), ("unknown", "probe_error", None))
        self.assertEqual({a["connect"] for a in rec["probe_attempts"]},
                         {"proxy_refused"})
        self.assertEqual(ref.calls, [])
        # not cached: with the proxy back the node is probed again
        self.assertEqual(verdict(self.line(
            peer_once(via, src, node_id, (ip_bytes(src), ref.port)), via)),
            ("unknown", "probe_error", None))

    def test_username_password(self):
        src, node_id = "127.0.0.25", os.urandom(16)
        ref = self.start_ref(src, node_id)
        proxy = self.proxy(user="sensor", password="pw-right-9f3c")
        pw_file = os.path.join(tempfile.mkdtemp(prefix="socks_pw_"), "pw")
        self.addCleanup(shutil.rmtree, os.path.dirname(pw_file), True)
        with open(pw_file, "w") as f:
            f.write("pw-right-9f3c\n")
        good_file = self.start_sensor("--socks5", proxy.addr, "--socks5-user",
                                      "sensor", "--socks5-password-file",
                                      pw_file)
        good_env = self.start_sensor(
            "--socks5", proxy.addr, "--socks5-user", "sensor",
            env={"SENSOR_SOCKS5_PASSWORD": "pw-right-9f3c"})
        wrong = self.start_sensor(
            "--socks5", proxy.addr, "--socks5-user", "sensor",
            env={"SENSOR_SOCKS5_PASSWORD": "pw-wrong-77aa"})
        for sensor in (good_file, good_env):
            rec = self.line(peer_once(sensor, src, node_id,
                                      (ip_bytes(src), ref.port)), sensor)
            self.assertEqual(verdict(rec)[:2], ("public",
                                                "advertised_verified"))
        rec = self.line(peer_once(wrong, src, node_id,
                                  (ip_bytes(src), ref.port)), wrong)
        self.assertEqual(verdict(rec), ("unknown", "probe_error", None))
        self.assertEqual({a["connect"] for a in rec["probe_attempts"]},
                         {"proxy_error"})
        for sensor in (good_file, good_env, wrong):
            sensor.stop()
            text = sensor.stderr_text()
            self.assertIn("SOCKS5 proxy %s (username/password)" % proxy.addr,
                          text)
            self.assertNotIn("pw-right", text)
            self.assertNotIn("pw-wrong", text)

    def test_socks5_for_other_kinds_probes_directly(self):
        src, node_id = "127.0.0.26", os.urandom(16)
        ref = self.start_ref(src, node_id)
        down = "127.0.0.1:%d" % closed_port("127.0.0.1")
        s = self.start_sensor("--socks5", down, "--socks5-for", "crawl,export")
        rec = self.line(peer_once(s, src, node_id, (ip_bytes(src), ref.port)),
                        s)
        self.assertEqual(verdict(rec)[:2], ("public", "advertised_verified"))
        self.assertNotIn("probe_via", rec)

    def test_latency_figures(self):
        """probe_ms and the verified target's rtt_ms, direct and through
        the proxy, over N probes of one real node (for the README)."""
        n = 20
        src = "127.0.0.27"
        node_id = os.urandom(16)
        ref = self.start_ref(src, node_id)
        direct, via = self.both(self.proxy().addr, "--probe-cache-ttl-s", "0")
        figures = {}
        for name, sensor in (("direct", direct), ("socks5", via)):
            probe_ms, rtt_ms = [], []
            for _ in range(n):
                rec = self.line(peer_once(sensor, src, node_id,
                                          (ip_bytes(src), ref.port)), sensor)
                self.assertEqual(verdict(rec)[:2],
                                 ("public", "advertised_verified"))
                probe_ms.append(rec["probe_ms"])
                rtt_ms.append(rec["probe_attempts"][0]["rtt_ms"])
            figures[name] = (statistics.median(rtt_ms),
                             statistics.median(probe_ms), max(probe_ms))
        print("\n  %d probes of one grpcio node on loopback: direct connect"
              " p50 %.3f ms, probe p50 %.3f max %.3f ms; through microsocks"
              " connect (until the SOCKS reply) p50 %.3f ms, probe p50 %.3f"
              " max %.3f ms" % ((n,) + figures["direct"] + figures["socks5"]),
              file=sys.stderr)


class CrawlViaSocks5(Socks5Case):
    def test_crawl_through_proxy_same_as_direct(self):
        src, node_id = "127.0.0.31", os.urandom(16)
        ref = self.start_ref(src, node_id)
        seed = "%s:%d" % (src, ref.port)
        direct = self.peers(self.crawl("--seed", seed))
        via = self.peers(self.crawl("--seed", seed, "--socks5",
                                    self.proxy().addr))
        self.assertEqual(direct[0]["stage"], "ready", direct)
        self.assertEqual(direct[0]["peer_id"], node_id.hex())
        self.assertEqual(via, direct)
        # a proxy that is down: the crawl says so, it does not guess
        down = self.peers(self.crawl("--seed", seed, "--socks5", "127.0.0.1:%d"
                                     % closed_port("127.0.0.1")))
        self.assertEqual([(p["reachable"], p["reason"]) for p in down],
                         [(False, "proxy_refused")])

    def fake_dns(self, src, **kw):
        """A FakeDns answering `src` on 127.0.0.1:53, and a resolv.conf
        naming it; both go away with the test."""
        try:
            dns = FakeDns(src, **kw)
        except OSError as e:
            harness.skip_or_fail_in_ci("cannot bind 127.0.0.1:53: %s" % e)
        self.addCleanup(dns.stop)
        conf = os.path.join(tempfile.mkdtemp(prefix="resolv_"), "resolv.conf")
        self.addCleanup(shutil.rmtree, os.path.dirname(conf), True)
        with open(conf, "w") as f:
            f.write("nameserver 127.0.0.1\n")
        return dns, conf

    def test_dns_seeders_without_seed(self):
        """No --seed: the 9 mainnet seeders are asked (A and AAAA) from the
        name server in --resolv-conf; the one address they all return is
        crawled on the default port."""
        src, node_id = "127.0.0.32", os.urandom(16)
        ref = self.start_ref(src, node_id, port=16111)
        dns, conf = self.fake_dns(src)
        lines = self.crawl("--resolv-conf", conf)
        self.assertEqual(sorted(set(dns.names)),
                         sorted((n, t) for n in MAINNET_SEEDERS
                                for t in (1, 28)))
        seeders = [(l["name"], l["result"], l["addresses"]) for l in lines
                   if l["type"] == "seeder"]
        self.assertEqual(sorted(seeders), sorted(
            (n, "ok", ["%s:16111" % src]) for n in MAINNET_SEEDERS))
        peers = self.peers(lines)
        self.assertEqual([(p["address"], p["stage"], p["peer_id"])
                          for p in peers],
                         [("%s:16111" % src, "ready", node_id.hex())])

    def test_dns_seeder_answers_a_but_never_aaaa(self):
        """A name server that drops AAAA queries (some home routers do):
        once it has been waited for, the A answer is used, not thrown
        away."""
        src, node_id = "127.0.0.33", os.urandom(16)
        ref = self.start_ref(src, node_id, port=16111)
        _, conf = self.fake_dns(src, silent_aaaa=True)
        lines = self.crawl("--resolv-conf", conf)
        seeders = [(l["name"], l["result"], l["addresses"]) for l in lines
                   if l["type"] == "seeder"]
        self.assertEqual(sorted(seeders), sorted(
            (n, "ok", ["%s:16111" % src]) for n in MAINNET_SEEDERS))
        self.assertEqual([p["address"] for p in self.peers(lines)],
                         ["%s:16111" % src])


if __name__ == "__main__":
    unittest.main()
