"""`archdsl lsp`: the Language Server Protocol over stdio (pygls).

Each change schedules an analysis after a short quiet time (`debounce`
seconds, 0.1 unless the client's initializationOptions say otherwise); a
request that needs the analysis of the current text (inlay hints, hover...)
runs it at once instead of waiting. Diagnostics are published per analysed
version; after an analysis the client is asked to refresh its inlay hints.
While the text has an error, the hints and hovers of the last good analysis
stay where they still hold (archdsl.editor.carry)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from archdsl import __version__
from archdsl.editor.analysis import Problem, Range, Snapshot, analyse_text
from archdsl.editor.carry import Carry
from archdsl.records import dataclass, field

DEBOUNCE = 0.1
SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}
log = logging.getLogger(__name__)


@dataclass
class Document:
    """One open buffer: its latest analysis, the last one without errors, and
    the analysis waiting for the typing to pause."""

    uri: str
    snapshot: Snapshot | None = None
    good: Snapshot | None = None
    pending: asyncio.TimerHandle | None = None
    carry: Carry | None = field(default=None, repr=False)
    source: str | None = field(default=None, repr=False)  # the text as the client sent it, last analysed


class ArchServer(LanguageServer):
    def __init__(self):
        super().__init__("archdsl", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.documents: dict[str, Document] = {}
        self.debounce = DEBOUNCE

    # -- analysis -----------------------------------------------------------------------------
    def current(self, uri: str) -> Snapshot:
        """The analysis of the buffer as it is now (run now if the latest is older)."""
        doc = self.documents.setdefault(uri, Document(uri))
        text_doc = self.workspace.get_text_document(uri)
        if doc.snapshot is None or doc.snapshot.version != text_doc.version or doc.source != text_doc.source:
            self.analyse(doc)
        return doc.snapshot

    def analyse(self, doc: Document) -> None:
        if doc.pending is not None:
            doc.pending.cancel()
            doc.pending = None
        text_doc = self.workspace.get_text_document(doc.uri)
        path = to_fs_path(doc.uri) or doc.uri
        try:
            snap = analyse_text(text_doc.source, str(Path(path).absolute()), text_doc.version)
        except Exception:  # a bug in archdsl must not take the editor's server down
            log.exception("analysis failed")
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, "archdsl: analysis failed; "
                                                                                "see the server's log"))
            return
        doc.snapshot, doc.source = snap, text_doc.source
        if snap.ok and snap.graphs:
            doc.good, doc.carry = snap, None
        elif doc.good is not None:
            doc.carry = Carry(doc.good, snap.text)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=doc.uri, version=snap.version, diagnostics=[_diagnostic(p) for p in snap.problems]))

    def schedule(self, uri: str) -> None:
        doc = self.documents.setdefault(uri, Document(uri))
        if doc.pending is not None:
            doc.pending.cancel()
        loop = asyncio.get_running_loop()
        doc.pending = loop.call_later(self.debounce, self._run_pending, uri)

    def _run_pending(self, uri: str) -> None:
        doc = self.documents.get(uri)
        if doc is None:
            return
        doc.pending = None
        self.analyse(doc)
        refresh = self.client_capabilities.workspace
        if refresh and refresh.inlay_hint and refresh.inlay_hint.refresh_support:
            self.workspace_inlay_hint_refresh(None)

    def view(self, uri: str, line: int) -> tuple[Snapshot, int] | None:
        """The snapshot to answer from at a line: the current one, or the last
        good one (and the line there) while the current one has errors."""
        snap = self.current(uri)
        if snap.graphs:
            return snap, line
        doc = self.documents[uri]
        if doc.carry is not None:
            old = doc.carry.old_line(line)
            if old is not None:
                return doc.good, old
        return snap, line


def _diagnostic(p: Problem) -> lsp.Diagnostic:
    return lsp.Diagnostic(range=_range(p.range), message=p.message, severity=SEVERITY.get(p.severity),
                          code=p.code, source="archdsl",
                          data={"fix": {"range": _range_dict(p.fix[0]), "text": p.fix[1]}} if p.fix else None)


def _range(r: Range) -> lsp.Range:
    return lsp.Range(lsp.Position(r.line, r.character), lsp.Position(r.end_line, r.end_character))


def _range_dict(r: Range) -> dict:
    return {"start": {"line": r.line, "character": r.character},
            "end": {"line": r.end_line, "character": r.end_character}}


server = ArchServer()


@server.feature(lsp.INITIALIZE)
def _initialize(ls: ArchServer, params: lsp.InitializeParams) -> None:
    options = params.initialization_options or {}
    if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
        ls.debounce = max(0.0, float(options["debounce"]))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: ArchServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.documents[params.text_document.uri] = Document(params.text_document.uri)
    ls.analyse(ls.documents[params.text_document.uri])


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: ArchServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: ArchServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.current(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: ArchServer, params: lsp.DidCloseTextDocumentParams) -> None:
    doc = ls.documents.pop(params.text_document.uri, None)
    if doc is not None and doc.pending is not None:
        doc.pending.cancel()
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


__all__ = ["ArchServer", "server", "from_fs_path"]
