"""What each layer kind compiles to: a submodule constructor and the
expression `forward` evaluates. One emitter per op type, in a table keyed by
type, so adding a layer kind is one function here.

Emitters return values, not text: a constructor is a name, positional
arguments and keywords (`Ctor`), each number a `Val` that knows how it is
written. The flat generator writes every value as a literal; the structured
generator lines up the same values across the instances of a block and writes
each as an expression of the block's parameters (`c // 4`), so one emitter
serves both.

Placeholders in `call`: `{m}` is the submodule (`self.conv1`), `{x}` the input
variable, `{xs}` the inputs of a merge joined by `Emit.join` (", " unless
the merge says otherwise: " + " for a sum), and `{0}`, `{1}`... the values in
`Emit.args`.

A kind without an emitter is a positioned error naming the layer, never a
KeyError; tests/test_registry.py checks that every kind has one.
"""
from __future__ import annotations

import math

from archdsl.backends.torch.emit_tokens import TOKEN_EMITTERS
from archdsl.backends.torch.emit_values import IN, OUT, Ctor, Emit, Kw, Val, _ax, _axes, _f, _i  # noqa: F401
from archdsl.core.ops import activation as act
from archdsl.core.ops import conv, dense, norm, pool, resample, reshape, structure, transposed
from archdsl.core.ops.windowed import Window


def _pad_val(window: Window) -> Val:
    """F.pad's order: last axis first, (before, after) for each."""
    return Val(tuple(v for before_after in reversed(window.padding) for v in before_after), "tuple")


def _symmetric(window: Window) -> bool:
    return all(b == a for b, a in window.padding)


def _has_padding(window: Window) -> bool:
    return any(b or a for b, a in window.padding)


def _befores(window: Window) -> Val:
    return _ax(tuple(b for b, _ in window.padding), "p")


def emit_conv(op: conv.Conv, rank: int) -> Emit:
    w = op.window
    explicit = not _symmetric(w)  # TensorFlow 'same' with an odd total: the extra pixel goes after
    kwargs = (
        Kw("kernel_size", _ax(w.kernel, "k")),
        Kw("stride", _ax(w.stride, "s"), set(w.stride) != {1}),
        Kw("padding", _ax((0,) * len(w.kernel)) if explicit else _befores(w), not explicit and _has_padding(w)),
        Kw("dilation", _ax(w.dilation, "d"), set(w.dilation) != {1}),
        Kw("groups", _i(op.groups, attr="g"), op.groups != 1),
        Kw("bias", Val(bool(op.bias), attr="bias"), not op.bias),
    )
    module = Ctor(f"nn.Conv{rank}d", (_i(op.in_channels, IN), _i(op.out_channels, OUT, "out")), kwargs)
    if explicit:
        return Emit(module, "{m}(F.pad({x}, {0}))", True, args=(_pad_val(w),))
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


def _pool_kind(op: pool.Pool) -> str:
    return "AvgPool" if op.mode == "avg" else "MaxPool"


