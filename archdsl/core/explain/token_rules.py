"""Derivations of the token and attention kinds (core/ops/tokens.py and
attention.py), in the conventions of docs/language.md: a sequence is LxD, a
grid HxWxD, features last; attention's projections are MACs, its two matmuls
(q·kᵀ and attn·v) are counted apart as attention MACs.
"""
from __future__ import annotations

import math

from archdsl.core.explain.steps import Step, Topic
from archdsl.core.explain.terms import Num, Paren, Ratio, Round, V, product, total
from archdsl.core.ir import Node
from archdsl.core.ops import attention, tokens
from archdsl.text import shape_text

L, D = (lambda n: V("L", n)), (lambda n: V("D", n))


def _kept(note: str) -> Step:
    return Step(Topic.SHAPE, "out", given="in", symbolic=False, note=note)


def tokenize_steps(node: Node) -> list[Step]:
    op: tokens.Tokenize = node.op
    if op.grid:
        return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                     note="channels last: CxHxW → HxWxC (a grid of tokens, as Swin's Permute)")]
    letters = ("H", "W", "X")[:len(op.positions)] if len(op.positions) <= 2 else tuple(
        f"X{i}" for i in range(len(op.positions)))
    return [
        Step(Topic.SHAPE, "L", product(*(V(a, n) for a, n in zip(letters, op.positions, strict=True))), dims=(0,),
             rule="tokens: one token per position, L = H·W, its features the C channels (ViT's flatten and "
                  "transpose)"),
        Step(Topic.SHAPE, "D", given=op.channels, dims=(1,), symbolic=False, note="D = C"),
    ]


def untokenize_steps(node: Node) -> list[Step]:
    return [Step(Topic.SHAPE, "out", given=shape_text(node.shape), symbolic=False,
                 note="tokens back to a channels-first map: token i is pixel i (L = H·W)",
                 rule="untokens: the way back, DxHxW from L = H·W tokens of D features")]


def classtoken_steps(node: Node) -> list[Step]:
    op: tokens.ClassToken = node.op
    n = V("n", op.n)
    return [
        Step(Topic.SHAPE, "L'", L(op.length) + n, dims=(0,), rule="classtoken: n learned tokens prepended"),
        Step(Topic.PARAMS, "params", product(n, D(op.features)), rule="classtoken: D learned features per token"),
    ]


def posembed_steps(node: Node) -> list[Step]:
    op: tokens.PositionEmbedding = node.op
    if op.mode != "learned":
        return [_kept(f"{op.mode} position embeddings added: fixed, no parameters")]
    return [_kept("position embeddings added to every token"),
            Step(Topic.PARAMS, "params", product(L(op.positions[0]) if len(op.positions) == 1
                                                 else product(*(Num(p) for p in op.positions)), D(op.features)),
                 rule="posembed learned: one D-vector per position, L·D")]


def select_steps(node: Node) -> list[Step]:
    op: tokens.Select = node.op
    return [Step(Topic.SHAPE, "out", given=op.features, dims=(0,), symbolic=False,
                 note=f"token {op.index} of {op.length}, its D features (ViT's x[:, 0])")]


def tokenpool_steps(node: Node) -> list[Step]:
    op: tokens.TokenPool = node.op
    count = math.prod(op.positions)
    return [Step(Topic.SHAPE, "out", given=op.features, dims=(0,), symbolic=False,
                 note=f"the {op.mode} over {count:,} tokens of D features")]


def attention_steps(node: Node) -> list[Step]:
    op: attention.Attention = node.op
    d, lq = D(op.features), V("L_q", op.length, r"L_q")
    dk, lk = V("D_kv", op.memory_features, r"D_{kv}"), V("L_kv", op.memory_length, r"L_{kv}")
    if op.cross:
        weights = total(product(d, d), product(Num(2), d, dk), product(d, d))
        macs = total(product(lq, d, d), product(Num(2), lk, dk, d), product(lq, d, d))
    else:
        weights = product(Num(4), d, d)
        macs = product(Num(4), lq, d, d)
    biases = []
    if op.qkv_bias:
        biases.append(product(Num(3), d))
    if op.proj_bias:
        biases.append(d)
    heads = V("h", op.heads)
    return [
        _kept("every token attends to every " + ("memory token" if op.cross else "token") + ": the shape is kept"),
        Step(Topic.RULE, "d_head", Ratio(d, heads), tex=r"d_{\text{head}}", rule="attention: D/h features per head"),
        Step(Topic.PARAMS, "params", total(weights, *biases),
             rule="attention: the q, k, v and output projections (D·D each, k and v from D_kv), their biases"),
        Step(Topic.MACS, "MACs", macs, rule="attention MACs: the four projections, one per token and weight"),
        Step(Topic.RULE, "attention MACs", product(Num(2), lq, lk, d),
             rule="attention matmuls (q·kᵀ and attn·v): 2·L_q·L_kv·D, counted apart from MACs"),
    ]


