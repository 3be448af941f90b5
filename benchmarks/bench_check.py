"""Speed of `archdsl check`: whole-process time on the gallery, and
parse+analysis scaling on generated specs of 1k, 10k and 50k layers.

Run: python benchmarks/bench_check.py [--runs N]
Prints a Markdown table for BENCHMARKS.md. Every figure of one table comes from
one run, measured side by side (interleaved) with its baseline."""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_specs import generated_spec  # noqa: E402


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def whole_process(runs: int) -> list[tuple[str, float, float]]:
    """Median wall time of each command, interleaved with a bare interpreter start."""
    py = sys.executable
    commands = {
        "python -c pass (baseline)": [py, "-c", "pass"],
        "archdsl check resnet50 (table)": [py, "-m", "archdsl", "check", "specs/resnet50.arch"],
        "archdsl check resnet50 --format json": [py, "-m", "archdsl", "check", "specs/resnet50.arch", "-f", "json"],
        "archdsl check googlenet (table)": [py, "-m", "archdsl", "check", "specs/googlenet.arch"],
        "archdsl check all 12 gallery specs": [py, "-m", "archdsl", "check", *sorted(
            str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.arch"))],
    }
    times = {name: [] for name in commands}
    for cmd in commands.values():
        wall(cmd)  # warm the OS cache and Lark's grammar cache
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    base = statistics.median(times["python -c pass (baseline)"])
    return [(name, statistics.median(t), statistics.median(t) / base) for name, t in times.items()]


def scaling(sizes=(1_000, 10_000, 50_000), runs: int = 3) -> list[tuple[int, float, float]]:
    import archdsl
    rows = []
    for n in sizes:
        text = generated_spec(n)
        best = min(_timed(lambda text=text: archdsl.loads(text)) for _ in range(runs))
        rows.append((n, best, best / n * 1e6))
    return rows


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print("| command | median wall time | ratio to bare `python -c pass` |")
    print("|---|---:|---:|")
    for name, t, ratio in whole_process(args.runs):
        print(f"| {name} | {t * 1000:.0f} ms | {ratio:.1f}x |")
    print()
    print("| generated spec | parse + analysis (best of 3) | per layer |")
    print("|---:|---:|---:|")
    for n, t, per in scaling():
        print(f"| {n:,} layers | {t:.3f} s | {per:.1f} µs |")


if __name__ == "__main__":
    main()
