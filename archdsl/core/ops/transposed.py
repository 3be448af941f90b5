"""Transposed convolution (`convtranspose`, `deconv`), 1-D/2-D/3-D by the input's rank.

The transposed window rule, per axis, as PyTorch's ConvTransposeNd:

    out = (W - 1) * S - 2P + D(F - 1) + output_padding + 1

with output_padding < max(S, D). Every input pixel scatters a kernel into
the output, so MACs = numel(input) * (C'/g) * prod(F).
"""
from __future__ import annotations

from math import prod

from archdsl.core.ops.base import UNKNOWN, Attr, Family, Op, ShapeError, broadcast, register, require_spatial
from archdsl.core.ops.conv import _choices
from archdsl.records import dataclass
from archdsl.text import AXIS_NAMES, axes_text, dims_text, shape_text


def transposed_size(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                    dilation: int = 1) -> int:
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


@register
@dataclass(frozen=True, slots=True)
class ConvTranspose(Op):
    """N-d transposed convolution ("deconvolution"), as nn.ConvTransposeNd."""

    keywords = ("convtranspose", "deconv")
    family = Family.CONV
    shape_neutral = frozenset({"g", "bias"})
    doc = "Transposed convolution (upsampling by S): out = (W - 1)S - 2P + D(F - 1) + output_padding + 1."
    example = "convtranspose 64 k=2 s=2"
    attrs = (
        Attr("out", "int", positional=True, aliases=("out_channels", "filters"), doc="output channels"),
        Attr("k", "axes", aliases=("kernel",), doc="kernel size, per axis as 1x7"),
        Attr("s", "axes", 1, aliases=("stride",), doc="stride (the upsampling factor)"),
        Attr("p", "axes0", 0, aliases=("padding", "pad"), doc="padding removed from each side of the output"),
        Attr("op", "axes0", 0, aliases=("output_padding",), doc="extra size added to one side of the output"),
        Attr("d", "axes", 1, aliases=("dilation",), doc="dilation"),
        Attr("g", "int", 1, aliases=("groups",), doc="groups"),
        Attr("bias", "bool", True, doc="add a learned bias"),
    )

    out_channels: int
    in_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    bias: bool

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        rank = require_spatial("convtranspose", shape)
        k, s, p = broadcast(v["k"], rank, "k"), broadcast(v["s"], rank, "s"), broadcast(v["p"], rank, "p")
        o, d = broadcast(v["op"], rank, "op"), broadcast(v["d"], rank, "d")
        for oo, ss, dd in zip(o, s, d, strict=True):
            if oo >= max(ss, dd):
                raise ShapeError(f"output padding {oo} must be smaller than the stride {ss} or the dilation {dd}",
                                 notes=["PyTorch's rule for ConvTranspose"], culprit="op",
                                 hint=f"use op={max(ss, dd) - 1} or less")
        c_in, c_out, g = shape[0], v["out"], v["g"]
        op = cls(c_out, c_in, k, s, p, o, d, g, v["bias"])
        if c_in % g or c_out % g:
            common = [x for x in range(1, min(c_in, c_out) + 1) if c_in % x == 0 and c_out % x == 0]
            raise ShapeError(f"groups g={g} must divide both input channels ({c_in}) and output channels ({c_out})",
                             hint=f"g can be {_choices(common, g)}", culprit="g", shape=op.infer([shape]))
        return op

    def infer(self, in_shapes):
        shape = in_shapes[0]
        out = []
        for axis, (n, k, s, p, o, d) in enumerate(zip(shape[1:], self.kernel, self.stride, self.padding,
                                                      self.output_padding, self.dilation, strict=True)):
            size = transposed_size(n, k, s, p, o, d)
            if size < 1:
                name = AXIS_NAMES[len(shape) - 1][axis]
                raise ShapeError(f"convtranspose output {name} collapses below 1",
                                 notes=[f"input is {shape_text(shape)}: ({n} - 1)*{s} - 2*{p} + {d}*({k} - 1) "
                                        f"+ {o} + 1 = {size}"],
                                 hint="use less padding p")
            out.append(size)
        return (self.out_channels, *out)

    def params(self):
        weights = self.in_channels * (self.out_channels // self.groups) * prod(self.kernel)
        return weights + (self.out_channels if self.bias else 0)

    def macs(self, in_shapes, out):
        return prod(in_shapes[0]) * (self.out_channels // self.groups) * prod(self.kernel)

    def receptive(self, in_shapes):
        # An output pixel reads a different number of input pixels in each of the
        # S phases of the stride: no single receptive field is true for all of them.
        return UNKNOWN

    def hyper(self):
        parts = [dims_text(self.kernel), f"s{axes_text(self.stride)}", f"p{axes_text(self.padding)}"]
        if any(self.output_padding):
            parts.append(f"op{axes_text(self.output_padding)}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"d{axes_text(self.dilation)}")
        if self.groups != 1:
            parts.append(f"g{self.groups}")
        if not self.bias:
            parts.append("no bias")
        return ", ".join(parts)
