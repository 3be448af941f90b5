"""Arithmetic that shows its work: a small term tree that evaluates exactly
(fractions) and prints itself as the lecture notes write it, either with its
symbols (`(W − F + 2·P)/S + 1`) or with the numbers filled in
(`(227 − 11 + 2·0)/4 + 1`), in plain text (Unicode) or LaTeX.

A derivation computes its result *from* its term, so the arithmetic on the
page is the arithmetic that produced the figure; tests/test_explain.py checks
every such result against the analysis.
"""
from __future__ import annotations

import math
from fractions import Fraction

from archdsl.records import dataclass

MINUS, DOT = "\u2212", "\u00b7"  # − and ·, as printed notes set them
ATOM, PRODUCT, SUM = 3, 2, 1  # precedence: what needs parentheses inside what


class Term:
    """A node of the arithmetic. `value()` is exact; `show(numbers, latex)`
    prints it with numbers (or symbols) as plain text (or LaTeX)."""

    __slots__ = ()
    level = ATOM

    def value(self) -> Fraction:  # pragma: no cover - abstract
        raise NotImplementedError

    def show(self, numbers: bool = True, latex: bool = False) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def text(self, numbers: bool = True) -> str:
        return self.show(numbers, False)

    def latex(self, numbers: bool = True) -> str:
        return self.show(numbers, True)

    # Building terms reads like the formula: V("F", 11) - 1, 2 * V("P", 0).
    def __add__(self, other):
        return Sum(((1, self), (1, lift(other))))

    def __radd__(self, other):
        return Sum(((1, lift(other)), (1, self)))

    def __sub__(self, other):
        return Sum(((1, self), (-1, lift(other))))

    def __rsub__(self, other):
        return Sum(((1, lift(other)), (-1, self)))

    def __mul__(self, other):
        return Product((self, lift(other)))

    def __rmul__(self, other):
        return Product((lift(other), self))

    def __truediv__(self, other):
        return Ratio(self, lift(other))


def lift(x) -> Term:
    return x if isinstance(x, Term) else Num(x)


def integer(value: Fraction) -> int:
    """A whole result as int; derivations of sizes and counts end in one."""
    if value.denominator != 1:
        raise ValueError(f"{value} is not whole")
    return value.numerator


