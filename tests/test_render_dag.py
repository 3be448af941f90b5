"""Diagrams of networks that are graphs, not chains (issue 8.8), and the slide
options of `archdsl render` (issue 15.6-15.8): U-Net as a U in both styles,
skips as red arcs, several inputs and outputs, --fuse, --aspect, --scale,
the volume style as PNG and PDF, every new layer kind drawn."""
from __future__ import annotations

import io
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archdsl
from archdsl.backends.render import dag
from archdsl.backends.render.dot import render_dot
from archdsl.backends.render.graphviz import find_dot, run_dot
from archdsl.backends.render.notation import describe
from archdsl.backends.render.volume import render_volume
from archdsl.backends.render.volume_items import Scale, text_w
from archdsl.cli import main

from .conftest import ROOT

SVG = "{http://www.w3.org/2000/svg}"
HERE = Path(__file__).resolve().parent / "render_specs"
needs_dot = pytest.mark.skipif(find_dot() is None, reason="needs Graphviz's dot")
try:
    import cairosvg  # noqa: F401
    HAVE_CAIRO = True
except (ImportError, OSError):
    HAVE_CAIRO = False
needs_cairo = pytest.mark.skipif(not HAVE_CAIRO, reason="needs CairoSVG (pip install 'archdsl[render]')")
_NETS: dict = {}


def net_of(name: str, network: str | None = None) -> archdsl.Network:
    key = (name, network)
    if key not in _NETS:
        path = HERE / f"{name}.arch" if (HERE / f"{name}.arch").exists() else ROOT / f"specs/{name}.arch"
        _NETS[key] = archdsl.load(path, network=network) if network else archdsl.load(path)
    return _NETS[key]


def plain_layout(text: str) -> dict[str, tuple[float, float]]:
    """Node centres (inches, y up) from `dot -Tplain`."""
    out = subprocess.run([find_dot(), "-Tplain"], input=text.encode(), capture_output=True, check=True).stdout
    where = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            where[parts[1]] = (float(parts[2]), float(parts[3]))
    return where


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# -- the graph analysis shared by both styles ---------------------------------------------------

def test_spine_skips_and_u_of_a_small_dag():
    # a -> b -> ... -> i, with skips b -> h and c -> x -> g (nested); e is the deepest
    v = list("abcdefghi")
    edges = list(zip(v, v[1:], strict=False)) + [("b", "h"), ("c", "x"), ("x", "g")]
    v.insert(3, "x")
    shape = dag.analyse(v, edges, "a", ["i"], depth=lambda n: {"e": 9}.get(n, 0))
    assert shape.spine == list("abcdefghi")
    assert [(s.start, s.end, s.side) for s in shape.nested] == [("b", "h", []), ("c", "g", ["x"])]
    assert shape.turn == "e"


def test_one_skip_or_sequential_skips_make_no_u():
    v = list("abcdefghij")
    chain = list(zip(v, v[1:], strict=False))
    assert not dag.analyse(v, chain + [("a", "e")], "a", ["j"]).is_u
    assert not dag.analyse(v, chain + [("a", "e"), ("e", "i")], "a", ["j"]).is_u  # residual-like


# -- graph style ----------------------------------------------------------------------------------

def test_unet_graph_pairs_each_encoder_level_with_its_decoder():
    net = net_of("unet")
    text = render_dot(net, collapse=True).text
    ranks = re.findall(r"\{rank=same; ([^}]*)\}", text)
    ids = {f.scope.name: f"f{f.scope.index}" for f in [_fold(net, s) for s in net.graph.scopes if s.name]}
    assert ranks == [f"{ids['e1']}; {ids['d1']}", f"{ids['e2']}; {ids['d2']}", f"{ids['e3']}; {ids['d3']}",
                     f"{ids['e4']}; {ids['d4']}"]
    assert text.count("dir=back") == 5  # bottom -> d4 -> d3 -> d2 -> d1 -> head, written upwards
    assert text.count('color="#C73E55", penwidth=1.6') == 4  # the four skips, red


def _fold(net, scope):
    from archdsl.backends.render.structure import fold
    return fold(scope)


