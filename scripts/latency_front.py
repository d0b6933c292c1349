"""The accuracy–latency front of searches under a latency target, summarised over seeds.

    python3 scripts/latency_front.py WORK --strategies random,tpe,nsga2 --seeds N --accuracy METRIC \
        (--latency METRIC | --throughput METRIC) --target MS --reference-accuracy A [--table CSV] [--title TEXT]

WORK holds `nasforge trials --json` of each run as STRATEGY-SEED.json. For each strategy it prints the
hypervolume of the feasible completed trials' front (the area dominated above the reference point: accuracy
A, latency MS), the number of feasible trials and the best feasible accuracy, each as the mean over seeds
± CI95. With --throughput (images per second) the cost axis is milliseconds per image, 1000 / throughput;
with --table (a CSV holding both metrics for every candidate), the hypervolume's share of the whole
table's front under the same target.
"""
import argparse
import csv
import json
import statistics


def hypervolume(points, reference_accuracy, target):
    """Area dominated by (accuracy ≥, latency ≤) points above the reference (reference_accuracy, target)."""
    # By latency ascending: between a point's latency and the next's, the best accuracy so far is dominated.
    front = sorted((lat, acc) for acc, lat in points if acc > reference_accuracy and lat <= target)
    area, best = 0.0, reference_accuracy
    for i, (lat, acc) in enumerate(front):
        best = max(best, acc)
        right = front[i + 1][0] if i + 1 < len(front) else target
        area += (right - lat) * (best - reference_accuracy)
    return area


def ci95(values):
    values = [v for v in values if v == v]  # a seed without a feasible trial has no best accuracy (NaN)
    return 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")


def mean(values):
    values = [v for v in values if v == v]
    return statistics.mean(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work")
    parser.add_argument("--strategies", required=True)
    parser.add_argument("--seeds", type=int, required=True)
    parser.add_argument("--accuracy", required=True)
    cost = parser.add_mutually_exclusive_group(required=True)
    cost.add_argument("--latency")
    cost.add_argument("--throughput")
    parser.add_argument("--target", type=float, required=True)
    parser.add_argument("--reference-accuracy", type=float, required=True)
    parser.add_argument("--table")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    volume = lambda points: hypervolume(points, args.reference_accuracy, args.target)
    cost_of = (lambda m: m[args.latency]) if args.latency else (lambda m: 1000.0 / m[args.throughput])
    cost_name = args.latency or f"ms per image (1000 / {args.throughput})"
    optimum = None
    if args.table:
        with open(args.table) as file:
            optimum = volume([(float(r[args.accuracy]), float(r[args.latency])) for r in csv.DictReader(file)
                              if r[args.accuracy] and r[args.latency]])
    print(args.title)
    print(f"hypervolume above {args.accuracy} {args.reference_accuracy} and {cost_name} {args.target}"
          + (f"; the whole table's front: {optimum:.4g}" if optimum else ""))
    share = "| share of the table's " if optimum else ""
    print(f"| strategy | hypervolume {share}| feasible trials | best feasible {args.accuracy} |")
    print("|---" * (5 if optimum else 4) + "|")
    for strategy in args.strategies.split(","):
        volumes, feasible, best = [], [], []
        for seed in range(1, args.seeds + 1):
            with open(f"{args.work}/{strategy}-{seed}.json") as file:
                done = [t for t in json.load(file) if t["state"] == "complete"]
            points = [(t["metrics"][args.accuracy], cost_of(t["metrics"])) for t in done]
            ok = [p for p in points if p[1] <= args.target]
            volumes.append(volume(points))
            feasible.append(len(ok))
            best.append(max((a for a, _ in ok), default=float("nan")))
        share = f"| {mean(volumes) / optimum:.3f} " if optimum else ""
        print(f"| {strategy} | {mean(volumes):.4g} ± {ci95(volumes):.2g} {share}| {mean(feasible):.1f} ± "
              f"{ci95(feasible):.1f} | {mean(best):.4g} ± {ci95(best):.2g} |")


if __name__ == "__main__":
    main()
