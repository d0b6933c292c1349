#!/usr/bin/env bash
# The accuracy–latency front under a latency target on the NAS-Bench-201 table: each strategy searches two
# objectives, the benchmark's CIFAR-10 validation accuracy (max) and its measured `cifar10_latency_ms` (min),
# under the hard constraint `cifar10_latency_ms <= TARGET`, for SEEDS seeds of TRIALS queries each. It prints,
# per strategy, the hypervolume of the feasible trials' front (reference point: 80 % accuracy and the target
# latency, so only feasible cells above 80 % count), its share of the whole table's front under the same
# target, the number of feasible trials and the best feasible accuracy, each as the mean over seeds ± CI95.
#
#   bash scripts/hardware_aware_benchmark.sh [SEEDS] [TRIALS] [TARGET_MS] [STRATEGIES]
#   defaults: 10 seeds, 100 trials, 12 ms, random,tpe,nsga2
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
trials=${2:-100}
target=${3:-12}
strategies=${4:-random,tpe,nsga2}
shared=${NASFORGE_SHARED:-../shared}
valid=$shared/benchmarks/nb201/nb201_validation.csv
cargo build --release --locked -p nasforge >&2
nasforge=./target/release/nasforge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for strategy in ${strategies//,/ }; do
    for seed in $(seq 1 "$seeds"); do
        study="$strategy-$seed"
        $nasforge search --table "$valid" --objective cifar10_valid:max --objective cifar10_latency_ms:min \
            --constraint "cifar10_latency_ms <= $target" --strategy "$strategy" --trials "$trials" --seed "$seed" \
            --storage "sqlite:$work/runs.db" --study "$study" --log-level error > /dev/null
        $nasforge trials --storage "sqlite:$work/runs.db" --study "$study" --json > "$work/$study.json"
    done
done
python3 - "$work" "$valid" "$seeds" "$trials" "$target" "$strategies" <<'PY'
import csv, json, statistics, sys
work, valid, seeds, trials, target, strategies = sys.argv[1:]
seeds, target = int(seeds), float(target)
REFERENCE_ACCURACY = 80.0

def hypervolume(points):
    """Area dominated by (accuracy ≥, latency ≤) points above the reference (80 %, target)."""
    # By latency ascending: between a point's latency and the next's, the best accuracy so far is dominated.
    front = sorted((lat, acc) for acc, lat in points if acc > REFERENCE_ACCURACY and lat <= target)
    area, best = 0.0, REFERENCE_ACCURACY
    for i, (lat, acc) in enumerate(front):
        best = max(best, acc)
        right = front[i + 1][0] if i + 1 < len(front) else target
        area += (right - lat) * (best - REFERENCE_ACCURACY)
    return area

table = [(float(r["cifar10_valid"]), float(r["cifar10_latency_ms"])) for r in csv.DictReader(open(valid))
         if r["cifar10_valid"] and r["cifar10_latency_ms"]]
optimum = hypervolume(table)

def ci95(values):
    return 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")

print(f"NB201 CIFAR-10 validation accuracy vs measured latency, target {target} ms, {trials} queries, {seeds} seeds")
print(f"whole table's front under the target: hypervolume {optimum:.2f}")
print("| strategy | hypervolume | share of the table's | feasible trials | best feasible accuracy |")
print("|---|---|---|---|---|")
for strategy in strategies.split(","):
    volumes, feasible, best = [], [], []
    for seed in range(1, seeds + 1):
        done = [t for t in json.load(open(f"{work}/{strategy}-{seed}.json")) if t["state"] == "complete"]
        points = [(t["metrics"]["cifar10_valid"], t["metrics"]["cifar10_latency_ms"]) for t in done]
        ok = [p for p in points if p[1] <= target]
        volumes.append(hypervolume(points))
        feasible.append(len(ok))
        best.append(max((a for a, _ in ok), default=float("nan")))
    mean = statistics.mean(volumes)
    print(f"| {strategy} | {mean:.2f} ± {ci95(volumes):.2f} | {mean / optimum:.3f} | "
          f"{statistics.mean(feasible):.1f} ± {ci95(feasible):.1f} | {statistics.mean(best):.2f} ± {ci95(best):.2f} |")
PY
