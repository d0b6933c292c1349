#!/usr/bin/env bash
# The main job on a fresh machine: a real neural architecture search on Fashion-MNIST, then final training
# of the best network, all on the CPU on 2 cores: about 14 minutes once nasforge is built, about 22 on a
# fresh clone (the release build takes about 8 of them).
#
#  1. Installs Fashion-MNIST (Debian package dataset-fashion-mnist) when missing, builds nasforge.
#  2. Searches NAS-Bench-201 cells with TPE. Each candidate is a downscaled network (8 channels, 1 cell per
#     stage) trained for 1 epoch on a tenth of the training set and scored on a validation split held out
#     of the training set (the test set is not touched). 7 minutes or 60 networks, whichever comes first.
#     Every trial (accuracy, learning curve, parameters, FLOPs, latency) is stored in nasforge.db (SQLite).
#  3. Trains the best cell from scratch, wider (12 channels), on the whole training set for 5 epochs and
#     reports its test accuracy; the weights go to nasforge-weights/.
#
# Running it again continues the same study (pass e.g. --trials 120 --time-budget 20m for a longer search).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_fashion_mnist.sh

cargo build --release --locked -p nasforge
nasforge=./target/release/nasforge
store=sqlite:nasforge.db
study=fashion-mnist

echo "== search: NAS-Bench-201 cells on Fashion-MNIST (proxy: 8 channels, 1 cell/stage, 1 epoch, 10% of the data)"
$nasforge search --space nb201 --strategy tpe --dataset fashion-mnist \
    --channels 8 --cells 1 --epochs 1 --data-fraction 0.1 --batch-size 64 \
    --trials 60 --time-budget 7m --seed 1 --storage $store --study $study "$@"

echo
echo "== the five best candidates (validation accuracy of the proxy)"
$nasforge trials --storage $store --study $study --json | python3 -c '
import json, sys
trials = [t for t in json.load(sys.stdin) if t["state"] == "complete" and t["cached_from"] is None]
trials.sort(key=lambda t: -t["metrics"]["val_accuracy"])
for t in trials[:5]:
    m = t["metrics"]
    print("  trial %3d  val_accuracy %.4f  params %7d  %s" % (t["id"], m["val_accuracy"], m["params"], t["arch"]))
'

echo
echo "== final training of the best cell on all 60,000 training images, test accuracy on the 10,000 test images"
$nasforge train --storage $store --study $study --arch best --channels 12 --epochs 5
echo
echo "study '$study' is stored in nasforge.db (nasforge trials|best|pareto --storage $store --study $study)"
