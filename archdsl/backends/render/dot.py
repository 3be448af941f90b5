"""Graph style: the network as Graphviz DOT text (no Graphviz needed to write it).

One node per layer (or per folded block with `collapse`, or per conv+bn+relu
with `fuse`), coloured by layer family, blocks as clusters, inception
branches side by side, residual skips drawn around their body, long skips to
named tensors in red. Skips that nest (U-Net) make a U, and `aspect` wraps a
long chain into columns (or rows, LR) of a slide's shape: dot_layout.py. The
text is deterministic: ids come from node and scope indices and everything is
emitted in topological order, so the same spec gives byte-identical DOT on
every run and machine.
"""
from __future__ import annotations

import html

from archdsl.backends.render import palette as P
from archdsl.backends.render.dot_layout import Layout, estimate_size, plan_layout
from archdsl.backends.render.notation import describe, family, params_text, shape_text
from archdsl.backends.render.structure import Fold, drawn, fold, foldable, fused_chains, root, structured_merges
from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.network import Network
from archdsl.core.ops.structure import Add
from archdsl.records import dataclass, field
from archdsl.text import TIMES, count_text

RANKDIRS = ("TB", "LR")
# Shape-preserving layers get a one-line node so a conv–bn–relu chain stays compact.
COMPACT = ("act", "norm")
SKIP = P.SKIP


@dataclass(frozen=True, slots=True)
class DotDrawing:
    """The DOT text and what it holds: layer, fused and folded-block nodes."""

    text: str
    nodes: int


def render_dot(net: Network, *, collapse: bool = False, rankdir: str = "TB", layout: str = "chw",
               aspect: float | None = None, fuse: bool = False) -> DotDrawing:
    """The graph-style drawing of `net`. `collapse` folds blocks and repeats into
    one node each; `fuse` draws a conv or fc with the norms and activations
    right after it as one node; `aspect` (width/height, 16/9 for a slide)
    wraps a long chain into columns (TB) or rows (LR) of about that shape."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    writer = _DotWriter(net, collapse, rankdir, layout, aspect, fuse)
    return DotDrawing(writer.write(), len(set(writer.rep.values())))


def _q(text: str) -> str:
    """A double-quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _e(text: str) -> str:
    """Text inside an HTML-like label."""
    return html.escape(text, quote=True)


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="10" COLOR="{P.MUTED}">{_e(text)}</FONT>'


@dataclass(slots=True)
class Edge:
    """One drawn edge, from the figure of a layer's input to the figure of the layer."""

    a: str
    b: str
    attrs: list[str] = field(default_factory=list)
    residual: bool = False  # the skip of a residual, drawn around its body


