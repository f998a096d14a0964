"""Faults: kill -9 at random moments during heavy logging (no torn line,
ever), and a full disk (the sensor keeps serving, says why on stderr, and
logs again once there is room)."""

import errno
import os
import random
import shutil
import subprocess
import tempfile
import time

from util import (Hammer, InteropCase, PeerOptions, Sensor, log_files,
                  quick_connection, read_lines, run_h2_peer,
                  skip_or_fail_in_ci, wait_for)

KILL_ROUNDS = 15
THREADS = 4


class KillNine(InteropCase):
    def test_no_torn_lines_after_sigkill(self):
        seed = int(os.environ.get("ROBUST_SEED", time.time()))
        rng = random.Random(seed)
        work = tempfile.mkdtemp(prefix="sensor_kill9_")
        self.addCleanup(shutil.rmtree, work, True)
        log = os.path.join(work, "s.ndjson")
        answered = 0
        for _ in range(KILL_ROUNDS):
            # A small --log-max-bytes: some kills land in a rotation too.
            self.sensor = Sensor("--log", log, "--log-max-bytes", "65536",
                                 "--log-keep", "1000",
                                 max_conns_per_ip=100000)
            hammer = Hammer(self.sensor.port, threads=THREADS).start()
            time.sleep(rng.uniform(0.05, 0.5))
            self.sensor.proc.kill()
            self.sensor.proc.wait(5)
            self.sensor.stderr.close()
            answered += len(hammer.stop())
        lines = 0
        for path in log_files(log):
            records, problems = read_lines(path)
            self.assertEqual(problems, [], "%s (ROBUST_SEED=%d)" % (path, seed))
            lines += len(records)
        print("kill -9: %d kills, %d lines in %d files, all whole; %d"
              " connections answered (seed %d)"
              % (KILL_ROUNDS, lines, len(log_files(log)), answered, seed))
        # A line is written when its connection closes; a kill loses the
        # connections still open (each client thread has at most its
        # current one and the previous one, whose EOF may be unread).
        self.assertGreater(lines, KILL_ROUNDS * 100, "logging was not heavy")
        self.assertLessEqual(lines, answered)
        self.assertLessEqual(answered - lines, KILL_ROUNDS * 2 * THREADS)


def mount_tmpfs(path, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                           "tmpfs", path], capture_output=True,
                          timeout=10).returncode == 0


def fill(path):
    """Write a file until the filesystem is full."""
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return


class DiskFull(InteropCase):
    def setUp(self):
        if os.geteuid() != 0:
            skip_or_fail_in_ci("mounting a tmpfs needs root")
        self.mnt = tempfile.mkdtemp(prefix="sensor_tmpfs_")
        if not mount_tmpfs(self.mnt, "256k"):
            os.rmdir(self.mnt)
            skip_or_fail_in_ci("cannot mount a tmpfs here")
        self.addCleanup(os.rmdir, self.mnt)
        self.addCleanup(subprocess.run, ["umount", self.mnt], timeout=10)

    def test_keeps_serving_and_resumes(self):
        log = os.path.join(self.mnt, "s.ndjson")
        self.sensor = Sensor("--log", log, max_conns_per_ip=100000)
        self.sensor.log = log       # for self.record()
        self.addCleanup(self.sensor.stop)
        port = self.sensor.port
        before, _ = quick_connection(port)
        self.record(before)

        filler = os.path.join(self.mnt, "filler")
        fill(filler)
        full = [quick_connection(port, bind="127.0.0.%d" % (100 + i))
                for i in range(20)]
        self.assertTrue(all(answered for _, answered in full),
                        "not served while the disk is full")
        out = run_h2_peer(self.sensor, PeerOptions(), bind="127.0.0.130")
        self.assert_handshake_ok(out)
        self.assertTrue(wait_for(lambda: "No space left on device" in
                                 self.sensor.stderr_text(), 3),
                        "no error on stderr:\n" + self.sensor.stderr_text())
        self.assertTrue(self.sensor.alive())

        os.unlink(filler)
        after, _ = quick_connection(port, bind="127.0.0.131")
        self.record(after)
        self.assertEqual(self.sensor.stop(), 0)
        records, problems = read_lines(log)
        self.assertEqual(problems, [])
        ports = [r["peer_port"] for r in records]
        self.assertIn(before, ports)
        self.assertIn(after, ports)
        print("disk full: %d of %d connections logged while full, all lines"
              " whole; logging resumed" % (
                  sum(p in ports for p, _ in full), len(full)))
