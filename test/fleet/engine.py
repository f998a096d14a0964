"""A Docker engine of the test's own: Debian's dockerd (docker.io) under
a temp dir, with no bridge, no iptables and the vfs storage driver, so
it needs nothing from the host but root and cgroups; the debian:12 base
the build stage starts from, made with debootstrap (there is no
registry) and cached for the day; and containers of the image, their
NDJSON log read from their /data volume on this side."""

import fcntl
import glob
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from fleet import LogReader, test_overrides
from harness import free_port, tcp_listening  # noqa: E402 (path: fleet)

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"       # docker.io's client, not another on PATH
CACHE = "/var/cache/kaspa-sensor-test"
SUITES = ("bookworm", "bookworm-updates", "bookworm-security")
LOG_IN_VOLUME = "sensor.ndjson"  # the image's SENSOR_LOG, in /data


def cannot_run():
    """Why dockerd cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "dockerd needs root"
    if not (os.path.exists("/sys/fs/cgroup/cgroup.controllers") or
            os.path.isdir("/sys/fs/cgroup/devices")):
        return "no cgroups under /sys/fs/cgroup (v2, or v1 with devices)"
    return None


def run_logged(argv, log_path, timeout, cwd=None):
    """argv with its output in log_path; raises with the log's tail when
    it fails."""
    with open(log_path, "ab") as log:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log, timeout=timeout,
                            cwd=cwd).returncode
    if rc != 0:
        with open(log_path, "rb") as f:
            tail = f.read()[-3000:].decode("utf-8", "replace")
        raise RuntimeError("%s exited %d; its output ends:\n%s"
                           % (" ".join(argv[:4]), rc, tail))


def mounts_under(directory):
    """Mount points at or below directory, deepest first."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == directory or point.startswith(directory + "/"):
                out.append(point)
    return sorted(out, key=len, reverse=True)


def unmount_under(directory):
    """Unmounts everything below directory; the mounts that stay."""
    for point in mounts_under(directory):
        subprocess.run(["umount", point], stderr=subprocess.DEVNULL)
    return mounts_under(directory)


