"""Hover text (Markdown): a layer's shapes, parameters, MACs, receptive field
and window arithmetic; a block call's signature, doc comment and subtotals;
a layer kind's attributes."""
from __future__ import annotations

from archdsl.core import window as W
from archdsl.core.ir import ScopeKind
from archdsl.editor.analysis import ARROW, Range, Snapshot, scope_params
from archdsl.editor.lookup import doc_comment, signature, statement_at, word_at
from archdsl.frontend import syntax as ast
from archdsl.records import dataclass
from archdsl.source import Span
from archdsl.text import AXIS_NAMES, count_with_rounding, shape_text

MAX_USES = 4  # uses of a block listed in a hover


@dataclass(frozen=True, slots=True)
class Hover:
    markdown: str
    range: Range


def hover(snap: Snapshot, line: int, character: int) -> Hover | None:
    _item, stmt = statement_at(snap, line, character)
    word = word_at(snap.text, line, character)
    if isinstance(stmt, ast.Call) or (word and word[0] in snap.workspace.blocks and stmt is not None):
        text = _call(snap, stmt, word[0] if word else None)
        if text:
            return Hover(text, Range.of(stmt.span))
    if isinstance(stmt, ast.Layer):
        text = _layer(snap, stmt)
        if text:
            return Hover(text, Range.of(stmt.span))
    if stmt is not None and snap.graphs:
        text = _structure(snap, stmt)
        if text:
            return Hover(text, Range.of(stmt.span))
    if word is not None:
        text = kind_help(word[0])
        if text:
            return Hover(text, word[1])
    return None


def _same(a: Span, b: Span) -> bool:
    return (a.file, a.line, a.col, a.end_line, a.end_col) == (b.file, b.line, b.col, b.end_line, b.end_col)


def _layer(snap: Snapshot, stmt: ast.Layer) -> str | None:
    if stmt.op in snap.workspace.blocks:  # a parameterless block called by its bare name
        return _call(snap, stmt, stmt.op)
    layers = [layer for net in snap.networks for layer in net.layers if _same(layer.node.span, stmt.span)]
    if not layers:
        return kind_help(stmt.op)
    first = layers[0]
    node = first.node
    ins = ", ".join(shape_text(s) for s in node.in_shapes) if node.inputs else ""
    out = [f"**{node.name}** \u00b7 `{node.keyword}` {first.hyper}".rstrip(),
           "", f"`{ins} {ARROW} {shape_text(node.shape)}`" if ins else f"`{shape_text(node.shape)}`", ""]
    rows = [("params", f"{first.params:,}"), ("MACs", count_with_rounding(first.macs))]
    if first.buffers:
        rows.insert(1, ("buffers", f"{first.buffers:,}"))
    if first.receptive_field is not None:
        rows.append(("receptive field", f"{_axes(first.receptive_field)} (jump {_axes(first.effective_stride)})"))
    out += ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    arithmetic = window_arithmetic(node)
    if arithmetic:
        out += ["", *(f"- {line}" for line in arithmetic)]
    if len(layers) > 1:
        shapes = list(dict.fromkeys(shape_text(layer.node.shape) for layer in layers))
        out += ["", f"This statement runs {len(layers)} times (outputs {', '.join(shapes[:MAX_USES])}"
                    f"{', ...' if len(shapes) > MAX_USES else ''}); the figures are its first use's."]
    return "\n".join(out)


