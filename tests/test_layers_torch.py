"""Torch is the oracle for single layers: hypothesis draws hyper-parameters,
archdsl analyses a one-layer spec, and the matching torch.nn layer -- built
here directly from the op's attributes, independent of any archdsl backend --
must give the same output shape, parameter count and buffers. When archdsl
refuses a size (below 1), torch must refuse it too."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import archdsl  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
ADAPTIVE = {("avg", 1): nn.AdaptiveAvgPool1d, ("avg", 2): nn.AdaptiveAvgPool2d, ("avg", 3): nn.AdaptiveAvgPool3d,
            ("max", 1): nn.AdaptiveMaxPool1d, ("max", 2): nn.AdaptiveMaxPool2d, ("max", 3): nn.AdaptiveMaxPool3d}
BN = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
MAX_SIDE = {1: 40, 2: 14, 3: 7}  # keeps a forward pass cheap at every rank


def per_axis(values) -> str:
    """`3` when one value, `3x5` per axis, as a spec writes it."""
    return str(values[0]) if len(values) == 1 else "x".join(map(str, values))


def analyse(shape, line):
    """The last layer of `input <shape>; <line>`, or None when archdsl rejects the size."""
    spec = f"network T {{\n  input {'x'.join(map(str, shape))}\n  {line}\n}}\n"
    try:
        net = archdsl.loads(spec)
    except archdsl.ArchError as exc:
        assert all(d.line in (2, 3) for d in exc.diagnostics), exc.format()
        return None
    return net.layers[-1]


def forward_shape(module, shape, pads=None):
    x = torch.zeros(1, *shape)
    with torch.no_grad():
        if pads is not None:
            x = F.pad(x, pads)
        return tuple(module.eval()(x).shape[1:])


def torch_pads(padding):
    """F.pad takes (before, after) from the last axis backwards."""
    flat = []
    for before, after in reversed(padding):
        flat += [before, after]
    return flat


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@st.composite
def spatial(draw, rank=None, channels=None):
    channels = st.integers(1, 6) if channels is None else channels
    rank = rank or draw(st.integers(1, 3))
    sizes = tuple(draw(st.lists(st.integers(1, MAX_SIDE[rank]), min_size=rank, max_size=rank)))
    return (draw(channels), *sizes)


def axes(draw, rank, values):
    """One value for every axis, or a different one per axis."""
    if draw(st.booleans()):
        return (draw(values),)
    return tuple(draw(st.lists(values, min_size=rank, max_size=rank)))


@st.composite
def conv_case(draw):
    rank = draw(st.integers(1, 3))
    g = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = g * draw(st.integers(1, 3))
    shape = (c_in, *draw(spatial(rank)).__getitem__(slice(1, None)))
    c_out = g * draw(st.integers(1, 3))
    k = axes(draw, rank, st.integers(1, 5))
    s = axes(draw, rank, st.integers(1, 3))
    d = axes(draw, rank, st.integers(1, 2))
    p = draw(st.one_of(st.just("same"), st.just("valid"), st.builds(lambda v: v, st.just(None))))
    if p is None:
        p = per_axis(axes(draw, rank, st.integers(0, 3)))
    bias = draw(st.booleans())
    depthwise = draw(st.booleans()) and g == 1
    if depthwise:  # g equals the channels
        g, c_out = c_in, c_in * draw(st.integers(1, 2))
    line = f"conv {c_out} k={per_axis(k)} s={per_axis(s)} p={p} d={per_axis(d)} g={g} " \
           f"bias={'true' if bias else 'false'}"
    return shape, line


@SETTINGS
@given(conv_case())
def test_conv_matches_torch(case):
    shape, line = case
    layer = analyse(shape, line)
    rank = len(shape) - 1
    if layer is None:
        return _torch_rejects_conv(shape, line)
    op = layer.node.op
    w = op.window
    module = CONV[rank](op.in_channels, op.out_channels, w.kernel, stride=w.stride,
                        padding=0 if w.same else tuple(b for b, _ in w.padding),
                        dilation=w.dilation, groups=op.groups, bias=op.bias)
    assert all(b == a for b, a in w.padding) or w.same  # explicit padding is symmetric
    pads = torch_pads(w.padding) if w.same else None
    assert forward_shape(module, shape, pads) == layer.output_shape
    assert n_params(module) == layer.params
    assert layer.buffers == 0
    if w.same:  # TensorFlow's rule: out = ceil(W / S)
        assert layer.output_shape[1:] == tuple(-(-n // s) for n, s in zip(shape[1:], w.stride, strict=True))


def _torch_rejects_conv(shape, line):
    """archdsl refused: the same layer in torch must fail too (size below 1)."""
    words = dict(part.split("=") for part in line.split()[2:])
    rank = len(shape) - 1

    def expand(text):
        values = tuple(int(v) for v in text.split("x"))
        return values * rank if len(values) == 1 else values
    k, s, d = expand(words["k"]), expand(words["s"]), expand(words["d"])
    p = 0 if words["p"] in ("valid",) else expand(words["p"])
    assert words["p"] != "same", "p=same never collapses"
    g = int(words["g"])
    module = CONV[rank](shape[0], int(line.split()[1]), k, stride=s, padding=p, dilation=d, groups=g)
    with pytest.raises(RuntimeError):
        forward_shape(module, shape)


@st.composite
def pool_case(draw):
    rank = draw(st.integers(1, 3))
    shape = draw(spatial(rank))
    kind = draw(st.sampled_from(["maxpool", "avgpool", "minpool"]))
    k = axes(draw, rank, st.integers(1, 4))
    parts = [kind, f"k={per_axis(k)}"]
    if draw(st.booleans()):
        parts.append(f"s={per_axis(axes(draw, rank, st.integers(1, 3)))}")
    if draw(st.integers(0, 4)) == 0:
        parts.append("p=same")
    else:
        kk = k * rank if len(k) == 1 else k
        parts.append(f"p={per_axis(tuple(draw(st.integers(0, kv // 2)) for kv in kk))}")
        parts.append(f"ceil={draw(st.sampled_from(['true', 'false']))}")
    if kind == "maxpool" and draw(st.booleans()):
        parts.append(f"d={draw(st.integers(1, 2))}")
    if kind == "avgpool" and draw(st.booleans()):
        parts.append(f"include_pad={draw(st.sampled_from(['true', 'false']))}")
    return shape, " ".join(parts)


@SETTINGS
@given(pool_case())
def test_pool_matches_torch(case):
    shape, line = case
    layer = analyse(shape, line)
    rank = len(shape) - 1
    if layer is None:
        return
    op = layer.node.op
    w = op.window
    padding = 0 if w.same else tuple(b for b, _ in w.padding)
    if op.mode == "avg":
        module = AVGPOOL[rank](w.kernel, w.stride, padding, ceil_mode=op.ceil_mode,
                               count_include_pad=op.include_pad)
    else:  # min pooling is -maxpool(-x): the same shape as max pooling
        module = MAXPOOL[rank](w.kernel, w.stride, padding, dilation=w.dilation, ceil_mode=op.ceil_mode)
    pads = torch_pads(w.padding) if w.same else None
    assert forward_shape(module, shape, pads) == layer.output_shape
    assert layer.params == 0 and layer.buffers == 0 and layer.macs == 0


@SETTINGS
@given(st.data())
def test_pool_rejections_agree_with_torch(data):
    """Where archdsl says a pool collapses below 1, torch refuses it as well."""
    rank = data.draw(st.integers(1, 2))
    shape = data.draw(spatial(rank))
    k = data.draw(st.integers(2, 6))
    p = data.draw(st.integers(0, k // 2))
    ceil = data.draw(st.booleans())
    line = f"maxpool k={k} s=1 p={p} ceil={'true' if ceil else 'false'}"
    layer = analyse(shape, line)
    module = MAXPOOL[rank](k, 1, p, ceil_mode=ceil)
    if layer is None:
        with pytest.raises(RuntimeError):
            forward_shape(module, shape)
    else:
        assert forward_shape(module, shape) == layer.output_shape


@SETTINGS
@given(spatial(), st.sampled_from(["adaptiveavgpool", "adaptivemaxpool", "gap", "gmp"]), st.data())
def test_adaptive_and_global_pools_match_torch(shape, kind, data):
    rank = len(shape) - 1
    if kind in ("gap", "gmp"):
        line, size = kind, (1,) * rank
    else:
        size = axes(data.draw, rank, st.integers(1, 6))
        line = f"{kind} {per_axis(size)}"
        size = size * rank if len(size) == 1 else size
    layer = analyse(shape, line)
    mode = "max" if kind in ("adaptivemaxpool", "gmp") else "avg"
    module = ADAPTIVE[(mode, rank)](size)
    assert forward_shape(module, shape) == layer.output_shape
    assert layer.params == 0


@SETTINGS
@given(st.integers(1, 64), st.integers(1, 64), st.booleans())
def test_fc_matches_torch(features, out, bias):
    layer = analyse((features,), f"fc {out} bias={'true' if bias else 'false'}")
    module = nn.Linear(layer.node.op.in_features, layer.node.op.out_features, bias=layer.node.op.bias)
    assert forward_shape(module, (features,)) == layer.output_shape
    assert n_params(module) == layer.params
    assert layer.macs == features * out


@SETTINGS
@given(st.one_of(st.tuples(st.integers(1, 16)), spatial()), st.booleans(), st.sampled_from([1e-5, 1e-3]))
def test_bn_matches_torch(shape, affine, eps):
    layer = analyse(shape, f"bn eps={eps} affine={'true' if affine else 'false'}")
    op = layer.node.op
    module = BN[len(shape) - 1](op.channels, eps=op.eps, momentum=op.momentum, affine=op.affine)
    assert forward_shape(module, shape) == layer.output_shape
    assert n_params(module) == layer.params
    # Buffers: running mean and variance; num_batches_tracked is not counted.
    assert module.running_mean.numel() + module.running_var.numel() == layer.buffers


@SETTINGS
@given(spatial(), st.integers(1, 7))
def test_lrn_and_flatten_match_torch(shape, size):
    layer = analyse(shape, f"lrn {size} alpha=1e-4 beta=0.75 k=2")
    op = layer.node.op
    module = nn.LocalResponseNorm(op.size, op.alpha, op.beta, op.k)
    assert forward_shape(module, shape) == layer.output_shape and layer.params == 0
    layer = analyse(shape, "flatten")
    assert forward_shape(nn.Flatten(), shape) == layer.output_shape


ACTIVATIONS = {
    "relu": nn.ReLU(), "relu6": nn.ReLU6(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "gelu": nn.GELU(),
    "silu": nn.SiLU(), "hardswish": nn.Hardswish(), "leakyrelu 0.2": nn.LeakyReLU(0.2), "elu": nn.ELU(),
    "softmax": nn.Softmax(dim=1), "identity": nn.Identity(), "dropout 0.3": nn.Dropout(0.3),
}


@SETTINGS
@given(st.one_of(st.tuples(st.integers(1, 16)), spatial()), st.sampled_from(sorted(ACTIVATIONS)))
def test_shape_preserving_layers_match_torch(shape, line):
    layer = analyse(shape, line)
    assert forward_shape(ACTIVATIONS[line], shape) == layer.output_shape == tuple(shape)
    assert layer.params == 0 and layer.macs == 0


def test_same_padding_puts_the_extra_pixel_after():
    """TensorFlow's 'same' at stride 2 on an even size: total padding 1, after only."""
    layer = analyse((1, 8, 8), "conv 1 k=2 s=2 p=same")
    assert layer.node.op.window.padding == ((0, 0), (0, 0))
    layer = analyse((1, 7, 7), "conv 1 k=3 s=2 p=same")
    assert layer.node.op.window.padding == ((1, 1), (1, 1))
    layer = analyse((1, 8, 8), "conv 1 k=3 s=2 p=same")
    assert layer.node.op.window.padding == ((0, 1), (0, 1))
    assert layer.output_shape == (1, 4, 4)
