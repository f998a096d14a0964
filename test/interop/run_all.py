#!/usr/bin/python3
"""run_all.py [DIR [PATTERN]]: runs the unittest files of DIR (this
folder) matching PATTERN ($INTEROP_PATTERN, test_*.py) against
./kaspa-sensor and ends with one line "N passed, N failed, N skipped"
(test/count_results.py counts it); exit status 1 on any failure or when
no test ran."""

import faulthandler
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Each test ends as one of these; a later, worse outcome of the same test
# (a failing subtest or tearDown) replaces an earlier one.
OUTCOMES = ("passed", "skipped", "failed")


class CountingResult(unittest.TextTestResult):
    """Counts tests, not events: a test with two failing subtests is one
    failed test."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.outcome = {}    # test id -> one of OUTCOMES

    def note(self, test, outcome):
        test = getattr(test, "test_case", test)     # a subtest: its test
        was = self.outcome.get(test.id(), OUTCOMES[0])
        self.outcome[test.id()] = max(was, outcome, key=OUTCOMES.index)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.note(test, "passed")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.note(test, "passed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.note(test, "skipped")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.note(test, "failed")

    def addError(self, test, err):
        super().addError(test, err)
        self.note(test, "failed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.note(test, "failed")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)   # records a failure
        if err is not None:
            self.note(test, "failed")

    def counts(self, tests):
        """(passed, skipped, failed) over tests (ids): each counts once,
        and one that never ran (its class or module did not set up, the
        run was stopped) failed.  An error outside the tests after they
        ran (tearDownClass, tearDownModule) is one failed more."""
        got = [self.outcome.get(t, "failed") for t in tests]
        late = [t for t in self.outcome
                if t not in tests and t.startswith("tearDown")]
        return [got.count(o) + (len(late) if o == "failed" else 0)
                for o in OUTCOMES]


def test_ids(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from test_ids(t)
        else:
            yield t.id()


def main():
    # Every socket operation has its own timeout; this is the backstop:
    # a hung suite dumps its threads' stacks and exits non-zero.
    faulthandler.dump_traceback_later(
        float(os.environ.get("INTEROP_WATCHDOG_S", "240")), exit=True)
    where = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else HERE
    pattern = sys.argv[2] if len(sys.argv) > 2 else \
        os.environ.get("INTEROP_PATTERN", "test_*.py")
    suite = unittest.defaultTestLoader.discover(where, pattern=pattern,
                                                top_level_dir=where)
    tests = set(test_ids(suite))     # the suite forgets them as they run
    t0 = time.monotonic()
    runner = unittest.TextTestRunner(resultclass=CountingResult,
                                     verbosity=2, stream=sys.stdout)
    passed, skipped, failed = runner.run(suite).counts(tests)
    sys.stdout.flush()
    print("%s: %.1f s" % (os.path.basename(where), time.monotonic() - t0),
          file=sys.stderr)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or passed + skipped == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
