"""Crawler, report and announce mode against a simulated network of 200
nodes on 127.77.0.0/16 (test/gossip/simnet.py), with the real sensor on
127.78.0.1.  Ground truth comes from the simulated address managers."""

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gossip"))
import simnet  # noqa: E402

NODES = 200
PORT = 16111
SENSOR_IP = "127.78.0.1"
WATCH = "%s:%d" % (SENSOR_IP, PORT)


class GossipCase(unittest.TestCase):
    def setUp(self):
        random.seed(7)
        self.dir = tempfile.mkdtemp(prefix="gossip_itest_")

    def run_async(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 90))

    def sensor_lines(self):
        with open(os.path.join(self.dir, "sensor.ndjson")) as f:
            return [json.loads(line) for line in f]

    async def network(self, sensor_args, seeded, reply_max, ticks):
        """Start the nodes and the sensor, run `ticks` ticks, freeze."""
        net = simnet.Net(NODES, PORT, reply_max, churn=0.05, tick=0.25,
                         seed_peers=12)
        if seeded:
            for node in random.sample(net.nodes, 20):
                node.add_address((SENSOR_IP, PORT))
        await net.start()
        sensor = simnet.start_sensor(
            self.dir, SENSOR_IP, PORT, sensor_args,
            ["%s:%d" % (simnet.node_ip(i), PORT) for i in range(4)])
        self.addCleanup(sensor.wait, 10)
        self.addCleanup(sensor.terminate)
        await net.run_ticks(ticks * net.tick_s)
        await net.settle(1.5)
        return net, sensor

    def test_crawl_finds_every_node_and_the_exact_advertisers(self):
        async def go():
            # reply_max above any address book: a reply is the whole book,
            # so "the reply holds the sensor" == "the node knows it".
            net, sensor = await self.network(["--linger-ms", "600000"],
                                             seeded=True, reply_max=1000,
                                             ticks=12)
            out = os.path.join(self.dir, "crawl.ndjson")
            t0 = time.monotonic()
            await simnet.crawl("%s:%d" % (simnet.node_ip(0), PORT), WATCH,
                               out, requests=1)
            took = time.monotonic() - t0
            truth = set(net.knowing((SENSOR_IP, PORT)))
            await net.stop()
            return out, truth, took

        out, truth, took = self.run_async(go())
        lines = simnet.read_crawl(out)
        peers = [x for x in lines if x["type"] == "peer"]
        reachable = {x["address"] for x in peers if x["reachable"]}
        want = {"%s:%d" % (simnet.node_ip(i), PORT) for i in range(NODES)}
        self.assertEqual(reachable, want | {WATCH})
        self.assertEqual(len(peers), NODES + 1)      # each visited once
        replies = [x for x in lines if x["type"] == "addresses"]
        self.assertEqual(len(replies), NODES + 1)
        advertisers = {x["from"].rsplit(":", 1)[0] for x in replies
                       if WATCH in x["watched"]}
        self.assertGreater(len(truth), 20)           # it did spread
        self.assertEqual(advertisers, truth)
        rep = simnet.report(WATCH, "0", [out])["watch"][0]
        self.assertEqual(rep["total"]["replies"], NODES + 1)
        self.assertEqual(rep["total"]["replies_with"], len(truth))
        self.assertEqual(rep["total"]["advertisers"], len(truth))
        self.assertLess(took, 20)

    def test_without_announce_nobody_records_the_sensor(self):
        async def go():
            net, _ = await self.network(["--linger-ms", "600000"],
                                        seeded=False, reply_max=50, ticks=12)
            truth = net.knowing((SENSOR_IP, PORT))
            await net.stop()
            return truth

        self.assertEqual(self.run_async(go()), [])

    def test_announce_is_recorded_and_then_gossiped(self):
        async def go():
            args = simnet.SCENARIOS["announce"][0]
            net, sensor = await self.network(args, seeded=False,
                                             reply_max=50, ticks=20)
            out = os.path.join(self.dir, "crawl.ndjson")
            await simnet.crawl("%s:%d" % (simnet.node_ip(0), PORT), WATCH,
                               out, requests=3)
            truth = set(net.knowing((SENSOR_IP, PORT)))
            await net.stop()
            return out, truth

        out, truth = self.run_async(go())
        announced = {x["peer_address"].rsplit(":", 1)[0]
                     for x in self.sensor_lines()
                     if x.get("direction") == "announce"
                     and x["stage_reached"] == "ready"}
        self.assertTrue(announced)
        # Every node the sensor completed Ready with recorded it ...
        self.assertLessEqual(announced, truth)
        # ... and others learned it from Addresses replies.
        self.assertTrue(truth - announced)
        lines = simnet.read_crawl(out)
        advertisers = {x["from"].rsplit(":", 1)[0] for x in lines
                       if x["type"] == "addresses" and WATCH in x["watched"]}
        self.assertTrue(advertisers - announced)
        self.assertLessEqual(advertisers, truth)


if __name__ == "__main__":
    unittest.main()
