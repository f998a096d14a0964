#!/usr/bin/python3
"""Crawl speed at scale: N simulated nodes (test/gossip/simnet.py's nodes,
each on its own 127.77.x.y, each knowing --known random others) and one
`kaspa-sensor crawl` from node 0.  Prints how many were visited and how
long it took.  Loopback only; the nodes run in this one Python process, so
the figure is a lower bound on the crawler's own speed.

    /usr/bin/python3 bench/crawl_scale.py [--nodes 3000] [--known 20] [--requests 3]
"""

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "gossip"))
import simnet  # noqa: E402


async def main(a):
    random.seed(1)
    net = simnet.Net(a.nodes, a.port, reply_max=1000, churn=0.0, tick=1.0,
                     seed_peers=a.known)
    await net.start()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "crawl.ndjson")
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            simnet.SENSOR, "crawl", "--seed",
            "%s:%d" % (simnet.node_ip(0), a.port), "--out", out,
            "--crawl-allow-private", "--crawl-concurrency",
            str(a.concurrency), "--crawl-requests", str(a.requests),
            "--crawl-max-seconds", "600",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        secs = time.monotonic() - t0
        await net.stop()
        if proc.returncode != 0:
            sys.exit("crawl failed: %s" % err.decode())
        peers = [json.loads(l) for l in open(out)]
        peers = [p for p in peers if p.get("type") == "peer"]
    ok = sum(1 for p in peers if p.get("reachable"))
    print("crawl of %d simulated nodes (each knowing %d others), "
          "concurrency %d, %d RequestAddresses per peer"
          % (a.nodes, a.known, a.concurrency, a.requests))
    print("%-40s %d of %d" % ("peers visited / reachable", len(peers), ok))
    print("%-40s %.1f s" % ("wall time", secs))
    print("%-40s %.0f peers/s" % ("rate", len(peers) / secs))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=3000)
    p.add_argument("--known", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--requests", type=int, default=3)
    p.add_argument("--port", type=int, default=17777)
    asyncio.run(main(p.parse_args()))
