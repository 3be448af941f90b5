"""The receptive-field step of every layer, from the kind's `receptive()`
rule and the fields the analysis computed (archdsl/core/analysis.py):

    RF = RF_in + (F' − 1)·j_in        j = j_in·S

for a window; unchanged for element-wise layers; the whole input for global
ones; the union of the inputs' windows at a merge.
"""
from __future__ import annotations

from archdsl.core.analysis import Field
from archdsl.core.explain.rules import _axes_words, _label, axis_groups, tight
from archdsl.core.explain.steps import Step, Topic
from archdsl.core.explain.terms import Call, Paren, V
from archdsl.core.ir import Node
from archdsl.core.ops import GLOBAL, POINTWISE, UNKNOWN
from archdsl.core.ops.tokens import ONE_TOKEN, TOKENIZE, UNTOKENIZE
from archdsl.core.shapes import is_tokens
from archdsl.text import axes_text

RF_IN = (r"RF_in", r"\text{RF}_{\text{in}}")
J_IN = ("j_in", r"j_{\text{in}}")


def rf_steps(node: Node, fields: dict[Node, Field | None]) -> list[Step]:
    """How this node's receptive field follows from its inputs'."""
    field = fields.get(node)
    if node.keyword == "input":
        if field is None:
            return [Step(Topic.RF, "RF", given=None, symbolic=False, note="a flat input has no spatial field")]
        return [Step(Topic.RF, "RF", given=1, symbolic=False, tex=r"\text{RF}",
                     dims=tuple(range(len(field.size))), rule="receptive field: 1 at the input, whose jump j is 1")]
    ins = [fields.get(i) for i in node.inputs]
    if field is None:
        return [Step(Topic.RF, "RF", given=None, symbolic=False, note=_unknown_reason(node, ins))]
    if is_tokens(node.shape) or any(is_tokens(s) for s in node.in_shapes):
        return [_token_step(node, field)]
    if len(ins) > 1:
        return _union_steps(node, ins, field)
    window = node.op.receptive(node.in_shapes)
    (source,) = ins
    if window == POINTWISE or window == GLOBAL and not node.in_shapes[0][1:]:
        return [Step(Topic.RF, "RF", given=axes_text(field.size), symbolic=False,
                     dims=tuple(range(len(field.size))), note="unchanged")]
    rank = len(field.size)
    if window == GLOBAL:
        spatial = node.in_shapes[0][1:]
        groups = axis_groups(list(zip(source.size, source.jump, spatial, strict=True)))
        steps = []
        for axes, (r, j, n) in groups:
            quantity, tex = _label("RF", rank, axes, len(groups))
            term = V(*RF_IN[:1], r, RF_IN[1]) + tight(Paren(V("W", n) - 1), V(J_IN[0], j, J_IN[1]))
            steps.append(Step(Topic.RF, quantity, term, tex=tex or r"\text{RF}", dims=axes,
                              axes=_axes_words(rank, axes),
                              rule="global layers read every position: RF_in + (W − 1)·j_in"))
        return steps
    kernel, stride, _ = window
    if set(kernel) == {1} and set(stride) == {1}:
        moved = any(window[2])
        return [Step(Topic.RF, "RF", given=axes_text(field.size), symbolic=False, dims=tuple(range(rank)),
                     note="unchanged: the window only moves" if moved else "unchanged: a 1-pixel window, stride 1")]
    groups = axis_groups(list(zip(source.size, source.jump, kernel, stride, strict=True)))
    steps = []
    for axes, (r, j, k, s) in groups:
        quantity, tex = _label("RF", rank, axes, len(groups))
        jq, jtex = _label("j", rank, axes, len(groups))
        words = _axes_words(rank, axes)
        f = "F'" if _dilated(node) else "F"
        rf = V(*RF_IN[:1], r, RF_IN[1]) + tight(Paren(V(f, k, f) - 1), V(J_IN[0], j, J_IN[1]))
        steps.append(Step(Topic.RF, quantity, rf, tex=tex or r"\text{RF}", dims=axes, axes=words,
                          rule="receptive field of a window: RF_in + (F − 1)·j_in (F' with dilation)"))
        steps.append(Step(Topic.RULE, jq, tight(V(J_IN[0], j, J_IN[1]), V("S", s)), tex=jtex or "j", axes=words,
                          rule="the jump j: input pixels between neighbouring outputs, j_in·S"))
    return steps


