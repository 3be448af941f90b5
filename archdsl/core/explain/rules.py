"""How each layer kind's figures are derived, as the lecture notes derive
them: one function per kind, in a table keyed by the op class (looked up
along the class hierarchy, so `Activation` covers every activation).
tests/test_explain.py fails for a kind without an entry, and checks that
every derivation's results equal the analysis.

The window arithmetic follows archdsl/core/window.py exactly, including the
cases notes usually skip: ceil mode's dropped last window, Caffe's rounding,
TensorFlow's `same`, PyTorch's `half`, dilation and transposed convolution.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

from archdsl.core import window as W
from archdsl.core.explain.steps import Step, Topic
from archdsl.core.explain.terms import (
    Call,
    Num,
    Paren,
    Product,
    Ratio,
    Round,
    Sum,
    Term,
    V,
    integer,
    number_text,
    product,
    total,
)
from archdsl.core.explain.token_rules import TOKEN_RULES
from archdsl.core.ir import Node
from archdsl.core.ops import activation, conv, dense, norm, pool, resample, reshape, structure, transposed
from archdsl.core.ops.windowed import Window
from archdsl.text import AXIS_LETTERS, AXIS_NAMES, TIMES, join_words, shape_text

Rule = Callable[[Node], list[Step]]


def tight(*factors) -> Term:
    """`2·P`: a coefficient inside a formula, written without spaces."""
    return Product(tuple(f if isinstance(f, Term) else Num(f) for f in factors))


def _letters(rank: int) -> tuple[str, ...]:
    return AXIS_LETTERS.get(rank, tuple(f"X{i}" for i in range(rank)))


def axis_groups(values: list[tuple]) -> list[tuple[tuple[int, ...], tuple]]:
    """Axes that compute the same thing, together: [((0, 1), params)] for a
    square layer on a square map, one group per axis otherwise."""
    groups: dict[tuple, list[int]] = {}
    for i, v in enumerate(values):
        groups.setdefault(v, []).append(i)
    return [(tuple(ix), v) for v, ix in groups.items()]


def _axes_words(rank: int, axes: tuple[int, ...]) -> str:
    names = AXIS_NAMES.get(rank, ())
    return join_words([names[i] for i in axes], "and") if names else ""


def _label(quantity: str, rank: int, axes: tuple[int, ...], groups: int) -> tuple[str, str]:
    """`out` when one computation gives every axis, else `out H` (LaTeX `\\text{out}_H`)."""
    if groups == 1:
        return quantity, ""
    letters = "".join(_letters(rank)[i] for i in axes)
    return f"{quantity} {letters}", rf"\text{{{quantity}}}_{{{letters}}}"


def _size_symbol(rank: int, axes: tuple[int, ...], groups: int) -> str:
    """W for the input size when every axis agrees (the notes' W), else the axis letter."""
    return "W" if groups == 1 else _letters(rank)[axes[0]]


# -- the sliding window: conv and pooling -------------------------------------------------

_FLOOR = "conv and pooling (PyTorch): (W − F + 2P)/S + 1, rounded down when it is not whole"
_CEIL = "ceil mode (PyTorch): ⌈(W − F + 2P)/S⌉ + 1, less one if the last window would start in the right padding"
_CAFFE = ("round=caffe: ⌈(W − F + 2P)/S⌉ + 1, less one if the last window would start in the padding "
          "and the layer is padded (Caffe keeps it when unpadded)")

def window_steps(node: Node, w: Window, rounding: str = "floor") -> list[Step]:
    """Output size per axis (group): the effective kernel, `same`/`half`
    padding, the rounding and ceil mode's last-window rule."""
    in_shape = node.in_shapes[0]
    rank = len(in_shape) - 1
    rounding = "floor" if w.same else rounding
    values = [(n, k, s, pb, pa, d) for n, k, s, (pb, pa), d in
              zip(in_shape[1:], w.kernel, w.stride, w.padding, w.dilation, strict=True)]
    groups = axis_groups(values)
    half = not w.same and _written_half(node)
    steps: list[Step] = []
    for axes, (n, k, s, pb, pa, d) in groups:
        words = _axes_words(rank, axes)
        size = V(_size_symbol(rank, axes, len(groups)), n)
        quantity, tex = _label("out", rank, axes, len(groups))
        letter = _letters(rank)[axes[0]] if len(set(w.kernel)) > 1 else ""
        kernel = V(f"F{letter}", k, f"F_{letter}" if letter else "F")
        if d != 1:
            eff = Step(Topic.RULE, "F'", tight(V("D", d), Paren(kernel - 1)) + 1, axes=words,
                       rule="dilation spreads the kernel: the effective size is D(F − 1) + 1", tex="F'")
            steps.append(eff)
            kernel = V("F'", eff.result, "F'")
        dims = tuple(1 + a for a in axes)
        if w.same:
            steps += _same_steps(size, kernel, s, pb, pa, quantity, tex, words, dims)
            continue
        if half:
            steps.append(Step(Topic.RULE, "P", tight(Round(Ratio(V("F", k) - 1, Num(2))), V("D", d)),
                              axes=words, rule="p=half: (F − 1)//2·D on both sides, as torchvision writes it"))
        pad = tight(2, V("P", pb)) if pb == pa else Sum(((1, V("P_b", pb, "P_b")), (1, V("P_a", pa, "P_a"))))
        span = size - kernel + pad
        steps += _rounded(span, V("S", s), n, s, pb, pa, W.effective_kernel(k, d), rounding, quantity, tex,
                          words, dims)
    return steps


def _written_half(node: Node) -> bool:
    text = node.span.text() or ""
    return re.search(r"\b(p|pad|padding)\s*=\s*half\b", text) is not None


def _same_steps(size, kernel, s, pb, pa, quantity, tex, words, dims) -> list[Step]:
    out = Step(Topic.SHAPE, quantity, Round(size / V("S", s), up=True), axes=words, tex=tex, dims=dims,
               rule="p=same (TensorFlow's rule): the output is ⌈W/S⌉ whatever the kernel")
    pad = Step(Topic.RULE, "P", Call("max", (tight(Paren(V("out", out.result, r"\text{out}") - 1), V("S", s))
                                             + kernel - size, Num(0))), axes=words,
               note=f"the total padding that gives it: {pb} before and {pa} after "
                    "(an odd pixel goes after, as in TensorFlow)")
    return [out, pad]


def _rounded(span: Term, stride: V, n, s, pb, pa, f, rounding, quantity, tex, words, dims) -> list[Step]:
    exact = span.value() / s + 1
    whole = exact.denominator == 1
    if rounding == "floor":
        term = (span / stride + 1) if whole else (Round(span / stride) + 1)
        note = ""
        if not whole:
            dropped = W.dropped_pixels(n, f, s, pb, pa, 1)
            lost = ("; the window is narrower than the stride, so pixels between windows are skipped anyway"
                    if f < s else f"; the last {dropped} pixels are never seen by any window" if dropped > 1 else
                    "; the last pixel is never seen by any window" if dropped else
                    "; what is left over falls in the padding")
            note = f"{number_text(exact)} is not whole: PyTorch rounds down" + lost
        return [Step(Topic.SHAPE, quantity, term, axes=words, tex=tex, dims=dims, note=note, rule=_FLOOR)]
    up = Step(Topic.SHAPE, quantity, Round(span / stride, up=True) + 1, axes=words, tex=tex, dims=dims,
              note="" if whole else "ceil mode rounds up: the last window hangs over the edge",
              rule=_CEIL if rounding == "ceil" else _CAFFE)
    start = (up.result - 1) * s
    padded = bool(pb or pa)
    who = "PyTorch" if rounding == "ceil" else "Caffe"
    if start >= n + pb and (rounding == "ceil" or padded):
        why = "" if rounding == "ceil" else ", as Caffe does when the layer is padded"
        return [up, Step(Topic.SHAPE, quantity, V("out", up.result, r"\text{out}") - 1, axes=words, tex=tex,
                         dims=dims, symbolic=False,
                         note=f"the last window would start at (out − 1)·S = {start} ≥ W + P_b = {n + pb}, "
                              f"in the padding: {who} drops it{why}")]
    if start >= n + pb and rounding == "caffe":
        note = (f"the last window starts at (out − 1)·S = {start} ≥ W = {n}, past the input; Caffe keeps it "
                "when the layer has no padding (PyTorch's ceil mode would drop it)")
        up = Step(up.topic, up.quantity, up.term, axes=words, tex=tex, dims=dims, note=note, rule=up.rule)
    return [up]


def _conv_factors(c_in: int, groups: int, kernel: tuple[int, ...]) -> list[Term]:
    """C (or C/g) and the kernel's sizes, as the weights of one filter."""
    channels = V("C", c_in) if groups == 1 else Paren(Ratio(V("C", c_in), V("g", groups)))
    letters = _letters(len(kernel))
    same = len(set(kernel)) == 1
    sizes = [V("F", k) if same else V(f"F{letters[i]}", k, f"F_{letters[i]}") for i, k in enumerate(kernel)]
    return [channels, *sizes]


def _primes(shape: tuple[int, ...]) -> list[Term]:
    letters = _letters(len(shape) - 1)
    return [V(f"{a}'", v, f"{a}'") for a, v in zip(letters, shape[1:], strict=True)]


def conv_steps(node: Node) -> list[Step]:
    op: conv.Conv = node.op
    steps = window_steps(node, op.window)
    out = node.shape
    steps.append(Step(Topic.SHAPE, "C'", given=op.out_channels, dims=(0,), symbolic=False,
                      rule="one output channel per filter: C' = K"))
    weights = product(*_conv_factors(op.in_channels, op.groups, op.window.kernel))
    params = product(V("K", op.out_channels), Paren(weights) if isinstance(weights, Product) else weights)
    if op.bias:
        params = params + V("K", op.out_channels)
    depthwise = " (depthwise: one input channel per filter)" if op.groups == op.in_channels > 1 else ""
    steps.append(Step(Topic.PARAMS, "params", params, note=depthwise.strip(" ()") if depthwise else
                      ("" if op.bias else "no bias"),
                      rule="K filters of C/g·F·F weights (g groups), plus one bias each when bias=true"))
    macs = product(V("K", op.out_channels), *_primes(out), *_conv_factors(op.in_channels, op.groups,
                                                                         op.window.kernel))
    steps.append(Step(Topic.MACS, "MACs", macs,
                      rule="one multiply-accumulate per weight per output pixel (bias adds not counted)"))
    return steps


def pool_steps(node: Node) -> list[Step]:
    op: pool.Pool = node.op
    steps = window_steps(node, op.window, op.rounding)
    steps.append(Step(Topic.SHAPE, "C'", given=op.channels, dims=(0,), symbolic=False,
                      rule="pooling works on every channel alone: C is kept; no parameters, and pooling "
                           "is not counted in MACs"))
    return steps


def convtranspose_steps(node: Node) -> list[Step]:
    op: transposed.ConvTranspose = node.op
    in_shape = node.in_shapes[0]
    rank = len(in_shape) - 1
    values = list(zip(in_shape[1:], op.kernel, op.stride, op.padding, op.output_padding, op.dilation,
                      strict=True))
    groups = axis_groups(values)
    steps: list[Step] = []
    for axes, (n, k, s, p, o, d) in groups:
        quantity, tex = _label("out", rank, axes, len(groups))
        size = V(_size_symbol(rank, axes, len(groups)), n)
        grow = tight(Paren(size - 1), V("S", s)) - tight(2, V("P", p))
        if d == 1 and o == 0:
            term = grow + V("F", k)
            note = "D = 1 and no output padding"
        else:
            term = grow + tight(V("D", d), Paren(V("F", k) - 1)) + V("op", o, r"\mathit{op}") + 1
            note = ""
        steps.append(Step(Topic.SHAPE, quantity, term, axes=_axes_words(rank, axes), tex=tex,
                          dims=tuple(1 + a for a in axes), note=note,
                          rule="transposed convolution (PyTorch's rule): (W − 1)·S − 2P + D(F − 1) "
                               "+ output_padding + 1"))
    steps.append(Step(Topic.SHAPE, "C'", given=op.out_channels, dims=(0,), symbolic=False))
    same = len(set(op.kernel)) == 1
    letters = _letters(rank)
    sizes = [V("F", k) if same else V(f"F{letters[i]}", k, f"F_{letters[i]}") for i, k in enumerate(op.kernel)]
    per = V("K", op.out_channels) if op.groups == 1 else Paren(Ratio(V("K", op.out_channels), V("g", op.groups)))
    params = product(V("C", op.in_channels), Paren(product(per, *sizes)))
    if op.bias:
        params = params + V("K", op.out_channels)
    steps.append(Step(Topic.PARAMS, "params", params,
                      rule="transposed convolution: weights C × K/g × F × F (PyTorch's layout), plus one bias "
                           "per output channel when bias=true"))
    ins = [V(a, v) for a, v in zip(letters, in_shape[1:], strict=True)]
    steps.append(Step(Topic.MACS, "MACs", product(V("C", op.in_channels), *ins, per, *sizes),
                      rule="transposed convolution: every input pixel scatters K/g·F·F products into the output"))
    return steps


# -- vectors --------------------------------------------------------------------------------

def linear_steps(node: Node) -> list[Step]:
    op: dense.Linear = node.op
    fin, fout = V("F_in", op.in_features, r"F_{\text{in}}"), V("F_out", op.out_features, r"F_{\text{out}}")
    params = product(fin, fout) + fout if op.bias else product(fin, fout)
    if op.positions:  # on tokens: the same weights on every token, features last
        count = math.prod(op.positions)
        return [
            Step(Topic.SHAPE, "out", given=op.out_features, dims=(len(op.positions),), symbolic=False,
                 note=f"on each of {count:,} tokens, as nn.Linear on the last axis"),
            Step(Topic.PARAMS, "params", params, note="" if op.bias else "no bias",
                 rule="fc: a weight from every input to every output, plus one bias per output when bias=true"),
            Step(Topic.MACS, "MACs", product(V("L", count), fin, fout),
                 rule="fc on tokens: one multiply-accumulate per weight and token"),
        ]
    return [
        Step(Topic.SHAPE, "out", given=op.out_features, dims=(0,), symbolic=False),
        Step(Topic.PARAMS, "params", params, note="" if op.bias else "no bias",
             rule="fc: a weight from every input to every output, plus one bias per output when bias=true"),
        Step(Topic.MACS, "MACs", product(fin, fout), rule="fc: one multiply-accumulate per weight"),
    ]


def flatten_steps(node: Node) -> list[Step]:
    shape = node.in_shapes[0]
    if len(shape) == 1:
        return [_kept("already flat: nothing changes")]
    letters = ("C", *_letters(len(shape) - 1))
    return [Step(Topic.SHAPE, "features", product(*(V(a, v) for a, v in zip(letters, shape, strict=True))),
                 dims=(0,), rule="flatten: C·H·W features, channel-major as PyTorch (channel 0's map first)")]


def embedding_steps(node: Node) -> list[Step]:
    op: dense.Embedding = node.op
    return [
        Step(Topic.SHAPE, "out", given=f"{op.dim}{TIMES}{node.in_shapes[0][0]}", symbolic=False,
             rule="embedding: D×L, one D-vector per token id, channels first for convolutions over the sequence"),
        Step(Topic.PARAMS, "params", product(V("vocab", op.vocab, r"\text{vocab}"), V("D", op.dim)),
             rule="embedding: one learned D-vector per id; looking one up is no multiply-accumulate"),
    ]


# -- normalisation ---------------------------------------------------------------------------

def _two_per_channel(channels: int, what: str) -> Step:
    return Step(Topic.PARAMS, "params", tight(2, V("C", channels)), rule=what)


def batchnorm_steps(node: Node) -> list[Step]:
    op: norm.BatchNorm = node.op
    steps = [_kept("normalises each channel over the batch and positions: the shape is kept")]
    if op.affine:
        steps.append(_two_per_channel(op.channels, "bn: a scale γ and a shift β per channel"))
    steps.append(Step(Topic.BUFFERS, "buffers", tight(2, V("C", op.channels)),
                      rule="bn: running mean and variance per channel (PyTorch's num_batches_tracked not counted)"))
    return steps


def layernorm_steps(node: Node) -> list[Step]:
    op: norm.LayerNorm = node.op
    steps = [_kept("normalises the channels at every position: the shape is kept")]
    if op.affine:
        steps.append(_two_per_channel(op.channels, "layernorm: a scale and a shift per channel"))
    return steps


def groupnorm_steps(node: Node) -> list[Step]:
    op: norm.GroupNorm = node.op
    steps = [_kept("normalises each group of channels over its channels and positions"),
             Step(Topic.RULE, "C/g", Ratio(V("C", op.channels), V("g", op.groups)), tex="C/g",
                  rule="groupnorm: C/g channels per group")]
    if op.affine:
        steps.append(_two_per_channel(op.channels, "groupnorm: a scale and a shift per channel"))
    return steps


def instancenorm_steps(node: Node) -> list[Step]:
    op: norm.InstanceNorm = node.op
    steps = [_kept("normalises each channel of each sample over its positions")]
    if op.affine:
        steps.append(_two_per_channel(op.channels, "instancenorm: a scale and a shift per channel"))
    if op.running:
        steps.append(Step(Topic.BUFFERS, "buffers", tight(2, V("C", op.channels)),
                          rule="instancenorm: running mean and variance per channel"))
    return steps


def layerscale_steps(node: Node) -> list[Step]:
    op: norm.LayerScale = node.op
    return [_kept("scales each channel"), Step(Topic.PARAMS, "params", V("C", op.channels),
                                                 rule="layerscale: one learned scale per channel")]


def _kept(note: str) -> Step:
    return Step(Topic.SHAPE, "out", given="in", symbolic=False, note=note)


def pointwise_steps(note: str) -> Rule:
    return lambda node: [_kept(note)]


# -- pooling to a size, resizing, rearranging -----------------------------------------------------

def global_pool_steps(node: Node) -> list[Step]:
    op: pool.GlobalPool = node.op
    return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                 note=f"global {op.mode} pooling: each channel's whole map becomes one value")]