class _DotWriter:
    def __init__(self, net: Network, collapse: bool, rankdir: str, layout: str, aspect: float | None,
                 fuse: bool):
        self.net = net
        self.collapse = collapse
        self.rankdir = rankdir
        self.layout = layout
        self.aspect = aspect
        self.lines: list[str] = []
        self.rep: dict[Node, str] = {}  # node -> the DOT id drawing it
        self.last: dict[str, Node] = {}  # DOT id -> the last node it draws (its output)
        self.sizes: dict[str, tuple[float, float]] = {}  # DOT id -> estimated (width, height) in points
        self.clusters: dict[str, tuple[int, ...]] = {}  # DOT id -> the clusters it sits in
        self.open: list[int] = []
        self.merges: list[Scope] = []  # merge regions, whose branches are pinned in order
        self.families: set[str] = set()  # of what is drawn, for the legend
        self.chains = fused_chains(net.graph) if fuse else {}
        self.tails = {t for chain in self.chains.values() for t in chain}

    # -- the document ------------------------------------------------------------------

    def write(self) -> str:
        body: list[str] = []
        self.lines = body
        self._children(root(self.net.graph), 1)
        markers = self._outputs()
        edges = self._edges() + [Edge(a, m) for a, m in markers]
        plan = plan_layout(self._layout_input(edges, markers))
        lines = [self._edge_line(e, plan) for e in edges] + plan.extra + self._branch_order()
        head = [
            f"digraph {_q(self.net.name)} {{",
            f'  graph [rankdir={self.rankdir}, fontname={_q(P.FONT)}, fontsize=14, bgcolor="white", '
            f'pad="0.3", nodesep="0.25", ranksep="0.32", newrank=true, ordering="out", labelloc="t", labeljust="c",',
            f"         label={self._title()}];",
            f'  node [shape=box, style="rounded,filled", fontname={_q(P.FONT)}, fontsize=12, '
            f'fontcolor="{P.TEXT}", penwidth=1.3, margin="0.14,0.06", height=0.3];',
            f'  edge [color="#6B7280", arrowsize=0.6, penwidth=1.1, fontname={_q(P.FONT)}, fontsize=10];',
        ]
        return "\n".join(head + body + lines + ["}"]) + "\n"

    def _title(self) -> str:
        t = self.net.totals
        g = self.net.graph
        ins = ", ".join(shape_text(n.shape, self.layout) for n in g.inputs) or shape_text(
            self.net.input_shape, self.layout)
        outs = ", ".join(shape_text(n.shape, self.layout) for n in g.outputs) or shape_text(
            self.net.output_shape, self.layout)
        title = (f'<TR><TD COLSPAN="{2 * len(self._legend_families())}"><FONT POINT-SIZE="18"><B>'
                 f'{_e(self.net.name)}</B></FONT>  <FONT POINT-SIZE="12" COLOR="{P.MUTED}">'
                 f"{_e(ins)} \u2192 {_e(outs)} \u00b7 "
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
        children = [c for c in scope.children if drawn(c) and c not in self.tails]
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
        self.open.append(scope.index)
        self._children(scope, depth + 1)
        self.open.pop()
        self.lines.append(f"{pad}}}")

    def _place(self, nid: str, last: Node, rows: list[str], size: int = 12) -> None:
        self.last[nid] = last
        self.clusters[nid] = tuple(self.open)
        self.sizes[nid] = estimate_size(rows, size)

    def _node(self, node: Node, depth: int) -> None:
        nid = f"n{node.index}"
        chain = [node] + self.chains.get(node, [])
        for n in chain:
            self.rep[n] = nid
        fam = family(node)
        self.families.add(fam)  # a fused node wears its head's colour only
        sw = P.swatch(fam)
        params = sum(self.net.figures(n).params for n in chain)
        what = " + ".join([describe(node)] + [_FUSED_SHORT.get(describe(n), describe(n)) for n in chain[1:]])
        if fam == "io" and node.name != "input":
            what = f"input {node.name}"  # one of several named inputs
        last = chain[-1]
        tooltip = f"{node.name}: {what}, {shape_text(last.shape, self.layout)}, {params:,} params"
        if len(chain) == 1 and fam in COMPACT and node.shape == (node.inputs[0].shape if node.inputs else None):
            text = _e(what) + (f"  {_small(params_text(params))}" if params else "")
            label = f"<{text}>"
            extra = ', fontsize=11, height=0.22, margin="0.1,0.03"'
            self._place(nid, last, [what + ("  " + params_text(params) if params else "")], 11)
        else:
            rows = [f"<B>{_e(what)}</B>", _e(shape_text(last.shape, self.layout))]
            plain = [what, shape_text(last.shape, self.layout)]
            meta = [] if fam in ("io", "merge") else [node.local_name]
            if params:
                meta.append(params_text(params))
            if meta:
                rows.append(_small(" \u00b7 ".join(meta)))
                plain.append(" \u00b7 ".join(meta))
            label = "<" + "<BR/>".join(rows) + ">"
            extra = ', shape=ellipse, style="filled"' if fam == "merge" else ""
            self._place(nid, last, plain)
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
        self._place(fid, f.last, [title, shape_text(f.last.shape, self.layout), " \u00b7 ".join(meta)])
        tooltip = f"{f.scope.label}: {len(f.nodes)} layers, {sub.params:,} params, {sub.macs:,} MACs"
        style = "rounded,filled" + (",bold" if f.count > 1 else "")
        peripheries = ", peripheries=2" if f.count > 1 else ""
        self.lines.append(f'{"  " * depth}{fid} [label=<{"<BR/>".join(rows)}>, fillcolor="{sw.fill}", '
                          f'color="{sw.border}", style="{style}"{peripheries}, tooltip={_q(tooltip)}];')

    def _outputs(self) -> list[tuple[str, str]]:
        """A marker per output when a network names its outputs or has several:
        `output coarse`, hung under the layer it marks."""
        g = self.net.graph
        if not g.outputs or (len(g.outputs) == 1 and g.output_names == ["output"]):
            return []
        sw = P.PALETTE["io"]
        out = []
        for i, (node, name) in enumerate(zip(g.outputs, g.output_names, strict=True)):
            src = self.rep.get(node)
            if src is None:
                continue
            mid = f"o{i}"
            self.lines.append(f'  {mid} [label=<output <B>{_e(name)}</B>>, fillcolor="{sw.fill}", '
                              f'color="{sw.border}", fontsize=11, height=0.22, margin="0.1,0.03", '
                              f'tooltip={_q(f"output {name}: {shape_text(node.shape, self.layout)}")}];')
            self.sizes[mid] = estimate_size([f"output {name}"], 11)
            self.clusters[mid] = ()
            out.append((src, mid))
        return out

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

    def _edges(self) -> list[Edge]:
        out, seen = [], set()
        for node in self.net.graph.nodes:
            for i, src in enumerate(node.inputs):
                a, b = self.rep.get(src), self.rep.get(node)
                if a is None or b is None or a == b or (a, b) in seen:
                    continue
                seen.add((a, b))
                edge = Edge(a, b)
                if isinstance(node.op, Add) and node.op.residual and i == 1:
                    edge.residual = True
                    edge.attrs.append('color="#C73E55", penwidth=1.4, style="dashed"')
                    if not _in_shortcut(src, node):
                        edge.attrs.append('xlabel=<<FONT COLOR="#C73E55">identity</FONT>>')
                out.append(edge)
        return out

    def _layout_input(self, edges: list[Edge], markers: list[tuple[str, str]]) -> Layout:
        ids = list(dict.fromkeys(self.rep[n] for n in self.net.graph.nodes if n in self.rep))
        ignore = {self.rep[n] for n in structured_merges(self.net.graph) if n in self.rep}
        ignore |= {e.b for e in edges if e.residual}
        g = self.net.graph
        return Layout(
            ids=ids, edges=[(e.a, e.b) for e in edges if (e.a, e.b) not in markers], start=self.rep.get(g.input),
            ends=[self.rep[n] for n in g.outputs if n in self.rep] or ids[-1:], ignore=ignore,
            depth={i: _depth(n) for i, n in self.last.items()}, sizes=self.sizes, clusters=self.clusters,
            rankdir=self.rankdir, aspect=self.aspect, markers=markers)

    def _edge_line(self, e: Edge, plan) -> str:
        attrs = list(e.attrs)
        a, b = e.a, e.b
        how = plan.edges.get((a, b), set())
        if "skip" in how:
            attrs.append(f'color="{SKIP}", penwidth=1.6')
        if "back" in how:
            a, b = b, a
            attrs.append("dir=back")
        if "loose" in how or "wrap" in how:
            attrs.append("constraint=false")
        return f"  {a} -> {b}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";"


_FUSED_SHORT = {"batchnorm": "bn"}  # conv 64, 3×3 + bn + relu, as lecture slides write it


def _depth(node: Node) -> int:
    """How deep a figure sits in a U: the smaller its map, the deeper."""
    shape = node.shape or ()
    spatial = 1
    for v in shape[1:]:
        spatial *= v
    return -spatial


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
