#!/usr/bin/python3
"""A simulated Kaspa network on loopback for the gossip study (docs/GOSSIP.md).

Each node is an asyncio gRPC-over-h2c peer (python-h2, our proto) bound to
its own 127.77.x.y address, following the reference node's address rules
(rusty-kaspa; files cited in docs/GOSSIP.md):

  - handshake Version/Verack/Ready; only after Ready does a node record
    addresses: the dialed address for an outbound peer, and the address in
    the peer's Version when present (protocol/flows/src/flow_context.rs);
  - each side then sends RequestAddresses once and adds what comes back
    (at most 2500 accepted); a RequestAddresses is answered with a random
    sample of up to REPLY_MAX addresses (1000 on mainnet) of the address
    manager (protocol/flows/src/v7/address.rs);
  - address manager: at most 4096 entries, a failed dial adds a failure,
    more than 3 failures remove the address, a successful one resets the
    count; dial candidates are drawn with weight 64^(4 - failures)
    (components/addressmanager/src/lib.rs);
  - connection manager: every tick, top up to 8 outbound peers; inbound
    peers above 128 are dropped at random (components/connectionmanager).

Time is compressed: one tick (the reference's 30 s) is TICK seconds here.
Deviations, on purpose: loopback addresses are recorded (the reference
skips them), every node has a public address in its Version, and a
`churn` probability per tick closes one outbound connection to stand in
for restarts.  The real kaspa-sensor runs among the nodes.
"""

import argparse
import asyncio
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from peers import kaspa_proto as kp  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SENSOR = os.environ.get("KASPA_SENSOR", os.path.join(REPO, "kaspa-sensor"))
NETWORK = "kaspa-mainnet"
AM_MAX = 4096
MAX_FAILURES = 3
RECEIVE_MAX = 2500
OUTBOUND_TARGET = 8
INBOUND_LIMIT = 128


def node_ip(i):
    return "127.77.%d.%d" % (i // 250, i % 250 + 1)


def ip_bytes(ip):
    return bytes(int(x) for x in ip.split("."))


class Conn:
    """One P2P connection of a node, either role, on python-h2."""

    def __init__(self, node, reader, writer, outbound, dialed=None):
        self.node, self.reader, self.writer = node, reader, writer
        self.outbound, self.dialed = outbound, dialed
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=outbound, header_encoding="utf-8"))
        self.sid = None
        self.buf = b""
        self.got_version = self.got_verack = self.got_ready = False
        self.sent_ready = False
        self.peer_version = None
        self.ready = asyncio.get_running_loop().create_future()
        self.closed = False

    def flush(self):
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def send(self, msg):
        if self.sid is None or self.closed:
            return
        body = msg.SerializeToString()
        self.h2.send_data(self.sid, struct.pack(">BI", 0, len(body)) + body)
        self.flush()

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.h2.close_connection()
            self.flush()
        except Exception:
            pass
        self.writer.close()
        if not self.ready.done():
            self.ready.set_result(False)

    def start(self):
        self.h2.initiate_connection()
        if self.outbound:
            self.sid = self.h2.get_next_available_stream_id()
            self.h2.send_headers(self.sid, [
                (":method", "POST"), (":scheme", "http"),
                (":path", kp.METHOD), (":authority", self.dialed[0]),
                ("content-type", "application/grpc"), ("te", "trailers")])
            self.send_version()
        self.flush()

    def send_version(self):
        n = self.node
        self.send(kp.make_version(protocol_version=10, peer_id=n.node_id,
                                  user_agent="/simnode:0.1/", network=NETWORK,
                                  address=(ip_bytes(n.ip), n.port)
                                  if n.advertise else None))

    async def run(self):
        self.start()
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                for ev in self.h2.receive_data(data):
                    self.event(ev)
                self.flush()
        except (ConnectionError, OSError, h2.exceptions.ProtocolError):
            pass
        finally:
            self.close()
            self.node.conn_closed(self)

    def event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            self.sid = ev.stream_id
            self.h2.send_headers(self.sid, [(":status", "200"),
                                            ("content-type", "application/grpc")])
            self.send_version()
        elif isinstance(ev, h2.events.DataReceived):
            self.h2.acknowledge_received_data(ev.flow_controlled_length,
                                              ev.stream_id)
            self.buf += ev.data
            while len(self.buf) >= 5:
                flag, n = struct.unpack(">BI", self.buf[:5])
                if len(self.buf) < 5 + n:
                    break
                body, self.buf = self.buf[5:5 + n], self.buf[5 + n:]
                if flag:
                    import gzip
                    body = gzip.decompress(body)
                self.message(kp.KaspadMessage.FromString(body))
        elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset,
                             h2.events.ConnectionTerminated)):
            self.close()

    def message(self, m):
        kind = kp.kind(m)
        if kind == "version" and not self.got_version:
            self.got_version, self.peer_version = True, m.version
            if m.version.network != NETWORK or len(m.version.id) != 16:
                self.close()
                return
            self.send(kp.simple("verack"))
        elif kind == "verack":
            self.got_verack = True
        elif kind == "ready":
            self.got_ready = True
        elif kind == "reject":
            self.close()
            return
        elif kind == "requestAddresses":
            reply = kp.KaspadMessage()
            reply.addresses.SetInParent()
            if m.request_id:
                reply.response_id = m.request_id
            for ip, port in self.node.sample():
                a = reply.addresses.addressList.add()
                a.ip, a.port = ip_bytes(ip), port
            self.send(reply)
        elif kind == "addresses":
            for a in m.addresses.addressList[:RECEIVE_MAX]:
                if len(a.ip) == 4:
                    self.node.add_address((".".join(map(str, a.ip)), a.port))
        elif kind == "ping":
            self.send(kp.simple("pong", nonce=m.ping.nonce))
        if self.got_version and self.got_verack and not self.sent_ready:
            self.sent_ready = True
            self.send(kp.simple("ready"))
        if self.sent_ready and self.got_ready and not self.ready.done():
            self.ready.set_result(True)
            self.node.handshake_done(self)


