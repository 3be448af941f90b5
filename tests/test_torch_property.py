"""Torch is the oracle: hypothesis writes small valid specs mixing every
construct (conv with stride/padding/same/half/dilation/groups, max/avg/min
pools with ceil mode, bn, lrn, activations, concat, add, residual with and
without shortcut, repeat, blocks; and language v2's named tensors, SE-style
mul, split/from/concat with shuffle, optional residuals, blocks with `if` on
`in.c`, defaults, transposed convolutions, upsample, crop, pad and the new
norms; tokens with attention, window attention and patch merging;
1-D, 2-D and 3-D), and the compiled module must produce the analysed
shape on every line, the analysed parameters and buffers."""
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
BLOCK = ("block Unit(c, s=1) {\n  conv c k=3 s=s p=same bias=false\n  bn\n  relu\n}\n"
         "block Maybe(c) {\n  if in.c == c {\n    residual { conv c k=3 p=half bias=false; bn }\n"
         "  } else {\n    conv c k=1\n  }\n}\n")


class _Spec:
    """The text being written and the shape it has reached."""

    def __init__(self, shape):
        self.shape = list(shape)
        self.labels = 0

    def label(self, stem: str) -> str:
        self.labels += 1
        return f"{stem}{self.labels}"

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
    kinds = ["conv", "conv", "pool", "bn", "act", "lrn", "dropout", "identity", "norm", "shuffle"]
    if not keep:
        kinds += ["resize", "resize"]
    kind = draw(st.sampled_from(kinds))
    c = spec.shape[0]
    if kind == "norm":
        return draw(st.sampled_from(["layernorm", "layernorm affine=false", f"groupnorm {1 if c % 2 else 2}",
                                     "instancenorm affine=true", "layerscale 0.1", "stochasticdepth 0.2",
                                     "hardsigmoid"]))
    if kind == "shuffle":
        return f"shuffle {draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))}"
    if kind == "resize":
        return _resize(draw, spec)
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


def _resize(draw, spec: _Spec) -> str:
    """A layer that changes the spatial size without a window: up, crop or pad."""
    small = max(spec.spatial) <= 8
    kind = draw(st.sampled_from(["convtranspose", "upsample", "pad", "crop"] if small else ["pad", "crop"]))
    c = spec.shape[0]
    if kind == "convtranspose":
        out_c, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        spec.shape = [out_c, *(2 * (n - 1) - 2 * 0 + k for n in spec.spatial)]
        return f"convtranspose {out_c} k={k} s=2" + draw(st.sampled_from(["", " bias=false"]))
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", {1: "linear", 2: "bilinear", 3: "trilinear"}[len(spec.spatial)]]))
        spec.shape = [c, *(2 * n for n in spec.spatial)]
        return f"upsample 2 mode={mode}"
    if kind == "pad":
        p = draw(st.integers(0, 2))
        mode = draw(st.sampled_from(["zeros", "replicate"]))
        spec.shape = [c, *(n + 2 * p for n in spec.spatial)]
        return f"pad {p} mode={mode}"
    if min(spec.spatial) < 3:
        return "identity"
    spec.shape = [c, *(n - 2 for n in spec.spatial)]
    return "crop " + "x".join(str(n) for n in spec.spatial) if len(spec.spatial) > 1 else f"crop {spec.spatial[0]}"


def _graph_statement(draw, spec: _Spec) -> str:
    """Language v2 constructs that keep the shape: an SE gate, a split-and-shuffle
    unit, a named skip, an optional residual, a block deciding on in.c."""
    c = spec.shape[0]
    kind = draw(st.sampled_from(["se", "split", "skip", "optional", "maybe"]))
    if kind == "se":
        x = spec.label("x")
        gate = draw(st.sampled_from(["sigmoid", "hardsigmoid"]))
        return f"{x}: identity; gap; conv {max(c // 2, 1)} k=1; relu; conv {c} k=1; {gate}; mul @{x}"
    if kind == "split" and c % 2 == 0:
        a, b = spec.label("a"), spec.label("b")
        return f"{a}, {b}: split 2; from @{b} {{ conv {c // 2} k=1; relu }}; concat @{a} @; shuffle 2"
    if kind == "skip":
        t = spec.label("t")
        return f"{t}: conv {c} k=3 p=same; relu; conv {c} k=1; add @{t}"
    if kind == "optional":
        out = draw(st.sampled_from([c, c + 1]))
        spec.shape = [out, *spec.spatial]
        return f"residual optional {{ conv {out} k=3 p=half }}"
    out = draw(st.sampled_from([c, c + 1]))
    spec.shape = [out, *spec.spatial]
    return f"Maybe({out})"