@needs_dot
@pytest.mark.parametrize("collapse", [True, False])
def test_unet_graph_is_laid_out_as_a_u(collapse):
    net = net_of("unet")
    where = plain_layout(render_dot(net, collapse=collapse).text)
    rep = {}
    for name in ("e1", "e2", "e3", "e4", "d1", "d2", "d3", "d4"):
        scope = next(s for s in net.graph.scopes if s.name == name)
        last = scope.nodes()[-1] if name.startswith("e") else next(
            n for n in scope.nodes() if n.keyword == "concat")
        rep[name] = f"f{scope.index}" if collapse else f"n{last.index}"
    for i in range(1, 5):
        e, d = where[rep[f"e{i}"]], where[rep[f"d{i}"]]
        assert abs(e[1] - d[1]) < 0.01, i  # the skip runs straight across
        assert e[0] < d[0]  # encoder left, decoder right
    ys = [where[rep[f"e{i}"]][1] for i in range(1, 5)]
    assert ys == sorted(ys, reverse=True)  # e1 at the top, going down (dot's y points up)
    bottom = where[f"n{net.graph.nodes[-1].index}"]
    assert bottom[1] > where[rep["d4"]][1]  # the output is at the top of the decoder, not the bottom


def test_chain_goldens_unchanged_by_the_dag_layout():
    """No gallery chain gets a U, a skip colour or rank lines it did not have."""
    for spec in ("alexnet", "vgg16", "resnet50", "googlenet"):
        text = render_dot(net_of(spec)).text
        assert "dir=back" not in text and "penwidth=1.6" not in text


def test_se_block_skip_is_red_and_stays_a_chain():
    text = render_dot(net_of("se")).text
    assert text.count('color="#C73E55", penwidth=1.6') == 2 and "dir=back" not in text
    assert "hardsigmoid" in text and ">mul<" in text


def test_several_inputs_and_outputs_are_marked():
    heads = render_dot(net_of("two_heads")).text
    assert "output <B>coarse</B>" in heads and "output <B>fine</B>" in heads
    assert "input image" in heads
    assert "18\u00d716\u00d716, 18\u00d732\u00d732" in heads  # both outputs in the title
    meta = render_dot(net_of("two_inputs")).text
    assert "input image" in meta and "input meta" in meta
    assert "output <B>" not in render_dot(net_of("alexnet")).text  # one unnamed output: no marker


@needs_dot
def test_two_heads_svg_has_both_markers_as_nodes():
    root = ET.fromstring(run_dot(render_dot(net_of("two_heads")).text, "svg"))
    titles = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert "o0" in titles and "o1" in titles


def test_fuse_draws_conv_bn_relu_as_one_node():
    net = net_of("alexnet")
    fused = render_dot(net, fuse=True)
    assert fused.nodes == 13  # 25 layers: 8 conv/fc swallow their relu, lrn and dropout
    assert "conv 96, 11\u00d711 /4 + relu + lrn 5" in fused.text
    text = render_dot(net_of("miniresnet"), fuse=True).text
    assert "+ bn + relu" in text
    legend = fused.text.split("</TR>")[1]
    assert "activation" not in legend and "normalisation" not in legend  # only the colours drawn


def test_batchnorm_pill_says_what_its_number_is():
    text = render_dot(net_of("resnet50")).text
    assert re.search(r'batchnorm  <FONT POINT-SIZE="10" COLOR="#5F6368">128 params</FONT>', text)


@needs_dot
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("fuse", [False, True])
def test_aspect_wraps_alexnet_to_a_slide(rankdir, fuse):
    net = net_of("alexnet")
    plain = png_size(run_dot(render_dot(net, rankdir=rankdir, fuse=fuse).text, "png"))
    w, h = png_size(run_dot(render_dot(net, rankdir=rankdir, fuse=fuse, aspect=16 / 9).text, "png"))
    assert 1.25 < w / h < 2.5, (w, h)  # 16:9 is 1.78; AlexNet was 1020x2454 (TB) and 4576x290 (LR)
    before = plain[0] / plain[1]
    assert abs(math.log(w / h / (16 / 9))) < abs(math.log(before / (16 / 9)))


def test_aspect_keeps_the_order_of_segments():
    text = render_dot(net_of("alexnet"), aspect=16 / 9).text
    chain = re.search(r"\{rank=same; (n0 -> [^\[]*) \[style=invis\]\}", text).group(1).split(" -> ")
    assert len(chain) >= 3 and [int(c[1:]) for c in chain] == sorted(int(c[1:]) for c in chain)
    assert text.count("constraint=false") == len(chain) - 1


