"""A Caffe `.prototxt` -> `model.Model`, in pure Python.

The prototxt is read by a small parser of protobuf's text format (fields,
nested messages, strings, numbers and enum words, `#` comments), which keeps
every field's position so a mistake is reported at file:line:col. Each layer
becomes the `.arch` layer with its attributes; its output shape and
parameter count are computed here from Caffe's own rules (convolutions round
down, pools round up as `pooling_layer.cpp` does: `round=caffe`), so the
check in importers/__init__.py compares two independent computations.

Blobs are followed by name: an in-place layer (bottom == top, Caffe's ReLU
and Dropout) simply takes the blob over. BatchNorm followed by Scale is one
`bn`; an InnerProduct of a map flattens it first, as Caffe does."""
from __future__ import annotations

import math
import re
from pathlib import Path

from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.importers.model import Layer, Model, axes
from archdsl.importers.text_file import read_text_file
from archdsl.records import dataclass, field
from archdsl.source import SourceFile, Span

# -- the text format --------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)[fF]?)
  | (?P<word>[A-Za-z_][\w.]*)
  | (?P<punct>[{}:<>\[\],;])
""", re.VERBOSE)


@dataclass
class _Token:
    kind: str
    text: str
    span: Span


@dataclass
class Field:
    """`name: value` or `name { ... }`: the value is a `(kind, text)` scalar or a Message."""

    name: str
    value: object
    span: Span  # the field's name
    value_span: Span


@dataclass
class Message:
    span: Span
    fields: list[Field] = field(default_factory=list)

    def all(self, name: str) -> list[Field]:
        return [f for f in self.fields if f.name == name]

    def first(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def message(self, name: str) -> Message | None:
        f = self.first(name)
        if f is not None and not isinstance(f.value, Message):
            raise _error(f.value_span, f"{name} is a message: write `{name} {{ ... }}`")
        return f.value if f is not None else None

    def number(self, name: str, default=None, kind=int):
        f = self.first(name)
        return default if f is None else _number(f, kind)

    def numbers(self, name: str, kind=int) -> list:
        return [_number(f, kind) for f in self.all(name)]

    def word(self, name: str, default: str | None = None) -> str | None:
        """A string or an enum value (`type: "ReLU"`, `pool: MAX`)."""
        f = self.first(name)
        if f is None:
            return default
        if isinstance(f.value, Message) or f.value[0] == "number":
            raise _error(f.value_span, f"{name} takes a name or a string")
        return f.value[1]

    def words(self, name: str) -> list[tuple[str, Span]]:
        return [(self.word_of(f), f.value_span) for f in self.all(name)]

    def word_of(self, f: Field) -> str:
        if isinstance(f.value, Message) or f.value[0] == "number":
            raise _error(f.value_span, f"{f.name} takes a name or a string")
        return f.value[1]

    def flag(self, name: str, default: bool) -> bool:
        f = self.first(name)
        if f is None:
            return default
        text = "" if isinstance(f.value, Message) else f.value[1].lower()
        if text not in ("true", "false", "1", "0"):
            raise _error(f.value_span, f"{name} takes true or false")
        return text in ("true", "1")


def _number(f: Field, kind):
    if isinstance(f.value, Message) or f.value[0] != "number":
        raise _error(f.value_span, f"{f.name} takes a number")
    text = f.value[1].rstrip("fF")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise _error(f.value_span, f"{f.name} takes a whole number, not {text}") from None
    return float(text)


def parse_prototxt(text: str, name: str) -> Message:
    """The top-level message of a prototxt. ArchError at the position of a syntax mistake."""
    source = SourceFile(name, text)
    tokens = _tokenize(source)
    return _message(tokens, 0, source.span(1, 1), closing=False)[0]


def _tokenize(source: SourceFile) -> list[_Token]:
    tokens, pos, line, line_start = [], 0, 1, 0
    text = source.text
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        col = pos - line_start + 1
        if m is None:
            raise _error(source.span(line, col), f"unexpected character {text[pos]!r} in the prototxt",
                         hint="prototxt fields are `name: value` or `name { ... }`")
        kind = m.lastgroup
        if kind != "space":
            tokens.append(_Token(kind, m.group(), source.span(line, col, line, col + len(m.group()))))
        newlines = m.group().count("\n")
        if newlines:
            line += newlines
            line_start = m.start() + m.group().rindex("\n") + 1
        pos = m.end()
    tokens.append(_Token("end", "", source.span(line, pos - line_start + 1)))
    return tokens


def _message(tokens: list[_Token], at: int, span: Span, closing: bool) -> tuple[Message, int]:
    msg = Message(span)
    while True:
        t = tokens[at]
        if t.kind == "end":
            if closing:
                raise _error(span, "this message is never closed: a `}` is missing", hint="count the braces")
            return msg, at
        if t.text in ("}", ">"):
            if not closing:
                raise _error(t.span, f"`{t.text}` closes nothing", hint="count the braces")
            return msg, at + 1
        if t.kind != "word":
            raise _error(t.span, f"expected a field name, found `{t.text}`")
        at = _field(tokens, at, msg)
        if tokens[at].text in (",", ";"):
            at += 1


def _field(tokens: list[_Token], at: int, msg: Message) -> int:
    name = tokens[at]
    at += 1
    colon = tokens[at].text == ":"
    if colon:
        at += 1
    t = tokens[at]
    if t.text in ("{", "<"):
        inner, at = _message(tokens, at + 1, name.span, closing=True)
        msg.fields.append(Field(name.text, inner, name.span, t.span))
        return at
    if not colon:
        raise _error(t.span, f"expected `:` or `{{` after {name.text}, found `{t.text or 'the end of the file'}`")
    if t.text == "[":  # a list: `dim: [1, 3, 224, 224]`
        at += 1
        while tokens[at].text != "]":
            at = _scalar(tokens, at, name, msg)
            if tokens[at].text == ",":
                at += 1
        return at + 1
    return _scalar(tokens, at, name, msg)


def _scalar(tokens: list[_Token], at: int, name: _Token, msg: Message) -> int:
    t = tokens[at]
    if t.kind not in ("string", "number", "word"):
        raise _error(t.span, f"expected a value for {name.text}, found `{t.text or 'the end of the file'}`")
    value = t.text[1:-1] if t.kind == "string" else t.text
    msg.fields.append(Field(name.text, (t.kind, value), name.span, t.span))
    return at + 1


def _error(span: Span | None, message: str, hint: str | None = None) -> ArchError:
    return ArchError(Diagnostic("error", message, span=span, hint=hint))


# -- layers -----------------------------------------------------------------------------------------

# Caffe's V1 prototxts (`layers { type: CONVOLUTION }`) name the types in capitals.
_V1_TYPES = {"CONVOLUTION": "Convolution", "POOLING": "Pooling", "INNER_PRODUCT": "InnerProduct", "RELU": "ReLU",
             "LRN": "LRN", "DROPOUT": "Dropout", "CONCAT": "Concat", "ELTWISE": "Eltwise", "SOFTMAX": "Softmax",
             "FLATTEN": "Flatten", "SIGMOID": "Sigmoid", "TANH": "TanH", "SPLIT": "Split"}
_DATA_TYPES = {"Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "Python"}
_TRAINING_TYPES = {"SoftmaxWithLoss", "Accuracy", "EuclideanLoss", "SigmoidCrossEntropyLoss", "HingeLoss",
                   "InfogainLoss", "MultinomialLogisticLoss", "ContrastiveLoss", "Silence"}


def read_caffe(path: str | Path, *, input_shape=None) -> Model:
    """The layers of a Caffe deploy prototxt."""
    return read_caffe_text(read_text_file(path, "prototxt"), str(path), input_shape=input_shape)


def read_caffe_text(text: str, name: str = "<prototxt>", *, input_shape=None) -> Model:
    root = parse_prototxt(text, name)
    return _CaffeReader(root, input_shape, Path(name).stem).read()


class _CaffeReader:
    def __init__(self, root: Message, input_shape, stem: str):
        from archdsl.importers.onnx_reader import _identifier
        self.root = root
        self.input_shape = tuple(input_shape) if input_shape else None
        self.name = _identifier(root.word("name") or stem)
        self.blobs: dict[str, Layer] = {}
        self.layers: list[Layer] = []
        self.inputs: list[Layer] = []
        self.read_by_others: set[Layer] = set()  # a Scale may not fold into a BatchNorm someone already read
        self.top_names: dict[Layer, str] = {}

    def read(self) -> Model:
        self._declared_inputs()
        for f in self.root.fields:
            if f.name in ("layer", "layers"):
                if not isinstance(f.value, Message):
                    raise _error(f.value_span, f"{f.name} is a message: write `{f.name} {{ ... }}`")
                self._layer(f.value)
        if not self.inputs:
            raise _error(self.root.span, "the prototxt declares no input",
                         hint="a deploy prototxt has an Input layer, or `input: \"data\"` with input_shape or "
                              "input_dim")
        users = {id(i) for layer in self.layers for i in layer.inputs}
        outputs = [(_output_name(self.top_names[layer]), layer) for layer in self.layers
                   if id(layer) not in users and layer.kind != "input"]
        if not outputs:
            raise _error(self.root.span, "the prototxt has no layers after its input")
        model = Model(self.name, self.layers, self.inputs, outputs)
        model.prune()
        return model

    # -- inputs -----------------------------------------------------------------------------------

    def _declared_inputs(self) -> None:
        """`input: "data"` with `input_shape { dim: ... }` or four `input_dim`s per input (old prototxts)."""
        names = self.root.words("input")
        shapes = [self._dims(m.value) for m in self.root.all("input_shape")]
        flat = self.root.numbers("input_dim")
        shapes += [tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)]
        for index, (blob, span) in enumerate(names):
            if index >= len(shapes):
                raise _error(span, f"input {blob} has no size", hint="give it with input_shape { dim: 1 dim: 3 "
                                                                     "dim: 224 dim: 224 } or four input_dim")
            self._input(blob, shapes[index], span)

    def _dims(self, shape) -> tuple[int, ...]:
        if not isinstance(shape, Message):
            raise ArchError(Diagnostic("error", "a shape is a message: shape { dim: 1 dim: 3 ... }"))
        return tuple(shape.numbers("dim"))

    def _input(self, blob: str, dims: tuple, span: Span) -> None:
        shape = tuple(dims[1:])
        if self.input_shape is not None and not self.inputs:
            if len(self.input_shape) != len(shape):
                raise UsageError(f"--input has {len(self.input_shape)} axes; the prototxt's input {blob} has "
                                 f"{len(shape)} besides the batch")
            shape = self.input_shape
        if not shape or any(d < 1 for d in shape):
            raise _error(span, f"input {blob} has no usable size ({'x'.join(map(str, dims)) or 'none'})",
                         hint="the first dim is the batch, then channels, height and width")
        layer = Layer("input", (shape,), shape=shape, name=_output_name(blob), origin=f"input {blob}")
        self.inputs.append(layer)
        self._emit(layer, blob)

    # -- one layer --------------------------------------------------------------------------------

    def _layer(self, msg: Message) -> None:
        kind = msg.word("type")
        if kind is None:
            raise _error(msg.span, "a layer without a type")
        kind = _V1_TYPES.get(kind, kind)
        name = msg.word("name") or kind
        tops = msg.words("top")
        if kind == "Input":
            self._input_layer(msg, tops)
            return
        if kind in _DATA_TYPES | _TRAINING_TYPES:
            raise _error(msg.first("type").value_span, f"layer {name} ({kind}) is for training",
                         hint="import the deploy prototxt: its input has a size (an Input layer or input_shape) "
                              "and it has no data or loss layers")
        handler = _HANDLERS.get(kind)
        if handler is None and kind != "Split":
            raise _error(msg.first("type").value_span, f"layer {name}: Caffe's {kind} has no .arch equivalent",
                         hint="archdsl reads " + ", ".join(sorted([*_HANDLERS, "Input", "Split"])))
        bottoms = [self._bottom(blob, span, name) for blob, span in msg.words("bottom")]
        if not bottoms:
            raise _error(msg.span, f"layer {name} ({kind}) reads no bottom blob")
        if not tops:
            raise _error(msg.span, f"layer {name} ({kind}) writes no top blob")
        ctx = _Context(self, msg, name, kind)
        if kind == "Split":
            for blob, _ in tops:
                self.blobs[blob] = bottoms[0]
            return
        out = handler(ctx, bottoms)
        self.read_by_others.update(bottoms)
        self.top_names.setdefault(out, tops[0][0])
        self.blobs[tops[0][0]] = out

    def _input_layer(self, msg: Message, tops) -> None:
        param = msg.message("input_param")
        shapes = [self._dims(f.value) for f in param.all("shape")] if param else []
        for index, (blob, span) in enumerate(tops):
            if not shapes:
                raise _error(span, f"input {blob} has no size", hint="input_param { shape { dim: 1 dim: 3 "
                                                                     "dim: 224 dim: 224 } }")
            self._input(blob, shapes[min(index, len(shapes) - 1)], span)

    def _bottom(self, blob: str, span: Span, name: str) -> Layer:
        if blob not in self.blobs:
            raise _error(span, f"layer {name} reads blob {blob!r}, which no layer before it writes",
                         hint="the bottom names a top of an earlier layer (or an input)")
        return self.blobs[blob]

    def _emit(self, layer: Layer, top: str | None = None) -> Layer:
        self.layers.append(layer)
        if top is not None:
            self.blobs[top] = layer
            self.top_names[layer] = top
        return layer


@dataclass
class _Context:
    """One layer being read: its message, name and type, for positions and messages."""

    reader: _CaffeReader
    msg: Message
    name: str
    kind: str

    def param(self, key: str) -> Message:
        return self.msg.message(key) or Message(self.msg.span)

    def fail(self, message: str, hint: str | None = None, at: str | None = None) -> ArchError:
        f = self.msg.first(at) if at else None
        kind = self.msg.first("type")
        span = f.span if f is not None else kind.value_span if kind is not None else self.msg.span
        return _error(span, f"layer {self.name} ({self.kind}): {message}", hint=hint)

    def layer(self, kind: str, args=(), kwargs=None, inputs=(), shape=(), params: int = 0,
              buffers: int = 0) -> Layer:
        layer = Layer(kind, tuple(args), dict(kwargs or {}), list(inputs), tuple(shape), scope=_scope(self.name),
                      origin=f"layer {self.name} ({self.kind})", params=params, buffers=buffers)
        return self.reader._emit(layer)

    def spatial(self, x: Layer) -> tuple[int, int]:
        if len(x.shape) != 3:
            raise self.fail(f"needs a CxHxW map, its bottom is {'x'.join(map(str, x.shape))}")
        return x.shape[1], x.shape[2]


def _window(p: Message, key: str, default: int | None, ctx: _Context) -> tuple[int, int]:
    """(h, w) of kernel_size / stride / pad: `key_h` and `key_w`, or `key` once (both axes) or twice (h, w)."""
    stem = "kernel" if key == "kernel_size" else key
    h, w = p.number(f"{stem}_h"), p.number(f"{stem}_w")
    if h is not None or w is not None:
        if h is None or w is None:
            raise ctx.fail(f"{stem}_h and {stem}_w go together", at=None)
        return h, w
    values = p.numbers(key)
    if not values:
        if default is None:
            raise ctx.fail(f"has no {key}", hint=f"give {key}, or {stem}_h and {stem}_w")
        return default, default
    if len(values) > 2:
        raise ctx.fail(f"has {len(values)} values of {key}; archdsl reads 2-D layers (one value, or h and w)")
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def _conv(ctx: _Context, bottoms: list[Layer]) -> Layer:
    x = bottoms[0]
    height, width = ctx.spatial(x)
    p = ctx.param("convolution_param")
    out = p.number("num_output")
    if out is None or out < 1:
        raise ctx.fail("has no num_output", hint="convolution_param { num_output: 64 ... }")
    k, s, pad = _window(p, "kernel_size", None, ctx), _window(p, "stride", 1, ctx), _window(p, "pad", 0, ctx)
    dilations = p.numbers("dilation") or [1]
    d = (dilations[0], dilations[-1])
    g = p.number("group", 1)
    bias = p.flag("bias_term", True)
    c = x.shape[0]
    if min(k) < 1 or min(d) < 1:
        raise ctx.fail("kernel_size and dilation must be positive", at="convolution_param")
    if g < 1 or c % g or out % g:
        raise ctx.fail(f"group {g} does not divide its {c} input and {out} output channels")
    size = tuple(_conv_size(n, kk, ss, pp, dd, ctx) for n, kk, ss, pp, dd in zip((height, width), k, s, pad, d,
                                                                                   strict=True))
    kwargs = {"k": axes(k)}
    for key, value, default in (("s", s, 1), ("p", pad, 0), ("d", d, 1), ("g", (g,), 1)):
        if set(value) != {default}:
            kwargs[key] = axes(value)
    if not bias:
        kwargs["bias"] = False
    params = out * (c // g) * k[0] * k[1] + (out if bias else 0)
    return ctx.layer("conv", (out,), kwargs, [x], (out, *size), params=params)


def _conv_size(n: int, k: int, s: int, p: int, d: int, ctx: _Context) -> int:
    span = n + 2 * p - (d * (k - 1) + 1)
    if s < 1 or span < 0:
        raise ctx.fail(f"its {k}-wide kernel does not fit in {n} pixels padded by {p}" if s >= 1 else
                       f"stride {s} is not positive")
    return span // s + 1


def _pool(ctx: _Context, bottoms: list[Layer]) -> Layer:
    x = bottoms[0]
    height, width = ctx.spatial(x)
    p = ctx.param("pooling_param")
    mode = p.word("pool", "MAX")
    if mode not in ("MAX", "AVE"):
        raise ctx.fail(f"{mode} pooling has no .arch equivalent", hint="archdsl reads MAX and AVE pooling")
    kind = "maxpool" if mode == "MAX" else "avgpool"
    if p.flag("global_pooling", False):
        return ctx.layer("gap" if mode == "AVE" else "gmp", (), {}, [x], (x.shape[0], 1, 1))
    k, s, pad = _window(p, "kernel_size", None, ctx), _window(p, "stride", 1, ctx), _window(p, "pad", 0, ctx)
    size = tuple(_caffe_pooled(n, kk, ss, pp, ctx) for n, kk, ss, pp in zip((height, width), k, s, pad,
                                                                              strict=True))
    kwargs = {"k": axes(k)}
    if s != k:
        kwargs["s"] = axes(s)
    if set(pad) != {0}:
        kwargs["p"] = axes(pad)
    # Caffe rounds up; with stride 1 (and padding PyTorch allows) floor gives the same at every input size.
    if any(ss > 1 for ss in s) or any(pp > kk // 2 for pp, kk in zip(pad, k, strict=True)):
        kwargs["round"] = "caffe"
    return ctx.layer(kind, (), kwargs, [x], (x.shape[0], *size))


def _caffe_pooled(n: int, k: int, s: int, p: int, ctx: _Context) -> int:
    """pooling_layer.cpp: ceil((n + 2p - k) / s) + 1, less the last window when it starts in the padding."""
    if s < 1 or p >= k or n + 2 * p < k:
        raise ctx.fail(f"a {k}-wide window with stride {s} and pad {p} does not fit {n} pixels",
                       hint="Caffe needs pad < kernel_size and a window that fits the padded input")
    out = math.ceil((n + 2 * p - k) / s) + 1
    if p > 0 and (out - 1) * s >= n + p:
        out -= 1
    return out


def _inner_product(ctx: _Context, bottoms: list[Layer]) -> Layer:
    x = bottoms[0]
    p = ctx.param("inner_product_param")
    out = p.number("num_output")
    if out is None or out < 1:
        raise ctx.fail("has no num_output", hint="inner_product_param { num_output: 1000 }")
    if p.number("axis", 1) != 1:
        raise ctx.fail("multiplies along another axis than the channels")
    bias = p.flag("bias_term", True)
    if len(x.shape) > 1:  # Caffe flattens everything after the batch
        x = ctx.layer("flatten", (), {}, [x], (math.prod(x.shape),))
    features = x.shape[0]
    return ctx.layer("fc", (out,), {} if bias else {"bias": False}, [x], (out,),
                     params=features * out + (out if bias else 0))


def _relu(ctx: _Context, bottoms: list[Layer]) -> Layer:
    slope = ctx.param("relu_param").number("negative_slope", 0.0, float)
    if slope:
        return ctx.layer("leakyrelu", (slope,), {}, bottoms[:1], bottoms[0].shape)
    return ctx.layer("relu", (), {}, bottoms[:1], bottoms[0].shape)


def _simple(kind: str):
    def handler(ctx: _Context, bottoms: list[Layer]) -> Layer:
        return ctx.layer(kind, (), {}, bottoms[:1], bottoms[0].shape)
    return handler


def _lrn(ctx: _Context, bottoms: list[Layer]) -> Layer:
    p = ctx.param("lrn_param")
    if p.word("norm_region", "ACROSS_CHANNELS") != "ACROSS_CHANNELS":
        raise ctx.fail("normalises within a channel; .arch's lrn (PyTorch's) normalises across channels")
    size = p.number("local_size", 5)
    values = {"alpha": p.number("alpha", 1.0, float), "beta": p.number("beta", 0.75, float),
              "k": p.number("k", 1.0, float)}
    language_defaults = {"alpha": 1e-4, "beta": 0.75, "k": 1.0}
    kwargs = {key: v for key, v in values.items() if not math.isclose(v, language_defaults[key])}
    return ctx.layer("lrn", (size,), kwargs, bottoms[:1], bottoms[0].shape)


def _dropout(ctx: _Context, bottoms: list[Layer]) -> Layer:
    ratio = ctx.param("dropout_param").number("dropout_ratio", 0.5, float)
    return ctx.layer("dropout", () if ratio == 0.5 else (ratio,), {}, bottoms[:1], bottoms[0].shape)


def _concat(ctx: _Context, bottoms: list[Layer]) -> Layer:
    p = ctx.param("concat_param")
    axis = p.number("axis", p.number("concat_dim", 1))
    if axis != 1:
        raise ctx.fail(f"joins along axis {axis}; .arch's concat joins the channels (axis 1)")
    rest = {b.shape[1:] for b in bottoms}
    if len(rest) != 1:
        raise ctx.fail("joins maps of different sizes: " + ", ".join("x".join(map(str, b.shape)) for b in bottoms))
    if len(bottoms) == 1:
        return ctx.layer("identity", (), {}, bottoms, bottoms[0].shape)
    return ctx.layer("concat", (), {}, bottoms, (sum(b.shape[0] for b in bottoms), *bottoms[0].shape[1:]))


def _eltwise(ctx: _Context, bottoms: list[Layer]) -> Layer:
    p = ctx.param("eltwise_param")
    op = p.word("operation", "SUM")
    if op not in ("SUM", "PROD"):
        raise ctx.fail(f"{op} has no .arch equivalent", hint="archdsl reads Eltwise SUM (add) and PROD (mul)")
    if any(c != 1.0 for c in p.numbers("coeff", float)):
        raise ctx.fail("a weighted sum (coeff) has no .arch equivalent", at="eltwise_param")
    if len({b.shape for b in bottoms}) != 1:
        raise ctx.fail("adds maps of different shapes: " + ", ".join("x".join(map(str, b.shape)) for b in bottoms))
    if len(bottoms) < 2:
        raise ctx.fail("needs two bottoms or more")
    if op == "SUM":
        return ctx.layer("add", (), {}, _body_first(ctx.reader.layers, bottoms), bottoms[0].shape)
    return ctx.layer("mul", (), {}, bottoms, bottoms[0].shape)


def _body_first(layers: list[Layer], bottoms: list[Layer]) -> list[Layer]:
    """A sum's operands, the latest made first: a residual's body before its shortcut, as specs write them."""
    order = {id(layer): i for i, layer in enumerate(layers)}
    return sorted(bottoms, key=lambda b: -order[id(b)])


def _batch_norm(ctx: _Context, bottoms: list[Layer]) -> Layer:
    x = bottoms[0]
    eps = ctx.param("batch_norm_param").number("eps", 1e-5, float)
    kwargs = {} if math.isclose(eps, 1e-5) else {"eps": eps}
    # Caffe's BatchNorm has no scale and shift of its own; a Scale after it adds them (see _scale).
    kwargs["affine"] = False
    return ctx.layer("bn", (), kwargs, [x], x.shape, buffers=2 * x.shape[0])


def _scale(ctx: _Context, bottoms: list[Layer]) -> Layer:
    bn = bottoms[0]
    if bn.kind != "bn" or bn.kwargs.get("affine") is not False or bn in ctx.reader.read_by_others:
        raise ctx.fail("a Scale that does not follow a BatchNorm has no .arch equivalent",
                       hint="archdsl reads BatchNorm followed by Scale (bias_term: true) as one bn")
    if not ctx.param("scale_param").flag("bias_term", False):
        raise ctx.fail("a Scale without bias_term after a BatchNorm: .arch's bn learns a scale and a shift",
                       hint="scale_param { bias_term: true }", at="scale_param")
    del bn.kwargs["affine"]
    bn.params = 2 * bn.shape[0]
    return bn


def _softmax(ctx: _Context, bottoms: list[Layer]) -> Layer:
    if ctx.param("softmax_param").number("axis", 1) != 1:
        raise ctx.fail("is over another axis than the channels")
    return ctx.layer("softmax", (), {}, bottoms[:1], bottoms[0].shape)


def _flatten(ctx: _Context, bottoms: list[Layer]) -> Layer:
    p = ctx.param("flatten_param")
    if p.number("axis", 1) != 1 or p.number("end_axis", -1) != -1:
        raise ctx.fail("flattens other axes than all but the batch")
    x = bottoms[0]
    return ctx.layer("flatten", (), {}, [x], (math.prod(x.shape),))


_HANDLERS = {"Convolution": _conv, "Pooling": _pool, "InnerProduct": _inner_product, "ReLU": _relu,
             "Sigmoid": _simple("sigmoid"), "TanH": _simple("tanh"), "LRN": _lrn, "Dropout": _dropout,
             "Concat": _concat, "Eltwise": _eltwise, "BatchNorm": _batch_norm, "Scale": _scale,
             "Softmax": _softmax, "Flatten": _flatten}


def _scope(name: str) -> tuple[str, ...]:
    """`inception_3a/3x3_reduce` -> ("inception_3a",): the module a layer belongs to names blocks and tensors."""
    parts = [p for p in name.split("/") if p]
    return tuple(parts[:-1]) if len(parts) > 1 else tuple(parts)


def _output_name(blob: str) -> str:
    name = re.sub(r"\W", "_", blob) or "out"
    return name if not name[0].isdigit() else "t" + name
