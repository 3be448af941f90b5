"""A Darknet `.cfg` -> `model.Model`, in pure Python.

A cfg is a list of `[section]`s with `key=value` lines; `[net]` gives the
input size, every later section is one numbered layer (the numbers `[route]`
and `[shortcut]` refer to: negative counts back from the layer, positive
from the first). Each layer's output shape and parameter count are computed
here by Darknet's rules (`parse.c`, `convolutional_layer.c`,
`maxpool_layer.c`), so the check in importers/__init__.py compares two
independent computations.

Darknet's maxpool pads `size - 1` pixels, the extra one right and bottom: a
size-2 stride-1 pool keeps the size, which `.arch` writes `p=same` (the
extra pixel goes right/bottom there too). `[yolo]` and `[region]` are the
network's outputs, named by their layer number."""
from __future__ import annotations

import math
import re
from pathlib import Path

from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.importers.model import Layer, Model
from archdsl.importers.text_file import read_text_file
from archdsl.records import dataclass, field
from archdsl.source import SourceFile, Span

_ACTIVATIONS = {"leaky": ("leakyrelu", (0.1,)), "relu": ("relu", ()), "logistic": ("sigmoid", ()),
                "tanh": ("tanh", ()), "swish": ("silu", ()), "elu": ("elu", ()), "relu6": ("relu6", ())}
_OUTPUTS = ("yolo", "region", "detection", "Gaussian_yolo")


@dataclass
class Section:
    """`[kind]` and its options, each with the position of its line."""

    kind: str
    span: Span
    options: dict[str, tuple[str, Span]] = field(default_factory=dict)

    def text(self, key: str, default: str | None = None) -> str | None:
        return self.options[key][0] if key in self.options else default

    def int(self, key: str, default: int | None = None) -> int | None:
        if key not in self.options:
            return default
        value, span = self.options[key]
        try:
            return int(value)
        except ValueError:
            raise _error(span, f"[{self.kind}] {key} takes a whole number, not {value!r}") from None

    def float(self, key: str, default: float) -> float:
        if key not in self.options:
            return default
        value, span = self.options[key]
        try:
            return float(value)
        except ValueError:
            raise _error(span, f"[{self.kind}] {key} takes a number, not {value!r}") from None

    def ints(self, key: str) -> list[int]:
        value, span = self.options.get(key, ("", self.span))
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise _error(span, f"[{self.kind}] {key} takes whole numbers separated by commas, not {value!r}") \
                from None

    def at(self, key: str) -> Span:
        return self.options[key][1] if key in self.options else self.span


