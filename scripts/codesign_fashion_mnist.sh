#!/usr/bin/env bash
# Co-design on Fashion-MNIST with real training (issue 17): a small mbconv space whose deployment (threads 1 or
# 2, batch 1, 16 or 64) is searched with the network. Each candidate is timed under its deployment before
# training (one batch on a pool of its threads: `latency_ms`, and `throughput` in images/s), a candidate over
# the per-batch bound `latency_ms <= BOUND` is rejected untrained, and each strategy searches validation
# accuracy (max) and throughput (max), SEEDS seeds of TRIALS candidates, each trained 1 epoch on a tenth of the
# training split (batch 32). Prints, per strategy, the hypervolume of the front in accuracy and milliseconds
# per image (1000 / throughput) above 70 % accuracy and under REFERENCE_MS per image, mean over seeds ± CI95
# (scripts/latency_front.py), then the deployments on each strategy's front. One worker: the timings own the
# machine's cores. No test image is read.
#
# With PRECISIONS (e.g. f32,f16,bf16) the precision is searched too: each candidate is timed with its network
# cast to its format, and the accuracy searched and reported is `deployed_val_accuracy` (the trained network
# evaluated in that format).
#
#   bash scripts/codesign_fashion_mnist.sh [SEEDS] [TRIALS] [BOUND_MS] [REFERENCE_MS] [STRATEGIES] [PRECISIONS]
#   defaults: 3 seeds, 30 trials, 20 ms, 1 ms per image, random,tpe, f32 only; runs kept in target/codesign-fm (-precision)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
trials=${2:-30}
bound=${3:-20}
reference=${4:-1}
strategies=${5:-random,tpe}
precisions=${6:-}
accuracy=val_accuracy
bash scripts/install_fashion_mnist.sh >&2
cargo build --release --locked -p nasforge >&2
nasforge=./target/release/nasforge
work=target/codesign-fm${precisions:+-precision}
mkdir -p "$work"
cat > "$work/space.toml" <<'TOML'
[space]
name = "mbconv"
stage_channels = [8, 16, 24, 32]
head_channels = 64
min_depth = 1
max_depth = 3
threads = [1, 2]
batches = [1, 16, 64]
TOML
if [ -n "$precisions" ]; then
    echo "precisions = [\"${precisions//,/\", \"}\"]" >> "$work/space.toml"
    accuracy=deployed_val_accuracy
fi
for strategy in ${strategies//,/ }; do
    for seed in $(seq 1 "$seeds"); do
        study="$strategy-$seed"
        started=$SECONDS
        $nasforge search --config "$work/space.toml" --dataset fashion-mnist --epochs 1 --data-fraction 0.1 \
            --batch-size 32 --constraint "latency_ms <= $bound" --objective "$accuracy:max" \
            --objective throughput:max --strategy "$strategy" --trials "$trials" --workers 1 --seed "$seed" \
            --storage "sqlite:$work/runs.db" --study "$study" --log-level error > /dev/null
        $nasforge trials --storage "sqlite:$work/runs.db" --study "$study" --json > "$work/$study.json"
        echo "$study: $((SECONDS - started)) s" >&2
    done
done
python3 scripts/latency_front.py "$work" --strategies "$strategies" --seeds "$seeds" --accuracy "$accuracy" \
    --throughput throughput --target "$reference" --reference-accuracy 0.7 \
    --title "Fashion-MNIST co-design: validation accuracy vs ms per image under latency_ms <= $bound per batch, $trials trials, $seeds seeds"
python3 - "$work" "$strategies" "$seeds" "$accuracy" <<'PY'
import json, sys
from collections import Counter
work, strategies, seeds, accuracy = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
for strategy in strategies:
    on_front = Counter()
    for seed in range(1, seeds + 1):
        done = [t for t in json.load(open(f"{work}/{strategy}-{seed}.json")) if t["state"] == "complete"]
        points = [(t["metrics"][accuracy], t["metrics"]["throughput"], t["arch"]) for t in done]
        for a, r, arch in points:
            if not any(a2 >= a and r2 >= r and (a2, r2) != (a, r) for a2, r2, _ in points):
                on_front[arch.split(":")[0].split("-", 2)[2]] += 1
    print(f"{strategy}: deployments on the fronts: " + ", ".join(f"{d} ×{n}" for d, n in on_front.most_common()))
PY
