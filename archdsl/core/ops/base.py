"""What every layer kind shares: its attribute schema, the value coercions,
and the Op base class whose methods give shape, parameters and cost.

A layer kind's language side and analysis live on its `Op` subclass,
registered under its keyword(s). Each backend keeps a table keyed by the op
class (the torch emitters, the diagram notation, the volume drawing), and
tests/test_registry.py fails for any kind that lacks an entry, a docs row or
an example. docs/architecture.md lists the files a new kind touches.
"""
from __future__ import annotations

from enum import StrEnum

from archdsl.core.shapes import Shape, describe_rank, is_tokens, spatial_rank
from archdsl.records import dataclass
from archdsl.text import close_matches, dims_text, join_words, shape_text

REQUIRED = object()


class Family(StrEnum):
    """What a layer kind is, for the diagrams' colours and legend."""

    IO = "io"
    CONV = "conv"
    POOL = "pool"
    FC = "fc"
    NORM = "norm"
    ACT = "act"
    RESHAPE = "reshape"
    MERGE = "merge"
    BLOCK = "block"  # a folded block in a diagram
    OTHER = "other"

# What `Op.receptive` returns besides a window (kernel_eff, stride, pad_before):
UNKNOWN = "unknown"  # the default: the analysis reports no receptive field downstream
POINTWISE = "pointwise"  # each output pixel reads the same pixel of its input(s)
GLOBAL = "global"  # each output reads every input pixel


class Word(str):
    """A bare word in a spec (`same`, `true`) that is not a block parameter."""


class Kind(str):
    """A layer kind or block passed as a value: `CBA(16, act=hardswish)`."""


class ValueProblem(Exception):
    """An attribute value of the wrong kind; lowering adds the span."""

    def __init__(self, message: str, hint: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fix = fix  # the value's replacement text, where it is mechanical


class ShapeError(Exception):
    """A layer cannot apply to its input; `notes` hold the arithmetic.

    `culprit` names the attribute at fault when one is (lowering then says which
    block parameter it came from); `shape` is the output the layer would have
    once the error is fixed, when the error does not bear on it (groups that do
    not divide the channels): lowering carries on with it to find independent
    errors further down."""

    def __init__(self, message: str, notes: list[str] | None = None, hint: str | None = None,
                 culprit: str | None = None, shape: Shape | None = None):
        super().__init__(message)
        self.message = message
        self.notes = notes or []
        self.hint = hint
        self.culprit = culprit
        self.shape = shape


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a layer kind: `k=3`, or the positional `96` of `conv 96`."""

    name: str
    type: str  # a key of COERCE; "word" takes one of `choices`
    default: object = REQUIRED
    aliases: tuple[str, ...] = ()
    positional: bool = False
    doc: str = ""
    choices: tuple[str, ...] = ()  # the bare words a "word" attribute accepts

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def coerce(self, value: object, written: str | None = None) -> object:
        """The value checked and converted; ValueProblem when it does not fit."""
        name = written or self.name
        if self.type == "word":
            return coerce_word(value, name, self.choices)
        return COERCE[self.type](value, name)

    def default_value(self) -> object:
        if self.default is None or self.default is REQUIRED:
            return None
        # A default written as a string is a bare word of the language (`mode=nearest`).
        return self.coerce(Word(self.default) if isinstance(self.default, str) else self.default)


@dataclass(frozen=True, slots=True)
class Lint:
    """A warning about a layer that analyses fine; `code` is what
    `# archdsl: allow CODE` names to silence it on one line."""

    message: str
    notes: tuple[str, ...] = ()
    hint: str | None = None
    code: str = "lint"


# -- value coercion -------------------------------------------------------------

def number_text(value: object) -> str:
    """A number the way it was most likely written: 1.0 stays 1.0 (not 1), 1e-4 stays short."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def constant_text(x: float) -> str:
    """A hyper-parameter for tables: 1e-4 rather than 0.0001, 2 rather than 2.0,
    the way papers write constants (number_text instead echoes what was typed)."""
    text = f"{x:g}"
    if 0 < abs(x) < 1e-3 or "e" in text:
        mantissa, _, exponent = f"{x:e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return text


def _kind(value: object) -> str:
    if isinstance(value, Tensor):
        return f"the tensor {value!r}"
    if isinstance(value, Kind):
        return f"the layer kind {value}"
    if isinstance(value, Word):
        return f"the word '{value}'"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, tuple):
        return "a size " + dims_text(value)
    if isinstance(value, float):
        return f"the number {number_text(value)}"
    if isinstance(value, str):
        return f'the string "{value}"'
    return repr(value)


