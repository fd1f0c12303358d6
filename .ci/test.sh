#!/usr/bin/env bash
# The whole test suite: lint, types, and every test (real wasmtime, SQLite, subprocesses).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy (golemsim/core, golemsim/sim)"
.venv/bin/mypy golemsim/core golemsim/sim
echo "==> pytest"
.venv/bin/python -m pytest -q "$@"
