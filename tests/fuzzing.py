"""Input generators for the fuzz tests: grammar-aware specs (valid and
near-valid), and byte- and token-level mutations of the gallery specs.

Plain seeded `random` rather than hypothesis for the bulk: tens of thousands
of inputs must run in seconds, and a failing seed is reproducible from the
test's message."""
from __future__ import annotations

import random
import re

LAYERS = ["conv {c} k={k}", "conv {c} k={k} s={s} p={p}", "conv {c} k={k} p=same s={s}",
          "conv {c} k={k} d={d} p={p}", "conv {c} k=1 g={g}", "maxpool k={k} s={s}",
          "maxpool k={k} s={s} ceil=true", "maxpool k={k} s={s} round=caffe", "avgpool k={k} s={s} p={p}",
          "minpool k={k}",
          "gap", "gmp", "adaptiveavgpool {a}", "bn", "bn eps=1e-3", "lrn size={k}", "dropout 0.{k}",
          "relu", "leakyrelu 0.1", "elu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish",
          "softmax", "identity", "flatten", "fc {c}",
          # language v2
          "convtranspose {c} k={k} s={s}", "deconv {c} k={k} s={s} p={p} op=1", "upsample {s}",
          "upsample size={a} mode=bilinear", "crop {a}", "pad {p} mode=reflect", "layernorm", "groupnorm {g}",
          "instancenorm affine=true", "layerscale 1e-6", "stochasticdepth 0.{k}", "shuffle {g}", "hardsigmoid",
          "reshape (-1, {c})", "permute (1, 0)", "conv {c} k={k} p=half", "embedding {c} {k}",
          "conv max({c}, {k}) k={k}", "conv make_divisible({c} * 0.75, 8) k=1", "expect {c}x{k}x{k}",
          # tokens and attention
          "tokens", "tokens grid=true", "untokens", "untokens h={k} w={k}", "classtoken", "posembed",
          "posembed sincos", "select {k}", "tokenpool", "tokenpool max", "attention heads={g}",
          "attention heads={k} qkv_bias=false dropout=0.{k}", "windowattention {k} heads={g} shift={p}",
          "windowattention {s} heads={g} pad=true v2=true", "patchmerge", "patchmerge norm=post",
          "embedding {c} {k} tokens=true"]
# Values drawn mostly in range, sometimes not: near-valid specs must fail cleanly.
SMALL = [1, 1, 2, 2, 3, 3, 4, 5, 7, 8, 16]
ODD = [0, -1, 1000, 99999, 2 ** 40]


def _value(rng: random.Random) -> int:
    return rng.choice(ODD) if rng.random() < 0.05 else rng.choice(SMALL)


def _layer(rng: random.Random) -> str:
    template = rng.choice(LAYERS)
    return template.format(c=_value(rng), k=_value(rng), s=rng.choice([1, 1, 2, 3]), p=rng.choice([0, 1, 2]),
                           d=rng.choice([1, 2]), g=rng.choice([1, 2, 4]), a=rng.choice([1, 2, "2x3"]))


def _body(rng: random.Random, depth: int, blocks: list[str]) -> list[str]:
    lines = []
    for _ in range(rng.randint(0, 4)):
        roll = rng.random()
        if depth < 3 and roll < 0.12:
            branches = " ".join("branch { " + "; ".join(_body(rng, depth + 1, blocks)) + " }"
                                for _ in range(rng.randint(1, 3)))
            lines.append(f"{rng.choice(['concat', 'add'])} {{ {branches} }}")
        elif depth < 3 and roll < 0.2:
            body = "; ".join(_body(rng, depth + 1, blocks))
            shortcut = ""
            if rng.random() < 0.5:
                always = rng.choice(["", "always "])
                shortcut = f" shortcut {always}{{ conv {_value(rng)} k=1 s={rng.choice([1, 2])}; bn }}"
            lines.append(f"residual {{ {body} }}{shortcut}")
        elif depth < 3 and roll < 0.26:
            lines.append(f"repeat {rng.choice([0, 1, 2, 3])} {{ " + "; ".join(_body(rng, depth + 1, blocks)) + " }")
        elif blocks and roll < 0.34:
            name = rng.choice(blocks)
            lines.append(f"{name}({_value(rng)})" if rng.random() < 0.9 else f"{name}()")
        elif roll < 0.48:
            lines.append(_graph(rng, depth, blocks))
        else:
            lines.append(_layer(rng))
    return lines


LABELS = ["a", "b", "t", "x", "e1", "skip"]


