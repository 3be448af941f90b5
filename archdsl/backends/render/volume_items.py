"""What the volume figure is made of: boxes (feature maps), bars (vectors),
sequences, branch regions, merge glyphs and output tags, each measuring its
width and its reach above and below the centre line before it draws itself.

Sizes follow a `Scale`: log (the default, so a 224-pixel, 512-channel map
and a 6-pixel one both fit a slide), sqrt, or linear (55x55 four times as
tall as 13x13), the last two relative to the largest map of the figure.
"""
from __future__ import annotations

import html
import math

from archdsl.backends.render import palette as P
from archdsl.records import dataclass, field
from archdsl.text import TIMES

FONT_PX = 11
GAP = 22  # between consecutive items
BRANCH_GAP = 16
FAN = 26  # room for the lines that fan out to branches and back in
LINE = "#6B7280"
SCALES = ("log", "sqrt", "linear")

# Helvetica's advance widths (Liberation Sans and Arial share them), per 1000 em.
_WIDTHS = {c: w for chars, w in (
    ("ijl'", 222), (" !,./:;I[]ft\u00b7", 278), ("r-()", 333), ("\"", 355), ("*", 389),
    ("Jcksvxyz", 500), ("#$0123456789?L_abdeghnopqu", 556), ("FTZ", 611),
    ("+<=>\u00d7", 584), ("ABEKPSVXY&", 667), ("CDHNRUw", 722), ("GOQ", 778), ("Mm", 833),
    ("%", 889), ("W", 944), ("\u2192\u2026@", 1000), ("\u2191", 500),
) for c in chars}


def text_w(text: str, size: float = FONT_PX, bold: bool = False) -> float:
    """Width in pixels of `text` in an SVG sans-serif at `size` px."""
    em = sum(_WIDTHS.get(c, 556) for c in text) / 1000
    return em * size * (1.07 if bold else 1.0)


def n(v: float) -> str:
    """Coordinates with one decimal, so the SVG text is stable across runs."""
    t = f"{v:.1f}"
    return t[:-2] if t.endswith(".0") else t


