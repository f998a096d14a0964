#!/usr/bin/python3
"""A live fleet on loopback with known truth, for `kaspa-sensor census`.

Real kaspa-sensor processes on 127.82.0.1.. (each probing back with
--probe-allow-private) are dialed by simulated nodes (test/gossip/
simnet.py's Node and Conn: the real handshake over h2c) on 127.81.x.y:

  - public nodes listen on their IP:16111 and advertise it;
  - private nodes do not listen; some share one NAT IP, one shares the IP
    of a public node (its probe meets the other node: open_different_node);
  - some nodes restart half way: a new id, dials again;
  - each node dials a random subset of the sensors (some twice: the
    second verdict is cached);
  - three nodes have a part: a public node never dials (only the crawl
    sees it), a public node stops listening half way and dials another
    sensor (verified public, then private: conflicting), and a private
    node's IP has a listener that closes at once (open_not_kaspa: it
    stays unknown);
  - each sensor also gets a scanner (a line without a Version);
  - then one crawl from a public node reaches every public node, and one
    crawl without seeds logs its DNS seeders (name server 127.0.0.99:
    nothing answers, each name is an `error` line, nothing leaves 127/8).

Dials from one IP run one at a time, each waiting for its line (the
sensor probes one IP at a time and would say rate_limited), so every
verdict is known in advance: Fleet.truth() is what the census must say.
"""

import asyncio
import json
import os
import random
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gossip"))
import simnet  # noqa: E402

PORT = 16111
SENSOR_IP = "127.82.0.%d"
WAIT_LINE_S = 15.0


