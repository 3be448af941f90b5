"""The transformer gallery (ViT-B/16 and B/32, ConvNeXt-T, Swin-T, Swin-V2-T,
MaxViT-T, a tiny ViT for 32x32 and a small text classifier), asserted to the unit:
torchvision's figures (benchmarks/reference/figures.json), the figures and
every weighted layer of the plain-PyTorch references in
tests/vit_references.py (measured here with forward hooks and
FlopCounterMode, not copied), the built module's counts, its outputs with
the reference's (or torchvision's) weights, `export --verify` and `render`.

torchvision does not import in the project venv; where it does, its models
are compared directly, and otherwise the figures below are the contract."""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import archdsl
from archdsl.backends.report.rows import table_rows
from archdsl.core.shapes import Tokens, is_tokens

from .conftest import ROOT, SPECS

REFERENCE = ROOT / "benchmarks" / "reference"


@dataclass(frozen=True)
class Figures:
    params: int
    macs: int  # conv + linear
    attention: int  # the attention matmuls
    input: tuple[int, ...]
    output: tuple[int, ...]
    torchvision: str | None = None
    buffers: int = 0  # BatchNorm's running mean and variance


GALLERY_VIT = {
    "vit_b_16": Figures(86_567_656, 16_848_500_736, 715_327_488, (3, 224, 224), (1000,), "vit_b_16"),
    "vit_b_32": Figures(88_224_232, 4_363_106_304, 46_080_000, (3, 224, 224), (1000,), "vit_b_32"),
    "convnext_tiny": Figures(28_589_128, 4_455_531_264, 0, (3, 224, 224), (1000,), "convnext_tiny"),
    "swin_t": Figures(28_288_354, 4_350_425_088, 140_141_568, (3, 224, 224), (1000,), "swin_t"),
    "swin_v2_t": Figures(28_351_570, 4_722_981_888, 215_482_368, (3, 224, 224), (1000,), "swin_v2_t"),
    "maxvit_t": Figures(30_919_624, 5_381_025_792, 177_020_928, (3, 224, 224), (1000,), "maxvit_t", 47_616),
    "vit_tiny_cifar": Figures(2_693_578, 173_115_264, 9_734_400, (3, 32, 32), (10,)),
    "text_transformer": Figures(1_677_058, 25_166_080, 2_097_152, (64,), (2,)),
}
NAMES = sorted(GALLERY_VIT)
TORCHVISION = [n for n in NAMES if GALLERY_VIT[n].torchvision]


def _net(name: str, **options) -> archdsl.Network:
    return archdsl.load(SPECS / f"{name}.arch", **options)


# -- the analysis -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_figures_to_the_unit(name):
    net, fig = _net(name), GALLERY_VIT[name]
    t = net.totals
    assert (t.params, t.buffers, t.macs, t.attention_macs) == (fig.params, fig.buffers, fig.macs, fig.attention)
    assert net.input_shape == fig.input and net.output_shape == fig.output
    assert net.warnings == []


@pytest.mark.parametrize("name", TORCHVISION)
def test_figures_equal_the_recorded_torchvision_figures(name):
    """benchmarks/reference/figures.json: torchvision 0.29.1, weights=None, 3x224x224."""
    recorded = json.loads((REFERENCE / "figures.json").read_text(encoding="utf-8"))[name]
    t = _net(name).totals
    assert (t.params, t.buffers, t.macs, t.attention_macs) == (
        recorded["params"], recorded["buffers"], recorded["macs_conv_linear"], recorded["macs_attention"])


def test_vit_b_16_is_torchvisions_documented_gflops():
    """torchvision documents 17.56 GFLOPS for vit_b_16: conv + linear and attention together."""
    t = _net("vit_b_16").totals
    assert t.macs + t.attention_macs == 17_563_828_224
    assert round((t.macs + t.attention_macs) / 1e9, 3) == 17.564


def test_swin_v2_at_its_own_size_pads_nothing():
    """At 256 (torchvision's evaluation size for swin_v2_t) every map is whole 8x8 windows."""
    recorded = json.loads((REFERENCE / "figures.json").read_text(encoding="utf-8"))["swin_v2_t@256"]
    net = _net("swin_v2_t", input_shape=(3, 256, 256))
    assert (net.totals.macs, net.totals.attention_macs) == (recorded["macs_conv_linear"], recorded["macs_attention"])
    assert all(layer.node.op.padded == layer.node.op.grid for layer in net.layers if layer.op == "windowattention")