def _emit_caffe_pool(op: pool.Pool, rank: int, w: Window) -> Emit:
    kwargs = (Kw("kernel_size", _ax(w.kernel)), Kw("stride", _ax(w.stride), w.stride != w.kernel))
    module = Ctor(f"nn.{_pool_kind(op)}{rank}d", (), kwargs)
    pads = _pad_val(w)
    if op.mode == "max":
        return Emit(module, "{m}(F.pad({x}, {0}, value=float('-inf')))", True, args=(pads,))
    if op.mode == "min":
        return Emit(module, "-{m}(F.pad(-{x}, {0}, value=float('-inf')))", True, args=(pads,))
    # Caffe divides by the window clipped to the padded input: the mean of the
    # zero-padded input over the mean of a mask that is 1 inside the padding.
    inner = _pad_val(op.window)
    extra = _pad_val(Window(w.kernel, w.stride, tuple((0, a - pa) for (_, a), (_, pa)
                                                      in zip(w.padding, op.window.padding, strict=True)), w.dilation))
    # A window wholly past the input averages nothing: Caffe gives 0, and so does
    # the clamp (any window that counts a pixel has a mask mean of at least 1/k).
    floor = _f(0.5 / math.prod(w.kernel))
    call = ("{m}(F.pad({x}, {0})) / {m}(F.pad(F.pad(torch.ones_like({x}[:1, :1]), {1}, value=1.0), {2}))"
            ".clamp(min={3})")
    return Emit(module, call, True, args=(pads, inner, extra, floor))


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
    kwargs = [Kw("kernel_size", _ax(w.kernel, "k")), Kw("stride", _ax(w.stride, "s"), w.stride != w.kernel),
              Kw("padding", _ax((0,) * len(w.kernel)) if explicit else _befores(w),
                 not explicit and _has_padding(w))]
    if op.mode != "avg":
        kwargs.append(Kw("dilation", _ax(w.dilation), set(w.dilation) != {1}))
    ceil = bool(op.ceil_mode and not w.same)
    kwargs.append(Kw("ceil_mode", Val(ceil, attr="ceil"), ceil))
    if op.mode == "avg":
        drop_pads = not explicit and _has_padding(w) and not op.include_pad
        kwargs.append(Kw("count_include_pad", Val(not drop_pads), drop_pads))
    module = Ctor(f"nn.{_pool_kind(op)}{rank}d", (), tuple(kwargs))
    pads = (_pad_val(w),)
    if op.mode == "max":
        if explicit:
            return Emit(module, "{m}(F.pad({x}, {0}, value=float('-inf')))", True, args=pads)
        return Emit(module, "{m}({x})")
    if op.mode == "min":  # min pool = -maxpool(-x); the -inf padding of -x is +inf for x
        if explicit:
            return Emit(module, "-{m}(F.pad(-{x}, {0}, value=float('-inf')))", True, args=pads)
        return Emit(module, "-{m}(-{x})")
    if not explicit:
        return Emit(module, "{m}({x})")
    if op.include_pad:
        return Emit(module, "{m}(F.pad({x}, {0}))", True, args=pads)
    # Average over real pixels only (TensorFlow's 'same'): the mean of the
    # zero-padded input divided by the mean of a zero-padded ones mask.
    return Emit(module, "{m}(F.pad({x}, {0})) / {m}(F.pad(torch.ones_like({x}[:1, :1]), {0}))", True, args=pads)


def emit_global_pool(op: pool.GlobalPool, rank: int) -> Emit:
    kind = "AdaptiveAvgPool" if op.mode == "avg" else "AdaptiveMaxPool"
    return Emit(Ctor(f"nn.{kind}{op.rank}d", (Val(1),)), "{m}({x})")


def emit_adaptive_pool(op: pool.AdaptivePool, rank: int) -> Emit:
    kind = "AdaptiveAvgPool" if op.mode == "avg" else "AdaptiveMaxPool"
    return Emit(Ctor(f"nn.{kind}{len(op.output_size)}d", (_ax(op.output_size),)), "{m}({x})")


def _eps(value: float, default: float = 1e-5) -> Kw:
    return Kw("eps", _f(value, "eps"), value != default)


def emit_batchnorm(op: norm.BatchNorm, rank: int) -> Emit:
    kwargs = (_eps(op.eps), Kw("momentum", _f(op.momentum, "momentum"), op.momentum != 0.1),
              Kw("affine", Val(bool(op.affine), attr="affine"), not op.affine))
    return Emit(Ctor(f"nn.BatchNorm{max(op.rank, 1)}d", (_i(op.channels, IN),), kwargs), "{m}({x})")


def emit_lrn(op: norm.LocalResponseNorm, rank: int) -> Emit:
    kwargs = (Kw("alpha", _f(op.alpha)), Kw("beta", _f(op.beta)), Kw("k", _f(op.k)))
    # nn.LocalResponseNorm wants a spatial axis; on a flat vector it is one of length 1.
    call = "{m}({x})" if rank else "{m}({x}.unsqueeze(-1)).squeeze(-1)"
    return Emit(Ctor("nn.LocalResponseNorm", (_i(op.size),), kwargs), call)


