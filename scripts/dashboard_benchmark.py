#!/usr/bin/env python3
"""How the dashboard copes with a big study: makes a study of N trials (default 100,000: random chain
networks scored by their parameter count, the cheapest real evaluator), starts `nasforge dashboard` on it and
times, over several requests each (medians): the first look at the store (every trial read once), a study's
page (the report's view model built, plots downsampled, one page of the table), the live poll when nothing
changed, a redraw after 100 more trials (the change log read, the views rebuilt) and a far page of the table.

    python3 scripts/dashboard_benchmark.py [--trials 100000] [--bin target/release/nasforge]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path


def timed(url: str, repeats: int) -> tuple[float, int]:
    """Median seconds of `repeats` GETs of `url`, and the body's size."""
    seconds, size = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            size = len(response.read())
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--bin", default="target/release/nasforge")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:{Path(tmp) / 'big.db'}"
        search = [args.bin, "search", "--storage", storage, "--study", "big", "--strategy", "random"]
        search += ["--space", "chain", "--proxy", "params"]
        start = time.perf_counter()
        subprocess.run([*search, "--trials", str(args.trials)], check=True, capture_output=True)
        print(f"study of {args.trials} trials made in {time.perf_counter() - start:.1f} s")
        dashboard = subprocess.Popen([args.bin, "dashboard", "--storage", storage, "--port", "0"], stdout=subprocess.PIPE, text=True)
        try:
            base = "http://" + dashboard.stdout.readline().split("http://")[1].split()[0]
            first, _ = timed(base + "api/studies", 1)
            print(f"first look at the store (every trial read): {first * 1000:.0f} ms")
            page, size = timed(base + "study/big", 5)
            print(f"study page: {page * 1000:.0f} ms median of 5, {size / 1e6:.2f} MB")
            poll, _ = timed(base + "api/study/big", 20)
            print(f"live poll, nothing changed: {poll * 1000:.1f} ms median of 20")
            subprocess.run([*search, "--trials", str(args.trials + 100)], check=True, capture_output=True)
            redraw, _ = timed(base + "study/big/views", 1)
            print(f"redraw after 100 more trials (changes read, views rebuilt): {redraw * 1000:.0f} ms")
            far, _ = timed(base + f"study/big/views?page={args.trials // 100 - 1}", 5)
            print(f"a far page of the table: {far * 1000:.0f} ms median of 5")
            with urllib.request.urlopen(base + "api/study/big") as response:
                print("study now:", json.loads(response.read())["trials"], "trials")
        finally:
            dashboard.kill()
            dashboard.wait()


if __name__ == "__main__":
    main()
