"""Normalisation and regularisation: batch, layer, group and instance norm,
LRN, layer scale, dropout and stochastic depth."""
from __future__ import annotations

from archdsl.core.ops.base import Attr, Family, Op, Pointwise, ShapeError, constant_text, register
from archdsl.core.shapes import describe_rank, is_tokens, spatial_rank
from archdsl.records import dataclass
from archdsl.text import shape_text


def refuse_tokens(op: str, shape) -> None:
    """Channel-wise norms read the channels of a map; tokens have their features last."""
    if is_tokens(shape):
        raise ShapeError(f"{op} normalises the channels of a map, but its input is {describe_rank(shape)} of "
                         f"{shape_text(shape)}", hint="tokens take `layernorm` (over each token's features), "
                                                      "or `untokens` back to a map first")


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
        refuse_tokens("bn", shape)
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
        refuse_tokens("lrn", in_shapes[0])
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



@register
@dataclass(frozen=True, slots=True)
class LayerNorm(Pointwise, Op):
    """Layer normalisation over the channels at every position (ConvNeXt's
    LayerNorm2d), or over the features of a flat vector or of each token
    (nn.LayerNorm, on the last axis)."""

    keywords = ("layernorm",)
    family = Family.NORM
    keeps_shape = True
    doc = ("Layer normalisation over the channels at every position (over the features of a flat vector, "
           "or of each token).")
    example = "layernorm"
    attrs = (
        Attr("eps", "pfloat", 1e-5, doc="added to the variance"),
        Attr("affine", "bool", True, aliases=("elementwise_affine",), doc="learn a per-channel scale and shift"),
    )
    channels: int
    rank: int  # 0: the last axis (a flat vector, tokens)
    eps: float
    affine: bool
    tokens: bool = False

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if is_tokens(shape):
            return cls(shape[-1], 0, v["eps"], v["affine"], True)
        return cls(shape[0], spatial_rank(shape), v["eps"], v["affine"])

    def params(self):
        return 2 * self.channels if self.affine else 0

    def hyper(self):
        return ("over features" if self.tokens else "over channels") + \
            ("" if self.eps == 1e-5 else f", eps {constant_text(self.eps)}")


@register
@dataclass(frozen=True, slots=True)
class GroupNorm(Pointwise, Op):
    """Group normalisation: g groups of channels, each normalised over its channels and positions."""

    keywords = ("groupnorm",)
    family = Family.NORM
    keeps_shape = True
    doc = "Group normalisation: the channels in g groups, each normalised over its channels and positions."
    example = "groupnorm 4"
    attrs = (
        Attr("g", "int", positional=True, aliases=("groups", "num_groups"), doc="groups; must divide the channels"),
        Attr("eps", "pfloat", 1e-5, doc="added to the variance"),
        Attr("affine", "bool", True, doc="learn a per-channel scale and shift"),
    )
    channels: int
    groups: int
    eps: float
    affine: bool

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        refuse_tokens("groupnorm", shape)
        c, g = shape[0], v["g"]
        if c % g:
            from archdsl.core.ops.conv import _choices
            raise ShapeError(f"groupnorm groups g={g} must divide the {c} channels",
                             hint=f"g can be {_choices([d for d in range(1, c + 1) if c % d == 0], g)}",
                             culprit="g", shape=shape)
        return cls(c, g, v["eps"], v["affine"])

    def params(self):
        return 2 * self.channels if self.affine else 0

    def hyper(self):
        return f"g{self.groups}" + ("" if self.eps == 1e-5 else f", eps {constant_text(self.eps)}")


@register
@dataclass(frozen=True, slots=True)
class InstanceNorm(Pointwise, Op):
    """Instance normalisation (each channel of each sample over its positions), as
    nn.InstanceNormNd: no affine and no running statistics unless asked for."""

    keywords = ("instancenorm",)
    family = Family.NORM
    keeps_shape = True
    doc = "Instance normalisation over each channel's positions; affine and running statistics off, as PyTorch."
    example = "instancenorm"
    attrs = (
        Attr("eps", "pfloat", 1e-5, doc="added to the variance"),
        Attr("affine", "bool", False, doc="learn a per-channel scale and shift"),
        Attr("running", "bool", False, aliases=("track_running_stats",), doc="keep running statistics (buffers)"),
    )
    channels: int
    rank: int
    eps: float
    affine: bool
    running: bool

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        refuse_tokens("instancenorm", shape)
        rank = spatial_rank(shape)
        if not 1 <= rank <= 3:
            raise ShapeError(f"instancenorm needs a feature map (CxL, CxHxW or CxDxHxW), its input is "
                             f"{shape_text(shape)}")
        return cls(shape[0], rank, v["eps"], v["affine"], v["running"])

    def params(self):
        return 2 * self.channels if self.affine else 0

    def buffers(self):
        return 2 * self.channels if self.running else 0

    def hyper(self):
        return ", ".join(w for w, on in (("affine", self.affine), ("running stats", self.running)) if on)


@register
@dataclass(frozen=True, slots=True)
class LayerScale(Pointwise, Op):
    """A learned per-channel scale, initialised small (CaiT, ConvNeXt)."""

    keywords = ("layerscale",)
    family = Family.NORM
    keeps_shape = True
    doc = "A learned scale per channel (C parameters), initialised to a small value (ConvNeXt: 1e-6)."
    example = "layerscale 1e-6"
    attrs = (Attr("init", "float", 1e-6, positional=True, aliases=("value",), doc="the initial scale"),)
    channels: int
    rank: int
    init: float

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if is_tokens(shape):  # one scale per feature, on the last axis
            return cls(shape[-1], 0, v["init"])
        return cls(shape[0], spatial_rank(shape), v["init"])

    def params(self):
        return self.channels

    def hyper(self):
        return f"init {constant_text(self.init)}"


@register
@dataclass(frozen=True, slots=True)
class StochasticDepth(Pointwise, Op):
    """Drops the whole residual branch with probability p while training
    (torchvision.ops.StochasticDepth); the identity at inference."""

    keywords = ("stochasticdepth", "droppath")
    family = Family.NORM
    keeps_shape = True
    doc = "Stochastic depth: drop the branch with probability p while training (per sample: mode=row)."
    example = "stochasticdepth 0.1"
    attrs = (
        Attr("p", "prob", positional=True, doc="probability of dropping"),
        Attr("mode", "word", "row", choices=("row", "batch"), doc="per sample (row) or for the whole batch"),
    )
    p: float
    mode: str

    def hyper(self):
        return f"p {self.p:g}, {self.mode}"
