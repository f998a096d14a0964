"""Dockerfile.scratch built and run by a real Docker engine: a dockerd
of the test's own (engine.py), the debian:12 base made with debootstrap
and cached for the day, the image built from the Dockerfile as shipped
(`docker build --network host`: the test daemon has no bridge).  Then
the image's files and size, real handshakes on the host network and in
a locked-down container with no network (reached with nsenter), the log
in the /data volume, SENSOR_* configuration, `docker stop`, and export
to a real ClickHouse over HTTPS.  Needs root and cgroups: skipped
without them, failed under CI=true."""

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

from fleet import HERE, REPO, assert_unprivileged, handshake_both_peers
from harness import skip_or_fail_in_ci
from engine import Container, Engine, base_tarball, cannot_run

sys.path.insert(0, os.path.join(REPO, "test", "robust"))
sys.path.insert(0, os.path.join(REPO, "test", "export"))
from common import H2Transport, Handshake, PeerOptions, run_h2_peer  # noqa: E402
from harness import free_port  # noqa: E402
from exportlib import (FAST_EXPORT, TABLE_DDL, ClickHouse,  # noqa: E402
                       real_handshakes)
from test_metrics import get, parse_exposition  # noqa: E402
from util import Hammer, connect_many, fd_count, read_lines, wait_for  # noqa: E402

