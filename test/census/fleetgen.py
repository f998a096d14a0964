#!/usr/bin/python3
"""A generated fleet log with known truth, for the census tests and bench.

Ids (nodes; a restarted node has two ids) are public (own IP, listening)
or private (some behind one NAT IP); each sensor sees each private id with
its own probability and each public id with another, independently: the
model the capture-recapture estimators assume.  A sighting is 1..3 inbound
lines as kaspa-sensor writes them (probe verdict first, then cached ones);
one crawl reaches every public id.  Some lines have no Version, some are of
another network, announce lines and crawl addresses lines are mixed in.

    fleetgen.py --seed 1 --out DIR            # one file per sensor + crawl
    fleetgen.py --lines 1000000 --out FILE    # one file of about N lines
"""

import argparse
import json
import os
import random

NETWORK = "kaspa-mainnet"
T0 = 1795449600.0                     # 2026-11-23T00:00:00Z
UAS = ["/kaspad:1.0.1/", "/kaspad:1.0.0/", "/kaspad:0.16.1/",
       "/kaspad:1.0.1/kaspa-ng:1.0.0/", "/rusty-kaspa-relay:0.3/"]
FORK_UA = "/rusty-kaspa-relay:0.3/"


def ts_text(t):
    sec = int(t)
    us = int(round((t - sec) * 1e6))
    if us >= 1000000:
        sec, us = sec + 1, us - 1000000
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + \
        ".%06dZ" % us


class Ident:
    def __init__(self, rng, node, ip, public, fork):
        self.id = "%032x" % rng.getrandbits(128)
        self.node, self.ip, self.public = node, ip, public
        self.ua = FORK_UA if fork else rng.choice(UAS[:4])
        self.pv = rng.choice([6, 7, 7, 7])
        self.services = 1 | (1 << 40 if fork else 0)
        self.fork = fork
        self.sensors = set()


