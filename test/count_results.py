#!/usr/bin/python3
"""count_results.py LOG: prints "PASSED FAILED SKIPPED", the tests that one
suite's output (LOG) reports; test/run_suites.sh sums them.  Only these
lines count, each at the start of a line:

- our python runners (test/interop/run_all.py), one per run:
  "N passed, N failed, N skipped".  unittest's own "Ran N tests" and
  "OK (skipped=N)" / "FAILED (failures=N, ...)" lines do not count: the
  runner's line already holds them, counted per test.
- cmocka, per test binary, from "[==========] Running N test(s)." to
  "[==========] N test(s) run." (or to the end, when the binary died):
  its "[       OK ] NAME" tests passed, its "[  SKIPPED ] NAME" tests
  skipped, and the rest of its N failed (an assertion, a fixture or group
  setup error, a sanitizer abort, a crash).  cmocka's own summary lines
  do not count: its "[  FAILED  ] N test(s)" leaves out the tests whose
  setup failed, and a dead binary prints none.
- fuzz/run.sh, one per target: "fuzz_NAME: passed, ..." or
  "fuzz_NAME: FAILED ...".
"""

import re
import sys

RUNNER = re.compile(r"(\d+) passed, (\d+) failed, (\d+) skipped$")
FUZZ = re.compile(r"fuzz_\w+: (passed|FAILED)\b")
CMOCKA_START = re.compile(r"\[==========\] Running (\d+) test\(s\)\.$")
CMOCKA_END = re.compile(r"\[==========\] \d+ test\(s\) run\.$")
CMOCKA_OK = "[       OK ] "
CMOCKA_SKIPPED = "[  SKIPPED ] "


class Counter:
    def __init__(self):
        self.total = [0, 0, 0]           # passed, failed, skipped
        self.binary = None               # the cmocka binary running

    def line(self, text):
        m = RUNNER.match(text)
        if m:
            self.add(*map(int, m.groups()))
            return
        m = FUZZ.match(text)
        if m:
            self.add(*((1, 0, 0) if m.group(1) == "passed" else (0, 1, 0)))
            return
        self.cmocka(text)

    def cmocka(self, text):
        m = CMOCKA_START.match(text)
        if m:
            self.binary_done()
            self.binary = {"tests": int(m.group(1)), "ok": 0, "skipped": 0}
        elif self.binary is None:
            return
        elif CMOCKA_END.match(text):
            self.binary_done()
        elif text.startswith(CMOCKA_OK):
            self.binary["ok"] += 1
        elif text.startswith(CMOCKA_SKIPPED):
            self.binary["skipped"] += 1

    def binary_done(self):
        """The running cmocka binary finished, or died."""
        b = self.binary
        if b:
            self.add(b["ok"], b["tests"] - b["ok"] - b["skipped"],
                     b["skipped"])
        self.binary = None

    def add(self, passed, failed, skipped):
        for i, n in enumerate((passed, failed, skipped)):
            self.total[i] += n

    def result(self):
        self.binary_done()
        return tuple(self.total)


def count(lines):
    """(passed, failed, skipped) in a suite's output lines."""
    c = Counter()
    for text in lines:
        c.line(text.rstrip("\r\n"))
    return c.result()


def main():
    with open(sys.argv[1], errors="replace") as f:
        print("%d %d %d" % count(f))


if __name__ == "__main__":
    main()
