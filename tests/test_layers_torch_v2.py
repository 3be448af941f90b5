"""Torch is the oracle for the layer kinds of language v2: hypothesis draws
hyper-parameters, archdsl analyses a one-layer spec, and the torch.nn layer
(or functional call) built here from the spec's numbers -- not from any
archdsl backend -- must give the same output shape, parameter count, buffers
and MACs. Where archdsl refuses a setting, torch refuses it too."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from tests.test_layers_torch import analyse, axes, n_params, per_axis, spatial  # noqa: E402

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
INSTANCE = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


def buffers(module) -> int:
    return sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))


def run(fn, shape, dtype=torch.float32):
    x = torch.zeros(2, *shape, dtype=dtype) if dtype != torch.long else torch.zeros(2, *shape, dtype=torch.long)
    with torch.no_grad():
        return tuple(fn(x).shape[1:])


@st.composite
def convtranspose_case(draw):
    rank = draw(st.integers(1, 3))
    g = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    shape = (c_in, *draw(spatial(rank))[1:])
    k = axes(draw, rank, st.integers(1, 4))
    s = axes(draw, rank, st.integers(1, 3))
    d = axes(draw, rank, st.integers(1, 2))
    p = axes(draw, rank, st.integers(0, 2))
    op = axes(draw, rank, st.integers(0, 2))
    bias = draw(st.booleans())
    line = (f"convtranspose {c_out} k={per_axis(k)} s={per_axis(s)} p={per_axis(p)} op={per_axis(op)} "
            f"d={per_axis(d)} g={g} bias={'true' if bias else 'false'}")
    return shape, line, (c_in, c_out, k, s, p, op, d, g, bias)


def _full(values, rank):
    return tuple(values) * rank if len(values) == 1 else tuple(values)


@SETTINGS
@given(convtranspose_case())
def test_convtranspose_matches_torch(case):
    shape, line, (c_in, c_out, k, s, p, op, d, g, bias) = case
    rank = len(shape) - 1
    layer = analyse(shape, line)
    try:
        module = CONVT[rank](c_in, c_out, _full(k, rank), _full(s, rank), _full(p, rank), _full(op, rank),
                             g, bias, _full(d, rank))
        out = run(module, shape)
    except (RuntimeError, ValueError):
        out = None
    if out is None or 0 in out:  # an empty output is a size below 1: archdsl refuses it
        assert layer is None, f"torch refuses {line} on {shape}, archdsl gives {layer and layer.output_shape}"
        return
    assert layer is not None, f"archdsl refuses {line} on {shape}, torch gives {out}"
    assert layer.output_shape == out
    assert layer.params == n_params(module)
    assert layer.macs == math.prod(shape) * (c_out // g) * math.prod(_full(k, rank))


@SETTINGS
@given(spatial(), st.data())
def test_upsample_matches_torch(shape, data):
    rank = len(shape) - 1
    mode = data.draw(st.sampled_from({1: ["nearest", "linear"], 2: ["nearest", "bilinear", "bicubic"],
                                      3: ["nearest", "trilinear"]}[rank]))
    if data.draw(st.booleans()):
        scale = data.draw(st.sampled_from([2, 3, 0.5, 1.5]))
        layer = analyse(shape, f"upsample {scale} mode={mode}")
        module = nn.Upsample(scale_factor=float(scale), mode=mode)
    else:
        size = tuple(data.draw(st.integers(1, 12)) for _ in range(rank))
        layer = analyse(shape, f"upsample size={per_axis(size) if len(set(size)) > 1 else size[0]} mode={mode}")
        module = nn.Upsample(size=size, mode=mode)
    try:
        out = run(module, shape)
    except RuntimeError:
        assert layer is None
        return
    assert layer is not None and layer.output_shape == out and layer.params == 0


@SETTINGS
@given(spatial(), st.data())
def test_pad_matches_torch(shape, data):
    rank = len(shape) - 1
    before = tuple(data.draw(st.integers(0, 3)) for _ in range(rank))
    after = tuple(data.draw(st.integers(0, 3)) for _ in range(rank))
    mode = data.draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    layer = analyse(shape, f"pad {'x'.join(map(str, before))} after={'x'.join(map(str, after))} mode={mode}")
    pads = [v for b, a in reversed(list(zip(before, after, strict=True))) for v in (b, a)]
    torch_mode = "constant" if mode == "zeros" else mode
    try:
        out = run(lambda x: F.pad(x, pads, mode=torch_mode), shape)
    except (RuntimeError, NotImplementedError):
        assert layer is None, f"torch refuses pad {before}/{after} {mode} on {shape}"
        return
    assert layer is not None, f"archdsl refuses pad {before}/{after} {mode} on {shape}, torch gives {out}"
    assert layer.output_shape == out


@SETTINGS
@given(spatial(channels=st.integers(1, 12)), st.data())
def test_norms_match_torch(shape, data):
    c, rank = shape[0], len(shape) - 1
    kind = data.draw(st.sampled_from(["layernorm", "groupnorm", "instancenorm"]))
    if kind == "layernorm":
        affine = data.draw(st.booleans())
        layer = analyse(shape, f"layernorm affine={'true' if affine else 'false'}")
        module = nn.LayerNorm(c, elementwise_affine=affine)
        out = run(lambda x: module(x.movedim(1, -1)).movedim(-1, 1), shape)
    elif kind == "groupnorm":
        g = data.draw(st.integers(1, c))
        layer = analyse(shape, f"groupnorm {g}")
        if c % g:
            assert layer is None
            with pytest.raises(ValueError):
                nn.GroupNorm(g, c)
            return
        module = nn.GroupNorm(g, c)
        out = run(module, shape)
    else:
        affine, running = data.draw(st.booleans()), data.draw(st.booleans())
        layer = analyse(shape, f"instancenorm affine={'true' if affine else 'false'} "
                               f"running={'true' if running else 'false'}")
        module = INSTANCE[rank](c, affine=affine, track_running_stats=running).eval()
        assume(math.prod(shape[1:]) > 1 or running)  # torch refuses statistics of one value in training
        out = run(module, shape)
    assert layer.output_shape == out and layer.params == n_params(module) and layer.buffers == buffers(module)


@SETTINGS
@given(spatial(channels=st.integers(1, 24)), st.integers(1, 6))
def test_shuffle_matches_torch(shape, g):
    layer = analyse(shape, f"shuffle {g}")
    if shape[0] % g:
        assert layer is None
        return
    x = torch.arange(2 * math.prod(shape), dtype=torch.float32).reshape(2, *shape)
    assert layer.output_shape == tuple(nn.ChannelShuffle(g)(x).shape[1:])


@SETTINGS
@given(st.integers(2, 40), st.integers(1, 20), st.integers(1, 16))
def test_embedding_matches_torch(length, vocab, dim):
    layer = analyse((length,), f"embedding {vocab} {dim}")
    module = nn.Embedding(vocab, dim)
    out = run(lambda x: module(x).transpose(1, 2), (length,), torch.long)
    assert layer.output_shape == out and layer.params == n_params(module)


@SETTINGS
@given(spatial(), st.data())
def test_reshape_and_permute_match_torch(shape, data):
    order = tuple(data.draw(st.permutations(range(len(shape)))))
    layer = analyse(shape, f"permute ({', '.join(map(str, order))})")
    assert layer.output_shape == run(lambda x: x.permute(0, *(i + 1 for i in order)), shape)
    total = math.prod(shape)
    first = data.draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
    layer = analyse(shape, f"reshape ({first}, -1)")
    assert layer.output_shape == run(lambda x: x.reshape(2, first, -1), shape)


@SETTINGS
@given(spatial(channels=st.integers(2, 24)), st.data())
def test_split_matches_torch(shape, data):
    c = shape[0]
    n = data.draw(st.integers(2, 4))
    names = ", ".join(f"p{i}" for i in range(n))
    spec_layer = analyse(shape, f"{names}: split {n}")
    if c % n:
        assert spec_layer is None
        return
    parts = torch.zeros(2, *shape).chunk(n, 1)
    assert spec_layer.output_shape == tuple(parts[-1].shape[1:])


@SETTINGS
@given(spatial(channels=st.integers(1, 8)), st.data())
def test_broadcasting_merges_match_torch(shape, data):
    """add and mul of a map with a Cx1x1 (or other broadcastable) gate."""
    import archdsl
    gate = tuple(1 if data.draw(st.booleans()) else n for n in shape)
    kind = data.draw(st.sampled_from(["add", "mul"]))
    text = (f"network T {{ input {'x'.join(map(str, shape))}\n"
            f"  g: adaptiveavgpool {'x'.join(map(str, gate[1:]))}\n"
            f"  from @input {{ relu }}\n  {kind} @g\n}}")
    net = archdsl.loads(text)
    x, y = torch.zeros(2, *shape), torch.zeros(2, *gate)
    assert net.output_shape == tuple((x + y if kind == "add" else x * y).shape[1:])