def _quoted_word(value: object, name: str, words: tuple[str, ...]) -> None:
    """`p="same"`, `bias="false"`: the right word in quotes; say the quotes go."""
    if isinstance(value, str) and not isinstance(value, Word) and value in words:
        raise ValueProblem(f"{name} takes the bare word {value}, not a quoted string",
                           hint=f"quotes are not needed: {name}={value}", fix=str(value))


def _as_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueProblem(f"{name} must be an integer, got {_kind(value)}")
    if value < minimum:
        bound = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueProblem(f"{name} must be {bound}, got {value}")
    return value


def coerce_int(value, name):
    return _as_int(value, name, 1)


def coerce_int0(value, name):
    return _as_int(value, name, 0)


def coerce_axes(value, name, minimum=1):
    """An int or one int per axis; broadcast to the input's rank later."""
    if isinstance(value, tuple):
        return tuple(_as_int(v, name, minimum) for v in value)
    return (_as_int(value, name, minimum),)


def coerce_axes0(value, name):
    return coerce_axes(value, name, 0)


PADDING_WORDS = ("same", "valid", "half")


def coerce_padding(value, name):
    _quoted_word(value, name, PADDING_WORDS)
    if isinstance(value, Word):
        if value in PADDING_WORDS:
            return str(value)
        raise ValueProblem(f"{name} must be a number, 'same', 'half' or 'valid', got {_kind(value)}",
                           hint="p=same keeps ceil(W/S) (TensorFlow's rule); p=half is (k - 1) // 2 * d on "
                                "both sides (PyTorch's); p=valid is p=0")
    return coerce_axes(value, name, 0)


def coerce_bool(value, name):
    _quoted_word(value, name, ("true", "false"))
    if isinstance(value, Word) and value in ("true", "false"):
        return value == "true"
    if isinstance(value, bool):
        return value
    hint = f"write {name}={value.lower()}, in lower case" if isinstance(value, Word) and \
        value.lower() in ("true", "false") else None
    raise ValueProblem(f"{name} must be true or false, got {_kind(value)}", hint=hint)


def coerce_word(value, name, choices: tuple[str, ...]):
    """One of a fixed set of bare words: `mode=bilinear`."""
    _quoted_word(value, name, choices)
    if isinstance(value, Word) and value in choices:
        return str(value)
    close = close_matches(str(value), choices, n=1) if isinstance(value, str) else []
    guess = f"did you mean {close[0]}? " if close else ""
    raise ValueProblem(f"{name} must be {join_words(choices)}, got {_kind(value)}",
                       hint=f"{guess}write {name}={close[0]}" if guess else None)


class Tensor:
    """A value that is a tensor of the graph: `@e4`, `in`, a block argument
    holding one. `node` is the IR node whose output it is."""

    __slots__ = ("node", "name")

    def __init__(self, node, name: str):
        self.node, self.name = node, name

    @property
    def shape(self):
        return self.node.shape if self.node is not None else None

    def __repr__(self) -> str:
        return f"@{self.name}"


def coerce_tensor(value, name):
    if isinstance(value, Tensor):
        return value
    raise ValueProblem(f"{name} takes a tensor such as @e4, got {_kind(value)}",
                       hint="refer to an earlier statement by its label: @label")


def coerce_size_or_tensor(value, name):
    """`crop @e4` (to e4's spatial size) or `crop 56x56`."""
    if isinstance(value, Tensor):
        return value
    return coerce_dims(value, name)