LAYER_SHAPES = {
    "vit_b_16": {"conv_proj": (768, 14, 14), "tokens1": (196, 768), "class_token": (197, 768),
                 "encoder.encoderblock1.self_attention": (197, 768), "encoder.encoderblock12.mlp.fc1": (197, 3072),
                 "select1": (768,), "head": (1000,)},
    "swin_t": {"tokens1": (56, 56, 96), "merge1": (28, 28, 192), "merge3": (7, 7, 768), "untokens1": (768, 7, 7),
               "s3b5.attn": (14, 14, 384)},
    "text_transformer": {"embedding1": (64, 128), "tokenpool1": (128,)},
}


@pytest.mark.parametrize("name", sorted(LAYER_SHAPES))
def test_layer_shapes(name):
    net = _net(name)
    for layer, shape in LAYER_SHAPES[name].items():
        assert net.layer(layer).output_shape == shape, layer


@pytest.mark.parametrize("name", NAMES)
def test_rows_add_up_to_totals(name):
    net = _net(name)
    t = net.totals
    assert sum(layer.attention_macs for layer in net.layers) == t.attention_macs
    extra = sum(layer.intermediates for layer in net.layers)
    assert sum(math.prod(layer.output_shape) for layer in net.layers[1:]) + extra == t.activation_elements
    for depth in (0, 1):
        rows = table_rows(net, depth)
        assert sum(r.attention_macs for r in rows) == t.attention_macs
        assert sum(r.macs for r in rows) == t.macs


def test_attention_maps_are_in_the_activation_memory():
    """Each ViT-B/16 layer keeps q, k, v (3 x 197 x 768), the 12 x 197 x 197 maps and the merged heads."""
    layer = _net("vit_b_16").layer("encoder.encoderblock1.self_attention")
    op = layer.node.op
    parts = op.intermediates(layer.node.in_shapes, layer.output_shape)
    assert parts == {"q, k, v": 3 * 197 * 768, "attention maps": 12 * 197 * 197, "heads merged": 197 * 768}
    assert layer.intermediates == sum(parts.values())


def test_receptive_field_of_attention_is_the_whole_image_and_never_a_guess():
    """ViT: each token reads its 16x16 patch until the first attention, then all
    224x224 (and stays there); Swin's shifted windows have no field true for
    every token until one window covers the map, so none is reported."""
    vit = _net("vit_b_16")
    assert vit.layer("class_token").receptive_field == (16, 16)
    assert vit.layer("encoder.encoderblock1.self_attention").receptive_field == (224, 224)
    assert vit.layer("encoder.encoderblock12.add2").receptive_field == (224, 224)
    assert vit.layer("head").receptive_field == (224, 224)
    swin = _net("swin_t")
    assert swin.layer("layernorm1").receptive_field == (4, 4)
    assert swin.layer("s1b0.attn").receptive_field is None
    assert swin.layer("head").receptive_field is None


def test_json_says_which_axes_and_splits_the_macs():
    doc = _net("vit_b_16").to_dict()
    by_name = {entry["name"]: entry for entry in doc["layers"]}
    attn = by_name["encoder.encoderblock1.self_attention"]
    assert attn["output_axes"] == ["tokens", "features"] and attn["attention_macs"] == 59_610_624
    assert attn["macs"] == 4 * 197 * 768 ** 2
    assert "output_axes" not in by_name["conv_proj"] and "attention_macs" not in by_name["conv_proj"]
    assert doc["totals"]["attention_macs"] == 715_327_488
    assert doc["totals"]["macs_with_attention"] == 17_563_828_224
    swin = {e["name"]: e for e in _net("swin_t").to_dict()["layers"]}
    assert swin["merge1"]["output_axes"] == ["height", "width", "features"]


def test_folded_table_has_one_row_per_encoder_block_and_the_macs_split():
    text = _net("vit_b_16").summary(depth=1)
    header = next(line for line in text.splitlines() if "Layer" in line)
    assert "Output (CxHxW; tokens LxD)" in header and "Attn MACs" in header
    rows = [line for line in text.splitlines() if "EncoderBlock(12, 3072)" in line]
    assert len(rows) == 12 and all("59,610,624" in r and "1,394,343,936" in r for r in rows)
    assert re.search(r"Attention MACs \(q @ k\^T, attn @ v\) +715,327,488 \(715M\)", text)
    assert re.search(r"MACs with attention +17,563,828,224 \(17.6G\)", text)


def test_check_imports_no_torch():
    code = ("import sys, archdsl; archdsl.load(sys.argv[1]); "
            "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules), 'torch imported'")
    for name in ("vit_b_16", "swin_v2_t"):
        subprocess.run([sys.executable, "-c", code, str(SPECS / f"{name}.arch")], check=True, cwd=ROOT)


