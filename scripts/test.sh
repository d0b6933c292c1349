#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the tests need (the Debian packages
# dataset-fashion-mnist and postgresql), starts a throw-away PostgreSQL cluster on 127.0.0.1 for the
# distributed-worker tests, runs cargo test, builds the Python package into a virtual environment and runs
# its tests (pytest), lints the workspace with the `cuda` and `wgpu` features (clippy,
# warnings as errors), and removes the cluster. The NAS-Bench-201 table is read from
# ../shared/benchmarks/nb201/ (or $NASFORGE_NB201_TABLE); under CI=true the tests that need the table, the
# dataset or PostgreSQL fail when it is missing instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is required (install Rust with rustup)" >&2
    exit 1
fi

apt_install() {
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

bash scripts/install_fashion_mnist.sh
command -v psql >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
# The dashboard's browser test drives headless Chromium through Selenium.
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || apt_install chromium chromium-driver

eval "$(bash scripts/pg_test_cluster.sh start)"
trap 'bash scripts/pg_test_cluster.sh stop "$NASFORGE_TEST_POSTGRES_DIR" >/dev/null 2>&1 || true' EXIT

# A CI run builds once: incremental-compilation caches would only take disk (about 1 GB).
if [[ ${CI:-} == true ]]; then export CARGO_INCREMENTAL=0; fi

cargo test --workspace --locked "$@"

# Disk is what a CI machine runs short of (a run failed with "No space left on device" in pip): its test
# executables (about 1 GB) are not needed once they have run; the binaries and libraries the Python tests and
# clippy use stay.
if [[ ${CI:-} == true ]]; then
    find target/debug/deps target/debug/examples -maxdepth 1 -type f -executable ! -name '*.*' -delete
fi

# The Python package (python/): a virtual environment in the target directory with maturin, pytest, pandas,
# PyTorch, ONNX with onnxruntime and Selenium; the extension built by maturin into the same target directory with the test profile, so it
# reuses what cargo test built; then pytest, with the CLI binary cargo test built.
venv=target/python-venv
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --no-cache-dir maturin pytest pandas numpy onnx onnxruntime selenium
# PyTorch without triton, its kernel compiler for GPUs (1 GB that the tests never load): torch itself, then
# every requirement it declares but that one (pip would warn that triton is missing).
"$venv/bin/pip" install -q --no-cache-dir --no-deps torch
"$venv/bin/python" -c '
import importlib.metadata
for requirement in importlib.metadata.requires("torch"):
    if not requirement.startswith("triton") and "extra ==" not in requirement:
        print(requirement)
' >target/torch-requirements.txt
"$venv/bin/pip" install -q --no-cache-dir --no-warn-conflicts -r target/torch-requirements.txt
PATH="$PWD/$venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target" MATURIN_PEP517_ARGS="--profile dev" \
    "$venv/bin/pip" install -q --no-cache-dir --no-build-isolation --force-reinstall --no-deps ./python
NASFORGE_BIN="$PWD/target/debug/nasforge" "$venv/bin/python" -m pytest python/tests -q
# The venv (about 5 GB) is not needed by the lint below: a CI machine frees its disk before clippy adds its own.
if [[ ${CI:-} == true ]]; then rm -rf "$venv"; fi

# The `cuda` feature compiles on a machine without a GPU, but burn 0.22.1's CUDA runtime (cubecl-cuda ->
# cubecl-llvm -> tracel-llvm-bundler) downloads an LLVM bundle from GitHub in a build script, which needs
# the internet. DOCS_RS=1 makes that build script skip the download, so clippy type-checks (and lints, warnings
# as errors) every line of ours behind the feature; linking a CUDA binary needs the download (or a machine
# with internet). `wgpu` needs no download (README: a release build with it trains on Mesa's software
# Vulkan driver); it is checked here too rather than built, which would take CI another 10 minutes.
gpu_features=(--locked --workspace --all-targets --features nasforge/cuda,nasforge/wgpu)
if cargo clippy --version >/dev/null 2>&1; then
    DOCS_RS=1 cargo clippy "${gpu_features[@]}" -- -D warnings
else
    echo "clippy is not installed (rustup component add clippy): type-checking without lints" >&2
    DOCS_RS=1 cargo check "${gpu_features[@]}"
fi
