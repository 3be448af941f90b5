"""`archdsl lsp`: the language server over stdio, for editors (see docs/editor.md)."""
from __future__ import annotations

from archdsl.errors import UsageError

NAME = "lsp"
HELP = "run the language server on stdin/stdout (for editors)"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ": diagnostics, shapes as inlay hints, hover, "
                                                          "completion, definitions, symbols and formatting.")
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default and only transport)")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ModuleNotFoundError as exc:
        raise UsageError(f"the language server needs {exc.name}: pip install 'archdsl[editor]'") from None
    from archdsl.lsp import serve_stdio
    serve_stdio()
    return 0
