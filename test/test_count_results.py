"""test/count_results.py, the counter behind `make test`'s closing line,
fed the outputs it must count exactly: cmocka (verbatim from libcmocka
1.1.5: failures, skips, a crash, setup errors), fuzz/run.sh run on fake
fuzzers (a pass, a crash), and test/interop/run_all.py run on a module
with every unittest outcome.  Runs in `make unit`."""

import os
import subprocess
import tempfile
import textwrap
import unittest

from count_results import count

TEST = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TEST)
PYTHON = "/usr/bin/python3"

# 5 tests: a failure, a skip, 3 passes.
CMOCKA_DONE = """\
[==========] Running 5 test(s).
[ RUN      ] ok
[       OK ] ok
[ RUN      ] bad
[  ERROR   ] --- 0x1 != 0x2
[   LINE   ] --- c.c:8: error: Failure!
[  FAILED  ] bad
[ RUN      ] sk
[  SKIPPED ] sk
[ RUN      ] crash
[       OK ] crash
[ RUN      ] ok
[       OK ] ok
[==========] 5 test(s) run.
[  PASSED  ] 3 test(s).
[  SKIPPED ] 1 test(s), listed below:
[  SKIPPED ] sk

 1 SKIPPED TEST(S)
[  FAILED  ] 1 test(s), listed below:
[  FAILED  ] bad

 1 FAILED TEST(S)
"""

# The same binary aborting in its 4th test: the 5th never runs.
CMOCKA_DIED = CMOCKA_DONE[:CMOCKA_DONE.index("[       OK ] crash")]

# A failing test setup, a leak and an assertion: cmocka's own summary
# says 2 failed, its last line 3.
CMOCKA_SETUP_ERROR = """\
[==========] Running 4 test(s).
[ RUN      ] ok
[       OK ] ok
[ RUN      ] ok
Could not run test: Test setup failed
[  ERROR   ] ok
[ RUN      ] leak
[  ERROR   ] --- Blocks allocated...
d.c:11: note: block 0x560f49fbf3a0 allocated here
ERROR: leak leaked 1 block(s)

[  FAILED  ] leak
[ RUN      ] bad
[  ERROR   ] --- 0x1 != 0x2
[   LINE   ] --- d.c:8: error: Failure!
[  FAILED  ] bad
[==========] 4 test(s) run.
[  PASSED  ] 1 test(s).
[  FAILED  ] 2 test(s), listed below:
[  FAILED  ] leak
[  FAILED  ] bad

 3 FAILED TEST(S)
"""

# The group setup fails: cmocka says 0 run, 0 passed.
CMOCKA_GROUP_SETUP_FAILED = """\
[==========] Running 4 test(s).
[  FAILED  ] GROUP SETUP
[  ERROR   ] t
[==========] 0 test(s) run.
[  PASSED  ] 0 test(s).
"""

# Lines that look like results and are not ours to count.
NOT_RESULTS = """\
Ran 3 tests in 0.120s
OK (skipped=1)
FAILED (failures=1, skipped=2)
FAILED (failures=1, errors=1, skipped=2, expected failures=1)
=== make unit: 1 passed, 0 failed, 0 skipped
interop: 2 passed, 0 failed
7 passed, 1 failed
    3 passed, 0 failed, 0 skipped
    fuzz_h2: passed, 4 s
fuzz_h2: 4 s, 1234 runs, 300 execs/s
[  PASSED  ] 3 test(s).
[       OK ] stray
"""

# Every unittest outcome, in one module the runner runs.
OUTCOMES_MODULE = '''
import unittest
import harness

class Outcomes(unittest.TestCase):
    def test_pass(self):
        pass

    def test_fail(self):
        self.fail("fails")

    def test_error(self):
        raise RuntimeError("errs")

    @unittest.skip("skips")
    def test_skip(self):
        pass

    def test_cannot_run_here(self):
        harness.skip_or_fail_in_ci("no such package")

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.fail("as expected")

    @unittest.expectedFailure
    def test_unexpected_success(self):
        pass

    def test_two_failing_subtests(self):
        for i in range(2):
            with self.subTest(i=i):
                self.fail("subtest %d" % i)


class NotSetUp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("no class")

    def test_a(self):
        pass

    def test_b(self):
        pass


class NotTornDown(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        raise RuntimeError("no teardown")

    def test_c(self):
        pass
'''

ONE_SKIP_MODULE = '''
import unittest

class One(unittest.TestCase):
    @unittest.skip("skips")
    def test_skip(self):
        pass
'''


def counted(text):
    return count(text.splitlines(True))


