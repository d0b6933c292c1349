#!/usr/bin/env bash
# Accuracy of the latency models of a space on this machine's CPU: builds FILES model files in a row
# (`nasforge latency build`, 1 thread, batch 1) and checks each on 200 networks it has never seen, measured
# end to end (`nasforge latency check`), printing each model's share within ±10 %, Kendall's τ and errors.
#   bash scripts/latency_models_benchmark.sh SPACE [FILES] [extra build flags, e.g. --channels 8 --cells 1]
# Run it on an otherwise idle machine: every figure is a time measured on it.
set -euo pipefail
space=${1:?usage: latency_models_benchmark.sh SPACE [FILES] [build flags]}
files=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p nasforge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$files"); do
  ./target/release/nasforge latency build --space "$space" "$@" -o "$work/model$i.json" 2>/dev/null |
    grep -E '^(operators|calibration networks|build_seconds)' | tr '\n' ' '
  echo
  ./target/release/nasforge latency check --space "$space" --model "$work/model$i.json" --samples 200 2>/dev/null
done
