#!/usr/bin/env bash
# Run the whole benchmark: generate 1M requests (skipped when the databases already hold
# that many: pass --regenerate to force), then the registry queries and the cycle, on SQLite
# and PostgreSQL. Results (JSON, Markdown tables, query plans, logs) go to benchmarks/results/.
#
#   bash benchmarks/run.sh [--rows N] [--db sqlite|postgresql|both] [--runs 50] [--cycles 200] [--regenerate]
#                          [--experiments]   (also measure the fixes still proposed: experiments.py, a few min more)
#
# PostgreSQL: VIZA_BENCH_PG_SERVER (default postgresql+asyncpg://postgres@127.0.0.1:5433/postgres);
# the benchmark drops and creates the database VIZA_BENCH_PG_DB (default viza_bench) there.
# SQLite: VIZA_BENCH_SQLITE (default benchmarks/results/viza_bench.sqlite3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
ROWS=1000000; DB=both; RUNS=50; CYCLES=200; REGEN=0; EXPERIMENTS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2;;
    --db) DB=$2; shift 2;;
    --runs) RUNS=$2; shift 2;;
    --cycles) CYCLES=$2; shift 2;;
    --regenerate) REGEN=1; shift;;
    --experiments) EXPERIMENTS=1; shift;;
    *) echo "unknown argument: $1" >&2; exit 2;;
  esac
done
mkdir -p benchmarks/results
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
case "$DB" in both) DBS="sqlite postgresql";; *) DBS=$DB;; esac
started=$(date +%s)
for db in $DBS; do
  have=$("$PY" -m benchmarks.count --db "$db" 2>/dev/null || echo 0)
  if [ "$REGEN" = 1 ] || [ "$have" -lt "$ROWS" ]; then
    "$PY" -m benchmarks.generate --db "$db" --rows "$ROWS" 2>&1 | tee "benchmarks/results/generate-$db.log"
  else
    echo "[$db] already holds $have requests: not regenerating (--regenerate to force)"
  fi
done
for db in $DBS; do
  "$PY" -m benchmarks.registry_queries --db "$db" --runs "$RUNS" 2>&1 | tee "benchmarks/results/registry-$db.log"
  "$PY" -m benchmarks.cycle --db "$db" --cycles "$CYCLES" 2>&1 | tee "benchmarks/results/cycle-$db.log"
done
if [ "$EXPERIMENTS" = 1 ]; then
  for db in $DBS; do
    "$PY" -m benchmarks.experiments --db "$db" --runs "$RUNS" 2>&1 | tee "benchmarks/results/experiments-$db.log"
  done
fi
"$PY" -m benchmarks.machine > benchmarks/results/machine.md
echo "done in $(( $(date +%s) - started )) s; tables in benchmarks/results/*.md"