def adaptive_pool_steps(node: Node) -> list[Step]:
    op: pool.AdaptivePool = node.op
    shape = node.in_shapes[0]
    rank = len(shape) - 1
    steps = [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                  note="adaptive pooling gives the size asked for, whatever the input")]
    groups = axis_groups(list(zip(shape[1:], op.output_size, strict=True)))
    for axes, (n, o) in groups:
        quantity, tex = _label("window", rank, axes, len(groups))
        if n % o == 0:
            steps.append(Step(Topic.RULE, quantity, Ratio(V("W", n), V("o", o)), tex=tex,
                              rule="adaptive pooling, even windows: W/o pixels each, stride W/o"))
        else:
            widest = max(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))
            steps.append(Step(Topic.RULE, quantity, given=widest, symbolic=False, tex=tex,
                              note=f"uneven windows: window i spans ⌊i·W/o⌋ to ⌈(i + 1)·W/o⌉ "
                                   f"(W = {n}, o = {o}); the widest has {widest} pixels"))
    return steps


def upsample_steps(node: Node) -> list[Step]:
    op: resample.Upsample = node.op
    shape = node.in_shapes[0]
    rank = len(shape) - 1
    if op.scale is None:
        return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                     note=f"to the size asked for ({op.mode} interpolation)")]
    groups = axis_groups([(n,) for n in shape[1:]])
    steps = []
    scale = Fraction(op.scale).limit_denominator(10_000)
    for axes, (n,) in groups:
        quantity, tex = _label("out", rank, axes, len(groups))
        steps.append(Step(Topic.SHAPE, quantity, Round(tight(V(_size_symbol(rank, axes, len(groups)), n),
                                                             V("s", scale))),
                          axes=_axes_words(rank, axes), tex=tex, dims=tuple(1 + a for a in axes),
                          note=f"{op.mode} interpolation", rule="upsample: PyTorch's ⌊W·scale⌋"))
    return steps


