"""Run inside a container's network namespace (nsenter --net=...):
usage: netns_peers.py PORT LOG.  A grpcio peer and the tonic-like h2
peer complete the handshake with the sensor on 127.0.0.1:PORT there,
and are logged "ok" in LOG (a path on this side).  Exit status 0 when
both were; a failed assertion's traceback otherwise."""

import sys
import unittest

from fleet import LogReader, handshake_both_peers


class InNamespace(LogReader):
    host = "127.0.0.1"

    def __init__(self, port, log):
        super().__init__(log)
        self.port = port

    def stderr_text(self):
        return "(the test prints the container's output)"


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    handshake_both_peers(unittest.TestCase(), InNamespace(port, log))
    print("both handshakes ok")


if __name__ == "__main__":
    main()
