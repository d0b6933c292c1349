#!/usr/bin/env bash
# Makes docs/dashboard.png, the README's picture of the dashboard: an NSGA-II search of NAS-Bench-201 cells
# for CIFAR-10 accuracy against parameters (the benchmark table, 300 trials), the dashboard started on it,
# and headless Chromium's screenshot of the study's page. Needs chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${NASFORGE_BIN:-target/debug/nasforge}
[[ -x $bin ]] || cargo build -p nasforge
table=${NASFORGE_NB201_TABLE:-../shared/benchmarks/nb201/nb201_test_accuracy.csv}
dir=$(mktemp -d)
trap 'kill "${dashboard:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT

"$bin" search --storage "sqlite:$dir/s.db" --study accuracy-vs-size --strategy nsga2 --table "$table" \
    --objective cifar10:max --objective params:min --trials 300 --seed 1 >/dev/null 2>&1
"$bin" dashboard --storage "sqlite:$dir/s.db" --port 0 >"$dir/address" &
dashboard=$!
for _ in $(seq 50); do grep -q http "$dir/address" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$dir/address")
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2600 \
    --screenshot="$PWD/docs/dashboard.png" "${url}study/accuracy-vs-size" 2>/dev/null
echo "wrote docs/dashboard.png"
