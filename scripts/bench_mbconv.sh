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

rate() { sed -n 's/.*: \([0-9]*\) images\/s$/\1/p' <<<"$1"; }
params() { sed -n 's/.*(\([0-9]*\) parameters).*/\1/p' <<<"$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=() torches=() ratios=()
for round in $(seq "$rounds"); do
    o=$($burn --threads 2 --batch 64 --steps 40)
    t=$(OMP_NUM_THREADS=2 "$venv/bin/python" examples/mbconv_throughput.py --threads 2 --batch 64 --steps 40)
    echo "round $round: $o | $t"
    if [[ $(params "$o") != "$(params "$t")" ]]; then
        echo "the two networks differ: $(params "$o") against $(params "$t") parameters" >&2
        exit 1
    fi
    ours+=("$(rate "$o")") torches+=("$(rate "$t")")
    ratios+=("$(awk "BEGIN {printf \"%.2f\", $(rate "$o") / $(rate "$t")}")")
done
o=$(printf '%s\n' "${ours[@]}" | median)
t=$(printf '%s\n' "${torches[@]}" | median)
spread=$(printf '%s\n' "${ratios[@]}" | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {print lo "–" hi}')
echo "median of $rounds rounds: burn flex + nasforge kernels $o images/s, PyTorch $t images/s, ratio $(awk "BEGIN {printf \"%.2f\", $o / $t}") (per-round ratios $spread)"
