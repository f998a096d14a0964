"""./kaspa-sensor-arm64 (make arm64): a static aarch64 ELF with no program
interpreter, which under qemu-aarch64-static completes real handshakes
with a grpcio peer and the tonic-like h2 peer on loopback, configured by
SENSOR_* variables only, and exits 0 on SIGTERM."""

import os
import shutil
import struct
import tempfile
import unittest

from fleet import REPO, Launched, handshake_both_peers

BINARY = os.path.join(REPO, "kaspa-sensor-arm64")
EM_AARCH64 = 183
PT_INTERP = 3


def elf_facts(path):
    """(e_machine, has PT_INTERP, has dynamic section) of a 64-bit LE ELF."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not ELF64 LE"
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0]
             for i in range(phnum)]
    return machine, PT_INTERP in types, 2 in types   # 2 = PT_DYNAMIC


class Arm64(unittest.TestCase):
    def test_static_aarch64(self):
        machine, interp, dynamic = elf_facts(BINARY)
        self.assertEqual(machine, EM_AARCH64)
        self.assertFalse(interp, "needs a program interpreter")
        self.assertFalse(dynamic, "dynamically linked")
        print("\n%s: %d bytes" % (os.path.basename(BINARY),
                                  os.path.getsize(BINARY)))

    def test_handshakes_under_qemu(self):
        qemu = shutil.which("qemu-aarch64-static")
        self.assertIsNotNone(qemu, "qemu-user-static is in APT_PKGS")
        d = tempfile.mkdtemp(prefix="arm64_")
        self.addCleanup(shutil.rmtree, d, True)
        log = os.path.join(d, "s.ndjson")
        sensor = Launched([qemu, BINARY],
                          {"SENSOR_LOG": log, "SENSOR_SENSOR_ID": "arm64"},
                          log, os.path.join(d, "stderr.txt"))
        try:
            handshake_both_peers(self, sensor)
        finally:
            rc = sensor.stop()
        self.assertEqual(rc, 0, sensor.stderr_text())


if __name__ == "__main__":
    unittest.main()