def crop_steps(node: Node) -> list[Step]:
    op: resample.Crop = node.op
    shape = node.in_shapes[0]
    rank = len(shape) - 1
    steps = [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                  note="centre crop to the target size")]
    groups = axis_groups(list(zip(shape[1:], op.size, strict=True)))
    for axes, (n, t) in groups:
        quantity, tex = _label("offset", rank, axes, len(groups))
        steps.append(Step(Topic.RULE, quantity, Round(Ratio(V("W", n) - V("w", t), Num(2))), tex=tex,
                          rule="crop: (W − w)//2 pixels are cut before, the rest after"))
    return steps


def pad_steps(node: Node) -> list[Step]:
    op: resample.Pad = node.op
    shape = node.in_shapes[0]
    rank = len(shape) - 1
    groups = axis_groups(list(zip(shape[1:], op.padding, strict=True)))
    steps = []
    for axes, (n, (b, a)) in groups:
        quantity, tex = _label("out", rank, axes, len(groups))
        size = V(_size_symbol(rank, axes, len(groups)), n)
        term = size + tight(2, V("P", b)) if a == b else size + V("P_b", b, "P_b") + V("P_a", a, "P_a")
        steps.append(Step(Topic.SHAPE, quantity, term, axes=_axes_words(rank, axes), tex=tex,
                          dims=tuple(1 + i for i in axes), note=f"{op.mode} padding"))
    return steps


