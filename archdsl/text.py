"""Presentation text, in one place: sizes, shapes, per-axis values, counts,
bytes and axis names, as tables, messages, diagrams and generated code write
them. Everything that turns a figure into text for a person comes from here,
so a `3x224x224` or a `25.6M` reads the same in every output."""
from __future__ import annotations

from enum import StrEnum

TIMES = "\u00d7"  # the multiplication sign: on slides, where an x looks like a letter

# The spatial axes by rank, in CxHxW order after the channels.
AXIS_LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
class Layout(StrEnum):
    """How shapes are written: PyTorch's CxHxW, or the lecture tables' HxWxC."""

    CHW = "chw"
    HWC = "hwc"


LAYOUTS = tuple(Layout)

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_COUNT_SUFFIXES = ("", "K", "M", "G", "T", "P", "E")


def dims_text(values, sep: str = "x") -> str:
    """`3x224x224`: every value, joined."""
    return sep.join(str(v) for v in values)


def axes_text(values, sep: str = "x") -> str:
    """`4` when every axis agrees, `1x7` when they differ."""
    values = tuple(values)
    if len(set(values)) == 1:
        return str(values[0])
    return dims_text(values, sep)


def channels_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    """CxHxW -> HxWxC (a flat vector, and tokens, whose features are already last, stay as they are)."""
    return (*shape[1:], shape[0]) if len(shape) > 1 and not getattr(shape, "is_tokens", False) else tuple(shape)


def shape_text(shape, layout: str = "chw", sep: str = "x") -> str:
    """`96x55x55` (chw) or `55x55x96` (hwc, as the lecture tables write it); `?` when unknown."""
    if shape is None:
        return "?"
    return dims_text(channels_last(shape) if layout == "hwc" else shape, sep)


def axes_header(layout: str, rank: int) -> str | None:
    """`CxHxW` (or `HxWxC`) for a map of this spatial rank; None for a flat vector."""
    axes = AXIS_LETTERS.get(rank)
    if axes is None:
        return None
    return "x".join((*axes, "C") if layout == "hwc" else ("C", *axes))


def count_text(n: float) -> str:
    """Three significant figures with K/M/G/T/P/E: 34,944 -> `34.9K`, 4,089,184,256 -> `4.09G`;
    below 1,000 the number itself."""
    if n < 1000:
        return f"{n:g}" if isinstance(n, float) else str(n)
    tier = 0
    value = float(n)
    while value >= 999.5 and tier < len(_COUNT_SUFFIXES) - 1:
        value /= 1000
        tier += 1
    digits = 2 if value < 9.995 else 1 if value < 99.95 else 0
    return f"{value:.{digits}f}{_COUNT_SUFFIXES[tier]}"


def count_with_rounding(n: int) -> str:
    """`4,089,184,256 (4.09G)`; just `144` when the rounding would repeat it."""
    exact, rounded = f"{n:,}", count_text(n)
    return exact if rounded == str(n) else f"{exact} ({rounded})"


def human_bytes(n: float) -> str:
    """1,536 -> `1.50 KiB` (binary units, as memory is allocated)."""
    for unit in _BYTE_UNITS:
        if n < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def join_words(words, last: str = "or") -> str:
    """`a, b or c`."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {last} " + words[-1]


def close_matches(word: str, options, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """difflib.get_close_matches, imported only once a did-you-mean is written:
    difflib is a fiftieth of `archdsl check`'s start-up."""
    from difflib import get_close_matches
    return get_close_matches(word, options, n=n, cutoff=cutoff)


def wrap_words(words, width: int) -> list[str]:
    """`words` joined by spaces in lines of at most `width` characters, broken
    between words only (a word longer than `width` stands on its own line).
    textwrap.wrap would also split hyphenated words, and importing it compiles
    regexes that every table would pay for."""
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines
