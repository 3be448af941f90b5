"""Volume style: the 3-D box figures of the AlexNet paper, as pure SVG.

Every feature map is a box: its front face is as tall as the map's height and
as wide as its channel count, and it recedes by its width, scaled (log by
default, or sqrt or linear) so that a 224-pixel, 512-channel map and a
6-pixel one both fit on a slide. Each convolution or pooling window is drawn
as a small square on the box it reads, with a pyramid to the map it writes.
Vectors (flatten, fc) are bars; branches stack vertically and meet at a merge
glyph (+ for add, C for concat, × for mul); an identity skip is a line
around its body. Inputs from named tensors far back come by arcs, and
nested skips make a U (volume_layout.py).

Layout is a small box model (volume_items.py): every item measures its width
and how far it reaches above and below the centre line, then draws itself at
a position. No Graphviz, no third-party package; the output is deterministic.
"""
from __future__ import annotations

import html
import re

from archdsl.backends.render import palette as P
from archdsl.backends.render.notation import GLYPHS, describe, family, params_text, shape_text
from archdsl.backends.render.structure import Fold, auto_name, drawn, fold, foldable, root, structured_merges
from archdsl.backends.render.volume_items import (
    SCALES,
    Bar,
    Box,
    Glyph,
    Item,
    OutTag,
    Par,
    Scale,
    Seq,
    text,
    text_w,
    two_lines,
)
from archdsl.backends.render.volume_items import n as _n
from archdsl.backends.render.volume_layout import rows_figure, u_figure
from archdsl.backends.render.volume_tokens import TOKEN_DRAWN, item_for
from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.network import Network
from archdsl.core.ops import activation, conv, dense, norm, pool, resample, reshape, structure, transposed
from archdsl.core.shapes import is_tokens
from archdsl.records import dataclass
from archdsl.text import TIMES, count_text, wrap_words

MARGIN, HEADER = 24, 62

# Which kinds get a box (a map) or a bar (a vector) of their own. Activations,
# normalisation and dropout keep the shape and are left out; merges are drawn
# as a glyph where their branches meet. tests/test_registry.py checks that
# every layer kind is decided here.
DRAWN: dict[type, bool] = {
    structure.Input: True, conv.Conv: True, pool.Pool: True, pool.GlobalPool: True,
    pool.AdaptivePool: True, dense.Linear: True, dense.Flatten: True,
    norm.BatchNorm: False, norm.LocalResponseNorm: False, norm.Dropout: False,
    activation.Activation: False, activation.Softmax: False, structure.Identity: False,
    structure.Merge: False, transposed.ConvTranspose: True, resample.Upsample: True, resample.Crop: True,
    resample.Pad: True, dense.Embedding: True, norm.LayerNorm: False, norm.GroupNorm: False,
    norm.InstanceNorm: False, norm.LayerScale: False, norm.StochasticDepth: False, reshape.Reshape: True,
    reshape.Permute: True, reshape.Shuffle: False, reshape.Split: True,
    **TOKEN_DRAWN,
}
WINDOWED = (conv.Conv, pool.Pool, transposed.ConvTranspose)


def drawing(op) -> bool:
    """Whether a layer gets a figure of its own (looked up along the op's class hierarchy)."""
    return op is not None and next(DRAWN[c] for c in type(op).__mro__ if c in DRAWN)


def _kernel_of(op) -> int | None:
    if isinstance(op, (conv.Conv, pool.Pool)):
        return op.window.kernel[-1]
    if isinstance(op, transposed.ConvTranspose):
        return op.kernel[-1]
    return None


# -- from the network to items -------------------------------------------------------------

