"""No product module keeps file-scope mutable state (issue 13): every
product object of the musl build (build/musl/**/*.o, the source's folder
kept) is read with objdump,
and a symbol in a writable data section (.data*, .bss*; .data.rel.ro is
read-only once relocated) fails the test unless its file is one of the
process's or a subcommand's entry points below, which own the context
they lend to the modules.  Runs in `make unit`."""

import glob
import os
import subprocess
import unittest

TEST = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TEST)
OBJS = os.path.join(REPO, "build", "musl")

# Object -> why it may hold writable statics.
OWNERS = {
    "sensor.o": "main's process context (struct sensor, struct config) "
                "and the self-pipe the signal handler writes to",
    "session/crawl.o": "crawl_main's context (struct crawl)",
    "output/report.o": "report_main's context (struct report)",
    "output/census_out.o": "census_main's context (census, result, JSON line)",
}


def writable_symbols(obj):
    """Names of the symbols obj defines in writable data sections."""
    out = subprocess.run(["objdump", "-t", obj], check=True,
                         capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        section, name = fields[-3], fields[-1]
        writable = section.startswith((".data", ".bss"))
        if (writable and not section.startswith(".data.rel.ro")
                and name != section):
            names.append(name)
    return names


def is_current(base):
    """The object of a source the tree has now (an older build dir may
    hold objects of files since moved)."""
    src = os.path.splitext(base)[0] + ".c"
    return os.path.exists(os.path.join(REPO, src)) or \
        os.path.exists(os.path.join(REPO, "build", "gen", src))


class NoModuleStatics(unittest.TestCase):
    def test_only_entry_points_hold_writable_statics(self):
        objs = sorted(glob.glob(os.path.join(OBJS, "**", "*.o"),
                                recursive=True))
        self.assertGreater(len(objs), 20, "build the product first")
        found = {}
        for obj in objs:
            base = os.path.relpath(obj, OBJS)
            if base in OWNERS or not is_current(base):
                continue
            names = writable_symbols(obj)
            if names:
                found[base] = names
        self.assertEqual(found, {})

    def test_the_check_sees_a_static(self):
        # A module with one would be caught: sensor.o has its context.
        self.assertTrue(writable_symbols(os.path.join(OBJS, "sensor.o")))


if __name__ == "__main__":
    unittest.main()
