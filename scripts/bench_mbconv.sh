#!/usr/bin/env bash
# Training throughput of an mbconv network (issue 17): burn 0.22 on its CPU backend (flex) with nasforge's
# kernels (depthwise and plain convolution, batch norm, pooling) against PyTorch on the CPU; the same network
# (the PyTorch one built by python/nasforge/torch.py; the script stops if the parameter counts differ),
# batch 64, 2 threads, 40 timed steps, alternating the two ROUNDS times (default 5) and printing each round,
# the medians, the ratio of medians and the spread of the per-round ratios.
#
#   bash scripts/bench_mbconv.sh [ROUNDS]
#
# PyTorch is installed by this script into target/bench-venv (pip, from PyPI); the tests never need it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}

source scripts/bench_venv.sh
cargo build --release --locked -p nasforge-train --example mbconv_throughput
burn=target/release/examples/mbconv_throughput

source scripts/throughput_rounds.sh
throughput_rounds mbconv "$rounds" "$burn" --threads 2 --batch 64 --steps 40 \
    -- "$venv/bin/python" examples/mbconv_throughput.py --threads 2 --batch 64 --steps 40
