"""Layer kinds: one class each, registered by keyword in `REGISTRY`; the
merge kinds (concat, add) in `MERGES`."""
from archdsl.core.ops import activation, conv, dense, norm, pool, structure  # noqa: F401  (fill the registry)
from archdsl.core.ops.base import (
                                   GLOBAL,
                                   POINTWISE,
                                   REGISTRY,
                                   REQUIRED,
                                   UNKNOWN,
                                   Attr,
                                   Lint,
                                   Op,
                                   ShapeError,
                                   ValueProblem,
                                   Word,
)
from archdsl.core.ops.structure import MERGES, Add, Concat, Input, Merge

__all__ = ["GLOBAL", "MERGES", "POINTWISE", "REGISTRY", "REQUIRED", "UNKNOWN", "Attr", "Lint", "Op",
           "ShapeError", "ValueProblem", "Word", "Add", "Concat", "Input", "Merge"]
