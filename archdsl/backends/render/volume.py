"""Volume style: the 3-D box figures of the AlexNet paper, as pure SVG.

Every feature map is a box: its front face is as tall as the map's height and
as wide as its channel count, and it recedes by its width, all log-scaled so
that a 224-pixel, 512-channel map and a 6-pixel one both fit on a slide. Each
convolution or pooling window is drawn as a small square on the box it reads,
with a pyramid to the map it writes. Vectors (flatten, fc) are bars; branches
stack vertically and meet at a merge glyph (+ for add, C for concat);
an identity skip is a line around its body.

Layout is a small box model: every item measures its width and how far it
reaches above and below the centre line, then draws itself at a position.
No Graphviz, no third-party package; the output is deterministic.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from archdsl.backends.render import palette as P
from archdsl.backends.render.notation import GLYPHS, describe, family, params_text, shape_text
from archdsl.backends.render.structure import Fold, drawn, fold, foldable, root
from archdsl.core.ir import Node, Scope, ScopeKind
from archdsl.core.network import Network
from archdsl.core.ops import activation, conv, dense, norm, pool, resample, reshape, structure, transposed
from archdsl.text import TIMES, count_text

FONT_PX = 11
CHAR_W = 6.4  # average glyph width of an 11 px sans-serif, for sizing labels
GAP = 22  # between consecutive items
BRANCH_GAP = 16
FAN = 26  # room for the lines that fan out to branches and back in
ROW_GAP = 28  # between wrapped rows; the arrow back to the left runs through it
WRAP_ASPECT = 3.0  # wrap a figure more than this many times as wide as tall...
SLIDE_ASPECT = 16 / 9  # ...into the number of rows that comes nearest a slide

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
    resample.Pad: False, dense.Embedding: True, norm.LayerNorm: False, norm.GroupNorm: False,
    norm.InstanceNorm: False, norm.LayerScale: False, norm.StochasticDepth: False, reshape.Reshape: True,
    reshape.Permute: False, reshape.Shuffle: False, reshape.Split: True,
}


def drawing(op) -> bool:
    """Whether a layer gets a figure of its own (looked up along the op's class hierarchy)."""
    return op is not None and next(DRAWN[c] for c in type(op).__mro__ if c in DRAWN)


def _log(v: int) -> float:
    return math.log2(max(v, 1))


def _size(v: int) -> float:
    """Spatial size -> pixels; 1 -> 12, 7 -> 54, 56 -> 99, 224 -> 129."""
    return 12 + 15 * _log(v)


def _chan(c: int) -> float:
    """Channels -> front-face width in pixels; 3 -> 11, 64 -> 33, 2048 -> 58."""
    return 3 + 5 * _log(c)


def _n(v: float) -> str:
    """Coordinates with one decimal, so the SVG text is stable across runs."""
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _shade(hex_colour: str, factor: float) -> str:
    """Lighten (factor > 1) or darken (< 1) a #RRGGBB colour."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    if factor >= 1:
        rgb = [round(c + (255 - c) * (factor - 1)) for c in rgb]
    else:
        rgb = [round(c * factor) for c in rgb]
    return "#" + "".join(f"{min(max(c, 0), 255):02X}" for c in rgb)


def _text(x: float, y: float, text: str, *, size: int = FONT_PX, weight: str | None = None,
          colour: str = P.TEXT, anchor: str = "middle") -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{colour}" text-anchor="{anchor}"'
            f"{bold}>{html.escape(text)}</text>")


def _text_w(text: str, size: int = FONT_PX) -> float:
    return len(text) * CHAR_W * size / FONT_PX


def _two_lines(what: str) -> list[str]:
    """`conv 96, 11×11 /4` -> [`conv 96`, `11×11 /4`]; `maxpool 3×3 /2` -> [`maxpool`, `3×3 /2`]."""
    if ", " in what:
        return what.split(", ", 1)
    head, _, rest = what.partition(" ")
    return [head, rest] if TIMES in rest else [what]


# -- the items ---------------------------------------------------------------------------

@dataclass(eq=False)
class Item:
    """Something drawn on the centre line: width, reach above and below."""

    width: float = 0
    up: float = 0
    down: float = 0

    def draw(self, x: float, cy: float, out: list[str]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(eq=False)
class Box(Item):
    """A feature map (or a folded block's output) as a 3-D box."""

    shape: tuple = ()
    top: list[str] = field(default_factory=list)
    bottom: list[str] = field(default_factory=list)
    fam: str = "conv"
    copies: int = 1  # a folded repeat draws shadow copies behind
    window: tuple | None = None  # the kernel of the op that made this map, drawn on the previous box
    fw: float = 0
    fh: float = 0
    dx: float = 0
    dy: float = 0
    x0: float = 0
    cy0: float = 0

    def __post_init__(self):
        c = self.shape[0]
        h = self.shape[-2] if len(self.shape) >= 3 else self.shape[-1] if len(self.shape) == 2 else 1
        w = self.shape[-1] if len(self.shape) >= 3 else 1
        self.fw, self.fh = _chan(c), _size(h)
        d = _size(w) * 0.45 if len(self.shape) >= 3 else 6
        self.dx, self.dy = d * 0.8, d * 0.6
        shadow = 5 * (min(self.copies, 3) - 1)
        body = self.fw + self.dx + shadow
        labels = max([_text_w(t) for t in self.top + self.bottom] + [0])
        self.width = max(body, labels) + 4
        self.up = self.fh / 2 + self.dy + shadow + 6 + 14 * len(self.top)
        self.down = self.fh / 2 + 6 + 14 * len(self.bottom)

    def front(self) -> tuple[float, float, float, float]:
        """x, y, width, height of the front face as drawn."""
        left = self.x0 + (self.width - (self.fw + self.dx)) / 2
        return left, self.cy0 - self.fh / 2, self.fw, self.fh

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        sw = P.swatch(self.fam)
        left, top, fw, fh = self.front()
        for i in range(min(self.copies, 3) - 1, 0, -1):  # shadows first, behind
            _cuboid(left + 5 * i, top - 5 * i, fw, fh, self.dx, self.dy, _shade(sw.fill, 1.3), sw.border, out,
                    opacity=0.7)
        _cuboid(left, top, fw, fh, self.dx, self.dy, sw.fill, sw.border, out)
        centre = left + (fw + self.dx) / 2
        y = top - self.dy - 6 - 5 * (min(self.copies, 3) - 1) - 14 * (len(self.top) - 1)
        for i, line in enumerate(self.top):
            out.append(_text(centre, y + 14 * i - 3, line, weight="bold" if i == 0 else None))
        y = top + fh + 16
        for i, line in enumerate(self.bottom):
            out.append(_text(centre, y + 14 * i, line, colour=P.TEXT if i == 0 else P.MUTED,
                             size=FONT_PX if i == 0 else FONT_PX - 1))

    def left_anchor(self) -> float:
        return self.front()[0]

    def right_anchor(self) -> float:
        left, _, fw, _ = self.front()
        return left + fw + self.dx


def _cuboid(x, y, w, h, dx, dy, fill, stroke, out, opacity=1.0):
    """Front face at (x, y, w, h); top and side faces recede up and to the right."""
    op = f' opacity="{opacity:g}"' if opacity != 1 else ""
    pts = lambda *p: " ".join(f"{_n(a)},{_n(b)}" for a, b in p)  # noqa: E731
    out.append(f'<g stroke="{stroke}" stroke-width="1" stroke-linejoin="round"{op}>')
    out.append(f'<polygon points="{pts((x, y), (x + dx, y - dy), (x + w + dx, y - dy), (x + w, y))}" '
               f'fill="{_shade(fill, 1.35)}"/>')
    out.append(f'<polygon points="{pts((x + w, y), (x + w + dx, y - dy), (x + w + dx, y + h - dy), (x + w, y + h))}" '
               f'fill="{_shade(fill, 0.88)}"/>')
    out.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{fill}"/>')
    out.append("</g>")


@dataclass(eq=False)
class Seq(Item):
    """Items left to right, joined by arrows; kernels drawn between boxes."""

    items: list[Item] = field(default_factory=list)
    cy: float = 0  # the centre line, once drawn

    def __post_init__(self):
        self.width = sum(i.width for i in self.items) + GAP * max(len(self.items) - 1, 0)
        self.up = max([i.up for i in self.items] + [0])
        self.down = max([i.down for i in self.items] + [0])

    def draw(self, x, cy, out):
        self.cy = cy
        prev = None
        for item in self.items:
            item.draw(x, cy, out)
            if prev is not None:
                _join(prev, item, cy, out)
            prev = item
            x += item.width + GAP


def _right(item: Item) -> float:
    return item.right_anchor() if isinstance(item, (Box, Par)) else item.x0 + item.width


def _left(item: Item) -> float:
    return item.left_anchor() if isinstance(item, (Box, Par)) else item.x0


def _join(a: Item, b: Item, cy: float, out: list[str]) -> None:
    """An arrow from a to b; a kernel square and its pyramid when b is a windowed op."""
    x1, x2 = _right(a), _left(b)
    if isinstance(a, Box) and isinstance(b, Box) and b.window is not None and len(a.shape) >= 3:
        _kernel(a, b, out)
    out.append(f'<line x1="{_n(x1 + 2)}" y1="{_n(cy)}" x2="{_n(x2 - 3)}" y2="{_n(cy)}" '
               f'stroke="#6B7280" stroke-width="1.2" marker-end="url(#arrow)"/>')


def _kernel(a: Box, b: Box, out: list[str]) -> None:
    k = b.window
    left, top, fw, fh = a.front()
    side = max(4.0, min(fh * 0.6, fh * k / max(a.shape[-2], 1)))
    kx, ky = left + fw - side - 3, top + fh * 0.3 - side / 2
    kx = max(kx, left + 1)
    bl, bt, _, bh = b.front()
    tip = (bl + 1, bt + bh * 0.35)
    sw = P.swatch(b.fam)
    out.append(f'<rect x="{_n(kx)}" y="{_n(ky)}" width="{_n(side)}" height="{_n(side)}" '
               f'fill="{_shade(sw.border, 1.2)}" fill-opacity="0.55" stroke="{sw.border}" stroke-width="1"/>')
    for cx, cy in ((kx + side, ky), (kx + side, ky + side)):
        out.append(f'<line x1="{_n(cx)}" y1="{_n(cy)}" x2="{_n(tip[0])}" y2="{_n(tip[1])}" '
                   f'stroke="{sw.border}" stroke-width="0.8" stroke-dasharray="3,2"/>')


@dataclass(eq=False)
class Bar(Box):
    """A vector (flatten, fc) as a thin upright bar."""

    def __post_init__(self):
        super().__post_init__()
        self.fw, self.fh, self.dx, self.dy = 9, 10 + 10 * _log(self.shape[0]), 5, 4
        labels = max([_text_w(t) for t in self.top + self.bottom] + [0])
        self.width = max(self.fw + self.dx, labels) + 4
        self.up = self.fh / 2 + self.dy + 6 + 14 * len(self.top)
        self.down = self.fh / 2 + 6 + 14 * len(self.bottom)


@dataclass(eq=False)
class Par(Item):
    """Branches stacked vertically, fanned out from one point and merged at a glyph."""

    branches: list[Seq] = field(default_factory=list)
    glyph: str = "+"
    label: str = ""
    offsets: list[float] = field(default_factory=list)
    x0: float = 0

    def __post_init__(self):
        inner = max(b.width for b in self.branches)
        # The shape label sits right of the glyph, under the outgoing arrow:
        # the branches' lines converge on the glyph from the left, so nothing crosses it.
        label = 13 + _text_w(self.label, FONT_PX - 1) + 4 if self.label else 0
        self.width = FAN + inner + FAN + 11 + max(11, label)
        heights = [max(b.up + b.down, 20) for b in self.branches]
        total = sum(heights) + BRANCH_GAP * (len(heights) - 1)
        y = -total / 2
        self.offsets = []
        for b, h in zip(self.branches, heights, strict=True):
            self.offsets.append(y + (b.up if b.items else h / 2))
            y += h + BRANCH_GAP
        self.up = max(-self.offsets[0] + self.branches[0].up, 24)
        self.down = max(self.offsets[-1] + self.branches[-1].down, 11) + 18

    def left_anchor(self) -> float:
        return self.x0

    def right_anchor(self) -> float:
        return self._glyph_x() + 10  # the arrow out starts at the glyph and runs over the label

    def _glyph_x(self) -> float:
        return self.x0 + FAN + max(b.width for b in self.branches) + FAN + 11

    def draw(self, x, cy, out):
        self.x0 = x
        inner = max(b.width for b in self.branches)
        mx = self._glyph_x()  # merge glyph centre
        stroke = 'stroke="#6B7280" stroke-width="1.2" fill="none"'
        for branch, off in zip(self.branches, self.offsets, strict=True):
            by = cy + off
            if not branch.items:  # identity: a line around the others
                out.append(f'<path d="M{_n(x)},{_n(cy)} L{_n(x + FAN)},{_n(by)} L{_n(mx - 11 - FAN)},{_n(by)} '
                           f'L{_n(mx - 8)},{_n(cy + (3 if off > 0 else -3))}" {stroke} '
                           f'stroke-dasharray="5,3" marker-end="url(#arrow)"/>')
                continue
            bx = x + FAN + (inner - branch.width) / 2
            branch.draw(bx, by, out)
            first, last = branch.items[0], branch.items[-1]
            out.append(f'<path d="M{_n(x)},{_n(cy)} L{_n(x + FAN / 2)},{_n(by)} L{_n(_left(first) - 3)},{_n(by)}" '
                       f'{stroke} marker-end="url(#arrow)"/>')
            out.append(f'<path d="M{_n(_right(last) + 2)},{_n(by)} L{_n(mx - 11 - FAN / 2)},{_n(by)} '
                       f'L{_n(mx - 9)},{_n(cy)}" {stroke} marker-end="url(#arrow)"/>')
        sw = P.PALETTE["merge"]
        out.append(f'<circle cx="{_n(mx)}" cy="{_n(cy)}" r="10" fill="{sw.fill}" stroke="{sw.border}" '
                   f'stroke-width="1.3"/>')
        out.append(_text(mx, cy + 4, self.glyph, size=13, weight="bold", colour=sw.border))
        if self.label:
            out.append(_text(mx + 13, cy + 16, self.label, size=FONT_PX - 1, colour=P.MUTED, anchor="start"))


# -- from the network to items -------------------------------------------------------------

class _Builder:
    def __init__(self, net: Network, collapse: bool, layout: str):
        self.net = net
        self.collapse = collapse
        self.layout = layout
        self.families: set[str] = set()

    def seq(self, scope: Scope) -> Seq:
        return self.items([c for c in scope.children if drawn(c)])

    def items(self, children: list) -> Seq:
        items: list[Item] = []
        i = 0
        while i < len(children):
            child = children[i]
            if isinstance(child, Node):
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

    def node(self, node: Node) -> Item | None:
        if node.shape is None or not drawing(node.op):
            return None
        fam = family(node)
        self.families.add(fam)
        lines = _two_lines(describe(node))
        params = self.net.figures(node).params
        bottom = [shape_text(node.shape, self.layout)] + ([params_text(params)] if params else [])
        window = None
        if isinstance(node.op, (conv.Conv, pool.Pool)):
            window = node.op.window.kernel[-1]
        if len(node.shape) == 1:
            return Bar(shape=node.shape, top=lines, bottom=bottom, fam=fam)
        return Box(shape=node.shape, top=lines, bottom=bottom, fam=fam, window=window)

    def fold(self, f: Fold) -> Item:
        self.families.add("block")
        sub = self.net.subtotal(f.scope)
        title = f.title + (f" {TIMES}{f.count}" if f.count > 1 else "")
        top = [title] if len(title) <= 18 else _split_title(title)
        shape = f.last.shape or (1,)
        bottom = [shape_text(shape, self.layout), f"{params_text(sub.params)}", f"{count_text(sub.macs)} MACs"]
        cls = Bar if len(shape) == 1 else Box
        return cls(shape=shape, top=top, bottom=bottom, fam="block", copies=f.count)

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
        return Par(branches=branches, glyph=glyph, label=label)


def _split_title(title: str, width: int = 16) -> list[str]:
    """Wrap a block title to lines of about `width` characters, breaking after
    the name's colon, before the argument list, and after commas:
    `inception3a: Inception(64, 96, 128, 16, 32, 32)` -> 4 short lines."""
    name, colon, rest = title.partition(": ")
    lines = [name] if colon else []
    rest = rest if colon else title
    head, paren, args = rest.partition("(")
    lines.append(head)
    line = ""
    for word in (paren + args).split(" ") if paren else []:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
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


def render_volume(net: Network, *, collapse: bool = False, layout: str = "chw") -> VolumeDrawing:
    """The volume-style figure of `net` as a standalone SVG document.

    A figure much wider than tall (a collapsed ResNet is a long chain) is
    wrapped into rows so that it fits a 16:9 slide."""
    builder = _Builder(net, collapse, layout)
    rows = _wrap(builder.seq(root(net.graph)).items)
    margin, header = 24, 62
    width = max(max(r.width for r in rows) + 2 * margin, 420)
    height = header + sum(r.up + r.down for r in rows) + ROW_GAP * (len(rows) - 1) + margin
    out: list[str] = []
    y = header
    for i, row in enumerate(rows):
        row.draw(margin, y + row.up, out)
        if i:
            _return_arrow(rows[i - 1], row, margin, out)
        y += row.up + row.down + ROW_GAP
    head = _header(net, builder.families, layout, margin)
    svg = "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{P.FONT}">',
        f"<title>{html.escape(net.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6B7280"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
        *head, *out, "</svg>",
    ]) + "\n"
    return VolumeDrawing(svg, width, height)


