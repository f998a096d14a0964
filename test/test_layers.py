"""codec/ holds pure codecs: bytes in, bytes or values out, no sockets
(docs/ARCHITECTURE.md).  The Makefile compiles it with only codec/ on
the include path, so a header of the root, net/, session/ or output/
fails the build; a system network header would not, so this test reads
every codec/ file's includes.  Runs in `make unit`."""

import glob
import os
import re
import subprocess
import unittest

TEST = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TEST)
CODEC = os.path.join(REPO, "codec")

# System headers of sockets, addresses, name lookup, polling and fds.
NETWORK_HEADERS = re.compile(
    r"(sys/socket|netinet/.*|arpa/inet|netdb|poll|sys/poll|unistd)\.h$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def forbidden_includes(text):
    """The includes of a codec file's text that leave the codec layer."""
    bad = []
    for kind, name in INCLUDE.findall(text):
        if kind == "<" and NETWORK_HEADERS.match(name):
            bad.append(name)
        elif kind == '"' and not os.path.isfile(os.path.join(CODEC, name)):
            bad.append(name)
    return bad


class CodecLayer(unittest.TestCase):
    def test_codec_files_include_no_network_or_other_layer(self):
        files = sorted(glob.glob(os.path.join(CODEC, "*.[ch]")))
        self.assertGreater(len(files), 10)
        found = {}
        for path in files:
            with open(path) as f:
                bad = forbidden_includes(f.read())
            if bad:
                found[os.path.basename(path)] = bad
        self.assertEqual(found, {})

    def test_the_check_sees_a_network_include(self):
        text = ('#include <string.h>\n#include <sys/socket.h>\n'
                '#  include <netinet/in.h>\n#include "addr.h"\n'
                '#include "hex.h"\n')
        self.assertEqual(forbidden_includes(text),
                         ["sys/socket.h", "netinet/in.h", "addr.h"])

    def test_codec_compiles_with_only_its_folder(self):
        cmd = subprocess.run(
            ["make", "-n", "-B", "build/musl/codec/hex.o"], cwd=REPO,
            check=True, capture_output=True, text=True).stdout
        line = next(l for l in cmd.splitlines() if "codec/hex.c" in l)
        includes = re.findall(r"(?:^|\s)-I(\S+)", line)
        self.assertIn("codec", includes)
        for other in (".", "net", "session", "output"):
            self.assertNotIn(other, includes)


if __name__ == "__main__":
    unittest.main()
