"""Training throughput of the reference CNN on PyTorch's CPU backend, the counterpart of
crates/nasforge-train/examples/reference_cnn.rs (same network, batch, optimiser, threads and step counts).

    python examples/reference_cnn.py [--threads 2] [--batch 64] [--steps 30] [--warmup 5]

Prints images per second over the timed steps (after warm-up). Used by scripts/bench_reference_cnn.sh.
"""
import argparse
import time

import torch
from torch import nn


def conv_bn_relu(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        conv_bn_relu(3, 16), conv_bn_relu(16, 16), nn.MaxPool2d(2),
        conv_bn_relu(16, 32), conv_bn_relu(32, 32), nn.MaxPool2d(2),
        conv_bn_relu(32, 64), conv_bn_relu(64, 64),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.tensor([(i * 7) % 10 for i in range(args.batch)])

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()

    for _ in range(args.warmup):
        step()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - started
    rate = args.steps * args.batch / seconds
    print(f"pytorch {torch.__version__} reference CNN: batch {args.batch}, {args.threads} threads, "
          f"{args.steps} steps in {seconds:.2f} s: {rate:.0f} images/s")


if __name__ == "__main__":
    main()
