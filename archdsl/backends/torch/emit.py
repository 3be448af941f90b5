"""What each layer kind compiles to: a submodule constructor (text) and the
expression `forward` evaluates. One emitter per op type, in a table keyed by
type, so adding a layer kind is one function here.

Placeholders in `call`: `{m}` is the submodule (`self.conv1`), `{x}` the input
variable, `{xs}` the inputs of a merge joined by `Emit.join` (", " unless
the merge says otherwise: " + " for a sum).

A kind without an emitter is a positioned error naming the layer, never a
KeyError; tests/test_registry.py checks that every kind has one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archdsl.core.ops import activation as act
from archdsl.core.ops import conv, dense, norm, pool, resample, reshape, structure, transposed
from archdsl.core.ops.windowed import Window


@dataclass(frozen=True, slots=True)
class Emit:
    module: str | None  # constructor expression, None when forward needs no submodule
    call: str
    uses_functional: bool = False  # needs `import torch.nn.functional as F`
    join: str = ", "  # between the inputs in `{xs}`
    helpers: tuple[str, ...] = ()  # definitions the file must carry (helpers.HELPERS)


def _axes(values: tuple[int, ...]) -> str:
    """`3` when every axis agrees, `(1, 7)` otherwise: what nn layers accept."""
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


def _float(value: float) -> str:
    return repr(float(value))


def _kwargs(pairs) -> str:
    return ", ".join(f"{k}={v}" for k, v in pairs)


def _pad_arg(window: Window) -> str:
    """F.pad's order: last axis first, (before, after) for each."""
    flat = [str(v) for before_after in reversed(window.padding) for v in before_after]
    return "(" + ", ".join(flat) + ")"


def _symmetric(window: Window) -> bool:
    return all(b == a for b, a in window.padding)


def _has_padding(window: Window) -> bool:
    return any(b or a for b, a in window.padding)


def emit_conv(op: conv.Conv, rank: int) -> Emit:
    w = op.window
    explicit = not _symmetric(w)  # TensorFlow 'same' with an odd total: the extra pixel goes after
    pairs = [("kernel_size", _axes(w.kernel))]
    if set(w.stride) != {1}:
        pairs.append(("stride", _axes(w.stride)))
    if not explicit and _has_padding(w):
        pairs.append(("padding", _axes(tuple(b for b, _ in w.padding))))
    if set(w.dilation) != {1}:
        pairs.append(("dilation", _axes(w.dilation)))
    if op.groups != 1:
        pairs.append(("groups", str(op.groups)))
    if not op.bias:
        pairs.append(("bias", "False"))
    module = f"nn.Conv{rank}d({op.in_channels}, {op.out_channels}, {_kwargs(pairs)})"
    if explicit:
        return Emit(module, f"{{m}}(F.pad({{x}}, {_pad_arg(w)}))", True)
    return Emit(module, "{m}({x})")


