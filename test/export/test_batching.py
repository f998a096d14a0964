"""Batching, cursor, headers, rotation hold and the disk cap, against a
plain-HTTP recording server on loopback (--export-allow-http)."""

import json
import os
import re
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from exportlib import (FAST_EXPORT, Sensor, free_port, garbage_connections,
                       log_files, log_records, tmpdir, wait_for)


class Recorder:
    """Stores each POST; answers `status` (200 unless told otherwise)."""

    def __init__(self):
        self.bodies, self.headers = [], []
        self.status = 200
        self.then = None          # the status after the next 200, if set
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with rec.lock:
                    status = rec.status
                    if status == 200:
                        rec.bodies.append(body)
                        rec.headers.append(dict(self.headers))
                        if rec.then is not None:
                            rec.status, rec.then = rec.then, None
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/ingest?x=1" % self.port

    def lines(self):
        with self.lock:
            return [json.loads(l) for b in self.bodies
                    for l in b.decode().splitlines() if l]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class BatchingCase(unittest.TestCase):
    def setUp(self):
        self.rec = Recorder()
        self.sensors = []

    def tearDown(self):
        for s in self.sensors:
            if s.proc.poll() is None:
                s.stop()
        self.rec.stop()

    def sensor(self, *extra):
        s = Sensor("--export-url", self.rec.url, "--export-allow-http",
                   *FAST_EXPORT, *extra)
        self.sensors.append(s)
        return s

    def test_batches_cursor_and_secret_headers(self):
        hdr = os.path.join(tmpdir("export_hdr_"), "headers")
        with open(hdr, "w") as f:
            f.write("# a comment\nAuthorization: Bearer s3cret-token\n\n"
                    "X-Tenant: kaspa\n")
        s = self.sensor("--export-batch-lines", "4", "--export-header-file",
                        hdr)
        garbage_connections(s.port, 10)
        self.assertTrue(wait_for(lambda: len(self.rec.lines()) == 10),
                        s.stderr_text())
        with open(s.log, "rb") as f:
            self.assertEqual(b"".join(self.rec.bodies), f.read())
        self.assertTrue(all(b.count(b"\n") <= 4 for b in self.rec.bodies))
        for h in self.rec.headers:
            self.assertEqual(h["Authorization"], "Bearer s3cret-token")
            self.assertEqual(h["X-Tenant"], "kaspa")
            self.assertEqual(h["Content-Type"], "application/x-ndjson")
        st = os.stat(s.log)
        self.assertTrue(wait_for(lambda: open(s.log + ".cursor").read() ==
                                 "%d %d %d\n" % (st.st_dev, st.st_ino,
                                                 st.st_size)))
        self.assertEqual(s.stop(), 0)
        self.assertNotIn("s3cret", s.stderr_text())
        self.assertNotIn("x=1", s.stderr_text())   # the URL's query either

    def test_restart_resumes_from_cursor(self):
        s = self.sensor()
        garbage_connections(s.port, 3)
        self.assertTrue(wait_for(lambda: len(self.rec.lines()) == 3))
        self.assertEqual(s.stop(), 0)
        s2 = self.sensor("--log", s.log)
        garbage_connections(s2.port, 2)
        self.assertTrue(wait_for(lambda: len(self.rec.lines()) == 5))
        ids = [r["event_id"] for r in self.rec.lines()]
        self.assertEqual(len(set(ids)), 5)   # nothing shipped twice
        self.assertEqual(s2.stop(), 0)

    def test_plain_http_needs_the_flag(self):
        with self.assertRaises(RuntimeError) as cm:
            Sensor("--export-url", self.rec.url)
        self.assertIn("--export-allow-http", str(cm.exception))

    def test_rotation_waits_for_shipping(self):
        self.rec.status = 503
        s = self.sensor("--log-max-bytes", "4096", "--log-keep", "1")
        garbage_connections(s.port, 40)
        self.assertTrue(wait_for(lambda: "export attempt" in s.stderr_text()))
        # 40 lines are several times 2 x 4096 bytes: all still on disk.
        self.assertEqual(len(log_records(s)), 40)
        self.assertNotIn("disk cap", s.stderr_text())
        self.rec.status = 200
        self.assertTrue(wait_for(lambda: len(self.rec.lines()) >= 40),
                        s.stderr_text())
        self.assertEqual({r["event_id"] for r in self.rec.lines()},
                         {r["event_id"] for r in log_records(s)})
        # Shipped: the next rotation may delete again.
        garbage_connections(s.port, 20)
        self.assertTrue(wait_for(lambda: len(log_files(s.log)) == 2 and
                                 len(self.rec.lines()) >= 60))
        self.assertEqual(s.stop(), 0)

    def test_disk_cap_drops_oldest_and_says_how_many(self):
        self.rec.status = 503
        s = self.sensor("--log-max-bytes", "4096", "--log-keep", "1",
                        "--export-disk-cap-bytes", "12288")
        garbage_connections(s.port, 80)
        self.assertTrue(wait_for(lambda: "over the export disk cap" in
                                 s.stderr_text()), s.stderr_text())
        dropped = sum(int(n) for n in re.findall(
            r"with (\d+) lines never shipped", s.stderr_text()))
        self.assertGreater(dropped, 0)
        self.rec.status = 200
        on_disk = len(log_records(s))
        self.assertTrue(wait_for(lambda: len(self.rec.lines()) >= on_disk))
        self.assertEqual(len(self.rec.lines()) + dropped, 80)
        self.assertEqual(s.stop(), 0)

    def test_batch_from_a_deleted_file_does_not_move_the_cursor_there(self):
        # The first batch (a few lines of PATH) is still being retried when
        # the disk cap deletes the file it came from.  Shipping it then
        # must not point the cursor at that deleted file: its inode number
        # comes back for a later file (ext4 reuses it at once), and the
        # cursor's offset would skip lines there, or cut one in two.
        self.rec.status = 503
        s = self.sensor("--log-max-bytes", "4096", "--log-keep", "1",
                        "--export-disk-cap-bytes", "12288")
        garbage_connections(s.port, 3)
        self.assertTrue(wait_for(lambda: "export attempt" in s.stderr_text()))
        garbage_connections(s.port, 77)
        self.assertTrue(wait_for(lambda: "over the export disk cap" in
                                 s.stderr_text()), s.stderr_text())
        self.rec.then = 503          # exactly one batch gets through
        self.rec.status = 200
        self.assertTrue(wait_for(lambda: self.rec.status == 503))
        time.sleep(0.3)              # its cursor is saved
        self.rec.status = 200
        on_disk = {r["event_id"] for r in log_records(s)}
        self.assertTrue(wait_for(lambda: on_disk <= {
            r["event_id"] for r in self.rec.lines()}, 10),
            (len(on_disk), s.stderr_text()))
        self.assertEqual(s.stop(), 0)

if __name__ == "__main__":
    unittest.main()
