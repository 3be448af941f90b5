"""The kernel/stride/padding/dilation plumbing shared by convolution and pooling."""
from __future__ import annotations

from archdsl.core import window as W
from archdsl.core.ops.base import Lint, ShapeError, broadcast, require_spatial
from archdsl.core.shapes import Shape
from archdsl.records import dataclass
from archdsl.text import AXIS_NAMES, axes_text, dims_text, shape_text


@dataclass(frozen=True, slots=True)
class Window:
    """A resolved window per spatial axis: kernel, stride, padding (before, after), dilation."""
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (before, after) per axis
    dilation: tuple[int, ...]
    same: bool = False


def resolve_window(op: str, in_shape: Shape, kernel, stride, padding, dilation) -> Window:
    """Broadcast per-axis values to the input's rank and resolve `same`/`valid`."""
    rank = require_spatial(op, in_shape)
    k = broadcast(kernel, rank, "k")
    s = broadcast(stride if stride is not None else k, rank, "s")
    d = broadcast(dilation, rank, "d")
    if padding == "same":
        pads = tuple(W.same_padding(n, kk, ss, dd) for n, kk, ss, dd in zip(in_shape[1:], k, s, d, strict=True))
        return Window(k, s, pads, d, same=True)
    if padding == "valid":
        padding = (0,)
    if padding == "half":
        # PyTorch's symmetric padding, as torchvision writes it: (k - 1) // 2 * d.
        return Window(k, s, tuple(((kk - 1) // 2 * dd,) * 2 for kk, dd in zip(k, d, strict=True)), d)
    p = broadcast(padding, rank, "p")
    return Window(k, s, tuple((pp, pp) for pp in p), d)


def output_spatial(op: str, in_shape: Shape, w: Window, rounding: str = "floor") -> tuple[int, ...]:
    """Apply the window rule on every axis; a size below 1 is an error showing the arithmetic."""
    out = []
    axes = list(zip(in_shape[1:], w.kernel, w.stride, w.padding, w.dilation, strict=True))
    for n, k, s, (pb, pa), d in axes:
        size = W.output_size(n, k, s, pb, pa, d, "floor" if w.same else rounding)
        if size < 1:
            # Name every axis that fails the same way: "height and width", not just "height".
            names = [AXIS_NAMES[len(in_shape) - 1][i] for i, t in enumerate(axes)
                     if t == (n, k, s, (pb, pa), d)]
            name = " and ".join(names)
            eff = W.effective_kernel(k, d)
            raise ShapeError(
                f"{op} output {name} collapse{'s' if len(names) == 1 else ''} below 1",
                notes=[f"input is {shape_text(in_shape)}: "
                       f"{W.arithmetic(n, k, s, pb + pa, d, 'floor' if w.same else rounding)}"],
                hint=(f"the {eff}-wide window does not fit in {n}+{pb + pa} padded pixels; "
                      "use a smaller kernel, add padding, or drop a downsampling layer before this one"),
            )
        out.append(size)
    return tuple(out)


def window_lints(op: str, in_shape: Shape, w: Window, rounding: str = "floor",
                 fixes: str = "p=same") -> list[Lint]:
    """Warn when floor rounding silently drops real input pixels (AlexNet at 224).
    `fixes` names the options this layer kind has that avoid it."""
    if w.same or rounding != "floor":
        return []
    lints = []
    seen = set()
    for n, k, s, (pb, pa), d in zip(in_shape[1:], w.kernel, w.stride, w.padding, w.dilation, strict=True):
        dropped = W.dropped_pixels(n, k, s, pb, pa, d)
        if not dropped:
            continue
        key = (n, k, s, pb, pa, d)
        if key in seen:
            continue
        seen.add(key)
        names = AXIS_NAMES[len(in_shape) - 1]
        axes = zip(in_shape[1:], w.kernel, w.stride, w.padding, w.dilation, strict=True)
        same_axes = [names[i] for i, t in enumerate(axes) if (t[0], t[1], t[2], *t[3], t[4]) == key]
        exact = W.exact_output(n, k, s, pb + pa, d)
        lints.append(Lint(
            f"{op} output size is not whole: floor rounds {W.format_fraction(exact)} down to {int(exact)}",
            notes=(f"{' and '.join(same_axes)}: {W.arithmetic(n, k, s, pb + pa, d)}",
                   (f"the last {dropped} pixels of the input are never seen by any window" if dropped > 1
                    else "the last pixel of the input is never seen by any window")),
            hint=_fix_hint(n, k, s, pb + pa, d, fixes),
            code="not-whole",
        ))
    return lints


def _fix_hint(n: int, k: int, s: int, p: int, d: int, fixes: str) -> str:
    # Suggest the nearest input size that divides evenly.
    f = W.effective_kernel(k, d)
    smaller = n - (n + p - f) % s
    larger = smaller + s
    return f"an input of {smaller} or {larger} divides evenly, or use {fixes}"


def receptive_window(w: Window):
    return tuple(W.effective_kernel(k, d) for k, d in zip(w.kernel, w.dilation, strict=True)), w.stride, \
        tuple(pb for pb, _ in w.padding)


def window_text(w: Window, extras: list[str] = ()) -> str:
    parts = [dims_text(w.kernel), f"s{axes_text(w.stride)}"]
    if w.same:
        parts.append("same")
    else:
        before = tuple(pb for pb, _ in w.padding)
        parts.append(f"p{axes_text(before)}")
    if any(d != 1 for d in w.dilation):
        parts.append(f"d{axes_text(w.dilation)}")
    return ", ".join(parts + list(extras))