def test_check_is_linear_in_the_number_of_layers():
    """A ViT 8 times as deep analyses in about 8 times the time (nothing quadratic in layers)."""
    import time

    def seconds(depth: int) -> float:
        text = (f'use "std/transformer.arch"\nnetwork V {{ input 3x32x32; conv 64 k=4 s=4; tokens; classtoken; '
                f"posembed; repeat {depth} {{ EncoderBlock(4, 128) }}; select 0; fc 10 }}")
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            net = archdsl.loads(text, base=ROOT)
            best = min(best, time.perf_counter() - start)
        assert len(net.layers) > 10 * depth
        return best

    assert seconds(96) < 20 * max(seconds(12), 1e-3)


# -- the references: layer by layer ------------------------------------------------------------

_WEIGHTED = ("conv", "fc", "bn", "layernorm", "attention", "windowattention", "patchmerge", "embedding")


def _reference(name):
    pytest.importorskip("torch")
    from tests import vit_references
    return vit_references


def _measure(model, x):
    """Every weighted unit in execution order (kind, output shape, params), and the
    conv+linear and attention MACs from FlopCounterMode (SDPA's math path)."""
    import torch
    from torch import nn
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from tests import vit_references as R
    kinds = {nn.Conv2d: "conv", nn.Linear: "fc", nn.LayerNorm: "layernorm", nn.MultiheadAttention: "attention",
             R.WindowAttention: "windowattention", R.PatchMerging: "patchmerge", nn.Embedding: "embedding",
             nn.BatchNorm2d: "bn", R.PartitionAttention: "windowattention"}
    units = {m for m in model.modules() if type(m) in kinds or type(m) is R.LayerNorm2d}
    inner = {c for m in units for c in m.modules() if c is not m}
    rows, handles = [], []

    def hook(module, args, out):
        out = out[0] if isinstance(out, tuple) else out
        kind = "layernorm" if isinstance(module, nn.LayerNorm) else kinds[type(module)]
        rows.append((kind, tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())))

    for m in units - inner:
        handles.append(m.register_forward_hook(hook))
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model.eval()(x[:1])  # batch 1: Swin v2's position-bias MLP runs once whatever the batch
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()["Global"].items()
    flops = {str(op).split(".")[-1] if "." in str(op) else str(op): n for op, n in counts}
    dense = sum(n for op, n in flops.items() if op in ("convolution", "mm", "addmm"))
    attention = sum(n for op, n in flops.items() if op in ("bmm", "baddbmm"))
    return rows, dense // 2, attention // 2


def _example(name):
    import torch
    shape = GALLERY_VIT[name].input
    torch.manual_seed(0)
    if name == "text_transformer":
        return torch.randint(0, 10000, (2, *shape))
    return torch.randn(2, *shape)


@pytest.mark.parametrize("name", NAMES)
def test_every_weighted_layer_matches_the_reference(name):
    """Every conv, fc, layernorm, attention, window attention, patch merging and
    embedding, in execution order: the same kind, output shape and parameters as
    the reference module's call; and its conv+linear and attention MACs (counted
    by torch's FlopCounterMode) are the spec's."""
    R = _reference(name)
    make, _ = R.REFERENCES[name]
    import torch
    torch.manual_seed(0)
    rows, dense, attention = _measure(make(), _example(name))
    net = _net(name)
    ours = [(layer.op, tuple(layer.output_shape), layer.params) for layer in net.layers if layer.op in _WEIGHTED]
    assert len(ours) == len(rows)
    for i, (a, b) in enumerate(zip(ours, rows, strict=True)):
        assert a == b, f"weighted layer {i}"
    assert (dense, attention) == (net.totals.macs, net.totals.attention_macs)


@pytest.mark.parametrize("name", NAMES)
def test_built_module_counts_and_forward(name):
    torch = pytest.importorskip("torch")
    fig = GALLERY_VIT[name]
    model = archdsl.build(SPECS / f"{name}.arch").eval()
    assert sum(p.numel() for p in model.parameters()) == fig.params
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    assert running == fig.buffers
    with torch.no_grad():
        out = model(_example(name))
    assert tuple(out.shape) == (2, *fig.output) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["vit_b_32", "vit_tiny_cifar", "text_transformer", "convnext_tiny", "swin_t",
                                  "swin_v2_t", "maxvit_t"])
