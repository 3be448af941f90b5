"""`round=caffe`: Caffe's pooling rule (pooling_layer.cpp), side by side with
PyTorch's floor and ceil modes, in figures and in the compiled module."""
from __future__ import annotations

import itertools
import math

import pytest

import archdsl
from archdsl.core.window import output_size


def caffe_size(n: int, k: int, s: int, p: int) -> int:
    """pooling_layer.cpp, Reshape: ceil, then drop the last window only when padded."""
    out = int(math.ceil((n + 2 * p - k) / s)) + 1
    if p and (out - 1) * s >= n + p:
        out -= 1
    return out


def test_the_issue_example_differs_from_pytorch():
    caffe = archdsl.loads("network N { input 8x6x6; maxpool k=1 s=2 round=caffe }")
    torch_ceil = archdsl.loads("network N { input 8x6x6; maxpool k=1 s=2 ceil=true }")
    assert caffe.output_shape == (8, 4, 4)
    assert torch_ceil.output_shape == (8, 3, 3)


def test_caffe_size_everywhere():
    for n, k, s in itertools.product(range(1, 13), range(1, 6), range(1, 5)):
        for p in range(0, k):  # Caffe allows pad < kernel
            if n + 2 * p < k:
                continue
            assert output_size(n, k, s, p, p, 1, "caffe") == caffe_size(n, k, s, p), (n, k, s, p)


def test_caffe_allows_padding_up_to_the_window_but_not_beyond():
    net = archdsl.loads("network N { input 4x7x7; maxpool k=3 s=2 p=2 round=caffe }")
    assert net.output_shape == (4, caffe_size(7, 3, 2, 2), caffe_size(7, 3, 2, 2))
    with pytest.raises(archdsl.ArchError, match="not smaller than the window"):
        archdsl.loads("network N { input 4x7x7; maxpool k=3 s=2 p=3 round=caffe }")


def test_round_and_ceil_must_agree():
    with pytest.raises(archdsl.ArchError, match="disagree"):
        archdsl.loads("network N { input 4x7x7; maxpool k=3 s=2 ceil=true round=floor }")
    assert archdsl.loads("network N { input 4x7x7; maxpool k=2 round=ceil }").output_shape == (4, 4, 4)


def test_bad_rounding_word():
    with pytest.raises(archdsl.ArchError, match="round must be floor, ceil or caffe"):
        archdsl.loads("network N { input 4x7x7; maxpool k=2 round=up }")


# -- the compiled module computes Caffe's values ----------------------------------------

def _caffe_pool_1d(x, k, s, p, mode):
    """A direct transcription of Caffe's forward pass (MAX and AVE), one axis."""
    import torch
    n = x.shape[-1]
    out = caffe_size(n, k, s, p)
    cols = []
    for i in range(out):
        start = i * s - p
        end = min(start + k, n + p)
        size = end - start
        lo, hi = max(start, 0), min(end, n)
        window = x[..., lo:hi]
        if mode == "max":
            cols.append(window.max(-1).values if hi > lo else torch.full(x.shape[:-1], -float("inf")))
        elif size > 0:
            cols.append(window.sum(-1) / size)
        else:  # a window wholly past the input: Caffe divides 0 by its empty size
            cols.append(torch.zeros(x.shape[:-1]))
    return torch.stack(cols, -1)


@pytest.mark.parametrize("mode", ("max", "avg"))
def test_built_module_matches_caffe(mode):
    torch = pytest.importorskip("torch")
    checked = 0
    for n, k, s in itertools.product(range(2, 10), range(1, 4), range(1, 4)):
        for p in range(0, k):
            if n + 2 * p < k or caffe_size(n, k, s, p) < 1:
                continue
            spec = f"network N {{ input 3x{n}; {mode}pool k={k} s={s} p={p} round=caffe }}"
            net = archdsl.loads(spec)
            model = archdsl.build(net)
            x = torch.rand(2, 3, n)
            got = model(x)
            want = _caffe_pool_1d(x, k, s, p, mode)
            assert got.shape == want.shape, spec
            finite = torch.isfinite(want)
            assert torch.equal(finite, torch.isfinite(got)), spec
            assert torch.allclose(got[finite], want[finite], atol=1e-6), spec
            checked += 1
    assert checked > 100
