"""The receptive field where tokens are involved (analysis.receptive_fields
hands every node that reads or gives tokens to `token_field`).

A token keeps the field of the pixel it came from: `tokens` records the grid
of pixels the sequence was flattened from, so token i reads `start + i * jump`
of that grid, per axis. A global layer over tokens (attention, a pool over
them) gives every token the union over the grid, and a jump of 0: every token
then reads the same window, and a second global layer adds nothing. A window
that moves by windows rather than by tokens (Swin, MaxViT) has no field that
is true for every token, so none is reported; the class token reads nothing,
so it changes no union. Nothing here is a guess: where no single window is
true, the answer is None.
"""
from __future__ import annotations

from archdsl.core.field import Field
from archdsl.core.ir import Node
from archdsl.core.ops.base import GLOBAL, POINTWISE, UNKNOWN
from archdsl.core.ops.structure import Merge
from archdsl.core.ops.tokens import ONE_TOKEN, TOKENIZE, UNTOKENIZE
from archdsl.core.shapes import is_tokens


def token_field(node: Node, ins: list[Field]) -> Field | None:
    """The field of a node that reads or gives tokens, from its inputs' fields."""
    op = node.op
    rule = op.receptive(node.in_shapes)
    if isinstance(op, Merge):
        return merged(ins) if rule != UNKNOWN else None
    if len(ins) > 1:  # cross-attention: each query token reads itself and every memory token
        return merged([ins[0], *(whole(f) for f in ins[1:])]) if rule == GLOBAL else None
    (f,) = ins
    if rule == UNKNOWN:
        return None
    if rule == POINTWISE:
        return f
    if rule == TOKENIZE:
        return Field(f.size, f.jump, f.start, tuple(node.in_shapes[0][1:]))
    if rule == GLOBAL:
        return whole(f)
    if rule == ONE_TOKEN:
        return f if _shared(f) else None  # which pixel token k came from is not recorded
    if rule == UNTOKENIZE:
        if f.grid is not None and (f.grid == tuple(node.shape[1:]) or _shared(f)):
            return Field(f.size, f.jump, f.start)
        return None
    return _window(f, rule, node)


def whole(f: Field) -> Field | None:
    """Every token reads the union of all tokens' windows."""
    if f.grid is None or len(f.grid) != len(f.size):
        return None
    size = tuple(r + (n - 1) * j for r, n, j in zip(f.size, f.grid, f.jump, strict=True))
    return Field(size, (0,) * len(size), f.start, f.grid)


def merged(fields: list[Field | None]) -> Field | None:
    """The union of token fields, element by element: exact when the windows
    move together (one jump), or when one input's window holds every window of
    the others (a residual around global attention); otherwise None."""
    if any(f is None for f in fields):
        return None
    grids = {f.grid for f in fields}
    if len(grids) != 1 or None in grids:
        return None
    (grid,) = grids
    if len({f.jump for f in fields}) == 1:
        start = tuple(min(f.start[a] for f in fields) for a in range(len(grid)))
        end = tuple(max(f.start[a] + f.size[a] for f in fields) for a in range(len(grid)))
        return Field(tuple(e - s for e, s in zip(end, start, strict=True)), fields[0].jump, start, grid)
    for g in fields:
        if _shared(g) and all(_covers(g, f) for f in fields):
            return g
    return None


def _shared(f: Field) -> bool:
    return all(j == 0 for j in f.jump)


def _covers(g: Field, f: Field) -> bool:
    """Whether g's one window holds the windows of every token of f."""
    return all(gs <= fs and gs + gr >= fs + (n - 1) * fj + fr
               for gs, gr, fs, fr, fj, n in zip(g.start, g.size, f.start, f.size, f.jump, f.grid, strict=True))


def _window(f: Field, window, node: Node) -> Field | None:
    """A window sliding over a grid of tokens (patch merging)."""
    if f.grid is None or not is_tokens(node.shape) or len(node.shape) != len(f.grid) + 1:
        return None
    kernel, stride, before = window
    start = tuple(a - p * j for a, p, j in zip(f.start, before, f.jump, strict=True))
    size = tuple(r + (k - 1) * j for r, k, j in zip(f.size, kernel, f.jump, strict=True))
    jump = tuple(j * s for j, s in zip(f.jump, stride, strict=True))
    return Field(size, jump, start, tuple(node.shape[:-1]))