def _pool_fits(w: Window) -> bool:
    """nn pooling layers take symmetric padding of at most half the window."""
    return _symmetric(w) and all(b <= k // 2 for (b, _), k in zip(w.padding, w.kernel, strict=True))


def _caffe_window(op: pool.Pool) -> Window | None:
    """Where Caffe's rounding keeps a last window that PyTorch's ceil mode drops
    (or pads more than PyTorch allows): the same windows as explicit padding,
    with the extra pixels after, for a floor-mode PyTorch pool. None when
    ceil_mode already gives Caffe's figures."""
    from archdsl.core.window import output_size
    w = op.window
    pads, differs = [], False
    for n, k, s, (pb, pa) in zip(op.in_size, w.kernel, w.stride, w.padding, strict=True):
        caffe = output_size(n, k, s, pb, pa, 1, "caffe")
        differs |= caffe != output_size(n, k, s, pb, pa, 1, "ceil") or pb > k // 2
        pads.append((pb, max((caffe - 1) * s + k - (n + pb + pa), 0) + pa))
    return Window(w.kernel, w.stride, tuple(pads), w.dilation) if differs else None


def _emit_caffe_pool(op: pool.Pool, rank: int, w: Window) -> Emit:
    kind = "AvgPool" if op.mode == "avg" else "MaxPool"
    pairs = [("kernel_size", _axes(w.kernel))]
    if w.stride != w.kernel:
        pairs.append(("stride", _axes(w.stride)))
    module = f"nn.{kind}{rank}d({_kwargs(pairs)})"
    pads = _pad_arg(w)
    if op.mode == "max":
        return Emit(module, f"{{m}}(F.pad({{x}}, {pads}, value=float('-inf')))", True)
    if op.mode == "min":
        return Emit(module, f"-{{m}}(F.pad(-{{x}}, {pads}, value=float('-inf')))", True)
    # Caffe divides by the window clipped to the padded input: the mean of the
    # zero-padded input over the mean of a mask that is 1 inside the padding.
    inner = _pad_arg(op.window)
    extra = _pad_arg(Window(w.kernel, w.stride, tuple((0, a - pa) for (_, a), (_, pa)
                                                      in zip(w.padding, op.window.padding, strict=True)), w.dilation))
    # A window wholly past the input averages nothing: Caffe gives 0, and so does
    # the clamp (any window that counts a pixel has a mask mean of at least 1/k).
    mask = f"F.pad(F.pad(torch.ones_like({{x}}[:1, :1]), {inner}, value=1.0), {extra})"
    floor = 0.5 / math.prod(w.kernel)
    return Emit(module, f"{{m}}(F.pad({{x}}, {pads})) / {{m}}({mask}).clamp(min={floor!r})", True)


def emit_pool(op: pool.Pool, rank: int) -> Emit:
    if op.rounding == "caffe" and not op.window.same:
        caffe = _caffe_window(op)
        if caffe is not None:
            return _emit_caffe_pool(op, rank, caffe)
    w = op.window
    # AvgPool3d checks the *unpadded* input against the window; a 'same' 3-D
    # average pads first so a volume smaller than the window still works
    # (explicit padding with explicit `p` would change ceil mode's last-window rule,
    # so those stay native and the analysis reports what PyTorch refuses).
    explicit = not _pool_fits(w) or (rank == 3 and op.mode == "avg" and w.same and _has_padding(w))
    pairs = [("kernel_size", _axes(w.kernel))]
    if w.stride != w.kernel:
        pairs.append(("stride", _axes(w.stride)))
    if not explicit and _has_padding(w):
        pairs.append(("padding", _axes(tuple(b for b, _ in w.padding))))
    if op.mode != "avg" and set(w.dilation) != {1}:
        pairs.append(("dilation", _axes(w.dilation)))
    if op.ceil_mode and not w.same:
        pairs.append(("ceil_mode", "True"))
    if op.mode == "avg" and not explicit and _has_padding(w) and not op.include_pad:
        pairs.append(("count_include_pad", "False"))
    kind = "AvgPool" if op.mode == "avg" else "MaxPool"
    module = f"nn.{kind}{rank}d({_kwargs(pairs)})"
    pads = _pad_arg(w)
    if op.mode == "max":
        call = f"{{m}}(F.pad({{x}}, {pads}, value=float('-inf')))" if explicit else "{m}({x})"
    elif op.mode == "min":  # min pool = -maxpool(-x); the -inf padding of -x is +inf for x
        call = f"-{{m}}(F.pad(-{{x}}, {pads}, value=float('-inf')))" if explicit else "-{m}(-{x})"
    elif not explicit:
        call = "{m}({x})"
    elif op.include_pad:
        call = f"{{m}}(F.pad({{x}}, {pads}))"
    else:
        # Average over real pixels only (TensorFlow's 'same'): the mean of the
        # zero-padded input divided by the mean of a zero-padded ones mask.
        call = f"{{m}}(F.pad({{x}}, {pads})) / {{m}}(F.pad(torch.ones_like({{x}}[:1, :1]), {pads}))"
    return Emit(module, call, explicit)


def emit_global_pool(op: pool.GlobalPool, rank: int) -> Emit:
    kind = "AdaptiveAvgPool" if op.mode == "avg" else "AdaptiveMaxPool"
    return Emit(f"nn.{kind}{op.rank}d(1)", "{m}({x})")


def emit_adaptive_pool(op: pool.AdaptivePool, rank: int) -> Emit:
    kind = "AdaptiveAvgPool" if op.mode == "avg" else "AdaptiveMaxPool"
    return Emit(f"nn.{kind}{len(op.output_size)}d({_axes(op.output_size)})", "{m}({x})")


def emit_batchnorm(op: norm.BatchNorm, rank: int) -> Emit:
    pairs = []
    if op.eps != 1e-5:
        pairs.append(("eps", _float(op.eps)))
    if op.momentum != 0.1:
        pairs.append(("momentum", _float(op.momentum)))
    if not op.affine:
        pairs.append(("affine", "False"))
    extra = (", " + _kwargs(pairs)) if pairs else ""
    return Emit(f"nn.BatchNorm{max(op.rank, 1)}d({op.channels}{extra})", "{m}({x})")


def emit_lrn(op: norm.LocalResponseNorm, rank: int) -> Emit:
    pairs = [("alpha", _float(op.alpha)), ("beta", _float(op.beta)), ("k", _float(op.k))]
    # nn.LocalResponseNorm wants a spatial axis; on a flat vector it is one of length 1.
    call = "{m}({x})" if rank else "{m}({x}.unsqueeze(-1)).squeeze(-1)"
    return Emit(f"nn.LocalResponseNorm({op.size}, {_kwargs(pairs)})", call)


def emit_dropout(op: norm.Dropout, rank: int) -> Emit:
    return Emit(f"nn.Dropout({_float(op.p)})", "{m}({x})")


def emit_linear(op: dense.Linear, rank: int) -> Emit:
    bias = "" if op.bias else ", bias=False"
    return Emit(f"nn.Linear({op.in_features}, {op.out_features}{bias})", "{m}({x})")


def emit_flatten(op, rank: int) -> Emit:
    return Emit("nn.Flatten()", "{m}({x})")


def emit_identity(op, rank: int) -> Emit:
    return Emit("nn.Identity()", "{m}({x})")


def emit_softmax(op, rank: int) -> Emit:
    return Emit("nn.Softmax(dim=1)", "{m}({x})")


def emit_concat(op, rank: int) -> Emit:
    return Emit(None, "torch.cat([{xs}], 1)")


def emit_add(op, rank: int) -> Emit:
    return Emit(None, "{xs}", join=" + ")


_ACTIVATIONS = {
    act.ReLU: "ReLU", act.ReLU6: "ReLU6", act.Sigmoid: "Sigmoid", act.Tanh: "Tanh",
    act.GELU: "GELU", act.SiLU: "SiLU", act.Hardswish: "Hardswish", act.Hardsigmoid: "Hardsigmoid",
}


def emit_mul(op, rank: int) -> Emit:
    return Emit(None, "{xs}", join=" * ")


def emit_convtranspose(op: transposed.ConvTranspose, rank: int) -> Emit:
    pairs = [("kernel_size", _axes(op.kernel))]
    if set(op.stride) != {1}:
        pairs.append(("stride", _axes(op.stride)))
    if any(op.padding):
        pairs.append(("padding", _axes(op.padding)))
    if any(op.output_padding):
        pairs.append(("output_padding", _axes(op.output_padding)))
    if op.groups != 1:
        pairs.append(("groups", str(op.groups)))
    if not op.bias:
        pairs.append(("bias", "False"))
    if set(op.dilation) != {1}:
        pairs.append(("dilation", _axes(op.dilation)))
    return Emit(f"nn.ConvTranspose{rank}d({op.in_channels}, {op.out_channels}, {_kwargs(pairs)})", "{m}({x})")


def emit_upsample(op: resample.Upsample, rank: int) -> Emit:
    what = f"scale_factor={_float(op.scale)}" if op.scale is not None else f"size={_axes(op.size)}"
    extra = f", align_corners={op.align_corners}" if op.align_corners is not None else ""
    return Emit(f"nn.Upsample({what}, mode={op.mode!r}{extra})", "{m}({x})")


def emit_crop(op: resample.Crop, rank: int) -> Emit:
    axes = ", ".join(f"{o}:{o + n}" for o, n in zip(op.offset, op.size, strict=True))
    return Emit(None, f"{{x}}[:, :, {axes}]")


def emit_pad(op: resample.Pad, rank: int) -> Emit:
    window = Window((1,) * len(op.padding), (1,) * len(op.padding), op.padding, (1,) * len(op.padding))
    mode = "constant" if op.mode == "zeros" else op.mode
    extra = f", value={_float(op.value)}" if op.mode == "zeros" and op.value else ""
    return Emit(None, f"F.pad({{x}}, {_pad_arg(window)}, mode={mode!r}{extra})", True)


def emit_embedding(op: dense.Embedding, rank: int) -> Emit:
    pad = f", padding_idx={op.padding_idx}" if op.padding_idx is not None else ""
    # nn.Embedding gives N x L x D; the spec's layout is channels first, D x L.
    return Emit(f"nn.Embedding({op.vocab}, {op.dim}{pad})", "{m}({x}).transpose(1, 2)")


def emit_layernorm(op: norm.LayerNorm, rank: int) -> Emit:
    pairs = [] if op.eps == 1e-5 else [("eps", _float(op.eps))]
    if not op.affine:
        pairs.append(("elementwise_affine", "False"))
    extra = (", " + _kwargs(pairs)) if pairs else ""
    if op.rank == 0:
        return Emit(f"nn.LayerNorm({op.channels}{extra})", "{m}({x})")
    return Emit(f"ChannelLayerNorm({op.channels}{extra})", "{m}({x})", helpers=("ChannelLayerNorm",))


def emit_groupnorm(op: norm.GroupNorm, rank: int) -> Emit:
    pairs = [] if op.eps == 1e-5 else [("eps", _float(op.eps))]
    if not op.affine:
        pairs.append(("affine", "False"))
    extra = (", " + _kwargs(pairs)) if pairs else ""
    return Emit(f"nn.GroupNorm({op.groups}, {op.channels}{extra})", "{m}({x})")


def emit_instancenorm(op: norm.InstanceNorm, rank: int) -> Emit:
    pairs = [] if op.eps == 1e-5 else [("eps", _float(op.eps))]
    if op.affine:
        pairs.append(("affine", "True"))
    if op.running:
        pairs.append(("track_running_stats", "True"))
    extra = (", " + _kwargs(pairs)) if pairs else ""
    return Emit(f"nn.InstanceNorm{op.rank}d({op.channels}{extra})", "{m}({x})")


def emit_layerscale(op: norm.LayerScale, rank: int) -> Emit:
    return Emit(f"LayerScale({op.channels}, {_float(op.init)}, {op.rank})", "{m}({x})", helpers=("LayerScale",))


def emit_stochasticdepth(op: norm.StochasticDepth, rank: int) -> Emit:
    return Emit(f"StochasticDepth({_float(op.p)}, {op.mode!r})", "{m}({x})", helpers=("StochasticDepth",))


def emit_reshape(op: reshape.Reshape, rank: int) -> Emit:
    return Emit(None, f"{{x}}.reshape({{x}}.shape[0], {', '.join(map(str, op.shape))})")


def emit_permute(op: reshape.Permute, rank: int) -> Emit:
    return Emit(None, f"{{x}}.permute(0, {', '.join(str(i + 1) for i in op.order)})")


def emit_shuffle(op: reshape.Shuffle, rank: int) -> Emit:
    return Emit(None, f"channel_shuffle({{x}}, {op.groups})", helpers=("channel_shuffle",))


def emit_split(op: reshape.Split, rank: int) -> Emit:
    return Emit(None, f"{{x}}[:, {op.start}:{op.stop}]")

# Activations PyTorch can apply in place (as torchvision does after conv/bn).
INPLACE = frozenset({act.ReLU, act.ReLU6, act.LeakyReLU})


def emit_activation(op, rank: int, inplace: bool = False) -> Emit:
    flag = "inplace=True" if inplace else ""
    if isinstance(op, act.LeakyReLU):
        args = ", ".join(a for a in (_float(op.param), flag) if a)
        return Emit(f"nn.LeakyReLU({args})", "{m}({x})")
    if isinstance(op, act.ELU):
        return Emit(f"nn.ELU(alpha={_float(op.param)})", "{m}({x})")
    return Emit(f"nn.{_ACTIVATIONS[type(op)]}({flag})", "{m}({x})")


EMITTERS = {
    conv.Conv: emit_conv,
    pool.MaxPool: emit_pool, pool.AvgPool: emit_pool, pool.MinPool: emit_pool,
    pool.GlobalAvgPool: emit_global_pool, pool.GlobalMaxPool: emit_global_pool,
    pool.AdaptiveAvgPool: emit_adaptive_pool, pool.AdaptiveMaxPool: emit_adaptive_pool,
    norm.BatchNorm: emit_batchnorm, norm.LocalResponseNorm: emit_lrn, norm.Dropout: emit_dropout,
    dense.Linear: emit_linear, dense.Flatten: emit_flatten,
    structure.Identity: emit_identity, structure.Concat: emit_concat, structure.Add: emit_add,
    structure.Mul: emit_mul, transposed.ConvTranspose: emit_convtranspose,
    resample.Upsample: emit_upsample, resample.Crop: emit_crop, resample.Pad: emit_pad,
    dense.Embedding: emit_embedding, norm.LayerNorm: emit_layernorm, norm.GroupNorm: emit_groupnorm,
    norm.InstanceNorm: emit_instancenorm, norm.LayerScale: emit_layerscale,
    norm.StochasticDepth: emit_stochasticdepth, reshape.Reshape: emit_reshape, reshape.Permute: emit_permute,
    reshape.Shuffle: emit_shuffle, reshape.Split: emit_split,
    act.Softmax: emit_softmax,
    **{cls: emit_activation for cls in (*_ACTIVATIONS, act.LeakyReLU, act.ELU)},
}


class Unsupported(Exception):
    """A layer kind this backend cannot compile yet; the caller adds the position."""


def emit(op, rank: int, inplace: bool = False) -> Emit:
    """The Emit of one resolved op; Unsupported for a kind this backend lacks."""
    fn = EMITTERS.get(type(op))
    if fn is None:
        raise Unsupported(op.kind)
    if fn is emit_activation:
        return fn(op, rank, inplace)
    return fn(op, rank)