def reshape_steps(node: Node) -> list[Step]:
    shape = node.in_shapes[0]
    return [Step(Topic.SHAPE, "elements", product(*(Num(v) for v in shape)), symbolic=False,
                 note=f"the same elements in a new shape: {shape_text(node.shape)} (one −1 is inferred from them)")]


def permute_steps(node: Node) -> list[Step]:
    op: reshape.Permute = node.op
    letters = ("C", *_letters(len(node.in_shapes[0]) - 1))
    order = ", ".join(letters[i] for i in op.order)
    return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                 note=f"the axes reordered: ({', '.join(letters)}) → ({order})")]


def shuffle_steps(node: Node) -> list[Step]:
    op: reshape.Shuffle = node.op
    return [_kept("channel shuffle: channels regrouped, shape kept"),
            Step(Topic.RULE, "C/g", Ratio(V("C", node.in_shapes[0][0]), V("g", op.groups)), tex="C/g",
                 note="channels per group; the groups are interleaved")]


def split_steps(node: Node) -> list[Step]:
    op: reshape.Split = node.op
    return [Step(Topic.SHAPE, "C'", V("stop", op.stop, r"\text{stop}") - V("start", op.start, r"\text{start}"),
                 dims=(0,),
                 note=f"part {op.index + 1} of {op.count}: channels {op.start}:{op.stop} of {op.in_channels}")]


