"""Dockerfile.scratch, without Docker: read the final stage, build a
chroot holding exactly what that image holds (plus the /etc/hosts and
/etc/resolv.conf Docker injects; no /dev, no /proc), run the ENTRYPOINT
there as the image's USER with only the image's ENV (plus the overrides
`docker run -e` would give: loopback listen port, no dial-back probe),
and complete real handshakes with it.  Prints the image size as the sum
of its files.  Needs root (chroot)."""

import json
import os
import shlex
import shutil
import stat
import tempfile
import unittest

from fleet import REPO, Launched, assert_unprivileged, handshake_both_peers
from harness import skip_or_fail_in_ci

DOCKERFILE = os.path.join(REPO, "Dockerfile.scratch")
# What the build stage's paths hold, seen from this checkout.
BUILD_PATHS = {
    "/src/kaspa-sensor": os.path.join(REPO, "kaspa-sensor"),
    "/etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt",
    "/image/data": None,                     # `mkdir -p`: an empty directory
}
# As Docker writes them into every container.
INJECTED = {
    "/etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                  "ip6-loopback\n",
    "/etc/resolv.conf": "nameserver 127.0.0.11\noptions ndots:0\n",
}


def final_stage(path):
    """The instructions after the last FROM, as (keyword, argument text)."""
    stage = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            if word.upper() == "FROM":
                stage = [] if rest.split()[0] == "scratch" else None
            elif stage is not None:
                stage.append((word.upper(), rest.strip()))
    return stage


class Image:
    def __init__(self, stage):
        self.copies, self.env, self.volumes, self.expose = [], {}, [], []
        self.user = self.entrypoint = None
        for word, arg in stage:
            if word == "COPY":
                self.add_copy(shlex.split(arg))
            elif word == "USER":
                self.user = tuple(int(x) for x in arg.split(":"))
            elif word == "ENV":
                self.env.update(kv.split("=", 1) for kv in shlex.split(arg))
            elif word == "VOLUME":
                self.volumes += arg.split()
            elif word == "EXPOSE":
                self.expose += arg.split()
            elif word == "ENTRYPOINT":
                self.entrypoint = json.loads(arg)
            else:
                raise AssertionError("test does not model %s in the final "
                                     "stage" % word)

    def add_copy(self, args):
        opts = dict(a[2:].split("=", 1) for a in args if a.startswith("--"))
        src, dst = [a for a in args if not a.startswith("--")]
        if src not in BUILD_PATHS:
            raise AssertionError("COPY of an unknown build path " + src)
        chown = tuple(int(x) for x in opts["chown"].split(":")) \
            if "chown" in opts else (0, 0)
        self.copies.append((BUILD_PATHS[src], dst, chown))

    def build(self, root):
        """Lay the image out under root; returns {path: size} of its files."""
        os.chmod(root, 0o755)
        files = {}
        for src, dst, (uid, gid) in self.copies:
            target = root + dst
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            if src is None:
                os.mkdir(target, 0o755)
            else:
                shutil.copy2(src, target)
                files[dst] = os.path.getsize(target)
            os.chown(target, uid, gid)
        for path, text in INJECTED.items():
            with open(root + path, "w") as f:
                f.write(text)
            os.chmod(root + path, 0o644)
        return files


def tree(root):
    """Every path under root, relative, with its type."""
    out = set()
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            kind = "d" if stat.S_ISDIR(os.lstat(p).st_mode) else "f"
            out.add((p[len(root):], kind))
    return out


class ScratchImage(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            skip_or_fail_in_ci("chroot needs root")

    def test_image_runs_in_empty_root(self):
        img = Image(final_stage(DOCKERFILE))
        self.assertEqual(img.expose, ["16111"])
        self.assertEqual(img.volumes, ["/data"])
        self.assertNotEqual(img.user[0], 0, "image must not run as root")
        self.assertTrue(img.env["SENSOR_LOG"].startswith("/data/"))

        root = tempfile.mkdtemp(prefix="scratch_root_")
        self.addCleanup(shutil.rmtree, root, True)
        self.root = os.path.realpath(root)
        files = img.build(root)
        self.assertEqual(tree(root), {
            ("/kaspa-sensor", "f"), ("/etc", "d"), ("/etc/ssl", "d"),
            ("/etc/ssl/certs", "d"), ("/etc/ssl/certs/ca-certificates.crt", "f"),
            ("/data", "d"), ("/etc/hosts", "f"), ("/etc/resolv.conf", "f")})
        print("\nimage: %s = %d bytes" % (", ".join(
            "%s %d" % kv for kv in sorted(files.items())),
            sum(files.values())))

        # Docker's own additions to the environment (PATH, HOSTNAME) and
        # what an operator passes with `docker run -e`.
        env = dict(img.env, PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                   "/usr/bin:/sbin:/bin", HOSTNAME="c0ffee000001",
                   SENSOR_SENSOR_ID="fleet-as64500-eu")
        argv = ["chroot", "--userspec=%d:%d" % img.user, root] + img.entrypoint
        log = root + img.env["SENSOR_LOG"]
        sensor = Launched(argv, env, log, os.path.join(root, "..",
                          os.path.basename(root) + ".stderr"))
        self.addCleanup(os.unlink, sensor.stderr.name)
        try:
            assert_unprivileged(self, sensor.proc.pid, img.user)
            self.assertEqual(os.readlink("/proc/%d/root" % sensor.proc.pid),
                             self.root)
            handshake_both_peers(self, sensor)
            st = os.stat(log)
            self.assertEqual((st.st_uid, st.st_gid), img.user)
            self.assertEqual({r["sensor_id"] for r in sensor.records()},
                             {"fleet-as64500-eu"})
        finally:
            rc = sensor.stop()
        self.assertEqual(rc, 0, sensor.stderr_text())


if __name__ == "__main__":
    unittest.main()
