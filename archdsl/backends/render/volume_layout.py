"""Placing the volume figure's items: arcs for inputs from far back, rows
that wrap to a slide, and the U of an encoder-decoder.

- **Arcs.** When an item reads something other than its left neighbour
  (`mul @x`, `concat @ @c3`, a head that starts from `@c4`), a red arc runs
  above the row from the map it reads; arcs nest, the longer above the
  shorter, so they do not cross.
- **Rows.** A figure much wider than tall wraps into the rows that come
  nearest the target aspect (16:9 unless asked), never inside an arc. A row
  whose first layer has a window starts with a faded copy of the map that
  window reads, so the window square is there as on every other layer.
- **U.** When skips nest (dag.py), each level of the encoder is a row on the
  left, the decoder's matching row on the right, the bottleneck at the
  bottom: pooling arrows go down, up-convolutions go up, each skip runs
  straight across its row (U-Net's Fig. 1).
"""
from __future__ import annotations

import math

from archdsl.backends.render import dag
from archdsl.backends.render import palette as P
from archdsl.backends.render.volume_items import GAP, LINE, Box, Glyph, Item, Seq, joined, kernel, n, text
from archdsl.records import dataclass

ROW_GAP = 28  # between wrapped rows; the arrow back to the left runs through it
U_GAP = 34  # between the levels of a U; the pooling and up-sampling arrows run through it
WRAP_ASPECT = 3.0  # wrap a figure more than this many times as wide as tall...
SLIDE_ASPECT = 16 / 9  # ...into the number of rows that comes nearest a slide
ARC_STEP = 13  # between nested arcs
ACROSS = 44  # the shortest skip arrow across a U


@dataclass(eq=False)
class Arc:
    src: Item
    dst: Item
    i: int
    j: int
    label: str = ""
    level: int = 1
    rise: float = 0  # how far above the centre line it runs


def sequence(items: list[Item], names: dict) -> Seq:
    """A row of items with the arcs its items need, `up` raised to hold them."""
    seq = Seq(items=items)
    index = {item: k for k, item in enumerate(items)}
    arcs = []
    for j, item in enumerate(items):
        for src in item.srcs:
            i = index.get(src)
            if i is None or i >= j or (i == j - 1 and joined(src, item)):
                continue
            arcs.append(Arc(src, item, i, j, names.get((src, item), "")))
    placed: list[Arc] = []
    for arc in sorted(arcs, key=lambda a: (a.j - a.i, a.i)):
        over = [p.level for p in placed if p.i < arc.j and arc.i < p.j]
        arc.level = 1 + max(over, default=0)
        clear = max(items[k].up for k in range(arc.i, arc.j + 1))
        arc.rise = clear + 20 + ARC_STEP * (arc.level - 1)
        placed.append(arc)
    for arc in placed:  # an arc must clear the arcs under it too
        inner = [p.rise for p in placed if p is not arc and arc.i <= p.i and p.j <= arc.j]
        arc.rise = max([arc.rise] + [r + ARC_STEP for r in inner])
        seq.up = max(seq.up, arc.rise + (14 if arc.label else 4))
    seq.arcs = placed
    return seq


def draw_arcs(seq: Seq, out: list[str]) -> None:
    for arc in seq.arcs:
        x1, x2 = arc.src.centre() + 3, arc.dst.centre() - 3
        y1, y2 = arc.src.top(), arc.dst.top()
        py = seq.cy0 - arc.rise
        r = min(8.0, (x2 - x1) / 2)
        out.append(f'<path d="M{n(x1)},{n(y1)} L{n(x1)},{n(py + r)} Q{n(x1)},{n(py)} {n(x1 + r)},{n(py)} '
                   f'L{n(x2 - r)},{n(py)} Q{n(x2)},{n(py)} {n(x2)},{n(py + r)} L{n(x2)},{n(y2 - 2)}" '
                   f'stroke="{P.SKIP}" stroke-width="1.3" fill="none" marker-end="url(#skip)"/>')
        if arc.label:
            out.append(text((x1 + x2) / 2, py - 4, arc.label, size=10, colour=P.SKIP))


def draw_row(seq: Seq, x: float, cy: float, out: list[str]) -> None:
    seq.draw(x, cy, out)
    draw_arcs(seq, out)


# -- rows ----------------------------------------------------------------------------------

@dataclass(eq=False)
class Figure:
    """Rows placed on the page: width and height of what they cover."""

    rows: list[Seq]
    width: float
    height: float
    u: list | None = None  # the U's parts, when it is one

    def draw(self, margin: float, header: float, out: list[str]) -> None:
        if self.u is not None:
            _draw_u(self, out)
            return
        y = header
        for i, row in enumerate(self.rows):
            draw_row(row, margin, y + row.up, out)
            if i:
                _return_arrow(self.rows[i - 1], row, margin, out)
            y += row.up + row.down + ROW_GAP


