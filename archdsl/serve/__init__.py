"""The live page (`archdsl serve SPEC`): an editor pane with the spec, its
shapes at the end of each line and its errors under their line, beside the
check table and both diagrams, updated as the user types. It listens on
127.0.0.1 only and reads nothing outside the spec's folder and std/
(archdsl.serve.guard). The editor is CodeMirror 6, bundled into
static/editor.js from grammars/editors/web/ (npm ci && npm run build there)
and committed, so the page needs no network."""
from __future__ import annotations

from archdsl.serve.app import make_server

__all__ = ["make_server"]
