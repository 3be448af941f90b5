"""`archdsl render`: golden DOT for the gallery, SVG that parses and has a node
per layer, the volume style for every spec, determinism, and the fallback
when Graphviz is missing."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archdsl
from archdsl.backends.render.dot import render_dot
from archdsl.backends.render.graphviz import find_dot, run_dot
from archdsl.backends.render.notation import describe
from archdsl.backends.render.structure import drawn, fold, foldable, root
from archdsl.backends.render.volume import render_volume
from archdsl.cli import main
from archdsl.core.ir import Scope, ScopeKind

from .conftest import GALLERY, ROOT

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(find_dot() is None, reason="needs Graphviz's dot")
_NETS: dict[Path, archdsl.Network] = {}


def net_of(path: Path) -> archdsl.Network:
    if path not in _NETS:
        _NETS[path] = archdsl.load(path)
    return _NETS[path]


def folds_and_nodes(net) -> int:
    """How many figures --collapse draws: outermost blocks/repeats plus the layers outside them."""
    def count(scope) -> int:
        n = 0
        for child in filter(drawn, scope.children):
            if foldable(child):
                n += 1
            elif isinstance(child, Scope):
                n += count(child)
            else:
                n += 1
        return n
    return count(root(net.graph))


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_golden_dot(spec, golden):
    golden(f"dot/{spec.stem}.dot", render_dot(net_of(spec)).text)


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_volume_renders_every_spec(spec):
    svg = render_volume(net_of(spec)).svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert net_of(spec).name in texts
    assert float(root.get("width")) > 100 and float(root.get("height")) > 100


def test_volume_collapsed_shows_repeat_count():
    svg = render_volume(net_of(ROOT / "specs/resnet50.arch"), collapse=True).svg
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "Bottleneck" in texts and "(1024) \u00d75" in texts and "(1024, s=2)" in texts


def test_lecture_notation():
    net = net_of(ROOT / "specs/alexnet.arch")
    assert describe(net.layer("conv1").node) == "conv 96, 11\u00d711 /4"
    assert describe(net.layer("conv2").node) == "conv 256, 5\u00d75 p2"
    assert describe(net.layer("pool1").node) == "maxpool 3\u00d73 /2"
    assert describe(net.layer("fc6").node) == "fc 4096"


def test_collapse_folds_repeats_with_count_and_subtotals():
    net = net_of(ROOT / "specs/resnet50.arch")
    dot = render_dot(net, collapse=True).text
    assert "Bottleneck(1024) \u00d75" in dot
    repeat = next(c for c in root(net.graph).children if foldable(c) and c.kind == ScopeKind.REPEAT)
    f = fold(repeat)
    assert (f.title, f.count) == ("Bottleneck(256)", 2)
    assert f"{net.subtotal(repeat).params:,} params" in dot  # exact figure in the tooltip


def test_residual_skip_and_shortcut_drawn():
    dot = render_dot(net_of(ROOT / "specs/resnet50.arch")).text
    assert "identity</FONT>" in dot  # the identity skip of a non-projecting block
    assert "projection shortcut" in dot


def test_rankdir_and_layout():
    net = net_of(ROOT / "specs/alexnet.arch")
    assert "rankdir=LR" in render_dot(net, rankdir="LR").text
    assert "55\u00d755\u00d796" in render_dot(net, layout="hwc").text
    with pytest.raises(ValueError):
        render_dot(net, rankdir="BT")


def test_dot_deterministic_across_processes(tmp_path):
    outs = []
    for seed in ("1", "2"):
        target = tmp_path / f"g{seed}.dot"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-m", "archdsl", "render", str(ROOT / "specs/googlenet.arch"),
                        "--collapse", "-o", str(target)], check=True, env=env, capture_output=True)
        outs.append(target.read_bytes())
    assert outs[0] == outs[1]
    net = net_of(ROOT / "specs/googlenet.arch")
    assert render_volume(net).svg == render_volume(net).svg


@needs_dot
@pytest.mark.parametrize("name", ["alexnet", "googlenet", "textcnn"])
def test_svg_has_a_node_per_layer(name):
    net = net_of(ROOT / f"specs/{name}.arch")
    root = ET.fromstring(run_dot(render_dot(net).text, "svg"))
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == len(net.graph.nodes)


@needs_dot
def test_collapsed_svg_has_a_node_per_folded_block():
    net = net_of(ROOT / "specs/resnet50.arch")
    root = ET.fromstring(run_dot(render_dot(net, collapse=True).text, "svg"))
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == folds_and_nodes(net) == 16  # 5 stem layers, 8 folds, gap, flatten, fc


@needs_dot
@pytest.mark.parametrize("ext, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_cli_writes_images(tmp_path, ext, magic):
    target = tmp_path / f"net{ext}"
    assert main(["render", str(ROOT / "specs/lenet_mnist.arch"), "-o", str(target)]) == 0
    assert target.read_bytes().startswith(magic)


def test_cli_volume_and_dot(tmp_path):
    vol, dot = tmp_path / "v.svg", tmp_path / "g.dot"
    assert main(["render", str(ROOT / "specs/vgg16.arch"), "--style", "volume", "-o", str(vol)]) == 0
    ET.fromstring(vol.read_text())
    assert main(["render", str(ROOT / "specs/vgg16.arch"), "--rankdir", "lr", "-o", str(dot)]) == 0
    assert dot.read_text().startswith('digraph "VGG16"') or dot.read_text().startswith("digraph")


def test_without_graphviz_writes_dot_and_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    assert find_dot() is None
    target = tmp_path / "net.png"
    assert main(["render", str(ROOT / "specs/alexnet.arch"), "-o", str(target)]) == 0
    assert not target.exists()
    assert (tmp_path / "net.dot").read_text().startswith('digraph "AlexNet"')
    err = capsys.readouterr().err.strip().splitlines()
    hint = [line for line in err if "Graphviz" in line]
    assert len(hint) == 1 and "apt-get install graphviz" in hint[0] and "brew install graphviz" in hint[0]


@pytest.mark.parametrize("argv", [
    ["--style", "volume", "-o", "x.dot"],
    ["-o", "x.jpg"],
    ["-o", "no/such/dir/x.dot"],
])
def test_bad_options_are_usage_errors(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    assert main(["render", str(ROOT / "specs/alexnet.arch"), *argv]) == 2


def test_bad_rankdir_is_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["render", str(ROOT / "specs/alexnet.arch"), "--rankdir", "BT", "-o", "x.dot"])
    assert exc.value.code == 2


def test_notebook_svg():
    svg = net_of(ROOT / "specs/lenet_mnist.arch")._repr_svg_()
    assert ET.fromstring(svg).tag == f"{SVG}svg"


def test_check_does_not_import_render():
    code = ("import sys; from archdsl.cli import main; "
            f"main(['check', {str(ROOT / 'specs/lenet_mnist.arch')!r}, '-f', 'text']); "
            "sys.stdout.write(str(sorted(m for m in sys.modules if m.startswith('archdsl.render'))))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.rstrip().endswith("[]")

ORDER_SPECS = ["googlenet", "minigooglenet", "textcnn"]
ADD_SPEC = ("network TwoWay { input 8x16x16; add { branch { conv 8 k=3 p=1; relu; conv 8 k=3 p=1 } "
            "branch { maxpool k=3 s=1 p=1 } branch { conv 8 k=1 } }; relu }")


def _branch_heads(net):
    """The first layer of every branch, per concat/add region, in source order."""
    out = []

    def walk(scope):
        if scope.kind == ScopeKind.MERGE:
            out.append([c.nodes()[0] for c in scope.scopes(ScopeKind.BRANCH) if c.nodes()])
        for c in scope.scopes():
            walk(c)
    walk(root(net.graph))
    return out


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_branch_heads_are_pinned_in_source_order_in_the_dot_text(rankdir):
    net = net_of(ROOT / "specs/googlenet.arch")
    text = render_dot(net, rankdir=rankdir).text
    chains = [line.split("; ", 1)[1].split(" [")[0] for line in text.splitlines() if "{rank=same;" in line]
    heads = [[f"n{n.index}" for n in region] for region in _branch_heads(net)]
    assert len(chains) == len(heads) == 9
    # a flat edge runs left to right in TB; LR's rotation needs the chain backwards
    expected = [" -> ".join(h if rankdir == "TB" else h[::-1]) for h in heads]
    assert chains == expected


@needs_dot
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("spec", ORDER_SPECS + ["add"])
def test_branches_are_laid_out_in_source_order(spec, rankdir):
    """Branch 1 on the left (TB) or on top (LR), as docs/render.md says, where dot puts them."""
    net = archdsl.loads(ADD_SPEC) if spec == "add" else net_of(ROOT / f"specs/{spec}.arch")
    root = ET.fromstring(run_dot(render_dot(net, rankdir=rankdir).text, "svg"))
    where = {}  # node id -> (x, y) of its first label line; nodes never overlap, so these order them
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            text = next(g.iter(f"{SVG}text"))
            where[g.find(f"{SVG}title").text] = (float(text.get("x")), float(text.get("y")))
    for region in _branch_heads(net):
        # SVG's y grows downwards, so top to bottom is increasing y
        keys = [where[f"n{n.index}"][0 if rankdir == "TB" else 1] for n in region]
        assert keys == sorted(keys), [n.name for n in region]


def test_anisotropic_windows_use_the_times_sign_throughout():
    net = archdsl.loads("network A { input 3x4x8x8; maxpool k=1x2x2 s=1x2x2; "
                        "conv 4 k=3 s=1x2x2 p=0x1x1 d=1x2x2; adaptiveavgpool 1x2x3 }")
    assert [describe(n) for n in net.graph.nodes[1:]] == [
        "maxpool 1\u00d72\u00d72 /1\u00d72\u00d72",
        "conv 4, 3\u00d73\u00d73 /1\u00d72\u00d72 p0\u00d71\u00d71 d1\u00d72\u00d72",
        "adaptive avgpool \u2192 1\u00d72\u00d73"]
    for text in (render_dot(net).text, render_volume(net).svg):
        assert not re.search(r"\d x ?\d|\dx\d", text.split("<title>")[-1].replace("0x0", ""))


def test_volume_merge_labels_sit_right_of_the_glyph():
    """The branches' lines converge on the glyph from the left; its shape label is to the right."""
    root = ET.fromstring(render_volume(net_of(ROOT / "specs/minigooglenet.arch")).svg)
    circles = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
    labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "start" and float(t.get("y")) > 60]
    assert len(circles) == len(labels) == 10
    assert all(float(t.get("x")) > cx + 10 for t, cx in zip(labels, circles, strict=False))