def shade(hex_colour: str, factor: float) -> str:
    """Lighten (factor > 1) or darken (< 1) a #RRGGBB colour."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    if factor >= 1:
        rgb = [round(c + (255 - c) * (factor - 1)) for c in rgb]
    else:
        rgb = [round(c * factor) for c in rgb]
    return "#" + "".join(f"{min(max(c, 0), 255):02X}" for c in rgb)


def text(x: float, y: float, s: str, *, size: int = FONT_PX, weight: str | None = None,
         colour: str = P.TEXT, anchor: str = "middle") -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{n(x)}" y="{n(y)}" font-size="{size}" fill="{colour}" text-anchor="{anchor}"'
            f"{bold}>{html.escape(s)}</text>")


def two_lines(what: str) -> list[str]:
    """`conv 96, 11×11 /4` -> [`conv 96`, `11×11 /4`]; `maxpool 3×3 /2` -> [`maxpool`, `3×3 /2`];
    `permute (1, 2, 0)` -> [`permute`, `(1, 2, 0)`] (no break inside parentheses)."""
    head, comma, rest = what.partition(", ")
    if comma and head.count("(") == head.count(")"):
        return [head, rest]
    if "(" in what:
        head, _, rest = what.partition(" ")
        return [head, rest] if rest else [what]
    head, _, rest = what.partition(" ")
    return [head, rest] if TIMES in rest else [what]


@dataclass(frozen=True, slots=True)
class Scale:
    """Pixels for map sizes, channels and vector lengths. `log` keeps the
    figures archdsl always drew; `sqrt` and `linear` are relative to the
    largest size, channel count and vector of the figure (`most`)."""

    kind: str = "log"
    most_size: int = 1
    most_chan: int = 1
    most_vec: int = 1

    def _rel(self, v: int, most: int, lo: float, hi: float) -> float:
        """Proportional to v (or its square root), `hi` for the largest, never under `lo`."""
        r = max(v, 1) / max(most, 1)
        return max(lo, hi * (math.sqrt(r) if self.kind == "sqrt" else r))

    def size(self, v: int) -> float:
        """Spatial size -> pixels; log: 1 -> 12, 7 -> 54, 56 -> 99, 224 -> 129."""
        if self.kind == "log":
            return 12 + 15 * math.log2(max(v, 1))
        return self._rel(v, self.most_size, 4, 150)

    def chan(self, c: int) -> float:
        """Channels -> front-face width; log: 3 -> 11, 64 -> 33, 2048 -> 58."""
        if self.kind == "log":
            return 3 + 5 * math.log2(max(c, 1))
        return self._rel(c, self.most_chan, 2, 60)

    def vector(self, length: int) -> float:
        if self.kind == "log":
            return 10 + 10 * math.log2(max(length, 1))
        return self._rel(length, self.most_vec, 6, 150)


LOG = Scale()


# -- the items ---------------------------------------------------------------------------

@dataclass(eq=False)
class Item:
    """Something drawn on the centre line: width, reach above and below, and
    the items whose output it reads (`srcs`, filled in by the builder) so the
    sequence knows which neighbours an arrow joins and which need an arc."""

    width: float = 0
    up: float = 0
    down: float = 0
    x0: float = 0
    cy0: float = 0
    srcs: list = field(default_factory=list)

    def draw(self, x: float, cy: float, out: list[str]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def left_anchor(self) -> float:
        return self.x0

    def right_anchor(self) -> float:
        return self.x0 + self.width

    def centre(self) -> float:
        return (self.left_anchor() + self.right_anchor()) / 2

    def top(self) -> float:
        """Where an arc or a vertical arrow meets the item from above."""
        return self.cy0 - self.up + 2

    def bottom(self) -> float:
        return self.cy0 + self.down - 2


@dataclass(eq=False)
class Box(Item):
    """A feature map (or a folded block's output) as a 3-D box."""

    shape: tuple = ()
    top_lines: list[str] = field(default_factory=list)
    bottom_lines: list[str] = field(default_factory=list)
    fam: str = "conv"
    copies: int = 1  # a folded repeat draws shadow copies behind
    window: int | None = None  # the kernel of the op that made this map, drawn on the previous box
    ghost_of: Item | None = None  # set on a faded copy of the map a wrapped row continues from
    scale: Scale = LOG
    fw: float = 0
    fh: float = 0
    dx: float = 0
    dy: float = 0

    def __post_init__(self):
        c = self.shape[0]
        h = self.shape[-2] if len(self.shape) >= 3 else self.shape[-1] if len(self.shape) == 2 else 1
        w = self.shape[-1] if len(self.shape) >= 3 else 1
        self.fw, self.fh = self.scale.chan(c), self.scale.size(h)
        d = self.scale.size(w) * 0.45 if len(self.shape) >= 3 else 6
        self.dx, self.dy = d * 0.8, d * 0.6
        self._measure()

    def _measure(self) -> None:
        shadow = 5 * (min(self.copies, 3) - 1)
        labels = [text_w(t, bold=i == 0) for i, t in enumerate(self.top_lines)]
        labels += [text_w(t, FONT_PX if i == 0 else FONT_PX - 1) for i, t in enumerate(self.bottom_lines)]
        self.width = max([self.fw + self.dx + shadow] + labels) + 4
        self.up = self.fh / 2 + self.dy + shadow + 6 + 14 * len(self.top_lines)
        self.down = self.fh / 2 + 6 + 14 * len(self.bottom_lines)

    def front(self) -> tuple[float, float, float, float]:
        """x, y, width, height of the front face as drawn."""
        left = self.x0 + (self.width - (self.fw + self.dx)) / 2
        return left, self.cy0 - self.fh / 2, self.fw, self.fh

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        sw = P.swatch(self.fam)
        left, top, fw, fh = self.front()
        if self.ghost_of is not None:
            _cuboid(left, top, fw, fh, self.dx, self.dy, shade(sw.fill, 1.5), shade(sw.border, 1.5), out,
                    opacity=0.8, dash=True)
            return
        for i in range(min(self.copies, 3) - 1, 0, -1):  # shadows first, behind
            _cuboid(left + 5 * i, top - 5 * i, fw, fh, self.dx, self.dy, shade(sw.fill, 1.3), sw.border, out,
                    opacity=0.7)
        _cuboid(left, top, fw, fh, self.dx, self.dy, sw.fill, sw.border, out)
        middle = left + (fw + self.dx) / 2
        y = top - self.dy - 6 - 5 * (min(self.copies, 3) - 1) - 14 * (len(self.top_lines) - 1)
        for i, line in enumerate(self.top_lines):
            out.append(text(middle, y + 14 * i - 3, line, weight="bold" if i == 0 else None))
        y = top + fh + 16
        for i, line in enumerate(self.bottom_lines):
            out.append(text(middle, y + 14 * i, line, colour=P.TEXT if i == 0 else P.MUTED,
                            size=FONT_PX if i == 0 else FONT_PX - 1))

    def left_anchor(self) -> float:
        return self.front()[0]

    def right_anchor(self) -> float:
        left, _, fw, _ = self.front()
        return left + fw + self.dx


def _cuboid(x, y, w, h, dx, dy, fill, stroke, out, opacity=1.0, dash=False):
    """Front face at (x, y, w, h); top and side faces recede up and to the right."""
    op = f' opacity="{opacity:g}"' if opacity != 1 else ""
    op += ' stroke-dasharray="3,2"' if dash else ""
    pts = lambda *p: " ".join(f"{n(a)},{n(b)}" for a, b in p)  # noqa: E731
    out.append(f'<g stroke="{stroke}" stroke-width="1" stroke-linejoin="round"{op}>')
    out.append(f'<polygon points="{pts((x, y), (x + dx, y - dy), (x + w + dx, y - dy), (x + w, y))}" '
               f'fill="{shade(fill, 1.35)}"/>')
    out.append(f'<polygon points="{pts((x + w, y), (x + w + dx, y - dy), (x + w + dx, y + h - dy), (x + w, y + h))}" '
               f'fill="{shade(fill, 0.88)}"/>')
    out.append(f'<rect x="{n(x)}" y="{n(y)}" width="{n(w)}" height="{n(h)}" fill="{fill}"/>')
    out.append("</g>")


@dataclass(eq=False)
class Bar(Box):
    """A vector (flatten, fc) as a thin upright bar."""

    def __post_init__(self):
        self.fw, self.fh, self.dx, self.dy = 9, self.scale.vector(self.shape[0]), 5, 4
        self._measure()


@dataclass(eq=False)
class Glyph(Item):
    """A merge of named tensors (`concat @skip @up`, `mul @x`): a circle with
    C, + or ×, its shape written below right; the flow arrives from the left,
    the other inputs by arcs from above."""

    glyph: str = "+"
    label: str = ""

    def __post_init__(self):
        # The shape sits above right, over the outgoing arrow: arcs arrive from
        # above at the centre and the flow from the left, so nothing crosses it.
        self.width = 18 + max(12, text_w(self.label, FONT_PX - 1) if self.label else 0)
        self.up, self.down = 20, 14

    def left_anchor(self) -> float:
        return self.x0

    def right_anchor(self) -> float:
        return self.x0 + 20

    def top(self) -> float:
        return self.cy0 - 11

    def bottom(self) -> float:
        return self.cy0 + 11

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        merge_glyph(x + 10, cy, self.glyph, out)
        if self.label:
            out.append(text(x + 18, cy - 7, self.label, size=FONT_PX - 1, colour=P.MUTED, anchor="start"))


def merge_glyph(mx: float, cy: float, glyph: str, out: list[str]) -> None:
    sw = P.PALETTE["merge"]
    out.append(f'<circle cx="{n(mx)}" cy="{n(cy)}" r="10" fill="{sw.fill}" stroke="{sw.border}" '
               f'stroke-width="1.3"/>')
    out.append(text(mx, cy + 4, glyph, size=13, weight="bold", colour=sw.border))


@dataclass(eq=False)
class OutTag(Item):
    """`output coarse`: the name of a network output, after the map it marks."""

    name: str = ""

    def __post_init__(self):
        self.width = text_w(self.name, FONT_PX, bold=True) + 16
        self.up, self.down = 12, 8

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        sw = P.PALETTE["io"]
        out.append(f'<rect x="{n(x)}" y="{n(cy - 9)}" width="{n(self.width)}" height="18" rx="9" '
                   f'fill="{sw.fill}" stroke="{sw.border}" stroke-width="1.2"/>')
        out.append(text(x + self.width / 2, cy + 4, self.name, weight="bold"))


@dataclass(eq=False)
class Seq(Item):
    """Items left to right, joined by arrows where one reads the other;
    kernels drawn between boxes. Arcs (layout.py) add their height to `up`."""

    items: list[Item] = field(default_factory=list)
    arcs: list = field(default_factory=list)

    def __post_init__(self):
        self.width = sum(i.width for i in self.items) + GAP * max(len(self.items) - 1, 0)
        self.up = max([i.up for i in self.items] + [0])
        self.down = max([i.down for i in self.items] + [0])

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        prev = None
        for item in self.items:
            item.draw(x, cy, out)
            if prev is not None and joined(prev, item):
                join(prev, item, cy, out)
            prev = item
            x += item.width + GAP


def joined(a: Item, b: Item) -> bool:
    """Whether b reads a's output, so an arrow joins them (unknown inputs: yes)."""
    if isinstance(a, Box) and a.ghost_of is not None:
        a = a.ghost_of
    return not b.srcs or a in b.srcs or isinstance(b, OutTag)


def join(a: Item, b: Item, cy: float, out: list[str]) -> None:
    """An arrow from a to b; a kernel square and its pyramid when b is a windowed op."""
    x1, x2 = a.right_anchor(), b.left_anchor()
    if isinstance(a, Box) and isinstance(b, Box) and b.window is not None and len(a.shape) >= 3:
        kernel(a, b, out)
    out.append(f'<line x1="{n(x1 + 2)}" y1="{n(cy)}" x2="{n(x2 - 3)}" y2="{n(cy)}" '
               f'stroke="{LINE}" stroke-width="1.2" marker-end="url(#arrow)"/>')


def kernel(a: Box, b: Box, out: list[str], below: bool = False) -> None:
    """The window of b's op as a square on a, with a dashed pyramid to b; when
    b sits `below` a (a level down a U) the square alone, low on a's face,
    where the arrow down leaves."""
    k = b.window
    left, top, fw, fh = a.front()
    side = max(4.0, min(fh * 0.6, fh * k / max(a.shape[-2], 1)))
    kx, ky = left + fw - side - 3, top + fh * (0.8 if below else 0.3) - side / 2
    kx = max(kx, left + 1)
    sw = P.swatch(b.fam)
    out.append(f'<rect x="{n(kx)}" y="{n(ky)}" width="{n(side)}" height="{n(side)}" '
               f'fill="{shade(sw.border, 1.2)}" fill-opacity="0.55" stroke="{sw.border}" stroke-width="1"/>')
    if below:
        return
    bl, bt, _, bh = b.front()
    tip = (bl + 1, bt + bh * 0.35)
    for cx, cy in ((kx + side, ky), (kx + side, ky + side)):
        out.append(f'<line x1="{n(cx)}" y1="{n(cy)}" x2="{n(tip[0])}" y2="{n(tip[1])}" '
                   f'stroke="{sw.border}" stroke-width="0.8" stroke-dasharray="3,2"/>')


@dataclass(eq=False)
class Par(Item):
    """Branches stacked vertically, fanned out from one point and merged at a glyph."""

    branches: list[Seq] = field(default_factory=list)
    glyph: str = "+"
    label: str = ""
    offsets: list[float] = field(default_factory=list)

    def __post_init__(self):
        inner = max(b.width for b in self.branches)
        # The shape label sits right of the glyph, under the outgoing arrow:
        # the branches' lines converge on the glyph from the left, so nothing crosses it.
        label = 13 + text_w(self.label, FONT_PX - 1) + 4 if self.label else 0
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

    def right_anchor(self) -> float:
        return self._glyph_x() + 10  # the arrow out starts at the glyph and runs over the label

    def _glyph_x(self) -> float:
        return self.x0 + FAN + max(b.width for b in self.branches) + FAN + 11

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        inner = max(b.width for b in self.branches)
        mx = self._glyph_x()  # merge glyph centre
        stroke = f'stroke="{LINE}" stroke-width="1.2" fill="none"'
        for branch, off in zip(self.branches, self.offsets, strict=True):
            by = cy + off
            if not branch.items:  # identity: a line around the others
                out.append(f'<path d="M{n(x)},{n(cy)} L{n(x + FAN)},{n(by)} L{n(mx - 11 - FAN)},{n(by)} '
                           f'L{n(mx - 8)},{n(cy + (3 if off > 0 else -3))}" {stroke} '
                           f'stroke-dasharray="5,3" marker-end="url(#arrow)"/>')
                continue
            bx = x + FAN + (inner - branch.width) / 2
            branch.draw(bx, by, out)
            first, last = branch.items[0], branch.items[-1]
            out.append(f'<path d="M{n(x)},{n(cy)} L{n(x + FAN / 2)},{n(by)} L{n(first.left_anchor() - 3)},{n(by)}" '
                       f'{stroke} marker-end="url(#arrow)"/>')
            out.append(f'<path d="M{n(last.right_anchor() + 2)},{n(by)} L{n(mx - 11 - FAN / 2)},{n(by)} '
                       f'L{n(mx - 9)},{n(cy)}" {stroke} marker-end="url(#arrow)"/>')
        merge_glyph(mx, cy, self.glyph, out)
        if self.label:
            out.append(text(mx + 13, cy + 16, self.label, size=FONT_PX - 1, colour=P.MUTED, anchor="start"))
