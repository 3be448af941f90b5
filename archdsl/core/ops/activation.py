"""Element-wise activations and softmax."""
from __future__ import annotations

from archdsl.core.ops.base import Attr, Family, Op, Pointwise, register
from archdsl.records import dataclass


@dataclass(frozen=True, slots=True)
class Activation(Pointwise, Op):
    """An element-wise non-linearity; `param` is its one hyper-parameter, if any."""

    family = Family.ACT
    keeps_shape = True
    param: float | None = None

    @classmethod
    def make(cls, v, in_shapes):
        return cls(next(iter(v.values()), None))

    def hyper(self):
        return "" if self.param is None or not self.attrs else f"{self.attrs[0].name} {self.param:g}"


def _simple(keyword: str, doc: str, *aliases: str):
    cls = dataclass(frozen=True, slots=True)(
        type(keyword.capitalize(), (Activation,), {"keywords": (keyword, *aliases), "doc": doc,
                                                  "example": keyword, "__module__": __name__,
                                                  "__doc__": f"`{keyword}`: {doc}."}))
    return register(cls)


ReLU = _simple("relu", "max(0, x)")
ReLU6 = _simple("relu6", "min(max(0, x), 6)")
Sigmoid = _simple("sigmoid", "1 / (1 + e^-x)")
Tanh = _simple("tanh", "hyperbolic tangent")
GELU = _simple("gelu", "Gaussian error linear unit (exact erf form)")
SiLU = _simple("silu", "x * sigmoid(x), a.k.a. swish", "swish")
Hardswish = _simple("hardswish", "x * relu6(x + 3) / 6 (MobileNetV3)")
Hardsigmoid = _simple("hardsigmoid", "relu6(x + 3) / 6, the gate of MobileNetV3's squeeze-and-excitation")


@register
@dataclass(frozen=True, slots=True)
class LeakyReLU(Activation):
    """`leakyrelu SLOPE`, as nn.LeakyReLU."""
    keywords = ("leakyrelu",)
    doc = "max(0, x) + slope * min(0, x)"
    example = "leakyrelu 0.2"
    attrs = (Attr("slope", "float", 0.01, positional=True, aliases=("negative_slope", "alpha"),
                  doc="slope for x < 0"),)


@register
@dataclass(frozen=True, slots=True)
class ELU(Activation):
    """`elu ALPHA`, as nn.ELU."""
    keywords = ("elu",)
    doc = "x for x > 0, alpha * (e^x - 1) otherwise"
    example = "elu 1.0"
    attrs = (Attr("alpha", "float", 1.0, positional=True, doc="saturation value for x < 0"),)


@register
@dataclass(frozen=True, slots=True)
class Softmax(Pointwise, Op):
    """Softmax over the channel (class) axis."""

    keywords = ("softmax",)
    example = "softmax"
    family = Family.ACT
    keeps_shape = True
    doc = "Softmax over channels (dim 1 with the batch)."
