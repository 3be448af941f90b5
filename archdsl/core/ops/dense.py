"""Fully connected layers and flattening."""
from __future__ import annotations

from math import prod

from archdsl.core.ops.base import GLOBAL, POINTWISE, Attr, Family, Op, ShapeError, register
from archdsl.core.shapes import Tokens, is_tokens, spatial_rank
from archdsl.records import dataclass
from archdsl.text import shape_text


@register
@dataclass(frozen=True, slots=True)
class Linear(Op):
    """Fully connected layer on a flat vector, or on every token of a token
    tensor (the last axis, as nn.Linear: `positions` holds the token axes)."""

    keywords = ("fc", "linear", "dense")
    example = "fc 10"
    family = Family.FC
    shape_neutral = frozenset({"bias"})
    doc = "Fully connected layer: F -> out on a flat input (use flatten first), or on each token: LxD -> Lxout."
    attrs = (
        Attr("out", "int", positional=True, aliases=("out_features", "units"), doc="output features"),
        Attr("bias", "bool", True, doc="add a learned bias"),
    )
    in_features: int
    out_features: int
    bias: bool
    positions: tuple[int, ...] = ()  # the token axes (L,) or (H, W); () on a flat vector

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if is_tokens(shape):
            return cls(shape[-1], v["out"], v["bias"], tuple(shape[:-1]))
        if spatial_rank(shape) > 0:
            raise ShapeError(f"fc needs a flat vector but its input is the feature map {shape_text(shape)}",
                             hint=f"insert `flatten` before it (giving {prod(shape):,} features), "
                                  "or `gap; flatten` to pool first")
        return cls(shape[0], v["out"], v["bias"])

    def infer(self, in_shapes):
        if self.positions:
            return Tokens((*self.positions, self.out_features))
        return (self.out_features,)

    def params(self):
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    def macs(self, in_shapes, out):
        return self.in_features * self.out_features * prod(self.positions)

    def receptive(self, in_shapes):
        return POINTWISE if self.positions else GLOBAL  # on tokens: each token alone

    def hyper(self):
        each = ", per token" if self.positions else ""
        return f"{self.in_features} -> {self.out_features}" + ("" if self.bias else ", no bias") + each


@register
@dataclass(frozen=True, slots=True)
class Flatten(Op):
    """CxHxW -> C*H*W, in PyTorch's (channel-major) order."""

    keywords = ("flatten",)
    example = "flatten"
    family = Family.RESHAPE
    doc = "Flatten a feature map into a vector of C*H*W features (channel-major, as PyTorch)."

    def infer(self, in_shapes):
        return (prod(in_shapes[0]),)

    def receptive(self, in_shapes):
        return GLOBAL if spatial_rank(in_shapes[0]) else POINTWISE


@register
@dataclass(frozen=True, slots=True)
class Embedding(Op):
    """Token ids -> vectors, channels first: a flat input of L ids becomes DxL,
    ready for 1-D convolutions (TextCNN). The input must hold ids (`dtype=long`)."""

    keywords = ("embedding",)
    family = Family.FC
    doc = "Look up a learned vector per token id: L ids -> DxL (channels first, for conv over the sequence)."
    example = "embedding 1000 64"
    attrs = (
        Attr("vocab", "int", positional=True, aliases=("num_embeddings",), doc="how many token ids"),
        Attr("dim", "int", positional=True, aliases=("embedding_dim",), doc="the vector size D"),
        Attr("padding_idx", "int0", None, doc="an id whose vector stays zero (and gets no gradient)"),
        Attr("tokens", "bool", False, doc="give tokens LxD (as nn.Embedding does, for attention) instead of DxL"),
    )
    vocab: int
    dim: int
    padding_idx: int | None
    tokens: bool = False

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if spatial_rank(shape) != 0:
            raise ShapeError(f"embedding reads a flat sequence of token ids, its input is the map {shape_text(shape)}",
                             hint="start the network with `input words 50 dtype=long`")
        if v["padding_idx"] is not None and v["padding_idx"] >= v["vocab"]:
            raise ShapeError(f"padding_idx {v['padding_idx']} is not an id of a vocabulary of {v['vocab']}",
                             culprit="padding_idx")
        return cls(v["vocab"], v["dim"], v["padding_idx"], v["tokens"])

    def infer(self, in_shapes):
        if self.tokens:
            return Tokens((in_shapes[0][0], self.dim))
        return (self.dim, in_shapes[0][0])

    def params(self):
        return self.vocab * self.dim

    def receptive(self, in_shapes):
        return POINTWISE

    def hyper(self):
        return f"{self.vocab:,} ids -> {self.dim}" + (", tokens" if self.tokens else "")