def emit_dropout(op: norm.Dropout, rank: int) -> Emit:
    return Emit(Ctor("nn.Dropout", (_f(op.p, "p"),)), "{m}({x})")


def emit_linear(op: dense.Linear, rank: int) -> Emit:
    module = Ctor("nn.Linear", (_i(op.in_features, IN), _i(op.out_features, OUT, "out")),
                  (Kw("bias", Val(bool(op.bias), attr="bias"), not op.bias),))
    return Emit(module, "{m}({x})")


def emit_flatten(op, rank: int) -> Emit:
    return Emit(Ctor("nn.Flatten"), "{m}({x})")


def emit_identity(op, rank: int) -> Emit:
    return Emit(Ctor("nn.Identity"), "{m}({x})")


def emit_softmax(op, rank: int) -> Emit:
    return Emit(Ctor("nn.Softmax", (), (Kw("dim", Val(1)),)), "{m}({x})")


def emit_concat(op, rank: int) -> Emit:
    return Emit(None, "torch.cat([{xs}], 1)")


def emit_add(op, rank: int) -> Emit:
    return Emit(None, "{xs}", join=" + ")


def emit_mul(op, rank: int) -> Emit:
    return Emit(None, "{xs}", join=" * ")


_ACTIVATIONS = {
    act.ReLU: "ReLU", act.ReLU6: "ReLU6", act.Sigmoid: "Sigmoid", act.Tanh: "Tanh",
    act.GELU: "GELU", act.SiLU: "SiLU", act.Hardswish: "Hardswish", act.Hardsigmoid: "Hardsigmoid",
}


def emit_convtranspose(op: transposed.ConvTranspose, rank: int) -> Emit:
    kwargs = (
        Kw("kernel_size", _ax(op.kernel, "k")),
        Kw("stride", _ax(op.stride, "s"), set(op.stride) != {1}),
        Kw("padding", _ax(op.padding, "p"), any(op.padding)),
        Kw("output_padding", _ax(op.output_padding, "op"), any(op.output_padding)),
        Kw("groups", _i(op.groups, attr="g"), op.groups != 1),
        Kw("bias", Val(bool(op.bias), attr="bias"), not op.bias),
        Kw("dilation", _ax(op.dilation, "d"), set(op.dilation) != {1}),
    )
    module = Ctor(f"nn.ConvTranspose{rank}d", (_i(op.in_channels, IN), _i(op.out_channels, OUT, "out")), kwargs)
    return Emit(module, "{m}({x})")


def emit_upsample(op: resample.Upsample, rank: int) -> Emit:
    what = Kw("scale_factor", _f(op.scale)) if op.scale is not None else Kw("size", _ax(op.size))
    kwargs = (what, Kw("mode", Val(op.mode)), Kw("align_corners", Val(op.align_corners), op.align_corners is not None))
    return Emit(Ctor("nn.Upsample", (), kwargs), "{m}({x})")


def emit_crop(op: resample.Crop, rank: int) -> Emit:
    axes = ", ".join(f"{{{2 * i}}}:{{{2 * i + 1}}}" for i in range(len(op.offset)))
    values = tuple(Val(v) for o, n in zip(op.offset, op.size, strict=True) for v in (o, o + n))
    return Emit(None, f"{{x}}[:, :, {axes}]", args=values)


def emit_pad(op: resample.Pad, rank: int) -> Emit:
    window = Window((1,) * len(op.padding), (1,) * len(op.padding), op.padding, (1,) * len(op.padding))
    mode = "constant" if op.mode == "zeros" else op.mode
    if op.mode == "zeros" and op.value:
        return Emit(None, "F.pad({x}, {0}, mode={1}, value={2})", True,
                    args=(_pad_val(window), Val(mode), _f(op.value)))
    return Emit(None, "F.pad({x}, {0}, mode={1})", True, args=(_pad_val(window), Val(mode)))


