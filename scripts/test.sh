#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the tests need, then cargo test.
# The NAS-Bench-201 table is read from ../shared/benchmarks/nb201/ (or $NASFORGE_NB201_TABLE); under
# CI=true the tests that need it fail when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is required (install Rust with rustup)" >&2
    exit 1
fi

cargo test --workspace --locked "$@"
