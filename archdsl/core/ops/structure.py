"""The input, identity, and the merges: the nodes with several inputs that
concat/add (and residual) create. `MERGES` is the one table of merge kinds:
the grammar's generic `NAME { branch ... }` rule, lowering, codegen and the
diagrams all look a merge up there."""
from __future__ import annotations

from archdsl.core.ops.base import Attr, Family, Op, Pointwise, ShapeError, register
from archdsl.core.shapes import Shape, Tokens, describe_rank, is_tokens, spatial_rank
from archdsl.records import dataclass
from archdsl.text import shape_text


@register
@dataclass(frozen=True, slots=True)
class Input(Pointwise, Op):
    """The network's input, CHW without the batch: `3x224x224`, `300x50` (CxL), `784` (flat)."""

    keywords = ("input",)
    family = Family.IO
    example = "input 3x224x224"
    doc = "The network input, channels first, without the batch dimension."
    attrs = (
        Attr("shape", "dims", positional=True, doc="CxHxW (2-D), CxL (1-D), CxDxHxW (3-D) or F (flat)"),
        Attr("dtype", "word", "float", choices=("float", "long"), doc="float data, or long integers (token ids)"),
        Attr("tokens", "bool", False, doc="the input is tokens, features last: a sequence LxD or a grid HxWxD"),
    )
    shape: tuple[int, ...]
    dtype: str = "float"

    def infer(self, in_shapes):
        return self.shape

    def hyper(self):
        return "token ids" if self.dtype == "long" else ""


@register
@dataclass(frozen=True, slots=True)
class Identity(Pointwise, Op):
    """`identity`: passes its input on, as nn.Identity."""
    keywords = ("identity",)
    example = "identity"
    family = Family.RESHAPE
    keeps_shape = True
    doc = "Passes its input through unchanged."


class Merge(Pointwise, Op):
    """A node with several inputs, from `concat { branch ... }`, `add { ... }` or a residual."""

    __slots__ = ()
    family = Family.MERGE
    min_branches = 2
    verb = ""  # what it does, for messages: "joins along channels"


@dataclass(frozen=True, slots=True)
class Concat(Merge):
    """Concatenation along channels (for tokens: along the tokens, torch's dim 1); every other axis must agree."""

    keywords = ("concat",)
    doc = "Concatenate the branches along channels; every other axis must agree."
    example = "concat { branch { conv 64 k=1 } branch { conv 64 k=3 p=1 } }"
    verb = "joins along channels"

    def infer(self, in_shapes: list[Shape]) -> Shape:
        first = in_shapes[0]
        for shape in in_shapes[1:]:
            if is_tokens(shape) != is_tokens(first):
                raise ShapeError("concat joins tokens with a map",
                                 notes=[f"{shape_text(first)} is {describe_rank(first)}, {shape_text(shape)} is "
                                        f"{describe_rank(shape)}"],
                                 hint="tokens join tokens (along the sequence); `tokens` turns a map into them")
            if spatial_rank(shape) != spatial_rank(first) or shape[1:] != first[1:]:
                listed = ", ".join(shape_text(s) for s in in_shapes)
                raise ShapeError("concat branches disagree on their spatial size",
                                 notes=[f"branch outputs: {listed}",
                                        "concat joins along channels; every other axis must match"],
                                 hint="give the branches the same stride and padding (p=same keeps the size)")
        return _like(in_shapes, (sum(s[0] for s in in_shapes), *first[1:]))


@dataclass(frozen=True, slots=True)
class Add(Merge):
    """Element-wise sum, broadcasting as PyTorch does (Cx1x1 over CxHxW)."""

    keywords = ("add",)
    doc = "Sum the inputs element-wise; shapes broadcast as in PyTorch (a Cx1x1 input adds over HxW)."
    example = "add { branch { conv 64 k=3 p=1 } branch { conv 64 k=1 } }"
    verb = "sums element-wise"
    residual: bool = False

    def infer(self, in_shapes: list[Shape]) -> Shape:
        return broadcast_shapes("add", in_shapes)


