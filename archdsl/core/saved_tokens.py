"""What autograd keeps for backward in the token and attention kinds (the
rules of archdsl/core/saved.py, which includes this table), read off
`torch.autograd.graph.saved_tensors_hooks` on the module `archdsl build`
generates, PyTorch 2.x, fp32, CPU, training mode, batch > 1.

Also the layout names both modules use (saved.py's LAYOUTS says what each
means): they live here so that this module needs nothing from saved.py, which
imports it. A token tensor's layout is relative to torch's own order N x L x D
(or N x H x W x D): `contiguous` is that order; `features first` is what
`tokens` makes of a contiguous map (the memory still N x D x L); `sequence
first` is what nn.MultiheadAttention(batch_first=True) gives back (the memory
L x N x D).

The attention rules, in short (P positions, D features, H heads, T = W * W
tokens a window):
- attention: nn.MultiheadAttention's training path. The input is transposed to
  L x N x D, so the in-projection's F.linear copies it (a reshape) unless it
  already lies so (another attention's output). q, k and v are views of the
  projection's one contiguous 3 x L x N x D copy (self-attention; k and v
  share a 2 x L copy when the memory has D features, three storages when not).
  On CPU in fp32 F.scaled_dot_product_attention runs the flash kernel
  (_scaled_dot_product_flash_attention_for_cpu) when the attention dropout is
  0: it saves q, k, v, the logsumexp (H x L) and its output, which lies L x N x
  D so that the output projection saves the same storage. With dropout > 0 it
  runs the math path: q and k scaled (two copies), the softmax, the dropout's
  float mask and its output (H x Lq x Lk each), v, and the output copied to L x
  N x D for the projection.
- windowattention: the windows cut out of the (padded, rolled) grid are a copy
  the qkv projection saves; each matmul of 4-D operands folds them to 3-D, a
  copy unless one head (then k and v are views of the qkv output); the softmax
  (P x H x T); the attention dropout's mask and output; the output projection's
  input; the projection dropout's mask. Swin v2 adds the cosine attention
  (F.normalize of q and k: the norm twice, the clamped norm expanded, q or k
  twice), the logit scale's exp twice, the scaled logits, and per-model (not
  per-sample) the position-bias MLP's ReLU output twice and the bias's sigmoid.
- patchmerge: the concatenated 2 x 2 neighbours (4D), the layernorm's input,
  mean and inverse std, and the reduction's input.
"""
from __future__ import annotations

from math import prod

from archdsl.core.ir import Node
from archdsl.core.ops import attention, dense, tokens
from archdsl.core.shapes import is_tokens, numel

FLOAT = 4
CONTIGUOUS, CHANNELS_LAST, PERMUTED, GAPPED = "contiguous", "channels last", "permuted", "gapped"
FEATURES_FIRST, SEQUENCE_FIRST = "features first", "sequence first"
DENSE = (CHANNELS_LAST, PERMUTED, FEATURES_FIRST, SEQUENCE_FIRST)  # what element-wise ops keep
CPB_HIDDEN = attention.WindowAttention.CPB_HIDDEN


# -- layouts and views ------------------------------------------------------------------------------

def _tokenize_is_view(node: Node, source: str) -> bool:
    """`flatten(2).transpose(1, 2)` is a view unless flatten must copy (a 2-D
    map whose H and W do not merge); `permute` always is."""
    op: tokens.Tokenize = node.op
    return op.grid or len(op.positions) == 1 or prod(op.positions) == 1 or source in (CONTIGUOUS, CHANNELS_LAST)


