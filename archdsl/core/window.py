"""Sliding-window arithmetic, in exactly one place.

PyTorch's rule, per axis, with total padding P = before + after and the
effective kernel F' = D(F - 1) + 1:

    out = floor((W + P - F') / S) + 1          (ceil in ceil mode)

In ceil mode PyTorch drops the last window when it would start inside the
right padding: if (out - 1) * S >= W + before then out -= 1. Ceil mode also
accepts a window wider than the padded input: ceil(span / S) + 1 is then 1
for any span in (-S, 0], exactly as PyTorch computes it.

Caffe's pooling rounds up like ceil mode but drops that last window only when
the padding is not zero (pooling_layer.cpp), so `round=caffe` differs from
PyTorch's ceil mode exactly when pad = 0 and the last window would start at or
past the end of the input.

`p=same` follows TensorFlow/Keras for any stride: out = ceil(W / S), the total
padding max((out - 1) * S + F' - W, 0), split with the extra pixel after.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from fractions import Fraction


def effective_kernel(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


ROUNDINGS = ("floor", "ceil", "caffe")


def output_size(size: int, kernel: int, stride: int, before: int, after: int,
                dilation: int = 1, rounding: str = "floor") -> int:
    """Output length of one axis; may be <= 0, which callers report as an error.
    `rounding` is floor, ceil (PyTorch's ceil_mode) or caffe."""
    span = size + before + after - effective_kernel(kernel, dilation)
    if rounding == "floor":
        return span // stride + 1  # floor, also for a negative span: PyTorch's div_rtn
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + before and (rounding == "ceil" or before or after):
        out -= 1
    return out


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding for one axis as (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def exact_output(size: int, kernel: int, stride: int, pad_total: int, dilation: int = 1) -> Fraction:
    """(W + P - F') / S + 1 before rounding, to show the arithmetic."""
    from fractions import Fraction  # for messages and explain: fractions costs start-up
    return Fraction(size + pad_total - effective_kernel(kernel, dilation), stride) + 1


def arithmetic(size: int, kernel: int, stride: int, pad_total: int, dilation: int = 1,
               rounding: str = "floor") -> str:
    """The lecture formula with numbers filled in: `(224 - 11 + 0)/4 + 1 = 54.25`;
    in ceil mode with the rounding shown: `ceil((2 - 5 + 0)/2) + 1 = 0`."""
    f = effective_kernel(kernel, dilation)
    value = exact_output(size, kernel, stride, pad_total, dilation)
    if rounding != "floor" and value.denominator != 1:
        up = -(-(size + pad_total - f) // stride) + 1
        return f"ceil(({size} - {f} + {pad_total})/{stride}) + 1 = {up}"
    return f"({size} - {f} + {pad_total})/{stride} + 1 = {format_fraction(value)}"


def format_fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.4f}".rstrip("0")
    return text


def dropped_pixels(size: int, kernel: int, stride: int, before: int, after: int,
                   dilation: int = 1) -> int:
    """How many real input pixels at the end of an axis no window ever covers.

    Only meaningful when windows tile without gaps (F' >= S); a leftover that
    falls in the padding is harmless (torchvision's ResNet stem has one)."""
    f = effective_kernel(kernel, dilation)
    if f < stride:
        return 0
    leftover = (size + before + after - f) % stride
    return max(leftover - after, 0)
