"""Token tensors: from a feature map to tokens and back, the class token,
position embeddings, and the ways a sequence becomes one vector.

A token tensor is a `Tokens` shape with the features last, in torch's own
order: `197x768` is N x 197 x 768 (a sequence, ViT), `56x56x96` is N x 56 x 56
x 96 (a grid of tokens, channels last, Swin). `fc` and `layernorm` act on the
last axis, as nn.Linear and nn.LayerNorm do; windowed and channel-wise kinds
refuse tokens (`require_spatial`).

The receptive field of tokens is worked out in core/tokenfields.py: the
markers below say what a kind does to it.
"""
from __future__ import annotations

from math import isqrt, prod

from archdsl.core.ops.base import GLOBAL, POINTWISE, Attr, Family, Op, ShapeError, register
from archdsl.core.shapes import Tokens, describe_rank, is_tokens, spatial_rank
from archdsl.records import dataclass
from archdsl.text import dims_text, shape_text

# What `Op.receptive` returns for the kinds between maps and tokens (tokenfields.py).
TOKENIZE = "tokenize"  # token i is pixel i of the map: it reads what the pixel read
UNTOKENIZE = "untokenize"  # pixel i is token i
ONE_TOKEN = "one-token"  # one token of the sequence: known only when every token reads the same window


def require_tokens(op: str, shape, sequence: bool = False, grid: bool = False) -> Tokens:
    """The input as Tokens, or a ShapeError that says how to get there."""
    if not is_tokens(shape):
        hint = ("`tokens` turns a CxHxW map into (H*W)xC tokens" + ("" if not grid else
                "; `tokens grid=true` keeps the grid, HxWxC") if spatial_rank(shape) > 0 else
                "a flat vector has no tokens; `embedding` gives a sequence from token ids")
        raise ShapeError(f"{op} reads tokens but its input is {describe_rank(shape)} of {shape_text(shape)}",
                         hint=hint)
    if sequence and len(shape) != 2:
        raise ShapeError(f"{op} reads a sequence of tokens (LxD) but its input is {describe_rank(shape)} "
                         f"of {shape_text(shape)}",
                         hint="flatten the grid into a sequence: `reshape (-1, "
                              f"{shape[-1]})` gives {prod(shape[:-1])}x{shape[-1]} tokens")
    if grid and len(shape) != 3:
        raise ShapeError(f"{op} reads a grid of tokens (HxWxD) but its input is {describe_rank(shape)} "
                         f"of {shape_text(shape)}",
                         hint="make the tokens from the map with `tokens grid=true` (channels last, as Swin)")
    return shape


@register
@dataclass(frozen=True, slots=True)
class Tokenize(Op):
    """CxHxW -> (H*W)xC: the flatten and transpose after a patch-embedding conv
    (ViT's `x.reshape(n, c, h * w).permute(0, 2, 1)`); with `grid=true`, HxWxC
    (Swin's `Permute([0, 2, 3, 1])`)."""

    keywords = ("tokens", "tokenize")
    family = Family.RESHAPE
    doc = "A feature map as tokens: CxHxW -> (H*W)xC (a sequence), or HxWxC with grid=true (channels last)."
    example = "tokens"
    attrs = (Attr("grid", "bool", False, doc="keep the grid: CxHxW -> HxWxC, channels last (Swin)"),)
    channels: int
    positions: tuple[int, ...]
    grid: bool

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if is_tokens(shape):
            raise ShapeError(f"the input is already tokens ({shape_text(shape)})", hint="delete this `tokens`")
        rank = spatial_rank(shape)
        if rank == 0:
            raise ShapeError(f"tokens needs a feature map (CxL, CxHxW) but its input is the flat vector "
                             f"{shape_text(shape)}",
                             hint="a sequence of ids becomes tokens through `embedding`, then `tokens`")
        if v["grid"] and rank != 2:
            raise ShapeError(f"tokens grid=true keeps a 2-D grid, the input {shape_text(shape)} has {rank} "
                             f"spatial {'axis' if rank == 1 else 'axes'}", culprit="grid")
        return cls(shape[0], tuple(shape[1:]), v["grid"])

    def infer(self, in_shapes):
        if self.grid:
            return Tokens((*self.positions, self.channels))
        return Tokens((prod(self.positions), self.channels))

    def receptive(self, in_shapes):
        return TOKENIZE

    def hyper(self):
        if self.grid:
            return "channels last"
        return f"{dims_text(self.positions)} -> {prod(self.positions):,} tokens"


