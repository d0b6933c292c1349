"""Ask+tell overhead per trial from Python: nasforge against Optuna, same machine, same run.

Both search NAS-Bench-201's cell (six edges, five operations each: Optuna's six categorical parameters)
with TPE, told a made-up score at once, so the time measured is the library's alone (proposal, bookkeeping,
storage). Each library runs in memory (both defaults: Optuna's ``InMemoryStorage``, nasforge's ``memory:``) and
in an SQLite file. Prints one JSON line per library, storage and seed, then a summary: the median seconds
per trial and the ratio, with the Optuna version measured.

    python scripts/python_overhead_benchmark.py [--trials 1000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import optuna

import nasforge

OPERATIONS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def score(operations: list[str]) -> float:
    """A made-up accuracy: the share of 3×3 convolutions, with a little of everything else."""
    return sum({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.5, "skip_connect": 0.2}.get(op, 0.0) for op in operations) / 6


def run_optuna(trials: int, seed: int, storage: str | None) -> float:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage)
    started = time.perf_counter()
    for _ in range(trials):
        trial = study.ask()
        operations = [trial.suggest_categorical(f"edge{i}", OPERATIONS) for i in range(6)]
        study.tell(trial, score(operations))
    return (time.perf_counter() - started) / trials


def run_nasforge(trials: int, seed: int, storage: str | None) -> float:
    study = nasforge.create_study(storage=storage, strategy="tpe", objectives=["acc:max"], seed=seed)
    started = time.perf_counter()
    for _ in range(trials):
        trial = study.ask()
        study.tell(trial, score([OPERATIONS[d] for d in trial.decisions]))
    return (time.perf_counter() - started) / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            for store in ("memory", "sqlite"):
                for name, run in (("optuna", run_optuna), ("nasforge", run_nasforge)):
                    storage = None if store == "memory" else f"sqlite:///{folder}/{name}-{seed}.db"
                    if name == "nasforge" and storage is not None:
                        storage = f"sqlite:{folder}/{name}-{seed}.db"
                    seconds = run(args.trials, seed, storage)
                    results.setdefault((name, store), []).append(seconds)
                    line = {"library": name, "storage": store, "seed": seed, "trials": args.trials}
                    print(json.dumps({**line, "seconds_per_trial": seconds}), flush=True)
    for store in ("memory", "sqlite"):
        optuna_s = statistics.median(results[("optuna", store)])
        ours = statistics.median(results[("nasforge", store)])
        print(
            f"{store:7} TPE, {args.trials} trials, median of {args.seeds} seeds: optuna {optuna.__version__} "
            f"{optuna_s * 1e3:.3f} ms/trial, "
            f"nasforge {ours * 1e3:.3f} ms/trial, {optuna_s / ours:.0f}x less"
        )


if __name__ == "__main__":
    main()