def rows_figure(items: list[Item], names: dict, margin: float, header: float,
                aspect: float | None = None) -> Figure:
    """One row, or as many as bring the figure nearest `aspect` (16:9) when one
    row would be more than WRAP_ASPECT times as wide as it is tall, or always
    when an aspect is asked for."""
    one = sequence(items, names)
    target = aspect or SLIDE_ASPECT
    best, best_score = [one], math.inf
    if aspect is not None:
        best_score = _score([one], target)
    elif one.width <= WRAP_ASPECT * (one.up + one.down + 86) or len(items) < 2:
        return _figure([one], margin, header)
    allowed = _allowed(one)
    for k in range(2, min(len(items), 8) + 1):
        rows = _split(items, k, allowed, names)
        score = _score(rows, target)
        if score < best_score - 1e-9:
            best, best_score = rows, score
    return _figure(best, margin, header)


def _figure(rows: list[Seq], margin: float, header: float) -> Figure:
    width = max(r.width for r in rows) + 2 * margin
    height = header + sum(r.up + r.down for r in rows) + ROW_GAP * (len(rows) - 1) + margin
    return Figure(rows, width, height)


def _score(rows: list[Seq], target: float) -> float:
    w = max(r.width for r in rows) + 48
    h = sum(r.up + r.down for r in rows) + ROW_GAP * (len(rows) - 1) + 86
    return abs(math.log(w / h / target))


def _allowed(seq: Seq) -> set[int]:
    """Where a row may end: before item k when no arc spans the cut."""
    return {k for k in range(1, len(seq.items)) if not any(a.i < k <= a.j for a in seq.arcs)}


