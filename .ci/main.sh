#!/usr/bin/env bash
# The main job: a simulation experiment on the embedded default (SQLite oplog store).
# Checkout workers run on a virtual cluster of three nodes while nodes crash mid-checkout;
# the same plan then runs against the lambda baseline (stateless functions and a database).
# The report, plots and verdicts land in results/checkout-crash/ (exit 0 when the workers
# are valid). Pass options through, e.g. `bash .ci/main.sh --seed 7`, or another file with
# `bash .ci/main.sh experiments/auction-rolling-upgrade.yaml`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
experiment=experiments/checkout-crash.yaml
if [[ $# -gt 0 && "$1" == *.yaml ]]; then
  experiment=$1
  shift
fi
name=$(basename "$experiment" .yaml)
.venv/bin/golemsim sim run "$experiment" --out "results/$name" "$@"
echo "==> report: results/$name/report.md (plots in results/$name/plots/)"