def _graph(rng: random.Random, depth: int, blocks: list[str]) -> str:
    """Language v2: labels and references, from, ref merges, split, if, optional residuals."""
    label = rng.choice(LABELS)
    ref = rng.choice(LABELS + ["input"])
    roll = rng.random()
    if roll < 0.2:
        return f"{label}: {_layer(rng)}"
    if roll < 0.35:
        return f"{rng.choice(['concat', 'add', 'mul'])} @{ref}" + rng.choice(["", " @", f" @{label}"])
    if roll < 0.5 and depth < 3:
        return f"from @{ref} {{ " + "; ".join(_body(rng, depth + 1, blocks)) + " }"
    if roll < 0.6:
        return f"{label}, {rng.choice(LABELS)}: split {rng.choice([2, 2, 3, '(1, 2)'])}"
    if roll < 0.7 and depth < 3:
        cond = rng.choice(["in.c == 8", "s == 1 and in.c > 2", "not s", "1 < 2", "in.h >= 4 or s != 1"])
        orelse = rng.choice(["", " else { relu }", " else if s == 2 { bn } else { identity }"])
        return f"if {cond} {{ " + "; ".join(_body(rng, depth + 1, blocks)) + f" }}{orelse}"
    if roll < 0.8 and depth < 3:
        return "residual optional { " + "; ".join(_body(rng, depth + 1, blocks)) + " }"
    if roll < 0.9:
        return rng.choice(["defaults { bn eps=1e-3; conv bias=false }", "output y", f"output z @{ref}",
                           "crop @" + ref, "upsample like=@" + ref, f"attention @{ref} heads=2"])
    return f"mul {{ branch {{ }} branch {{ gap; conv {_value(rng)} k=1; hardsigmoid }} }}"


def generated_spec(rng: random.Random) -> str:
    """A spec in the grammar; shapes may or may not work out."""
    blocks = []
    parts = []
    for i in range(rng.randint(0, 2)):
        name = f"B{i}"
        body = "\n  ".join(_body(rng, 1, blocks)).replace("conv", rng.choice(["conv", "conv"]))
        body = re.sub(r"conv (\d+)", "conv c", body, count=1)
        header = f"block {name}(c, s=1)" if rng.random() < 0.85 else f"block {name}"
        parts.append(f"{header} {{\n  {body}\n}}")
        blocks.append(name)
    shape = rng.choice(["3x32x32", "1x28x28", "8x16", "2x8x8x8", "64", "3x7x7", "3x1x1", "16x8 tokens=true",
                        "4x4x8 tokens=true"])
    inputs = f"input {shape}" if rng.random() < 0.85 else f"input image {shape}\n  input meta 12"
    body = "\n  ".join(_body(rng, 0, blocks) + _body(rng, 0, blocks))
    parts.append(f"network N {{\n  {inputs}\n  {body}\n}}")
    return "\n".join(parts) + "\n"


TOKEN = re.compile(r"\s+|#[^\n]*|[A-Za-z_]\w*|\d+(?:x\d+)+|\d+(?:\.\d*)?(?:e-?\d+)?|\"[^\"\n]*\"|.", re.S)
REPLACEMENTS = ["{", "}", "(", ")", ";", "\n", "=", ",", ":", "x", "0", "-1", "99999999", "1e-4",
                "conv", "residual", "shortcut", "branch", "concat", "repeat", "block", "network",
                "input", "same", "true", "use", '"x.arch"', "Inception", "k", "s=2", "/", "//", "*",
                "@", "@a", "@input", "from", "if", "else", "==", "and", "not", "in.c", "mul", "split",
                "optional", "defaults", "output", "max(", "1e309", ".", "half"]


def mutate_tokens(text: str, rng: random.Random) -> str:
    tokens = TOKEN.findall(text)
    for _ in range(rng.randint(1, 4)):
        if not tokens:
            break
        i = rng.randrange(len(tokens))
        op = rng.random()
        if op < 0.3:
            del tokens[i]
        elif op < 0.55:
            tokens[i] = rng.choice(REPLACEMENTS)
        elif op < 0.75:
            tokens.insert(i, rng.choice(REPLACEMENTS))
        elif op < 0.9:
            tokens.insert(i, tokens[rng.randrange(len(tokens))])
        else:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not buf:
            buf.append(rng.randrange(256))
            continue
        i = rng.randrange(len(buf))
        op = rng.random()
        if op < 0.35:
            del buf[i]
        elif op < 0.7:
            buf[i] = rng.randrange(256) if rng.random() < 0.3 else rng.choice(b"{}();=\n\t x0123456789#\r")
        elif op < 0.9:
            buf.insert(i, rng.choice(b"{}();=\n x9\xef\xbb\xbf\xff"))
        else:
            j = rng.randrange(len(buf))
            k = min(len(buf), j + rng.randint(1, 40))
            buf[i:i] = buf[j:k]
    return bytes(buf)