def concat_steps(node: Node) -> list[Step]:
    parts = [V(f"C{i + 1}", s[0], f"C_{i + 1}") for i, s in enumerate(node.in_shapes)]
    spatial = ("; every other axis agrees: " + shape_text(node.shape[1:])) if len(node.shape) > 1 else ""
    return [Step(Topic.SHAPE, "C'", total(*parts), dims=(0,), note="joined along channels" + spatial)]


def elementwise_steps(node: Node) -> list[Step]:
    op = node.op
    listed = ", ".join(shape_text(s) for s in node.in_shapes)
    what = "summed" if isinstance(op, structure.Add) else "multiplied"
    shapes = {tuple(s) for s in node.in_shapes}
    rule = "" if len(shapes) == 1 else "; shapes broadcast: each axis equal or 1 (as PyTorch)"
    return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                 note=f"inputs {listed} {what} element-wise{rule}")]


def input_steps(node: Node) -> list[Step]:
    return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                 rule="input: the shape without the batch")]


RULES: dict[type, Rule] = {
    structure.Input: input_steps,
    conv.Conv: conv_steps,
    transposed.ConvTranspose: convtranspose_steps,
    pool.Pool: pool_steps,
    pool.GlobalPool: global_pool_steps,
    pool.AdaptivePool: adaptive_pool_steps,
    dense.Linear: linear_steps,
    dense.Flatten: flatten_steps,
    dense.Embedding: embedding_steps,
    norm.BatchNorm: batchnorm_steps,
    norm.LayerNorm: layernorm_steps,
    norm.GroupNorm: groupnorm_steps,
    norm.InstanceNorm: instancenorm_steps,
    norm.LayerScale: layerscale_steps,
    norm.LocalResponseNorm: pointwise_steps("normalises across neighbouring channels: shape kept, no parameters"),
    norm.Dropout: pointwise_steps("zeroes activations while training: shape kept, no parameters"),
    norm.StochasticDepth: pointwise_steps("drops the branch while training: shape kept, no parameters"),
    activation.Activation: pointwise_steps("element-wise: shape kept, no parameters"),
    activation.Softmax: pointwise_steps("over the channels: shape kept, no parameters"),
    structure.Identity: pointwise_steps("passes its input through"),
    structure.Concat: concat_steps,
    structure.Add: elementwise_steps,
    structure.Mul: elementwise_steps,
    resample.Upsample: upsample_steps,
    resample.Crop: crop_steps,
    resample.Pad: pad_steps,
    reshape.Reshape: reshape_steps,
    reshape.Permute: permute_steps,
    reshape.Shuffle: shuffle_steps,
    reshape.Split: split_steps,
    **TOKEN_RULES,
}


def rule_for(cls: type) -> Rule | None:
    """The derivation of a kind, looked up along its class hierarchy."""
    return next((RULES[c] for c in cls.__mro__ if c in RULES), None)


__all__ = ["RULES", "Rule", "rule_for", "window_steps", "axis_groups", "integer"]
