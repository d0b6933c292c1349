#!/usr/bin/env bash
# Training throughput of the reference CNN (issue 4): burn 0.22 on its pure-Rust CPU backend (flex) against
# PyTorch on the CPU, same network, batch 64, 2 threads, in one run, alternating the two ROUNDS times
# (default 3) and printing the medians and their ratio.
#
#   bash scripts/bench_reference_cnn.sh [ROUNDS]
#
# PyTorch is installed by this script into target/bench-venv (pip, from PyPI); the tests never need it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}

venv=target/bench-venv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "installing PyTorch into $venv (once)" >&2
    "$venv/bin/pip" install --quiet torch numpy
fi
cargo build --release --locked -p nasforge-train --example reference_cnn
burn=target/release/examples/reference_cnn

rate() { sed -n 's/.*: \([0-9]*\) images\/s$/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
burn_rates=() torch_rates=()
for round in $(seq "$rounds"); do
    b=$($burn --threads 2 --batch 64 --steps 30 | tee /dev/stderr | rate)
    t=$(OMP_NUM_THREADS=2 "$venv/bin/python" examples/reference_cnn.py --threads 2 --batch 64 --steps 30 | tee /dev/stderr | rate)
    burn_rates+=("$b") torch_rates+=("$t")
done
b=$(printf '%s\n' "${burn_rates[@]}" | median)
t=$(printf '%s\n' "${torch_rates[@]}" | median)
echo "median of $rounds rounds: burn flex $b images/s, PyTorch $t images/s, ratio $(awk "BEGIN {printf \"%.2f\", $b / $t}")"
