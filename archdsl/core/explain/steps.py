"""What a derivation is made of: steps (a quantity, its formula with the
numbers filled in, the result, and the rule in words) grouped per layer."""
from __future__ import annotations

from enum import StrEnum
from fractions import Fraction

from archdsl.core.explain.terms import Term, integer
from archdsl.records import dataclass, field


class Topic(StrEnum):
    """What a step derives: the shape, the parameters, the cost, the receptive
    field, or a rule the others rely on (the padding `same` chose)."""

    SHAPE = "shape"
    PARAMS = "params"
    BUFFERS = "buffers"
    MACS = "macs"
    RF = "rf"
    RULE = "rule"


@dataclass(frozen=True, slots=True)
class Step:
    """`quantity = formula = numbers = result`, and a note saying which rule.

    `term` is None for a step that is a statement, not arithmetic (`out = 16x1x1`,
    global pooling); `result` is then given. With a term, the result is the
    term's value, so the printed arithmetic is the arithmetic that was done.
    `axes` names the spatial axes a per-axis step applies to ("H and W")."""

    topic: Topic
    quantity: str
    term: Term | None = None
    given: object = None
    note: str = ""
    axes: str = ""
    tex: str = ""  # the quantity in LaTeX, where it differs from \text{quantity}
    symbolic: bool = True  # print the formula with symbols before the numbers
    dims: tuple[int, ...] = ()  # which axes of the output (SHAPE: 0 is C) or field (RF) it gives
    rule: str = ""  # the general rule in words, printed once per handout ("Rules used"); `note` is this layer's

    @property
    def result(self):
        if self.term is None:
            return self.given
        value = self.term.value()
        return integer(value) if value.denominator == 1 else value

    def whole(self) -> int | None:
        r = self.result
        if isinstance(r, Fraction):
            return r.numerator if r.denominator == 1 else None
        return r if isinstance(r, int) else None


@dataclass(slots=True)
class Derivation:
    """The worked figures of one layer: its statement as written, the shapes
    it reads and writes, and the steps in the order the notes take them."""

    name: str
    keyword: str
    statement: str
    in_shapes: list
    out_shape: tuple | None
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what holds for the whole layer

    def step(self, topic: Topic, quantity: str | None = None) -> Step | None:
        """The last step of a topic (and quantity): the one whose result is the figure."""
        found = [s for s in self.steps if s.topic == topic and (quantity is None or s.quantity == quantity)]
        return found[-1] if found else None
