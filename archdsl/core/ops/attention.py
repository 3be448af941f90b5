"""Attention over tokens: multi-head self- and cross-attention (nn.MultiheadAttention),
Swin's window attention (v1 with a relative position bias table, v2 with
cosine attention and a continuous position-bias MLP), MaxViT's block and grid
attention (`windowattention partition=grid`), and patch merging.

Cost convention (docs/language.md, "Conventions"): `macs` counts the weight
projections, as every conv/linear counter does (q, k, v and the output: 4·L·D²
for self-attention); `attention_macs` counts the two matmuls q @ k^T and
attn @ v (2·Lq·Lk·D), reported apart so that figures stay comparable.
Softmax, scaling, the bias and the mask count 0, like other element-wise work.
"""
from __future__ import annotations

from math import isqrt

from archdsl.core.ops.base import GLOBAL, UNKNOWN, Attr, Family, Op, ShapeError, Tensor, register
from archdsl.core.ops.conv import _choices
from archdsl.core.ops.tokens import require_tokens
from archdsl.core.shapes import Tokens, describe_rank, is_tokens
from archdsl.records import dataclass
from archdsl.text import shape_text


def divisors(n: int) -> list[int]:
    """Every divisor of n, in order (sqrt(n) steps: D may be huge in a mistaken spec)."""
    small = [d for d in range(1, isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def check_heads(heads: int, features: int, shape) -> None:
    if features % heads:
        divisors_ = divisors(features)
        raise ShapeError(f"heads={heads} must divide the {features} features of each token",
                         notes=[f"each head gets D / heads = {features} / {heads} = {features / heads:g} "
                                "features, which is not whole"],
                         hint=f"heads can be {_choices(divisors_, heads)}", culprit="heads", shape=shape)


@register
@dataclass(frozen=True, slots=True)
class Attention(Op):
    """Multi-head attention, as nn.MultiheadAttention(batch_first=True): self-attention
    over a sequence, or cross-attention from the flow (the queries) to a named
    tensor (`attention @memory heads=8`, the keys and values)."""

    keywords = ("attention", "mha")
    family = Family.FC
    keeps_shape = True
    shape_neutral = frozenset({"heads", "qkv_bias", "proj_bias", "dropout"})
    doc = ("Multi-head attention over a sequence (LxD -> LxD), as nn.MultiheadAttention: self-attention, "
           "or cross-attention to a tensor (attention @memory).")
    example = "attention heads=4"
    attrs = (
        Attr("memory", "tensor", None, positional=True, aliases=("kv", "context"),
             doc="cross-attention: the tensor the queries attend to (its tokens are the keys and values)"),
        Attr("heads", "int", aliases=("num_heads",), doc="attention heads; must divide D"),
        Attr("qkv_bias", "bool", True, doc="biases on the q, k and v projections"),
        Attr("proj_bias", "bool", True, doc="a bias on the output projection"),
        Attr("dropout", "prob", 0.0, aliases=("attention_dropout",), doc="dropout on the attention weights"),
    )
    length: int  # Lq
    features: int  # D
    memory_length: int  # Lk (= Lq for self-attention)
    memory_features: int  # the keys' and values' features (= D for self-attention)
    heads: int
    qkv_bias: bool
    proj_bias: bool
    dropout: float
    cross: bool

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("attention", in_shapes[0], sequence=True)
        check_heads(v["heads"], shape[1], shape)
        memory = v["memory"]
        if memory is None:
            return cls(shape[0], shape[1], shape[0], shape[1], v["heads"], v["qkv_bias"], v["proj_bias"],
                       v["dropout"], False)
        mshape = memory.shape
        if not is_tokens(mshape) or len(mshape) != 2:
            raise ShapeError(f"cross-attention attends to a sequence of tokens; {memory!r} is "
                             f"{describe_rank(mshape)} of {shape_text(mshape)}",
                             hint="make it tokens first: `tokens` on a map, `embedding` then `tokens` on ids")
        return cls(shape[0], shape[1], mshape[0], mshape[1], v["heads"], v["qkv_bias"], v["proj_bias"],
                   v["dropout"], True)

    @classmethod
    def tensor_inputs(cls, values) -> tuple:
        """The graph inputs besides the flow: the memory of cross-attention."""
        memory = values.get("memory")
        return (memory.node,) if isinstance(memory, Tensor) else ()

    def params(self):
        d, dk = self.features, self.memory_features
        weights = d * d + 2 * d * dk + d * d
        return weights + (3 * d if self.qkv_bias else 0) + (d if self.proj_bias else 0)

    def macs(self, in_shapes, out):
        d, dk = self.features, self.memory_features
        return self.length * d * d + 2 * self.memory_length * dk * d + self.length * d * d

    def attention_macs(self, in_shapes, out):
        return 2 * self.length * self.memory_length * self.features

    def intermediates(self, in_shapes, out):
        lq, lk, d = self.length, self.memory_length, self.features
        return {"q, k, v": lq * d + 2 * lk * d, "attention maps": self.heads * lq * lk, "heads merged": lq * d}

    def receptive(self, in_shapes):
        return GLOBAL

    def hyper(self):
        parts = [f"{self.heads} heads", f"d {self.features}"]
        if self.cross:
            parts.append(f"to {self.memory_length}x{self.memory_features}")
        if not self.qkv_bias:
            parts.append("no qkv bias")
        if not self.proj_bias:
            parts.append("no proj bias")
        if self.dropout:
            parts.append(f"dropout {self.dropout:g}")
        return ", ".join(parts)


def _padded(n: int, window: int) -> int:
    return -(-n // window) * window


@register
@dataclass(frozen=True, slots=True)
class WindowAttention(Op):
    """Swin's (shifted) window attention on a grid of tokens, as torchvision's
    ShiftedWindowAttention: self-attention inside each `window` x `window` block,
    the grid rolled by `shift` first (with the mask that keeps wrapped tokens
    apart), a learned relative position bias ((2W-1)^2 x heads). `v2=true` is
    ShiftedWindowAttentionV2: cosine attention with a learned logit scale per
    head and the bias from a continuous position-bias MLP (2 -> 512 -> heads).

    `partition=grid` is MaxViT's grid attention (torchvision's
    PartitionAttentionLayer with partition_type="grid"): the window's W x W
    tokens are spread over the whole map, H/W apart (tokens i, i + H/W,
    i + 2H/W, ... of each axis share a window), the bias indexed by their
    place in that W x W lattice. `scale=features` divides q.k by sqrt(D), as
    torchvision's MaxViT does (RelativePositionalMultiHeadAttention), instead
    of sqrt(D / heads). Neither changes a count: the same W^2 tokens a window,
    the same projections and table."""

    keywords = ("windowattention", "swa")
    family = Family.FC
    keeps_shape = True
    shape_neutral = frozenset({"heads", "shift", "qkv_bias", "proj_bias", "dropout", "proj_dropout", "v2",
                               "partition", "scale"})
    doc = ("Swin's (shifted) window attention on a grid of tokens HxWxD: heads, window, shift, a relative "
           "position bias; v2=true for cosine attention and the position-bias MLP; partition=grid for MaxViT's "
           "grid attention (a window's tokens H/W apart).")
    example = "windowattention 4 heads=2"
    attrs = (
        Attr("window", "int", positional=True, aliases=("window_size",), doc="the window's side, in tokens"),
        Attr("heads", "int", aliases=("num_heads",), doc="attention heads; must divide D"),
        Attr("shift", "int0", 0, aliases=("shift_size",), doc="roll the grid by this much first (Swin: window // 2 "
                                                               "every other block)"),
        Attr("pad", "bool", False, doc="pad the grid to a whole number of windows (torchvision does; 28 -> 32 "
                                       "for window 8)"),
        Attr("qkv_bias", "bool", True, doc="biases on the q, k and v projections"),
        Attr("proj_bias", "bool", True, doc="a bias on the output projection"),
        Attr("dropout", "prob", 0.0, aliases=("attention_dropout",), doc="dropout on the attention weights"),
        Attr("proj_dropout", "prob", 0.0, doc="dropout after the output projection"),
        Attr("v2", "bool", False, doc="Swin v2: cosine attention, logit scale, continuous position-bias MLP"),
        Attr("partition", "word", "window", choices=("window", "grid"), aliases=("partition_type",),
             doc="window: W x W neighbouring tokens a window (Swin, MaxViT's block attention); grid: W x W "
                 "tokens H/W apart (MaxViT's grid attention)"),
        Attr("scale", "word", "head", choices=("head", "features"),
             doc="q.k divided by sqrt(D / heads) (head), or by sqrt(D) (features: torchvision's MaxViT)"),
    )
    grid: tuple[int, int]
    features: int
    window: int
    heads: int
    shift: int  # as written; `shifts` is what runs
    padded: tuple[int, int]
    qkv_bias: bool
    proj_bias: bool
    dropout: float
    proj_dropout: float
    v2: bool
    partition: str = "window"
    scale: str = "head"

    CPB_HIDDEN = 512  # the position-bias MLP's width in Swin v2

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("windowattention", in_shapes[0], grid=True)
        check_heads(v["heads"], shape[-1], shape)
        w, shift = v["window"], v["shift"]
        if shift and v["partition"] == "grid":
            raise ShapeError(f"shift={shift} rolls windows of neighbours; a grid partition has no shift",
                             notes=["MaxViT's grid attention already mixes tokens across the whole map: its "
                                    "windows' tokens are H/W apart"],
                             hint="drop shift, or partition=window for Swin's shifted windows", culprit="shift",
                             shape=shape)
        for name, what in (("partition", "grid"), ("scale", "features")):
            if v["v2"] and v[name] == what:
                raise ShapeError(f"{name}={what} is MaxViT's attention; v2=true is Swin v2's cosine attention",
                                 hint=f"drop v2, or {name}={'window' if name == 'partition' else 'head'}",
                                 culprit=name, shape=shape)
        if shift >= w:
            raise ShapeError(f"shift={shift} must be smaller than the window ({w})", culprit="shift",
                             hint=f"Swin shifts by half the window: shift={w // 2}", shape=shape)
        if v["v2"] and w < 2:
            raise ShapeError("Swin v2's position-bias MLP scales coordinates by window - 1: the window must be "
                             "at least 2", culprit="window", shape=shape)
        grid = (shape[0], shape[1])
        if not v["pad"] and any(n % w for n in grid):
            padded = tuple(_padded(n, w) for n in grid)
            raise ShapeError(f"the window {w}x{w} does not divide the {grid[0]}x{grid[1]} grid of tokens",
                             notes=[", ".join(dict.fromkeys(f"{n} / {w} = {n / w:g}" for n in grid if n % w))],
                             hint=f"choose a window that divides the grid, or pad=true to pad it to "
                                  f"{padded[0]}x{padded[1]} (as torchvision does)", culprit="window", shape=shape)
        padded = (_padded(grid[0], w), _padded(grid[1], w))
        return cls(grid, shape[-1], w, v["heads"], shift, padded, v["qkv_bias"], v["proj_bias"], v["dropout"],
                   v["proj_dropout"], v["v2"], v["partition"], v["scale"])

    @property
    def shifts(self) -> tuple[int, int]:
        """torchvision does not shift along an axis that one window covers."""
        return tuple(0 if self.window >= n else self.shift for n in self.padded)

    @property
    def positions(self) -> int:
        return self.padded[0] * self.padded[1]

    def params(self):
        d, w, h = self.features, self.window, self.heads
        n = 4 * d * d + (3 * d if self.qkv_bias else 0) + (d if self.proj_bias else 0)
        if self.v2:
            return n + h + 2 * self.CPB_HIDDEN + self.CPB_HIDDEN + self.CPB_HIDDEN * h
        return n + (2 * w - 1) ** 2 * h

    def macs(self, in_shapes, out):
        n = 4 * self.positions * self.features ** 2
        if self.v2:  # the position-bias MLP runs once over the (2W-1)^2 relative coordinates
            n += (2 * self.window - 1) ** 2 * (2 * self.CPB_HIDDEN + self.CPB_HIDDEN * self.heads)
        return n

    def attention_macs(self, in_shapes, out):
        return 2 * self.positions * self.window ** 2 * self.features

    def intermediates(self, in_shapes, out):
        p, d = self.positions, self.features
        return {"q, k, v": 3 * p * d, "attention maps": self.heads * p * self.window ** 2, "heads merged": p * d}

    def receptive(self, in_shapes):
        # One window over the whole (padded) grid is global attention (in either
        # partition); otherwise the tokens of a window share their field and its place
        # moves by window, not by token (a grid's window is a lattice of tokens H/W
        # apart, not a window at all): no single window is true for every token.
        if all(self.window >= n for n in self.padded):
            return GLOBAL
        return UNKNOWN

    def hyper(self):
        lattice = f"{self.padded[0] // self.window}x{self.padded[1] // self.window} apart"
        parts = [f"grid {self.window}, {lattice}" if self.partition == "grid" else f"window {self.window}",
                 f"{self.heads} heads"]
        if any(self.shifts):
            parts.append(f"shift {self.shift}")
        elif self.shift:
            parts.append("shift 0 (one window covers the grid)")
        if self.padded != self.grid:
            parts.append(f"padded to {self.padded[0]}x{self.padded[1]}")
        if self.v2:
            parts.append("cosine, cpb mlp")
        if self.scale == "features":
            parts.append("scale 1/sqrt(D)")
        return ", ".join(parts)


@register
@dataclass(frozen=True, slots=True)
class PatchMerge(Op):
    """Swin's patch merging: each 2x2 neighbourhood of tokens concatenated (4D),
    normalised, and projected to 2D without bias: HxWxD -> (H/2)x(W/2)x2D. An odd
    side is padded first. `norm=pre` is torchvision's PatchMerging, `norm=post`
    PatchMergingV2 (Swin v2 normalises the 2D output)."""

    keywords = ("patchmerge", "patchmerging")
    family = Family.POOL
    doc = ("Swin's patch merging on a grid of tokens: 2x2 neighbours concatenated (4D), layernorm, "
           "linear 4D -> 2D: HxWxD -> (H/2)x(W/2)x2D.")
    example = "patchmerge"
    attrs = (
        Attr("norm", "word", "pre", choices=("pre", "post", "none"),
             doc="layernorm before the reduction (v1), after it (v2), or none"),
        Attr("eps", "pfloat", 1e-5, doc="the layernorm's eps"),
    )
    grid: tuple[int, int]
    features: int
    norm: str
    eps: float

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("patchmerge", in_shapes[0], grid=True)
        return cls((shape[0], shape[1]), shape[-1], v["norm"], v["eps"])

    @property
    def out_grid(self) -> tuple[int, int]:
        return tuple(-(-n // 2) for n in self.grid)

    def infer(self, in_shapes):
        return Tokens((*self.out_grid, 2 * self.features))

    def params(self):
        d = self.features
        norm = {"pre": 2 * 4 * d, "post": 2 * 2 * d, "none": 0}[self.norm]
        return 4 * d * 2 * d + norm

    def macs(self, in_shapes, out):
        return self.out_grid[0] * self.out_grid[1] * 4 * self.features * 2 * self.features

    def receptive(self, in_shapes):
        return (2, 2), (2, 2), (0, 0)

    def hyper(self):
        norm = {"pre": "norm, ", "post": "", "none": ""}[self.norm]
        post = ", norm" if self.norm == "post" else ""
        return f"2x2 -> {norm}{4 * self.features} -> {2 * self.features}{post}"
