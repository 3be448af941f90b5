"""The v2 gallery (SE, MBConv, shuffle units, encoder-decoder skips, transposed
convs, two outputs), asserted to the unit: the figures of torchvision or of
the plain-PyTorch references in benchmarks/reference/own_references.py, the
built module's own counts and forward shapes, layer by layer against the
reference's leaf modules, and `export --verify` and `render` on every spec.

torchvision does not import in the project venv; where it does, its models
are compared directly, and otherwise the figures below are the contract
(benchmarks/reference/figures.json holds how they were computed)."""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import archdsl

from .conftest import ROOT, SPECS

REFERENCE = ROOT / "benchmarks" / "reference"


@dataclass(frozen=True)
class Figures:
    params: int
    buffers: int
    macs: int
    input: tuple[int, ...]
    outputs: tuple[tuple[int, ...], ...]
    reference: str  # the model's name in benchmarks/reference (<name>.layers.txt)
    torchvision: str | None = None


GALLERY_V2 = {
    "mobilenet_v3_small": Figures(2_542_856, 12_112, 56_510_400, (3, 224, 224), ((1000,),),
                                  "mobilenet_v3_small", "mobilenet_v3_small"),
    "efficientnet_b0": Figures(5_288_548, 42_016, 385_814_752, (3, 224, 224), ((1000,),),
                               "efficientnet_b0", "efficientnet_b0"),
    "shufflenet_v2_x1_0": Figures(2_278_604, 16_180, 144_907_992, (3, 224, 224), ((1000,),),
                                  "shufflenet_v2_x1_0", "shufflenet_v2_x1_0"),
    "unet": Figures(31_030_658, 0, 150_428_424_448, (1, 572, 572), ((2, 388, 388),), "unet"),
    "dcgan_generator": Figures(3_576_704, 1_920, 104_628_224, (100, 1, 1), ((3, 64, 64),), "dcgan_g"),
    "yolov3_tiny": Figures(8_852_366, 6_368, 2_782_480_896, (3, 416, 416), ((255, 13, 13), (255, 26, 26)),
                           "yolov3_tiny"),
}
NAMES = sorted(GALLERY_V2)

# A few layers per spec, as the sources' tables give them.
LAYER_SHAPES = {
    "mobilenet_v3_small": {"stem.conv1": (16, 112, 112), "b1.se1.branch2.fc1": (8, 1, 1),
                           "b1.se1.mul1": (16, 56, 56), "b4.convbnact2.conv1": (96, 14, 14),
                           "b9.conv1": (96, 7, 7), "last.conv1": (576, 7, 7), "fc1": (1024,)},
    "efficientnet_b0": {"stem.conv1": (32, 112, 112), "b0.se1.branch2.fc1": (8, 1, 1),
                        "b1.convbnsilu1.conv1": (96, 112, 112), "b3.conv1": (40, 28, 28),
                        "b15.conv1": (320, 7, 7), "head.conv1": (1280, 7, 7)},
    "shufflenet_v2_x1_0": {"conv1": (24, 112, 112), "maxpool1": (24, 56, 56),
                           "stage2.concat1": (116, 28, 28), "stage3.shuffle1": (232, 14, 14),
                           "stage4.shuffle1": (464, 7, 7), "conv5": (1024, 7, 7)},
    "unet": {"e1.conv2": (64, 568, 568), "e4.conv2": (512, 64, 64), "bottom.conv2": (1024, 28, 28),
             "d4.up": (512, 56, 56), "d4.crop1": (512, 56, 56), "d4.concat1": (1024, 56, 56),
             "d1.crop1": (64, 392, 392), "d1.doubleconv1.conv2": (64, 388, 388)},
    "dcgan_generator": {"convtranspose1": (512, 4, 4), "convtranspose2": (256, 8, 8),
                        "convtranspose4": (64, 32, 32), "tanh1": (3, 64, 64)},
    "yolov3_tiny": {"r26.conv1": (256, 26, 26), "r13.conv1": (256, 13, 13), "head13": (255, 13, 13),
                    "upsample1": (128, 26, 26), "concat1": (384, 26, 26), "head26": (255, 26, 26)},
}


def _net(name: str) -> archdsl.Network:
    return archdsl.load(SPECS / f"{name}.arch")


# -- the analysis ---------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_figures_to_the_unit(name):
    net, fig = _net(name), GALLERY_V2[name]
    t = net.totals
    assert (t.params, t.buffers, t.macs, t.flops) == (fig.params, fig.buffers, fig.macs, 2 * fig.macs)
    assert net.input_shape == fig.input
    assert tuple(n.shape for n in net.graph.outputs) == fig.outputs
    assert net.warnings == []


