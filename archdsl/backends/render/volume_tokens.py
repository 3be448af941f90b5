"""Tokens in the volume style: a sequence of L tokens of D features is drawn
as a row of thin upright slabs, one per token (a few, then an ellipsis, then
the last), each as tall as D on the vector scale -- a sequence, not a map. A
grid of tokens (HxWxD, channels last) is the map it is, drawn as a box of D
channels. The token and attention kinds' drawing decisions are here too
(entries of volume.DRAWN)."""
from __future__ import annotations

from archdsl.backends.render import palette as P
from archdsl.backends.render.volume_items import FONT_PX, Bar, Box, _cuboid, shade, text
from archdsl.core.ops import attention, tokens
from archdsl.core.shapes import is_tokens
from archdsl.records import dataclass

SHOWN = 5  # slabs drawn before the ellipsis and the last one
SLAB, STEP = 5.0, 8.0

TOKEN_DRAWN = {
    tokens.Tokenize: True, tokens.Untokenize: True, tokens.ClassToken: True, tokens.PositionEmbedding: False,
    tokens.Select: True, tokens.TokenPool: True, attention.Attention: True, attention.WindowAttention: True,
    attention.PatchMerge: True,
}


@dataclass(eq=False)
class TokenRow(Box):
    """A token sequence: `shape` is (L, D)."""

    def __post_init__(self):
        length, features = self.shape
        self.slabs = min(length, SHOWN + 1)
        gap = STEP if length > SHOWN + 1 else 0.0  # room for the ellipsis
        self.fw = SLAB + STEP * (self.slabs - 1) + gap
        self.fh = self.scale.vector(features)
        self.dx, self.dy = 4.0, 3.0
        self._measure()

    def draw(self, x, cy, out):
        self.x0, self.cy0 = x, cy
        sw = P.swatch(self.fam)
        left, top, fw, fh = self.front()
        length = self.shape[0]
        xs = [left + STEP * i for i in range(self.slabs)]
        if length > SHOWN + 1:
            xs[-1] += STEP
            out.append(text(left + STEP * SHOWN + STEP / 2 + 2, top + fh / 2 + 4, "\u2026", colour=P.MUTED))
        for i in range(min(self.copies, 3) - 1, 0, -1):  # a folded repeat: copies behind
            for sx in xs:
                _cuboid(sx + 5 * i, top - 5 * i, SLAB, fh, self.dx, self.dy, shade(sw.fill, 1.3), sw.border, out,
                        opacity=0.7)
        for i, sx in enumerate(xs):
            fill = shade(sw.fill, 0.9) if i == 0 else sw.fill
            _cuboid(sx, top, SLAB, fh, self.dx, self.dy, fill, sw.border, out)
        middle = left + (fw + self.dx) / 2
        y = top - self.dy - 6 - 5 * (min(self.copies, 3) - 1) - 14 * (len(self.top_lines) - 1)
        for i, line in enumerate(self.top_lines):
            out.append(text(middle, y + 14 * i - 3, line, weight="bold" if i == 0 else None))
        y = top + fh + 16
        for i, line in enumerate(self.bottom_lines):
            out.append(text(middle, y + 14 * i, line, colour=P.TEXT if i == 0 else P.MUTED,
                            size=FONT_PX if i == 0 else FONT_PX - 1))


def token_item(shape, **fields) -> Box | None:
    """The item for a token shape (None for a map or a vector)."""
    if not is_tokens(shape):
        return None
    if len(shape) == 2:
        return TokenRow(shape=tuple(shape), **fields)
    return Box(shape=(shape[-1], *shape[:-1]), **fields)  # a grid: the map, its D channels


def item_for(shape, **fields) -> Box:
    """A box for a map, a bar for a vector, slabs for a sequence of tokens."""
    item = token_item(shape, **fields)
    if item is not None:
        return item
    return Bar(shape=shape, **fields) if len(shape) == 1 else Box(shape=shape, **fields)

