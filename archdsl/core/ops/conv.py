"""Convolution, 1-D/2-D/3-D by the rank of its input."""
from __future__ import annotations

from math import prod

from archdsl.core.ops.base import Attr, Family, Op, ShapeError, register
from archdsl.core.ops.windowed import (
    Window,
    output_spatial,
    receptive_window,
    resolve_window,
    window_lints,
    window_text,
)
from archdsl.core.shapes import Shape
from archdsl.records import dataclass


@register
@dataclass(frozen=True, slots=True)
class Conv(Op):
    """N-d convolution. `window.padding` is per axis and per side (before, after)."""

    keywords = ("conv",)
    example = "conv 64 k=3 p=1"
    family = Family.CONV
    shape_neutral = frozenset({"g", "bias"})
    doc = "Convolution over a CxL, CxHxW or CxDxHxW input (1-D/2-D/3-D by the input's rank)."
    attrs = (
        Attr("out", "int", positional=True, aliases=("out_channels", "filters"), doc="output channels"),
        Attr("k", "axes", aliases=("kernel",), doc="kernel size, per axis as 1x7"),
        Attr("s", "axes", 1, aliases=("stride",), doc="stride"),
        Attr("p", "padding", 0, aliases=("padding", "pad"), doc="padding: int, per axis, same or valid"),
        Attr("d", "axes", 1, aliases=("dilation",), doc="dilation"),
        Attr("g", "int", 1, aliases=("groups",), doc="groups; depthwise when g equals the channels"),
        Attr("bias", "bool", True, doc="add a learned bias"),
    )

    out_channels: int
    in_channels: int
    window: Window
    groups: int
    bias: bool

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        w = resolve_window("conv", shape, v["k"], v["s"], v["p"], v["d"])
        c_in, c_out, g = shape[0], v["out"], v["g"]
        if c_in % g or c_out % g:
            common = [d for d in range(1, min(c_in, c_out) + 1) if c_in % d == 0 and c_out % d == 0]
            shown = _choices(common, g)
            # The groups do not bear on the output shape: lowering may go on with it.
            shape = (c_out, *output_spatial("conv", shape, w))
            raise ShapeError(f"groups g={g} must divide both input channels ({c_in}) and output channels ({c_out})",
                             hint=f"g can be {shown}; depthwise is g={c_in} with a multiple of "
                                  f"{c_in} output channels", culprit="g", shape=shape)
        return cls(c_out, c_in, w, g, v["bias"])

    def infer(self, in_shapes):
        return (self.out_channels, *output_spatial("conv", in_shapes[0], self.window))

    def lint(self, in_shapes):
        return window_lints("conv", in_shapes[0], self.window)

    def params(self):
        weights = self.out_channels * (self.in_channels // self.groups) * prod(self.window.kernel)
        return weights + (self.out_channels if self.bias else 0)

    def macs(self, in_shapes, out: Shape):
        return prod(out) * (self.in_channels // self.groups) * prod(self.window.kernel)

    def receptive(self, in_shapes):
        return receptive_window(self.window)

    def hyper(self):
        extras = []
        if self.groups != 1:
            extras.append("depthwise" if self.groups == self.in_channels else f"g{self.groups}")
        if not self.bias:
            extras.append("no bias")
        return window_text(self.window, extras)


SHOWN_CHOICES = 12


def _choices(values: list[int], near: int) -> str:
    """Every value, or the ones nearest `near` and how many more there are."""
    if len(values) == 1:
        return str(values[0])
    if len(values) <= SHOWN_CHOICES:
        return ", ".join(map(str, values[:-1])) + f" or {values[-1]}"
    nearest = sorted(sorted(values, key=lambda d: (abs(d - near), d))[:SHOWN_CHOICES - 4])
    return ", ".join(map(str, nearest)) + f", ... ({len(values) - len(nearest)} more)"
