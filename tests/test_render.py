"""`archdsl render`: golden DOT for the gallery, SVG that parses and has a node
per layer, the volume style for every spec, determinism, and the fallback
when Graphviz is missing."""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archdsl
from archdsl.cli import main
from archdsl.render.dot import render_dot
from archdsl.render.graphviz import find_dot, run_dot
from archdsl.render.notation import describe
from archdsl.render.structure import fold, foldable, scope_tree
from archdsl.render.volume import render_volume

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
    def count(tree) -> int:
        n = 0
        for child in tree.children:
            if foldable(child):
                n += 1
            elif hasattr(child, "children"):
                n += count(child)
            else:
                n += 1
        return n
    return count(scope_tree(net.graph))


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_golden_dot(spec, golden):
    golden(f"dot/{spec.stem}.dot", render_dot(net_of(spec)))


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_volume_renders_every_spec(spec):
    svg = render_volume(net_of(spec))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert net_of(spec).name in texts
    assert float(root.get("width")) > 100 and float(root.get("height")) > 100


def test_volume_collapsed_shows_repeat_count():
    svg = render_volume(net_of(ROOT / "specs/resnet50.arch"), collapse=True)
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
    dot = render_dot(net, collapse=True)
    assert "Bottleneck(1024) \u00d75" in dot
    repeat = next(c for c in scope_tree(net.graph).children if foldable(c) and c.scope.kind == "repeat")
    f = fold(repeat)
    assert (f.title, f.count) == ("Bottleneck(256)", 2)
    assert f"{net.subtotal(repeat.scope).params:,} params" in dot  # exact figure in the tooltip


def test_residual_skip_and_shortcut_drawn():
    dot = render_dot(net_of(ROOT / "specs/resnet50.arch"))
    assert "identity</FONT>" in dot  # the identity skip of a non-projecting block
    assert "projection shortcut" in dot


def test_rankdir_and_layout():
    net = net_of(ROOT / "specs/alexnet.arch")
    assert "rankdir=LR" in render_dot(net, rankdir="LR")
    assert "55\u00d755\u00d796" in render_dot(net, layout="hwc")
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
    assert render_volume(net) == render_volume(net)


@needs_dot
@pytest.mark.parametrize("name", ["alexnet", "googlenet", "textcnn"])
def test_svg_has_a_node_per_layer(name):
    net = net_of(ROOT / f"specs/{name}.arch")
    root = ET.fromstring(run_dot(render_dot(net), "svg"))
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == len(net.graph.nodes)


@needs_dot
def test_collapsed_svg_has_a_node_per_folded_block():
    net = net_of(ROOT / "specs/resnet50.arch")
    root = ET.fromstring(run_dot(render_dot(net, collapse=True), "svg"))
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
    ["--style", "volume", "-o", "x.png"],
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
