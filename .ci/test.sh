#!/usr/bin/env bash
# The whole test suite: lint, types, every test (real wasmtime, SQLite, subprocesses, a browser),
# and the tutorial notebooks re-run and compared with their committed outputs (nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy (the whole golemsim package)"
.venv/bin/mypy golemsim
echo "==> pytest (tests/, and notebooks/ with nbval: committed outputs must match)"
# With no paths among the arguments pytest runs its testpaths (tests and notebooks, see pyproject.toml);
# the nbval options only change how .ipynb files are collected, so `bash .ci/test.sh tests/cli/test_cli.py -x` works.
# `bash .ci/test.sh -m "not slow"` is the quick loop: the notebooks count as slow (tests/conftest.py marks them).
.venv/bin/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg "$@"
