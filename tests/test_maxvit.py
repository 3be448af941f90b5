"""MaxViT's block and grid attention (`windowattention partition=window|grid
scale=head|features`) against torch: hypothesis draws the map, the window,
the heads, the partition and the scale; archdsl analyses a one-layer spec and
builds it, and

- the port of torchvision's PartitionAttentionLayer partition and
  RelativePositionalMultiHeadAttention in tests/vit_references.py (square
  maps, whole windows: what torchvision accepts), and
- a token-by-token definition written here (any map, padded or not: window b
  of an axis holds tokens b*W .. b*W + W - 1, or for a grid tokens
  b, b + H/W, b + 2H/W, ...),

given the built module's weights, compute the same outputs; the parameters
and MACs are the ones FlopCounterMode and the module count. The whole
MaxViT-T is in tests/test_gallery_vit.py."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import archdsl  # noqa: E402
from tests import vit_references as R  # noqa: E402

from .conftest import SPECS  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spec(h, w, d, window, heads, partition, scale, pad=False):
    return (f"network N {{ input {h}x{w}x{d} tokens=true\n windowattention {window} heads={heads} "
            f"partition={partition} scale={scale} pad={'true' if pad else 'false'} }}")


def _by_definition(x, module, window, heads, partition, scale):
    """Window by window, token by token: which tokens share a window, and where each sits in it."""
    n, h, w, d = x.shape
    ph, pw = -(-h // window) * window, -(-w // window) * window
    x = F.pad(x, (0, 0, 0, pw - w, 0, ph - h))
    gh, gw = ph // window, pw // window
    out = torch.zeros_like(x)
    table = module.relative_position_bias_table
    qkv, proj = (module.to_qkv, module.merge) if hasattr(module, "to_qkv") else (module.qkv, module.proj)  # Swin's
    factor = (d if scale == "features" else d // heads) ** -0.5
    places = [(a, b) for a in range(window) for b in range(window)]
    for bh in range(gh):
        for bw in range(gw):
            if partition == "grid":  # the lattice: tokens gh (gw) apart
                rows = [(a * gh + bh, b * gw + bw) for a, b in places]
            else:  # neighbours
                rows = [(bh * window + a, bw * window + b) for a, b in places]
            t = torch.stack([x[:, i, j] for i, j in rows], 1)  # n x W^2 x d
            q, k, v = qkv(t).chunk(3, -1)
            q, k, v = (z.reshape(n, window * window, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            bias = torch.stack([torch.stack([table[(ai - aj + window - 1) * (2 * window - 1) + (bi - bj + window - 1)]
                                             for aj, bj in places]) for ai, bi in places])  # W^2 x W^2 x heads
            attn = (q @ k.transpose(-2, -1) * factor + bias.permute(2, 0, 1)).softmax(-1)
            y = proj((attn @ v).transpose(1, 2).reshape(n, window * window, d))
            for place, (i, j) in enumerate(rows):
                out[:, i, j] = y[:, place]
    return out[:, :h, :w]


@st.composite
def case(draw):
    window = draw(st.integers(1, 4))
    partition = draw(st.sampled_from(["window", "grid"]))
    heads = draw(st.integers(1, 3))
    d = heads * draw(st.integers(1, 4))
    pad = draw(st.booleans())
    sides = [window * draw(st.integers(1, 3)) - (draw(st.integers(0, window - 1)) if pad else 0) for _ in "hw"]
    return sides[0], sides[1], d, window, heads, partition, draw(st.sampled_from(["head", "features"])), pad


def _measure(module, x):
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(x)
    flops = {str(op).split(".")[-1]: n for op, n in counter.get_flop_counts()["Global"].items()}
    dense = sum(n for op, n in flops.items() if op in ("mm", "addmm"))
    attention = sum(n for op, n in flops.items() if op in ("bmm", "baddbmm"))
    return out, dense // 2, attention // 2


@SETTINGS
@given(case())
def test_block_and_grid_attention_compute_what_the_definition_says(c):
    h, w, d, window, heads, partition, scale, pad = c
    net = archdsl.loads(_spec(h, w, d, window, heads, partition, scale, pad))
    layer = net.layers[-1]
    model = archdsl.build(net).eval()
    torch.manual_seed(0)
    for p in model.parameters():
        p.data.normal_(0, 0.3)
    attn = next(m for m in model.modules() if hasattr(m, "relative_position_bias_table"))
    x = torch.randn(2, h, w, d)
    out, dense, attention = _measure(model, x)
    assert tuple(out.shape[1:]) == layer.output_shape == (h, w, d)
    table = (2 * window - 1) ** 2 * heads
    assert sum(p.numel() for p in model.parameters()) == layer.params == 4 * d * d + 4 * d + table
    # batch 2: FlopCounterMode counts both samples
    assert (dense, attention) == (2 * layer.macs, 2 * layer.attention_macs)
    with torch.no_grad():
        torch.testing.assert_close(out, _by_definition(x, attn, window, heads, partition, scale), rtol=1e-4, atol=1e-5)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.sampled_from(["window", "grid"]))
def test_torchvisions_partition_attention_gives_the_same_outputs(window, lattice, heads, head_dim, partition):
    """torchvision's grid partition takes H / W windows per axis from the height alone: square maps only."""
    side, d = window * lattice, heads * head_dim
    net = archdsl.loads(_spec(side, side, d, window, heads, partition, "features"))
    model = archdsl.build(net).eval()
    ref = R.PartitionAttention(d, partition, size=window, grid=(side, side), head_dim=head_dim).eval()
    torch.manual_seed(1)
    for p in ref.parameters():
        p.data.normal_(0, 0.3)
    theirs, mine = list(ref.parameters()), list(model.named_parameters())
    assert [tuple(t.shape) for t in theirs] == [tuple(v.shape) for _, v in mine]
    model.load_state_dict({k: t.detach() for (k, _), t in zip(mine, theirs, strict=True)}, strict=False)
    x = torch.randn(2, side, side, d)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-5)