def emit_embedding(op: dense.Embedding, rank: int) -> Emit:
    kwargs = (Kw("padding_idx", Val(op.padding_idx), op.padding_idx is not None),)
    # nn.Embedding gives N x L x D; the spec's layout is channels first, D x L (unless it asks for tokens).
    return Emit(Ctor("nn.Embedding", (_i(op.vocab, attr="vocab"), _i(op.dim, OUT, "dim")), kwargs),
                "{m}({x})" if op.tokens else "{m}({x}).transpose(1, 2)")


def emit_layernorm(op: norm.LayerNorm, rank: int) -> Emit:
    kwargs = (_eps(op.eps), Kw("elementwise_affine", Val(bool(op.affine)), not op.affine))
    if op.rank == 0:
        return Emit(Ctor("nn.LayerNorm", (_i(op.channels, IN),), kwargs), "{m}({x})")
    return Emit(Ctor("ChannelLayerNorm", (_i(op.channels, IN),), kwargs), "{m}({x})", helpers=("ChannelLayerNorm",))


def emit_groupnorm(op: norm.GroupNorm, rank: int) -> Emit:
    kwargs = (_eps(op.eps), Kw("affine", Val(bool(op.affine)), not op.affine))
    return Emit(Ctor("nn.GroupNorm", (_i(op.groups, attr="g"), _i(op.channels, IN)), kwargs), "{m}({x})")


def emit_instancenorm(op: norm.InstanceNorm, rank: int) -> Emit:
    kwargs = (_eps(op.eps), Kw("affine", Val(bool(op.affine)), bool(op.affine)),
              Kw("track_running_stats", Val(bool(op.running)), bool(op.running)))
    return Emit(Ctor(f"nn.InstanceNorm{op.rank}d", (_i(op.channels, IN),), kwargs), "{m}({x})")


def emit_layerscale(op: norm.LayerScale, rank: int) -> Emit:
    module = Ctor("LayerScale", (_i(op.channels, IN), _f(op.init), _i(op.rank)))
    return Emit(module, "{m}({x})", helpers=("LayerScale",))


def emit_stochasticdepth(op: norm.StochasticDepth, rank: int) -> Emit:
    return Emit(Ctor("StochasticDepth", (_f(op.p), Val(op.mode))), "{m}({x})", helpers=("StochasticDepth",))


def emit_reshape(op: reshape.Reshape, rank: int) -> Emit:
    return Emit(None, "{x}.reshape({x}.shape[0], {0})", args=(Val(tuple(op.shape), "join"),))


def emit_permute(op: reshape.Permute, rank: int) -> Emit:
    return Emit(None, "{x}.permute(0, {0})", args=(Val(tuple(i + 1 for i in op.order), "join"),))


def emit_shuffle(op: reshape.Shuffle, rank: int) -> Emit:
    return Emit(None, "channel_shuffle({x}, {0})", helpers=("channel_shuffle",), args=(_i(op.groups, attr="g"),))


def emit_split(op: reshape.Split, rank: int) -> Emit:
    return Emit(None, "{x}[:, {0}:{1}]", args=(_i(op.start), _i(op.stop)))


# Activations PyTorch can apply in place (as torchvision does after conv/bn).
INPLACE = frozenset({act.ReLU, act.ReLU6, act.LeakyReLU})


def emit_activation(op, rank: int, inplace: bool = False) -> Emit:
    flag = Kw("inplace", Val(bool(inplace)), bool(inplace))
    if isinstance(op, act.LeakyReLU):
        return Emit(Ctor("nn.LeakyReLU", (_f(op.param, "slope"),), (flag,)), "{m}({x})")
    if isinstance(op, act.ELU):
        return Emit(Ctor("nn.ELU", (), (Kw("alpha", _f(op.param)),)), "{m}({x})")
    return Emit(Ctor(f"nn.{_ACTIVATIONS[type(op)]}", (), (flag,)), "{m}({x})")


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
    **TOKEN_EMITTERS,
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
