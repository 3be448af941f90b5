"""The shape of a network as a graph, for drawing: its spine, its skips and
whether they nest into a U. Both diagram styles ask this of the figures they
draw (a DOT node, a volume box), not of layers, so a folded block is one
vertex and the answer follows `--collapse`.

The spine is the longest path from the first input to an output: in U-Net it
runs down the encoder, through the bottleneck and up the decoder, while the
copy-and-crop paths are short. A skip is a path that leaves the spine at A
and rejoins it at B (or an edge straight from A to B). Skips that nest, each
inside the one before (A1 < A2 < B2 < B1, two or more of them), are drawn as a
U: the encoder down one side, the decoder up the other, each skip across.
"""
from __future__ import annotations

from archdsl.records import dataclass, field

MIN_SPAN = 3  # a skip over fewer spine steps is an ordinary fork, not a long skip
MIN_NESTED = 2  # how many nested skips make a U


@dataclass(slots=True)
class Skip:
    """A path off the spine: from spine vertex `start` through `side` to spine vertex `end`."""

    start: object
    end: object
    side: list = field(default_factory=list)
    span: int = 0  # spine steps between start and end


@dataclass(slots=True)
class Shape:
    """What `analyse` found: the spine (vertices in order), every long skip,
    and the nested skips of a U, outermost first (empty when there is none)
    with the vertex where the U turns (the deepest point of the innermost skip)."""

    spine: list
    skips: list[Skip]
    nested: list[Skip]
    turn: object = None

    @property
    def is_u(self) -> bool:
        return bool(self.nested)


def analyse(vertices: list, edges: list[tuple], start, ends: list, *, depth=None, ignore=frozenset()) -> Shape:
    """The spine, skips and U of a DAG. `vertices` in topological order;
    `edges` (u, v) pairs; `ends` the outputs. `depth(v)` ranks how deep a
    vertex sits (U-Net: the smallest map is the bottom of the U); `ignore`
    holds vertices whose incoming side paths are not skips (the merge of a
    `concat { branch ... }` region, whose branches are drawn as such)."""
    preds: dict = {v: [] for v in vertices}
    for u, v in edges:
        preds[v].append(u)
    spine = _longest_path(vertices, preds, start, ends)
    pos = {v: i for i, v in enumerate(spine)}
    skips = []
    for b in spine:
        if b in ignore:
            continue
        for u in preds[b]:
            if pos.get(u) == pos[b] - 1:
                continue  # the spine's own edge
            skip = _trace(u, b, preds, pos)
            if skip is not None and skip.span >= MIN_SPAN:
                skips.append(skip)
    nested = _nest(skips, pos)
    turn = None
    if len(nested) >= MIN_NESTED:
        inner = nested[-1]
        inside = spine[pos[inner.start] + 1:pos[inner.end]]
        turn = max(inside, key=lambda v: (depth(v) if depth else 0, pos[v])) if inside else inner.start
    else:
        nested = []
    return Shape(spine, skips, nested, turn)


def _longest_path(vertices: list, preds: dict, start, ends: list) -> list:
    """The longest path (by vertices) from `start` to any of `ends`; ties go to the earlier end."""
    length: dict = {start: 1}
    back: dict = {}
    for v in vertices:
        best = None
        for u in preds[v]:
            if u in length and (best is None or length[u] > length[best]):
                best = u
        if best is not None:
            length[v] = length[best] + 1
            back[v] = best
    reached = [e for e in ends if e in length] or [v for v in vertices if v in length]
    end = max(reached, key=lambda e: length[e])
    path = [end]
    while path[-1] in back:
        path.append(back[path[-1]])
    return path[::-1]


def _trace(u, b, preds: dict, pos: dict) -> Skip | None:
    """Follow a side path back from `u` (an input of spine vertex `b`) to the spine."""
    side = []
    while u not in pos:
        if len(preds[u]) != 1 or len(side) > 64:
            return None  # a side path that merges or never returns: not a skip
        side.append(u)
        u = preds[u][0]
    if pos[u] >= pos[b]:
        return None
    return Skip(u, b, side[::-1], pos[b] - pos[u])


def _nest(skips: list[Skip], pos: dict) -> list[Skip]:
    """The longest chain of skips each strictly inside the one before, outermost first."""
    ordered = sorted(skips, key=lambda s: (pos[s.start], -pos[s.end]))
    chains: list[list[Skip]] = []
    for s in ordered:
        best: list[Skip] = []
        for chain in chains:
            last = chain[-1]
            if pos[last.start] < pos[s.start] and pos[s.end] < pos[last.end] and len(chain) > len(best):
                best = chain
        chains.append(best + [s])
    return max(chains, key=len) if chains else []
