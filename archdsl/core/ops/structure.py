"""The input, identity, and the merge nodes that concat/add/residual create."""
from __future__ import annotations

from dataclasses import dataclass

from archdsl.core.shapes import Shape, spatial_rank
from archdsl.text import shape_text
from archdsl.core.ops.base import Attr, Op, ShapeError, register


@register
@dataclass(frozen=True, slots=True)
class Input(Op):
    """The network's input, CHW without the batch: `3x224x224`, `300x50` (CxL), `784` (flat)."""

    keywords = ("input",)
    family = "io"
    doc = "The network input, channels first, without the batch dimension."
    attrs = (Attr("shape", "dims", positional=True, doc="CxHxW (2-D), CxL (1-D), CxDxHxW (3-D) or F (flat)"),)
    shape: tuple[int, ...]

    def infer(self, in_shapes):
        return self.shape


@register
@dataclass(frozen=True, slots=True)
class Identity(Op):
    keywords = ("identity",)
    family = "reshape"
    keeps_shape = True
    doc = "Passes its input through unchanged."


@dataclass(frozen=True, slots=True)
class Concat(Op):
    """Concatenation along channels; every other axis must agree."""

    keywords = ("concat",)
    family = "merge"

    def infer(self, in_shapes: list[Shape]) -> Shape:
        first = in_shapes[0]
        for shape in in_shapes[1:]:
            if spatial_rank(shape) != spatial_rank(first) or shape[1:] != first[1:]:
                listed = ", ".join(shape_text(s) for s in in_shapes)
                raise ShapeError("concat branches disagree on their spatial size",
                                 notes=[f"branch outputs: {listed}",
                                        "concat joins along channels; every other axis must match"],
                                 hint="give the branches the same stride and padding (p=same keeps the size)")
        return (sum(s[0] for s in in_shapes), *first[1:])


@dataclass(frozen=True, slots=True)
class Add(Op):
    """Element-wise sum; all inputs must have the same shape."""

    keywords = ("add",)
    family = "merge"
    residual: bool = False

    def infer(self, in_shapes: list[Shape]) -> Shape:
        first = in_shapes[0]
        for shape in in_shapes[1:]:
            if shape != first:
                return self._mismatch(in_shapes)
        return first

    def _mismatch(self, in_shapes):
        a, b = in_shapes[0], next(s for s in in_shapes if s != in_shapes[0])
        if self.residual:
            notes = [f"body gives {shape_text(a)}, the skip carries {shape_text(b)}"]
            stride = ""
            if len(a) == len(b) and len(a) > 1 and b[1] != a[1] and a[1]:
                ratio = b[1] // a[1] if a[1] and b[1] % a[1] == 0 else 0
                stride = f" s={ratio}" if ratio > 1 else ""
            hint = (f"add a projection shortcut: `shortcut {{ conv {a[0]} k=1{stride} bias=false; bn }}`"
                    if len(a) == len(b) else "the body changes the rank; a residual body must keep it")
            raise ShapeError("residual body and skip have different shapes", notes=notes, hint=hint)
        listed = ", ".join(shape_text(s) for s in in_shapes)
        raise ShapeError("add needs branches of the same shape", notes=[f"branch outputs: {listed}"],
                         hint="project the smaller branch with a 1x1 conv to match channels and stride")