@pytest.mark.parametrize("name", NAMES)
def test_layer_shapes(name):
    net = _net(name)
    for layer, shape in LAYER_SHAPES[name].items():
        assert net.layer(layer).output_shape == shape, layer


def test_yolo_outputs_are_named_in_declared_order():
    net = _net("yolov3_tiny")
    assert net.graph.output_names == ["coarse", "fine"]


def test_efficientnet_stochastic_depth_as_torchvision():
    """p = 0.2 * i / 16 for block i, present only where the identity skip is added
    (torchvision builds it in every block and calls it only there)."""
    net = _net("efficientnet_b0")
    got = {layer.name.split(".")[0]: layer.node.op.p for layer in net.layers if layer.op == "stochasticdepth"}
    skipped = {2, 4, 6, 7, 9, 10, 12, 13, 14}
    assert got == {f"b{i}": 0.2 * i / 16 for i in sorted(skipped)}
    adds = {layer.name.split(".")[0] for layer in net.layers if layer.op == "add"}
    assert adds == set(got)


def test_mobilenet_v3_skips_where_torchvision_does():
    """use_res_connect = stride 1 and in == out channels."""
    net = _net("mobilenet_v3_small")
    adds = sorted(int(layer.name.split(".")[0][1:]) for layer in net.layers if layer.op == "add")
    assert adds == [3, 5, 6, 8, 10, 11]


# -- layer by layer, against the reference modules' leaf calls -------------------------

_KINDS = {"Conv2d": "conv", "ConvTranspose2d": "convtranspose", "Linear": "fc", "BatchNorm2d": "bn"}
_ROW = re.compile(r"\s*\d+\s+\S+\s+(\w+)\s+\S+\s+(\S+)\s+([\d,]+)\s")


def _reference_rows(model: str) -> list[tuple[str, tuple[int, ...], int]]:
    path = REFERENCE / f"{model}.layers.txt"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if m and m.group(1) in _KINDS:
            shape = tuple(int(d) for d in m.group(2).split("x")[1:])  # without the batch
            rows.append((_KINDS[m.group(1)], shape, int(m.group(3).replace(",", ""))))
    return rows


@pytest.mark.parametrize("name", NAMES)
def test_every_weighted_layer_matches_the_reference(name):
    """Every conv, transposed conv, fc and BN, in execution order: same kind, output
    shape and parameter count as the reference module's leaf call (torchvision's, or
    own_references.py's), as recorded in benchmarks/reference/<model>.layers.txt."""
    expected = _reference_rows(GALLERY_V2[name].reference)
    got = [(layer.op, tuple(layer.output_shape), layer.params) for layer in _net(name).layers
           if layer.op in _KINDS.values()]
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a == b, f"weighted layer {i}"


# -- the built module ----------------------------------------------------------------

def _counts(model) -> tuple[int, int]:
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return params, buffers