def token_layout(node: Node, source: str) -> str | None:
    """The layout of a token kind's output (None: not a token kind)."""
    op = node.op
    if isinstance(op, tokens.Tokenize):
        if op.channels == 1 or prod(op.positions) == 1 or source == CHANNELS_LAST:
            return CONTIGUOUS  # the permutation moves only an axis of size 1, or undoes channels last
        if source == CONTIGUOUS or not _tokenize_is_view(node, source):
            return FEATURES_FIRST
        return source
    if isinstance(op, tokens.Untokenize):
        if op.features == 1 or prod(op.size) == 1:
            return CONTIGUOUS if source in (CONTIGUOUS, FEATURES_FIRST) else source
        return {CONTIGUOUS: CHANNELS_LAST, FEATURES_FIRST: CONTIGUOUS}.get(source, PERMUTED if source != GAPPED
                                                                              else GAPPED)
    if isinstance(op, tokens.PositionEmbedding):  # x + table: the output is strided like x
        return source if source in DENSE else CONTIGUOUS
    if isinstance(op, tokens.Select):
        return GAPPED
    if isinstance(op, attention.Attention):  # out_proj's (L*N) x D output, viewed N x L x D
        return CONTIGUOUS if op.length == 1 else SEQUENCE_FIRST
    if isinstance(op, (tokens.ClassToken, tokens.TokenPool, attention.WindowAttention, attention.PatchMerge)):
        return CONTIGUOUS
    if isinstance(op, dense.Embedding) and op.tokens:
        return CONTIGUOUS  # nn.Embedding's own N x L x D
    return None


def token_aliases(node: Node, source: str) -> bool | None:
    """Whether a token kind's output is its input's storage (None: not a token kind)."""
    op = node.op
    if isinstance(op, tokens.Tokenize):
        return _tokenize_is_view(node, source)
    if isinstance(op, (tokens.Untokenize, tokens.Select)):
        return True  # permute, transpose (and a reshape that only splits L), x[:, i]
    if isinstance(op, (tokens.ClassToken, tokens.PositionEmbedding, tokens.TokenPool, attention.Attention,
                       attention.WindowAttention, attention.PatchMerge)):
        return False
    return None


# -- rules ------------------------------------------------------------------------------------------

def _nothing(node: Node, plan) -> list:
    return []


def folded_input(plan, src: Node, node: Node, what: str = "input"):
    """What F.linear (matmul) saves of a token tensor N x ... x D: a view when it
    folds to (N*L) x D as it is, else the reshape's contiguous copy."""
    if not is_tokens(src.shape) or plan.contiguous(src):
        return plan.tensor(src, what)
    return plan.new(node, f"contiguous copy of the {what}", numel(src.shape))


def linear(node: Node, plan) -> list:
    """fc: its input (a flat vector as it is, tokens as F.linear folds them)."""
    return [folded_input(plan, node.inputs[0], node)]


def _tokenpool(node: Node, plan) -> list:
    if node.op.mode == "mean":
        return []  # a mean: backward needs only the size
    return [plan.tensor(node.inputs[0], "input"), plan.tensor(node, "output")]  # amax saves both


def _in_projection_input(plan, src: Node, node: Node, what: str):
    """nn.MultiheadAttention transposes its (batch-first) input to L x N x D; the
    projection's F.linear folds that to (L*N) x D: a copy unless it lies so."""
    if plan.layout[src] == SEQUENCE_FIRST or (src.shape[0] == 1 and plan.contiguous(src)):
        return plan.tensor(src, what)
    return plan.new(node, f"{what} as L x N x D", numel(src.shape))


def _attention(node: Node, plan) -> list:
    op: attention.Attention = node.op
    lq, lk, d, dk, h = op.length, op.memory_length, op.features, op.memory_features, op.heads
    query = node.inputs[0]
    memory = node.inputs[1] if op.cross and len(node.inputs) > 1 else query
    saved = [_in_projection_input(plan, query, node, "query")]
    if memory is query:  # one packed projection: q, k, v views of one 3 x L x N x D copy
        q = k = v_of = "q, k, v"
        sizes = {q: 3 * lq * d}
    elif dk == d:  # q apart; k and v one packed projection of the memory
        saved.append(_in_projection_input(plan, memory, node, "memory"))
        q, k, v_of = "q", "k, v", "k, v"
        sizes = {q: lq * d, k: 2 * lk * d}
    else:  # three projections, the memory copied for k and again for v
        saved += [_in_projection_input(plan, memory, node, "memory for k"),
                  _in_projection_input(plan, memory, node, "memory for v")]
        q, k, v_of = "q", "k", "v"
        sizes = {q: lq * d, k: lk * d, v_of: lk * d}
    qv = plan.new(node, "q", lq * d, storage=sizes[q], of=q)
    kv = plan.new(node, "k", lk * d, storage=sizes[k], of=k)
    vv = plan.new(node, "v", lk * d, storage=sizes[v_of], of=v_of)
    if op.dropout == 0:  # the CPU flash kernel
        out = plan.new(node, "attention output", lq * d)
        return saved + [qv, kv, vv, plan.new(node, "logsumexp", h * lq), out, out]
    maps = h * lq * lk  # the math path
    return saved + [plan.new(node, "scaled k", lk * d), plan.new(node, "scaled q", lq * d),
                    plan.new(node, "attention weights", maps), plan.new(node, "dropout mask", maps), vv,
                    plan.new(node, "dropped attention weights", maps),
                    plan.new(node, "attention output as L x N x D", lq * d)]


