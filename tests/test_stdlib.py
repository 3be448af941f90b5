"""The bundled standard library (archdsl/stdlib, `use "std/..."`): every file
parses, every block is documented, and whole networks built from the blocks
reproduce the published parameter counts."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import archdsl
from archdsl.lowering.stdlib import STDLIB

STD_FILES = sorted(STDLIB.glob("*.arch"))

MOBILENET_V1 = """
use "std/mobilenet.arch"
network MobileNetV1 {
  input 3x224x224
  ConvBN(32, s=2)
  DepthwiseSeparable(32, 64)
  DepthwiseSeparable(64, 128, s=2); DepthwiseSeparable(128, 128)
  DepthwiseSeparable(128, 256, s=2); DepthwiseSeparable(256, 256)
  DepthwiseSeparable(256, 512, s=2); repeat 5 { DepthwiseSeparable(512, 512) }
  DepthwiseSeparable(512, 1024, s=2); DepthwiseSeparable(1024, 1024)
  gap; flatten; fc 1000
}
"""

MOBILENET_V2 = """
use "std/mobilenet.arch"
network MobileNetV2 {
  input 3x224x224
  ConvBN6(32, s=2)
  DepthwiseBottleneck(32, 16)
  InvertedBottleneck(16, 24, s=2); InvertedResidual(24)
  InvertedBottleneck(24, 32, s=2); repeat 2 { InvertedResidual(32) }
  InvertedBottleneck(32, 64, s=2); repeat 3 { InvertedResidual(64) }
  InvertedBottleneck(64, 96); repeat 2 { InvertedResidual(96) }
  InvertedBottleneck(96, 160, s=2); repeat 2 { InvertedResidual(160) }
  InvertedBottleneck(160, 320)
  ConvBN6(1280, k=1)
  gap; flatten; dropout 0.2; fc 1000
}
"""

RESNET18 = """
use "std/resnet.arch"
network ResNet18 {
  input 3x224x224
  conv 64 k=7 s=2 p=3 bias=false; bn; relu
  maxpool k=3 s=2 p=1
  repeat 2 { BasicBlock(64) }
  BasicBlock(128, s=2); BasicBlock(128)
  BasicBlock(256, s=2); BasicBlock(256)
  BasicBlock(512, s=2); BasicBlock(512)
  gap; flatten; fc 1000
}
"""

RESNET50 = """
use "std/resnet.arch"
network ResNet50 {
  input 3x224x224
  conv 64 k=7 s=2 p=3 bias=false; bn; relu
  maxpool k=3 s=2 p=1
  Bottleneck(256); repeat 2 { Bottleneck(256) }
  Bottleneck(512, s=2); repeat 3 { Bottleneck(512) }
  Bottleneck(1024, s=2); repeat 5 { Bottleneck(1024) }
  Bottleneck(2048, s=2); repeat 2 { Bottleneck(2048) }
  gap; flatten; fc 1000
}
"""

GOOGLENET = """
use "std/inception.arch"
network GoogLeNet {
  input 3x224x224
  BasicConv(64, k=7, s=2, p=3)
  maxpool k=3 s=2 ceil=true
  BasicConv(64)
  BasicConv(192, k=3, p=1)
  maxpool k=3 s=2 ceil=true
  Inception(64, 96, 128, 16, 32, 32, k5=3)
  Inception(128, 128, 192, 32, 96, 64, k5=3)
  maxpool k=3 s=2 ceil=true
  Inception(192, 96, 208, 16, 48, 64, k5=3)
  Inception(160, 112, 224, 24, 64, 64, k5=3)
  Inception(128, 128, 256, 24, 64, 64, k5=3)
  Inception(112, 144, 288, 32, 64, 64, k5=3)
  Inception(256, 160, 320, 32, 128, 128, k5=3)
  maxpool k=2 s=2 ceil=true
  Inception(256, 160, 320, 32, 128, 128, k5=3)
  Inception(384, 192, 384, 48, 128, 128, k5=3)
  adaptiveavgpool 1
  flatten; dropout 0.2; fc 1000
}
"""

VGG16 = """
use "std/vgg.arch"
network VGG16 {
  input 3x224x224
  VGGStage(64, 2); VGGStage(128, 2); VGGStage(256, 3); VGGStage(512, 3); VGGStage(512, 3)
  flatten
  fc 4096; relu; dropout
  fc 4096; relu; dropout
  fc 1000
}
"""


def _load(text: str, tmp_path: Path) -> archdsl.Network:
    # Through a file, as users do; `std/...` must not depend on the file's folder.
    spec = tmp_path / "net.arch"
    spec.write_text(text, encoding="utf-8")
    return archdsl.load(spec)


def test_library_has_the_promised_files():
    names = {p.name for p in STD_FILES}
    assert {"resnet.arch", "inception.arch", "vgg.arch", "mobilenet.arch"} <= names


@pytest.mark.parametrize("path", STD_FILES, ids=lambda p: p.name)
def test_every_block_is_commented(path):
    """Each block definition is preceded by a comment that names it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"block (\w+)\(", line)
        if m:
            comment = [ln for ln in lines[max(i - 12, 0):i] if ln.startswith("#")]
            assert any(m.group(1) in ln for ln in comment), f"block {m.group(1)} has no comment above it"