@pytest.mark.parametrize("name", NAMES)
def test_built_module_counts_and_forward(name):
    torch = pytest.importorskip("torch")
    fig = GALLERY_V2[name]
    model = archdsl.build(SPECS / f"{name}.arch").eval()
    assert _counts(model) == (fig.params, fig.buffers)
    with torch.no_grad():
        out = model(torch.randn(2, *fig.input))
    outs = out if isinstance(out, tuple) else (out,)
    assert tuple(tuple(o.shape) for o in outs) == tuple((2, *s) for s in fig.outputs)
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize("name", [n for n in NAMES if GALLERY_V2[n].torchvision])
def test_against_torchvision(name):
    """Where torchvision imports (not in the project venv): its own model, and with
    its weights (state_dict in order: torchvision registers its modules in the
    order they run, as archdsl does) the same logits."""
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    fig = GALLERY_V2[name]
    theirs = getattr(models, fig.torchvision)(weights=None).eval()
    ours = archdsl.build(SPECS / f"{name}.arch").eval()
    assert _counts(theirs) == _counts(ours) == (fig.params, fig.buffers)
    for bn in (m for m in theirs.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_var.uniform_(0.5, 1.5)  # not the identity, so that BN order matters
    keep = [(k, v) for k, v in theirs.state_dict().items() if not k.endswith("num_batches_tracked")]
    mine = [k for k in ours.state_dict() if not k.endswith("num_batches_tracked")]
    ours.load_state_dict(dict(zip(mine, (v for _, v in keep), strict=True)), strict=False)
    x = torch.randn(2, *fig.input)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


# -- the plain-PyTorch references ------------------------------------------------------

def _own_references():
    path = REFERENCE / "own_references.py"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    spec = importlib.util.spec_from_file_location("archdsl_own_references", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _measure(model, *inputs):
    """params, BN buffers, conv/linear MACs (forward hooks) and output shapes, batch 1."""
    import torch
    from torch import nn
    macs = []

    def hook(mod, args, out):
        x = args[0]
        if isinstance(mod, nn.Conv2d):
            macs.append(out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1])
        elif isinstance(mod, nn.ConvTranspose2d):
            macs.append(x.numel() * mod.out_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1])
        elif isinstance(mod, nn.Linear):
            macs.append(x.numel() * mod.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    try:
        with torch.no_grad():
            out = model.eval()(*inputs)
    finally:
        for h in handles:
            h.remove()
    outs = out if isinstance(out, tuple) else (out,)
    return (*_counts(model), sum(macs), tuple(tuple(o.shape[1:]) for o in outs))


@pytest.mark.parametrize("name, ref", [("yolov3_tiny", "yolov3_tiny"), ("dcgan_generator", "dcgan_g"),
                                       ("unet", "unet")])
def test_against_own_reference(name, ref):
    """The figures computed here from the hand-written module, not copied: its
    parameters, BN buffers, conv MACs and output shapes equal the spec's analysis
    and the module archdsl builds from it."""
    torch = pytest.importorskip("torch")
    refs = _own_references()
    cls, input_shape, _ = refs.REFERENCES[ref]
    torch.manual_seed(0)
    x = torch.randn(*input_shape)
    theirs = _measure(cls(), x)
    net, fig = _net(name), GALLERY_V2[name]
    t = net.totals
    assert theirs == (t.params, t.buffers, t.macs, tuple(n.shape for n in net.graph.outputs))
    assert theirs == (fig.params, fig.buffers, fig.macs, fig.outputs)
    assert _measure(archdsl.build(net), x) == theirs


def test_unet_with_the_references_weights_computes_the_same_map():
    """U-Net at a small valid size (188 -> 4): the reference's state_dict loaded, in
    order, into the built module gives the same output (crop offsets, concat order)."""
    torch = pytest.importorskip("torch")
    refs = _own_references()
    ref = refs.UNet().eval()
    model = archdsl.build(SPECS / "unet.arch", input_shape=(1, 188, 188)).eval()
    theirs, ours = list(ref.state_dict().values()), model.state_dict()
    # Execution order differs from the reference's registration order (encoder,
    # bottleneck, all up-convs, then all decoders): match by the order each runs.
    order = list(ref.enc) + [ref.bottleneck] + [m for pair in zip(ref.up, ref.dec, strict=True) for m in pair] \
        + [ref.head]
    tensors = [t for m in order for t in m.state_dict().values()]
    assert len(tensors) == len(theirs) == len(ours)
    model.load_state_dict(dict(zip(ours, tensors, strict=True)))
    x = torch.randn(1, 1, 188, 188)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-5)


def test_yolo_with_the_references_weights_gives_both_heads():
    torch = pytest.importorskip("torch")
    refs = _own_references()
    ref = refs.YOLOv3Tiny().eval()
    model = archdsl.build(SPECS / "yolov3_tiny.arch", input_shape=(3, 128, 128)).eval()
    # Registration order of the reference: b1, b2, head1, lateral, head2 -- the spec's order too.
    model.load_state_dict(dict(zip(model.state_dict(), ref.state_dict().values(), strict=True)))
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        for a, b in zip(model(x), ref(x), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# -- the commands -----------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_export_verify(name, cli, tmp_path):
    pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    out = tmp_path / f"{name}.onnx"
    code, _, err = cli("export", SPECS / f"{name}.arch", "-o", out, "--verify")
    assert code == 0, err
    assert "max rel diff" in err
    model = onnx.load(str(out), load_external_data=False)
    names = [o.name for o in model.graph.output]
    assert names == (["coarse", "fine"] if name == "yolov3_tiny" else ["output"])
    dims = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output]
    assert dims == [["batch", *s] for s in GALLERY_V2[name].outputs]


@pytest.mark.parametrize("name", NAMES)
def test_render_dot_and_volume(name, cli, tmp_path):
    dot, svg = tmp_path / f"{name}.dot", tmp_path / f"{name}.svg"
    code, _, err = cli("render", SPECS / f"{name}.arch", "-o", dot)
    assert code == 0, err
    assert dot.read_text(encoding="utf-8").lstrip().startswith("digraph")
    code, _, err = cli("render", SPECS / f"{name}.arch", "--style", "volume", "-o", svg)
    assert code == 0, err
    assert "<svg" in svg.read_text(encoding="utf-8")


def test_gallery_table_in_readme_lists_the_new_specs():
    text = Path(ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## The gallery", 1)[1].split("\n## ", 1)[0]
    for name, fig in GALLERY_V2.items():
        row = next((line for line in table.splitlines() if f"(specs/{name}.arch)" in line), None)
        assert row is not None, name
        assert f"{fig.params:,}" in row and f"{fig.macs:,}" in row, name
