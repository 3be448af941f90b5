"""Layer descriptions in lecture notation, shared by both diagram styles.

"conv 96, 11x11 /4" reads the way a lecturer writes it on the board: the
output channels, the kernel, then only what differs from the default (stride,
padding, dilation, groups). Dispatch is by op class, not by name."""
from __future__ import annotations

from archdsl import text
from archdsl.core.ir import Node
from archdsl.core.ops.activation import Activation, Softmax
from archdsl.core.ops.conv import Conv
from archdsl.core.ops.dense import Embedding, Flatten, Linear
from archdsl.core.ops.norm import (
    BatchNorm,
    Dropout,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    LayerScale,
    LocalResponseNorm,
    StochasticDepth,
)
from archdsl.core.ops.pool import AdaptivePool, GlobalPool, Pool
from archdsl.core.ops.resample import Crop, Pad, Upsample
from archdsl.core.ops.reshape import Permute, Reshape, Shuffle, Split
from archdsl.core.ops.structure import Add, Concat, Identity, Input, Merge, Mul
from archdsl.core.ops.transposed import ConvTranspose
from archdsl.core.ops.windowed import Window
from archdsl.text import TIMES, count_text


def shape_text(shape, layout: str = "chw") -> str:
    """`96×55×55`; `?` when unknown."""
    return text.shape_text(shape, layout, TIMES)


def _axes(values: tuple[int, ...]) -> str:
    """`4` when every axis agrees, `1×2×2` when they differ (× as in the shapes)."""
    return text.axes_text(values, TIMES)


def _window(w: Window) -> list[str]:
    parts = [text.dims_text(w.kernel, TIMES)]
    if any(s != 1 for s in w.stride):
        parts.append(f"/{_axes(w.stride)}")
    if w.same:
        parts.append("same")
    else:
        before = tuple(pb for pb, _ in w.padding)
        if any(before):
            parts.append(f"p{_axes(before)}")
    if any(d != 1 for d in w.dilation):
        parts.append(f"d{_axes(w.dilation)}")
    return parts


def _conv(op: Conv) -> str:
    extras = _window(op.window)
    if op.groups != 1:
        extras.append("depthwise" if op.groups == op.in_channels else f"g{op.groups}")
    return f"conv {op.out_channels}, " + " ".join(extras)


def _pool(op: Pool) -> str:
    extras = _window(op.window) + {"floor": [], "ceil": ["ceil"], "caffe": ["caffe"]}[op.rounding]
    return f"{op.mode}pool " + " ".join(extras)


def _global(op: GlobalPool) -> str:
    return f"global {op.mode}pool"


def _adaptive(op: AdaptivePool) -> str:
    return f"adaptive {op.mode}pool \u2192 {_axes(op.output_size)}"


def _linear(op: Linear) -> str:
    return f"fc {op.out_features}"


def _lrn(op: LocalResponseNorm) -> str:
    return f"lrn {op.size}"


def _dropout(op: Dropout) -> str:
    return f"dropout {op.p:g}"


def _bn(op: BatchNorm) -> str:
    return "batchnorm"


def _act(op: Activation) -> str:
    return op.kind if op.param is None or not op.attrs else f"{op.kind} {op.param:g}"


def _keyword(op) -> str:
    return op.kind


def _convtranspose(op) -> str:
    parts = [text.dims_text(op.kernel, TIMES)]
    if any(s != 1 for s in op.stride):
        parts.append(f"\u2191{_axes(op.stride)}")  # the upsampling factor
    if any(op.padding):
        parts.append(f"p{_axes(op.padding)}")
    return f"convtranspose {op.out_channels}, " + " ".join(parts)


def _upsample(op) -> str:
    what = f"{TIMES}{op.scale:g}" if op.scale is not None else f"\u2192 {_axes(op.size)}"
    return f"upsample {what} {op.mode}"


def _with(label):
    """A rule that writes the kind's word and its table text: `groupnorm g32`."""
    return lambda op: f"{label} {op.hyper()}".strip()


# The lecture notation of every layer kind, looked up along the op's class
# hierarchy; tests/test_registry.py checks that every kind has an entry.
RULES = {
    Conv: _conv, Pool: _pool, GlobalPool: _global, AdaptivePool: _adaptive,
    Linear: _linear, LocalResponseNorm: _lrn, Dropout: _dropout, BatchNorm: _bn,
    Activation: _act, Softmax: _keyword, Flatten: _keyword, Identity: _keyword, Input: lambda op: "input",
    Merge: _keyword, ConvTranspose: _convtranspose, Upsample: _upsample,
    Crop: lambda op: f"crop \u2192 {text.dims_text(op.size, TIMES)}", Pad: _with("pad"),
    Embedding: lambda op: f"embedding {op.vocab:,} \u2192 {op.dim}", LayerNorm: _keyword, GroupNorm: _with("groupnorm"),
    InstanceNorm: _keyword, LayerScale: _keyword, StochasticDepth: lambda op: f"stochastic depth {op.p:g}",
    Reshape: lambda op: f"reshape \u2192 {text.dims_text(op.shape, TIMES)}", Permute: _with("permute"),
    Shuffle: lambda op: f"shuffle g{op.groups}", Split: lambda op: f"split {op.start}:{op.stop}",
}

from archdsl.backends.render.notation_tokens import TOKEN_RULES  # noqa: E402

RULES.update(TOKEN_RULES)

# How a merge is drawn where its branches meet.
GLYPHS = {Add: "+", Concat: "C", Mul: TIMES}


def rule_for(cls: type):
    """The notation rule of a layer kind, or None."""
    return next((RULES[c] for c in cls.__mro__ if c in RULES), None)


def describe(node: Node) -> str:
    """The op and its hyper-parameters, e.g. `conv 96, 11×11 /4`, `maxpool 3×3 /2`."""
    op = node.op
    if op is None:
        return f"{node.keyword} (invalid)"
    rule = rule_for(type(op))
    return rule(op) if rule is not None else node.keyword


def family(node: Node) -> str:
    return node.op.family if node.op is not None else "other"


def params_text(n: int) -> str:
    return f"{count_text(n)} params"