@pytest.mark.parametrize("path", STD_FILES, ids=lambda p: p.name)
def test_every_file_is_usable_from_anywhere(path, tmp_path, monkeypatch):
    """`use "std/<file>"` works from any folder and any working directory."""
    monkeypatch.chdir(tmp_path)
    net = archdsl.loads(f'use "std/{path.name}"\nnetwork N {{ input 3x8x8; conv 4 k=3 }}', base=tmp_path)
    assert net.output_shape == (4, 6, 6)


@pytest.mark.parametrize("text, params, macs, buffers", [
    (RESNET18, 11_689_512, 1_814_073_344, 9_600),        # torchvision resnet18
    (RESNET50, 25_557_032, 4_089_184_256, 53_120),       # torchvision resnet50
    (GOOGLENET, 6_624_904, 1_498_376_192, 14_560),       # torchvision googlenet
    (VGG16, 138_357_544, 15_470_264_320, 0),             # torchvision vgg16
    (MOBILENET_V1, 4_231_976, 568_740_352, 21_888),      # Keras MobileNet: 4,231,976 trainable
    (MOBILENET_V2, 3_504_872, 300_774_272, 34_112),      # torchvision mobilenet_v2
], ids=["resnet18", "resnet50", "googlenet", "vgg16", "mobilenet_v1", "mobilenet_v2"])
def test_networks_from_the_library(text, params, macs, buffers, tmp_path):
    net = _load(text, tmp_path)
    assert (net.totals.params, net.totals.macs, net.totals.buffers) == (params, macs, buffers)
    assert net.output_shape == (1000,)


def test_inception_paper_module_uses_5x5():
    net = archdsl.loads('use "std/inception.arch"\nnetwork N { input 192x28x28; '
                        'Inception(64, 96, 128, 16, 32, 32) }')
    assert net.output_shape == (256, 28, 28)
    five = [layer for layer in net.layers if layer.hyper.startswith("5x5")]
    assert len(five) == 1 and five[0].params == 16 * 32 * 25


def test_vgg_bn_stage():
    net = archdsl.loads('use "std/vgg.arch"\nnetwork N { input 3x32x32; VGGStageBN(64, 2) }')
    assert net.output_shape == (64, 16, 16)
    assert net.totals.params == (3 * 9 * 64 + 64) + 128 + (64 * 9 * 64 + 64) + 128
    assert net.totals.buffers == 256


def test_basic_block_projection_only_when_shape_changes():
    net = archdsl.loads('use "std/resnet.arch"\nnetwork N { input 64x56x56; BasicBlock(64); '
                        'BasicBlock(128, s=2) }')
    shortcut = [layer.name for layer in net.layers if ".shortcut" in layer.name]
    assert shortcut == ["basicblock2.shortcut1.conv1", "basicblock2.shortcut1.bn1"]
    assert net.output_shape == (128, 28, 28)


def test_inverted_residual_refuses_a_shape_change():
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.loads('use "std/mobilenet.arch"\nnetwork N { input 16x8x8; InvertedResidual(24) }')
    assert "groups" in str(info.value) or "residual" in str(info.value)