@pytest.mark.parametrize("spec, collapse", [("resnet50", True), ("vgg16", True), ("googlenet", True),
                                            ("resnet50", False)])
def test_long_volume_figures_wrap_to_fit_a_slide(spec, collapse):
    root = ET.fromstring(render_volume(net_of(ROOT / f"specs/{spec}.arch"), collapse=collapse).svg)
    width, height = float(root.get("width")), float(root.get("height"))
    assert width / height < 3  # one row of a collapsed ResNet-50 was 5:1
    assert any(p.get("d", "").count("L") == 5 for p in root.iter(f"{SVG}path"))  # the arrow between rows


def test_short_volume_figures_stay_on_one_row():
    root = ET.fromstring(render_volume(net_of(ROOT / "specs/lenet5.arch")).svg)
    assert not any(p.get("d", "").count("L") == 5 for p in root.iter(f"{SVG}path"))


def test_cli_says_what_it_wrote(tmp_path, capsys):
    spec = str(ROOT / "specs/lenet5.arch")
    assert main(["render", spec, "-o", str(tmp_path / "g.dot")]) == 0
    assert capsys.readouterr().err == f"wrote {tmp_path / 'g.dot'} (graph, 13 nodes)\n"
    assert main(["render", spec, "--style", "volume", "-o", str(tmp_path / "v.svg")]) == 0
    assert re.fullmatch(rf"wrote {re.escape(str(tmp_path / 'v.svg'))} \(volume, \d+\u00d7\d+ px\)\n",
                        capsys.readouterr().err)
    assert main(["build", spec, "-o", str(tmp_path / "m.py")]) == 0
    assert capsys.readouterr().err == f"wrote {tmp_path / 'm.py'} (PyTorch module, 13 layers)\n"
    assert main(["build", spec]) == 0
    assert capsys.readouterr().err == ""  # the source went to stdout: nothing to announce