def _axes(values) -> str:
    values = tuple(values)
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def window_arithmetic(node) -> list[str]:
    """The window rule with the numbers filled in, per axis (axes that agree once)."""
    op, shape = node.op, (node.in_shapes[0] if node.inputs else None)
    if op is None or shape is None or len(shape) < 2:
        return []
    names = AXIS_NAMES.get(len(shape) - 1, ())
    rows: dict[str, list[str]] = {}
    window = getattr(op, "window", None)
    if window is not None:
        rounding = "floor" if window.same else getattr(op, "rounding", "floor")
        for name, n, k, s, (pb, pa), d in zip(names, shape[1:], window.kernel, window.stride, window.padding,
                                              window.dilation, strict=False):
            rows.setdefault(W.arithmetic(n, k, s, pb + pa, d, rounding), []).append(name)
    elif all(hasattr(op, a) for a in ("kernel", "stride", "padding", "output_padding", "dilation")):
        for name, n, k, s, p, o, d in zip(names, shape[1:], op.kernel, op.stride, op.padding, op.output_padding,
                                          op.dilation, strict=False):
            value = (n - 1) * s - 2 * p + d * (k - 1) + o + 1
            rows.setdefault(f"({n} - 1)*{s} - 2*{p} + {d}*({k} - 1) + {o} + 1 = {value}", []).append(name)
    return [f"{' and '.join(axes)}: {text}" for text, axes in rows.items()]


def _call(snap: Snapshot, stmt, name: str | None) -> str | None:
    block_name = stmt.block if isinstance(stmt, ast.Call) else (stmt.op if isinstance(stmt, ast.Layer) else name)
    block = snap.workspace.blocks.get(block_name)
    if block is None:
        return None
    out = [f"```arch\nblock {signature(block)}\n```"]
    doc = doc_comment(block)
    if doc:
        out += ["", doc]
    out += ["", f"defined at `{block.name_span}`"]
    scopes = [s for g in snap.graphs for s in g.scopes
              if s.kind == ScopeKind.BLOCK and s.span is not None and _same(s.span, stmt.span)]
    for scope in scopes[:MAX_USES]:
        nodes = scope.nodes()
        if not nodes:
            continue
        first, last = nodes[0], nodes[-1]
        ins = shape_text(first.in_shapes[0]) if first.inputs else "?"
        members = set(nodes)
        macs = sum(layer.macs for net in snap.networks for layer in net.layers if layer.node in members)
        out += ["", f"**{scope.label}** `{ins} {ARROW} {shape_text(last.shape)}` \u00b7 "
                    f"{scope_params(scope):,} params \u00b7 {count_with_rounding(macs)} MACs \u00b7 "
                    f"{len(nodes)} layers"]
    if len(scopes) > MAX_USES:
        out.append(f"\n... and {len(scopes) - MAX_USES} more uses of this line")
    return "\n".join(out)


def _structure(snap: Snapshot, stmt) -> str | None:
    """repeat, merges, residual, from: what they produce, and their subtotals."""
    scopes = [s for g in snap.graphs for s in g.scopes if s.span is not None and _same(s.span, stmt.span)]
    nodes = [n for g in snap.graphs for n in g.nodes if _same(n.span, stmt.span)]
    if scopes:
        scope = scopes[0]
        inner = scope.nodes()
        if not inner:
            return None
        return (f"**{scope.label}** `{ARROW} {shape_text(inner[-1].shape)}` \u00b7 {scope_params(scope):,} params"
                f" \u00b7 {len(inner)} layers")
    if nodes:
        return f"**{nodes[-1].name}** `{ARROW} {shape_text(nodes[-1].shape)}`"
    return None


def kind_help(word: str) -> str | None:
    """A layer kind's description and attributes, as `archdsl layers` lists them."""
    from archdsl.core.ops import REGISTRY
    cls = REGISTRY.get(word)
    if cls is None:
        return None
    out = [f"**{word}**" + (f" \u2014 {cls.doc}" if getattr(cls, "doc", "") else "")]
    for attr in cls.attrs:
        default = "required" if attr.required else f"default {attr.default}"
        aliases = f" ({', '.join(attr.aliases)})" if attr.aliases else ""
        positional = ", positional" if attr.positional else ""
        out.append(f"- `{attr.name}`{aliases}: {attr.doc} \u2014 {default}{positional}")
    if getattr(cls, "example", ""):
        out += ["", f"`{cls.example}`"]
    return "\n".join(out)
