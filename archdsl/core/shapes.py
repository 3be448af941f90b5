"""Shape helpers shared by the layer rules: no torch, no batch dimension."""
from __future__ import annotations

from math import prod

Shape = tuple[int, ...]  # (C, *spatial); a flat vector is (F,)


def spatial_rank(shape: Shape) -> int:
    return len(shape) - 1


def numel(shape: Shape | None) -> int:
    return prod(shape) if shape else 0


def describe_rank(shape: Shape) -> str:
    return {0: "a flat vector", 1: "a 1-D map (CxL)", 2: "a 2-D map (CxHxW)",
            3: "a 3-D volume (CxDxHxW)"}.get(spatial_rank(shape), f"a {spatial_rank(shape)}-D map")
