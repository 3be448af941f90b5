"""Speed of `archdsl sweep`: candidates per second over the ResNet-18-size
space benchmarks/resnet18_space.arch (13,122 candidates: the stem width and,
per stage, the width and depth), every candidate's parameters, MACs and
training memory (batch 32, SGD), as the command computes them; and, for
comparison, the same candidates lowered and analysed without folding.

Run: python benchmarks/bench_sweep.py [--runs N]
The whole space is swept N times in one process, each time with a fresh
memo (so every run pays for its first lowerings); the best and the median
run are reported. Prints a Markdown table for BENCHMARKS.md."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archdsl.sweep import Evaluator, Space, sweep  # noqa: E402

SPACE = ROOT / "benchmarks" / "resnet18_space.arch"


def one_run(space: Space, fold: bool, ids) -> tuple[float, int]:
    evaluator = Evaluator(space, batch=32, optimizer="sgd", fold=fold)
    start = time.perf_counter()
    result = sweep(space, ids, evaluator)
    return time.perf_counter() - start, result.evaluated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--unfolded", type=int, default=1000, help="candidates timed without folding")
    args = parser.parse_args()
    space = Space(SPACE)
    runs = [one_run(space, True, range(space.size)) for _ in range(args.runs)]
    rates = [n / t for t, n in runs]
    t_full, n_full = one_run(space, False, range(0, space.size, max(space.size // args.unfolded, 1)))
    print(f"| space | candidates | best | median | without folding |\n|---|---:|---:|---:|---:|\n"
          f"| {SPACE.name} | {space.size:,} | {max(rates):,.0f}/s ({min(t for t, _ in runs):.2f} s) | "
          f"{statistics.median(rates):,.0f}/s | {n_full / t_full:,.0f}/s |")
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
