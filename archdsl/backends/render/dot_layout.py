"""Where dot should put things beyond what it finds by itself: the U of an
encoder-decoder, and a long chain wrapped to a slide's shape.

- **U.** When skips nest (dag.py), the spine after the turn (the decoder) is
  written with its edges reversed (`dir=back`, so the arrows still point
  along the data), which makes dot stack it upwards beside the encoder; each
  skip's start, side path and end share a rank, so the skip runs straight
  across. The same in LR gives the U on its side.
- **Aspect.** A chain is cut where exactly one edge crosses and no cluster
  is split, into the number of columns (TB) or rows (LR) whose estimated
  size comes nearest the asked width/height; the segments' heads share a
  rank and the edge between segments stops constraining ranks.

Sizes are estimated from the label text (Helvetica-like widths), not
measured, so the DOT text stays a pure function of the spec.
"""
from __future__ import annotations

import math

from archdsl.backends.render import dag
from archdsl.records import dataclass, field

RANKSEP = 0.32 * 72  # points, as the graph attributes in dot.py
NODESEP = 0.25 * 72
SEGMENT_GAP = NODESEP + 6  # between wrapped columns or rows: dot packs them as nodes of one rank
TITLE_H = 62.0
CLUSTER_PAD = 13.0  # a cluster's margin and label, per side  # the title and legend above the graph
MAX_SEGMENTS = 12


def estimate_size(rows: list[str], size: float = 12) -> tuple[float, float]:
    """Width and height in points of a node whose label has these lines."""
    width = max((len(r) for r in rows), default=1) * size * 0.52 + 20
    return max(width, 54.0), len(rows) * size * 1.22 + 9


@dataclass(slots=True)
class Layout:
    """What the planner needs to know of the drawing, in DOT ids."""

    ids: list[str]
    edges: list[tuple[str, str]]
    start: str | None
    ends: list[str]
    ignore: set[str]
    depth: dict[str, int]
    sizes: dict[str, tuple[float, float]]
    clusters: dict[str, tuple[int, ...]]
    rankdir: str = "TB"
    aspect: float | None = None
    markers: list[tuple[str, str]] = field(default_factory=list)  # (output's figure, its marker)


@dataclass(slots=True)
class Plan:
    """Per edge, what to do with it: `skip` (drawn red), `back` (written
    reversed with dir=back), `loose` (constraint=false), `wrap` (between two
    wrapped segments); and the rank lines to add."""

    edges: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    segments: int = 1
    u: bool = False

    def mark(self, a: str, b: str, how: str) -> None:
        self.edges.setdefault((a, b), set()).add(how)


def plan_layout(lay: Layout) -> Plan:
    plan = Plan()
    if lay.start is None or not lay.ids:
        return plan
    shape = dag.analyse(lay.ids, lay.edges, lay.start, lay.ends, depth=lay.depth.get, ignore=lay.ignore)
    for skip in shape.skips:
        path = [skip.start, *skip.side, skip.end]
        for a, b in zip(path, path[1:], strict=False):
            plan.mark(a, b, "skip")
    if shape.is_u:
        _fold_u(lay, shape, plan)
    elif lay.aspect:
        _wrap(lay, plan)
    return plan


def _fold_u(lay: Layout, shape: dag.Shape, plan: Plan) -> None:
    plan.u = True
    order = {v: i for i, v in enumerate(lay.ids)}
    side = {v for s in shape.nested for v in s.side}
    turn = order[shape.turn]
    rising = {v for v in lay.ids if order[v] > turn and v not in side} | {m for _, m in lay.markers}
    across = set()
    for s in shape.nested:
        path = [s.start, *s.side, s.end]
        across.update(zip(path, path[1:], strict=False))
        plan.extra.append(f"  {{rank=same; {'; '.join(path)}}}")
    for a, b in lay.edges + lay.markers:
        if (a, b) in across:
            continue
        if b in rising and (a in rising or a == shape.turn):
            plan.mark(a, b, "back")
        elif b in rising:
            plan.mark(a, b, "loose")


# -- wrapping to an aspect ratio ------------------------------------------------------------

