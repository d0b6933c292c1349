#!/usr/bin/env bash
# Does a warm start by a zero-cost proxy help? On the NAS-Bench-201 tables, each strategy searches the
# benchmark's CIFAR-10 validation accuracy (protocol (b) of docs/strategies.md) with and without
# `--warm-start synflow` (the best 10 of a seeded pool of 200 cells by SynFlow, scored on the benchmark's own
# network at CIFAR shape, evaluated first), for SEEDS seeds; it prints the mean test regret (and CI95) of the
# cell each search returns after 25, 50 and 100 trials.
#
#   bash scripts/warm_start_benchmark.sh [SEEDS] [STRATEGIES]      # defaults: 20 seeds, random,evolution,tpe
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-20}
strategies=${2:-random,evolution,tpe}
shared=${NASFORGE_SHARED:-../shared}
valid=$shared/benchmarks/nb201/nb201_validation.csv
test=$shared/benchmarks/nb201/nb201_test_accuracy.csv
cargo build --release --locked -p nasforge >&2
nasforge=./target/release/nasforge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/study.toml" <<TOML
metric = "cifar10_valid"
[evaluator]
kind = "table"
table = "$valid"
report_table = "$test"
report_metrics = ["cifar10"]
TOML
for strategy in ${strategies//,/ }; do
    for start in none synflow; do
        for seed in $(seq 1 "$seeds"); do
            extra=()
            [ "$start" = synflow ] && extra=(--warm-start synflow --warm-start-pool 200 --warm-start-top 10)
            study="$strategy-$start-$seed"
            $nasforge search --config "$work/study.toml" --strategy "$strategy" --trials 100 --seed "$seed" \
                --storage "sqlite:$work/runs.db" --study "$study" --log-level error "${extra[@]}" > /dev/null
            $nasforge trials --storage "sqlite:$work/runs.db" --study "$study" --json > "$work/$study.json"
        done
    done
done
python3 - "$work" "$test" "$seeds" "$strategies" <<'PY'
import csv, glob, json, math, sys
work, test, seeds, strategies = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
optimum = max(float(r["cifar10"]) for r in csv.DictReader(open(test)))
def regret(trials, n):
    paid = [t for t in trials if t["cached_from"] is None][:n]
    done = [t for t in paid if t["state"] == "complete"]
    best = max(done, key=lambda t: t["metrics"]["cifar10_valid"])
    return optimum - best["metrics"]["report:cifar10"]
print("strategy   warm start   regret@25        regret@50        regret@100")
for strategy in strategies:
    for start in ["none", "synflow"]:
        cells = []
        for n in (25, 50, 100):
            values = [regret(json.load(open(f"{work}/{strategy}-{start}-{s}.json")), n) for s in range(1, seeds + 1)]
            mean = sum(values) / len(values)
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1))
            cells.append(f"{mean:6.3f} ±{1.96 * sd / math.sqrt(len(values)):.3f}")
        print(f"{strategy:<10} {start:<12} " + "   ".join(cells))
PY