# -- volume style ---------------------------------------------------------------------------------

def _svg(net, **kw):
    return ET.fromstring(render_volume(net, **kw).svg)


def test_unet_volume_is_a_u_with_straight_skips():
    root = _svg(net_of("unet"))
    skips = [ln for ln in root.iter(f"{SVG}line") if ln.get("marker-end") == "url(#skip)"]
    assert len(skips) == 4
    assert all(ln.get("y1") == ln.get("y2") for ln in skips)  # straight across their level
    ys = sorted(float(ln.get("y1")) for ln in skips)
    assert len(set(ys)) == 4  # one per level
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("fill") == "#C73E55" and t.text.startswith("@")]
    assert sorted(labels) == ["@e1", "@e2", "@e3", "@e4"]
    w, h = float(root.get("width")), float(root.get("height"))
    assert w / h < 2.5


def test_se_volume_draws_the_gate_skip_as_arcs():
    root = _svg(net_of("se"))
    arcs = [p for p in root.iter(f"{SVG}path") if p.get("marker-end") == "url(#skip)"]
    assert len(arcs) == 2 and all(" Q" in p.get("d") for p in arcs)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts.count("@x") == 2 and texts.count("\u00d7") == 2  # the mul glyphs


def test_arcs_nest_instead_of_crossing():
    root = _svg(net_of("two_heads"))
    arcs = [p.get("d") for p in root.iter(f"{SVG}path") if p.get("marker-end") == "url(#skip)"]
    assert len(arcs) == 2
    spans = []
    for d in arcs:
        xs = [float(v) for v in re.findall(r"[ML](-?[\d.]+),", d)]
        peak = float(re.search(r"Q[\d.]+,([\d.]+)", d).group(1))
        spans.append((min(xs), max(xs), peak))
    (a0, a1, ay), (b0, b1, by) = sorted(spans, key=lambda s: s[1] - s[0])
    assert b0 <= a0 and a1 <= b1 and by < ay  # the longer arc is outside and above the shorter


def test_volume_tags_named_outputs_and_inputs():
    texts = [t.text for t in _svg(net_of("two_heads")).iter(f"{SVG}text")]
    assert "coarse" in texts and "fine" in texts and "@c4" in texts and "@c3" in texts
    assert "image" in [t.text for t in _svg(net_of("two_inputs")).iter(f"{SVG}text")]


def _kernel_squares(root) -> int:
    return sum(1 for r in root.iter(f"{SVG}rect") if r.get("fill-opacity") == "0.55")


def test_wrapped_row_keeps_the_window_square_of_its_first_layer():
    net = net_of("vgg16")
    root = _svg(net)
    windowed = [n for n in net.graph.nodes if n.keyword in ("conv", "maxpool")]
    assert _kernel_squares(root) == len(windowed)  # every conv and pool, the one after the wrap too
    ghosts = [g for g in root.iter(f"{SVG}g") if g.get("stroke-dasharray") == "3,2"]
    assert len(ghosts) == 1  # the faded copy of the map the new row starts from


def test_title_and_subtitle_do_not_overlap():
    for spec in ("vgg16", "alexnet", "unet", "googlenet"):
        texts = list(_svg(net_of(spec)).iter(f"{SVG}text"))
        title, sub = texts[0], texts[1]
        assert float(sub.get("x")) >= float(title.get("x")) + text_w(title.text, 18, bold=True) + 8


def _front_heights(root) -> dict[str, float]:
    """The front face of each box, by the shape written under it."""
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("fill") and r.get("fill-opacity") is None
             and r.get("rx") is None and r.get("width") != "100%"]
    return [float(r.get("height")) for r in rects]


@pytest.mark.parametrize("scale, ratio", [("log", 1.44), ("sqrt", 55 ** 0.5 / 13 ** 0.5), ("linear", 55 / 13)])
def test_scale_sets_how_map_sizes_compare(scale, ratio):
    s = Scale(scale, most_size=227, most_chan=384)
    assert s.size(55) / s.size(13) == pytest.approx(ratio, rel=0.02)
    net = net_of("alexnet")
    conv1, conv5 = net.layer("conv1").node, net.layer("conv5").node
    assert conv1.shape[1] == 55 and conv5.shape[1] == 13
    assert ET.fromstring(render_volume(net, scale=scale).svg) is not None