def _wrap(lay: Layout, plan: Plan) -> None:
    cuts = _cuts(lay)
    if not cuts:
        return
    levels = _levels(lay)
    best, best_score = [], math.inf
    for k in range(1, min(len(cuts) + 1, MAX_SEGMENTS) + 1):
        chosen = _choose(lay, levels, cuts, k)
        w, h = _extent(lay, levels, chosen)
        score = abs(math.log(w / h / lay.aspect))
        if score < best_score - 1e-9:
            best, best_score = chosen, score
    if not best:
        return
    heads = [lay.ids[0]] + [lay.ids[p] for p in best]
    for p in best:
        plan.mark(lay.ids[p - 1], lay.ids[p], "wrap")
    # Forwards in both directions (unlike the branch heads of dot.py, which are
    # emitted last branch first): first segment left (TB) or on top (LR).
    plan.extra.append(f"  {{rank=same; {' -> '.join(heads)} [style=invis]}}")
    plan.segments = len(heads)


def _cuts(lay: Layout) -> list[int]:
    """Positions p where the chain may be cut before ids[p]: one edge crosses,
    from ids[p-1] to ids[p], and no cluster holds both."""
    order = {v: i for i, v in enumerate(lay.ids)}
    crossing = [0] * (len(lay.ids) + 1)
    for a, b in lay.edges:
        if a in order and b in order and order[a] < order[b]:
            crossing[order[a] + 1] += 1
            crossing[order[b] + 1] -= 1
    out, running = [], 0
    edges = set(lay.edges)
    for p in range(1, len(lay.ids)):
        running += crossing[p]
        a, b = lay.ids[p - 1], lay.ids[p]
        shared = set(lay.clusters.get(a, ())) & set(lay.clusters.get(b, ()))
        if running == 1 and (a, b) in edges and not shared:
            out.append(p)
    return out


def _levels(lay: Layout) -> dict[str, int]:
    preds: dict[str, list[str]] = {v: [] for v in lay.ids}
    for a, b in lay.edges:
        if a in preds and b in preds:
            preds[b].append(a)
    level: dict[str, int] = {}
    for v in lay.ids:
        level[v] = max((level[u] + 1 for u in preds[v] if u in level), default=0)
    return level


def _axes(lay: Layout, v: str) -> tuple[float, float]:
    """(along the ranks, across them) of one node."""
    w, h = lay.sizes.get(v, (60.0, 30.0))
    return (h, w) if lay.rankdir == "TB" else (w, h)


def _segment_extent(lay: Layout, levels: dict[str, int], part: list[str]) -> tuple[float, float]:
    along: dict[int, float] = {}
    across: dict[int, float] = {}
    for v in part:
        a, c = _axes(lay, v)
        lv = levels[v]
        along[lv] = max(along.get(lv, 0.0), a)
        across[lv] = across.get(lv, -NODESEP) + c + NODESEP
    # Clusters add their label and margins: across once per level of nesting,
    # along once per cluster the segment holds.
    nested = max((len(lay.clusters.get(v, ())) for v in part), default=0)
    held = {c for v in part for c in lay.clusters.get(v, ())}
    return (sum(along.values()) + RANKSEP * (len(along) - 1) + CLUSTER_PAD * len(held),
            max(across.values()) + 2 * CLUSTER_PAD * nested)


def _parts(lay: Layout, cuts: list[int]) -> list[list[str]]:
    bounds = [0, *cuts, len(lay.ids)]
    return [lay.ids[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _choose(lay: Layout, levels: dict[str, int], cuts: list[int], k: int) -> list[int]:
    """k-1 of the cut positions that split the chain into parts of about equal length."""
    if k == 1:
        return []
    along = [_axes(lay, v)[0] + RANKSEP for v in lay.ids]
    total = sum(along)
    cum = [0.0]
    for a in along:
        cum.append(cum[-1] + a)
    chosen: list[int] = []
    for j in range(1, k):
        target = total * j / k
        free = [p for p in cuts if not chosen or p > chosen[-1]]
        if not free:
            break
        chosen.append(min(free, key=lambda p: abs(cum[p] - target)))
    return sorted(set(chosen))


def _extent(lay: Layout, levels: dict[str, int], chosen: list[int]) -> tuple[float, float]:
    """Estimated width and height of the drawing cut at `chosen`."""
    sizes = [_segment_extent(lay, levels, part) for part in _parts(lay, chosen)]
    along = max(a for a, _ in sizes)
    across = sum(c for _, c in sizes) + SEGMENT_GAP * (len(sizes) - 1)
    if lay.rankdir == "TB":
        return across + 40, along + TITLE_H + 30
    return along + 40, across + TITLE_H + 30
