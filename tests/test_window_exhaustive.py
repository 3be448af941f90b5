"""The window rule equals PyTorch's at every setting PyTorch accepts, and is
refused exactly where PyTorch refuses: an exhaustive sweep, not samples.

For every windowed kind (transposed convolution included, its output padding
0-3 in place of the rounding), input sizes 1-12, kernels 1-5, strides 1-4,
paddings 0-3 (past PyTorch's pooling limit of k/2, to check the refusals),
dilations 1-2 and both roundings, archdsl's output size (or refusal) is
compared with what torch computes. 1-D covers every combination; 2-D and 3-D
repeat it with the same setting on every axis, which exercises the
rank-specific checks (AvgPool3d compares the unpadded input with the window).
"""
from __future__ import annotations

import itertools

import pytest

from archdsl.core.ops import REGISTRY, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

SIZES = range(1, 13)
KERNELS = range(1, 6)
STRIDES = range(1, 5)
PADDINGS = range(0, 4)
DILATIONS = (1, 2)
REFUSED = "refused"


def _archdsl(kind: str, shape: tuple[int, ...], k, s, p, d, ceil):
    values = {"k": (k,), "s": (s,), "p": (p,)}
    if kind == "convtranspose":
        values.update(out=1, d=(d,), g=1, bias=True, op=(ceil,))  # `ceil` carries the output padding
    elif kind == "conv":
        values.update(out=1, d=(d,), g=1, bias=True)
    else:
        values.update(ceil=ceil)
        if kind == "maxpool":
            values["d"] = (d,)
        if kind == "avgpool":
            values["include_pad"] = None
    cls = REGISTRY[kind]
    try:
        op = cls.make(values, [shape])
        return op.infer([shape])[1:]
    except ShapeError:
        return REFUSED


def _torch(kind: str, rank: int, n: int, k, s, p, d, ceil):
    x = torch.zeros((1, 1) + (n,) * rank)
    try:
        if kind == "conv":
            w = torch.zeros((1, 1) + (k,) * rank)
            y = getattr(F, f"conv{rank}d")(x, w, stride=s, padding=p, dilation=d)
        elif kind == "convtranspose":
            w = torch.zeros((1, 1) + (k,) * rank)
            y = getattr(F, f"conv_transpose{rank}d")(x, w, stride=s, padding=p, output_padding=ceil,
                                                     dilation=d)
        elif kind == "avgpool":
            y = getattr(F, f"avg_pool{rank}d")(x, k, s, p, ceil_mode=ceil)
        elif kind == "maxpool":
            y = getattr(F, f"max_pool{rank}d")(x, k, s, p, d, ceil_mode=ceil)
        else:  # minpool is -maxpool(-x), as archdsl compiles it
            y = -getattr(F, f"max_pool{rank}d")(-x, k, s, p, 1, ceil_mode=ceil)
    except (RuntimeError, ValueError):
        return REFUSED
    if y.numel() == 0:
        return REFUSED
    return tuple(y.shape[2:])


def _settings(kind: str):
    dilations = DILATIONS if kind in ("conv", "convtranspose", "maxpool") else (1,)
    # For convtranspose the last item is the output padding, 0-3 (refused from max(S, D) on).
    roundings = (False,) if kind == "conv" else (0, 1, 2, 3) if kind == "convtranspose" else (False, True)
    return itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, dilations, roundings)


@pytest.mark.parametrize("rank", (1, 2, 3))
@pytest.mark.parametrize("kind", ("conv", "convtranspose", "maxpool", "avgpool", "minpool"))
def test_output_size_equals_torch_everywhere(kind, rank):
    mismatches = []
    count = 0
    for n, k, s, p, d, ceil in _settings(kind):
        expected = _torch(kind, rank, n, k, s, p, d, ceil)
        got = _archdsl(kind, (1,) + (n,) * rank, k, s, p, d, ceil)
        count += 1
        if got != expected:
            mismatches.append(f"n={n} k={k} s={s} p={p} d={d} ceil={ceil}: archdsl {got}, torch {expected}")
    assert count > 900
    assert mismatches == [], f"{len(mismatches)} of {count} differ, e.g.\n" + "\n".join(mismatches[:20])


def test_ceil_windows_past_the_input_give_one():
    """The issue's repro: 8 -> 4 -> 2 -> 1 with k=3 s=2 ceil, as nn.MaxPool2d does."""
    import archdsl
    net = archdsl.loads("network N {\n input 2x8x8\n maxpool k=3 s=2 ceil=true\n"
                        " maxpool k=3 s=2 ceil=true\n maxpool k=3 s=2 ceil=true\n}")
    assert [layer.output_shape for layer in net.layers] == [(2, 8, 8), (2, 4, 4), (2, 2, 2), (2, 1, 1)]


@pytest.mark.parametrize("size", (24, 16))
def test_googlenet_runs_at_small_inputs(size):
    """torchvision's googlenet gives 1000 outputs at 24x24 and 16x16; so does the spec."""
    import archdsl
    from tests.conftest import SPECS
    net = archdsl.load(SPECS / "googlenet.arch", input_shape=(3, size, size))
    assert net.output_shape == (1000,)
    model = archdsl.build(net).eval()
    with torch.no_grad():
        assert tuple(model(torch.zeros(1, 3, size, size)).shape) == (1, 1000)
