#!/usr/bin/env bash
# Peak resident memory of the main job's search (the same flags as scripts/main_job.sh: TPE, 8 channels,
# 1 cell per stage, 1 epoch on a tenth of Fashion-MNIST, at most 60 networks or 7 minutes), in a fresh study
# of a throw-away store, as /usr/bin/time reports it ("Maximum resident set size").
#
#   bash scripts/peak_memory.sh [extra search flags]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_fashion_mnist.sh
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
cargo build --release --locked -p nasforge
store=$(mktemp -d)/peak.db
/usr/bin/time -v ./target/release/nasforge search --space nb201 --strategy tpe --dataset fashion-mnist \
    --channels 8 --cells 1 --epochs 1 --data-fraction 0.1 --batch-size 64 --trials 60 --time-budget 7m \
    --seed 1 --storage "sqlite:$store" --study peak --log-level warn "$@" 2> >(grep -E "Maximum resident|Elapsed" >&2)
rm -rf "$(dirname "$store")"
