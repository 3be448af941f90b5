"""Changing the spatial size without learned weights: upsample, crop, pad."""
from __future__ import annotations

import math

from archdsl.core.ops.base import (
    UNKNOWN,
    Attr,
    Family,
    Op,
    ShapeError,
    Tensor,
    broadcast,
    register,
    require_spatial,
)
from archdsl.records import dataclass
from archdsl.text import axes_text, dims_text, shape_text

_MODES = {1: ("nearest", "linear", "nearest-exact"), 2: ("nearest", "bilinear", "bicubic", "nearest-exact"),
          3: ("nearest", "trilinear", "nearest-exact")}
_SMOOTH = ("linear", "bilinear", "bicubic", "trilinear")  # the modes align_corners applies to


@register
@dataclass(frozen=True, slots=True)
class Upsample(Op):
    """Interpolation to a larger (or any) size, as nn.Upsample / F.interpolate."""

    keywords = ("upsample",)
    family = Family.POOL
    doc = "Upsample by a scale factor or to a size (or to a tensor's size): nearest, (bi/tri)linear or bicubic."
    example = "upsample 2"
    attrs = (
        Attr("scale", "float", None, positional=True, aliases=("scale_factor",),
             doc="scale factor; out = floor(W * scale), as PyTorch"),
        Attr("size", "size_or_tensor", None, aliases=("like",),
             doc="output size, one value or per axis, or a tensor whose spatial size to take (@e2)"),
        Attr("mode", "word", "nearest", choices=("nearest", "linear", "bilinear", "bicubic", "trilinear",
                                                "nearest-exact"), doc="interpolation"),
        Attr("align_corners", "bool", None, doc="for (bi/tri)linear and bicubic: align the corner pixels"),
    )

    channels: int
    size: tuple[int, ...]
    scale: float | None
    mode: str
    align_corners: bool | None

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        rank = require_spatial("upsample", shape)
        if v["mode"] not in _MODES[rank]:
            raise ShapeError(f"mode {v['mode']} does not apply to {rank}-D maps",
                             hint=f"for a {rank}-D map use mode={' or mode='.join(_MODES[rank])}", culprit="mode")
        if v["align_corners"] is not None and v["mode"] not in _SMOOTH:
            raise ShapeError(f"align_corners applies to interpolating modes, not {v['mode']}",
                             hint="drop align_corners, or use mode=bilinear", culprit="align_corners")
        scale, size = v["scale"], v["size"]
        if (scale is None) == (size is None):
            raise ShapeError("upsample takes a scale (upsample 2) or a size (size=28x28 or like=@t), one of them",
                             hint="for example `upsample 2` or `upsample size=@e2`")
        if scale is not None:
            if scale <= 0:
                raise ShapeError(f"the scale must be positive, got {scale:g}", culprit="scale")
            out = tuple(math.floor(n * scale) for n in shape[1:])
        else:
            out = size.shape[1:] if isinstance(size, Tensor) else broadcast(size, rank, "size")
            if len(out) != rank:
                raise ShapeError(f"the target {shape_text(out)} has {len(out)} axes, the input {rank}")
        if min(out) < 1:
            raise ShapeError(f"upsample output {shape_text(out)} collapses below 1",
                             notes=[f"floor({shape_text(shape[1:])} * {scale:g})"])
        return cls(shape[0], out, scale, v["mode"], v["align_corners"])

    def infer(self, in_shapes):
        return (self.channels, *self.size)

    def receptive(self, in_shapes):
        return UNKNOWN  # output pixels of one input pixel share it unevenly (bilinear reads 2 or 4)

    def hyper(self):
        what = f"x{self.scale:g}" if self.scale is not None else f"to {axes_text(self.size)}"
        extra = ", align corners" if self.align_corners else ""
        return f"{what}, {self.mode}{extra}"