def node_ip(i):
    return "127.81.%d.%d" % (i // 250, i % 250 + 1)


class Fleet:
    def __init__(self, workdir, seed=1, public=10, private=14, nat_ips=2,
                 nat_size=3, restarts=4, sensors=4, p_dial=0.5,
                 sensor_args=(), announce_from=None):
        self.dir, self.rng = workdir, random.Random(seed)
        self.sensor_args, self.announce_from = list(sensor_args), announce_from
        self.net = simnet.Net(0, PORT, reply_max=1000, churn=0.0, tick=1.0,
                              seed_peers=0)
        self.nodes = []
        for i in range(public + private):
            node = simnet.Node(self.net, i, PORT)
            node.node_id = self.rng.getrandbits(128).to_bytes(16, "big")
            node.public = i < public
            node.advertise = node.public
            node.ip = node_ip(i)
            self.nodes.append(node)
        privs = self.nodes[public:]
        # NAT: groups of private nodes behind one IP; and one private node
        # behind the IP of public node 0.
        for g in range(nat_ips):
            for node in privs[g * nat_size:(g + 1) * nat_size]:
                node.ip = node_ip(200 + g)
        privs[-1].ip = self.nodes[0].ip
        self.crawl_only, self.flipper = self.nodes[1], self.nodes[2]
        self.closer = privs[-3]
        plain = [n for n in self.nodes if n not in (
            self.crawl_only, self.flipper, self.closer)]
        self.restarting = self.rng.sample(plain, restarts)
        self.sensors = ["sim-s%d" % k for k in range(sensors)]
        self.sensor_ip = {s: SENSOR_IP % (k + 1)
                          for k, s in enumerate(self.sensors)}
        self.p_dial = p_dial
        self.procs = {}
        self.ids = {}            # id hex -> {"class", "ip", "sensors"}
        self.dials = 0
        self.scanners = 0

    # ---- the sensors ----
    def log(self, sensor):
        return os.path.join(self.dir, "%s.ndjson" % sensor)

    def announce_args(self, sensor):
        """announce_from dials two public nodes, once each."""
        if sensor != self.announce_from:
            return []
        peers = ["%s:%d" % (n.ip, PORT) for n in self.nodes[:2]]
        return ["--announce", "--announce-allow-private",
                "--external-address", "%s:%d" % (self.sensor_ip[sensor], PORT),
                "--announce-peers", ",".join(peers), "--announce-interval-s",
                "1", "--announce-linger-ms", "200"]

    def start_sensors(self):
        for s in self.sensors:
            args = [simnet.SENSOR, "--listen", "%s:%d" % (self.sensor_ip[s],
                                                           PORT),
                    "--log", self.log(s), "--sensor-id", s,
                    "--probe-allow-private", "--probe-timeout-ms", "3000",
                    "--probe-budget-ms", "6000", "--linger-ms", "200",
                    "--max-conns-per-ip", "64"] + self.sensor_args + \
                self.announce_args(s)
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("SENSOR_")}
            with open(os.path.join(self.dir, "%s.err" % s), "wb") as err:
                self.procs[s] = subprocess.Popen(
                    args, stdout=err, stderr=err, stdin=subprocess.DEVNULL,
                    env=env)

    async def sensors_listening(self):
        for s in self.sensors:
            for _ in range(250):
                try:
                    _, w = await asyncio.open_connection(
                        self.sensor_ip[s], PORT, local_addr=("127.82.1.1", 0))
                    w.close()
                    self.scanners += 1     # an empty connection: one line
                    break
                except OSError:
                    if self.procs[s].poll() is not None:
                        raise RuntimeError("sensor %s exited" % s)
                    await asyncio.sleep(0.02)
            else:
                raise RuntimeError("sensor %s does not listen" % s)

    def stop_sensors(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            p.wait(20)

    def lines(self, sensor):
        try:
            with open(self.log(sensor), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(x) for x in data.split(b"\n")[:-1]]

    async def wait_lines(self, sensor, peer_id, n):
        """Until the sensor logged n lines for peer_id."""
        for _ in range(int(WAIT_LINE_S / 0.02)):
            if sum(1 for x in self.lines(sensor)
                   if x.get("peer_id") == peer_id) >= n:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("%s: no line for %s" % (sensor, peer_id))

    # ---- the nodes ----
    async def dial(self, node, sensor):
        """One full handshake with the sensor, then wait for its line."""
        addr = (self.sensor_ip[sensor], PORT)
        reader, writer = await asyncio.open_connection(
            addr[0], addr[1], local_addr=(node.ip, 0))
        conn = simnet.Conn(node, reader, writer, outbound=True, dialed=addr)
        task = asyncio.ensure_future(conn.run())
        try:
            ok = await asyncio.wait_for(asyncio.shield(conn.ready), 10)
        finally:
            conn.close()
            await task
        if not ok:
            raise RuntimeError("%s: no handshake with %s" % (node.ip, sensor))
        hexid = node.node_id.hex()
        rec = self.ids.setdefault(hexid, {"class": self.node_class(node),
                                          "ip": node.ip, "sensors": {}})
        rec["sensors"][sensor] = rec["sensors"].get(sensor, 0) + 1
        self.dials += 1
        await self.wait_lines(sensor, hexid, rec["sensors"][sensor])

    def node_class(self, node):
        if node is self.flipper:
            return "conflicting"
        if node is self.closer:
            return "unknown"
        return "public" if node.public else "private"

    def plan(self, node):
        """The sensors this id dials, one of them maybe twice."""
        if node is self.crawl_only:
            return []
        if node in (self.flipper, self.closer):
            return [self.sensors[0]]     # then another, see run()
        chosen = [s for s in self.sensors if self.rng.random() < self.p_dial]
        if chosen and self.rng.random() < 0.3:
            chosen.append(chosen[0])            # its verdict is cached
        return chosen

    async def phase(self, plans):
        """Every planned dial; one IP's dials one after another."""
        by_ip = {}
        for node, sensors in plans:
            by_ip.setdefault(node.ip, []).extend((node, s) for s in sensors)

        async def one_ip(dials):
            for node, s in dials:
                await self.dial(node, s)
        await asyncio.gather(*(one_ip(d) for d in by_ip.values()))

    async def run(self):
        self.start_sensors()
        try:
            for node in self.nodes:
                if node.public:
                    node.server = await asyncio.start_server(
                        node.on_inbound, node.ip, PORT, backlog=64)
            closer = await asyncio.start_server(
                lambda r, w: w.close(), self.closer.ip, PORT)
            await self.sensors_listening()
            await self.phase([(n, self.plan(n)) for n in self.nodes])
            for node in self.restarting:          # a new id, same node
                node.node_id = self.rng.getrandbits(128).to_bytes(16, "big")
            self.flipper.server.close()       # now behind a firewall
            await self.flipper.server.wait_closed()
            self.flipper.server = None
            await self.phase([(n, self.plan(n)) for n in self.restarting] +
                             [(n, [self.sensors[1]])    # a fresh verdict
                              for n in (self.flipper, self.closer)])
            await self.crawls()
            closer.close()
        finally:
            for node in self.nodes:
                if node.server is not None:
                    node.server.close()
        return self.paths()

    async def crawls(self):
        pubs = [n for n in self.nodes if n.public]
        for node in self.nodes:   # every public node, and one private;
            node.am = {}          # not the sensors they dialed
            for other in pubs + [self.nodes[-2]]:
                node.add_address((other.ip, PORT))
        self.crawled = [n.node_id.hex() for n in pubs if n.server]
        out = os.path.join(self.dir, "crawl.ndjson")
        await simnet.crawl("%s:%d" % (pubs[0].ip, PORT), "%s:%d" % (
            self.sensor_ip[self.sensors[0]], PORT), out, requests=1,
            extra=["--crawl-addresses"])
        conf = os.path.join(self.dir, "resolv.conf")
        with open(conf, "w") as f:
            f.write("nameserver 127.0.0.99\n")
        p = await asyncio.create_subprocess_exec(
            simnet.SENSOR, "crawl", "--resolv-conf", conf, "--out",
            os.path.join(self.dir, "seeders.ndjson"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        if await p.wait() != 0:
            raise RuntimeError("crawl without seeds failed")

    def paths(self):
        return [self.log(s) for s in self.sensors] + [
            os.path.join(self.dir, "crawl.ndjson"),
            os.path.join(self.dir, "seeders.ndjson")]

    # ---- what the census must find ----
    def truth(self):
        ids = {k: dict(v) for k, v in self.ids.items()}
        for hexid in self.crawled:
            node = next(n for n in self.nodes if n.node_id.hex() == hexid)
            ids.setdefault(hexid, {"class": "public", "ip": node.ip,
                                   "sensors": {}})
        priv = {k: v for k, v in ids.items() if v["class"] == "private"}
        t = {"nodes": len(ids), "inbound_lines": self.dials,
             "conflicting_ids": sorted(k for k, v in ids.items()
                                       if v["class"] == "conflicting"),
             "sensors": {}, "overlap": {},
             "reached": len(self.crawled),
             "reached_dialed": sum(1 for k in self.crawled
                                   if ids[k]["sensors"])}
        for k in ("public", "private", "unknown", "conflicting"):
            t[k] = sum(v["class"] == k for v in ids.values())
        for s in self.sensors:
            who = [v for v in ids.values() if s in v["sensors"]]
            t["sensors"][s] = {"nodes": len(who), "private": sum(
                v["class"] == "private" for v in who)}
        for i, a in enumerate(self.sensors):
            for b in self.sensors[i + 1:]:
                t["overlap"][(a, b)] = sum(
                    1 for v in priv.values()
                    if a in v["sensors"] and b in v["sensors"])
        per_ip = {}
        for v in ids.values():
            per_ip[v["ip"]] = per_ip.get(v["ip"], 0) + 1
        t["ips"] = len(per_ip)
        t["ids_per_ip"] = {}
        for n in per_ip.values():
            t["ids_per_ip"][n] = t["ids_per_ip"].get(n, 0) + 1
        return t


def census(paths, *args):
    out = subprocess.run([simnet.SENSOR, "census", "--json"] + list(args) +
                         list(paths), capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("census: %s" % out.stderr.decode())
    return json.loads(out.stdout)


def scanner(ip, port, source="127.82.1.1"):
    """Bytes that are not HTTP/2: a line with first_bytes, no Version."""
    with socket.create_connection((ip, port), timeout=5,
                                  source_address=(source, 0)) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello")
