"""How a spec writes its shapes: channels first (`chw`, PyTorch's order, the
default) or channels last (`hwc`, as Keras and lecture tables write them).

The analysis is always channels first; a shape written channels last is turned
around where it is read (`input`, `expect`), and tables print the spec's own
layout by default. A channels-first shape that looks channels-last
(`input 224x224x3`) is a warning with the fix, code `channels-last`."""
from __future__ import annotations

from archdsl.core.ops.base import ValueProblem, Word, coerce_word
from archdsl.errors import Diagnostic, Fix
from archdsl.frontend import syntax as ast
from archdsl.text import LAYOUTS, Layout, close_matches, dims_text

CODE = "channels-last"  # the warning's code: `# archdsl: allow channels-last`
_MOST_CHANNELS = 4  # RGBA: a last axis up to this looks like channels

# The axes of a channels-last shape, in words, by its spatial rank.
_AXES = {1: "length x channels", 2: "height x width x channels", 3: "depth x height x width x channels"}


def channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    """HxWxC -> CxHxW (a flat vector stays as it is); the inverse of text.channels_last."""
    return (shape[-1], *shape[:-1]) if len(shape) > 1 else tuple(shape)


def as_written(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """A channels-first shape in the order `layout` writes it."""
    return (*shape[1:], shape[0]) if layout == Layout.HWC and len(shape) > 1 else tuple(shape)


def read_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """A shape written in `layout`, channels first."""
    return channels_first(shape) if layout == Layout.HWC else tuple(shape)


def file_layouts(programs) -> tuple[dict[str, str], list[Diagnostic]]:
    """The `layout` statement of each file (by file name) that has one, and the
    errors in them: a word other than chw/hwc, or two statements in one file."""
    layouts, problems = {}, []
    for program in programs:
        decls = program.layouts
        if not decls:
            continue
        first = decls[0]
        for extra in decls[1:]:
            problems.append(Diagnostic("error", "a file has one layout statement", extra.span,
                                       notes=[f"the first is at {first.span}"],
                                       hint="keep one; an input may say its own: input 227x227x3 layout=hwc"))
        value = _word(first.value, first.value_span, problems)
        if value is not None:
            layouts[program.source.name] = value
    return layouts, problems


def _word(value: str, span, problems: list[Diagnostic]) -> str | None:
    if value in LAYOUTS:
        return value
    close = value.lower() if value.lower() in LAYOUTS else \
        next(iter(close_matches(value, LAYOUTS, n=1, cutoff=0.5)), None)
    hint = f"did you mean '{close}'? " if close else ""
    problems.append(Diagnostic("error", f"layout must be chw or hwc, got '{value}'", span,
                               hint=hint + "hwc reads shapes channels last (227x227x3), chw channels first "
                                           "(3x227x227, the default)",
                               fix=Fix(span, close) if close else None))
    return None


def layout_value(kw: ast.Kwarg, evaluate) -> str:
    """The value of `layout=` on an input. Raises ValueProblem (`layout=HWC`, `layout="hwc"`)."""
    expr = kw.value
    value = Word(expr.id) if isinstance(expr, ast.Name) else evaluate(expr)
    if isinstance(value, Word) and value.lower() in LAYOUTS and value not in LAYOUTS:
        raise ValueProblem(f"layout must be chw or hwc, got '{value}'", hint=f"in lower case: layout={value.lower()}",
                           fix=value.lower())
    return coerce_word(value, "layout", LAYOUTS)


def looks_channels_last(shape: tuple[int, ...]) -> bool:
    """A last axis of 1-4 after larger ones, and a first axis too large to be
    colour channels: `224x224x3`, `28x28x1`, `128x3` (not `3x224x224`, `16x4x4`)."""
    if len(shape) < 2 or not 1 <= shape[-1] <= _MOST_CHANNELS or shape[0] <= _MOST_CHANNELS:
        return False
    return all(d > shape[-1] for d in shape[:-1])


def channels_last_warning(shape: tuple[int, ...], shape_expr) -> tuple[str, list[str], str, Fix | None]:
    """The message, notes, hint and fix for an input shape that looks channels-last."""
    written = dims_text(shape)
    rank = len(shape) - 1
    chw = dims_text(channels_first(shape))
    spatial = dims_text(shape[1:])
    what = f"length {spatial}" if rank == 1 else spatial
    text = shape_expr.span.text()
    fix = Fix(shape_expr.span, f"{text} layout=hwc") if text else None
    return (f"input {written} looks channels-last ({_AXES.get(rank, 'channels last')}), but shapes are read "
            f"channels first", [f"read as {shape[0]} channels of {what}"],
            f"if it is {_AXES.get(rank, 'channels last')}, write `input {written} layout=hwc` (or `layout hwc` at "
            f"the top of the file, for every shape in it); channels first it is `input {chw}`", fix)


__all__ = ["CODE", "as_written", "channels_first", "channels_last_warning", "file_layouts",
           "layout_value", "looks_channels_last", "read_shape"]
