"""Rearranging a tensor without arithmetic: reshape, permute, channel shuffle,
and the channel split that gives several named parts (`a, b: split 2`)."""
from __future__ import annotations

from math import prod

from archdsl.core.ops.base import UNKNOWN, Attr, Family, Op, Pointwise, ShapeError, register, require_spatial
from archdsl.core.ops.conv import _choices
from archdsl.records import dataclass
from archdsl.text import dims_text, shape_text


@register
@dataclass(frozen=True, slots=True)
class Reshape(Op):
    """A new shape for the same elements, the batch kept: `x.reshape(N, *shape)`."""

    keywords = ("reshape", "view")
    family = Family.RESHAPE
    doc = "Reshape to a shape without the batch (4x7x7, or a tuple with one -1); the element count must agree."
    example = "reshape (-1, 4)"
    attrs = (Attr("shape", "shape", positional=True, doc="the new shape; one size may be -1"),)
    shape: tuple[int, ...]

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        target, total = list(v["shape"]), prod(shape)
        known = prod(t for t in target if t != -1)
        if -1 in target:
            if total % known:
                raise ShapeError(f"cannot reshape {shape_text(shape)} ({total:,} elements) to "
                                 f"{dims_text(v['shape'])}: {total:,} is not a multiple of {known:,}")
            target[target.index(-1)] = total // known
        elif known != total:
            raise ShapeError(f"cannot reshape {shape_text(shape)} ({total:,} elements) to "
                             f"{shape_text(tuple(target))} ({known:,} elements)",
                             hint="the new shape must hold every element; leave one size as -1 to infer it")
        return cls(tuple(target))

    def infer(self, in_shapes):
        return self.shape

    def receptive(self, in_shapes):
        return UNKNOWN  # pixels move to other places: no spatial field survives it in general

    def hyper(self):
        return f"to {dims_text(self.shape)}"


@register
@dataclass(frozen=True, slots=True)
class Permute(Op):
    """A new order of the non-batch axes: `x.permute(0, 1 + order...)`."""

    keywords = ("permute",)
    family = Family.RESHAPE
    doc = "Reorder the axes without the batch; 0 is the channels: (1, 2, 0) turns CxHxW into HxWxC."
    example = "permute (1, 2, 0)"
    attrs = (Attr("order", "order", positional=True, aliases=("dims",), doc="the axes in their new order"),)
    order: tuple[int, ...]

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        if len(v["order"]) != len(shape):
            raise ShapeError(f"permute ({', '.join(map(str, v['order']))}) orders {len(v['order'])} axes, "
                             f"but {shape_text(shape)} has {len(shape)}",
                             hint="list every axis but the batch, e.g. (1, 2, 0) for CxHxW -> HxWxC")
        return cls(v["order"])

    def infer(self, in_shapes):
        return tuple(in_shapes[0][i] for i in self.order)

    def receptive(self, in_shapes):
        return UNKNOWN

    def hyper(self):
        return "(" + ", ".join(map(str, self.order)) + ")"


@register
@dataclass(frozen=True, slots=True)
class Shuffle(Pointwise, Op):
    """ShuffleNet's channel shuffle: g groups of C/g channels, interleaved."""

    keywords = ("shuffle", "channelshuffle")
    family = Family.RESHAPE
    keeps_shape = True
    doc = "Channel shuffle (ShuffleNet): split the channels into g groups and interleave them."
    example = "shuffle 2"
    attrs = (Attr("g", "int", positional=True, aliases=("groups",), doc="groups; must divide the channels"),)
    groups: int

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        require_spatial("shuffle", shape, min_rank=0)
        c, g = shape[0], v["g"]
        if c % g:
            divisors = [d for d in range(1, c + 1) if c % d == 0]
            raise ShapeError(f"shuffle groups g={g} must divide the {c} channels",
                             hint=f"g can be {_choices(divisors, g)}", culprit="g")
        return cls(g)

    def hyper(self):
        return f"g{self.groups}"


@register
@dataclass(frozen=True, slots=True)
class Split(Op):
    """One part of a channel split: channels [start, stop) of the input.

    `a, b: split 2` (equal parts) or `a, b: split (24, 40)` (channels per part)
    makes one node per label; each is one of these."""

    keywords = ("split", "chunk")
    family = Family.RESHAPE
    doc = "Split the channels into named parts: `a, b: split 2` (equal) or `a, b: split (24, 40)`."
    example = "a, b: split 2"
    attrs = (Attr("parts", "parts", positional=True, aliases=("sizes",),
                  doc="how many equal parts, or the channels of each part"),)
    in_channels: int
    start: int
    stop: int
    index: int
    count: int

    @classmethod
    def make(cls, v, in_shapes):
        return cls.parts(v, in_shapes)[0]

    @classmethod
    def parts(cls, v, in_shapes) -> list[Split]:
        """Every part, in order."""
        (shape,) = in_shapes
        require_spatial("split", shape, min_rank=0)
        c, parts = shape[0], v["parts"]
        if isinstance(parts, int):
            if c % parts:
                sizes = [c // parts + (1 if i < c % parts else 0) for i in range(parts)]
                raise ShapeError(f"split {parts} needs channels divisible by {parts}, the input has {c}",
                                 hint=f"give the sizes of the parts instead: split ({', '.join(map(str, sizes))})")
            sizes = (c // parts,) * parts
        else:
            sizes = parts
            if sum(sizes) != c:
                raise ShapeError(f"the parts {dims_text(sizes)} add up to {sum(sizes)} channels, "
                                 f"the input has {c}", hint="the sizes of the parts must add up to the channels")
        out, start = [], 0
        for i, size in enumerate(sizes):
            out.append(cls(c, start, start + size, i, len(sizes)))
            start += size
        return out

    def infer(self, in_shapes):
        return (self.stop - self.start, *in_shapes[0][1:])

    def receptive(self, in_shapes):
        from archdsl.core.ops.base import POINTWISE
        return POINTWISE

    def hyper(self):
        return f"channels {self.start}:{self.stop} of {self.in_channels}"