def _token_step(node: Node, field: Field) -> Step:
    """Tokens keep the field of the pixel they came from (core/tokenfields.py)."""
    rule = node.op.receptive(node.in_shapes)
    if rule == TOKENIZE:
        note = "token i keeps the field of pixel i"
    elif rule == UNTOKENIZE:
        note = "pixel i is token i: its field"
    elif rule == GLOBAL:
        note = "every token reads every token: the union of their windows"
    elif rule == ONE_TOKEN:
        note = "every token reads the same window here, so the one taken does"
    elif rule == POINTWISE:
        note = "unchanged: each token alone"
    else:
        note = "a window sliding over the grid of tokens"
    return Step(Topic.RF, "RF", given=axes_text(field.size), symbolic=False, dims=tuple(range(len(field.size))),
                note=note, rule="receptive field of tokens: a token's is the pixels it depends on (global after "
                                "attention over every token)")


def _dilated(node: Node) -> bool:
    window = getattr(node.op, "window", None)
    return window is not None and any(d != 1 for d in window.dilation)


def _union_steps(node: Node, ins: list[Field], field: Field) -> list[Step]:
    """The union of the inputs' windows: the widest of them when they nest (as
    centred windows do), else from the earliest start to the furthest end."""
    rank = len(field.size)
    groups = axis_groups([(tuple(f.size[a] for f in ins), tuple(f.start[a] for f in ins),
                           tuple(f.jump[a] for f in ins), field.size[a]) for a in range(rank)])
    steps = []
    for axes, (sizes, starts, jumps, union) in groups:
        quantity, tex = _label("RF", rank, axes, len(groups))
        words = _axes_words(rank, axes)
        if max(sizes) == union:
            args = tuple(V(f"RF{i + 1}", r, rf"\text{{RF}}_{{{i + 1}}}") for i, r in enumerate(sizes))
            steps.append(Step(Topic.RF, quantity, Call("max", args), tex=tex or r"\text{RF}", dims=axes, axes=words,
                              rule="at a merge: the union of the inputs' windows (the widest, when they nest)"))
        elif len(set(jumps)) == 1:
            ends = tuple(V(f"a{i + 1}", a, f"a_{i + 1}") + V(f"RF{i + 1}", r, rf"\text{{RF}}_{{{i + 1}}}")
                         for i, (a, r) in enumerate(zip(starts, sizes, strict=True)))
            first = tuple(V(f"a{i + 1}", a, f"a_{i + 1}") for i, a in enumerate(starts))
            steps.append(Step(Topic.RF, quantity, Call("max", ends) - Call("min", first), tex=tex or r"\text{RF}",
                              dims=axes, axes=words, note="the windows are offset (a: where each starts)",
                              rule="at a merge: the union of the inputs' windows, from the earliest start to "
                                   "the furthest end"))
        else:
            shown = ", ".join(str(r) for r in sizes)
            steps.append(Step(Topic.RF, quantity, given=union, symbolic=False, dims=axes, axes=words,
                              note=f"the union of the inputs' windows ({shown}); their jumps differ, so it is "
                                   "widest at the first or the last output pixel"))
    return steps


def _unknown_reason(node: Node, ins) -> str:
    if any(f is None for f in ins):
        return "unknown: an input's receptive field is unknown"
    if node.op is not None and node.op.receptive(node.in_shapes) == UNKNOWN:
        return (f"unknown after {node.keyword}: output pixels read different numbers of input pixels, "
                "so no single field holds (docs/language.md)")
    return "unknown"
