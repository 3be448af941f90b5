"""The standard library's v2 blocks (SE, MBConv, MobileNetV3's and v2's
inverted residuals, the ShuffleNet v2 unit, DenseNet's layer and transition,
U-Net's stages, FPN's top-down step): whole networks written with them give
torchvision's counts to the unit, and the small ones equal a plain-PyTorch
module written the way torchvision writes it."""
from __future__ import annotations

from pathlib import Path

import pytest

import archdsl

MOBILENET_V2 = """
use "std/mobilenet.arch"
network MobileNetV2 {
  input 3x224x224
  conv 32 k=3 s=2 p=1 bias=false; bn; relu6
  InvertedResidualV2(16, t=1)
  InvertedResidualV2(24, s=2); InvertedResidualV2(24)
  InvertedResidualV2(32, s=2); repeat 2 { InvertedResidualV2(32) }
  InvertedResidualV2(64, s=2); repeat 3 { InvertedResidualV2(64) }
  repeat 3 { InvertedResidualV2(96) }
  InvertedResidualV2(160, s=2); repeat 2 { InvertedResidualV2(160) }
  InvertedResidualV2(320)
  conv 1280 k=1 bias=false; bn; relu6
  gap; flatten; dropout 0.2; fc 1000
}
"""

# torchvision's _mobilenet_v3_conf("mobilenet_v3_large"), one row per block.
MOBILENET_V3_LARGE = """
use "std/mobilenetv3.arch"
network MobileNetV3Large {
  input 3x224x224
  ConvBNAct(16, s=2, act=hardswish)
  InvertedResidualV3(3,  16,  16, false, relu,      1)
  InvertedResidualV3(3,  64,  24, false, relu,      2)
  InvertedResidualV3(3,  72,  24, false, relu,      1)
  InvertedResidualV3(5,  72,  40,  true, relu,      2)
  InvertedResidualV3(5, 120,  40,  true, relu,      1)
  InvertedResidualV3(5, 120,  40,  true, relu,      1)
  InvertedResidualV3(3, 240,  80, false, hardswish, 2)
  InvertedResidualV3(3, 200,  80, false, hardswish, 1)
  InvertedResidualV3(3, 184,  80, false, hardswish, 1)
  InvertedResidualV3(3, 184,  80, false, hardswish, 1)
  InvertedResidualV3(3, 480, 112,  true, hardswish, 1)
  InvertedResidualV3(3, 672, 112,  true, hardswish, 1)
  InvertedResidualV3(5, 672, 160,  true, hardswish, 2)
  InvertedResidualV3(5, 960, 160,  true, hardswish, 1)
  InvertedResidualV3(5, 960, 160,  true, hardswish, 1)
  ConvBNAct(960, k=1, act=hardswish)
  adaptiveavgpool 1; flatten
  fc 1280; hardswish; dropout 0.2; fc 1000
}
"""

DENSENET121 = """
use "std/densenet.arch"
network DenseNet121 {
  input 3x224x224
  conv 64 k=7 s=2 p=3 bias=false; bn; relu
  maxpool k=3 s=2 p=1
  repeat 6 { DenseLayer(32) };  Transition
  repeat 12 { DenseLayer(32) }; Transition
  repeat 24 { DenseLayer(32) }; Transition
  repeat 16 { DenseLayer(32) }
  bn; relu
  adaptiveavgpool 1; flatten; fc 1000
}
"""

# (spec text, params, buffers, MACs): torchvision 0.29 (benchmarks/reference/figures.json).
NETWORKS = {
    "mobilenet_v2": (MOBILENET_V2, 3_504_872, 34_112, 300_774_272),
    "mobilenet_v3_large": (MOBILENET_V3_LARGE, 5_483_032, 24_400, 216_589_760),
    "densenet121": (DENSENET121, 7_978_856, 83_648, 2_834_161_664),
}


def _load(text: str, tmp_path: Path) -> archdsl.Network:
    spec = tmp_path / "net.arch"
    spec.write_text(text, encoding="utf-8")
    return archdsl.load(spec)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_torchvision_counts_from_the_stdlib(name, tmp_path):
    text, params, buffers, macs = NETWORKS[name]
    net = _load(text, tmp_path)
    assert (net.totals.params, net.totals.buffers, net.totals.macs) == (params, buffers, macs)
    assert net.output_shape == (1000,)
    assert net.warnings == []


def test_inverted_residual_v2_skips_exactly_where_torchvision_does(tmp_path):
    """use_res_connect = stride 1 and in == out: 10 of MobileNetV2's 17 blocks."""
    net = _load(MOBILENET_V2, tmp_path)
    skipped = sorted({layer.name.split(".")[0] for layer in net.layers if layer.op == "add"})
    assert len(skipped) == 10
    assert "invertedresidualv21" not in skipped and "invertedresidualv23" in skipped


def test_densenet_layer_and_transition_shapes(tmp_path):
    net = _load(DENSENET121, tmp_path)
    transitions = [layer.output_shape for layer in net.layers if layer.op == "avgpool"]
    assert transitions == [(128, 28, 28), (256, 14, 14), (512, 7, 7)]
    concats = [layer.output_shape for layer in net.layers if layer.op == "concat"]
    assert concats[:2] == [(96, 56, 56), (128, 56, 56)] and concats[-1] == (1024, 7, 7)


