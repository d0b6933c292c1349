"""Training throughput of the NAS-Bench-201 supernet on PyTorch's CPU backend, the counterpart of
crates/nasforge-train/examples/supernet_throughput.rs: the same supernet (every edge holds a ReLU-conv-BN 1×1,
a ReLU-conv-BN 3×3 and a 3×3 average pool; zero and identity need no weights; the benchmark's stem, residual
reductions and classifier, built from `nasforge.torch`'s layers; the parameter count is printed), batch,
optimiser, threads and step counts. SPOS: one uniformly drawn path per step. DARTS: every operation weighted
by softmax(α); a step on the weights with a training batch (SGD, momentum 0.9), then one on α with a
validation batch (Adam 3e-4, β = (0.5, 0.999), weight decay 1e-3).

    python examples/supernet_throughput.py [--method spos|darts] [--channels 8] [--cells 1] [--threads 2] \
        [--batch 128] [--steps 40]

`nasforge/torch.py` is loaded from the repository, so the compiled package is not needed.
"""
import argparse
import importlib.util
import pathlib
import random
import time

import torch
from torch import nn
from torch.nn import functional as F

TORCH_BUILDER = pathlib.Path(__file__).resolve().parent.parent / "python" / "nasforge" / "torch.py"
OPERATIONS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = 6


def load_builder():
    spec = importlib.util.spec_from_file_location("nasforge_torch", TORCH_BUILDER)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    return builder


def supernet_class(builder):
    class SupernetEdge(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv_1x1 = builder.ConvUnit.relu_conv_bn(builder.conv(channels, channels, 1))
            self.conv_3x3 = builder.ConvUnit.relu_conv_bn(builder.conv(channels, channels, 3))
            self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

        def forward(self, op, x):
            if op == "none":
                return None
            if op == "skip_connect":
                return x
            if op == "nor_conv_1x1":
                return self.conv_1x1(x)
            if op == "nor_conv_3x3":
                return self.conv_3x3(x)
            return self.pool(x)

        def terms(self, terms, x):
            """The sum of `terms` ((op, weight or None) pairs); None when every term is zero."""
            total = None
            for op, weight in terms:
                out = self.forward(op, x)
                if out is None:
                    continue
                out = out if weight is None else out * weight
                total = out if total is None else total + out
            return total

    class SupernetCell(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.edges = nn.ModuleList(SupernetEdge(channels) for _ in range(EDGES))

        def forward(self, terms, x):
            nodes = [x]
            for to in range(1, 4):
                first = to * (to - 1) // 2
                outs = [self.edges[first + i].terms(terms[first + i], node) for i, node in enumerate(nodes)]
                nodes.append(builder.node_sum(outs, lambda: torch.zeros_like(x)))
            return nodes[-1]

    class Supernet(nn.Module):
        def __init__(self, channels, cells):
            super().__init__()
            c = channels
            self.stem = builder.ConvUnit(builder.conv(1, c, 3), nn.BatchNorm2d(c))
            self.blocks = nn.ModuleList()
            for stage in range(3):
                if stage > 0:
                    self.blocks.append(builder.ResidualReduction(c, 2 * c))
                    c *= 2
                self.blocks.extend(SupernetCell(c) for _ in range(cells))
            self.last_norm = nn.BatchNorm2d(c)
            self.classifier = nn.Linear(c, 10)

        def forward(self, terms, x):
            x = self.stem(x)
            for block in self.blocks:
                x = block(terms, x) if isinstance(block, SupernetCell) else block(x)
            return self.classifier(builder.global_pool(F.relu(self.last_norm(x))))

    return Supernet


def run(builder, args, steps):
    """Trains a fresh supernet for `steps` steps; returns its parameters and the seconds."""
    torch.manual_seed(0)
    supernet = supernet_class(builder)(args.channels, args.cells)
    params = builder.count_parameters(supernet)
    weights = torch.optim.SGD(supernet.parameters(), lr=0.01, momentum=0.9)
    alpha = torch.nn.Parameter(1e-3 * torch.randn(EDGES, len(OPERATIONS)))
    alpha_optim = torch.optim.Adam([alpha], lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.tensor([(i * 7) % 10 for i in range(args.batch)])
    paths = random.Random(0)

    def mixture():
        w = F.softmax(alpha, dim=1)
        return [[(op, w[edge, i]) for i, op in enumerate(OPERATIONS)] for edge in range(EDGES)]

    def step():
        if args.method == "spos":
            terms = [[(paths.choice(OPERATIONS), None)] for _ in range(EDGES)]
        else:
            with torch.no_grad():
                terms = mixture()
        weights.zero_grad()
        loss = loss_fn(supernet(terms, x), y)
        loss.backward()
        weights.step()
        loss.item()
        if args.method == "darts":
            alpha_optim.zero_grad()
            loss = loss_fn(supernet(mixture(), x), y)
            loss.backward()
            alpha_optim.step()

    started = time.perf_counter()
    for _ in range(steps):
        step()
    return params, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=["spos", "darts"], default="spos")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    builder = load_builder()
    torch.set_num_threads(args.threads)
    run(builder, args, 3)
    params, seconds = run(builder, args, args.steps)
    print(f"pytorch {torch.__version__} {args.method} supernet ({params} parameters): {args.channels} channels, "
          f"{args.cells} cells, batch {args.batch}, {args.threads} threads, {args.steps} steps in {seconds:.2f} s: "
          f"{args.steps * args.batch / seconds:.0f} images/s")


if __name__ == "__main__":
    main()
