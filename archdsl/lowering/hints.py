"""Hints that write the fix for the user: the layer a name from PyTorch or
Keras means here, the projection shortcut a residual needs, the block
argument a shape error came from. Each is worded for where the mistake is
(the user's own block, or a bundled one they can only call differently)."""
from __future__ import annotations

from archdsl.core.ops import MERGES, REGISTRY
from archdsl.core.shapes import Shape
from archdsl.errors import Fix
from archdsl.frontend import syntax as ast
from archdsl.lowering.binding import attr_expr, mentions, span_text
from archdsl.lowering.expressions import Context, EvalError, evaluate, show_value
from archdsl.lowering.stdlib import is_bundled
from archdsl.text import close_matches, dims_text, shape_text

# Names that PyTorch, Keras or papers use. A name here is never answered with
# a did-you-mean (hsigmoid is not sigmoid): it is either what archdsl calls it,
# or a plain "archdsl has no such layer" with the nearest construct.
KNOWN_ELSEWHERE: dict[str, str | tuple[None, str]] = {
    **{n: "conv" for n in ("conv1d", "conv2d", "conv3d", "convolution", "convolution2d", "convnd")},
    **{n: "convtranspose" for n in ("conv2dtranspose", "convtranspose1d", "convtranspose2d", "convtranspose3d",
                                    "conv_transpose", "deconvolution", "transposedconv")},
    **{n: "maxpool" for n in ("maxpool1d", "maxpool2d", "maxpool3d", "maxpooling2d", "max_pool", "maxpooling")},
    **{n: "avgpool" for n in ("avgpool1d", "avgpool2d", "avgpool3d", "averagepooling2d", "avg_pool",
                              "averagepool")},
    **{n: "gap" for n in ("globalaveragepooling2d", "globalavgpool2d", "global_avg_pool", "gavgpool")},
    **{n: "gmp" for n in ("globalmaxpooling2d", "global_max_pool")},
    **{n: "adaptiveavgpool" for n in ("adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d")},
    **{n: "bn" for n in ("batchnorm1d", "batchnorm2d", "batchnorm3d", "batchnormalization", "batch_norm")},
    "layernormalization": "layernorm", "layer_norm": "layernorm", "layernorm2d": "layernorm",
    "groupnormalization": "groupnorm", "group_norm": "groupnorm",
    **{n: "instancenorm" for n in ("instancenorm1d", "instancenorm2d", "instancenorm3d", "instancenormalization")},
    "hsigmoid": "hardsigmoid", "hard_sigmoid": "hardsigmoid", "hswish": "hardswish", "hard_swish": "hardswish",
    "zeropadding2d": "pad", "zeropad2d": "pad", "reflectionpad2d": "pad", "constantpad2d": "pad",
    "upsampling2d": "upsample", "interpolate": "upsample", "cropping2d": "crop", "centercrop": "crop",
    "concatenate": "concat", "cat": "concat", "multiply": "mul", "sum": "add",
    "linear": "fc", "fully_connected": "fc", "channel_shuffle": "shuffle", "drop_path": "stochasticdepth",
    "localresponsenorm": "lrn", "localresponsenormalization": "lrn",
    "depthwiseconv2d": (None, "a depthwise conv is `conv C k=3 g=C` (groups equal to the channels)"),
    "separableconv2d": (None, "a separable conv is `conv C k=3 g=C` then `conv C2 k=1`"),
    "mish": (None, "archdsl has no mish; its parameter-free relatives are silu (swish) and gelu"),
    "selu": (None, "archdsl has no selu; elu is the nearest activation it has"),
    "prelu": (None, "archdsl has no prelu (a learned slope); leakyrelu has a fixed one"),
    "softplus": (None, "archdsl has no softplus"),
    "logsoftmax": (None, "archdsl has no logsoftmax; end with logits (fc) or softmax"),
    "pixelshuffle": (None, "archdsl has no pixel shuffle; upsample or convtranspose enlarge a map"),
    "dropout2d": (None, "archdsl's dropout drops single values; channel dropout (dropout2d) is not supported"),
    "multiheadattention": (None, "attention is not a layer kind of archdsl yet"),
    "attention": (None, "attention is not a layer kind of archdsl yet"),
    **{n: (None, f"archdsl describes feed-forward networks; {n} is recurrent") for n in ("lstm", "gru", "rnn")},
}