def test_linear_scale_draws_55_four_times_as_tall_as_13():
    heights = _front_heights(_svg(net_of("alexnet"), scale="linear"))
    # input 227, conv1 55, pool1 27, conv2 27, pool2 13, conv3-5 13, pool5 6
    assert heights[1] / heights[4] == pytest.approx(55 / 13, rel=0.03)


def test_scale_must_be_known():
    with pytest.raises(ValueError):
        render_volume(net_of("alexnet"), scale="cubic")


@pytest.mark.parametrize("network", ["Kinds", "Words"])
def test_every_new_kind_is_drawn_in_both_styles(network):
    net = net_of("kinds", network)
    notes = {n.keyword: describe(n) for n in net.graph.nodes}
    assert "(invalid)" not in " ".join(notes.values())
    dot = render_dot(net).text
    svg = render_volume(net).svg
    ET.fromstring(svg)
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    if network == "Kinds":
        assert notes["convtranspose"] == "convtranspose 8, 2\u00d72 \u21912"
        assert notes["upsample"] == "upsample \u00d72 bilinear"
        assert notes["crop"] == "crop \u2192 48\u00d748"
        for word in ("convtranspose 8", "upsample", "crop", "pad p1", "split", "permute", "reshape"):
            assert word in texts, word
        assert "8 + 8" in texts and "(1, 2, 0)" in texts  # the split's parts; permute not broken at a comma
        assert "shuffle g2" in dot and "layernorm" in dot and "stochastic depth 0.1" in dot
    else:
        assert "embedding 1,000 \u2192 32" in texts and "words" in texts


def test_volume_is_deterministic_for_dags():
    for name in ("unet", "se", "two_heads"):
        assert render_volume(net_of(name)).svg == render_volume(net_of(name)).svg


# -- volume PNG and PDF ----------------------------------------------------------------------------

@needs_cairo
@pytest.mark.parametrize("spec", ["alexnet", "unet"])
def test_volume_png_has_the_svg_size_at_144_dpi(tmp_path, spec, capsys):
    net = net_of(spec)
    drawing = render_volume(net)
    target = tmp_path / "v.png"
    path = HERE / f"{spec}.arch" if (HERE / f"{spec}.arch").exists() else ROOT / f"specs/{spec}.arch"
    assert main(["render", str(path), "--style", "volume", "-o", str(target)]) == 0
    w, h = png_size(target.read_bytes())
    assert (w, h) == (round(drawing.width * 2), round(drawing.height * 2))
    assert w / h == pytest.approx(drawing.width / drawing.height, rel=0.01)
    assert f"({'volume'}, {w}\u00d7{h} px)" in capsys.readouterr().err


@needs_cairo
def test_volume_png_pixels_are_drawn():
    from PIL import Image

    from archdsl.backends.render.raster import svg_to
    img = Image.open(io.BytesIO(svg_to(render_volume(net_of("lenet5")).svg, "png"))).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20)
    assert len(colours) > 20  # text, boxes and shading, not a blank page


@needs_cairo
def test_volume_pdf(tmp_path):
    target = tmp_path / "v.pdf"
    assert main(["render", str(ROOT / "specs/alexnet.arch"), "--style", "volume", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"%PDF")


def test_volume_png_without_cairosvg_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # import cairosvg raises ImportError
    target = tmp_path / "v.png"
    assert main(["render", str(ROOT / "specs/alexnet.arch"), "--style", "volume", "-o", str(target)]) == 2
    assert not target.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CairoSVG" in err[0] and "pip install cairosvg" in err[0]


@pytest.mark.parametrize("argv", [
    ["--style", "volume", "-o", "x.dot"],
    ["--aspect", "16:0", "-o", "x.dot"],
    ["--aspect", "wide", "-o", "x.dot"],
    ["--scale", "cubic", "--style", "volume", "-o", "x.svg"],
])
def test_bad_slide_options_are_usage_errors(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["render", str(ROOT / "specs/alexnet.arch"), *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2


def test_volume_aspect_wraps_to_the_asked_shape():
    net = net_of("alexnet")
    wide = render_volume(net, aspect=4.0)
    square = render_volume(net, aspect=1.0)
    assert wide.width / wide.height > square.width / square.height
