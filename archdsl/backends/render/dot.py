"""Graph style: the network as Graphviz DOT text (no Graphviz needed to write it).

One node per layer (or per folded block with `collapse`), coloured by layer
family, blocks as clusters, inception branches side by side, residual skips
drawn around their body. The text is deterministic: ids come from node and
scope indices and everything is emitted in topological order, so the same
spec gives byte-identical DOT on every run and machine.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from archdsl.backends.render import palette as P
from archdsl.backends.render.notation import describe, family, params_text, shape_text
from archdsl.backends.render.structure import Fold, drawn, fold, foldable, root
from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.network import Network
from archdsl.core.ops.structure import Add
from archdsl.text import TIMES, count_text

RANKDIRS = ("TB", "LR")
# Shape-preserving layers get a one-line node so a conv–bn–relu chain stays compact.
COMPACT = ("act", "norm")


@dataclass(frozen=True, slots=True)
class DotDrawing:
    """The DOT text and what it holds: layer and folded-block nodes."""

    text: str
    nodes: int


def render_dot(net: Network, *, collapse: bool = False, rankdir: str = "TB", layout: str = "chw") -> DotDrawing:
    """The graph-style drawing of `net`. `collapse` folds blocks and repeats into one node each."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    writer = _DotWriter(net, collapse, rankdir, layout)
    return DotDrawing(writer.write(), len(set(writer.rep.values())))


