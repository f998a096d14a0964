"""Load: a connection flood beyond --max-conns, log rotation under load,
SIGTERM under load."""

import collections
import os
import select
import signal
import subprocess
import time

from util import (H2Transport, Hammer, Handshake, InteropCase, PeerOptions, Sensor,
                  connect_many, fd_count, kp, log_files, proc_status_kb,
                  raw_connect, read_lines, wait_for)

FAST = 2.0          # seconds: a refused connection must be closed by then


def start_handshake(port, i):
    """A peer whose Version went out and whose Version came back: the
    handshake is in progress (our Verack not sent)."""
    opts = PeerOptions(gzip=bool(i % 2))
    t = H2Transport("127.0.0.1", port, gzip=opts.gzip,
                    bind="127.0.0.%d" % (70 + i))
    hs = Handshake(t, opts)
    t.send(hs.version())
    hs.expect("version")
    return t, hs


def finish_handshake(t, hs):
    t.send(kp.simple("verack"))
    hs.expect("verack")
    t.send(kp.simple("ready"))
    hs.expect("ready")


def wait_closed(socks, timeout):
    """Sockets that saw EOF or a reset within timeout (each read once it
    is readable; data such as a GOAWAY is read past)."""
    open_ = {s.fileno(): s for s in socks}
    closed = []
    deadline = time.monotonic() + timeout
    while open_ and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_), [], [],
                                    max(0.0, deadline - time.monotonic()))
        for fd in ready:
            try:
                data = open_[fd].recv(65536)
            except OSError:
                data = b""
            if not data:
                closed.append(open_.pop(fd))
    return closed


def all_records(log):
    """Records of the log and its rotated files; fails on a bad line."""
    records, problems = [], []
    for path in log_files(log):
        r, p = read_lines(path)
        records += r
        problems += ["%s: %s" % (path, x) for x in p]
    return records, problems


class Flood(InteropCase):
    MAX = 32
    FLOOD = 600
    IN_PROGRESS = 4

    def test_flood_beyond_max_conns(self):
        self.sensor = Sensor("--max-conns", str(self.MAX),
                             max_conns_per_ip=100000,
                             timing={"stage_timeout_ms": 8000,
                                     "ready_timeout_ms": 8000})
        port, pid = self.sensor.port, self.sensor.proc.pid
        rss_before = proc_status_kb(pid, "VmRSS")
        peers = [start_handshake(port, i) for i in range(self.IN_PROGRESS)]

        t0 = time.monotonic()
        socks, failed = connect_many(port, self.FLOOD)
        flood_s = time.monotonic() - t0
        closed = wait_closed(socks, FAST)
        held = self.MAX - self.IN_PROGRESS
        self.assertEqual(failed, 0, "the kernel refused connections")
        self.assertGreaterEqual(len(closed), self.FLOOD - held,
                                "extra connections not closed within %.1f s"
                                % FAST)
        for t, hs in peers:                   # still served
            finish_handshake(t, hs)
        self.assertTrue(self.sensor.alive())
        peak = proc_status_kb(pid, "VmHWM")
        print("flood: %d connections in %.2f s, %d closed at once; RSS %d kB"
              " before, peak %d kB" % (self.FLOOD, flood_s, len(closed),
                                       rss_before, peak))
        # Refused connections cost nothing that stays: the peak is what
        # MAX connections may use, not what FLOOD would.
        self.assertLess(peak - rss_before, 16 * 1024, "RSS grew by > 16 MB")

        for t, _ in peers:
            t.close()
        for s in socks:
            s.close()
        self.assertEqual(self.sensor.stop(), 0)
        records, problems = all_records(self.sensor.log)
        self.assertEqual(problems, [])
        outcomes = collections.Counter(r["outcome"] for r in records)
        self.assertEqual(len(records), self.FLOOD + self.IN_PROGRESS, outcomes)
        self.assertGreaterEqual(outcomes["conn_limit"], self.FLOOD - held,
                                outcomes)
        self.assertEqual(outcomes["ok"], self.IN_PROGRESS, outcomes)