@pytest.mark.parametrize("call, sq", [("SE", 16), ("SE(4)", 4), ("SE(sq=max(1, 40 // 4), act=silu)", 10)])
def test_se_squeeze_channels(call, sq):
    """The default squeeze is MobileNetV3's make_divisible(C // 4, 8), read from the
    input: 40 // 4 = 10 rounds to 8, which is more than 10% below 10, so 16."""
    net = archdsl.loads(f'use "std/se.arch"\nnetwork N {{ input 40x7x7; {call} }}')
    assert net.layer("se1.branch2.fc1").output_shape == (sq, 1, 1)
    assert net.totals.params == 2 * 40 * sq + sq + 40
    assert net.output_shape == (40, 7, 7)


def test_shuffle_unit_forms():
    net = archdsl.loads('use "std/shufflenet.arch"\n'
                        'network N { input 24x56x56; ShuffleUnit(116, s=2); ShuffleUnit(116) }')
    assert net.output_shape == (116, 28, 28)
    split = [layer for layer in net.layers if layer.op == "split"]
    assert [s.output_shape for s in split] == [(58, 28, 28), (58, 28, 28)]
    assert [layer.op for layer in net.layers][-2:] == ["concat", "shuffle"]


def test_unet_stage_copy_and_crop():
    net = archdsl.loads('use "std/unet.arch"\nnetwork N {\n input 1x140x140\n e: DoubleConv(64)\n'
                        ' maxpool k=2 s=2\n DoubleConv(128)\n Up(64, skip=@e)\n}')
    assert net.layer("e.conv2").output_shape == (64, 136, 136)
    assert net.layer("up1.up").output_shape == (64, 128, 128)  # 2 x 64
    assert net.layer("up1.crop1").output_shape == (64, 128, 128)  # 136 cropped to it, offset 4
    assert net.layer("up1.concat1").output_shape == (128, 128, 128)
    assert net.output_shape == (64, 124, 124)


FPN = """
use "std/fpn.arch"
network FPN {
  input 3x64x64
  c2: conv 64 k=3 s=4 p=1                 # 64x16x16
  c3: conv 128 k=3 s=2 p=1                # 128x8x8
  c4: conv 256 k=3 s=2 p=1                # 256x4x4
  c5: conv 512 k=3 s=2 p=1                # 512x2x2
  i5: from @c5 { conv 256 k=1 }
  i4: from @i5 { FPNTopDown(256, @c4) }
  i3: from @i4 { FPNTopDown(256, @c3) }
  i2: from @i3 { FPNTopDown(256, @c2) }
  p2: FPNOutput(256)
  p3: from @i3 { FPNOutput(256) }
  p4: from @i4 { FPNOutput(256) }
  p5: from @i5 { FPNOutput(256) }
  output p2 @p2
  output p3 @p3
  output p4 @p4
  output p5 @p5
}
"""


def test_fpn_top_down_equals_torchvisions_rule():
    """FeaturePyramidNetwork([64, 128, 256, 512], 256) on a 4-level backbone: the same
    parameters as torchvision's (1x1 inner blocks and 3x3 layer blocks, with bias)
    and, with the same weights, the same outputs as its forward written out in torch."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    net = archdsl.loads(FPN)
    inner = sum(c * 256 + 256 for c in (64, 128, 256, 512))
    layer = 4 * (256 * 256 * 9 + 256)
    backbone = sum(o * i * 9 + o for i, o in ((3, 64), (64, 128), (128, 256), (256, 512)))
    assert net.totals.params == inner + layer + backbone
    assert [n.shape for n in net.graph.outputs] == [(256, 16, 16), (256, 8, 8), (256, 4, 4), (256, 2, 2)]

    model = archdsl.build(net).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got = model(x)
        m = model
        feats = [m.c2(x)]
        for conv in (m.c3, m.c4, m.c5):
            feats.append(conv(feats[-1]))
        # A label on `from` names its result, not a scope: the layers inside keep their own names.
        lateral = [m.fpntopdown1.conv1, m.fpntopdown2.conv1, m.fpntopdown3.conv1]
        last = m.conv1(feats[3])  # torchvision: inner_blocks[-1](x[-1])
        inners = [last]
        for conv, feat in zip(lateral, reversed(feats[:3]), strict=True):
            last = conv(feat) + F.interpolate(last, size=feat.shape[-2:], mode="nearest")
            inners.append(last)
        outs = [m.p2.conv1(inners[3]), m.fpnoutput1.conv1(inners[2]), m.fpnoutput2.conv1(inners[1]),
                m.fpnoutput3.conv1(inners[0])]
    for a, b in zip(got, outs, strict=True):
        torch.testing.assert_close(a, b)


def test_stdlib_v2_blocks_are_documented_in_their_files():
    from archdsl.lowering.stdlib import STDLIB
    for name, blocks in {"se.arch": ["SE"], "efficientnet.arch": ["ConvBNSiLU", "MBConv"],
                         "mobilenetv3.arch": ["ConvBNAct", "InvertedResidualV3"],
                         "shufflenet.arch": ["ShuffleUnit"], "densenet.arch": ["DenseLayer", "Transition"],
                         "unet.arch": ["DoubleConv", "Up"], "fpn.arch": ["FPNTopDown", "FPNOutput"]}.items():
        text = (STDLIB / name).read_text(encoding="utf-8")
        assert text.startswith(f"# std/{name} -- ")
        for block in blocks:
            assert f"block {block}(" in text and f"# {block}(" in text, (name, block)
