"""Layer kinds: one class each, registered by keyword in `REGISTRY`."""
from archdsl.core.ops import activation, conv, dense, norm, pool, structure  # noqa: F401  (fill the registry)
from archdsl.core.ops.base import REGISTRY, REQUIRED, Attr, Lint, Op, ShapeError, ValueProblem, Word
from archdsl.core.ops.structure import Add, Concat, Input

__all__ = ["REGISTRY", "REQUIRED", "Attr", "Lint", "Op", "ShapeError", "ValueProblem", "Word",
           "Add", "Concat", "Input"]
