"""Known figures from outside (torchvision, the papers, the lecture tables),
asserted to the unit, and the torchinfo-style check that per-row figures add
up to the totals for every gallery spec."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.backends.report.rows import table_rows

from .conftest import GALLERY, SPECS

# spec: (params, MACs, buffers or None)
EXPECTED = {
    "lenet_mnist": (1_256_080, 6_522_000, 0),
    "alexnet": (62_378_344, 1_135_256_096, 0),
    "alexnet_torchvision": (61_100_840, 714_188_480, 0),
    "vgg16": (138_357_544, 15_470_264_320, 0),
    "googlenet": (6_624_904, 1_498_376_192, 14_560),
    "resnet50": (25_557_032, 4_089_184_256, 53_120),
}


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_torchvision_and_paper_figures(spec):
    net = archdsl.load(SPECS / f"{spec}.arch")
    params, macs, buffers = EXPECTED[spec]
    assert net.totals.params == params
    assert net.totals.macs == macs
    assert net.totals.flops == 2 * macs
    assert net.totals.buffers == buffers


def test_alexnet_lecture_shapes():
    """The lecture table: 227 -> 55 -> 27 -> 13 -> 6, at every pool and conv."""
    net = archdsl.load(SPECS / "alexnet.arch")
    shapes = [layer.output_shape for layer in net.layers if layer.op in ("conv", "maxpool")]
    assert shapes == [
        (96, 55, 55), (96, 27, 27),
        (256, 27, 27), (256, 13, 13),
        (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6),
    ]
    assert net.input_shape == (3, 227, 227)
    assert net.output_shape == (1000,)
    assert net.warnings == []  # 227 divides evenly; 224 would warn


def test_alexnet_at_224_warns_with_the_arithmetic():
    net = archdsl.load(SPECS / "alexnet.arch", input_shape=(3, 224, 224))
    assert net.warnings, "AlexNet at 224 must warn"
    first = net.warnings[0]
    assert "54.25" in first.message
    assert any("(224 - 11 + 0)/4 + 1 = 54.25" in n for n in first.notes)
    assert net.layers[1].output_shape == (96, 54, 54)


def test_resnet50_has_no_spurious_warnings():
    """torchvision's stem leaves a remainder that falls in the padding: no pixel is lost."""
    assert archdsl.load(SPECS / "resnet50.arch").warnings == []


def test_resnet50_projection_placement():
    """One Bottleneck definition: projection on the first block of each stage only,
    exactly torchvision's `stride != 1 or inplanes != planes * 4`."""
    net = archdsl.load(SPECS / "resnet50.arch")
    projected = {layer.name.split(".")[0] for layer in net.layers if ".shortcut" in layer.name}
    assert projected == {"bottleneck1", "bottleneck4", "bottleneck8", "bottleneck14"}


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_rows_add_up_to_totals(spec):
    for net in archdsl.load_all(spec):
        t = net.totals
        assert sum(layer.params for layer in net.layers) == t.params
        assert sum(layer.buffers for layer in net.layers) == t.buffers
        assert sum(layer.macs for layer in net.layers) == t.macs
        assert sum(layer.attention_macs for layer in net.layers) == t.attention_macs
        # every output, and what attention keeps besides it (its maps) for backward
        elements = sum(_numel(layer.output_shape) + layer.intermediates for layer in net.layers[1:])
        assert elements == t.activation_elements
        d = net.to_dict()
        assert d["totals"]["activation_bytes"] == 4 * elements
        assert d["totals"]["param_bytes"] == 4 * t.params
        for depth in (0, 1, 2):
            rows = table_rows(net, depth)
            assert sum(r.params for r in rows) == t.params
            assert sum(r.macs for r in rows) == t.macs
            assert sum(r.buffers for r in rows) == t.buffers


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_every_gallery_spec_is_clean_and_documented(spec):
    text = spec.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), "gallery specs open with a lecture-handout comment"
    nets = archdsl.load_all(spec)
    assert nets and all(n.output_shape is not None for n in nets)


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n