def windowattention_steps(node: Node) -> list[Step]:
    op: attention.WindowAttention = node.op
    d, w, h = D(op.features), V("W", op.window), V("h", op.heads)
    positions = product(Num(op.padded[0]), Num(op.padded[1]))
    params = [product(Num(4), d, d)]
    if op.qkv_bias:
        params.append(product(Num(3), d))
    if op.proj_bias:
        params.append(d)
    macs = [product(Num(4), positions, d, d)]
    if op.v2:
        hidden = Num(op.CPB_HIDDEN)
        params += [h, product(Num(2), hidden), hidden, product(hidden, h)]
        side = Paren(product(Num(2), w) - 1)
        macs.append(product(side, side, Paren(total(product(Num(2), hidden), product(hidden, h)))))
        bias_rule = "v2: a logit scale per head and the position-bias MLP (2 → 512 → h)"
    else:
        side = Paren(product(Num(2), w) - 1)
        params.append(product(side, side, h))
        bias_rule = "a relative position bias, (2W − 1)² per head"
    padded = "" if tuple(op.padded) == tuple(op.grid) else f", the grid padded to {op.padded[0]}x{op.padded[1]}"
    return [
        _kept(f"self-attention inside each {op.window}x{op.window} "
              f"{'grid window (its tokens H/W apart)' if op.partition == 'grid' else 'window'}{padded}: "
              "the shape is kept"),
        Step(Topic.PARAMS, "params", total(*params),
             rule=f"window attention: q, k, v and output projections, their biases, {bias_rule}"),
        Step(Topic.MACS, "MACs", total(*macs), rule="window attention MACs: the four projections at every position"),
        Step(Topic.RULE, "attention MACs", product(Num(2), positions, w, w, d),
             rule="window attention matmuls: 2·positions·W²·D, counted apart from MACs"),
    ]


def patchmerge_steps(node: Node) -> list[Step]:
    op: attention.PatchMerge = node.op
    d = D(op.features)
    steps = [Step(Topic.SHAPE, f"{a}'", Round(Ratio(V(a, n), Num(2)), up=True), dims=(i,),
                  rule="patchmerge: 2x2 neighbours joined, an odd side padded first: ⌈H/2⌉") for i, (a, n)
             in enumerate(zip(("H", "W"), op.grid, strict=True))]
    steps.append(Step(Topic.SHAPE, "D'", product(Num(2), d), dims=(2,), note="4D features projected to 2D"))
    norm = {"pre": [product(Num(2), Num(4), d)], "post": [product(Num(2), Num(2), d)], "none": []}[op.norm]
    steps.append(Step(Topic.PARAMS, "params", total(product(Num(4), d, Num(2), d), *norm),
                      rule="patchmerge: a 4D → 2D projection without bias, and its layernorm's scale and shift"))
    h2, w2 = op.out_grid
    steps.append(Step(Topic.MACS, "MACs", product(Num(h2), Num(w2), Num(4), d, Num(2), d),
                      rule="patchmerge MACs: one projection per merged position"))
    return steps


TOKEN_RULES = {
    tokens.Tokenize: tokenize_steps,
    tokens.Untokenize: untokenize_steps,
    tokens.ClassToken: classtoken_steps,
    tokens.PositionEmbedding: posembed_steps,
    tokens.Select: select_steps,
    tokens.TokenPool: tokenpool_steps,
    attention.Attention: attention_steps,
    attention.WindowAttention: windowattention_steps,
    attention.PatchMerge: patchmerge_steps,
}
