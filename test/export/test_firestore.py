"""The firestore backend against a local HTTPS stand-in: JWT signature
and claims, token exchange, exact documents:commit shape with event_id as
the document id, token refresh on 401, retried batches overwrite."""

import unittest

from exportlib import (FAST_EXPORT, Sensor, TestCA, free_port,
                       garbage_connections, log_records, real_handshakes,
                       tmpdir, wait_for)
from firestore_standin import Standin


class FirestoreCase(unittest.TestCase):
    def setUp(self):
        d = tmpdir("export_fs_")
        self.tls = TestCA(d)
        self.fs = Standin(self.tls, free_port(), d)
        self.sensor = Sensor("--export-format", "firestore",
                             "--export-url", self.fs.collection_url(),
                             "--export-credentials", self.fs.account.path,
                             "--export-ca", self.tls.ca, *FAST_EXPORT)

    def tearDown(self):
        if self.sensor.proc.poll() is None:
            self.sensor.stop()
        self.fs.stop()

    def assert_docs_match_log(self, n):
        self.assertTrue(wait_for(lambda: len(self.fs.docs) >= n),
                        self.sensor.stderr_text())
        recs = log_records(self.sensor)
        self.assertEqual(len(recs), n)
        got = {d["event_id"]: d for d in self.fs.docs.values()}
        self.assertEqual(got, {r["event_id"]: r for r in recs})
        self.assertEqual(self.fs.errors, [])

    def test_commit_shape_jwt_and_documents(self):
        for o in real_handshakes(self.sensor, 2):
            self.assertIsNone(o.error, o.error)
        garbage_connections(self.sensor.port, 5)
        self.assert_docs_match_log(7)
        self.assertEqual(len(self.fs.tokens), 1)   # cached between batches
        self.assertEqual(self.sensor.stop(), 0)
        # The key and the token never reach the operator's log.
        err = self.sensor.stderr_text()
        self.assertNotIn(self.fs.tokens[0], err)
        self.assertNotIn("PRIVATE KEY", err)

    def test_token_refreshed_after_401(self):
        garbage_connections(self.sensor.port, 2)
        self.assert_docs_match_log(2)
        self.fs.reject_token_once = True
        garbage_connections(self.sensor.port, 2)
        self.assert_docs_match_log(4)
        self.assertEqual(len(self.fs.tokens), 2)
        self.assertIn("HTTP 401", self.sensor.stderr_text())

    def test_503_retried_same_documents(self):
        self.fs.fail_commits = 2
        garbage_connections(self.sensor.port, 3)
        self.assert_docs_match_log(3)
        self.assertGreaterEqual(self.fs.commits, 3)
        self.assertEqual(self.sensor.stderr_text().count("HTTP 503"), 2)


if __name__ == "__main__":
    unittest.main()
