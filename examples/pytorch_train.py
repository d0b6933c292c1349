#!/usr/bin/env python3
"""A PyTorch training program driven by nasforge's command evaluator (not needed by the tests).

nasforge runs it once per trial and hands it the architecture; it trains the NAS-Bench-201 network
around that cell on Fashion-MNIST and prints one JSON line per epoch and a final line with the metrics:

    nasforge search --space nb201 --evaluator command --command "python3 examples/pytorch_train.py" \
        --metric val_accuracy --trials 30 --trial-timeout 20m --storage sqlite:nasforge.db --study torch

The trial's description is on standard input and in $NASFORGE_ARCH_FILE:
{"space": "nb201", "arch": "|nor_conv_3x3~0|+...", "arch_json": {"nodes": [...]}, "seed": 7,
 "fidelity": {"epochs": 3, "data_fraction": 0.2}}
Needs torch (pip install torch) and the Debian package dataset-fashion-mnist.
"""

import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c, k):
        super().__init__(nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c))


class Zero(nn.Module):
    def forward(self, x):
        return x * 0.0


def make_op(name, c):
    return {
        "none": lambda: Zero(),
        "skip_connect": lambda: nn.Identity(),
        "nor_conv_1x1": lambda: ReLUConvBN(c, 1),
        "nor_conv_3x3": lambda: ReLUConvBN(c, 3),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }[name]()


class Cell(nn.Module):
    def __init__(self, nodes, c):
        super().__init__()
        self.nodes = nodes
        self.ops = nn.ModuleList(make_op(op, c) for node in nodes for op in node)

    def forward(self, x):
        states, k = [x], 0
        for node in self.nodes:
            total = 0
            for j, _ in enumerate(node):
                total = total + self.ops[k](states[j])
                k += 1
            states.append(total)
        return states[-1]


class Reduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out))
        self.b = ReLUConvBN(c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.b(self.a(x)) + self.shortcut(x)


def network(nodes, c=16, n=5, classes=10, channels_in=1):
    layers = [nn.Conv2d(channels_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]
    for stage in range(3):
        if stage:
            layers.append(Reduction(c, 2 * c))
            c *= 2
        layers += [Cell(nodes, c) for _ in range(n)]
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def main():
    trial = json.load(sys.stdin)
    if trial["space"] != "nb201":
        sys.exit(f"this example builds nb201 cells only, not {trial['space']}")
    fidelity = trial.get("fidelity", {})
    epochs = int(fidelity.get("epochs", 3))
    fraction = float(fidelity.get("data_fraction", 0.2))
    torch.manual_seed(trial["seed"] % 2**31)

    images = torch.tensor(read_idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255.0
    labels = torch.tensor(read_idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    valid, train = order[:5000], order[5000:]
    train = train[: int(len(train) * fraction)]
    mean, std = images[train].mean(), images[train].std()
    images = (images - mean) / std

    model = network(trial["arch_json"]["nodes"], c=int(fidelity.get("channels", 16)), n=int(fidelity.get("cells", 2)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = epochs * ((len(train) + 127) // 128)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    loss_fn = nn.CrossEntropyLoss()
    started = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in train[torch.randperm(len(train))].split(128):
            optimizer.zero_grad()
            loss = loss_fn(model(images[batch]), labels[batch])
            if not torch.isfinite(loss):
                sys.exit("the loss diverged")
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(images[b]) for b in valid.split(500)])
            val_loss = loss_fn(logits, labels[valid]).item()
            accuracy = (logits.argmax(1) == labels[valid]).float().mean().item()
        print(json.dumps({"epoch": epoch, "val_accuracy": accuracy, "val_loss": val_loss}), flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"val_accuracy": accuracy, "val_loss": val_loss, "params": params,
                      "train_seconds": time.time() - started}), flush=True)


if __name__ == "__main__":
    main()
