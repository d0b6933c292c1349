"""Regret on the NAS-Bench-201 table from Python against the command line's, same strategies and seeds.

For every strategy and seed, ``nasforge search`` with the validation table as its evaluator and a Python
ask-and-tell loop told the same table's values (``cifar10_valid``) search; the cell each returns is reported
by its CIFAR-10 test accuracy. Prints whether the trial sequences are identical and each side's mean regret
(optimum 94.3733 minus the returned cell's test accuracy) with its CI95 over the seeds.

    python scripts/python_parity_benchmark.py [--cli target/release/nasforge] [--seeds 10] [--trials 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile

import nasforge

OPTIMUM = 94.3733


def ci95(values: list[float]) -> float:
    return 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default="target/release/nasforge")
    parser.add_argument("--tables", default="../shared/benchmarks/nb201")
    parser.add_argument("--strategies", default="random,evolution,local,tpe,reinforce,bo,bananas,predictor")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    validation = os.path.abspath(os.path.join(args.tables, "nb201_validation.csv"))
    search = nasforge.Evaluator({"kind": "table", "table": validation})
    test = nasforge.Evaluator({"kind": "table", "table": os.path.abspath(os.path.join(args.tables, "nb201_test_accuracy.csv"))})
    print(f"{'strategy':10} {'identical':>9} {'CLI regret':>18} {'Python regret':>18}")
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:{folder}/parity.db"
        for strategy in args.strategies.split(","):
            cli, python, identical = [], [], 0
            for seed in range(args.seeds):
                name = f"{strategy}-{seed}"
                flags = ["--strategy", strategy, "--trials", str(args.trials), "--seed", str(seed)]
                flags += ["--table", validation, "--metric", "cifar10_valid"]
                subprocess.run(
                    [args.cli, "search", "--storage", storage, "--study", name, *flags],
                    check=True,
                    capture_output=True,
                )
                from_cli = nasforge.load_study(storage, name)
                study = nasforge.create_study(
                    strategy=strategy, objectives=["cifar10_valid:max"], trials=args.trials, seed=seed
                )
                while (trial := study.ask()) is not None:
                    study.tell(trial, search(trial.arch))
                identical += [t.arch for t in study.trials] == [t.arch for t in from_cli.trials]
                cli.append(OPTIMUM - test(from_cli.best.arch)["cifar10"])
                python.append(OPTIMUM - test(study.best.arch)["cifar10"])
            print(
                f"{strategy:10} {identical:>4}/{args.seeds:<4} {statistics.mean(cli):>10.3f} ± {ci95(cli):.3f}"
                f" {statistics.mean(python):>10.3f} ± {ci95(python):.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
