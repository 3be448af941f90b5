"""Generated specs of a given layer count, for parse+analysis scaling benchmarks."""
from __future__ import annotations


def generated_spec(layers: int) -> str:
    """A plain chain of `layers` conv/bn/relu layers (3 per stage) on a small input,
    one statement per line, so the figure measures the pipeline, not tensor sizes."""
    lines = ["network Generated {", "  input 16x32x32"]
    for _ in range(layers // 3):
        lines.append("  conv 16 k=3 p=1 bias=false")
        lines.append("  bn")
        lines.append("  relu")
    lines.append("}")
    return "\n".join(lines) + "\n"
