"""Two analysed networks, layer by layer: a sequence alignment (edit distance,
Needleman-Wunsch) of their layers in order, so renamed labels still pair up
and an inserted or removed layer shifts nothing.

Pairing a layer with one of the same kind costs less the more it agrees
(attributes, output shape, parameters): identical layers cost nothing, a
changed one less than removing it and inserting the other; layers of
different kinds never pair. Among equal costs the alignment prefers the same
name, then a diagonal step."""
from __future__ import annotations

from enum import StrEnum

from archdsl.core.analysis import Layer
from archdsl.records import dataclass, field

GAP = 1.0
OTHER_KIND = 3.0  # more than a removal and an insertion: never chosen
NAME = 0.01  # a pairing under another name costs this much more


class Change(StrEnum):
    SAME = "same"
    RENAMED = "renamed"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


# The figures compared on a pair, as (field, how to read it off a Layer).
FIELDS = {
    "hyper": lambda x: x.hyper,
    "output": lambda x: tuple(x.output_shape) if x.output_shape else None,
    "params": lambda x: x.params,
    "buffers": lambda x: x.buffers,
    "macs": lambda x: x.macs,
    "rf": lambda x: tuple(x.receptive_field) if x.receptive_field else None,
}


@dataclass(slots=True)
class Row:
    """One step of the alignment: a layer of A, of B, or both, and what differs."""

    a: Layer | None
    b: Layer | None
    change: Change
    fields: dict = field(default_factory=dict)  # field -> (value in A, value in B), the differing ones


def _local(layer: Layer) -> str:
    return layer.name


def pair_cost(a: Layer, b: Layer) -> float:
    if a.op != b.op:
        return OTHER_KIND
    cost = 1.0
    if a.hyper == b.hyper:
        cost -= 0.35
    if a.output_shape == b.output_shape:
        cost -= 0.35
    if a.params == b.params:
        cost -= 0.2
    if cost <= 0.1 + 1e-9:
        cost = 0.0 if (a.macs == b.macs and a.receptive_field == b.receptive_field) else 0.05
    return cost + (0 if _local(a) == _local(b) else NAME)


def align(a: list[Layer], b: list[Layer]) -> list[Row]:
    """The cheapest alignment of `a` and `b`, in order."""
    n, m = len(a), len(b)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    step = [[0] * (m + 1) for _ in range(n + 1)]  # 0 diagonal, 1 removed from A, 2 added in B
    cost[0][0] = 0.0
    for i in range(1, n + 1):
        cost[i][0], step[i][0] = i * GAP, 1
    for j in range(1, m + 1):
        cost[0][j], step[0][j] = j * GAP, 2
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        ai = a[i - 1]
        for j in range(1, m + 1):
            best, how = prev[j - 1] + pair_cost(ai, b[j - 1]), 0
            up = prev[j] + GAP
            if up < best - 1e-12:
                best, how = up, 1
            left = row[j - 1] + GAP
            if left < best - 1e-12:
                best, how = left, 2
            row[j], step[i][j] = best, how
    rows: list[Row] = []
    i, j = n, m
    while i or j:
        how = step[i][j]
        if how == 0:
            rows.append(_pair(a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif how == 1:
            rows.append(Row(a[i - 1], None, Change.REMOVED))
            i -= 1
        else:
            rows.append(Row(None, b[j - 1], Change.ADDED))
            j -= 1
    return rows[::-1]


def _pair(a: Layer, b: Layer) -> Row:
    differs = {name: (get(a), get(b)) for name, get in FIELDS.items() if get(a) != get(b)}
    if differs:
        return Row(a, b, Change.CHANGED, differs)
    return Row(a, b, Change.SAME if a.name == b.name else Change.RENAMED)
