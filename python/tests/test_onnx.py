"""`nasforge export --format onnx`: models that ONNX's checker accepts and onnxruntime runs to burn's own
logits (within 1e-4, relative to the logits' scale where it exceeds 1: a fresh cell of skip connections
reaches logits in the thousands, where float32 rounding alone is 1e-4), in every space, with fresh weights and
with the weights `nasforge train` saved."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import require

try:
    import numpy as np
    import onnx
    import onnxruntime
except ImportError:
    onnx = None


def run_exported(model_path, reference_path):
    """The largest difference between onnxruntime's logits and burn's (relative to the logits' largest
    magnitude where that exceeds 1), and burn's logits."""
    model = onnx.load(str(model_path))
    onnx.checker.check_model(model, full_check=True)
    reference = json.loads(reference_path.read_text())
    x = np.asarray(reference["input"], dtype=np.float32).reshape(reference["input_shape"])
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": x})
    expected = np.asarray(reference["logits"], dtype=np.float32).reshape(logits.shape)
    scale = max(1.0, float(np.abs(expected).max()))
    return float(np.abs(logits - expected).max()) / scale, expected


@pytest.mark.parametrize("space", ["nb201", "darts", "chain", "mbconv"])
def test_every_trial_of_a_study_exports_to_onnx_with_burns_outputs(tmp_path, cli, space):
    require(onnx, "onnx and onnxruntime are not installed (pip install onnx onnxruntime)")
    storage = f"sqlite:{tmp_path / 's.db'}"
    search = [cli, "search", "--storage", storage, "--study", space, "--space", space, "--seed", "3"]
    subprocess.run([*search, "--proxy", "params", "--trials", "8"], check=True, capture_output=True, cwd=tmp_path)
    listed = [cli, "trials", "--storage", storage, "--study", space, "--json"]
    trials = json.loads(subprocess.run(listed, check=True, capture_output=True, text=True).stdout)
    assert len(trials) == 8
    for trial in trials:
        model, reference = tmp_path / f"{trial['id']}.onnx", tmp_path / f"{trial['id']}.json"
        export = [cli, "export", "--storage", storage, "--study", space, "--arch", str(trial["id"])]
        export += ["--input", "1x28x28", "--format", "onnx", "-o", str(model), "--reference", str(reference)]
        subprocess.run(export, check=True, capture_output=True)
        difference, _ = run_exported(model, reference)
        assert difference < 1e-4, f"{space} {trial['arch']}: onnxruntime differs from burn by {difference}"


def test_trained_weights_travel_into_the_onnx_model(tmp_path, cli):
    require(onnx, "onnx and onnxruntime are not installed (pip install onnx onnxruntime)")
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    network = ["--space", "nb201", "--arch", arch, "--channels", "4", "--cells", "1"]
    weights = tmp_path / "trained.bpk"
    train = [cli, "train", *network, "--dataset", "synthetic", "--epochs", "2", "--weights", str(weights)]
    subprocess.run(train, check=True, capture_output=True, cwd=tmp_path)
    logits = {}
    for name, extra in [("fresh", []), ("trained", ["--weights", str(weights)])]:
        model, reference = tmp_path / f"{name}.onnx", tmp_path / f"{name}.json"
        export = [cli, "export", *network, "--input", "1x12x12", "--classes", "4", "--format", "onnx"]
        subprocess.run([*export, *extra, "-o", str(model), "--reference", str(reference)], check=True, capture_output=True)
        difference, logits[name] = run_exported(model, reference)
        assert difference < 1e-4, f"{name} weights: onnxruntime differs from burn by {difference}"
    assert np.abs(logits["trained"] - logits["fresh"]).max() > 1e-3, "the trained weights were not exported"


def test_weights_of_another_network_are_refused(tmp_path, cli):
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    weights = tmp_path / "trained.bpk"
    train = [cli, "train", "--space", "nb201", "--arch", arch, "--channels", "4", "--cells", "1"]
    subprocess.run([*train, "--dataset", "synthetic", "--epochs", "1", "--weights", str(weights)], check=True, capture_output=True, cwd=tmp_path)
    model = tmp_path / "m.onnx"
    export = [cli, "export", "--space", "nb201", "--arch", arch, "--channels", "8", "--cells", "1", "--input", "1x12x12"]
    export += ["--classes", "4", "--format", "onnx", "--weights", str(weights), "-o", str(model)]
    refused = subprocess.run(export, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "trained.bpk" in refused.stderr and "--channels" in refused.stderr
    assert not model.exists()