@register
@dataclass(frozen=True, slots=True)
class Crop(Op):
    """Center crop to a size or to another tensor's spatial size: U-Net's copy-and-crop."""

    keywords = ("crop",)
    family = Family.RESHAPE
    doc = "Center-crop to a size, or to a tensor's spatial size (crop @up); the offset is (W - w) // 2."
    example = "crop 24x24"
    attrs = (Attr("to", "size_or_tensor", positional=True, aliases=("like", "size"),
                  doc="the target: a size (24x24) or a tensor (@up) whose spatial size to take"),)

    channels: int
    offset: tuple[int, ...]
    size: tuple[int, ...]

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        rank = require_spatial("crop", shape)
        target = v["to"]
        size = target.shape[1:] if isinstance(target, Tensor) else broadcast(target, rank, "crop")
        if len(size) != rank:
            raise ShapeError(f"crop to {shape_text(size)} needs {rank} spatial axes like its input "
                             f"{shape_text(shape)}")
        if any(t > n for t, n in zip(size, shape[1:], strict=True)):
            raise ShapeError(f"crop to {shape_text(size)} is larger than its input {shape_text(shape)}",
                             hint="crop the larger tensor to the smaller one: from @skip { crop @up }")
        offset = tuple((n - t) // 2 for n, t in zip(shape[1:], size, strict=True))
        return cls(shape[0], offset, tuple(size))

    def infer(self, in_shapes):
        return (self.channels, *self.size)

    def receptive(self, in_shapes):
        # Output pixel i is input pixel i + offset: a 1-wide window starting `offset` later.
        return (1,) * len(self.size), (1,) * len(self.size), tuple(-o for o in self.offset)

    def hyper(self):
        return f"to {dims_text(self.size)}, offset {axes_text(self.offset)}"


@register
@dataclass(frozen=True, slots=True)
class Pad(Op):
    """Padding on every spatial axis, as F.pad: zeros (or a value), reflect, replicate or circular."""

    keywords = ("pad",)
    family = Family.RESHAPE
    doc = ("Pad the spatial axes: p before and after (or `after=` differently), with zeros, reflect, "
           "replicate or circular.")
    example = "pad 1"
    attrs = (
        Attr("p", "axes0", positional=True, aliases=("padding",), doc="pixels before (and after) each axis"),
        Attr("after", "axes0", None, doc="pixels after each axis, when they differ from p"),
        Attr("mode", "word", "zeros", choices=("zeros", "reflect", "replicate", "circular"),
             doc="what fills the border"),
        Attr("value", "float", 0.0, doc="the fill for mode=zeros"),
    )

    channels: int
    padding: tuple[tuple[int, int], ...]
    mode: str
    value: float

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        rank = require_spatial("pad", shape)
        before = broadcast(v["p"], rank, "p")
        after = broadcast(v["after"], rank, "after") if v["after"] is not None else before
        pads = tuple(zip(before, after, strict=True))
        if v["mode"] in ("reflect", "circular"):
            limit = (lambda n: n - 1) if v["mode"] == "reflect" else (lambda n: n)
            for n, (b, a) in zip(shape[1:], pads, strict=True):
                if max(b, a) > limit(n):
                    raise ShapeError(f"{v['mode']} padding {max(b, a)} is too large for an axis of {n}",
                                     notes=[f"PyTorch's {v['mode']} padding must be at most {limit(n)} here"],
                                     culprit="p")
        return cls(shape[0], pads, v["mode"], v["value"])

    def infer(self, in_shapes):
        return (self.channels, *(n + b + a for n, (b, a) in zip(in_shapes[0][1:], self.padding, strict=True)))

    def receptive(self, in_shapes):
        rank = len(self.padding)
        return (1,) * rank, (1,) * rank, tuple(b for b, _ in self.padding)

    def hyper(self):
        before = tuple(b for b, _ in self.padding)
        after = tuple(a for _, a in self.padding)
        text = f"p{axes_text(before)}" if before == after else f"p{axes_text(before)} / {axes_text(after)}"
        return text + ("" if self.mode == "zeros" and not self.value else f", {self.mode}")
