"""Accuracy of the training-memory estimate (archdsl cost) on the gallery:
the bytes of the tensors autograd saves in one training forward pass of the
built module on CPU, measured with torch.autograd.graph.saved_tensors_hooks
(parameters and buffers aside), against the static estimate -- counted as
the hooks see them (each time a tensor is saved) and as memory holds them
(each storage once).

Run: python benchmarks/bench_memory.py [--batch N]
Prints a Markdown table for BENCHMARKS.md."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archdsl  # noqa: E402
from archdsl.backends.measure import measure_saved  # noqa: E402
from archdsl.core.memory import training_memory  # noqa: E402
from archdsl.text import human_bytes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    b = args.batch
    print("| spec | held, estimate | held, measured | as saved, estimate | as saved, measured | difference |")
    print("|---|---:|---:|---:|---:|---:|")
    exact = total = 0
    for path in sorted((ROOT / "specs").glob("*.arch")):
        for net in archdsl.load_all(path):
            try:
                est = training_memory(net, b)
                m = measure_saved(net, b)
            except Exception as exc:  # a kind without a rule, or one the torch backend cannot build yet
                print(f"| {path.stem} | | | | | not measured: {type(exc).__name__}: {str(exc)[:80]} |")
                continue
            diff = max(abs(est.saved_bytes(b) - m.held_bytes), abs(est.packed_bytes(b) - m.packed_bytes))
            total += 1
            exact += diff == 0
            print(f"| {path.stem} | {human_bytes(est.saved_bytes(b))} | {human_bytes(m.held_bytes)} | "
                  f"{human_bytes(est.packed_bytes(b))} | {human_bytes(m.packed_bytes)} | "
                  f"{'0 B (exact)' if diff == 0 else f'{diff:,} B'} |")
    print(f"\n{exact} of {total} networks exact to the byte (batch {b}, CPU, fp32)")


if __name__ == "__main__":
    main()