class Node:
    def __init__(self, net, i, port):
        self.net, self.i, self.ip, self.port = net, i, node_ip(i), port
        self.node_id = os.urandom(16)
        self.advertise = True
        self.am = {}                 # (ip, port) -> failure count
        self.outbound = {}           # (ip, port) -> Conn
        self.inbound = set()
        self.server = None
        self.dialing = set()

    # ---- address manager ----
    def add_address(self, addr):
        if addr == (self.ip, self.port) or addr in self.am:
            return
        self.am[addr] = 1            # 0 only after a first success
        while len(self.am) > AM_MAX:
            worst = max(self.am, key=self.am.get)
            del self.am[worst]

    def mark_failure(self, addr):
        if addr in self.am:
            self.am[addr] += 1
            if self.am[addr] > MAX_FAILURES:
                del self.am[addr]

    def sample(self):
        keys = list(self.am)
        return random.sample(keys, min(self.net.reply_max, len(keys)))

    def pick(self, n):
        cands = [a for a in self.am if a not in self.outbound
                 and a not in self.dialing]
        weights = [64.0 ** (MAX_FAILURES + 1 - self.am[a]) for a in cands]
        out = []
        while cands and len(out) < n:
            k = random.choices(range(len(cands)), weights)[0]
            out.append(cands.pop(k))
            weights.pop(k)
        return out

    # ---- connections ----
    def handshake_done(self, conn):
        if conn.outbound:
            self.add_address(conn.dialed)
        v = conn.peer_version
        if v.HasField("address") and len(v.address.ip) == 4:
            self.add_address((".".join(map(str, v.address.ip)), v.address.port))
        conn.send(kp.simple("requestAddresses"))

    def conn_closed(self, conn):
        if conn.outbound:
            if self.outbound.get(conn.dialed) is conn:
                del self.outbound[conn.dialed]
        else:
            self.inbound.discard(conn)

    async def on_inbound(self, reader, writer):
        conn = Conn(self, reader, writer, outbound=False)
        self.inbound.add(conn)
        if len(self.inbound) > INBOUND_LIMIT:
            random.choice(list(self.inbound)).close()
        await conn.run()

    async def dial(self, addr):
        self.dialing.add(addr)
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                addr[0], addr[1], local_addr=(self.ip, 0)), 1.0)
        except (OSError, asyncio.TimeoutError):
            self.mark_failure(addr)
            self.dialing.discard(addr)
            return
        conn = Conn(self, reader, writer, outbound=True, dialed=addr)
        task = asyncio.ensure_future(conn.run())
        self.net.tasks.add(task)
        task.add_done_callback(self.net.tasks.discard)
        try:
            ok = await asyncio.wait_for(asyncio.shield(conn.ready), 4.0)
        except asyncio.TimeoutError:
            ok = False
        self.dialing.discard(addr)
        if ok and not conn.closed:
            self.am[addr] = 0        # mark_connection_success
            self.outbound[addr] = conn
        else:
            conn.close()
            self.mark_failure(addr)

    def tick(self):
        if self.outbound and random.random() < self.net.churn:
            random.choice(list(self.outbound.values())).close()
        missing = OUTBOUND_TARGET - len(self.outbound) - len(self.dialing)
        for addr in self.pick(max(0, missing)):
            task = asyncio.ensure_future(self.dial(addr))
            self.net.tasks.add(task)
            task.add_done_callback(self.net.tasks.discard)


