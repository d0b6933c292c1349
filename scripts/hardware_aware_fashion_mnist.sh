#!/usr/bin/env bash
# The accuracy–latency front under a latency target on Fashion-MNIST with real training (issue 17): a latency
# look-up table of a small mbconv space is measured on this CPU (1 thread, batch 1), then each strategy searches
# validation accuracy (max) and the table's latency (min) under the hard constraint `latency_ms <= TARGET`
# (a candidate over it is rejected untrained, and counts towards the budget), SEEDS seeds of TRIALS candidates
# each, every candidate trained 1 epoch on a tenth of the training split (batch 32). Prints, per strategy, the
# hypervolume of the feasible front above 70 % accuracy, the feasible trials and the best feasible validation
# accuracy, mean over seeds ± CI95 (scripts/latency_front.py). No test image is read.
#
#   bash scripts/hardware_aware_fashion_mnist.sh [SEEDS] [TRIALS] [TARGET_MS] [STRATEGIES]
#   defaults: 3 seeds, 30 trials, 0.8 ms, random,tpe,nsga2; runs and the table are kept in target/hardware-aware-fm
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
trials=${2:-30}
target=${3:-0.8}
strategies=${4:-random,tpe,nsga2}
bash scripts/install_fashion_mnist.sh >&2
cargo build --release --locked -p nasforge >&2
nasforge=./target/release/nasforge
work=target/hardware-aware-fm
mkdir -p "$work"
cat > "$work/space.toml" <<'TOML'
[space]
name = "mbconv"
stage_channels = [8, 16, 24, 32]
head_channels = 64
min_depth = 1
max_depth = 3
TOML
[[ -f $work/lut.json ]] || $nasforge latency build --config "$work/space.toml" --device cpu -o "$work/lut.json" >&2
for strategy in ${strategies//,/ }; do
    for seed in $(seq 1 "$seeds"); do
        study="$strategy-$seed"
        started=$SECONDS
        $nasforge search --config "$work/space.toml" --dataset fashion-mnist --epochs 1 --data-fraction 0.1 \
            --batch-size 32 --latency-model lut --latency-table "$work/lut.json" --constraint "latency_ms <= $target" \
            --objective val_accuracy:max --objective latency_ms:min --strategy "$strategy" --trials "$trials" \
            --seed "$seed" --storage "sqlite:$work/runs.db" --study "$study" --log-level error > /dev/null
        $nasforge trials --storage "sqlite:$work/runs.db" --study "$study" --json > "$work/$study.json"
        echo "$study: $((SECONDS - started)) s" >&2
    done
done
python3 scripts/latency_front.py "$work" --strategies "$strategies" --seeds "$seeds" --accuracy val_accuracy \
    --latency latency_ms --target "$target" --reference-accuracy 0.7 \
    --title "Fashion-MNIST validation accuracy vs the look-up table's latency (CPU, 1 thread, batch 1), target $target ms, $trials trials, $seeds seeds"