def _windowattention(node: Node, plan) -> list:
    op: attention.WindowAttention = node.op
    p, d, h, t = op.positions, op.features, op.heads, op.window ** 2
    maps = p * h * t
    qkv = lambda what: plan.new(node, what, p * d, storage=3 * p * d, of="qkv output")  # noqa: E731
    saved = [plan.new(node, "windows", p * d)]
    if op.v2:
        w2 = (2 * op.window - 1) ** 2
        relu = plan.new(node, "position-bias MLP hidden", w2 * CPB_HIDDEN, per_sample=False)
        saved = [relu, relu, plan.new(node, "position bias", h * t * t, per_sample=False), *saved]
        for name in ("q", "k"):
            norm = plan.new(node, f"norm of {name}", p * h)
            clamped = plan.new(node, f"clamped norm of {name}", p * d, storage=p * h)
            saved += [qkv(name), norm, norm, clamped, qkv(name)]
        scale = plan.new(node, "logit scale", h, per_sample=False)
        saved += [plan.new(node, "normalised q", p * d), plan.new(node, "normalised k", p * d), scale, scale,
                  plan.new(node, "cosine logits", maps)]
    elif h == 1:  # one head: the (B*1) x T x d fold of the unscaled one is a view of the qkv output
        saved += [plan.new(node, "scaled q" if op.partition == "window" and op.scale == "head" else "scaled k",
                           p * d), qkv("k" if op.partition == "window" and op.scale == "head" else "q")]
    else:
        saved += [plan.new(node, "q as windows x heads", p * d), plan.new(node, "k as windows x heads", p * d)]
    weights = plan.new(node, "attention weights", maps)
    saved.append(weights)
    if op.dropout:
        weights = plan.new(node, "dropped attention weights", maps)
        saved.append(plan.new(node, "dropout mask", maps))
    saved += [weights, qkv("v") if h == 1 else plan.new(node, "v as windows x heads", p * d),
              plan.new(node, "heads merged", p * d)]
    if op.proj_dropout:
        saved.append(plan.new(node, "projection dropout mask", p * d))
    return saved


def _patchmerge(node: Node, plan) -> list:
    op: attention.PatchMerge = node.op
    q, d = prod(op.out_grid), op.features
    cat = plan.new(node, "2x2 neighbours", q * 4 * d)
    stats = [plan.new(node, "mean", q), plan.new(node, "inverse std", q)]
    if op.norm == "pre":
        return [cat, *stats, plan.new(node, "normalised neighbours", q * 4 * d)]
    if op.norm == "post":
        return [cat, plan.new(node, "reduction output", q * 2 * d), *stats]
    return [cat]


TOKEN_SAVES = {
    tokens.Tokenize: _nothing,
    tokens.Untokenize: _nothing,
    tokens.ClassToken: _nothing,  # torch.cat
    tokens.PositionEmbedding: _nothing,  # an addition
    tokens.Select: _nothing,
    tokens.TokenPool: _tokenpool,
    attention.Attention: _attention,
    attention.WindowAttention: _windowattention,
    attention.PatchMerge: _patchmerge,
}
