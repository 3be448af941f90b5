"""Layer kinds: one class each, registered by keyword in `REGISTRY`."""
from . import activation, conv, dense, norm, pool, structure  # noqa: F401  (fill the registry)
from .base import REGISTRY, REQUIRED, Attr, Lint, Op, ShapeError, ValueProblem, Word
from .structure import Add, Concat, Input

__all__ = ["REGISTRY", "REQUIRED", "Attr", "Lint", "Op", "ShapeError", "ValueProblem", "Word",
           "Add", "Concat", "Input"]
