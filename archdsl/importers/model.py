"""What an importer reads a model into: a DAG of layers that are already
`.arch` statements (a keyword, its arguments, its output shape), before any
structure (residuals, branches, blocks) is recovered from it.

Readers (onnx_reader.py, torch_reader.py) make these; structure.py turns
them into statements and fold.py into blocks. Shapes are channels first and
without the batch, as specs write them."""
from __future__ import annotations

from archdsl.records import dataclass, field

MERGES = ("add", "concat", "mul")


@dataclass(eq=False)
class Layer:
    """One layer as a statement: `conv 64 k=3 s=2 p=1 bias=false`.

    `args` are the positional values, `kwargs` the named ones (in the order
    written); `scope` is the module path the source gave it (`bottleneck1`,
    `conv1`), used to name blocks and tensors; `origin` says where it came
    from, for messages. A split part has `part = (index, sizes)`."""

    kind: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    inputs: list[Layer] = field(default_factory=list)
    shape: tuple[int, ...] = ()
    scope: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # the class of each scope level, where the source knows it (Bottleneck)
    origin: str = ""
    name: str | None = None  # inputs: the input's name; parts: a label
    part: tuple | None = None
    opaque: str | None = None  # with --allow-opaque: the source op this stands in for
    params: int = 0  # parameters the source holds for it (checked against the spec's count)
    buffers: int = 0

    @property
    def is_merge(self) -> bool:
        return self.kind in MERGES

    def text(self) -> str:
        """The statement, without a label."""
        words = [self.kind, *(value_text(a) for a in self.args)]
        words += [f"{k}={value_text(v)}" for k, v in self.kwargs.items()]
        return " ".join(words)


@dataclass(eq=False)
class Model:
    """A whole imported network: `layers` in topological order (inputs first)."""

    name: str
    layers: list[Layer]
    inputs: list[Layer]
    outputs: list[tuple[str, Layer]]

    def consumers(self) -> dict[Layer, list[Layer]]:
        users: dict[Layer, list[Layer]] = {layer: [] for layer in self.layers}
        for layer in self.layers:
            for i in layer.inputs:
                users[i].append(layer)
        return users

    def prune(self) -> None:
        """Drop layers nothing reads (what a fused pattern left behind)."""
        keep = {layer for _, layer in self.outputs}
        for layer in reversed(self.layers):
            if layer in keep:
                keep.update(layer.inputs)
        self.layers = [layer for layer in self.layers if layer in keep or layer.kind == "input"]


def value_text(value) -> str:
    """A value as a spec writes it: 64, 0.5, 1e-5, 3x3, true, same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        if len(value) == 1:
            return value_text(value[0])
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "x".join(str(v) for v in value)
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    if isinstance(value, float):
        return float_text(value)
    return str(value)


def float_text(x: float) -> str:
    """A float32 from a model file as a person would write it: 7 significant
    digits at most (0.0375, not 0.03750000149011612), 1e-5 rather than 1e-05."""
    text = f"{x:.7g}"
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def axes(values) -> int | tuple:
    """One value when every axis agrees (3), else one per axis (1x7)."""
    values = tuple(int(v) for v in values)
    return values[0] if len(set(values)) == 1 else values