def test_the_grid_is_not_the_window():
    """On a 4x4 map with 2x2 windows the two partitions differ; on a map one window covers they agree."""
    outs = {}
    for partition in ("window", "grid"):
        for side in (4, 2):
            model = archdsl.build(archdsl.loads(_spec(side, side, 4, 2, 2, partition, "features"))).eval()
            torch.manual_seed(0)  # the same weights for both partitions
            for p in model.parameters():
                p.data.normal_(0, 0.3)
            x = torch.arange(2 * side * side * 4, dtype=torch.float32).reshape(2, side, side, 4).sin()
            with torch.no_grad():
                outs[partition, side] = model(x)
    assert not torch.allclose(outs["window", 4], outs["grid", 4])
    torch.testing.assert_close(outs["window", 2], outs["grid", 2])


def test_scale_features_is_one_over_the_square_root_of_d():
    net = archdsl.loads(_spec(4, 4, 8, 2, 4, "window", "features"))
    attn = next(m for m in archdsl.build(net).modules() if hasattr(m, "scale_factor"))
    assert math.isclose(attn.scale_factor, 8 ** -0.5)
    attn = next(m for m in archdsl.build(archdsl.loads(_spec(4, 4, 8, 2, 4, "grid", "head"))).modules()
                if hasattr(m, "scale_factor"))
    assert math.isclose(attn.scale_factor, 2 ** -0.5)


def test_the_table_says_grid_and_the_lattice():
    net = archdsl.loads(_spec(56, 56, 64, 7, 2, "grid", "features"))
    assert net.layers[-1].node.op.hyper() == "grid 7, 8x8 apart, 2 heads, scale 1/sqrt(D)"
    net = archdsl.loads(_spec(56, 56, 64, 7, 2, "window", "head"))
    assert net.layers[-1].node.op.hyper() == "window 7, 2 heads"


def test_receptive_field_only_where_one_window_covers_the_map():
    """A grid's window is a lattice spread over the map, a block's a neighbourhood that moves
    by windows: neither is one window true for every token, so no field is reported; where
    one window (or one grid) covers the map the attention is global."""
    for partition in ("window", "grid"):
        spec = (f"network N {{ input 3x56x56\n conv 8 k=4 s=4; tokens grid=true\n windowattention 7 heads=2 "
                f"partition={partition}; untokens }}")
        assert archdsl.loads(spec).layers[-1].receptive_field is None
        spec = (f"network N {{ input 3x28x28\n conv 8 k=4 s=4; tokens grid=true\n windowattention 7 heads=2 "
                f"partition={partition}; untokens }}")
        assert archdsl.loads(spec).layers[-1].receptive_field == (28, 28)
    net = archdsl.load(SPECS / "maxvit_t.arch")
    assert net.layer("stem").receptive_field == (3, 3)
    assert net.layer("s1l0.window_attention.attn").receptive_field is None
    assert net.layer("head").receptive_field is None


@pytest.mark.parametrize("text, message", [
    ("windowattention 2 heads=2 partition=grid shift=1", "a grid partition has no shift"),
    ("windowattention 2 heads=2 partition=grid v2=true", "partition=grid is MaxViT's attention"),
    ("windowattention 2 heads=2 scale=features v2=true", "scale=features is MaxViT's attention"),
    ("windowattention 2 heads=2 partition=lattice", "partition must be window or grid"),
])
def test_refused(text, message):
    with pytest.raises(archdsl.ArchError, match=message):
        archdsl.loads(f"network N {{ input 4x4x8 tokens=true\n {text} }}")


def test_maxvit_stages_and_heads():
    net = archdsl.load(SPECS / "maxvit_t.arch")
    shapes = {"stem": (64, 112, 112), "s1l0.tokens1": (56, 56, 64), "s2l0.grid_attention.attn": (28, 28, 128),
              "s3l4.untokens1": (256, 14, 14), "s4l1.untokens1": (512, 7, 7), "head": (1000,)}
    for name, shape in shapes.items():
        assert net.layer(name).output_shape == shape, name
    heads = {name: net.layer(f"{name}.grid_attention.attn").node.op.heads for name in ("s1l0", "s2l0", "s3l0", "s4l0")}
    assert heads == {"s1l0": 2, "s2l0": 4, "s3l0": 8, "s4l0": 16}
    assert net.layer("s1l0.grid_attention.attn").node.op.partition == "grid"
    assert net.layer("s1l0.window_attention.attn").node.op.partition == "window"
