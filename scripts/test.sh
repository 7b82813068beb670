#!/usr/bin/env bash
# Lint and run the whole test suite in .venv (extra pytest arguments pass through).
# The tests run in parallel processes (pytest-xdist), one per core up to 4 (CAFFE2X_TEST_WORKERS
# overrides; 0 runs them in this process): most tests convert one model on one core, and each
# worker holds its own TensorFlow and PyTorch (about 3 GB). worksteal hands each worker
# contiguous runs of tests, so a module's shared fixtures (a net converted once for all its
# tests) are built once per worker that runs that module.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
cores="$(.venv/bin/python -c 'import os; print(len(os.sched_getaffinity(0)))')"
workers="${CAFFE2X_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}"
.venv/bin/python -m pytest -n "$workers" --dist worksteal "$@"
