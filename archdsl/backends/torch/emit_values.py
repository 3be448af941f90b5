"""The values emitters return (core of emit.py and emit_tokens.py): a
constructor (`Ctor`) of positional and keyword values (`Val`, `Kw`) and the
`forward` expression (`Emit`). Each value knows how it is written, so the flat
generator prints literals and the structured one expressions of a block's
parameters."""
from __future__ import annotations

from archdsl.records import dataclass

IN = "in"  # Val.role of a value that is the input's channel (or feature) count
OUT = "out"  # Val.role of a layer's output channels


@dataclass(frozen=True, slots=True)
class Val:
    """One value in generated code. `style` says how a literal is written:
    "auto" by its Python type (64, 0.5, True, 'nearest'), "axes" as 3 or
    (1, 7), "tuple" as (0, 1, 0, 1), "join" as 2, 3 (a tuple's items without
    brackets). `role` marks the input's channel count, which the structured
    generator follows through a block instead of fitting it; OUT marks a
layer's output channels."""

    value: object
    style: str = "auto"
    role: str | None = None
    attr: str | None = None  # the layer attribute it comes from (`s` for a stride), to find the spec's expression

    def text(self) -> str:
        v = self.value
        if self.style == "axes":
            return _axes(v)
        if self.style == "tuple":
            return "(" + ", ".join(str(x) for x in v) + ")"
        if self.style == "join":
            return ", ".join(str(x) for x in v)
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, str):
            return repr(v)
        return str(v)


@dataclass(frozen=True, slots=True)
class Kw:
    """A keyword argument; `shown` is False where it equals PyTorch's default
    (it is then left out of a literal constructor, but its value still counts
    when a block's instances are lined up)."""

    name: str
    val: Val
    shown: bool = True


@dataclass(frozen=True, slots=True)
class Ctor:
    """`nn.Conv2d(3, 64, kernel_size=7, ...)` as a name and values."""

    name: str
    args: tuple[Val, ...] = ()
    kwargs: tuple[Kw, ...] = ()

    def text(self, render=Val.text) -> str:
        parts = [render(a) for a in self.args] + [f"{k.name}={render(k.val)}" for k in self.kwargs if k.shown]
        return f"{self.name}({', '.join(parts)})"

    def values(self) -> list[Val]:
        return [*self.args, *(k.val for k in self.kwargs)]


@dataclass(frozen=True, slots=True)
class Emit:
    module: Ctor | None  # the submodule, None when forward needs none
    call: str
    uses_functional: bool = False  # needs `import torch.nn.functional as F`
    join: str = ", "  # between the inputs in `{xs}`
    helpers: tuple[str, ...] = ()  # definitions the file must carry (helpers.HELPERS)
    args: tuple[Val, ...] = ()  # the values of `{0}`, `{1}`... in `call`

    def expression(self, m: str | None, ins: list[str], render=Val.text) -> str:
        """The forward expression with the submodule `m` and input variables `ins`."""
        return self.call.format(*(render(v) for v in self.args), m=m, x=ins[0], xs=self.join.join(ins))


def _axes(values: tuple[int, ...]) -> str:
    """`3` when every axis agrees, `(1, 7)` otherwise: what nn layers accept."""
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


def _i(value, role=None, attr=None) -> Val:
    return Val(int(value), role=role, attr=attr)


def _f(value, attr=None) -> Val:
    return Val(float(value), attr=attr)


def _ax(values, attr=None) -> Val:
    return Val(tuple(values), "axes", attr=attr)
