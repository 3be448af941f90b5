"""The one place archdsl.train imports the rest of archdsl from.

The compiler's modules are being reorganised; keeping every import of them
here means a move is one line to follow. Only light modules are imported
(no torch, no lark beyond what `archdsl` itself loads), so section.py stays
usable from `archdsl check`."""
from __future__ import annotations

from archdsl.atomic import atomic_path, check_writable, write_atomic
from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.frontend import syntax
from archdsl.lowering.expressions import Context, EvalError, evaluate

_NO_NAMES = Context()  # settings are constants: no parameters, tensors or kinds in scope

__all__ = ["ArchError", "Diagnostic", "UsageError", "syntax", "EvalError", "constant", "atomic_path",
           "check_writable", "write_atomic"]


def constant(expr):
    """The value of an expression with no names in scope (`2*64`, `5e-4`); EvalError otherwise."""
    return evaluate(expr, _NO_NAMES)