IMAGE = "kaspa-sensor"
USER = (65532, 65532)
IMAGE_FILES = {"kaspa-sensor", "etc/", "etc/ssl/", "etc/ssl/certs/",
               "etc/ssl/certs/ca-certificates.crt", "data/"}
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
# As README.md shows it, run in the checkout; the test daemon has only
# the host network and `none` (no bridge, so no -p either).
BUILD = ["--network", "host", "-f", "Dockerfile.scratch", "-t", IMAGE, "."]
LOCKED_DOWN = ["--network", "none", "--read-only", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges"]

engine = None
started = time.monotonic()


def say(text):
    print("docker: " + text, file=sys.stderr, flush=True)


def setUpModule():
    global engine
    why = cannot_run()
    if why:
        skip_or_fail_in_ci(why)
    t0 = time.monotonic()
    engine = Engine()
    unittest.addModuleCleanup(stop_engine)
    say("dockerd up in %.1f s (%s)" % (time.monotonic() - t0, engine.dir))
    t0 = time.monotonic()
    base, made = base_tarball(os.path.join(engine.dir, "debootstrap.log"))
    engine.docker("import", base, "debian:12", timeout=300)
    say("debian:12 %s %s, imported in %.1f s" % (
        "made with debootstrap as" if made else "from the cache",
        base, time.monotonic() - t0))
    t0 = time.monotonic()
    engine.build(os.path.join(engine.dir, "build.log"), REPO, *BUILD)
    say("docker build %s: %.1f s" % (" ".join(BUILD), time.monotonic() - t0))


def stop_engine():
    """Runs even when setUpModule failed after starting the daemon."""
    left = engine.stop()
    say("suite %.1f s in all" % (time.monotonic() - started))
    if left:
        raise AssertionError("left behind: %s" % "; ".join(left))


def saved_layers(image):
    """`docker save image`: (config, {path: (TarInfo, bytes)}) over all
    its layers."""
    data = engine.docker("save", image, text=False, timeout=120).stdout
    outer = tarfile.open(fileobj=io.BytesIO(data))
    manifest = json.load(outer.extractfile("manifest.json"))[0]
    files = {}
    for layer in manifest["Layers"]:
        inner = tarfile.open(fileobj=outer.extractfile(layer))
        for m in inner.getmembers():
            name = m.name + ("/" if m.isdir() else "")
            files[name] = (m, inner.extractfile(m).read() if m.isfile()
                           else None)
    return json.load(outer.extractfile(manifest["Config"])), files


def flags_as_env(flags):
    """["--export-batch-ms", "100", ...] as {SENSOR_EXPORT_BATCH_MS: 100}."""
    return {"SENSOR_" + f[2:].upper().replace("-", "_"): v
            for f, v in zip(flags[::2], flags[1::2])}


class DockerCase(unittest.TestCase):
    maxDiff = None

    def run_container(self, env=None, options=()):
        c = Container(engine, IMAGE, env, options)
        self.addCleanup(c.remove)
        return c

    def assert_stops_cleanly(self, c):
        rc, code = c.stop()
        self.assertEqual((rc, code), (0, 0), c.stderr_text())


class Image(DockerCase):
    def test_holds_only_binary_ca_bundle_and_data(self):
        _, files = saved_layers(IMAGE)
        self.assertEqual(set(files), IMAGE_FILES)
        data = files["data/"][0]
        self.assertEqual((data.uid, data.gid), USER)
        self.assertTrue(files["kaspa-sensor"][0].mode & 0o111)
        size = json.loads(engine.docker("image", "inspect", "-f",
                                        "{{.Size}}", IMAGE).stdout)
        say("image %s: %d bytes (binary %d, CA bundle %d)" % (
            IMAGE, size, files["kaspa-sensor"][0].size,
            files[CA_BUNDLE][0].size))
        self.assertLess(size, 1000 * 1000)

    def test_config_user_volume_port_entrypoint(self):
        config = saved_layers(IMAGE)[0]["config"]
        self.assertEqual(config["User"], "%d:%d" % USER)
        self.assertEqual(config["Entrypoint"], ["/kaspa-sensor"])
        self.assertEqual(config["Volumes"], {"/data": {}})
        self.assertEqual(config["ExposedPorts"], {"16111/tcp": {}})
        self.assertIn("SENSOR_LOG=/data/sensor.ndjson", config["Env"])

    def test_build_context_is_only_what_git_tracks(self):
        """.dockerignore keeps build/, data/, .git, binaries and caches
        out: the context holds only files git tracks or would track."""
        engine.docker("build", "-f", "-", "-t", "context-probe", REPO,
                      stdin="FROM scratch\nCOPY . /ctx\n", timeout=120)
        _, files = saved_layers("context-probe")
        context = {f[len("ctx/"):] for f in files
                   if f.startswith("ctx/") and not f.endswith("/")}
        git = set(subprocess.run(
            ["git", "-C", REPO, "ls-files", "--cached", "--others",
             "--exclude-standard"], capture_output=True, text=True,
            check=True).stdout.splitlines())
        self.assertIn("Dockerfile.scratch", context)
        self.assertEqual(context - git, set())


class HostNetwork(DockerCase):
    def test_handshakes_log_in_volume_owned_by_image_user(self):
        c = self.run_container({"SENSOR_SENSOR_ID": "docker-host"},
                               ["--network", "host"])
        assert_unprivileged(self, c.pid, USER)
        handshake_both_peers(self, c)
        st = os.stat(c.log)
        self.assertEqual((st.st_uid, st.st_gid), USER)
        st = os.stat(c.volume_dir)
        self.assertEqual((st.st_uid, st.st_gid), USER)
        self.assertEqual({r["sensor_id"] for r in c.records()},
                         {"docker-host"})
        self.assert_stops_cleanly(c)

    def test_env_configures_the_sensor(self):
        metrics = free_port()
        c = self.run_container({
            "SENSOR_SENSOR_ID": "docker-as64500-1",
            "SENSOR_NETWORK": "kaspa-testnet-10",
            "SENSOR_USER_AGENT": "/kaspa-sensor:docker-test/",
            "SENSOR_METRICS": "127.0.0.1:%d" % metrics},
            ["--network", "host"])
        out = run_h2_peer(c, PeerOptions(network="kaspa-testnet-10"))
        self.assertIsNone(out.error, c.stderr_text())
        self.assertEqual(out.result.sensor_version.userAgent,
                         "/kaspa-sensor:docker-test/")
        rec = c.record_for_port(out.port)
        self.assertEqual((rec["sensor_id"], rec["network"], rec["outcome"]),
                         ("docker-as64500-1", "kaspa-testnet-10", "ok"))
        status, _, body = get(metrics, "/metrics")
        self.assertEqual(status, 200)
        samples = parse_exposition(body.decode("ascii"))
        self.assertEqual(samples[("kaspa_sensor_info", '{sensor_id="docker-'
                                  'as64500-1",network="kaspa-testnet-10"}')],
                         1)
        self.assert_stops_cleanly(c)

    def test_bad_env_value_is_named_and_exits_2(self):
        p = engine.docker("run", "--rm", "--network", "host",
                          "-e", "SENSOR_LOG_KEEP=0", IMAGE, check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("invalid value for SENSOR_LOG_KEEP: '0'", p.stderr)

    def test_docker_stop_exits_0_with_no_torn_line(self):
        """`docker stop` (SIGTERM) while connections are held, one
        handshake is half done and quick connections keep coming: exit
        status 0, every connection's line whole."""
        c = self.run_container({"SENSOR_STAGE_TIMEOUT_MS": "20000",
                                "SENSOR_READY_TIMEOUT_MS": "20000",
                                "SENSOR_MAX_CONNS_PER_IP": "100000"},
                               ["--network", "host"])
        before = fd_count(c.pid)
        held, failed = connect_many(c.port, 8, first_octet=3)
        for s in held:
            self.addCleanup(s.close)
        self.assertEqual(failed, 0)
        opts = PeerOptions()
        t = H2Transport(c.host, c.port, gzip=opts.gzip)
        self.addCleanup(t.close)
        hs = Handshake(t, opts)
        t.send(hs.version())
        hs.expect("version")
        self.assertTrue(wait_for(lambda: fd_count(c.pid) >= before + 9, 5))
        hammer = Hammer(c.port, threads=2).start()
        self.assertTrue(wait_for(lambda: len(hammer.answered) >= 10, 5))
        t0 = time.monotonic()
        rc, code = c.stop()
        answered = hammer.stop()
        say("docker stop: exit %d in %.2f s, sensor exit %d, %d quick "
            "connections answered" % (rc, time.monotonic() - t0, code,
                                      len(answered)))
        self.assertEqual((rc, code), (0, 0), c.stderr_text())
        records, problems = read_lines(c.log)
        self.assertEqual(problems, [])
        by_port = {r["peer_port"]: r for r in records}
        for port in [s.getsockname()[1] for s in held] + [t.local_port]:
            self.assertEqual(by_port[port]["outcome"], "shutdown")
        self.assertEqual(set(answered) - set(by_port), set())


class LockedDown(DockerCase):
    def test_read_only_no_caps_no_network_handshakes_via_nsenter(self):
        c = self.run_container({"SENSOR_SENSOR_ID": "docker-locked"},
                               LOCKED_DOWN)
        status = assert_unprivileged(self, c.pid, USER)
        self.assertEqual(int(status["CapBnd"], 16), 0)
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertNotEqual(os.readlink("/proc/%d/ns/net" % c.pid),
                            os.readlink("/proc/self/ns/net"))
        p = subprocess.run(
            ["nsenter", "--net=/proc/%d/ns/net" % c.pid, sys.executable,
             os.path.join(HERE, "netns_peers.py"), str(c.port), c.log],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "%s%s\nsensor:\n%s" % (
            p.stdout, p.stderr, c.stderr_text()))
        self.assertEqual(len(c.records()), 2)
        st = os.stat(c.log)
        self.assertEqual((st.st_uid, st.st_gid), USER)
        # The root file system is read-only; /data alone is writable.
        self.assertTrue(json.loads(engine.docker(
            "inspect", "-f", "{{json .HostConfig.ReadonlyRootfs}}",
            c.name).stdout))
        self.assert_stops_cleanly(c)


class Export(DockerCase):
    def test_export_to_clickhouse_over_https(self):
        """From inside the container to a real ClickHouse (host network)
        over HTTPS, trusting the image's CA bundle plus the test CA,
        mounted over the bundle's path: rows equal log lines."""
        ch = ClickHouse()
        self.addCleanup(ch.stop)
        table = "docker_events"
        ch.query(TABLE_DDL.format(table=table))
        bundle = tempfile.NamedTemporaryFile(prefix="ca_bundle_",
                                             suffix=".pem")
        self.addCleanup(bundle.close)
        bundle.write(saved_layers(IMAGE)[1][CA_BUNDLE][1])
        with open(ch.tls.ca, "rb") as f:
            bundle.write(f.read())
        bundle.flush()
        os.chmod(bundle.name, 0o644)
        env = dict(flags_as_env(FAST_EXPORT),
                   SENSOR_EXPORT_URL=ch.insert_url(table),
                   SENSOR_SENSOR_ID="docker-export")
        c = self.run_container(env, [
            "--network", "host",
            "-v", "%s:/%s:ro" % (bundle.name, CA_BUNDLE)])
        for out in real_handshakes(c, 3):
            self.assertIsNone(out.error, c.stderr_text())
        self.assertTrue(wait_for(lambda: len(c.records()) == 3, 10))
        self.assertTrue(wait_for(lambda: int(ch.query(
            "SELECT count() FROM %s" % table)) >= 3, 20), c.stderr_text())
        self.assertEqual(sorted(r["event_id"] for r in ch.rows(table)),
                         sorted(r["event_id"] for r in c.records()))
        self.assert_stops_cleanly(c)


if __name__ == "__main__":
    unittest.main()