def test_the_references_weights_give_the_references_outputs(name):
    """The reference's parameters, loaded one to one into the built module,
    give the same outputs: the generated attention, windows, shifts, masks,
    position biases and patch merging compute what the reference computes."""
    torch = pytest.importorskip("torch")
    R = _reference(name)
    make, _ = R.REFERENCES[name]
    torch.manual_seed(1)
    ref = make().eval()
    for p in ref.parameters():  # not the initial values (zeros, ones, 1e-6 scales), so that order matters
        p.data.normal_(0, 0.05)
    model = archdsl.build(SPECS / f"{name}.arch").eval()
    theirs, mine = list(ref.parameters()), list(model.named_parameters())
    assert [tuple(t.shape) == tuple(v.shape) or t.numel() == v.numel() for t, (_, v) in zip(theirs, mine,
            strict=True)] == [True] * len(mine)
    model.load_state_dict({k: t.detach().reshape(v.shape) for (k, v), t in zip(mine, theirs, strict=True)},
                          strict=False)
    x = _example(name)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", TORCHVISION)
def test_against_torchvision(name):
    """Where torchvision imports (not in the project venv): its parameters under the
    spec's names (tests/vit_references.py translates the keys), and the same logits."""
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    from tests.vit_references import REFERENCES, torchvision_state
    theirs = getattr(models, GALLERY_VIT[name].torchvision)(weights=None).eval()
    reference = REFERENCES[name][0]()
    assert sum(p.numel() for p in theirs.parameters()) == sum(p.numel() for p in reference.parameters()) \
        == GALLERY_VIT[name].params
    ours = archdsl.build(SPECS / f"{name}.arch").eval()
    state = torchvision_state(name, theirs)
    mine = {k: v for k, v in ours.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(state) == set(mine)
    ours.load_state_dict({k: state[k].reshape(v.shape) for k, v in mine.items()}, strict=False)
    x = _example(name)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-4)


# -- the commands ---------------------------------------------------------------------------

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
    dims = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output]
    assert dims == [["batch", *GALLERY_VIT[name].output]]


@pytest.mark.parametrize("name", NAMES)
def test_render_dot_and_volume(name, cli, tmp_path):
    dot, svg = tmp_path / f"{name}.dot", tmp_path / f"{name}.svg"
    code, _, err = cli("render", SPECS / f"{name}.arch", "--collapse", "-o", dot)
    assert code == 0, err
    assert dot.read_text(encoding="utf-8").lstrip().startswith("digraph")
    code, _, err = cli("render", SPECS / f"{name}.arch", "--style", "volume", "-o", svg)
    assert code == 0, err
    assert "<svg" in svg.read_text(encoding="utf-8")


def test_diagrams_fold_the_encoder_stack_and_draw_tokens_as_a_sequence():
    from archdsl.backends.render.dot import render_dot
    from archdsl.backends.render.volume import render_volume
    net = _net("vit_b_16")
    assert "EncoderBlock(12, 3072) \u00d712" in render_dot(net, collapse=True).text
    svg = render_volume(net, collapse=True).svg
    assert "EncoderBlock" in svg and "\u00d712" in svg and "+ 715M attention" in svg
    assert svg.count("\u2026") >= 2  # the sequences: a few tokens, an ellipsis, the last


def test_generated_vit_reads_like_torchvision():
    source = archdsl.generate_source(_net("vit_b_16")) if hasattr(archdsl, "generate_source") else None
    if source is None:
        from archdsl.backends.torch.codegen import generate_source
        source = generate_source(_net("vit_b_16"))
    assert "nn.MultiheadAttention(768, heads, batch_first=True)" in source
    assert "need_weights=False)[0]" in source
    assert "class EncoderBlock(nn.Module):" in source and "class MLPBlock(nn.Module):" in source
    assert "x = x[:, 0]  # N x 768" in source


def test_train_runs_on_the_bundled_digits(cli, tmp_path, monkeypatch):
    """`archdsl train specs/vit_tiny_cifar.arch --data digits --resize --epochs 1`, cut to
    a few optimiser steps (--max-steps) to keep the test short."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("train", SPECS / "vit_tiny_cifar.arch", "--data", "digits", "--resize", "--epochs", "1",
                         "--max-steps", "3", "--progress", "quiet", "--no-report")
    assert code == 0, err
    assert (tmp_path / "runs" / "ViT_Tiny_CIFAR" / "last.pt").exists()


def test_gallery_tables_list_the_specs():
    readme = Path(ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The gallery", 1)[1].split("\n## ", 1)[0]
    specs = (SPECS / "README.md").read_text(encoding="utf-8")
    for name, fig in GALLERY_VIT.items():
        for text in (table, specs):
            row = next((line for line in text.splitlines() if f"{name}.arch)" in line), None)
            assert row is not None, name
            assert f"{fig.params:,}" in row and f"{fig.macs:,}" in row, name


def test_tokens_print_the_same_in_either_layout():
    net = _net("swin_t")
    assert net.layer("merge1").output_shape == Tokens((28, 28, 192)) and is_tokens(net.layer("merge1").output_shape)
    text = net.summary(layout="hwc", depth=0)
    assert "28x28x192" in text and "56x56x3" not in text