def processes_naming(text):
    """PIDs whose command line holds text (our unique temp dir)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if text.encode() in f.read():
                    pids.append(int(entry))
        except (OSError, ValueError):
            pass
    return pids


class Engine:
    """dockerd on a socket in its own temp dir; `docker` talks to it."""

    def __init__(self, start_timeout=60.0):
        self.dir = tempfile.mkdtemp(prefix="kaspa_dockerd_")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.log_path = os.path.join(self.dir, "dockerd.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [DOCKERD, "--storage-driver=vfs", "--iptables=false",
             "--ip-masq=false", "--bridge=none",
             "--data-root=" + os.path.join(self.dir, "data"),
             "--exec-root=" + os.path.join(self.dir, "exec"),
             "--pidfile=" + os.path.join(self.dir, "dockerd.pid"),
             "-H", "unix://" + self.sock],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + start_timeout
        while self.docker("version", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = "dockerd did not start: " + self.log_tail()
                self.stop()
                raise RuntimeError(why)
            time.sleep(0.1)

    def log_tail(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")

    def docker(self, *args, check=True, timeout=60, stdin=None, text=True):
        """`docker ARGS` against this daemon: the CompletedProcess;
        raises with its stderr when check and it failed."""
        p = subprocess.run([DOCKER, "-H", "unix://" + self.sock] +
                           list(args), input=stdin, capture_output=True,
                           text=text, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("docker %s: exit %d: %s" % (
                " ".join(args), p.returncode, p.stderr))
        return p

    def build(self, log_path, cwd, *args, timeout=900):
        """`docker build ARGS` run in cwd, its output in log_path."""
        run_logged([DOCKER, "-H", "unix://" + self.sock, "build"] +
                   list(args), log_path, timeout, cwd)

    def stop(self):
        """Containers removed by the daemon, the daemon stopped by its
        PID, then anything it left (processes, mounts) ended; returns
        what was left, for the test to report."""
        left = []
        if self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                left.append("dockerd %d ignored SIGTERM" % self.proc.pid)
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        for pid in processes_naming(self.dir):
            left.append("process %d: %s" % (pid, self.cmdline(pid)))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        left += ["mount " + m for m in unmount_under(self.dir)]
        if not left:
            shutil.rmtree(self.dir, ignore_errors=True)
        return left

    @staticmethod
    def cmdline(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read().replace(b"\0", b" ").decode()[:200]
        except OSError:
            return "?"


# ---- the debian:12 base, made with debootstrap and cached per day ----

def apt_source_entries():
    """(URI, suite) of every `deb` source the host's apt reads."""
    paths = (glob.glob("/etc/apt/sources.list") +
             sorted(glob.glob("/etc/apt/sources.list.d/*.list")))
    entries = []
    for path in paths:
        with open(path) as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if words[:1] != ["deb"]:
                    continue
                words = words[1:]
                if words and words[0].startswith("["):      # [options]
                    end = next((i for i, w in enumerate(words)
                                if w.endswith("]")), len(words))
                    words = words[end + 1:]
                if len(words) >= 2:
                    entries.append((words[0], words[1]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for stanza in f.read().split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if line and not line.startswith(("#", " ")):
                        key, _, value = line.partition(":")
                        fields[key.strip().lower()] = value.split()
                if "deb" in fields.get("types", []) and \
                        fields.get("enabled") != ["no"]:
                    entries += [(u, s) for u in fields.get("uris", [])
                                for s in fields.get("suites", [])]
    return entries


def debian_mirrors():
    """{suite: URI} for bookworm, -updates and -security, as the host's
    apt has them."""
    found = {}
    for uri, suite in apt_source_entries():
        found.setdefault(suite, uri)
    missing = [s for s in SUITES if s not in found]
    if missing:
        raise RuntimeError("no apt source for %s in /etc/apt"
                           % ", ".join(missing))
    return {s: found[s] for s in SUITES}


def make_base(path, log_path):
    """A minbase bookworm root with apt sources like the host's, tarred
    to path (written under another name, then renamed)."""
    mirrors = debian_mirrors()
    root = tempfile.mkdtemp(prefix="debian12_", dir=CACHE)
    try:
        run_logged(["debootstrap", "--variant=minbase", "bookworm", root,
                    mirrors["bookworm"]], log_path, 900)
        with open(os.path.join(root, "etc/apt/sources.list"), "w") as f:
            for suite in SUITES:
                f.write("deb %s %s main\n" % (mirrors[suite], suite))
        # As Debian's own image: no downloaded packages, no lists.
        for junk in (glob.glob(root + "/var/cache/apt/archives/*.deb") +
                     glob.glob(root + "/var/lib/apt/lists/*_*")):
            os.unlink(junk)
        run_logged(["tar", "-C", root, "-cf", path + ".part", "."],
                   log_path, 300)
        os.rename(path + ".part", path)
    finally:
        left = unmount_under(root)   # debootstrap mounts /proc and /sys
        if left:
            raise RuntimeError("debootstrap left mounts: %s" % left)
        shutil.rmtree(root, ignore_errors=True)


def base_tarball(log_path):
    """Today's debian:12 root as a tar: (path, made now?).  Made once a
    day, when older ones are removed.  A lock keeps two runs from making
    it at once."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, time.strftime("debian12-%Y%m%d.tar",
                                             time.gmtime()))
    with open(os.path.join(CACHE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            return path, False
        remove_stale(CACHE)
        make_base(path, log_path)
    return path, True


def remove_stale(cache):
    """Older days' tars, and what a run killed while making one left."""
    for old in glob.glob(os.path.join(cache, "debian12*")):
        if os.path.isdir(old):
            if not unmount_under(old):
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.unlink(old)


# ---- containers of the image ----

_names = itertools.count(1)


class Container(LogReader):
    """`docker run -d` of image with a named /data volume, the test's
    environment (test_overrides, then env) as -e NAME=VALUE, and extra
    run options; listening on 127.0.0.1:port in its network namespace."""

    def __init__(self, engine, image, env=None, options=(),
                 start_timeout=20.0):
        self.engine = engine
        self.name = "kaspa-sensor-test-%d" % next(_names)
        self.volume = self.name + "-data"
        self.host, self.port = "127.0.0.1", free_port()
        self.env = dict(test_overrides(self.port), **(env or {}))
        argv = (["run", "-d", "--name", self.name] + list(options) +
                ["-v", self.volume + ":/data"])
        for kv in sorted(self.env.items()):
            argv += ["-e", "%s=%s" % kv]
        engine.docker(*(argv + [image]))
        self.volume_dir = engine.docker(
            "volume", "inspect", "-f", "{{.Mountpoint}}",
            self.volume).stdout.strip()
        super().__init__(os.path.join(self.volume_dir, LOG_IN_VOLUME))
        self.pid = self.state()["Pid"]
        deadline = time.monotonic() + start_timeout
        while not tcp_listening(self.port, "/proc/%d/net" % self.pid):
            if not self.state()["Running"] or time.monotonic() > deadline:
                raise RuntimeError("sensor did not start: %s"
                                   % self.stderr_text())
            time.sleep(0.05)

    def state(self):
        return json.loads(self.engine.docker(
            "inspect", "-f", "{{json .State}}", self.name).stdout)

    def stderr_text(self):
        p = self.engine.docker("logs", self.name, check=False)
        return (p.stdout + p.stderr)[-4000:]

    def stop(self):
        """`docker stop`: (its exit status, the sensor's exit code)."""
        rc = self.engine.docker("stop", self.name, check=False,
                                timeout=30).returncode
        return rc, self.state()["ExitCode"]

    def remove(self):
        self.engine.docker("rm", "-f", "-v", self.name, check=False)
        self.engine.docker("volume", "rm", self.volume, check=False)
