"""The receptive field is measured, not only computed: backpropagate from one
output pixel of the built module and find the extent of the input that gets a
non-zero gradient. It must equal the window the analysis reports for that
pixel (start + i * jump, size pixels, clipped to the image), on random specs
with branches, residuals, asymmetric kernels, dilation, strides, 'same' and
ceil-mode pooling.

Every weight and input is positive and pooling is by average, so a gradient is
non-zero exactly where the output depends on the input (a max pool routes its
gradient to one pixel, which would measure less than it reads)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import archdsl
from archdsl.core.analysis import receptive_fields

torch = pytest.importorskip("torch")


def test_merge_takes_the_maximum_per_axis():
    """The issue's repro: a 1x3 and a 3x1 branch see 3x3, not [3, 1]."""
    net = archdsl.loads("network N { input 3x16x16\n"
                        " concat { branch { conv 8 k=1x3 p=0x1 } branch { conv 8 k=3x1 p=1x0 } } }")
    assert net.layers[-1].receptive_field == (3, 3)


def test_offset_branches_see_their_union():
    """maxpool k=3 s=2 p=1 reads 2i-1..2i+1; TF-same conv k=3 s=2 on 8 pads (0, 1)
    and reads 2i..2i+2: together four pixels, more than either branch."""
    net = archdsl.loads("network N { input 3x8x8\n"
                        " concat { branch { maxpool k=3 s=2 p=1 } branch { conv 8 k=3 s=2 p=same } } }")
    assert net.layers[-1].receptive_field == (4, 4)


def test_factorised_branches_then_gap_is_square():
    """Inception-v3's 1x7/7x1 towers: one branch sees 7x13, the other 13x7; the
    concat sees 13x13 and the gap on a 64x64 map 76x76 (the old lexicographic
    pick gave 76x70, like Inception-v3's [1535, 1407])."""
    net = archdsl.loads("""
block BasicConv(c, k=1, s=1, p=0) { conv c k=k s=s p=p bias=false; bn eps=0.001; relu }
network N {
  input 3x64x64
  concat {
    branch { BasicConv(8, k=(1, 7), p=(0, 3)); BasicConv(8, k=(7, 1), p=(3, 0))
             BasicConv(8, k=(1, 7), p=(0, 3)) }
    branch { BasicConv(8, k=(7, 1), p=(3, 0)); BasicConv(8, k=(1, 7), p=(0, 3))
             BasicConv(8, k=(7, 1), p=(3, 0)) }
  }
  gap
}""")
    assert net.layer("concat1").receptive_field == (13, 13)
    assert net.layers[-1].receptive_field == (76, 76)


# -- the property ----------------------------------------------------------------------

def _axes(draw, low, high):
    a, b = draw(st.integers(low, high)), draw(st.integers(low, high))
    return str(a) if a == b else f"{a}x{b}"


@st.composite
def _layer(draw):
    kind = draw(st.sampled_from(["conv", "conv", "avgpool", "relu", "bn"]))
    if kind == "conv":
        k = _axes(draw, 1, 4)
        s = _axes(draw, 1, 2)
        d = draw(st.sampled_from(["1", "1", "2", "1x2"]))
        p = draw(st.sampled_from(["0", "1", "2", "0x1", "same"]))
        return f"conv 4 k={k} s={s} d={d} p={p}"
    if kind == "avgpool":
        k = draw(st.integers(1, 3))
        s = draw(st.integers(1, 2))
        p = draw(st.integers(0, k // 2))
        ceil = draw(st.booleans())
        return f"avgpool k={k} s={s} p={p} ceil={'true' if ceil else 'false'}"
    return kind


@st.composite
def _chain(draw, depth=0):
    items = []
    for _ in range(draw(st.integers(1, 3))):
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            merge = draw(st.sampled_from(["concat", "add", "residual"]))
            if merge == "residual":
                items.append("residual { " + draw(_chain(depth + 1)) + " }")
            else:
                branches = " ".join("branch { " + draw(_chain(depth + 1)) + " }" for _ in range(2))
                items.append(f"{merge} {{ {branches} }}")
        else:
            items.append(draw(_layer()))
    return "; ".join(items)


def _positive(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            else:
                p.uniform_(0.5, 1.0)
    return model.eval()


def _pixel(n_out: int, n: int, field_, axis: int):
    """An output pixel whose window lies inside the image when there is one."""
    start, jump, size = field_.start[axis], field_.jump[axis], field_.size[axis]
    first = max(0, -(start // jump))
    last = min(n_out - 1, (n - size - start) // jump)
    return st.integers(first, last) if first <= last else st.integers(0, n_out - 1)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(body=_chain(), h=st.integers(10, 20), w=st.integers(10, 20), data=st.data())
def test_receptive_field_equals_the_gradient_extent(body, h, w, data):
    spec = f"network N {{\n input 4x{h}x{w}\n conv 4 k=1\n {body}\n}}"
    try:
        net = archdsl.loads(spec)
    except archdsl.ArchError:
        assume(False)
    out = net.output_shape
    assume(out is not None and len(out) == 3)
    fields = receptive_fields(net.graph)
    final = fields[net.graph.output]
    assume(final is not None)
    # Inputs of unequal jump make the union a bound, not exact (see _union).
    exact = all(len({fields[i].jump for i in node.inputs}) == 1
                for node in net.graph.nodes if len(node.inputs) > 1)
    pixel = tuple(data.draw(_pixel(n_out, n, final, axis))
                  for axis, (n_out, n) in enumerate(zip(out[1:], (h, w), strict=True)))
    model = _positive(archdsl.build(net))
    x = torch.rand(1, 4, h, w) + 0.5
    x.requires_grad_(True)
    y = model(x)
    y[0, :, pixel[0], pixel[1]].sum().backward()
    grad = x.grad[0].abs().sum(0)
    windows, inside = [], True
    for axis, (n, i) in enumerate(zip((h, w), pixel, strict=True)):
        lo = final.start[axis] + i * final.jump[axis]
        hi = lo + final.size[axis] - 1
        inside &= 0 <= lo and hi < n
        windows.append((max(lo, 0), min(hi, n - 1)))
    if any(lo > hi for lo, hi in windows):  # the pixel reads only padding on some axis
        assert not grad.any(), spec
        return
    for axis, expected in enumerate(windows):
        hit = grad.sum(1 - axis).nonzero().flatten().tolist()
        measured = (hit[0], hit[-1]) if hit else None
        # The ends of a window are always read; where the image clips it, the
        # first pixel read may be a dilation hole further in.
        if exact and inside:
            event("exact window")
            assert measured == expected, f"{spec}\naxis {axis}, pixel {pixel}"
        else:
            assert measured is not None and expected[0] <= measured[0] and measured[1] <= expected[1], spec