def unknown_layer_hint(op: str, blocks) -> tuple[str, str | None]:
    """(message, hint) for a layer keyword that is neither a kind nor a block."""
    known = KNOWN_ELSEWHERE.get(op.lower())
    if isinstance(known, str):
        return (f"unknown layer '{op}'",
                f"'{op}' is what PyTorch or Keras call it; archdsl writes `{known}` "
                f"(1-D, 2-D or 3-D follows the input)" if known in ("conv", "maxpool", "avgpool", "bn",
                                                                    "convtranspose", "instancenorm")
                else f"'{op}' is what PyTorch or Keras call it; archdsl writes `{known}`")
    if known is not None:
        return f"'{op}' is not a layer kind of archdsl", known[1]
    close = close_matches(op, list(REGISTRY) + list(MERGES) + list(blocks), n=1, cutoff=0.6)
    return (f"unknown layer '{op}'",
            f"did you mean '{close[0]}'?" if close else "see `archdsl layers` for the list of layer kinds")


def param_origin(expr, ctx: Context, block: str | None) -> str | None:
    """`g=cin, and cin is 64 in this use of DW`: where a bad value came from."""
    if isinstance(expr, ast.Name) and expr.id in ctx.params and block is not None:
        return f"{expr.id} is {show_value(ctx.params[expr.id])} in this use of {block}"
    return None


def projection(stmt: ast.Residual, shape_in: Shape, body: Shape, ctx: Context, in_block: bool) -> str:
    """The 1x1 conv that maps the input onto the body's shape. Inside a block it
    is written with the block's parameters (`conv c k=1 s=s`), so that it holds
    for every use of the block, not just the one that failed."""
    layers = [s for s in stmt.body if isinstance(s, ast.Layer)]
    convs = [s for s in layers if s.op == "conv"]
    channels = str(body[0])
    ratios = [n // m if m and n % m == 0 else None for n, m in zip(shape_in[1:], body[1:], strict=True)]
    stride = ""
    if ratios and None not in ratios and max(ratios) > 1:
        stride = f" s={ratios[0]}" if len(set(ratios)) == 1 else " s=" + dims_text(ratios)
    env = ctx.params
    if in_block and env:
        out = [attr_expr(REGISTRY["conv"], c, "out") for c in convs]
        spelled = [e for e in out if e is not None and mentions(e, env) and span_text(e.span)
                   and _quiet(e, ctx) == body[0]]
        if spelled:
            channels = span_text(spelled[-1].span)
        else:
            named = [k for k, v in env.items() if v == body[0] and type(v) is int]
            channels = named[0] if len(named) == 1 else channels
        strides = [e for e in (attr_expr(REGISTRY["conv"], c, "s") for c in convs)
                   if e is not None and mentions(e, env) and span_text(e.span)]
        if len(strides) == 1:
            stride = f" s={span_text(strides[0].span)}"
    no_bias = any(isinstance(kw.value, ast.Name) and kw.value.id == "false"
                  for c in convs for kw in c.kwargs if kw.name == "bias")
    bn = any(s.op in ("bn", "batchnorm") for s in layers)
    return f"conv {channels} k=1{stride}{' bias=false' if no_bias else ''}{'; bn' if bn else ''}"


def residual_hint(stmt: ast.Residual, shape_in: Shape, body: Shape, ctx: Context, call_span, block: str | None):
    """(hint, fix) for a residual whose body changes the shape and has no shortcut."""
    proj = projection(stmt, shape_in, body, ctx, block is not None)
    if block is not None and call_span is not None and is_bundled(stmt.span.file):
        # A bundled block is not the user's to edit: say what its use needs.
        used = span_text(call_span) or block
        return (f"{used} adds its input back, so its input must already be {shape_text(body)}; "
                f"here it gets {shape_text(shape_in)}"), None
    fix = None
    end = stmt.span
    if end.source is not None and end.source.line(end.end_line)[end.end_col - 2: end.end_col - 1] == "}":
        # Write the shortcut right after the residual's closing brace.
        at = type(end)(end.file, end.end_line, end.end_col, end.end_line, end.end_col, end.source)
        fix = Fix(at, f" shortcut {{ {proj} }}")
    return f"add a projection shortcut: `shortcut {{ {proj} }}`", fix


def _quiet(expr, ctx: Context):
    try:
        return evaluate(expr, ctx)
    except (EvalError, RecursionError, ArithmeticError):
        return None
