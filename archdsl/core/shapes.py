"""Shape helpers shared by the layer rules: no torch, no batch dimension."""
from __future__ import annotations

from math import prod

Shape = tuple[int, ...]  # (C, *spatial); a flat vector is (F,)
LAYOUTS = ("chw", "hwc")  # how shapes are written: PyTorch's CxHxW, or the lecture tables' HxWxC


def spatial_rank(shape: Shape) -> int:
    return len(shape) - 1


def numel(shape: Shape | None) -> int:
    return prod(shape) if shape else 0


def format_shape(shape: Shape | None, layout: str = "chw") -> str:
    """`96x55x55` (chw) or `55x55x96` (hwc, as the lecture tables write it)."""
    if shape is None:
        return "?"
    if layout == "hwc" and len(shape) > 1:
        shape = (*shape[1:], shape[0])
    return "x".join(str(d) for d in shape)


def describe_rank(shape: Shape) -> str:
    return {0: "a flat vector", 1: "a 1-D map (CxL)", 2: "a 2-D map (CxHxW)",
            3: "a 3-D volume (CxDxHxW)"}.get(spatial_rank(shape), f"a {spatial_rank(shape)}-D map")
