"""The language server (`archdsl lsp`): diagnostics, inlay hints with every
statement's output shape, hover, completion, go-to-definition, symbols and
formatting, for any editor that speaks LSP. Needs `pip install archdsl[editor]`
(pygls, lsprotocol); the analysis itself is archdsl.editor's."""
from __future__ import annotations


def serve_stdio() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    from archdsl.lsp import features  # noqa: F401  (registers the request handlers on `server`)
    from archdsl.lsp.server import server
    server.start_io()
