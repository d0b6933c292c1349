"""A search on the NAS-Bench-201 table from Python, in the benchmark's protocol: search on validation
accuracy, report the test accuracy of the cell the search returns, and its regret against the optimum.

Two ways: ask and tell with a table evaluator (the loop a user writes around any scorer), and a study with
the table as its own evaluator (``optimize`` without a function, as ``nasforge search`` runs it). Both give
the trials the command line gives for the same seed.

    pip install ./python
    python examples/python/nb201_table.py [--strategy tpe] [--trials 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import os

import nasforge

TABLES = os.environ.get("NASFORGE_NB201_DIR", "../shared/benchmarks/nb201")
OPTIMUM = 94.3733  # the best CIFAR-10 test accuracy of the table's 15,625 cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="tpe", choices=nasforge.STRATEGIES)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    validation = os.path.join(TABLES, "nb201_validation.csv")
    test = nasforge.Evaluator({"kind": "table", "table": os.path.join(TABLES, "nb201_test_accuracy.csv")})

    # Ask and tell: the caller scores each cell (here by the table's validation accuracy).
    scorer = nasforge.Evaluator({"kind": "table", "table": validation})
    study = nasforge.create_study(
        strategy=args.strategy, objectives=["cifar10_valid:max"], trials=args.trials, seed=args.seed
    )
    while (trial := study.ask()) is not None:
        study.tell(trial, scorer(trial.arch))
    chosen = study.best
    print(f"ask/tell:  {chosen.arch}  validation {chosen.metrics['cifar10_valid']:.2f}", end="")
    print(f"  test {test(chosen.arch)['cifar10']:.2f}  regret {OPTIMUM - test(chosen.arch)['cifar10']:.2f}")

    # The same search with the table as the study's own evaluator.
    own = nasforge.create_study(
        evaluator={"kind": "table", "table": validation},
        strategy=args.strategy,
        objectives=["cifar10_valid:max"],
        trials=args.trials,
        seed=args.seed,
    )
    own.optimize()
    assert [t.arch for t in own.trials] == [t.arch for t in study.trials], "one engine, one search"
    print(f"optimize:  {own.best.arch}  the same {len(own.trials)} trials")


if __name__ == "__main__":
    main()
