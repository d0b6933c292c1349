"""A NAS-Bench-201 cell search on Fashion-MNIST, trained by PyTorch through ask and tell, with ASHA stopping
the trials that fall behind.

Every candidate is built by ``nasforge.torch`` (the network nasforge's own trainer builds, same parameter
count), trained for a few epochs on 90% of the training images and scored on the other 10% (validation);
the test images are touched once, to report the chosen cell. The study is stored in an SQLite file:
``nasforge trials --storage sqlite:fashion_torch.db --study torch`` shows it, and running this again
continues it.

    pip install ./python torch numpy
    python examples/python/fashion_mnist_torch.py [--trials 12] [--epochs 3] [--fraction 0.2]
"""

from __future__ import annotations

import argparse
import gzip
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

import nasforge
import nasforge.torch

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist


def idx(name: str) -> np.ndarray:
    """An IDX file of the Debian package (images N×28×28 or labels N)."""
    raw = gzip.open(DATA / name).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - 0.2860) / 0.3530, torch.from_numpy(labels.astype(np.int64))


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return sum((model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epoch_seed: int) -> None:
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch_seed))
    for start in range(0, len(x), 128):
        batch = order[start : start + 128]
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.2, help="share of the training split each epoch uses")
    parser.add_argument("--storage", default="sqlite:fashion_torch.db")
    args = parser.parse_args()
    torch.set_num_threads(2)

    x, y = tensors(idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz"))
    split = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    held_out = len(x) // 10
    x_val, y_val, x_train, y_train = x[split[:held_out]], y[split[:held_out]], x[split[held_out:]], y[split[held_out:]]
    used = int(len(x_train) * args.fraction)

    study = nasforge.create_study(
        storage=args.storage,
        study_name="torch",
        space="nb201",
        strategy="tpe",
        objectives=["val_accuracy:max"],
        seed=0,
        scheduler={"kind": "asha", "min_resource": 1, "max_resource": args.epochs, "eta": 3},
        load_if_exists=True,
    )

    def objective(trial: nasforge.Trial) -> float:
        torch.manual_seed(trial.seed % 2**31)
        model = nasforge.torch.build_model("nb201", trial.arch_json, input_shape=(1, 28, 28), channels=8, cells=1)
        for epoch in range(1, args.epochs + 1):
            train(model, x_train[:used], y_train[:used], trial.seed + epoch)
            trial.report(epoch, accuracy(model, x_val, y_val))
            if trial.should_prune():
                raise nasforge.TrialPruned(trial.prune_reason)
        return accuracy(model, x_val, y_val)

    study.optimize(objective, n_trials=args.trials)
    best = study.best
    counts = {state: sum(t.state == state for t in study.trials) for state in ("complete", "pruned", "failed")}
    print(f"trials: {counts}")
    print(f"best: {best.arch}  val_accuracy {best.metrics['val_accuracy']:.4f}")

    # The test split, once, for the chosen cell only (retrained on all training images by the same recipe).
    torch.manual_seed(0)
    model = nasforge.torch.build_model("nb201", best.arch_json, input_shape=(1, 28, 28), channels=8, cells=1)
    for epoch in range(1, args.epochs + 1):
        train(model, x, y, epoch)
    x_test, y_test = tensors(idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz"))
    print(f"test accuracy of the chosen cell: {accuracy(model, x_test, y_test):.4f}")


if __name__ == "__main__":
    main()
