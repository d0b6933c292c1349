#!/usr/bin/env bash
# The main job on a fresh machine: builds nasforge and runs a neural architecture search over the
# NAS-Bench-201 cell space, scored by the benchmark's CIFAR-10 table, stored in an embedded SQLite file
# (nasforge.db). Running it again continues the same study (pass --trials N for a larger budget).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p nasforge
nasforge=./target/release/nasforge
$nasforge search --space nb201 --strategy local --evaluator table --metric cifar10 \
    --trials 100 --seed 1 --storage sqlite:nasforge.db --study nb201-cifar10 "$@"
echo
echo "best architecture of study nb201-cifar10 (stored in nasforge.db):"
$nasforge best --storage sqlite:nasforge.db --study nb201-cifar10
