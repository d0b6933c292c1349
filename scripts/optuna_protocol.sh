#!/usr/bin/env bash
# Optuna's TPE and random samplers under nasforge's protocol (search on validation, report test accuracy;
# --noise seeds for one seed's value per query), printing `nasforge compare --json`'s shape. Installs Optuna
# from PyPI into target/optuna-venv on first use. Arguments go to scripts/optuna_protocol.py, e.g.
#   bash scripts/optuna_protocol.sh --metric cifar100_valid --report-metric cifar100 --noise seeds
set -euo pipefail
cd "$(dirname "$0")/.."
NB201=${NB201_DIR:-../shared/benchmarks/nb201}
if [ ! -x target/optuna-venv/bin/python ] || ! target/optuna-venv/bin/python -c "import optuna" 2>/dev/null; then
    python3 -m venv target/optuna-venv
    target/optuna-venv/bin/pip install --quiet optuna
fi
exec target/optuna-venv/bin/python scripts/optuna_protocol.py \
    --valid "$NB201/nb201_validation.csv" --test "$NB201/nb201_test_accuracy.csv" "$@"
