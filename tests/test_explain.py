"""`archdsl explain`: every layer kind has a derivation, every derivation's
arithmetic gives exactly the analysis' figures (on the gallery, and on every
window setting of a 1-D sweep), the lecture's lines read as the notes write
them, and the text, Markdown and LaTeX outputs are golden files."""
from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

import archdsl
from archdsl.backends.explain import render_explain
from archdsl.backends.explain.column import key_text
from archdsl.core.explain import RULES, Topic, derive, rule_for
from archdsl.core.explain.rules import window_steps
from archdsl.core.ops import MERGES, REGISTRY, ShapeError
from tests.conftest import GALLERY

KINDS = sorted(set(REGISTRY.values()) | set(MERGES.values()), key=lambda cls: cls.keywords[0])


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.keywords[0])
def test_every_kind_has_a_derivation(cls):
    assert rule_for(cls) is not None, f"{cls.__name__} has no entry in archdsl/core/explain/rules.py RULES"


def test_rules_name_only_op_classes():
    from archdsl.core.ops import Op
    assert all(issubclass(cls, Op) for cls in RULES)


def _figures(d):
    """What a derivation says the layer's figures are: shape axes, params, buffers, MACs, RF."""
    shape = {}
    for s in d.steps:
        if s.topic == Topic.SHAPE and s.dims:
            for i in s.dims:
                shape[i] = s.result
    rf: dict | None = {}
    for s in d.steps:
        if s.topic != Topic.RF:
            continue
        if s.result is None:
            rf = None
            break
        values = [int(v) for v in str(s.result).split("x")]
        values = values * len(s.dims) if len(values) == 1 else values
        rf.update(zip(s.dims, values, strict=True))
    one = lambda topic: (d.step(topic).result if d.step(topic) else 0)  # noqa: E731
    return shape, one(Topic.PARAMS), one(Topic.BUFFERS), one(Topic.MACS), rf


def _check(net):
    for d in derive(net):
        layer = net.layer(d.name)
        shape, params, buffers, macs, rf = _figures(d)
        for axis, value in shape.items():
            assert value == layer.output_shape[axis], (d.name, axis)
        assert (params, buffers, macs) == (layer.params, layer.buffers, layer.macs), d.name
        expected = layer.receptive_field
        if rf is None or expected is None:
            assert rf is None and expected is None, d.name
        else:
            assert tuple(rf[i] for i in range(len(expected))) == tuple(expected), d.name


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_gallery_derivations_give_the_analysis(spec):
    for net in archdsl.load_all(spec):
        _check(net)


@dataclass
class _Span:
    written: str

    def text(self):
        return self.written


@dataclass
class _Node:
    """Just what window_steps reads of a node."""

    in_shapes: list
    span: _Span


@pytest.mark.parametrize("kind", ["conv", "maxpool", "avgpool"])
def test_window_derivation_equals_the_window_rule_everywhere(kind):
    """Every 1-D setting: sizes 1-12, kernels 1-5, strides 1-4, paddings 0-2,
    same and half, dilations 1-2, floor/ceil/caffe (pooling)."""
    cls = REGISTRY[kind]
    paddings = [(p,) for p in range(3)] + ["same", "half"]
    roundings = ("floor",) if kind == "conv" else ("floor", "ceil", "caffe")
    dilations = (1,) if kind == "avgpool" else (1, 2)
    checked = 0
    for n, k, s, p, d, rounding in itertools.product(range(1, 13), range(1, 6), range(1, 5), paddings,
                                                     dilations, roundings):
        values = {"k": (k,), "s": (s,), "p": p, "d": (d,)}
        if kind == "conv":
            values.update(out=1, g=1, bias=True)
        else:
            values.update(ceil=False, round=rounding, include_pad=None)
        try:
            op = cls.make(values, [(1, n)])
            out = op.infer([(1, n)])
        except ShapeError:
            continue
        node = _Node([(1, n)], _Span(f"x p={p}" if isinstance(p, str) else "x"))
        steps = window_steps(node, op.window, getattr(op, "rounding", "floor"))
        final = [st for st in steps if st.topic == Topic.SHAPE][-1]
        assert final.result == out[1], (n, k, s, p, d, rounding, [st.term.text() for st in steps if st.term])
        checked += 1
    assert checked > 1000