class _Builder:
    def __init__(self, net: Network, collapse: bool, layout: str, scale: Scale):
        self.net = net
        self.collapse = collapse
        self.layout = layout
        self.scale = scale
        self.families: set[str] = set()
        self.item_of: dict[Node, Item] = {}  # the item that shows a node's output
        self.inputs_of: dict[Item, list[Node]] = {}  # what each item reads, resolved once all are built
        self.structured = structured_merges(net.graph)

    def seq(self, scope: Scope) -> Seq:
        return self.items([c for c in scope.children if drawn(c)])

    def items(self, children: list) -> Seq:
        items: list[Item] = []
        i = 0
        while i < len(children):
            child = children[i]
            if isinstance(child, Node) and isinstance(child.op, reshape.Split) and child.shape is not None:
                parts = self._parts(children, i)
                items.append(self.split(parts))
                i += len(parts) - 1
            elif isinstance(child, Node):
                item = self.node(child)
                if item is not None:
                    items.append(item)
            elif self.collapse and foldable(child):
                items.append(self.fold(fold(child)))
            elif child.kind in (ScopeKind.MERGE, ScopeKind.RESIDUAL):
                merge = children[i + 1] if i + 1 < len(children) and isinstance(children[i + 1], Node) else None
                items.append(self.par(child, merge))
                i += 1 if merge is not None else 0
            else:
                items.extend(self.seq(child).items)
            i += 1
        return Seq(items=items)

    def _own(self, item: Item, nodes: list[Node]) -> Item:
        inside = set(nodes)
        for node in nodes:
            self.item_of[node] = item
        self.inputs_of[item] = [i for node in nodes for i in node.inputs if i not in inside]
        return item

    def node(self, node: Node) -> Item | None:
        if node.shape is None:
            return None
        if isinstance(node.op, structure.Merge) and node not in self.structured:
            self.families.add("merge")  # a merge of named tensors: a glyph, its inputs by arcs
            glyph = Glyph(glyph=GLYPHS.get(type(node.op), "+"), label=shape_text(node.shape, self.layout))
            return self._own(glyph, [node])
        if not drawing(node.op):
            return None
        fam = family(node)
        self.families.add(fam)
        lines = two_lines(describe(node))
        if isinstance(node.op, structure.Input) and node.name != "input":
            lines = ["input", node.name]  # one of several named inputs
        params = self.net.figures(node).params
        bottom = [shape_text(node.shape, self.layout)] + ([params_text(params)] if params else [])
        return self._own(item_for(node.shape, top_lines=lines, bottom_lines=bottom, fam=fam,
                                  window=_kernel_of(node.op), scale=self.scale), [node])

    @staticmethod
    def _parts(children: list, i: int) -> list[Node]:
        """The parts of one `a, b: split 2`: consecutive split nodes of the same input."""
        parts = [children[i]]
        for child in children[i + 1:]:
            if not (isinstance(child, Node) and isinstance(child.op, reshape.Split) and child.shape is not None
                    and child.inputs == parts[0].inputs and child.op.index == parts[-1].op.index + 1):
                break
            parts.append(child)
        return parts

    def split(self, parts: list[Node]) -> Item:
        """A channel split as one box, the map it splits, with its parts' sizes and names:
        every part's consumer reads this box, so an arc leaves it for the part that goes round."""
        self.families.add("reshape")
        shape = parts[0].inputs[0].shape if parts[0].inputs else parts[0].shape
        sizes = " + ".join(str(p.op.stop - p.op.start) for p in parts)
        bottom = [shape_text(shape, self.layout), ", ".join(p.local_name for p in parts)]
        cls = Bar if len(shape) == 1 else Box
        return self._own(cls(shape=shape, top_lines=["split", sizes], bottom_lines=bottom, fam="reshape",
                             scale=self.scale), parts)

    def fold(self, f: Fold) -> Item:
        self.families.add("block")
        sub = self.net.subtotal(f.scope)
        title = f.title + (f" {TIMES}{f.count}" if f.count > 1 else "")
        top = [title] if len(title) <= 18 else _split_title(title)
        shape = f.last.shape or (1,)
        bottom = [shape_text(shape, self.layout), f"{params_text(sub.params)}", f"{count_text(sub.macs)} MACs"]
        if sub.attention_macs:
            bottom.append(f"+ {count_text(sub.attention_macs)} attention")
        return self._own(item_for(shape, top_lines=top, bottom_lines=bottom, fam="block", copies=f.count,
                                  scale=self.scale), f.nodes)

    def par(self, scope: Scope, merge: Node | None) -> Item:
        if scope.kind == ScopeKind.RESIDUAL:
            shortcut = scope.scopes(ScopeKind.SHORTCUT)
            body = [c for c in scope.children if c not in shortcut and drawn(c)]
            branches = [self.items(body), self.seq(shortcut[0]) if shortcut else Seq(items=[])]
        else:
            branches = [self.seq(b) for b in scope.scopes(ScopeKind.BRANCH)] or [Seq(items=[])]
        glyph = GLYPHS[type(merge.op)] if merge is not None and merge.op is not None else "+"
        label = shape_text(merge.shape, self.layout) if merge is not None else ""
        if merge is not None:
            self.families.add("merge")
        item = Par(branches=branches, glyph=glyph, label=label)
        region = scope.nodes()
        self.inputs_of[item] = [i for n in region for i in n.inputs if i not in set(region)]
        if merge is not None:
            self.item_of[merge] = item
        return item

    def rep(self, node: Node) -> Item | None:
        """The item showing `node`'s output: its own, or that of what it passes on (a relu, a bn)."""
        seen = 0
        while node not in self.item_of:
            if not node.inputs or seen > 10_000:
                return None
            node, seen = node.inputs[0], seen + 1
        return self.item_of[node]

    def link(self) -> dict:
        """Fill every item's `srcs`; return the tensor names to write on arcs."""
        names = {}
        for item, nodes in self.inputs_of.items():
            srcs = []
            for node in nodes:
                src = self.rep(node)
                if src is not None and src is not item and src not in srcs:
                    srcs.append(src)
                    name = _tensor_name(node)
                    if name:
                        names[(src, item)] = f"@{name}"
            item.srcs = srcs
        return names


def _tensor_name(node: Node) -> str | None:
    """The name the spec gives a tensor: a label, or the name of the block whose output it is."""
    if not re.fullmatch(rf"{re.escape(node.keyword)}\d+", node.local_name) and node.local_name != "input":
        return node.local_name
    scope = node.scope
    if scope.kind == ScopeKind.BLOCK and scope.name and scope.nodes()[-1] is node and not auto_name(scope):
        return scope.name
    return None


