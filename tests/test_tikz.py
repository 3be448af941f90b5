"""The volume style as TikZ: every gallery figure translates (every SVG
primitive becomes one TikZ path or node), and compiles with pdflatex both
alone and \\input into a document. CI installs a minimal TeX from Debian
(texlive-latex-base, texlive-pictures); where pdflatex is absent the
compile tests skip and say so."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import archdsl
from archdsl.backends.render.tikz import UnknownSvg, render_tikz, svg_to_tikz, tex_text
from archdsl.backends.render.volume import render_volume
from tests.conftest import GALLERY

PDFLATEX = shutil.which("pdflatex")
NO_TEX = "pdflatex not found: CI installs texlive-latex-base and texlive-pictures (.ci/run); apt-get install them"


def _primitives(svg: str) -> int:
    root = ET.fromstring(svg)
    for defs in [el for el in root if el.tag.endswith("defs")]:
        root.remove(defs)  # arrowhead markers: TikZ draws its own tips
    count = 0
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in ("polygon", "line", "path", "circle") or (tag == "text" and "".join(el.itertext()).strip()):
            count += 1
        if tag == "rect" and not el.get("width", "").endswith("%"):
            count += 1
    return count


@pytest.mark.parametrize("collapse", [False, True], ids=["layers", "collapsed"])
@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_every_primitive_is_translated(spec, collapse):
    net = archdsl.load(spec)
    svg = render_volume(net, collapse=collapse).svg
    tex = svg_to_tikz(svg, net.name).tex
    drawn = len(re.findall(r"^\\(path|node)\[", tex, re.M))
    assert drawn == _primitives(svg)
    assert tex.count(r"\begin{tikzpicture}") == tex.count(r"\end{tikzpicture}") == 1


def test_unknown_svg_is_an_error_not_a_silent_gap():
    with pytest.raises(UnknownSvg):
        svg_to_tikz('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><ellipse/></svg>')


def test_text_is_escaped_for_latex():
    assert tex_text("3x3 \u00d7 2 \u2192 #1 & 50% a_b") == r"3x3 $\times$ 2 $\rightarrow$ \#1 \& 50\% a\_b"


def test_render_writes_tex(cli, tmp_path):
    target = tmp_path / "lenet.tex"
    code, _, err = cli("render", "specs/lenet_mnist.arch", "--style", "volume", "-o", target)
    assert code == 0 and "TikZ" in err and r"\begin{tikzpicture}" in target.read_text(encoding="utf-8")


def test_golden_lenet(golden):
    golden("render/lenet_mnist.tikz.tex", render_tikz(archdsl.load("specs/lenet_mnist.arch")).tex)


def _pdflatex(folder, name: str) -> subprocess.CompletedProcess:
    return subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", name], cwd=folder,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.skipif(PDFLATEX is None, reason=NO_TEX)
def test_gallery_figures_compile_alone(tmp_path):
    for spec in GALLERY:
        net = archdsl.load(spec)
        (tmp_path / f"{spec.stem}.tex").write_text(render_tikz(net, collapse=True).tex, encoding="utf-8")
        run = _pdflatex(tmp_path, f"{spec.stem}.tex")
        assert run.returncode == 0, (spec.stem, run.stdout[-3000:])
        assert (tmp_path / f"{spec.stem}.pdf").stat().st_size > 1000


@pytest.mark.skipif(PDFLATEX is None, reason=NO_TEX)
def test_figures_can_be_input_into_a_document(tmp_path):
    for stem in ("alexnet", "unet"):
        (tmp_path / f"{stem}.tex").write_text(render_tikz(archdsl.load(f"specs/{stem}.arch")).tex,
                                              encoding="utf-8")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{tikz}\n\\usepackage{graphicx}\n\\begin{document}\n"
        "Text before.\n\n\\resizebox{\\linewidth}{!}{\\input{alexnet.tex}}\n\n"
        "\\begin{figure}[h]\\resizebox{\\linewidth}{!}{\\input{unet.tex}}\\caption{U-Net}\\end{figure}\n"
        "Text after.\n\\end{document}\n", encoding="utf-8")
    run = _pdflatex(tmp_path, "doc.tex")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Output written on doc.pdf (1 page" in run.stdout or "Output written on doc.pdf (2 pages" in run.stdout