def _same_stride_branch(draw, spec: _Spec, c_out: int, s: int) -> str:
    """A branch ending at c_out channels and ceil(W/s): any layers, then a p=same conv."""
    inner = _Spec(spec.shape)
    lines = [_layer(draw, inner, keep=True) for _ in range(draw(st.integers(0, 2)))]
    k = draw(st.integers(1, 3))
    lines.append(f"conv {c_out} k={k} s={s} p=same")
    return "; ".join(lines)


def _tokens(draw, spec: _Spec) -> str:
    """A 2-D map through tokens and back: a sequence with attention (a class token
    selected away, or the map restored), or a grid with (shifted, padded) window
    attention and patch merging."""
    c, (h, w) = spec.shape[0], spec.spatial
    heads = draw(st.sampled_from([d for d in range(1, c + 1) if c % d == 0]))
    if draw(st.booleans()):
        mlp = draw(st.integers(1, 6))
        body = (f"tokens; posembed; residual {{ layernorm eps=1e-6; attention heads={heads} "
                f"qkv_bias={draw(st.sampled_from(['true', 'false']))} }}; residual {{ fc {mlp}; gelu; fc {c} }}")
        if draw(st.booleans()):
            spec.shape = [c]
            return body + "; classtoken; " + draw(st.sampled_from(["select 0", "tokenpool", "tokenpool max"]))
        return body + f"; untokens h={h} w={w}"
    window = draw(st.integers(1, 4))
    shift = draw(st.integers(0, window - 1))
    v2 = "true" if window > 1 and draw(st.booleans()) else "false"
    body = f"tokens grid=true; residual {{ layernorm; windowattention {window} heads={heads} shift={shift} " \
           f"pad=true v2={v2} }}"
    if draw(st.booleans()):
        body += f"; patchmerge norm={draw(st.sampled_from(['pre', 'post', 'none']))}"
        spec.shape = [2 * c, -(-h // 2), -(-w // 2)]
    return body + "; untokens"


def _statement(draw, spec: _Spec, depth: int) -> str:
    choice = draw(st.sampled_from(["layer", "layer", "layer", "concat", "add", "residual", "repeat", "block",
                                   "graph", "graph", "tokens"] if depth < 2 else ["layer"]))
    if choice == "tokens" and len(spec.shape) == 3:
        return _tokens(draw, spec)
    if choice == "layer" or choice == "tokens":
        return _layer(draw, spec)
    if choice == "graph":
        return _graph_statement(draw, spec)
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
    body = []
    for _ in range(draw(st.integers(1, 6))):
        body.append(_statement(draw, spec, 0))
        if len(spec.shape) == 1:  # tokens pooled or selected to a vector: only a head can follow
            break
    heads = ["", "gap; flatten; fc 3", "flatten; fc 4; softmax", "gmp", "adaptiveavgpool 2",
             "adaptivemaxpool 1; flatten; bn; fc 2", "flatten; lrn 3; dropout 0.1; fc 2; leakyrelu"]
    head = draw(st.sampled_from(heads if len(spec.shape) > 1 else ["", "fc 3", "fc 4; softmax", "dropout 0.1; fc 2"]))
    if head:
        body.append(head)
    dims = "x".join(map(str, shape))
    defaults = draw(st.sampled_from(["", "defaults { bn eps=1e-3 momentum=0.01 }\n", "defaults { conv bias=false }\n"]))
    return defaults + BLOCK + "network Gen {\n  input " + dims + "\n  " + "\n  ".join(body) + "\n}\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs_compile_exactly(text):
    try:
        net = archdsl.loads(text)
    except archdsl.ArchError:
        # Rare: a window PyTorch itself refuses (AvgPool3d with explicit padding
        # on a volume smaller than its window); the analysis reports it.
        assume(False)
    assert_matches_analysis(net)  # structured: a class per block
    assert_matches_analysis(net, flat=True)


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