def _split_title(title: str, width: int = 16) -> list[str]:
    """Wrap a block title to lines of about `width` characters, breaking after
    the name's colon, before the argument list, and after commas:
    `inception3a: Inception(64, 96, 128, 16, 32, 32)` -> 4 short lines."""
    name, colon, rest = title.partition(": ")
    lines = [name] if colon else []
    rest = rest if colon else title
    head, paren, args = rest.partition("(")
    lines.append(head)
    if paren:
        lines += wrap_words((paren + args).split(" "), width)
    return lines


@dataclass(frozen=True, slots=True)
class VolumeDrawing:
    """The SVG document and its size in pixels."""

    svg: str
    width: float
    height: float


def notebook_svg(net: Network) -> str:
    """`Network._repr_svg_()`: the volume figure for Jupyter."""
    return render_volume(net).svg


def figure_scale(net: Network, kind: str) -> Scale:
    """The scale of one figure: sqrt and linear are relative to its largest map, channels and vector."""
    if kind not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {kind!r}")
    shapes = [n.shape for n in net.graph.nodes if n.shape]
    maps = [s for s in shapes if len(s) >= 2 and not is_tokens(s)]
    return Scale(kind, max((v for s in maps for v in s[1:]), default=1), max((s[0] for s in maps), default=1),
                 max((s[0] for s in shapes if len(s) == 1), default=1))


def render_volume(net: Network, *, collapse: bool = False, layout: str = "chw", scale: str = "log",
                  aspect: float | None = None) -> VolumeDrawing:
    """The volume-style figure of `net` as a standalone SVG document.

    A figure much wider than tall (a collapsed ResNet is a long chain) is
    wrapped into rows so that it fits a 16:9 slide (or `aspect`); nested
    skips (U-Net) are drawn as a U."""
    builder = _Builder(net, collapse, layout, figure_scale(net, scale))
    items = builder.seq(root(net.graph)).items
    names = builder.link()
    items, ends = _with_outputs(net, builder, items)
    depth = lambda item: -_spatial(item)  # noqa: E731 - the smallest map is the bottom of a U
    fig = (u_figure(items, names, ends, depth, MARGIN, HEADER) if items else None) or rows_figure(
        items, names, MARGIN, HEADER, aspect)
    head, head_w = _header(net, builder.families, layout, MARGIN)
    width = max(fig.width, head_w + MARGIN, 420)
    out: list[str] = []
    fig.draw(MARGIN, HEADER, out)
    svg = "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(fig.height)}" '
        f'viewBox="0 0 {_n(width)} {_n(fig.height)}" font-family="{P.FONT}">',
        f"<title>{html.escape(net.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6B7280"/></marker>'
        '<marker id="skip" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{P.SKIP}"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
        *head, *out, "</svg>",
    ]) + "\n"
    return VolumeDrawing(svg, width, fig.height)


def _spatial(item: Item) -> int:
    shape = getattr(item, "shape", None) or ()
    out = 1
    for v in shape[1:]:
        out *= v
    return out if shape else 1 << 60


def _with_outputs(net: Network, builder: _Builder, items: list[Item]) -> tuple[list[Item], list[Item]]:
    """Tag the outputs when the network names them or has several; the items holding them."""
    g = net.graph
    ends = [builder.rep(o) for o in g.outputs]
    ends = [e for e in ends if e is not None]
    if not g.outputs or (len(g.outputs) == 1 and g.output_names == ["output"]):
        return items, ends
    out = list(items)
    for node, name in zip(g.outputs, g.output_names, strict=True):
        item = builder.rep(node)
        if item not in out:
            continue
        k = out.index(item) + 1
        while k < len(out) and isinstance(out[k], OutTag):
            k += 1
        out.insert(k, OutTag(name=name, srcs=[item]))
        builder.families.add("io")
    return out, ends


def _header(net: Network, families: set[str], layout: str, margin: float) -> tuple[list[str], float]:
    t = net.totals
    g = net.graph
    ins = ", ".join(shape_text(x.shape, layout) for x in g.inputs) or shape_text(net.input_shape, layout)
    outs = ", ".join(shape_text(x.shape, layout) for x in g.outputs) or shape_text(net.output_shape, layout)
    sub = f"{ins} \u2192 {outs} \u00b7 {params_text(t.params)} \u00b7 {count_text(t.macs)} MACs"
    if t.attention_macs:
        sub += f" + {count_text(t.attention_macs)} attention"
    sub_x = margin + text_w(net.name, 18, bold=True) + 12
    out = [text(margin, 24, net.name, size=18, weight="bold", anchor="start"),
           text(sub_x, 24, sub, size=12, colour=P.MUTED, anchor="start")]
    x = margin
    for fam in P.ORDER:
        if fam not in families:
            continue
        sw = P.PALETTE[fam]
        out.append(f'<rect x="{_n(x)}" y="37" width="12" height="12" rx="2" fill="{sw.fill}" stroke="{sw.border}"/>')
        out.append(text(x + 17, 47, sw.label, anchor="start"))
        x += 17 + text_w(sw.label) + 16
    return out, max(sub_x + text_w(sub, 12), x)