class Cmocka(unittest.TestCase):
    def test_failures_and_skips(self):
        self.assertEqual(counted(CMOCKA_DONE), (3, 1, 1))

    def test_binary_that_died(self):
        """Its unfinished and unrun tests failed."""
        self.assertEqual(counted(CMOCKA_DIED), (1, 3, 1))

    def test_setup_errors_fail(self):
        self.assertEqual(counted(CMOCKA_SETUP_ERROR), (1, 3, 0))

    def test_group_setup_failed(self):
        self.assertEqual(counted(CMOCKA_GROUP_SETUP_FAILED), (0, 4, 0))

    def test_every_binary_after_a_failure(self):
        """`make unit` goes on after a failing binary: all are summed,
        a dead one's count closed by the next one's start."""
        text = (CMOCKA_DIED + CMOCKA_DONE + CMOCKA_SETUP_ERROR +
                "1 passed, 0 failed, 0 skipped\n")
        self.assertEqual(counted(text), (1 + 3 + 1 + 1, 3 + 1 + 3, 1 + 1))


class Lines(unittest.TestCase):
    def test_lookalikes_do_not_count(self):
        self.assertEqual(counted(NOT_RESULTS), (0, 0, 0))

    def test_runner_lines_add_up(self):
        text = ("2 passed, 0 failed, 1 skipped\n"
                "Ran 3 tests in 0.1s\n\nOK (skipped=1)\n"
                "0 passed, 3 failed, 0 skipped\r\n")
        self.assertEqual(counted(text), (2, 3, 1))


class FuzzRun(unittest.TestCase):
    """fuzz/run.sh on a fake libFuzzer binary: one line per target."""

    def run_fake(self, status, log):
        d = tempfile.mkdtemp(prefix="count_fuzz_")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        fake = os.path.join(d, "fuzz_fake")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\ncat <<'EOF'\n%sEOF\nexit %d\n" % (log, status))
        os.chmod(fake, 0o755)
        p = subprocess.run(["sh", os.path.join(REPO, "fuzz", "run.sh"), fake,
                            "1", os.path.join(d, "corpus"),
                            os.path.join(d, "seeds")],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, counted(p.stdout + p.stderr)

    def test_pass(self):
        log = ("#2\tINITED cov: 10 ft: 11 corp: 1/1b\n"
               "#99\tDONE cov: 12 ft: 13 corp: 2/2b\n"
               "stat::number_of_executed_units: 99\n")
        self.assertEqual(self.run_fake(0, log), (0, (1, 0, 0)))

    def test_crash_is_one_failure(self):
        """Not 1 passed and 1 failed; the crash log's own lines (which
        name the target) do not count."""
        log = ("==1==ERROR: AddressSanitizer: heap-buffer-overflow\n"
               "fuzz_fake: passed, a line of the target's own\n"
               "3 passed, 0 failed, 0 skipped\n"
               "[==========] Running 2 test(s).\n")
        self.assertEqual(self.run_fake(1, log), (1, (0, 1, 0)))


class Runner(unittest.TestCase):
    """test/interop/run_all.py on generated test modules."""

    def run_module(self, source, ci=None):
        d = tempfile.mkdtemp(prefix="count_runner_")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        if source:
            with open(os.path.join(d, "test_generated.py"), "w") as f:
                f.write(textwrap.dedent(source))
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        if ci:
            env["CI"] = ci
        p = subprocess.run([PYTHON, os.path.join(TEST, "interop", "run_all.py"),
                            d], capture_output=True, text=True, env=env,
                           timeout=120)
        out = p.stdout + p.stderr
        # indented, so that no line of it counts if a test prints it
        return (p.returncode, p.stdout.splitlines()[-1], counted(out),
                textwrap.indent(out, "    "))

    def test_every_outcome_counted_once(self):
        """A pass, an expected failure and a test whose class only failed
        to tear down pass; a failure, an error, an unexpected success, a
        test with two failing subtests and two tests whose class did not
        set up fail, and the tearDownClass error is one failure more; a
        skip and a test that cannot run here skip."""
        rc, last, got, out = self.run_module(OUTCOMES_MODULE)
        self.assertEqual(last, "3 passed, 7 failed, 2 skipped", out)
        self.assertEqual(got, (3, 7, 2), out)
        self.assertEqual(rc, 1)
        # unittest's own lines say otherwise, and are not counted
        self.assertIn("Ran 9 tests", out)
        self.assertIn("FAILED (failures=3, errors=3, skipped=2, expected "
                      "failures=1, unexpected successes=1)", out)

    def test_under_ci_a_test_that_cannot_run_fails(self):
        rc, last, got, out = self.run_module(OUTCOMES_MODULE, ci="true")
        self.assertEqual(last, "3 passed, 8 failed, 1 skipped", out)
        self.assertEqual(got, (3, 8, 1), out)
        self.assertIn("CI=true and this test cannot run: no such package",
                      out)

    def test_one_skip_is_a_skip(self):
        """"Ran 1 test ... OK (skipped=1)": 0 passed."""
        rc, last, got, out = self.run_module(ONE_SKIP_MODULE)
        self.assertEqual((rc, last, got),
                         (0, "0 passed, 0 failed, 1 skipped", (0, 0, 1)), out)

    def test_no_test_is_a_failure(self):
        rc, last, got, out = self.run_module(None)
        self.assertEqual((rc, last, got),
                         (1, "0 passed, 0 failed, 0 skipped", (0, 0, 0)), out)


if __name__ == "__main__":
    unittest.main()
