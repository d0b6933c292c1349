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
python3 scripts/latency_front.py "$work" --strategies "$strategies" --seeds "$seeds" --accuracy cifar10_valid \
    --latency cifar10_latency_ms --target "$target" --reference-accuracy 80 --table "$valid" \
    --title "NB201 CIFAR-10 validation accuracy vs measured latency, target $target ms, $trials queries, $seeds seeds"