class Fleet:
    """The population, who saw whom, and the truth the census must find."""

    def __init__(self, seed, public=60, private=140, sensors=4,
                 p_private=(0.3, 0.25, 0.35, 0.2), p_public=0.5,
                 nat_groups=8, nat_size=3, restarts=10, forks=6,
                 span_s=6 * 3600.0):
        rng = self.rng = random.Random(seed)
        self.span_s = span_s
        self.sensors = ["s%02d-as%d" % (i, 64500 + i) for i in range(sensors)]
        self.ids = []
        n_node = 0
        for i in range(public):
            ip = "198.18.%d.%d" % (i // 250, i % 250 + 1)
            self.ids.append(Ident(rng, n_node, ip, True, False))
            n_node += 1
        nat_ips = ["100.96.%d.1" % g for g in range(nat_groups)]
        for i in range(private):
            if i < nat_groups * nat_size:
                ip = nat_ips[i // nat_size]
            else:
                ip = "198.19.%d.%d" % (i // 250, i % 250 + 1)
            self.ids.append(Ident(rng, n_node, ip, False, i % 23 < 1
                                  and forks > 0))
            n_node += 1
        self.nodes = n_node
        # Restarts: the node keeps its IP and class and gets a second id.
        for old in rng.sample(self.ids, restarts):
            new = Ident(rng, old.node, old.ip, old.public, old.fork)
            new.ua, new.pv = old.ua, old.pv
            self.ids.append(new)
        for ident in self.ids:
            p = p_public if ident.public else None
            for k, name in enumerate(self.sensors):
                q = p if p is not None else p_private[k % len(p_private)]
                if rng.random() < q:
                    ident.sensors.add(name)

    # ---- truth ----
    def truth(self):
        seen = [x for x in self.ids if x.sensors or x.public]
        priv = [x for x in self.ids if not x.public]
        t = {"public": sum(x.public for x in seen),
             "private": sum(1 for x in priv if x.sensors),
             "private_all": len(priv),
             "nodes_private": len({x.node for x in priv}),
             "sensors": {}, "overlap": {},
             "ips": len({x.ip for x in seen}),
             "reached_dialed": sum(1 for x in seen
                                   if x.public and x.sensors)}
        for s in self.sensors:
            who = [x for x in self.ids if s in x.sensors]
            t["sensors"][s] = {"nodes": len(who),
                               "private": sum(not x.public for x in who),
                               "public": sum(x.public for x in who)}
        for i, a in enumerate(self.sensors):
            for b in self.sensors[i + 1:]:
                t["overlap"][(a, b)] = sum(
                    1 for x in priv if a in x.sensors and b in x.sensors)
        return t

    # ---- lines ----
    def inbound(self, sensor, seq, x, t, verdict, cached):
        line = {
            "ts": ts_text(t), "event_id": "%s-%d" % (sensor, seq),
            "sensor_id": sensor, "direction": "inbound", "peer_ip": x.ip,
            "peer_port": 40000 + seq % 20000, "local_port": 16111,
            "protocol_version": x.pv, "user_agent": x.ua,
            "network": NETWORK, "peer_id": x.id,
            "advertised_address": "%s:16111" % x.ip if x.public else None,
            "services": x.services, "disable_relay_tx": False,
            "peer_timestamp_ms": int(t * 1000),
            "unknown_fields": [{"field": 11, "wire_type": 0, "value": 3}]
            if x.fork else [],
            "advertised_unknown_fields":
            ([{"field": 5, "wire_type": 0, "value": 4001}] if x.fork else [])
            if x.public else None,
            "our_protocol_version": x.pv, "version_order": "peer_first",
            "http_user_agent": "tonic/0.12.3", "compressed": True,
            "handshake_ms": 46.419, "duration_ms": 5047.661,
            "stage_reached": "ready", "outcome": "ok", "reject_reason": None}
        reason = verdict + "_verified" if verdict == "advertised" else verdict
        cls = "public" if x.public else "private"
        if cached:
            line.update(classification=cls, classification_reason="cached",
                        cached_reason=reason,
                        probe_target="%s:16111" % x.ip if x.public else None)
        else:
            line.update(classification=cls, classification_reason=reason,
                        probe_target="%s:16111" % x.ip if x.public else None,
                        probe_attempts=[{
                            "target": "%s:16111" % x.ip,
                            "kind": "advertised" if x.public
                            else "default_port",
                            "connect": "connected" if x.public
                            else "refused",
                            "rtt_ms": 21.247 if x.public else None,
                            "verify": "verified" if x.public else None}],
                        probe_ms=43.741)
        line.update(bytes_in=469, bytes_out=281)
        return line

    def junk(self, sensor, seq, t):
        """A scanner (no Version) or a node of another network."""
        base = {"ts": ts_text(t), "event_id": "%s-%d" % (sensor, seq),
                "sensor_id": sensor, "direction": "inbound",
                "peer_ip": "203.0.113.%d" % (seq % 250 + 1),
                "peer_port": 50000, "local_port": 16111}
        if seq % 2:
            base.update({k: None for k in (
                "protocol_version", "user_agent", "network", "peer_id",
                "advertised_address", "services", "disable_relay_tx",
                "peer_timestamp_ms", "unknown_fields",
                "advertised_unknown_fields", "our_protocol_version",
                "version_order", "http_user_agent")})
            base.update(compressed=False, handshake_ms=None,
                        duration_ms=1.5, stage_reached="tcp",
                        outcome="not_http2", reject_reason=None,
                        classification=None, classification_reason=None,
                        first_bytes="16030100", bytes_in=64, bytes_out=0)
        else:
            base.update(protocol_version=7, user_agent="/kaspad:1.0.1/",
                        network="kaspa-testnet-10",
                        peer_id="%032x" % self.rng.getrandbits(128),
                        outcome="wrong_network", classification=None,
                        classification_reason=None)
        return base

    def announce(self, sensor, seq, t):
        x = self.rng.choice([i for i in self.ids if i.public])
        return {"ts": ts_text(t), "event_id": "%s-%d" % (sensor, seq),
                "sensor_id": sensor, "direction": "announce",
                "peer_address": "%s:16111" % x.ip, "outcome": "ok",
                "stage_reached": "ready", "peer_id": x.id,
                "user_agent": x.ua, "protocol_version": x.pv,
                "requests_answered": 1, "pings_answered": 0,
                "addresses_received": 12, "duration_ms": 30012.5}

    def sensor_lines(self, sensor, repeat=1):
        """Every line of one sensor, in time order."""
        rng = self.rng
        events = []
        for x in self.ids:
            if sensor not in x.sensors:
                continue
            for _ in range(repeat * rng.randint(1, 3)):
                events.append((T0 + rng.random() * self.span_s, x))
        events.sort(key=lambda e: e[0])
        out, first = [], set()
        for seq, (t, x) in enumerate(events):
            cached = x.id in first
            first.add(x.id)
            out.append(self.inbound(sensor, seq, x, t,
                                    "advertised" if x.public
                                    else "all_refused", cached))
        n = len(out)
        for k in range(max(2, n // 40)):
            t = T0 + rng.random() * self.span_s
            out.append(self.junk(sensor, n + 2 * k, t))
            out.append(self.announce(sensor, n + 2 * k + 1, t))
        out.sort(key=lambda line: line["ts"])
        return out

    def crawl_lines(self, crawl_id="c0ffee0000000001"):
        t = T0 + self.span_s / 2
        pub = [x for x in self.ids if x.public]
        # A public node that restarted answers with its newest id.
        newest = {}
        for x in pub:
            newest[x.node] = x
        lines = [{"type": "crawl_start", "crawl_id": crawl_id,
                  "ts": ts_text(t), "event_id": crawl_id + "-0",
                  "network": NETWORK, "seeds": ["198.18.0.1:16111"],
                  "watch": [], "requests": 1}]
        seq = 1
        reached = set()
        for x in pub:
            if newest[x.node] is not x and x.sensors:
                continue     # only its new id is up when the crawl comes
            reached.add(x.id)
            lines.append({"type": "peer", "crawl_id": crawl_id,
                          "ts": ts_text(t + seq * 0.01),
                          "event_id": "%s-%d" % (crawl_id, seq),
                          "address": "%s:16111" % x.ip, "depth": 1,
                          "reachable": True, "reason": "ok",
                          "stage": "ready", "peer_id": x.id,
                          "user_agent": x.ua, "protocol_version": x.pv,
                          "advertised_address": "%s:16111" % x.ip,
                          "reject_reason": None, "replies": 1,
                          "addresses": 3, "new_addresses": 1,
                          "connect_ms": 0.2, "handshake_ms": 3.1,
                          "duration_ms": 9.9})
            seq += 1
            lines.append({"type": "addresses", "crawl_id": crawl_id,
                          "ts": ts_text(t + seq * 0.01),
                          "event_id": "%s-%d" % (crawl_id, seq),
                          "from": "%s:16111" % x.ip, "seq": 1, "count": 3,
                          "watched": []})
            seq += 1
        for x in [i for i in self.ids if not i.public][:5]:
            lines.append({"type": "peer", "crawl_id": crawl_id,
                          "ts": ts_text(t + seq * 0.01),
                          "event_id": "%s-%d" % (crawl_id, seq),
                          "address": "%s:16111" % x.ip, "depth": 2,
                          "reachable": False, "reason": "refused",
                          "stage": "none", "peer_id": None,
                          "user_agent": None, "protocol_version": None,
                          "advertised_address": None, "reject_reason": None,
                          "replies": 0, "addresses": 0, "new_addresses": 0,
                          "connect_ms": None, "handshake_ms": None,
                          "duration_ms": 0.1})
            seq += 1
        lines.append({"type": "crawl_end", "crawl_id": crawl_id,
                      "ts": ts_text(t + seq * 0.01),
                      "event_id": "%s-%d" % (crawl_id, seq),
                      "visited": seq, "reachable": len(reached),
                      "replies": len(reached), "frontier": seq,
                      "dropped": 0, "duration_ms": 1234.5})
        self.reached = reached
        return lines


def dumps(line):
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def write_fleet(fleet, directory):
    """One log per sensor and one crawl log; their paths."""
    paths = []
    for s in fleet.sensors:
        p = os.path.join(directory, "%s.ndjson" % s)
        with open(p, "w") as f:
            f.writelines(dumps(line) + "\n" for line in fleet.sensor_lines(s))
        paths.append(p)
    p = os.path.join(directory, "crawl.ndjson")
    with open(p, "w") as f:
        f.writelines(dumps(line) + "\n" for line in fleet.crawl_lines())
    return paths + [p]


def write_big(path, lines, seed=1):
    """Exactly `lines` lines of 16 sensors and a crawl in one file, from a
    fixed population (20,000 ids): the same ids come back, so memory
    should not grow with the line count.  Lines are built from one
    template per id and verdict (fast), each with its own ts and
    event_id."""
    fleet = Fleet(seed, public=6000, private=14000, sensors=16,
                  p_private=(0.3, 0.2, 0.25, 0.35), p_public=0.5,
                  nat_groups=400, restarts=500, span_s=86400.0)
    rng = fleet.rng
    crawl = [dumps(line) for line in fleet.crawl_lines()]
    seen = [(s, x) for x in fleet.ids for s in sorted(x.sensors)]
    templates = {}
    with open(path, "w") as f:
        f.writelines(line + "\n" for line in crawl)
        for k in range(lines - len(crawl)):
            t = T0 + fleet.span_s * k / lines
            if k % 50 == 49:       # scanners, other networks, announces
                line = dumps(fleet.junk("s00-as64500", k, t) if k % 100 == 49
                             else fleet.announce("s01-as64501", k, t))
                f.write(line + "\n")
                continue
            s, x = seen[rng.randrange(len(seen))]
            cached = (x.id, s) in templates
            key = (x.id, s, cached)
            if key not in templates:
                templates[key] = dumps(fleet.inbound(
                    s, 0, x, 0.0, "advertised" if x.public else "all_refused",
                    cached)).replace(ts_text(0.0), "@TS@").replace(
                    '"%s-0"' % s, '"@EV@"')
            f.write(templates[key].replace("@TS@", ts_text(t)).replace(
                "@EV@", "%s-%d" % (s, k)) + "\n")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines", type=int)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.lines:
        print(write_big(a.out, a.lines, a.seed))
    else:
        os.makedirs(a.out, exist_ok=True)
        fleet = Fleet(a.seed)
        for p in write_fleet(fleet, a.out):
            print(p)


if __name__ == "__main__":
    main()
