#!/usr/bin/env bash
# Training throughput of the NAS-Bench-201 supernet (issue 19): burn 0.22 on its CPU backend (flex) with
# nasforge's kernels, through nasforge's own SPOS and DARTS training loops, against a PyTorch twin of the same
# supernet (examples/supernet_throughput.py; the script stops if the parameter counts differ); the oneshot
# figures' scale (8 channels, one cell per stage, 1×28×28 inputs, batch 128), 2 threads, 40 timed steps,
# alternating the two ROUNDS times (default 5) for each method and printing each round, the medians, the ratio
# of medians and the spread of the per-round ratios.
#
#   bash scripts/bench_supernet.sh [ROUNDS] [CHANNELS] [CELLS]
#
# PyTorch is installed by this script into target/bench-venv (pip, from PyPI); the tests never need it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
channels=${2:-8}
cells=${3:-1}

source scripts/bench_venv.sh
cargo build --release --locked -p nasforge-train --example supernet_throughput
burn=target/release/examples/supernet_throughput

source scripts/throughput_rounds.sh
for method in spos darts; do
    flags=(--method "$method" --channels "$channels" --cells "$cells" --threads 2 --batch 128 --steps 40)
    throughput_rounds "$method" "$rounds" "$burn" "${flags[@]}" -- "$venv/bin/python" examples/supernet_throughput.py "${flags[@]}"
done
