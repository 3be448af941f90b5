"""What the token and attention kinds compile to (entries of emit.EMITTERS).

The generated code reads like torchvision's vision_transformer.py and
swin_transformer.py: ViT's self-attention is `nn.MultiheadAttention(...,
batch_first=True)` called as `self.attn(x, x, x, need_weights=False)[0]`;
Swin's window attention, MaxViT's block and grid attention and patch merging
are small classes the file defines for itself (helpers_attention.py), ports
of torchvision's own.
"""
from __future__ import annotations

from archdsl.backends.torch.emit_values import IN, Ctor, Emit, Kw, Val, _f, _i
from archdsl.core.ops import attention, tokens


def _flag(name: str, value: bool, default: bool = True) -> Kw:
    return Kw(name, Val(bool(value), attr=name), value != default)


def _prob(name: str, value: float, attr: str | None = None) -> Kw:
    return Kw(name, _f(value, attr or name), value != 0.0)


def emit_tokenize(op: tokens.Tokenize, rank: int) -> Emit:
    if op.grid:
        return Emit(None, "{x}.permute(0, 2, 3, 1)")  # N x C x H x W -> N x H x W x C
    return Emit(None, "{x}.flatten(2).transpose(1, 2)")  # N x C x H x W -> N x (H * W) x C


def emit_untokens(op: tokens.Untokenize, rank: int) -> Emit:
    if op.from_grid:
        return Emit(None, "{x}.permute(0, 3, 1, 2)")  # N x H x W x C -> N x C x H x W
    if len(op.size) == 1:
        return Emit(None, "{x}.transpose(1, 2)")
    return Emit(None, "{x}.transpose(1, 2).reshape({x}.shape[0], {0})",
                args=(Val((op.features, *op.size), "join"),))


def emit_classtoken(op: tokens.ClassToken, rank: int) -> Emit:
    args = (_i(op.features, IN),) + ((_i(op.n, attr="n"),) if op.n != 1 else ())
    return Emit(Ctor("ClassToken", args), "{m}({x})", helpers=("ClassToken",))


def emit_posembed(op: tokens.PositionEmbedding, rank: int) -> Emit:
    if op.mode == "sincos":
        return Emit(Ctor("SinCosPositionEmbedding", (Val(op.positions[0]), _i(op.features, IN))), "{m}({x})",
                    helpers=("SinCosPositionEmbedding",))
    where = Val(op.positions[0]) if len(op.positions) == 1 else Val(op.positions, "tuple")
    return Emit(Ctor("PositionEmbedding", (where, _i(op.features, IN))), "{m}({x})", helpers=("PositionEmbedding",))


def emit_select(op: tokens.Select, rank: int) -> Emit:
    return Emit(None, "{x}[:, {0}]", args=(Val(op.index, attr="index"),))


def emit_tokenpool(op: tokens.TokenPool, rank: int) -> Emit:
    dims = "1" if len(op.positions) == 1 else "(1, 2)"
    return Emit(None, f"{{x}}.{'mean' if op.mode == 'mean' else 'amax'}({dims})")


def emit_attention(op: attention.Attention, rank: int) -> Emit:
    d, heads = _i(op.features, IN), _i(op.heads, attr="heads")
    if op.cross or op.qkv_bias != op.proj_bias:
        kwargs = (_flag("qkv_bias", op.qkv_bias), _flag("proj_bias", op.proj_bias),
                  _prob("dropout", op.dropout), Kw("kdim", Val(op.memory_features), op.memory_features != op.features))
        call = "{m}({xs})" if op.cross else "{m}({x})"
        return Emit(Ctor("Attention", (d, heads), kwargs), call, helpers=("Attention",))
    kwargs = (_prob("dropout", op.dropout), Kw("bias", Val(bool(op.qkv_bias), attr="qkv_bias"), not op.qkv_bias),
              Kw("batch_first", Val(True)))
    return Emit(Ctor("nn.MultiheadAttention", (d, heads), kwargs), "{m}({x}, {x}, {x}, need_weights=False)[0]")


def emit_windowattention(op: attention.WindowAttention, rank: int) -> Emit:
    if op.partition == "grid" or op.scale == "features":
        return emit_partitionattention(op)
    name = "ShiftedWindowAttentionV2" if op.v2 else "ShiftedWindowAttention"
    args = (_i(op.features, IN), _i(op.window, attr="window"), _i(op.shift, attr="shift"), _i(op.heads, attr="heads"))
    kwargs = (_flag("qkv_bias", op.qkv_bias), _flag("proj_bias", op.proj_bias),
              _prob("attention_dropout", op.dropout, "dropout"), _prob("dropout", op.proj_dropout, "proj_dropout"))
    helpers = ("shifted_window_attention", "ShiftedWindowAttention") + (("ShiftedWindowAttentionV2",) if op.v2 else ())
    return Emit(Ctor(name, args, kwargs), "{m}({x})", True, helpers=helpers)


def emit_partitionattention(op: attention.WindowAttention) -> Emit:
    """MaxViT's block and grid attention: a port of torchvision's RelativePositionalMultiHeadAttention."""
    args = (_i(op.features, IN), _i(op.window, attr="window"), _i(op.heads, attr="heads"))
    kwargs = (Kw("partition", Val(op.partition, attr="partition"), op.partition != "window"),
              Kw("scale", Val(op.scale, attr="scale"), op.scale != "head"),
              _flag("qkv_bias", op.qkv_bias), _flag("proj_bias", op.proj_bias),
              _prob("attention_dropout", op.dropout, "dropout"), _prob("dropout", op.proj_dropout, "proj_dropout"))
    return Emit(Ctor("PartitionAttention", args, kwargs), "{m}({x})", True, helpers=("PartitionAttention",))


def emit_patchmerge(op: attention.PatchMerge, rank: int) -> Emit:
    kwargs = (Kw("norm", Val(op.norm, attr="norm"), op.norm != "pre"), Kw("eps", _f(op.eps, "eps"), op.eps != 1e-5))
    return Emit(Ctor("PatchMerging", (_i(op.features, IN),), kwargs), "{m}({x})", True, helpers=("PatchMerging",))


TOKEN_EMITTERS = {
    tokens.Tokenize: emit_tokenize, tokens.Untokenize: emit_untokens, tokens.ClassToken: emit_classtoken,
    tokens.PositionEmbedding: emit_posembed, tokens.Select: emit_select, tokens.TokenPool: emit_tokenpool,
    attention.Attention: emit_attention, attention.WindowAttention: emit_windowattention,
    attention.PatchMerge: emit_patchmerge,
}
