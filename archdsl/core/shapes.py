"""Shape helpers shared by the layer rules: no torch, no batch dimension."""
from __future__ import annotations

from math import prod

Shape = tuple[int, ...]  # (C, *spatial); a flat vector is (F,)


class Tokens(tuple):
    """Token features, last axis D, in torch's own order: `(L, D)` is a sequence
    of L tokens (N x L x D, ViT), `(H, W, D)` a grid of tokens, channels last
    (N x H x W x D, Swin). A tuple, so code that treats shapes as tuples keeps
    working; ops that care ask `is_tokens(shape)`. Equal to the plain tuple of
    the same sizes (a residual's body and skip compare by size)."""

    __slots__ = ()
    is_tokens = True  # read by text.py, which imports nothing from the core

    @property
    def features(self) -> int:
        return self[-1]

    @property
    def positions(self) -> tuple[int, ...]:
        """The token axes: (L,) or (H, W)."""
        return tuple(self[:-1])

    @property
    def length(self) -> int:
        """How many tokens: L, or H * W."""
        return prod(self[:-1])


def is_tokens(shape) -> bool:
    return isinstance(shape, Tokens)


def spatial_rank(shape: Shape) -> int:
    return len(shape) - 1


def numel(shape: Shape | None) -> int:
    return prod(shape) if shape else 0


def describe_rank(shape: Shape) -> str:
    if is_tokens(shape):
        return "a token sequence (LxD)" if len(shape) == 2 else "a grid of tokens (HxWxD)"
    return {0: "a flat vector", 1: "a 1-D map (CxL)", 2: "a 2-D map (CxHxW)",
            3: "a 3-D volume (CxDxHxW)"}.get(spatial_rank(shape), f"a {spatial_rank(shape)}-D map")