@dataclass(frozen=True, slots=True)
class Mul(Merge):
    """Element-wise product, broadcasting as PyTorch does: squeeze-and-excitation's gate."""

    keywords = ("mul",)
    doc = "Multiply the inputs element-wise; shapes broadcast as in PyTorch (an SE gate Cx1x1 scales CxHxW)."
    example = "mul { branch { conv 64 k=1 } branch { gap; conv 16 k=1; relu; conv 64 k=1; sigmoid } }"
    verb = "multiplies element-wise"

    def infer(self, in_shapes: list[Shape]) -> Shape:
        return broadcast_shapes("mul", in_shapes)


def broadcast_shapes(kind: str, in_shapes: list[Shape]) -> Shape:
    """PyTorch's broadcasting over shapes without the batch: the ranks agree (the
    batch axis would be misaligned otherwise) and each axis is equal or 1."""
    out = list(in_shapes[0])
    for shape in in_shapes[1:]:
        if len(shape) != len(out) or is_tokens(shape) != is_tokens(in_shapes[0]):
            raise mismatch(kind, in_shapes)
        for i, (a, b) in enumerate(zip(out, shape, strict=True)):
            if a != b and 1 not in (a, b):
                raise mismatch(kind, in_shapes)
            out[i] = max(a, b)
    return _like(in_shapes, out)


def _like(in_shapes: list[Shape], sizes) -> Shape:
    """The merged shape, tokens when the inputs are (Tokens is a tuple that says so)."""
    return Tokens(sizes) if all(is_tokens(s) for s in in_shapes) else tuple(sizes)


def mismatch(kind: str, in_shapes: list[Shape]) -> ShapeError:
    """Inputs of an element-wise merge that do not broadcast: say what differs."""
    a = in_shapes[0]
    b = next(s for s in in_shapes if s != a or is_tokens(s) != is_tokens(a))
    listed = ", ".join(shape_text(s) for s in in_shapes)
    notes = [f"input shapes: {listed}",
             "each axis must agree or be 1 (broadcasting, as in PyTorch)"]
    if is_tokens(a) != is_tokens(b):
        notes.append(f"{describe_rank(a)} against {describe_rank(b)}")
        hint = "tokens merge with tokens: `tokens` turns a map into them, `untokens` turns them back"
    elif len(a) != len(b):
        notes.append(f"{describe_rank(a)} against {describe_rank(b)}")
        hint = "an element-wise merge needs inputs of one rank; flatten or pool the other branch first"
    elif a[0] != b[0] and a[1:] == b[1:]:
        notes.append(f"the channels differ ({a[0]} and {b[0]}); the spatial sizes agree")
        hint = f"project one branch with a 1x1 conv to the other's channels, e.g. `conv {max(a[0], b[0])} k=1`"
    elif a[0] == b[0]:
        notes.append(f"the spatial sizes differ ({shape_text(a[1:])} and {shape_text(b[1:])}); "
                     f"the channels agree ({a[0]})")
        hint = ("give the branches the same stride and padding (p=same keeps the size), or pool one "
                f"to {shape_text((a[0],) + (1,) * (len(a) - 1))} (gap) to broadcast it")
    else:
        notes.append(f"both the channels ({a[0]} and {b[0]}) and the spatial sizes "
                     f"({shape_text(a[1:])} and {shape_text(b[1:])}) differ")
        gate, scaled = (b, a) if set(b[1:]) == {1} else (a, b) if set(a[1:]) == {1} else (None, None)
        if gate is not None:
            hint = (f"a {shape_text(gate)} gate scales a {shape_text(scaled)} map only with {scaled[0]} "
                    f"channels: end its branch with `conv {scaled[0]} k=1`")
        else:
            hint = "project one branch with a 1x1 conv of the right channels and stride"
    return ShapeError(f"{kind} inputs do not broadcast", notes=notes, hint=hint)


# Every merge kind, by keyword: `concat { branch { ... } branch { ... } }`.
MERGES: dict[str, type[Merge]] = {cls.keywords[0]: cls for cls in (Concat, Add, Mul)}