def _wrap(items: list[Item]) -> list[Seq]:
    """One row, or as many rows as bring the figure nearest 16:9 when one
    row would be more than WRAP_ASPECT times as wide as it is tall."""
    one = Seq(items=items)
    if one.width <= WRAP_ASPECT * (one.up + one.down + 86) or len(items) < 2:
        return [one]
    best, best_score = [one], math.inf
    for k in range(2, min(len(items), 6) + 1):
        rows = _split(items, k)
        w = max(r.width for r in rows) + 48
        h = sum(r.up + r.down for r in rows) + ROW_GAP * (k - 1) + 86
        score = abs(math.log(w / h / SLIDE_ASPECT))
        if score < best_score:
            best, best_score = rows, score
    return best


def _split(items: list[Item], k: int) -> list[Seq]:
    """`items` in at most `k` consecutive rows of about equal width."""
    target = (sum(i.width for i in items) + GAP * (len(items) - 1)) / k
    rows: list[list[Item]] = [[]]
    width = 0.0
    for item in items:
        if rows[-1] and width + item.width / 2 > target and len(rows) < k:
            rows.append([])
            width = 0.0
        rows[-1].append(item)
        width += item.width + GAP
    return [Seq(items=r) for r in rows]


def _return_arrow(above: Seq, below: Seq, margin: float, out: list[str]) -> None:
    """From the end of one row round to the start of the next, through the gap between them."""
    last, first = above.items[-1], below.items[0]
    y1, y2 = above.cy, below.cy
    mid = y1 + above.down + ROW_GAP / 2
    right = max(_right(last) + 12, margin + above.width + 4)
    out.append(f'<path d="M{_n(_right(last) + 2)},{_n(y1)} L{_n(right)},{_n(y1)} L{_n(right)},{_n(mid)} '
               f'L{_n(margin - 12)},{_n(mid)} L{_n(margin - 12)},{_n(y2)} L{_n(_left(first) - 3)},{_n(y2)}" '
               f'stroke="#6B7280" stroke-width="1.2" fill="none" stroke-linejoin="round" '
               f'marker-end="url(#arrow)"/>')


def _header(net: Network, families: set[str], layout: str, margin: float) -> list[str]:
    t = net.totals
    sub = (f"{shape_text(net.input_shape, layout)} \u2192 {shape_text(net.output_shape, layout)} \u00b7 "
           f"{params_text(t.params)} \u00b7 {count_text(t.macs)} MACs")
    out = [_text(margin, 24, net.name, size=18, weight="bold", anchor="start"),
           _text(margin + _text_w(net.name, 18) + 12, 24, sub, size=12, colour=P.MUTED, anchor="start")]
    x = margin
    for fam in P.ORDER:
        if fam not in families:
            continue
        sw = P.PALETTE[fam]
        out.append(f'<rect x="{_n(x)}" y="37" width="12" height="12" rx="2" fill="{sw.fill}" stroke="{sw.border}"/>')
        out.append(_text(x + 17, 47, sw.label, anchor="start"))
        x += 17 + _text_w(sw.label) + 16
    return out
