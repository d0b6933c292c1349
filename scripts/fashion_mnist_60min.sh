#!/usr/bin/env bash
# The training issue's longer run: a 60-minute architecture search on Fashion-MNIST, then final training of
# the best cell, on the CPU. Same steps as scripts/main_job.sh with a higher-fidelity proxy and a longer
# final training:
#
#  - search: NAS-Bench-201 cells with TPE, each candidate 8 channels and 1 cell per stage trained for
#    2 epochs on a fifth of the training set, scored on the validation split; 60 minutes of wall clock.
#  - final training: the best cell, 16 channels (the benchmark's width) and 1 cell per stage, on all 60,000
#    training images for 30 epochs with augmentation (random crops, flips); test accuracy on the 10,000 test
#    images. About 65 minutes on 2 idle cores.
#
# Study in nasforge-60min.db (study fashion-mnist-60min); running it again continues that study.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_fashion_mnist.sh

cargo build --release --locked -p nasforge
nasforge=./target/release/nasforge
store=sqlite:nasforge-60min.db
study=fashion-mnist-60min

$nasforge search --space nb201 --strategy tpe --dataset fashion-mnist \
    --channels 8 --cells 1 --epochs 2 --data-fraction 0.2 --batch-size 64 \
    --trials 1000 --time-budget 60m --seed 1 --storage $store --study $study "$@"
$nasforge train --storage $store --study $study --arch best --channels 16 --cells 1 --epochs 30 --augment --json
