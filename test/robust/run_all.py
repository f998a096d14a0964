#!/usr/bin/python3
"""Runs the fault and abuse tests (test/robust/test_*.py) with the interop
runner: one summary line "N passed, N failed, N skipped"; exit status 1 on
failure."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import run_all as interop_runner  # noqa: E402

if __name__ == "__main__":
    interop_runner.HERE = HERE      # discover this folder's tests instead
    sys.exit(interop_runner.main())
