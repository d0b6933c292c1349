#!/usr/bin/env bash
# Cheap estimation on real training: TPE at full fidelity against TPE with ASHA (stopping form), ASHA in its
# promotion form (trials paused at rungs, resumed from checkpoints), synchronous successive halving, Hyperband
# and TPE warm-started by SynFlow, each for the same wall clock on Fashion-MNIST, for each seed; then the cell
# each search chose (best validation accuracy of a trial that ran to the end) is retrained by one fixed final
# recipe and its test accuracy reported. Prints one line per run: candidates evaluated (paid trials, stopped
# and paused ones included), stopped or paused, best validation accuracy, test accuracy of the chosen cell.
#
#   bash scripts/scheduler_benchmark.sh [BUDGET] [SEEDS] [CONFIGS]
#   # defaults: 20m, "1 2 3", "full asha promotion halving hyperband warm"
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-20m}
seeds=${2:-1 2 3}
configs=${3:-full asha promotion halving hyperband warm}
bash scripts/install_fashion_mnist.sh >&2
cargo build --release --locked -p nasforge >&2
nasforge=$PWD/target/release/nasforge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store="sqlite:$work/runs.db"
# Every candidate: 8 channels, 1 cell per stage, up to 9 epochs on 10 % of the training split.
common=(--space nb201 --strategy tpe --dataset fashion-mnist --channels 8 --cells 1 --epochs 9
        --data-fraction 0.1 --batch-size 64 --trials 100000 --time-budget "$budget" --storage "$store"
        --log-level error)
printf "%-10s %4s %10s %7s %8s %8s\n" config seed candidates pruned best_val test
for seed in $seeds; do
    for config in $configs; do
        case $config in
            full) extra=() ;;
            asha) extra=(--scheduler asha --min-resource 1 --eta 3) ;;
            promotion) extra=(--scheduler asha --scheduler-form promotion --min-resource 1 --eta 3) ;;
            halving) extra=(--scheduler halving --min-resource 1 --eta 3) ;;
            hyperband) extra=(--scheduler hyperband --min-resource 1 --eta 3) ;;
            warm) extra=(--warm-start synflow --warm-start-pool 500 --warm-start-top 10) ;;
            *) echo "unknown configuration '$config'" >&2; exit 2 ;;
        esac
        study="$config-$seed"
        $nasforge search "${common[@]}" --seed "$seed" --study "$study" "${extra[@]}" > /dev/null
        read -r candidates pruned best arch < <($nasforge trials --storage "$store" --study "$study" --json |
            python3 -c '
import json, sys
trials = [t for t in json.load(sys.stdin) if t["cached_from"] is None]
done = [t for t in trials if t["state"] == "complete" and t["metrics"].get("epochs", 0) >= 9]
best = max(done, key=lambda t: t["metrics"]["val_accuracy"])
print(len(trials), sum(t["state"] == "pruned" for t in trials), best["metrics"]["val_accuracy"], best["arch"])')
        # In the scratch folder: final training saves its weights under ./nasforge-weights.
        test=$(cd "$work" && $nasforge train --space nb201 --arch "$arch" --dataset fashion-mnist --channels 8 --cells 1 \
            --epochs 3 --batch-size 64 --seed 0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["test_accuracy"])')
        printf "%-10s %4s %10s %7s %8.4f %8.4f\n" "$config" "$seed" "$candidates" "$pruned" "$best" "$test"
    done
done
