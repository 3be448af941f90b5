"""Torch is the oracle: hypothesis writes small valid specs mixing every
construct (conv with stride/padding/same/dilation/groups, max/avg/min pools
with ceil mode, bn, lrn, activations, concat, add, residual with and without
shortcut, repeat, blocks; 1-D, 2-D and 3-D), and the compiled module must
produce the analysed shape on every line, the analysed parameters and buffers."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import archdsl  # noqa: E402
from archdsl.core import window as W  # noqa: E402

from .test_torch_build import assert_matches_analysis  # noqa: E402

ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "leakyrelu 0.2",
               "elu 0.5", "softmax"]
BLOCK = "block Unit(c, s=1) {\n  conv c k=3 s=s p=same bias=false\n  bn\n  relu\n}\n"


class _Spec:
    """The text being written and the shape it has reached."""

    def __init__(self, shape):
        self.shape = list(shape)

    @property
    def spatial(self):
        return self.shape[1:]


def _window(draw, spec: _Spec, pool: bool, keep: bool = False):
    """k/s/p/d text for a window that fits, and the output spatial size;
    `keep` keeps the size (s=1, p=same)."""
    k = draw(st.integers(1, 3))
    s = 1 if keep else draw(st.integers(1, 2))
    d = 1 if pool else draw(st.sampled_from([1, 1, 2]))
    pad = "same" if keep else draw(st.sampled_from(["same", "valid", 0, 1]))
    if pool and isinstance(pad, int) and pad > k // 2:
        pad = 0
    ceil = pool and pad != "same" and draw(st.booleans())
    if pad == "same":
        out = [-(-n // s) for n in spec.spatial]
    else:
        p = 0 if pad == "valid" else pad
        out = [W.output_size(n, k, s, p, p, d, ceil) for n in spec.spatial]
        if min(out) < 1:
            pad, ceil, out = "same", False, [-(-n // s) for n in spec.spatial]
    text = f"k={k} s={s} p={pad}" + (f" d={d}" if d > 1 else "") + (" ceil=true" if ceil else "")
    return text, out


def _layer(draw, spec: _Spec, keep: bool = False) -> str:
    """One layer; `keep` keeps the whole shape (for branch bodies and repeats)."""
    kind = draw(st.sampled_from(["conv", "conv", "pool", "bn", "act", "lrn", "dropout", "identity"]))
    c = spec.shape[0]
    if kind == "conv":
        g = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
        out_c = c if keep else draw(st.integers(1, 6)) * g
        text, sp = _window(draw, spec, pool=False, keep=keep)
        spec.shape = [out_c, *sp]
        bias = draw(st.booleans())
        return f"conv {out_c} {text} g={g}" + ("" if bias else " bias=false")
    if kind == "pool":
        mode = draw(st.sampled_from(["maxpool", "avgpool", "minpool"]))
        text, sp = _window(draw, spec, pool=True, keep=keep)
        spec.shape = [c, *sp]
        if mode == "avgpool" and draw(st.booleans()):
            text += f" include_pad={draw(st.sampled_from(['true', 'false']))}"
        return f"{mode} {text}"
    if kind == "bn":
        return "bn" + draw(st.sampled_from(["", " eps=1e-3", " affine=false", " momentum=0.01"]))
    if kind == "act":
        return draw(st.sampled_from(ACTIVATIONS))
    if kind == "lrn":
        return f"lrn {draw(st.integers(1, 4))} alpha=1e-3 beta=0.75 k=2"
    if kind == "dropout":
        return "dropout 0.25"
    return "identity"


def _same_stride_branch(draw, spec: _Spec, c_out: int, s: int) -> str:
    """A branch ending at c_out channels and ceil(W/s): any layers, then a p=same conv."""
    inner = _Spec(spec.shape)
    lines = [_layer(draw, inner, keep=True) for _ in range(draw(st.integers(0, 2)))]
    k = draw(st.integers(1, 3))
    lines.append(f"conv {c_out} k={k} s={s} p=same")
    return "; ".join(lines)


def _statement(draw, spec: _Spec, depth: int) -> str:
    choice = draw(st.sampled_from(["layer", "layer", "layer", "concat", "add", "residual", "repeat", "block"]
                                  if depth < 2 else ["layer"]))
    if choice == "layer":
        return _layer(draw, spec)
    if choice in ("concat", "add"):
        s = draw(st.integers(1, 2))
        outs = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(2, 3)))]
        if choice == "add":
            outs = [outs[0]] * len(outs)
        branches = " ".join(f"branch {{ {_same_stride_branch(draw, spec, c, s)} }}" for c in outs)
        spec.shape = [sum(outs) if choice == "concat" else outs[0], *(-(-n // s) for n in spec.spatial)]
        return f"{choice} {{ {branches} }}"
    if choice == "residual":
        s = draw(st.integers(1, 2))
        c = draw(st.sampled_from([spec.shape[0], draw(st.integers(1, 5))]))
        body = _same_stride_branch(draw, spec, c, s)
        always = draw(st.booleans())
        spec.shape = [c, *(-(-n // s) for n in spec.spatial)]
        return f"residual {{ {body} }} shortcut{' always' if always else ''} {{ conv {c} k=1 s={s} p=same; bn }}"
    if choice == "repeat":
        n = draw(st.integers(0, 3))
        inner = _layer(draw, _Spec(spec.shape), keep=True)
        return f"repeat {n} {{ {inner} }}"
    c, s = draw(st.integers(1, 5)), draw(st.integers(1, 2))
    spec.shape = [c, *(-(-n // s) for n in spec.spatial)]
    return f"Unit({c}, s={s})"


@st.composite
def specs(draw) -> str:
    rank = draw(st.sampled_from([1, 2, 2, 2, 3]))
    sizes = {1: (6, 16), 2: (5, 12), 3: (3, 6)}[rank]
    shape = [draw(st.integers(1, 4))] + [draw(st.integers(*sizes)) for _ in range(rank)]
    spec = _Spec(shape)
    body = [_statement(draw, spec, 0) for _ in range(draw(st.integers(1, 6)))]
    head = draw(st.sampled_from(["", "gap; flatten; fc 3", "flatten; fc 4; softmax", "gmp",
                                 "adaptiveavgpool 2", "adaptivemaxpool 1; flatten; bn; fc 2",
                                 "flatten; lrn 3; dropout 0.1; fc 2; leakyrelu"]))
    if head:
        body.append(head)
    dims = "x".join(map(str, shape))
    return BLOCK + "network Gen {\n  input " + dims + "\n  " + "\n  ".join(body) + "\n}\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs_compile_exactly(text):
    try:
        net = archdsl.loads(text)
    except archdsl.ArchError:
        # Rare: a window PyTorch itself refuses (AvgPool3d with explicit padding
        # on a volume smaller than its window); the analysis reports it.
        assume(False)
    assert_matches_analysis(net)


@settings(max_examples=30, deadline=None)
@given(specs())
def test_generated_specs_logits_mode_drops_only_the_trailing_softmax(text):
    try:
        net = archdsl.loads(text)
    except archdsl.ArchError:  # the generator also makes specs whose sizes collapse
        assume(False)
    model = archdsl.build(net)
    trailing = net.graph.output.keyword == "softmax"
    assert hasattr(model, "predict_proba") == trailing