def coerce_shape(value, name):
    """A target shape without the batch: `4x7x7`, or a tuple with one -1: `(-1, 49)`."""
    if isinstance(value, Tensor) or isinstance(value, bool):
        raise ValueProblem(f"{name} must be a shape like 4x7x7, got {_kind(value)}")
    values = value if isinstance(value, tuple) else (value,)
    out = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or (v < 1 and v != -1):
            raise ValueProblem(f"{name} sizes must be positive integers (or one -1), got {_kind(value)}")
        out.append(v)
    if out.count(-1) > 1:
        raise ValueProblem(f"{name} may leave one size to be inferred (-1), not {out.count(-1)}")
    return tuple(out)


def coerce_order(value, name):
    """An axis order of the non-batch axes: `(1, 2, 0)`."""
    values = value if isinstance(value, tuple) else (value,)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values) or \
            sorted(values) != list(range(len(values))):
        raise ValueProblem(f"{name} must order the axes 0..{len(values) - 1} once each, got {_kind(value)}",
                           hint="axes count without the batch: 0 is the channels; (1, 2, 0) gives HxWxC")
    return tuple(values)


def coerce_parts(value, name):
    """`split 2` (equal parts) or `split (24, 40)` (channels per part)."""
    if isinstance(value, tuple):
        return tuple(_as_int(v, name, 1) for v in value)
    n = _as_int(value, name, 1)
    if n < 2:
        raise ValueProblem(f"{name} must be at least 2 parts, got {n}")
    return n


def coerce_rounding(value, name):
    words = ("floor", "ceil", "caffe")
    _quoted_word(value, name, words)
    if isinstance(value, Word) and value in words:
        return str(value)
    raise ValueProblem(f"{name} must be floor, ceil or caffe, got {_kind(value)}",
                       hint="round=ceil is PyTorch's ceil_mode; round=caffe is Caffe's pooling rule")


