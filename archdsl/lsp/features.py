"""The requests `archdsl lsp` answers, each a thin conversion of what
archdsl.editor computes into lsprotocol types."""
from __future__ import annotations

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from archdsl.editor import complete as completion
from archdsl.editor import hover as hovering
from archdsl.editor import lookup
from archdsl.editor.analysis import Range
from archdsl.errors import ArchError
from archdsl.lsp.server import ArchServer, _range, server

ITEM_KINDS = {
    "kind": lsp.CompletionItemKind.Function, "block": lsp.CompletionItemKind.Class,
    "keyword": lsp.CompletionItemKind.Keyword, "attribute": lsp.CompletionItemKind.Property,
    "value": lsp.CompletionItemKind.Value, "tensor": lsp.CompletionItemKind.Variable,
    "file": lsp.CompletionItemKind.File, "folder": lsp.CompletionItemKind.Folder,
}
SYMBOL_KINDS = {"network": lsp.SymbolKind.Class, "block": lsp.SymbolKind.Function,
                "label": lsp.SymbolKind.Variable}


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
def inlay_hints(ls: ArchServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    uri = params.text_document.uri
    snap = ls.current(uri)
    hints = snap.hints
    if not snap.graphs:
        doc = ls.documents[uri]
        hints = doc.carry.hints() if doc.carry is not None else []
    first, last = params.range.start.line, params.range.end.line
    return [lsp.InlayHint(position=lsp.Position(h.line, h.character), label=h.label, kind=lsp.InlayHintKind.Type,
                          tooltip=h.tooltip, padding_left=True)
            for h in hints if first <= h.line <= last]


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: ArchServer, params: lsp.HoverParams) -> lsp.Hover | None:
    pos = params.position
    view = ls.view(params.text_document.uri, pos.line)
    if view is None:
        return None
    snap, line = view
    found = hovering.hover(snap, line, pos.character)
    if found is None:
        return None
    r = found.range
    shift = pos.line - line  # the last good snapshot's lines, moved to today's
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=found.markdown),
                     range=_range(Range(r.line + shift, r.character, r.end_line + shift, r.end_character)))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["@", '"', "/", "=", " "]))
def complete(ls: ArchServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    snap = ls.current(params.text_document.uri)
    items = completion.complete(snap, params.position.line, params.position.character)
    return lsp.CompletionList(is_incomplete=False, items=[
        lsp.CompletionItem(label=i.label, kind=ITEM_KINDS.get(i.kind), detail=i.detail or None,
                           documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, i.doc) if i.doc else None,
                           insert_text=i.insert, sort_text=i.sort or None,
                           insert_text_format=lsp.InsertTextFormat.Snippet if i.snippet else None)
        for i in items])


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: ArchServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    snap = ls.current(params.text_document.uri)
    found = lookup.definition(snap, params.position.line, params.position.character)
    if found is None:
        return None
    uri = params.text_document.uri if found.path == snap.path else from_fs_path(found.path)
    return lsp.Location(uri=uri, range=_range(found.range))


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def symbols(ls: ArchServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    snap = ls.current(params.text_document.uri)
    doc = ls.documents[params.text_document.uri]
    if snap.program is None and doc.good is not None:
        snap = doc.good  # the outline of the last text that parsed, while this one does not

    def convert(s: lookup.Symbol) -> lsp.DocumentSymbol:
        return lsp.DocumentSymbol(name=s.name, kind=SYMBOL_KINDS[s.kind], range=_range(s.range),
                                  selection_range=_range(s.selection), detail=s.detail,
                                  children=[convert(c) for c in s.children])
    return [convert(s) for s in lookup.symbols(snap)]


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: ArchServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    from archdsl.fmt import format_text
    text = ls.workspace.get_text_document(params.text_document.uri).source
    try:
        out = format_text(text)
    except ArchError:
        return None  # a syntax error: the diagnostics already say where
    if out == text:
        return []
    lines = text.split("\n")
    end = lsp.Position(len(lines) - 1, len(lines[-1]))
    return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=out)]


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def code_actions(ls: ArchServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """The machine-applicable fixes the diagnostics carry (`did you mean 'relu'?`)."""
    actions = []
    for d in params.context.diagnostics:
        fix = (d.data or {}).get("fix") if isinstance(d.data, dict) else None
        if not fix:
            continue
        start, end = fix["range"]["start"], fix["range"]["end"]
        edit = lsp.TextEdit(range=lsp.Range(lsp.Position(start["line"], start["character"]),
                                            lsp.Position(end["line"], end["character"])), new_text=fix["text"])
        actions.append(lsp.CodeAction(title=f"Write {fix['text']!r}", kind=lsp.CodeActionKind.QuickFix,
                                      diagnostics=[d], is_preferred=True,
                                      edit=lsp.WorkspaceEdit(changes={params.text_document.uri: [edit]})))
    return actions
