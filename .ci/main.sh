#!/usr/bin/env bash
# The main job: a crash experiment on the embedded default (SQLite store).
# An executor process is killed with SIGKILL again and again in the middle of invocations;
# the report in results/crash-demo/ says whether anything was lost or done twice.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
.venv/bin/golemsim demo --out results/crash-demo "$@"
echo "==> report: results/crash-demo/report.md"
