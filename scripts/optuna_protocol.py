"""Optuna's TPE and random samplers under nasforge's benchmark protocol on NAS-Bench-201.

Search on validation accuracy (the mean, or one seed's value per query with --noise seeds), report the
test accuracy of the returned cell (best by what the search saw): mean regret and 95% interval after N
queries, as `nasforge compare --json` reports it. Every Optuna trial is a query; a repeated cell keeps its
first draw. Run through scripts/optuna_protocol.sh, which installs Optuna in a virtual environment.
"""

import argparse
import csv
import json
import math
import random

import optuna

EDGES = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def cell(ops):
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def load(path):
    with open(path, newline="") as f:
        return {row["arch"]: row for row in csv.DictReader(f)}


def mean_ci95(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, 1.96 * math.sqrt(var / n)


def run(sampler_name, seed, valid, test, metric, report, noise, budget):
    rng = random.Random(seed)
    sampler = optuna.samplers.TPESampler(seed=seed) if sampler_name == "tpe" else optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    drawn = {}
    history = []  # (value seen, test accuracy) per query

    def objective(trial):
        arch = cell([trial.suggest_categorical(edge, OPS) for edge in EDGES])
        if arch not in drawn:
            row = valid[arch]
            if noise:
                seeds = [float(row[f"{metric}_seed{s}"]) for s in range(3) if row.get(f"{metric}_seed{s}", "") != ""]
                drawn[arch] = rng.choice(seeds)
            else:
                drawn[arch] = float(row[metric])
        history.append((drawn[arch], float(test[arch][report])))
        return drawn[arch]

    study.optimize(objective, n_trials=budget)
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--valid", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--metric", default="cifar10_valid")
    parser.add_argument("--report-metric", default="cifar10")
    parser.add_argument("--noise", choices=["none", "seeds"], default="none")
    parser.add_argument("--samplers", default="tpe,random")
    parser.add_argument("--queries", default="25,50,100,200")
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    valid, test = load(args.valid), load(args.test)
    optimum = max(float(row[args.report_metric]) for arch, row in test.items() if arch in valid)
    checkpoints = sorted(int(q) for q in args.queries.split(","))
    result = {"table": args.valid, "metric": args.metric, "report_table": args.test,
              "report_metric": args.report_metric, "optimum": optimum, "noise": args.noise,
              "seeds": args.seeds, "optuna": optuna.__version__, "strategies": []}
    for sampler in args.samplers.split(","):
        histories = [run(sampler, seed, valid, test, args.metric, args.report_metric, args.noise == "seeds",
                         checkpoints[-1]) for seed in range(args.seeds)]
        rows = []
        for q in checkpoints:
            regrets = []
            for history in histories:
                seen, reported = max(history[:q], key=lambda h: h[0])  # first of equal values
                regrets.append(optimum - reported)
            mean, ci = mean_ci95(regrets)
            rows.append({"queries": q, "mean_best": optimum - mean, "mean_regret": mean, "ci95": ci})
        result["strategies"].append({"name": f"optuna-{sampler}", "checkpoints": rows})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