def _q(text: str) -> str:
    """A double-quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _e(text: str) -> str:
    """Text inside an HTML-like label."""
    return html.escape(text, quote=True)


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="10" COLOR="{P.MUTED}">{_e(text)}</FONT>'


class _DotWriter:
    def __init__(self, net: Network, collapse: bool, rankdir: str, layout: str):
        self.net = net
        self.collapse = collapse
        self.rankdir = rankdir
        self.layout = layout
        self.lines: list[str] = []
        self.rep: dict[Node, str] = {}  # node -> the DOT id drawing it
        self.merges: list[Scope] = []  # merge regions, whose branches are pinned in order
        self.families: set[str] = set()  # of what is drawn, for the legend

    # -- the document ------------------------------------------------------------------

    def write(self) -> str:
        body: list[str] = []
        self.lines = body
        self._children(root(self.net.graph), 1)
        edges = self._edges() + self._branch_order()
        head = [
            f"digraph {_q(self.net.name)} {{",
            f'  graph [rankdir={self.rankdir}, fontname={_q(P.FONT)}, fontsize=14, bgcolor="white", '
            f'pad="0.3", nodesep="0.25", ranksep="0.32", newrank=true, ordering="out", labelloc="t", labeljust="c",',
            f"         label={self._title()}];",
            f'  node [shape=box, style="rounded,filled", fontname={_q(P.FONT)}, fontsize=12, '
            f'fontcolor="{P.TEXT}", penwidth=1.3, margin="0.14,0.06", height=0.3];',
            f'  edge [color="#6B7280", arrowsize=0.6, penwidth=1.1, fontname={_q(P.FONT)}, fontsize=10];',
        ]
        return "\n".join(head + body + edges + ["}"]) + "\n"

    def _title(self) -> str:
        t = self.net.totals
        title = (f'<TR><TD COLSPAN="{2 * len(self._legend_families())}"><FONT POINT-SIZE="18"><B>'
                 f'{_e(self.net.name)}</B></FONT>  <FONT POINT-SIZE="12" COLOR="{P.MUTED}">'
                 f"{_e(shape_text(self.net.input_shape, self.layout))} \u2192 "
                 f"{_e(shape_text(self.net.output_shape, self.layout))} \u00b7 "
                 f"{_e(params_text(t.params))} \u00b7 {_e(count_text(t.macs))} MACs</FONT></TD></TR>")
        cells = []
        for fam in self._legend_families():
            sw = P.PALETTE[fam]
            cells.append(f'<TD BGCOLOR="{sw.fill}" COLOR="{sw.border}" BORDER="1" WIDTH="14" HEIGHT="12" '
                         f'FIXEDSIZE="TRUE"></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="11">{_e(sw.label)}'
                         f"</FONT></TD>")
        legend = "<TR>" + "".join(cells) + "</TR>"
        return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="4" CELLPADDING="2">{title}{legend}'
                f"</TABLE>>")

    def _legend_families(self) -> list[str]:
        return [f for f in P.ORDER if f in self.families]

    # -- clusters and nodes -----------------------------------------------------------

    def _children(self, scope: Scope, depth: int) -> None:
        children = [c for c in scope.children if drawn(c)]
        if scope.kind == ScopeKind.MERGE:
            # Branches are emitted last first; with the invisible chain of
            # `_branch_order` this is what puts branch 1 first in Graphviz 2.43.
            self.merges.append(scope)
            children = children[::-1]
        for child in children:
            if isinstance(child, Node):
                self._node(child, depth)
            elif self.collapse and foldable(child):
                self._fold(fold(child), depth)
            else:
                self._cluster(child, depth)

    def _cluster(self, scope: Scope, depth: int) -> None:
        pad = "  " * depth
        style = _CLUSTER_STYLES.get(scope.kind)
        in_branch = any(s.kind == "branch" for s in scope.ancestors()[:-1])
        if style is None or in_branch:
            # Clusters nested inside branches scramble the branch order, and the
            # enclosing block's cluster already groups them (merge regions and
            # branches get no cluster of their own).
            self._children(scope, depth)
            return
        self.lines.append(f"{pad}subgraph cluster_s{scope.index} {{")
        label = _cluster_label(scope)
        attrs = style + (f", label=<{label}>" if label else ', label=""')
        self.lines.append(f"{pad}  graph [{attrs}];")
        self._children(scope, depth + 1)
        self.lines.append(f"{pad}}}")

    def _node(self, node: Node, depth: int) -> None:
        nid = f"n{node.index}"
        self.rep[node] = nid
        fam = family(node)
        self.families.add(fam)
        sw = P.swatch(fam)
        params = self.net.figures(node).params
        what = describe(node)
        tooltip = f"{node.name}: {what}, {shape_text(node.shape, self.layout)}, {params:,} params"
        if fam in COMPACT and node.shape == (node.inputs[0].shape if node.inputs else None):
            text = _e(what) + (f"  {_small(count_text(params))}" if params else "")
            label = f"<{text}>"
            extra = ', fontsize=11, height=0.22, margin="0.1,0.03"'
        else:
            rows = [f"<B>{_e(what)}</B>", _e(shape_text(node.shape, self.layout))]
            meta = [] if fam in ("io", "merge") else [node.local_name]
            if params:
                meta.append(params_text(params))
            if meta:
                rows.append(_small(" \u00b7 ".join(meta)))
            label = "<" + "<BR/>".join(rows) + ">"
            extra = ', shape=ellipse, style="filled"' if fam == "merge" else ""
        self.lines.append(f'{"  " * depth}{nid} [label={label}, fillcolor="{sw.fill}", color="{sw.border}", '
                          f"tooltip={_q(tooltip)}{extra}];")

    def _fold(self, f: Fold, depth: int) -> None:
        fid = f"f{f.scope.index}"
        for n in f.nodes:
            self.rep[n] = fid
        self.families.add("block")
        sw = P.PALETTE["block"]
        sub = self.net.subtotal(f.scope)
        title = f.title + (f" {TIMES}{f.count}" if f.count > 1 else "")
        names = _instance_names(f)
        meta = ([names] if names else []) + [params_text(sub.params), f"{count_text(sub.macs)} MACs"]
        rows = [f"<B>{_e(title)}</B>", _e(shape_text(f.last.shape, self.layout)),
                _small(" \u00b7 ".join(meta))]
        tooltip = f"{f.scope.label}: {len(f.nodes)} layers, {sub.params:,} params, {sub.macs:,} MACs"
        style = "rounded,filled" + (",bold" if f.count > 1 else "")
        peripheries = ", peripheries=2" if f.count > 1 else ""
        self.lines.append(f'{"  " * depth}{fid} [label=<{"<BR/>".join(rows)}>, fillcolor="{sw.fill}", '
                          f'color="{sw.border}", style="{style}"{peripheries}, tooltip={_q(tooltip)}];')

    # -- edges --------------------------------------------------------------------------

    def _branch_order(self) -> list[str]:
        """Pin sibling branches in source order: branch 1 on the left (TB) or on top (LR).

        dot's crossing minimisation orders branches as it likes: a one-layer
        branch (a downsample module's maxpool) can jump its neighbours, and the
        order flips between TB and LR. Putting the branch heads on one rank,
        chained by invisible edges, pins it. The directions (nodes emitted last
        branch first, chain written forwards for TB and backwards for LR) were
        measured with Graphviz 2.43 on every concat of the gallery;
        tests/test_render.py checks the laid-out positions when `dot` is there."""
        out = []
        for scope in self.merges:
            heads = [self.rep.get(c.nodes()[0]) for c in scope.scopes() if c.nodes()]
            if len(heads) < 2 or None in heads or len(set(heads)) < len(heads):
                continue  # folded into one node, or a single branch: nothing to order
            chain = heads if self.rankdir == "TB" else heads[::-1]
            out.append(f"  {{rank=same; {' -> '.join(chain)} [style=invis]}}")
        return out

    def _edges(self) -> list[str]:
        out, seen = [], set()
        for node in self.net.graph.nodes:
            for i, src in enumerate(node.inputs):
                a, b = self.rep.get(src), self.rep.get(node)
                if a is None or b is None or a == b or (a, b) in seen:
                    continue
                seen.add((a, b))
                attrs = []
                if isinstance(node.op, Add) and node.op.residual and i == 1:
                    skip = "identity" if not _in_shortcut(src, node) else ""
                    attrs.append('color="#C73E55", penwidth=1.4, style="dashed"')
                    if skip:
                        attrs.append(f'xlabel=<<FONT COLOR="#C73E55">{skip}</FONT>>')
                out.append(f"  {a} -> {b}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
        return out


_CLUSTER_STYLES = {
    "block": f'peripheries=1, style="rounded,filled", fillcolor="{P.CLUSTER_FILL}", color="{P.CLUSTER_BORDER}", '
             f'fontsize=12, fontcolor="{P.TEXT}", labeljust="l", margin=10',
    "repeat": f'peripheries=1, style="rounded,dashed", color="{P.MUTED}", fontsize=12, fontcolor="{P.MUTED}", '
              f'labeljust="l", margin=10',
    # Branches keep their layers in one column without adding a border.
    # no "branch": a cluster per branch upsets dot's left-to-right order of the branches
    "residual": f'peripheries=1, style="rounded", color="{P.CLUSTER_BORDER}", margin=8',
    "shortcut": 'peripheries=1, style="rounded,dashed", color="#C73E55", fontsize=10, fontcolor="#C73E55", margin=6',
}


def _cluster_label(scope: Scope) -> str:
    if scope.kind == "block":
        return f"<B>{_e(fold(scope).title)}</B>"
    if scope.kind == "repeat":
        return _e(scope.label)
    if scope.kind == "shortcut":
        return "projection shortcut"
    return ""


def _instance_names(f: Fold) -> str:
    if f.scope.kind == "block":
        return "" if f.title.startswith(f"{f.scope.name}:") else (f.scope.name or "")
    names = [c.name for c in f.scope.scopes() if c.name]
    if not names:
        return ""
    return names[0] if len(names) == 1 else f"{names[0]} \u2026 {names[-1]}"


def _in_shortcut(src: Node, add: Node) -> bool:
    """Whether the skip input comes out of a projection shortcut (drawn as its own cluster)."""
    return any(s.kind == "shortcut" for s in src.scope.ancestors()) and src.scope.block() is add.scope.block()
