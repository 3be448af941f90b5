"""Normalisation and regularisation: batch norm, LRN, dropout."""
from __future__ import annotations

from dataclasses import dataclass

from archdsl.core.ops.base import Attr, Family, Op, Pointwise, ShapeError, constant_text, register
from archdsl.core.shapes import spatial_rank
from archdsl.text import shape_text


@register
@dataclass(frozen=True, slots=True)
class BatchNorm(Pointwise, Op):
    """Batch normalisation over channels (1d/2d/3d by input rank).

    Trainable: weight and bias (2C when affine). Buffers: running mean and
    variance (2C); PyTorch's `num_batches_tracked` counter is not counted."""

    keywords = ("bn", "batchnorm")
    example = "bn"
    family = Family.NORM
    keeps_shape = True
    doc = "Batch normalisation over channels; 1d/2d/3d follows the input's rank."
    attrs = (
        Attr("eps", "pfloat", 1e-5, doc="added to the variance"),
        Attr("momentum", "float", 0.1, doc="running-statistics momentum (PyTorch convention)"),
        Attr("affine", "bool", True, doc="learn a per-channel scale and shift"),
    )
    channels: int
    rank: int
    eps: float
    momentum: float
    affine: bool

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if spatial_rank(shape) > 3:
            raise ShapeError(f"bn supports up to 3 spatial axes, input is {shape_text(shape)}")
        return cls(shape[0], spatial_rank(shape), v["eps"], v["momentum"], v["affine"])

    def params(self):
        return 2 * self.channels if self.affine else 0

    def buffers(self):
        return 2 * self.channels

    def hyper(self):
        return "" if self.eps == 1e-5 else f"eps {constant_text(self.eps)}"


@register
@dataclass(frozen=True, slots=True)
class LocalResponseNorm(Pointwise, Op):
    """Local response normalisation across channels (AlexNet)."""

    keywords = ("lrn",)
    example = "lrn size=5 alpha=1e-4 beta=0.75 k=2"
    family = Family.NORM
    keeps_shape = True
    doc = "Local response normalisation across neighbouring channels (AlexNet, GoogLeNet v1)."
    attrs = (
        Attr("size", "int", positional=True, aliases=("n",), doc="number of neighbouring channels"),
        Attr("alpha", "float", 1e-4, doc="scale"),
        Attr("beta", "float", 0.75, doc="exponent"),
        Attr("k", "float", 1.0, doc="additive constant"),
    )
    size: int
    alpha: float
    beta: float
    k: float

    @classmethod
    def make(cls, v, in_shapes):
        return cls(v["size"], v["alpha"], v["beta"], v["k"])

    def hyper(self):
        return (f"size {self.size}, alpha {constant_text(self.alpha)}, beta {constant_text(self.beta)}, "
                f"k {constant_text(self.k)}")


@register
@dataclass(frozen=True, slots=True)
class Dropout(Pointwise, Op):
    """Zeroes activations with probability p while training; identity in eval."""

    keywords = ("dropout",)
    example = "dropout 0.5"
    family = Family.NORM
    keeps_shape = True
    doc = "Dropout with drop probability p (identity at inference)."
    attrs = (Attr("p", "prob", 0.5, positional=True, doc="probability of dropping"),)
    p: float

    def hyper(self):
        return f"p {self.p:g}"

