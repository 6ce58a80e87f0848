#!/usr/bin/env bash
# Build a workspace from one example's raw figures: ./examples/build.sh examples/ccg-recovery-2013-14 /tmp/ccg
# Then: outturn --workspace /tmp/ccg position
set -euo pipefail
example=$1
out=$2
outturn=${OUTTURN:-outturn}
org=$(sed -n 's/^org=//p' "$example/example.conf")
as_at=$(sed -n 's/^as_at=//p' "$example/example.conf")
"$outturn" init "$out" --org "$org" --as-at "$as_at" --force
"$outturn" --workspace "$out" orgs import "$example/organisations.csv"
"$outturn" --workspace "$out" plan import "$example/plan.csv"
"$outturn" --workspace "$out" ledger import "$example/ledger.csv"
if [ -f "$example/risks.csv" ]; then
  "$outturn" --workspace "$out" risks import "$example/risks.csv"
fi
"$outturn" --workspace "$out" position --method run-rate  # the published figures are run-rate forecasts