class Net:
    def __init__(self, n, port, reply_max, churn, tick, seed_peers):
        self.reply_max, self.churn, self.tick_s = reply_max, churn, tick
        self.nodes = [Node(self, i, port) for i in range(n)]
        self.tasks = set()
        self.frozen = False
        for node in self.nodes:      # what DNS seeding would give
            for j in random.sample(range(n), min(seed_peers, n - 1) + 1):
                if j != node.i:
                    node.add_address((node_ip(j), port))

    async def start(self):
        for node in self.nodes:
            node.server = await asyncio.start_server(
                node.on_inbound, node.ip, node.port, backlog=256)

    async def run_ticks(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.frozen:
                for node in self.nodes:
                    node.tick()
            await asyncio.sleep(self.tick_s)

    async def settle(self, seconds=1.0):
        """Let dials in flight finish (ticks paused)."""
        self.frozen = True
        await asyncio.sleep(seconds)

    def knowing(self, addr):
        return sorted(n.ip for n in self.nodes if addr in n.am)

    async def stop(self):
        for node in self.nodes:
            node.server.close()
            for c in list(node.outbound.values()) + list(node.inbound):
                c.close()
        await asyncio.sleep(0.2)
        for t in list(self.tasks):
            t.cancel()


# ---- the sensor, the crawler, the report ----

SCENARIOS = {
    # name: (sensor extra args, address seeded into some address books)
    "before_ready": (["--network", "kaspa-simnet"], True),
    "after_ready": (["--linger-ms", "0"], True),
    "linger": (["--linger-ms", "600000"], True),
    "no_announce": (["--linger-ms", "600000"], False),
    "announce": (["--linger-ms", "600000", "--announce",
                  "--announce-allow-private", "--announce-interval-s", "1",
                  "--announce-per-round", "4", "--announce-redial-s", "3600",
                  "--announce-linger-ms", "3000"], False),
}


def start_sensor(workdir, ip, port, extra, announce_peers):
    args = [SENSOR, "--listen", "%s:%d" % (ip, port), "--no-probe",
            "--log", os.path.join(workdir, "sensor.ndjson"),
            "--max-conns-per-ip", "64", "--sensor-id", "sim"]
    if "--announce" in extra:
        args += ["--external-address", "%s:%d" % (ip, port),
                 "--announce-peers", ",".join(announce_peers)]
    err = open(os.path.join(workdir, "sensor.err"), "wb")
    return subprocess.Popen(args + extra, stdout=err, stderr=err,
                            stdin=subprocess.DEVNULL)


async def crawl(seed, watch, out, requests=3, extra=()):
    args = [SENSOR, "crawl", "--seed", seed, "--watch", watch, "--out", out,
            "--crawl-allow-private", "--crawl-requests", str(requests),
            "--crawl-concurrency", "64", "--crawl-request-timeout-ms", "2000",
            "--crawl-max-seconds", "60"] + list(extra)
    p = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    _, err = await p.communicate()
    if p.returncode != 0:
        raise RuntimeError("crawl failed: %s" % err.decode())
    return err.decode().strip()


def report(watch, since, files):
    out = subprocess.run([SENSOR, "report", "--watch", watch, "--since",
                          since, "--json"] + list(files),
                         capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)


def read_crawl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


async def scenario(name, nodes=200, port=16111, duration=20.0, checkpoints=4,
                   reply_max=50, churn=0.05, tick=0.5, seed_frac=0.1,
                   seed_peers=12, workdir=None, log=print):
    """Run one scenario; returns a list of checkpoint dicts."""
    workdir = workdir or tempfile.mkdtemp(prefix="gossip_%s_" % name)
    extra, seeded = SCENARIOS[name]
    net = Net(nodes, port, reply_max, churn, tick, seed_peers)
    sensor_ip = "127.78.0.1"
    sensor_addr = (sensor_ip, port)
    watch = "%s:%d" % sensor_addr
    if seeded:
        for node in random.sample(net.nodes, max(1, int(nodes * seed_frac))):
            node.add_address(sensor_addr)
    await net.start()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.monotonic()
    sensor = start_sensor(workdir, sensor_ip, port, extra,
                          ["%s:%d" % (node_ip(i), port) for i in range(4)])
    results = []
    try:
        for k in range(1, checkpoints + 1):
            net.frozen = False
            await net.run_ticks(duration / checkpoints)
            await net.settle()
            truth = net.knowing(sensor_addr)
            out = os.path.join(workdir, "crawl.ndjson")
            await crawl("%s:%d" % (node_ip(0), port), watch, out)
            rep = report(watch, since, [out])
            last = rep["watch"][0]["trend"][-1]
            row = {"scenario": name, "t_s": round(time.monotonic() - t0, 1),
                   "ticks": round((time.monotonic() - t0) / tick),
                   "nodes_knowing": len(truth), "visited": last["visited"],
                   "reachable": last["reachable"],
                   "replies": last["replies"],
                   "replies_with": last["replies_with"],
                   "share": last["share"], "advertisers": last["advertisers"],
                   "first_seen_s": last["first_seen_after_since_s"]}
            results.append(row)
            log(json.dumps(row))
    finally:
        sensor.terminate()
        sensor.wait(10)
        await net.stop()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--port", type=int, default=16111)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--checkpoints", type=int, default=4)
    ap.add_argument("--reply-max", type=int, default=50)
    ap.add_argument("--churn", type=float, default=0.05)
    ap.add_argument("--seed-frac", type=float, default=0.1)
    ap.add_argument("--random-seed", type=int, default=1)
    a = ap.parse_args()
    random.seed(a.random_seed)
    for name in a.scenario or sorted(SCENARIOS):
        asyncio.run(scenario(name, a.nodes, a.port, a.duration,
                             a.checkpoints, a.reply_max, a.churn,
                             seed_frac=a.seed_frac))


if __name__ == "__main__":
    main()
