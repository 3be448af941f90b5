"""Statements -> `.arch` text: blocks first, then the network, two spaces a
level, and a layer's normalisation and activation on the conv's line
(`conv 64 k=3 p=1 bias=false; bn; relu`), the way the gallery writes them."""
from __future__ import annotations

from archdsl.importers.model import value_text
from archdsl.importers.structure import (
    FromStmt,
    LayerStmt,
    MergeStmt,
    OutputStmt,
    Program,
    RefMergeStmt,
    ResidualStmt,
    SplitStmt,
)

IND = "  "
# Layers that join the line of the layer before them.
_TRAILING = {"bn", "relu", "relu6", "leakyrelu", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid",
             "elu", "dropout", "layernorm", "groupnorm", "instancenorm", "flatten", "softmax", "identity",
             "shuffle", "stochasticdepth", "layerscale"}
_WIDTH = 80


def write(program: Program, blocks=(), header: list[str] | None = None) -> str:
    """The spec's text."""
    out = [f"# {line}" if line else "#" for line in (header or [])]
    if out:
        out.append("")
    for block in blocks:
        out += block.lines(_Writer(program.labels))
        out.append("")
    w = _Writer(program.labels)
    out.append(f"network {program.name} {{")
    for layer in program.inputs:
        dims = "x".join(map(str, layer.shape))
        named = f"{layer.name} " if len(program.inputs) > 1 else ""
        extra = "".join(f" {k}={value_text(v)}" for k, v in layer.kwargs.items())
        out.append(f"{IND}input {named}{dims}{extra}")
    out += w.body(program.body, 1)
    out.append("}")
    return "\n".join(out) + "\n"


class _Writer:
    def __init__(self, labels: dict):
        self.labels = labels

    def body(self, stmts, depth: int) -> list[str]:
        lines: list[str] = []
        joinable = False
        for s in stmts:
            text = self.stmt(s, depth)
            single = len(text) == 1
            if single and joinable and isinstance(s, LayerStmt) and s.label is None and s.layer.opaque is None \
                    and s.layer.kind in _TRAILING and len(lines[-1]) + 2 + len(text[0].strip()) <= _WIDTH:
                lines[-1] += "; " + text[0].strip()
                continue
            lines += text
            joinable = single and "#" not in text[0] and (isinstance(s, LayerStmt) or getattr(s, "joinable", False))
        return lines

    def stmt(self, s, depth: int) -> list[str]:
        pad = IND * depth
        label = f"{s.label}: " if s.label else ""
        if isinstance(s, LayerStmt):
            note = f"  # stands in for {s.layer.opaque}" if s.layer.opaque else ""
            return [f"{pad}{label}{s.layer.text()}{note}"]
        if isinstance(s, SplitStmt):
            names = [self.labels.get(p) or f"part{i + 1}" for i, p in enumerate(s.parts)]
            sizes = s.parts[0].part[1]
            what = str(len(sizes)) if len(set(sizes)) == 1 else "(" + ", ".join(map(str, sizes)) + ")"
            return [f"{pad}{', '.join(names)}: split {what}"]
        if isinstance(s, MergeStmt):
            lines = [f"{pad}{label}{s.layer.kind} {{"]
            for branch in s.branches:
                inner = self.body(branch, depth + 2)
                if not inner:
                    lines.append(f"{pad}{IND}branch {{ }}")
                elif len(inner) == 1:
                    lines.append(f"{pad}{IND}branch {{ {inner[0].strip()} }}")
                else:
                    lines += [f"{pad}{IND}branch {{", *inner, f"{pad}{IND}}}"]
            return lines + [f"{pad}}}"]
        if isinstance(s, ResidualStmt):
            lines = [f"{pad}{label}residual {{", *self.body(s.body, depth + 1)]
            if s.shortcut is None:
                return lines + [f"{pad}}}"]
            always = " always" if s.always else ""
            return lines + [f"{pad}}} shortcut{always} {{", *self.body(s.shortcut, depth + 1), f"{pad}}}"]
        if isinstance(s, RefMergeStmt):
            refs = ["@" if i == s.flow else f"@{self.labels[v]}" for i, v in enumerate(s.layer.inputs)]
            if s.flow is not None:
                if len(refs) == 2 and s.flow == 0:
                    refs = refs[1:]
            return [f"{pad}{label}{s.layer.kind} {' '.join(refs)}"]
        if isinstance(s, FromStmt):
            inner = self.body(s.body, depth + 1)
            head = f"{pad}{label}from @{self.labels[s.source]} {{"
            if len(inner) == 1 and len(head) + len(inner[0].strip()) + 3 <= _WIDTH:
                return [f"{head} {inner[0].strip()} }}"]
            return [head, *inner, f"{pad}}}"]
        if isinstance(s, OutputStmt):
            return [f"{pad}output {s.name}" + (f" @{self.labels[s.ref]}" if s.ref is not None else "")]
        return s.lines(self, depth)