def _explain(text: str, names=None):
    return render_explain([archdsl.loads(text)], "text", names)


def test_the_lecture_lines():
    out = render_explain([archdsl.load("specs/alexnet.arch")], "text", ["conv1"])
    assert "out    = (W − F + 2·P)/S + 1 = (227 − 11 + 2·0)/4 + 1 = 55" in out
    assert "params = K · (C · F · F) + K = 96 · (3 · 11 · 11) + 96 = 34,944" in out
    assert "MACs   = K · H' · W' · C · F · F = 96 · 55 · 55 · 3 · 11 · 11 = 105,415,200" in out
    assert "RF     = RF_in + (F − 1)·j_in = 1 + (11 − 1)·1 = 11" in out
    assert "j      = j_in·S = 1·4 = 4" in out


def test_floor_that_drops_pixels_says_so():
    out = _explain("network N { input 3x224x224\n conv1: conv 96 k=11 s=4 }", ["conv1"])
    assert "out    = ⌊(W − F + 2·P)/S⌋ + 1 = ⌊(224 − 11 + 2·0)/4⌋ + 1 = 54" in out
    assert "54.25 is not whole: PyTorch rounds down; the last pixel is never seen by any window" in out


def test_ceil_mode_drops_a_last_window_that_starts_in_the_padding():
    out = _explain("network N { input 1x5 \n p: maxpool k=2 s=2 p=1 ceil=true }", ["p"])
    assert "out = ⌈(W − F + 2·P)/S⌉ + 1 = ⌈(5 − 2 + 2·1)/2⌉ + 1 = 4" in out
    assert "out = 4 − 1 = 3" in out
    assert "(out − 1)·S = 6 ≥ W + P_b = 6, in the padding: PyTorch drops it" in out


def test_caffe_keeps_the_last_window_when_unpadded():
    caffe = _explain("network N { input 1x5 \n p: maxpool k=1 s=3 round=caffe }", ["p"])
    assert "⌈(5 − 1 + 2·0)/3⌉ + 1 = 3" in caffe and "Caffe keeps it" in caffe
    ceil = _explain("network N { input 1x5 \n p: maxpool k=1 s=3 ceil=true }", ["p"])
    assert "out = 3 − 1 = 2" in ceil


def test_same_half_and_dilation_state_their_rule():
    out = _explain("network N { input 3x224x224\n a: conv 8 k=7 s=2 p=same\n b: conv 8 k=3 p=half d=2 }")
    assert "out    = ⌈W/S⌉ = ⌈224/2⌉ = 112" in out
    assert "P      = max((out − 1)·S + F − W, 0) = max((112 − 1)·2 + 7 − 224, 0) = 5" in out
    assert "2 before and 3 after" in out
    assert "F'     = D·(F − 1) + 1 = 2·(3 − 1) + 1 = 5" in out
    assert "P      = ⌊(F − 1)/2⌋·D = ⌊(3 − 1)/2⌋·2 = 2" in out
    assert "out    = (W − F' + 2·P)/S + 1 = (112 − 5 + 2·2)/1 + 1 = 112" in out
    assert "RF     = RF_in + (F' − 1)·j_in = 7 + (5 − 1)·2 = 15" in out


def test_transposed_convolution():
    out = _explain("network N { input 8x7x7\n t: convtranspose 4 k=3 s=2 p=1 op=1 }", ["t"])
    assert "out    = (W − 1)·S − 2·P + D·(F − 1) + op + 1 = (7 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 14" in out
    assert "params = C · (K · F · F) + K = 8 · (4 · 3 · 3) + 4 = 292" in out
    assert "MACs   = C · H · W · K · F · F = 8 · 7 · 7 · 4 · 3 · 3 = 14,112" in out
    assert "unknown after convtranspose" in out


