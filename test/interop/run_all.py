#!/usr/bin/python3
"""Runs the interop suite against ./kaspa-sensor and prints one summary
line "N passed, N failed[, N skipped]"; exit status 1 on any failure."""

import faulthandler
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    # Every socket operation has its own timeout; this is the backstop:
    # a hung suite dumps its threads' stacks and exits non-zero.
    faulthandler.dump_traceback_later(
        float(os.environ.get("INTEROP_WATCHDOG_S", "240")), exit=True)
    pattern = os.environ.get("INTEROP_PATTERN", "test_*.py")
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern,
                                                top_level_dir=HERE)
    t0 = time.monotonic()
    runner = unittest.TextTestRunner(resultclass=CountingResult,
                                     verbosity=2, stream=sys.stdout)
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    sys.stdout.flush()
    print("interop: %.1f s" % (time.monotonic() - t0), file=sys.stderr)
    line = "%d passed, %d failed" % (res.passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed or not res.testsRun else 0


if __name__ == "__main__":
    sys.exit(main())
