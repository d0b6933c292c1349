#!/usr/bin/env bash
# Training throughput of the reference CNN (issue 4): burn 0.22 on its pure-Rust CPU backend (flex) with
# nasforge's kernels (convolution, batch norm, pooling), burn 0.22 with its own kernels, and PyTorch on the
# CPU; same network, batch 64, 2 threads, in one run, alternating the three ROUNDS times (default 3) and
# printing the medians and the ratios to PyTorch.
#
#   bash scripts/bench_reference_cnn.sh [ROUNDS]
#
# PyTorch is installed by this script into target/bench-venv (pip, from PyPI); the tests never need it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}

source scripts/bench_venv.sh
cargo build --release --locked -p nasforge-train --example reference_cnn
burn=target/release/examples/reference_cnn

rate() { sed -n 's/.*: \([0-9]*\) images\/s$/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=() burns=() torches=()
for round in $(seq "$rounds"); do
    ours+=("$($burn --threads 2 --batch 64 --steps 30 | tee /dev/stderr | rate)")
    burns+=("$($burn --threads 2 --batch 64 --steps 30 --burn-ops | tee /dev/stderr | rate)")
    torches+=("$(OMP_NUM_THREADS=2 "$venv/bin/python" examples/reference_cnn.py --threads 2 --batch 64 --steps 30 | tee /dev/stderr | rate)")
done
o=$(printf '%s\n' "${ours[@]}" | median)
b=$(printf '%s\n' "${burns[@]}" | median)
t=$(printf '%s\n' "${torches[@]}" | median)
ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
echo "median of $rounds rounds: burn flex + nasforge kernels $o images/s (ratio $(ratio "$o" "$t")), burn flex alone $b images/s (ratio $(ratio "$b" "$t")), PyTorch $t images/s"
