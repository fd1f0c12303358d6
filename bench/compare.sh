#!/usr/bin/env bash
# golemsim against DBOS Transact, one table: bash bench/compare.sh [--quick]
# golemsim's drivers use .venv (made by .ci/setup.sh); the peers get their own bench/.venv-peers.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash .ci/setup.sh
exec .venv/bin/python bench/bench_peers.py "$@"