def number_text(value, latex: bool = False, group: bool = False) -> str:
    """A number as printed: `55`, `53.25`, `34,944` (grouped, for results)."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            value = value.numerator
        else:
            text = f"{float(value):.4f}".rstrip("0").rstrip(".")
            return text.replace("-", MINUS) if not latex else text
    if isinstance(value, float):
        if value.is_integer():
            value = int(value)
        else:
            return f"{value:g}"
    text = f"{value:,}" if group and abs(value) >= 10_000 else str(value)
    if latex:
        return text.replace(",", "{,}")
    return text.replace("-", MINUS)


@dataclass(frozen=True, slots=True)
class Num(Term):
    """A bare number."""

    v: int | Fraction

    def value(self):
        return Fraction(self.v)

    def show(self, numbers=True, latex=False):
        return number_text(self.v, latex)


@dataclass(frozen=True, slots=True)
class V(Term):
    """A named quantity with its value: `V("W", 227)` prints W or 227.
    `tex` is its LaTeX spelling where that differs (`F'` -> `F'`, `j_in` -> `j_{\\text{in}}`)."""

    name: str
    v: int | Fraction
    tex: str = ""

    def value(self):
        return Fraction(self.v)

    def show(self, numbers=True, latex=False):
        if numbers:
            return number_text(self.v, latex)
        return (self.tex or self.name) if latex else self.name


@dataclass(frozen=True, slots=True)
class Sum(Term):
    """Terms added or subtracted: ((+1, a), (-1, b)) is a − b."""

    parts: tuple[tuple[int, Term], ...]
    level = SUM

    def value(self):
        return sum((sign * t.value() for sign, t in self.parts), Fraction(0))

    def show(self, numbers=True, latex=False):
        out = []
        for i, (sign, t) in enumerate(self.parts):
            # a − (b + c) needs its parentheses; a + (b + c) does not.
            inner = wrap(t, SUM + (1 if sign < 0 else 0), numbers, latex)
            if i == 0:
                out.append(("-" if latex else MINUS) + inner if sign < 0 else inner)
            else:
                out.append((" - " if latex else f" {MINUS} ") if sign < 0 else " + ")
                out.append(inner)
        return "".join(out)

    def __add__(self, other):
        return Sum(self.parts + ((1, lift(other)),))

    def __sub__(self, other):
        return Sum(self.parts + ((-1, lift(other)),))


@dataclass(frozen=True, slots=True)
class Product(Term):
    """Factors multiplied: `2·P` inside a sum (tight), `96 · 55 · 55` for a count (spaced)."""

    factors: tuple[Term, ...]
    spaced: bool = False
    level = PRODUCT

    def value(self):
        out = Fraction(1)
        for f in self.factors:
            out *= f.value()
        return out

    def show(self, numbers=True, latex=False):
        sep = r" \cdot " if latex else (f" {DOT} " if self.spaced else DOT)
        return sep.join(wrap(f, PRODUCT, numbers, latex) for f in self.factors)

    def __mul__(self, other):
        return Product(self.factors + (lift(other),), self.spaced)


@dataclass(frozen=True, slots=True)
class Paren(Term):
    """A term in parentheses the way notes group it: `96 · (3 · 11 · 11) + 96`."""

    inner: Term

    def value(self):
        return self.inner.value()

    def show(self, numbers=True, latex=False):
        return f"({self.inner.show(numbers, latex)})"


@dataclass(frozen=True, slots=True)
class Ratio(Term):
    """a/b: `(227 − 11 + 2·0)/4` in text, `\\frac{...}{4}` in LaTeX."""

    num: Term
    den: Term
    level = PRODUCT

    def value(self):
        return self.num.value() / self.den.value()

    def show(self, numbers=True, latex=False):
        if latex:
            return rf"\frac{{{self.num.show(numbers, True)}}}{{{self.den.show(numbers, True)}}}"
        return f"{wrap(self.num, PRODUCT, numbers, False)}/{wrap(self.den, ATOM, numbers, False)}"


@dataclass(frozen=True, slots=True)
class Round(Term):
    """⌊x⌋ or ⌈x⌉."""

    inner: Term
    up: bool = False

    def value(self):
        v = self.inner.value()
        return Fraction(math.ceil(v) if self.up else math.floor(v))

    def show(self, numbers=True, latex=False):
        body = self.inner.show(numbers, latex)
        if latex:
            left, right = (r"\lceil", r"\rceil") if self.up else (r"\lfloor", r"\rfloor")
            return rf"\left{left} {body} \right{right}"
        return f"\u2308{body}\u2309" if self.up else f"\u230a{body}\u230b"


@dataclass(frozen=True, slots=True)
class Call(Term):
    """max(a, b), min(a, b): a function of terms."""

    name: str
    args: tuple[Term, ...]

    def value(self):
        values = [a.value() for a in self.args]
        return {"max": max, "min": min}[self.name](values)

    def show(self, numbers=True, latex=False):
        inner = ", ".join(a.show(numbers, latex) for a in self.args)
        return rf"\{self.name}({inner})" if latex else f"{self.name}({inner})"


def wrap(t: Term, level: int, numbers: bool, latex: bool) -> str:
    """`t` printed, in parentheses when it binds looser than `level`."""
    text = t.show(numbers, latex)
    if t.level < level:
        return rf"\left({text}\right)" if latex and isinstance(t, Sum) and _tall(t) else f"({text})"
    return text


def _tall(t: Term) -> bool:
    return any(isinstance(p, Ratio) for _, p in getattr(t, "parts", ()))


def product(*factors, spaced: bool = True) -> Term:
    """The product of several factors (spaced, as counts are written); one factor is itself."""
    terms = tuple(lift(f) for f in factors)
    return terms[0] if len(terms) == 1 else Product(terms, spaced)


def total(*terms) -> Term:
    """The sum of several terms; one term is itself."""
    parts = tuple((1, lift(t)) for t in terms)
    return parts[0][1] if len(parts) == 1 else Sum(parts)