def _split(items: list[Item], k: int, allowed: set[int], names: dict) -> list[Seq]:
    """`items` in at most `k` consecutive rows of about equal width, cut only where allowed."""
    starts, x = [], 0.0
    for item in items:
        starts.append(x)
        x += item.width + GAP
    total = x - GAP
    cuts: list[int] = []
    for j in range(1, k):
        free = [c for c in allowed if not cuts or c > cuts[-1]]
        if not free:
            break
        cuts.append(min(free, key=lambda c: (abs(starts[c] - total * j / k), c)))
    bounds = [0, *cuts, len(items)]
    rows = [list(items[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    for above, row in zip(rows, rows[1:], strict=False):
        _ghost(above[-1], row)
    return [sequence(r, names) for r in rows]


def _ghost(last: Item, row: list[Item]) -> None:
    """Start a wrapped row with a faded copy of the map its first layer's window reads."""
    first = row[0]
    if (isinstance(last, Box) and isinstance(first, Box) and first.window is not None and len(last.shape) >= 3
            and last in first.srcs):
        row.insert(0, Box(shape=last.shape, fam=last.fam, ghost_of=last, scale=last.scale, srcs=list(last.srcs)))


def _return_arrow(above: Seq, below: Seq, margin: float, out: list[str]) -> None:
    """From the end of one row round to the start of the next, through the gap between them."""
    last, first = above.items[-1], below.items[0]
    y1, y2 = above.cy0, below.cy0
    mid = y1 + above.down + ROW_GAP / 2
    right = max(last.right_anchor() + 12, margin + above.width + 4)
    out.append(f'<path d="M{n(last.right_anchor() + 2)},{n(y1)} L{n(right)},{n(y1)} L{n(right)},{n(mid)} '
               f'L{n(margin - 12)},{n(mid)} L{n(margin - 12)},{n(y2)} L{n(first.left_anchor() - 3)},{n(y2)}" '
               f'stroke="{LINE}" stroke-width="1.2" fill="none" stroke-linejoin="round" '
               f'marker-end="url(#arrow)"/>')


# -- the U -----------------------------------------------------------------------------------

@dataclass(eq=False)
class Level:
    """One level of a U: the encoder's part on the left, the decoder's on the right."""

    enc: Seq | None
    dec: Seq | None
    cy: float = 0
    enc_x: float = 0
    dec_x: float = 0

    @property
    def up(self) -> float:
        return max(p.up for p in (self.enc, self.dec) if p is not None)

    @property
    def down(self) -> float:
        return max(p.down for p in (self.enc, self.dec) if p is not None)


def u_figure(items: list[Item], names: dict, ends: list[Item], depth, margin: float,
             header: float) -> Figure | None:
    """The U of an encoder-decoder, or None when its skips do not nest."""
    index = {item: k for k, item in enumerate(items)}
    edges = [(s, it) for it in items for s in dict.fromkeys(it.srcs) if s in index and index[s] < index[it]]
    shape = dag.analyse(items, edges, items[0], ends or items[-1:], depth=depth)
    if not shape.is_u:
        return None
    skips = shape.nested
    a = [index[s.start] for s in skips]
    f = [index[(s.side or [s.end])[0]] for s in skips]
    k = len(skips)
    if a != sorted(a) or f != sorted(f, reverse=True) or a[-1] + 1 >= f[-1]:
        return None
    seq = lambda part: sequence(part, names) if part else None  # noqa: E731
    levels = [Level(seq(items[:a[0] + 1]), seq(items[f[0]:]))]
    for j in range(1, k):
        levels.append(Level(seq(items[a[j - 1] + 1:a[j] + 1]), seq(items[f[j]:f[j - 1]])))
    levels.append(Level(seq(items[a[-1] + 1:f[-1]]), None))  # the bottom of the U
    y = header
    for lv in levels:
        lv.cy = y + lv.up
        y += lv.up + lv.down + U_GAP
    _place_u(levels, margin)
    width = max(max((lv.enc_x + lv.enc.width) if lv.enc else 0, (lv.dec_x + lv.dec.width) if lv.dec else 0)
                for lv in levels) + margin
    return Figure([], width, y - U_GAP + margin, u=[levels, skips, names])


def _centre_at(seq: Seq, item: Item) -> float:
    """Where `item`'s centre sits relative to the start of `seq`, before drawing."""
    x = 0.0
    for it in seq.items:
        if it is item:
            return x + (10 if isinstance(it, Glyph) else it.width / 2)
        x += it.width + GAP
    return seq.width / 2


def _entry(dec: Seq, below: Item) -> Item:
    """The decoder item the level below feeds (the concat of an up-convolution), else its first."""
    return next((it for it in dec.items if below in it.srcs), dec.items[0])


def _place_u(levels: list[Level], margin: float) -> None:
    """Each level starts under the last map of the one above (the pooling arrow
    drops straight down); each decoder part sits with the item the level below
    feeds right above that level's last map (the up arrow rises straight up),
    moved right where its skip would otherwise have no room."""
    levels[0].enc_x = margin
    for above, lv in zip(levels, levels[1:], strict=False):
        last = above.enc.items[-1]
        lv.enc_x = above.enc_x + _centre_at(above.enc, last) - _centre_at(lv.enc, lv.enc.items[0])
    for j in range(len(levels) - 2, -1, -1):
        lv, below = levels[j], levels[j + 1]
        src_seq, src_x = (below.dec, below.dec_x) if below.dec is not None else (below.enc, below.enc_x)
        feeder = src_seq.items[-1]
        entry = _entry(lv.dec, feeder)
        x = src_x + _centre_at(src_seq, feeder) - _centre_at(lv.dec, entry)
        lv.dec_x = max(x, lv.enc_x + lv.enc.width + ACROSS)
    lowest_enc = min(lv.enc_x for lv in levels)
    if lowest_enc < margin:  # only when a lower level is much wider than the one above
        for lv in levels:
            lv.enc_x += margin - lowest_enc
            lv.dec_x += margin - lowest_enc


def _draw_u(fig: Figure, out: list[str]) -> None:
    levels, skips, names = fig.u
    for lv in levels:
        draw_row(lv.enc, lv.enc_x, lv.cy, out)
        if lv.dec is not None:
            draw_row(lv.dec, lv.dec_x, lv.cy, out)
    for j, (lv, below) in enumerate(zip(levels, levels[1:], strict=False)):
        last, first = lv.enc.items[-1], below.enc.items[0]
        _vertical(last, first, out, LINE)  # pooling: down a level
        if isinstance(last, Box) and isinstance(first, Box) and first.window is not None and len(last.shape) >= 3:
            kernel(last, first, out, below=True)
        feeder = (below.dec or below.enc).items[-1]
        entry = _entry(lv.dec, feeder)
        _vertical(feeder, entry, out, LINE, rising=True)  # up-sampling: up a level
        start, target = skips[j].start, lv.dec.items[0]
        y = lv.cy
        x1, x2 = start.right_anchor() + 2, target.left_anchor() - 3
        out.append(f'<line x1="{n(x1)}" y1="{n(y)}" x2="{n(x2)}" y2="{n(y)}" stroke="{P.SKIP}" '
                   f'stroke-width="1.5" marker-end="url(#skip)"/>')
        label = names.get((start, target), "")
        if label:
            out.append(text((x1 + x2) / 2, y - 5, label, size=10, colour=P.SKIP))


def _vertical(a: Item, b: Item, out: list[str], colour: str, rising: bool = False) -> None:
    x1, x2 = a.centre(), b.centre()
    y1, y2 = (a.top(), b.bottom() + 2) if rising else (a.bottom(), b.top() - 2)
    out.append(f'<path d="M{n(x1)},{n(y1)} L{n(x2)},{n(y2)}" stroke="{colour}" stroke-width="1.2" '
               f'fill="none" marker-end="url(#arrow)"/>')
