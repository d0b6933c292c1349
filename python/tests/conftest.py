"""What the tests share: the NB201 table, the command-line binary and the PostgreSQL test server, each
found as the Rust tests find them; a missing one skips its tests, or fails them when CI=true."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def require(found: str | None, reason: str) -> str:
    """``found``, or a skip (a failure under CI=true, where every test must run)."""
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this test must run, not be skipped)")
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session")
def nb201_table() -> str:
    """The NAS-Bench-201 test-accuracy table: $NASFORGE_NB201_TABLE or ../shared/benchmarks/nb201/."""
    path = os.environ.get("NASFORGE_NB201_TABLE") or str(
        REPO.parent / "shared" / "benchmarks" / "nb201" / "nb201_test_accuracy.csv"
    )
    return require(path if os.path.exists(path) else None, f"no NB201 table at {path}")


@pytest.fixture(scope="session")
def cli() -> str:
    """The `nasforge` command: $NASFORGE_BIN, the workspace's debug or release build, or one on PATH."""
    candidates = [
        os.environ.get("NASFORGE_BIN"),
        os.path.join(os.environ.get("CARGO_TARGET_DIR", REPO / "target"), "debug", "nasforge"),
        os.path.join(os.environ.get("CARGO_TARGET_DIR", REPO / "target"), "release", "nasforge"),
        shutil.which("nasforge"),
    ]
    found = next((c for c in candidates if c and os.path.exists(c)), None)
    return require(found, "no nasforge binary (cargo build -p nasforge, or set NASFORGE_BIN)")


@pytest.fixture(scope="session")
def postgres() -> str:
    """The test PostgreSQL server's URL: $NASFORGE_TEST_POSTGRES (scripts/pg_test_cluster.sh start)."""
    return require(os.environ.get("NASFORGE_TEST_POSTGRES"), "NASFORGE_TEST_POSTGRES is not set")