def cpu_seconds(pid):
    """utime + stime of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class OutOfFds(InteropCase):
    FDS = 40            # RLIMIT_NOFILE given to the running sensor
    CONNS = 60

    def test_no_spin_and_queued_connections_served_later(self):
        self.sensor = Sensor("--max-conns", "1000", max_conns_per_ip=100000,
                             timing={"stage_timeout_ms": 1500})
        pid = self.sensor.proc.pid
        subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%d"
                        % (self.FDS, self.FDS)], check=True, timeout=10)
        cpu0 = cpu_seconds(pid)
        socks, _ = connect_many(self.sensor.port, self.CONNS, first_octet=4)
        time.sleep(1.0)          # the sensor is out of fds all this time
        cpu = cpu_seconds(pid) - cpu0
        errors = self.sensor.stderr_text().count("on_accept")
        print("out of fds: %.2f s CPU and %d stderr lines in 1 s"
              % (cpu, errors))
        self.assertLess(cpu, 0.3, "the loop spins")
        self.assertGreater(errors, 0, "never ran out of fds")
        self.assertLess(errors, 30, "stderr flooded")
        # The first ones time out, then the queued ones get their turn.
        self.assertTrue(wait_for(lambda: len(self.sensor.records())
                                 == self.CONNS, 8),
                        "%d lines for %d connections"
                        % (len(self.sensor.records()), self.CONNS))
        for s in socks:
            s.close()
        self.assertEqual(self.sensor.stop(), 0)


class RotationUnderLoad(InteropCase):
    def test_lines_written_equal_connections(self):
        # Files of ~90 lines: even a fast machine's 3 s of connections stay
        # well inside --log-keep, so rotation never deletes a line here.
        self.sensor = Sensor("--log-max-bytes", "65536", "--log-keep", "1000",
                             max_conns_per_ip=100000)
        hammer = Hammer(self.sensor.port, threads=4).start()
        time.sleep(3)
        answered = hammer.stop()
        self.assertEqual(self.sensor.stop(), 0)
        records, problems = all_records(self.sensor.log)
        files = log_files(self.sensor.log)
        print("rotation: %d connections, %d lines in %d files"
              % (len(answered), len(records), len(files)))
        self.assertEqual(problems, [])
        self.assertGreater(len(files), 10, "the log did not rotate")
        self.assertLess(len(files), 1000, "rotation deleted files")
        for path in files:
            self.assertLessEqual(os.path.getsize(path), 65536, path)
        self.assertEqual(len(records), len(answered))
        self.assertEqual(collections.Counter(r["peer_port"] for r in records),
                         collections.Counter(answered))
        self.assertEqual(len({r["event_id"] for r in records}), len(records))


class SigtermUnderLoad(InteropCase):
    HELD = 40

    def test_sigterm_stops_closes_flushes_exits_0(self):
        self.sensor = Sensor(max_conns_per_ip=100000,
                             timing={"stage_timeout_ms": 10000,
                                     "ready_timeout_ms": 10000})
        port = self.sensor.port
        held, _ = connect_many(port, self.HELD, first_octet=3)
        peers = [start_handshake(port, i) for i in range(3)]
        hammer = Hammer(port, threads=2).start()
        self.assertTrue(wait_for(
            lambda: fd_count(self.sensor.proc.pid) >= self.HELD + 3, 3))
        time.sleep(0.3)

        t0 = time.monotonic()
        self.sensor.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.sensor.proc.wait(5)
        except Exception:
            rc = None
        exit_s = time.monotonic() - t0
        answered = hammer.stop()
        print("sigterm: exit %s after %.3f s with %d held, %d handshaking,"
              " %d quick connections" % (rc, exit_s, self.HELD, len(peers),
                                         len(answered)))
        self.assertEqual(rc, 0)
        self.assertLess(exit_s, 3.0)
        self.assertEqual(len(wait_closed(held, 1.0)), self.HELD,
                         "open connections not closed")
        for t, _ in peers:
            self.assertTrue(t.drain_to_eof(1.0))
            t.close()
        with self.assertRaises(OSError):
            raw_connect(port, timeout=1).close()

        records, problems = all_records(self.sensor.log)
        self.assertEqual(problems, [])
        by_port = {r["peer_port"]: r for r in records}
        for s in held:
            rec = by_port.get(s.getsockname()[1])
            self.assertIsNotNone(rec, "no line for a held connection")
            self.assertEqual(rec["outcome"], "shutdown")
            s.close()
        for t, _ in peers:
            self.assertEqual(by_port[t.local_port]["outcome"], "shutdown")
            self.assertEqual(by_port[t.local_port]["stage_reached"], "version")
        for p in answered:      # every connection it answered has its line
            self.assertIn(p, by_port)

