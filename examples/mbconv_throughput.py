"""Training throughput of an mbconv network on PyTorch's CPU backend, the counterpart of
crates/nasforge-train/examples/mbconv_throughput.rs: the same network, built by `nasforge.torch` from the same
architecture (the same parameter count, printed), batch, optimiser, threads and step counts.

    python examples/mbconv_throughput.py [--arch ARCH] [--threads 2] [--batch 64] [--steps 20] [--warmup 3]

`nasforge/torch.py` is loaded from the repository, so the compiled package is not needed.
"""
import argparse
import importlib.util
import pathlib
import time

import torch

TORCH_BUILDER = pathlib.Path(__file__).resolve().parent.parent / "python" / "nasforge" / "torch.py"
DEFAULT_ARCH = {
    "width_multiplier": 1.0,
    "resolution": 1.0,
    "stages": [
        [{"kernel": 3, "expansion": 3, "se": False, "activation": "relu"},
         {"kernel": 5, "expansion": 6, "se": True, "activation": "hswish"}],
        [{"kernel": 7, "expansion": 4, "se": False, "activation": "relu"},
         {"kernel": 3, "expansion": 6, "se": True, "activation": "relu"},
         {"kernel": 5, "expansion": 3, "se": False, "activation": "hswish"}],
        [{"kernel": 3, "expansion": 4, "se": False, "activation": "relu"},
         {"kernel": 7, "expansion": 6, "se": True, "activation": "hswish"}],
        [{"kernel": 5, "expansion": 4, "se": True, "activation": "relu"},
         {"kernel": 3, "expansion": 3, "se": False, "activation": "hswish"}],
    ],
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", help="the architecture's JSON form [default: the Rust example's default]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("nasforge_torch", TORCH_BUILDER)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = builder.build_model("mbconv", args.arch or DEFAULT_ARCH, input_shape=(1, 28, 28), classes=10)
    params = builder.count_parameters(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 1, 28, 28)
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
    print(f"pytorch {torch.__version__} mbconv ({params} parameters): batch {args.batch}, {args.threads} threads, "
          f"{args.steps} steps in {seconds:.2f} s: {args.steps * args.batch / seconds:.0f} images/s")


if __name__ == "__main__":
    main()