def parse_cfg(text: str, name: str) -> list[Section]:
    """The sections of a cfg, in order. ArchError at a line that is neither a section nor `key=value`."""
    source = SourceFile(name, text)
    sections: list[Section] = []
    for number, raw in enumerate(source.text.replace("\r\n", "\n").split("\n"), start=1):
        line = re.split(r"[#;]", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        col = len(raw) - len(raw.lstrip()) + 1
        span = source.span(number, col, number, col + len(line))
        head = re.fullmatch(r"\[\s*([\w-]+)\s*\]", line)
        if head:
            sections.append(Section(head.group(1).lower(), span))
            continue
        key, eq, value = line.partition("=")
        if not eq or not key.strip():
            raise _error(span, f"{line!r} is neither a [section] nor key=value",
                         hint="a Darknet cfg is made of [section] lines and key=value lines under them")
        if not sections:
            raise _error(span, f"{key.strip()}= comes before any [section]", hint="a cfg starts with [net]")
        sections[-1].options[key.strip().lower()] = (value.strip(), span)
    return sections


def _error(span: Span | None, message: str, hint: str | None = None) -> ArchError:
    return ArchError(Diagnostic("error", message, span=span, hint=hint))


def read_darknet(path: str | Path, *, input_shape=None) -> Model:
    """The layers of a Darknet cfg."""
    return read_darknet_text(read_text_file(path, "cfg"), str(path), input_shape=input_shape)


def read_darknet_text(text: str, name: str = "<cfg>", *, input_shape=None) -> Model:
    sections = parse_cfg(text, name)
    return _DarknetReader(sections, input_shape, Path(name).stem, SourceFile(name, text)).read()


class _DarknetReader:
    def __init__(self, sections: list[Section], input_shape, stem: str, source: SourceFile):
        from archdsl.importers.onnx_reader import _identifier
        self.sections = sections
        self.input_shape = tuple(input_shape) if input_shape else None
        self.name = _identifier(stem)
        self.source = source
        self.layers: list[Layer] = []
        self.outputs_of: list[Layer] = []  # by Darknet's layer number: what that layer gives
        self.outputs: list[tuple[str, Layer]] = []

    def read(self) -> Model:
        if not self.sections or self.sections[0].kind not in ("net", "network"):
            raise _error(self.sections[0].span if self.sections else self.source.span(1, 1),
                         "a Darknet cfg starts with a [net] section", hint="[net] gives width, height and channels")
        flow = self._input(self.sections[0])
        for index, section in enumerate(self.sections[1:]):
            handler = _HANDLERS.get(section.kind)
            if handler is None and section.kind not in _OUTPUTS:
                raise _error(section.span, f"layer {index}: Darknet's [{section.kind}] has no .arch equivalent",
                             hint="archdsl reads [" + "], [".join([*_HANDLERS, "yolo"]) + "]")
            if section.kind in _OUTPUTS:
                self.outputs.append((f"{section.kind.lower()}{index}", flow))
            else:
                flow = handler(_Context(self, section, index), flow)
            self.outputs_of.append(flow)
        if not self.outputs:
            self.outputs.append(("output", flow))
        model = Model(self.name, self.layers, [self.layers[0]], self.outputs)
        model.prune()
        return model

    def _input(self, net: Section) -> Layer:
        shape = (net.int("channels", 3), net.int("height"), net.int("width"))
        if self.input_shape is not None:
            if len(self.input_shape) != 3:
                raise UsageError(f"--input takes CxHxW for a Darknet cfg, got {len(self.input_shape)} axes")
            shape = self.input_shape
        if any(d is None or d < 1 for d in shape):
            raise _error(net.span, "[net] gives no input size", hint="give width=, height= and channels= in [net], "
                                                                      "or --input 3x416x416")
        layer = Layer("input", (shape,), shape=shape, name="input", origin="[net]")
        self.layers.append(layer)
        return layer


@dataclass
class _Context:
    """One section being read: its options, its layer number, for messages and references."""

    reader: _DarknetReader
    section: Section
    index: int

    def fail(self, message: str, key: str | None = None, hint: str | None = None) -> ArchError:
        return _error(self.section.at(key) if key else self.section.span,
                      f"layer {self.index} [{self.section.kind}]: {message}", hint=hint)

    def layer(self, kind: str, args=(), kwargs=None, inputs=(), shape=(), params: int = 0, buffers: int = 0,
              block: str | None = None) -> Layer:
        layer = Layer(kind, tuple(args), dict(kwargs or {}), list(inputs), tuple(shape),
                      scope=(f"layer{self.index}",), classes=(block,) if block else (),
                      origin=f"layer {self.index} [{self.section.kind}]", params=params, buffers=buffers)
        self.reader.layers.append(layer)
        return layer

    def referenced(self, number: int, key: str) -> Layer:
        """The output of layer `number`: negative counts back from this layer, as Darknet does."""
        target = self.index + number if number < 0 else number
        if not 0 <= target < self.index:
            raise self.fail(f"{key}={number} names layer {target}, which does not come before it", key,
                            hint=f"layers before this one are 0 to {self.index - 1} (or -1 to -{self.index})")
        return self.reader.outputs_of[target]

    def activation(self, x: Layer, default: str, block: str | None = None) -> Layer:
        name = self.section.text("activation", default)
        if name == "linear":
            return x
        if name not in _ACTIVATIONS:
            raise self.fail(f"activation {name} has no .arch equivalent", "activation",
                            hint="archdsl reads " + ", ".join(["linear", *_ACTIVATIONS]))
        kind, args = _ACTIVATIONS[name]
        return self.layer(kind, args, {}, [x], x.shape, block=block)

    def spatial(self, x: Layer) -> tuple[int, int]:
        if len(x.shape) != 3:
            raise self.fail(f"needs a CxHxW map, its input is {'x'.join(map(str, x.shape))}")
        return x.shape[1], x.shape[2]


def _convolutional(ctx: _Context, x: Layer) -> Layer:
    s = ctx.section
    height, width = ctx.spatial(x)
    filters, size, stride = s.int("filters", 1), s.int("size", 1), s.int("stride", 1)
    groups, dilation = s.int("groups", 1), s.int("dilation", 1)
    pad = size // 2 if s.int("pad", 0) else s.int("padding", 0)  # parse.c: pad=1 means size/2
    bn = bool(s.int("batch_normalize", 0))
    c = x.shape[0]
    if filters < 1 or size < 1 or stride < 1:
        raise ctx.fail("filters, size and stride must be positive")
    if groups < 1 or c % groups or filters % groups:
        raise ctx.fail(f"groups={groups} does not divide its {c} input and {filters} output channels", "groups")
    effective = dilation * (size - 1) + 1
    if min(height, width) + 2 * pad < effective:
        raise ctx.fail(f"its {size}-wide kernel does not fit the {height}x{width} input padded by {pad}", "size")
    out = tuple((n + 2 * pad - effective) // stride + 1 for n in (height, width))
    kwargs = {"k": size}
    for key, value, default in (("s", stride, 1), ("p", pad, 0), ("d", dilation, 1), ("g", groups, 1)):
        if value != default:
            kwargs[key] = value
    if bn:
        kwargs["bias"] = False
    block = "CBL" if bn and s.text("activation", "logistic") == "leaky" else "Convolutional"
    weights = filters * (c // groups) * size * size
    y = ctx.layer("conv", (filters,), kwargs, [x], (filters, *out), params=weights + (0 if bn else filters),
                  block=block)
    if bn:  # Darknet keeps scales, biases and rolling mean and variance: PyTorch's BatchNorm
        y = ctx.layer("bn", (), {}, [y], y.shape, params=2 * filters, buffers=2 * filters, block=block)
    return ctx.activation(y, "logistic", block)


def _maxpool(ctx: _Context, x: Layer) -> Layer:
    s = ctx.section
    height, width = ctx.spatial(x)
    stride = s.int("stride", 1)
    size = s.int("size", stride)
    padding = s.int("padding", size - 1)
    if stride < 1 or size < 1 or padding < 0:
        raise ctx.fail("size and stride must be positive")
    # maxpool_layer.c: out = (n + padding - size) / stride + 1, the window starting padding/2 before the input.
    out = tuple((n + padding - size) // stride + 1 for n in (height, width))
    if min(out) < 1:
        raise ctx.fail(f"a {size}-wide window does not fit the {height}x{width} input", "size")
    kwargs = _pool_padding(ctx, (height, width), size, stride, padding, out)
    return ctx.layer("maxpool", (), kwargs, [x], (x.shape[0], *out))


def _pool_padding(ctx: _Context, sizes, size: int, stride: int, padding: int, out) -> dict:
    """The .arch pool with Darknet's output and window positions: unpadded where the padding is never read,
    else an even `p`, else `p=same` (the extra pixel right/bottom, as Darknet puts it)."""
    kwargs = {"k": size} if stride == size else {"k": size, "s": stride}
    before = padding // 2
    unpadded = tuple((n - size) // stride + 1 for n in sizes)
    if before == 0 and unpadded == out:
        return kwargs
    even = tuple((n + padding - size) // stride + 1 for n in sizes) if padding % 2 == 0 else None
    if even == out and before <= size // 2:
        return kwargs | {"p": before}
    same = tuple(math.ceil(n / stride) for n in sizes)
    same_before = {max((o - 1) * stride + size - n, 0) // 2 for o, n in zip(same, sizes, strict=True)}
    if same == out and same_before == {before}:
        return kwargs | {"p": "same"}
    raise ctx.fail(f"padding={padding} with size={size} pads unevenly in a way .arch cannot write", "padding")


def _route(ctx: _Context, x: Layer) -> Layer:
    s = ctx.section
    if s.int("groups", 1) != 1:
        raise ctx.fail("a route of channel groups (groups=, group_id=) has no .arch equivalent yet", "groups")
    numbers = s.ints("layers")
    if not numbers:
        raise ctx.fail("names no layers", "layers", hint="layers = -4, or layers = -1, 8")
    sources = [ctx.referenced(n, "layers") for n in numbers]
    if len(sources) == 1:
        return sources[0]  # a route of one layer only takes the flow back to it
    if len({src.shape[1:] for src in sources}) != 1:
        raise ctx.fail("joins maps of different sizes: " + ", ".join("x".join(map(str, src.shape))
                                                                     for src in sources), "layers")
    return ctx.layer("concat", (), {}, sources, (sum(src.shape[0] for src in sources), *sources[0].shape[1:]))


def _shortcut(ctx: _Context, x: Layer) -> Layer:
    s = ctx.section
    numbers = s.ints("from")
    if len(numbers) != 1:
        raise ctx.fail("adds one earlier layer", "from", hint="from = -3")
    other = ctx.referenced(numbers[0], "from")
    if other.shape != x.shape:
        raise ctx.fail(f"adds a {'x'.join(map(str, other.shape))} map to a {'x'.join(map(str, x.shape))} one; "
                       ".arch adds equal shapes only", "from")
    # The flow (the residual's body) first, the earlier layer (its shortcut) second, as specs write them.
    return ctx.activation(ctx.layer("add", (), {}, [x, other], x.shape), "linear")


def _upsample(ctx: _Context, x: Layer) -> Layer:
    stride = ctx.section.int("stride", 2)
    height, width = ctx.spatial(x)
    if stride < 1:
        raise ctx.fail("a negative stride (downsampling) has no .arch equivalent", "stride")
    return ctx.layer("upsample", (stride,), {}, [x], (x.shape[0], height * stride, width * stride))


def _avgpool(ctx: _Context, x: Layer) -> Layer:
    ctx.spatial(x)
    return ctx.layer("gap", (), {}, [x], (x.shape[0], 1, 1))  # Darknet's [avgpool] is global


def _dropout(ctx: _Context, x: Layer) -> Layer:
    p = ctx.section.float("probability", 0.5)
    return ctx.layer("dropout", () if p == 0.5 else (p,), {}, [x], x.shape)


def _connected(ctx: _Context, x: Layer) -> Layer:
    out = ctx.section.int("output", 1)
    if ctx.section.int("batch_normalize", 0):
        raise ctx.fail("a batch-normalised connected layer is not read yet", "batch_normalize")
    if len(x.shape) > 1:
        x = ctx.layer("flatten", (), {}, [x], (math.prod(x.shape),))
    y = ctx.layer("fc", (out,), {}, [x], (out,), params=x.shape[0] * out + out)
    return ctx.activation(y, "logistic")


def _softmax(ctx: _Context, x: Layer) -> Layer:
    return ctx.layer("softmax", (), {}, [x], x.shape)


_HANDLERS = {"convolutional": _convolutional, "conv": _convolutional, "maxpool": _maxpool, "route": _route,
             "shortcut": _shortcut, "upsample": _upsample, "avgpool": _avgpool, "dropout": _dropout,
             "connected": _connected, "softmax": _softmax}
