#!/usr/bin/python3
"""Runs the export tests (ClickHouse, Firestore stand-in) against
./kaspa-sensor; prints "N passed, N failed, N skipped"; exit status 1 on
failure."""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def interop_runner():
    """test/interop/run_all.py: the same counting runner and summary."""
    path = os.path.join(HERE, "..", "interop", "run_all.py")
    spec = importlib.util.spec_from_file_location("interop_run_all", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


if __name__ == "__main__":
    runner = interop_runner()
    runner.HERE = HERE
    sys.path.insert(0, HERE)
    sys.exit(runner.main())
