"""`nasforge export --format pytorch` files, built by PyTorch alone: the network of a study's best
architecture, in every space, with the parameter count nasforge counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import require

try:
    import torch
except ImportError:
    torch = None


@pytest.mark.parametrize("space", ["nb201", "darts", "chain", "mbconv"])
def test_an_exported_pytorch_file_builds_the_network_nasforge_counts(tmp_path, cli, space):
    require(torch, "PyTorch is not installed (pip install torch)")
    storage = f"sqlite:{tmp_path / 's.db'}"
    search = [cli, "search", "--storage", storage, "--study", space, "--space", space]
    subprocess.run([*search, "--proxy", "params", "--trials", "4"], check=True, capture_output=True, cwd=tmp_path)
    export = [cli, "export", "--storage", storage, "--study", space, "--arch", "best", "--input", "1x28x28"]
    described = json.loads(subprocess.run(export, check=True, capture_output=True, text=True).stdout)
    source = tmp_path / "network.py"
    subprocess.run([*export, "--format", "pytorch", "-o", str(source)], check=True, capture_output=True)

    # The file needs PyTorch only: nasforge itself made unimportable.
    run = f"import sys, runpy; sys.modules['nasforge'] = None; runpy.run_path({str(source)!r}, run_name='__main__')"
    printed = subprocess.run([sys.executable, "-c", run], check=True, capture_output=True, text=True).stdout
    assert int(printed) == described["params"]

    namespace: dict = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    model = namespace["build"]()
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, described["classes"])