@register
@dataclass(frozen=True, slots=True)
class Untokenize(Op):
    """Tokens back to a channels-first map: a grid HxWxD -> DxHxW; a sequence
    LxD -> Dxhxw with `h=` and `w=` (h * w = L), or DxL without them."""

    keywords = ("untokens", "untokenize")
    family = Family.RESHAPE
    doc = "Tokens back to a map: HxWxD -> DxHxW; LxD -> Dxhxw with h= and w= (h*w = L), or DxL without them."
    example = "untokens"
    attrs = (
        Attr("h", "int", None, aliases=("height",), doc="the map's height (a sequence only)"),
        Attr("w", "int", None, aliases=("width",), doc="the map's width (a sequence only)"),
    )
    features: int
    size: tuple[int, ...]
    from_grid: bool = False

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("untokens", in_shapes[0])
        h, w = v["h"], v["w"]
        if len(shape) == 3:
            if (h is not None and h != shape[0]) or (w is not None and w != shape[1]):
                raise ShapeError(f"the grid is {shape[0]}x{shape[1]}; h= and w= cannot change it",
                                 hint="drop h= and w=: a grid of tokens knows its size")
            return cls(shape[-1], tuple(shape[:2]), True)
        length = shape[0]
        if h is None and w is None:
            return cls(shape[-1], (length,))
        if h is None or w is None:
            given, name = (h, "h") if h is not None else (w, "w")
            if length % given:
                raise ShapeError(f"{name}={given} does not divide the {length:,} tokens", culprit=name)
            h, w = (given, length // given) if name == "h" else (length // given, given)
        if h * w != length:
            side = isqrt(length)
            hint = f"h={side} w={side}" if side * side == length else None
            raise ShapeError(f"h={h} and w={w} give {h * w:,} positions for {length:,} tokens",
                             notes=[f"{length} = {isqrt(length - 1)} x {isqrt(length - 1)} + 1: the sequence holds a "
                                    "class token besides the patches"]
                             if length > 1 and isqrt(length - 1) ** 2 == length - 1 else [],
                             hint=f"write {hint}" if hint else "h * w must equal the number of tokens")
        return cls(shape[-1], (h, w))

    def infer(self, in_shapes):
        return (self.features, *self.size)

    def receptive(self, in_shapes):
        return UNTOKENIZE

    def hyper(self):
        return f"to {dims_text((self.features, *self.size))}"


@register
@dataclass(frozen=True, slots=True)
class ClassToken(Op):
    """A learned token prepended to the sequence (ViT's `class_token`): D params each."""

    keywords = ("classtoken", "clstoken")
    family = Family.OTHER
    doc = "Prepend n learned tokens (ViT's class token): LxD -> (L+n)xD, n*D params."
    example = "classtoken"
    attrs = (Attr("n", "int", 1, positional=True, aliases=("count",),
                  doc="how many tokens (DeiT adds a second, the distillation token)"),)
    length: int
    features: int
    n: int

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("classtoken", in_shapes[0], sequence=True)
        return cls(shape[0], shape[1], v["n"])

    def infer(self, in_shapes):
        return Tokens((self.length + self.n, self.features))

    def params(self):
        return self.n * self.features

    def receptive(self, in_shapes):
        # The new token reads nothing; the others keep their windows, so a union
        # over tokens (attention, a pool) is what it was without it.
        return POINTWISE

    def hyper(self):
        return f"+{self.n} learned" if self.n > 1 else "+1 learned"


@register
@dataclass(frozen=True, slots=True)
class PositionEmbedding(Op):
    """Position embeddings added to the tokens: learned (L*D params, ViT's
    `pos_embedding`) or the fixed sine-cosine table of "Attention is all you need"."""

    keywords = ("posembed", "positionembedding")
    family = Family.OTHER
    keeps_shape = True
    doc = "Add position embeddings: learned (one D vector per token, L*D params) or fixed sin-cos (mode=sincos)."
    example = "posembed"
    attrs = (Attr("mode", "word", "learned", positional=True, choices=("learned", "sincos"),
                  doc="learned parameters, or the fixed sine-cosine table (no parameters)"),)
    positions: tuple[int, ...]
    features: int
    mode: str

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("posembed", in_shapes[0])
        if v["mode"] == "sincos":
            require_tokens("posembed sincos", shape, sequence=True)
            if shape[-1] % 2:
                raise ShapeError(f"the sin-cos table pairs features; {shape[-1]} is odd", culprit="mode",
                                 hint="use an even number of features, or mode=learned", shape=shape)
        return cls(tuple(shape[:-1]), shape[-1], v["mode"])

    def params(self):
        return prod(self.positions) * self.features if self.mode == "learned" else 0

    def receptive(self, in_shapes):
        return POINTWISE

    def hyper(self):
        return f"{self.mode}, {dims_text((*self.positions, self.features))}"


@register
@dataclass(frozen=True, slots=True)
class Select(Op):
    """One token of a sequence as a flat vector: ViT's `x[:, 0]`, the class token."""

    keywords = ("select",)
    family = Family.RESHAPE
    doc = "Take one token of a sequence as a flat D vector (ViT's class token: select 0)."
    example = "select 0"
    attrs = (Attr("index", "int0", 0, positional=True, aliases=("token",), doc="which token, from 0"),)
    length: int
    features: int
    index: int

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("select", in_shapes[0], sequence=True)
        if v["index"] >= shape[0]:
            raise ShapeError(f"select {v['index']} is past the last of {shape[0]} tokens (0 to {shape[0] - 1})",
                             culprit="index", shape=(shape[1],))
        return cls(shape[0], shape[1], v["index"])

    def infer(self, in_shapes):
        return (self.features,)

    def receptive(self, in_shapes):
        return ONE_TOKEN

    def hyper(self):
        return f"token {self.index} of {self.length}"


@register
@dataclass(frozen=True, slots=True)
class TokenPool(Op):
    """Mean (or max) over every token: LxD or HxWxD -> D."""

    keywords = ("tokenpool",)
    family = Family.POOL
    doc = "Pool over all tokens: LxD (or HxWxD) -> D, the mean (mode=mean) or the maximum (mode=max)."
    example = "tokenpool"
    attrs = (Attr("mode", "word", "mean", positional=True, choices=("mean", "max"), doc="mean or max"),)
    positions: tuple[int, ...]
    features: int
    mode: str

    @classmethod
    def make(cls, v, in_shapes):
        shape = require_tokens("tokenpool", in_shapes[0])
        return cls(tuple(shape[:-1]), shape[-1], v["mode"])

    def infer(self, in_shapes):
        return (self.features,)

    def receptive(self, in_shapes):
        return GLOBAL

    def hyper(self):
        return f"{self.mode} of {prod(self.positions):,} tokens"