def coerce_float(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(f"{name} must be a number, got {_kind(value)}")
    return float(value)


def coerce_positive_float(value, name):
    number = coerce_float(value, name)
    if number <= 0:
        raise ValueProblem(f"{name} must be positive, got {number_text(value)}")
    return number


def coerce_probability(value, name):
    number = coerce_float(value, name)
    if not 0 <= number < 1:
        raise ValueProblem(f"{name} must be in [0, 1), got {number_text(value)}",
                           hint="dropout takes the probability of dropping, e.g. dropout 0.5")
    return number


def coerce_dims(value, name):
    if isinstance(value, tuple):
        return tuple(_as_int(v, name, 1) for v in value)
    return (_as_int(value, name, 1),)


COERCE = {
    "int": coerce_int, "int0": coerce_int0, "axes": coerce_axes, "axes0": coerce_axes0,
    "padding": coerce_padding, "bool": coerce_bool, "float": coerce_float,
    "pfloat": coerce_positive_float, "prob": coerce_probability, "dims": coerce_dims,
    "rounding": coerce_rounding, "tensor": coerce_tensor, "size_or_tensor": coerce_size_or_tensor,
    "shape": coerce_shape, "order": coerce_order, "parts": coerce_parts,
}


def broadcast(values: tuple[int, ...], rank: int, name: str) -> tuple[int, ...]:
    """`k=3` on a 2-D map means 3x3; `k=1x7` must match the map's rank."""
    if len(values) == 1:
        return values * rank
    if len(values) != rank:
        written = dims_text(values)
        axes = "axis" if rank == 1 else "axes"
        raise ShapeError(f"{name}={written} gives {len(values)} values but the input has "
                         f"{rank} spatial {axes}",
                         hint=f"write one value ({name}={values[0]}) or one per axis")
    return values


# -- the Op base ------------------------------------------------------------------

class Op:
    """A resolved layer: attributes plus whatever the input fixed (channels).

    Subclasses are frozen dataclasses; their class attributes describe the
    language side (keywords, attributes) and the methods the analysis side."""

    # Class attributes, not fields (written without annotations, which would need
    # typing.ClassVar: importing typing is a twentieth of `archdsl check`).
    __slots__ = ()
    keywords = ()  # tuple[str, ...]: the keyword, then its aliases
    attrs = ()  # tuple[Attr, ...]
    family = Family.OTHER
    doc = ""
    example = ""  # a statement using it, for hints (`conv 64 k=3 p=1`)
    # Error recovery: a layer whose output always has its input's shape, and the
    # attributes that never bear on the output shape. When a layer fails on
    # these alone, lowering still knows its output and looks for further errors.
    keeps_shape = False
    shape_neutral = frozenset()  # frozenset[str]

    @property
    def kind(self) -> str:
        return self.keywords[0]

    @classmethod
    def make(cls, values: dict[str, object], in_shapes: list[Shape]) -> Op:
        """Build from coerced attribute values and the input shapes."""
        return cls(**values)

    @classmethod
    def tensor_inputs(cls, values: dict[str, object]) -> tuple:
        """Graph nodes the layer reads besides the flow (cross-attention's memory):
        edges of the graph, unlike a tensor whose shape alone is read (`crop @up`)."""
        return ()

    def infer(self, in_shapes: list[Shape]) -> Shape:
        return in_shapes[0]

    def lint(self, in_shapes: list[Shape]) -> list[Lint]:
        return []

    def params(self) -> int:
        return 0

    def buffers(self) -> int:
        return 0

    def macs(self, in_shapes: list[Shape], out: Shape) -> int:
        return 0

    def attention_macs(self, in_shapes: list[Shape], out: Shape) -> int:
        """Multiply-accumulates of the attention matmuls (q @ k^T and attn @ v),
        reported apart from `macs` (conv and fc weights) so that the usual
        figure stays comparable with conv+linear counters."""
        return 0

    def intermediates(self, in_shapes: list[Shape], out: Shape) -> dict[str, int]:
        """Elements a layer computes and keeps for the backward pass besides its
        output, by name (attention: q/k/v, the heads x L x L maps, the merged
        heads). Activation memory adds them; a training-memory estimate reads
        them by name."""
        return {}

    def receptive(self, in_shapes):
        """(kernel_eff, stride, pad_before) per axis for the receptive field, or
        POINTWISE, GLOBAL or UNKNOWN. A kind that says nothing is UNKNOWN, so a
        forgotten rule shows as a missing figure, never as a wrong one."""
        return UNKNOWN

    def hyper(self) -> str:
        """Kernel/stride/padding or other hyper-parameters in table notation."""
        return ""


def require_spatial(op: str, shape: Shape, min_rank: int = 1) -> int:
    if is_tokens(shape):
        raise ShapeError(f"{op} needs a feature map (CxL, CxHxW or CxDxHxW) but its input is "
                         f"{describe_rank(shape)} of {shape_text(shape)}",
                         notes=["tokens hold their features last; windowed and channel-wise layers read maps"],
                         hint="turn the tokens back into a map first: `untokens` (a grid of tokens needs no "
                              "sizes; a sequence takes h= and w=)")
    rank = spatial_rank(shape)
    if rank < min_rank:
        raise ShapeError(f"{op} needs a feature map (CxL, CxHxW or CxDxHxW) but its input is "
                         f"{describe_rank(shape)} of {shape_text(shape)}",
                         hint=f"move {op} before the flatten" if rank == 0 else None)
    if rank > 3:
        raise ShapeError(f"{op} supports 1, 2 or 3 spatial axes, input has {rank}")
    return rank


REGISTRY: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    for kw in cls.keywords:
        REGISTRY[kw] = cls
    return cls


class Pointwise:
    """Mixin for kinds whose output pixel reads only the same input pixel."""

    __slots__ = ()

    def receptive(self, in_shapes):
        return POINTWISE


def long_names() -> dict[str, str]:
    """Every attribute alias -> its short name (`kernel` -> `k`), over all kinds:
    a block call written as if to a layer (`B(stride=2)`) is matched through it."""
    names: dict[str, str] = {}
    for cls in REGISTRY.values():
        for attr in cls.attrs:
            for alias in attr.aliases:
                names.setdefault(alias, attr.name)
    return names
