"""The lecture notation of the token and attention kinds (entries of notation.RULES)."""
from __future__ import annotations

from archdsl.core.ops import attention, tokens
from archdsl.text import TIMES, dims_text


def _attention(op: attention.Attention) -> str:
    what = "cross-attention" if op.cross else "attention"
    return f"{what}, {op.heads} heads"


def _window(op: attention.WindowAttention) -> str:
    if op.partition == "grid":
        return f"grid attn, {op.window}{TIMES}{op.window} {op.heads} heads"
    shifted = "shifted " if any(op.shifts) else ""
    return f"{shifted}window attn, {op.window}{TIMES}{op.window} {op.heads} heads" + (" v2" if op.v2 else "")


TOKEN_RULES = {
    tokens.Tokenize: lambda op: "tokens (grid)" if op.grid else "tokens",
    tokens.Untokenize: lambda op: f"untokens \u2192 {dims_text((op.features, *op.size), TIMES)}",
    tokens.ClassToken: lambda op: "class token" if op.n == 1 else f"{op.n} class tokens",
    tokens.PositionEmbedding: lambda op: "pos embed" if op.mode == "learned" else "sin-cos pos",
    tokens.Select: lambda op: f"select {op.index}",
    tokens.TokenPool: lambda op: f"token {op.mode}",
    attention.Attention: _attention,
    attention.WindowAttention: _window,
    attention.PatchMerge: lambda op: f"patch merge, 2{TIMES}2",
}