def test_merges_concat_and_union():
    out = _explain("network N { input 3x32x32\n conv 8 k=3 p=1\n m: concat { branch { conv 4 k=1 } "
                   "branch { conv 4 k=5 p=2 } } }", ["m"])
    assert "C' = C1 + C2 = 4 + 4 = 8" in out
    assert "RF = max(RF1, RF2) = max(3, 7) = 7" in out


def test_per_axis_when_the_axes_differ():
    out = _explain("network N { input 3x32x16\n c: conv 8 k=1x7 s=2 }", ["c"])
    assert "out H  = (H − F + 2·P)/S + 1 = (32 − 1 + 2·0)/2 + 1 = 16.5" not in out
    assert re.search(r"out H  = ⌊\(H − FH \+ 2·P\)/S⌋ \+ 1 = ⌊\(32 − 1 \+ 2·0\)/2⌋ \+ 1 = 16", out)
    assert "out W  = (W − FW + 2·P)/S + 1 = (16 − 7 + 2·0)/2 + 1" not in out  # 4.5 + 1: floor again
    assert "params = K · (C · FH · FW) + K = 8 · (3 · 1 · 7) + 8 = 176" in out


def test_key_step_column():
    net = archdsl.load("specs/alexnet.arch")
    texts = {d.name: key_text(d) for d in derive(net)}
    assert texts["conv1"] == "out = (227 − 11 + 2·0)/4 + 1 = 55"
    assert texts["fc6"] == "params = 9216 · 4096 + 4096 = 37,752,832"
    assert texts["flatten1"] == "features = 256 · 6 · 6 = 9216"
    assert texts["relu1"] == ""


FORMATS = {"text": "txt", "markdown": "md", "latex": "tex"}


@pytest.mark.parametrize("spec", GALLERY, ids=lambda p: p.stem)
def test_gallery_golden_text(spec, golden):
    golden(f"explain/{spec.stem}.txt", render_explain(archdsl.load_all(spec), "text"))


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
@pytest.mark.parametrize("stem", ["alexnet", "googlenet"])
def test_golden_markup(stem, fmt, golden):
    net = archdsl.load(f"specs/{stem}.arch")
    golden(f"explain/{stem}.{FORMATS[fmt]}", render_explain([net], fmt))


def test_cli_layers_formats_and_errors(cli, tmp_path):
    code, out, _ = cli("explain", "specs/alexnet.arch", "conv1", "pool*")
    assert code == 0 and "conv1: conv 96 k=11 s=4" in out and "pool5: maxpool" in out and "conv2" not in out
    code, _, err = cli("explain", "specs/alexnet.arch", "convv1")
    assert code == 2 and "did you mean conv1?" in err
    target = tmp_path / "alexnet.tex"
    code, _, _ = cli("explain", "specs/alexnet.arch", "-o", target)
    assert code == 0 and r"\begin{align*}" in target.read_text(encoding="utf-8")


def test_check_explain_adds_a_column(cli):
    code, out, _ = cli("check", "specs/alexnet.arch", "--explain", "-f", "text")
    assert code == 0
    header = next(line for line in out.splitlines() if line.lstrip().startswith("#"))
    assert header.rstrip().endswith("Derivation")
    assert "out = (227 − 11 + 2·0)/4 + 1 = 55" in out
    code, out, _ = cli("check", "specs/alexnet.arch", "--explain", "-f", "json")
    doc = json.loads(out)
    conv1 = next(entry for entry in doc["layers"] if entry["name"] == "conv1")
    shape = next(s for s in conv1["derivation"] if s["quantity"] == "out")
    assert shape["numbers"] == "(227 − 11 + 2·0)/4 + 1" and shape["result"] == 55
    code, out, _ = cli("check", "specs/googlenet.arch", "--explain", "-f", "markdown", "--depth", "0")
    assert code == 0 and "| out = ⌈(112 − 3 + 2·0)/2⌉ + 1 = 56 |" in out


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (CI installs texlive-latex-base)")
def test_latex_compiles(tmp_path):
    body = render_explain([archdsl.load("specs/googlenet.arch")], "latex", ["conv1.*", "maxpool1", "inception3a.*"])
    doc = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n" + body + "\\end{document}\n"
    (tmp_path / "x.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "x.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
