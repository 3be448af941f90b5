"""archdsl lsp, driven by pygls's client over a real stdio connection to
`python -m archdsl lsp`: open, edit, diagnostics, inlay hints, hover,
completion, definition, symbols, formatting and quick fixes."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
from lsprotocol import types as lsp  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

from tests.conftest import ROOT, SPECS  # noqa: E402

TIMEOUT = 30


class Session:
    """One server process and a client, on an event loop the tests drive."""

    def __init__(self, tmp: Path):
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("archdsl-tests", "1")
        self.diagnostics: dict[str, list[asyncio.Future]] = {}
        self.published: dict[str, list[lsp.PublishDiagnosticsParams]] = {}
        self.tmp = tmp
        self.versions: dict[str, int] = {}

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: lsp.PublishDiagnosticsParams):
            self.published.setdefault(params.uri, []).append(params)

        @self.client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
        def _refresh(params):
            return None

        self.run(self._start())

    async def _start(self):
        await self.client.start_io(sys.executable, "-m", "archdsl", "lsp", cwd=str(ROOT))
        caps = lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(
            inlay_hint=lsp.InlayHintWorkspaceClientCapabilities(refresh_support=True)))
        self.init = await self.client.initialize_async(lsp.InitializeParams(
            capabilities=caps, root_uri=from_fs_path(str(self.tmp)), initialization_options={"debounce": 0.05}))
        self.client.initialized(lsp.InitializedParams())

    def run(self, coro):
        return self.loop.run_until_complete(asyncio.wait_for(coro, TIMEOUT))

    def open(self, path: Path, text: str | None = None) -> str:
        uri = from_fs_path(str(path))
        self.versions[uri] = 1
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
            uri=uri, language_id="arch", version=1, text=path.read_text() if text is None else text)))
        return uri

    def change(self, uri: str, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        self.versions[uri] += 1
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            [lsp.TextDocumentContentChangePartial(range=lsp.Range(lsp.Position(*start), lsp.Position(*end)),
                                                  text=text)]))

    def diagnostics_for(self, uri: str, version: int | None = None) -> list[lsp.Diagnostic]:
        """Wait for the diagnostics of a version (the latest by default)."""
        version = self.versions[uri] if version is None else version

        async def wait():
            while True:
                for p in self.published.get(uri, []):
                    if p.version == version:
                        return list(p.diagnostics)
                await asyncio.sleep(0.01)
        return self.run(wait())

    def hints(self, uri: str, lines: int = 10_000) -> list[lsp.InlayHint]:
        return self.run(self.client.text_document_inlay_hint_async(lsp.InlayHintParams(
            lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(0, 0), lsp.Position(lines, 0)))))

    def hover(self, uri: str, line: int, character: int):
        return self.run(self.client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(line, character))))

    def complete(self, uri: str, line: int, character: int) -> list[lsp.CompletionItem]:
        result = self.run(self.client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(line, character))))
        return result.items if isinstance(result, lsp.CompletionList) else result

    def definition(self, uri: str, line: int, character: int):
        return self.run(self.client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(line, character))))

    def close(self):
        self.run(self.client.shutdown_async(None))
        self.client.exit(None)
        self.run(self.client.stop())
        self.loop.close()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("lsp"))
    yield s
    s.close()


def _by_line(hints) -> dict[int, str]:
    return {h.position.line: h.label for h in hints}


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def test_the_server_says_what_it_can_do(session):
    caps = session.init.capabilities
    assert caps.inlay_hint_provider and caps.hover_provider and caps.completion_provider
    assert caps.definition_provider and caps.document_symbol_provider and caps.document_formatting_provider
    assert session.init.server_info.name == "archdsl"


def test_inlay_hints_show_each_statements_shape_and_block_subtotals(session):
    path = SPECS / "resnet50.arch"
    text = path.read_text()
    uri = session.open(path)
    assert session.diagnostics_for(uri, 1) == []
    hints = _by_line(session.hints(uri))
    assert hints[_line_of(text, "conv1: conv 64 k=7")] == "\u2192 64x112x112"
    assert hints[_line_of(text, "maxpool k=3 s=2 p=1")] == "\u2192 64x56x56"
    assert hints[_line_of(text, "Bottleneck(256)  ")] == "\u2192 256x56x56 \u00b7 75,008 params"
    assert hints[_line_of(text, "Bottleneck(2048, s=2)")].startswith("\u2192 2048x7x7 \u00b7 ")
    assert hints[_line_of(text, "  fc 1000")] == "\u2192 1000"
    # Inside the block: one shape per use, in order.
    assert hints[_line_of(text, "conv c/4 k=1 bias=false; bn; relu")].startswith("\u2192 64x56x56 | 128x56x56")


def test_hints_sit_at_the_end_of_the_line_after_the_comment(session):
    path = SPECS / "alexnet.arch"
    text = path.read_text()
    uri = session.open(path)
    session.diagnostics_for(uri, 1)
    line = _line_of(text, "conv1: conv 96 k=11 s=4")
    (hint,) = [h for h in session.hints(uri) if h.position.line == line]
    assert hint.position.character == len(text.split("\n")[line].rstrip())
    assert hint.label == "\u2192 96x55x55"


def test_an_edit_updates_diagnostics_and_hints_and_the_last_good_ones_stay(session, tmp_path):
    spec = tmp_path / "net.arch"
    spec.write_text("network N {\n  input 3x32x32\n  conv 16 k=3 p=1\n  relu\n  maxpool k=2 s=2\n  flatten\n"
                    "  fc 10\n}\n")
    uri = session.open(spec)
    assert session.diagnostics_for(uri, 1) == []
    assert _by_line(session.hints(uri))[4] == "\u2192 16x16x16"
    # conv 16 -> conv 32: every shape after it follows.
    session.change(uri, (2, 7), (2, 9), "32")
    assert session.diagnostics_for(uri) == []
    hints = _by_line(session.hints(uri))
    assert hints[2] == "\u2192 32x32x32" and hints[5] == "\u2192 8192"
    # A syntax error on line 4: the message as the CLI words it, and the shapes above it stay.
    session.change(uri, (4, 2), (4, 17), "maxpool k=")
    (d,) = session.diagnostics_for(uri)
    assert d.severity == lsp.DiagnosticSeverity.Error and d.range.start.line == 4
    assert "expected" in d.message
    kept = {h.position.line: h for h in session.hints(uri)}
    assert kept[2].label == "\u2192 32x32x32" and 4 not in kept and 5 not in kept
    assert "last analysis without errors" in kept[2].tooltip
    # A shape error: positioned, with its arithmetic notes and hint.
    session.change(uri, (4, 2), (4, 12), "conv 8 k=40")
    (d,) = session.diagnostics_for(uri)
    assert "collapse below 1" in d.message and "\n= input is 32x32x32" in d.message and "\nhint:" in d.message
    assert (d.range.start.line, d.range.start.character) == (4, 2)
    session.change(uri, (4, 2), (4, 13), "maxpool k=2 s=2")
    assert session.diagnostics_for(uri) == []
    assert _by_line(session.hints(uri))[4] == "\u2192 32x16x16"


def test_a_warning_is_a_warning(session):
    path = SPECS / "alexnet.arch"
    text = path.read_text().replace("input 3x227x227", "input 3x224x224")
    uri = session.open(SPECS / "alexnet_224.arch", text)
    diagnostics = session.diagnostics_for(uri, 1)
    assert diagnostics and all(d.severity == lsp.DiagnosticSeverity.Warning for d in diagnostics)
    assert "not whole" in diagnostics[0].message and "= height and width: (224 - 11 + 0)/4 + 1 = 54.25" \
        in diagnostics[0].message


def test_hover_shows_shapes_params_macs_rf_and_the_window_arithmetic(session):
    path = SPECS / "alexnet.arch"
    text = path.read_text()
    uri = session.open(path)
    session.diagnostics_for(uri, 1)
    line = _line_of(text, "conv1: conv 96 k=11 s=4")
    result = session.hover(uri, line, 12)
    md = result.contents.value
    assert "**conv1**" in md and "3x227x227 \u2192 96x55x55" in md
    assert "34,944" in md and "105,415,200" in md and "receptive field | 11" in md
    assert "height and width: (227 - 11 + 0)/4 + 1 = 55" in md


def test_hover_on_a_block_call_shows_its_signature_and_doc_comment(session):
    path = SPECS / "resnet50.arch"
    text = path.read_text()
    uri = session.open(path)
    session.diagnostics_for(uri, 1)
    line = _line_of(text, "Bottleneck(512, s=2)")
    md = session.hover(uri, line, 4).contents.value
    assert "block Bottleneck(c, s=1)" in md
    assert "out = relu(body(x) + shortcut(x))" in md  # the comment above the definition
    assert "Bottleneck(512, s=2)" in md and "256x56x56 \u2192 512x28x28" in md and "379,392 params" in md


def test_completion_of_kinds_attributes_blocks_and_use_paths(session, tmp_path):
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "mine.arch").write_text("block Mine(c, s=2) { conv c k=3 s=s }\n")
    spec = tmp_path / "c.arch"
    text = ('use "std/resnet.arch"\nuse "blocks/mine.arch"\nnetwork N {\n  input 3x32x32\n  \n'
            '  conv 16 \n  maxpool k=3 p=\n  use\n}\n')
    spec.write_text(text)
    uri = session.open(spec)
    session.diagnostics_for(uri, 1)
    starts = {i.label: i for i in session.complete(uri, 4, 2)}
    assert {"conv", "maxpool", "relu", "concat", "repeat", "residual"} <= set(starts)
    assert starts["Bottleneck"].insert_text == "Bottleneck(${1:c})" and "block Bottleneck(c, s=1)" in \
        starts["Bottleneck"].detail
    assert starts["Mine"].insert_text == "Mine(${1:c})"
    attrs = {i.label: i for i in session.complete(uri, 5, 10)}
    assert attrs["k="].detail == "required" and attrs["s="].detail == "default 1" and "p=" in attrs
    assert {i.label for i in session.complete(uri, 6, 17)} >= {"same", "valid", "half"}
    uses = session.complete(uri, 0, 9)
    assert "std/resnet.arch" in {i.label for i in uses}
    local = {i.label for i in session.complete(uri, 1, 5)}
    assert "blocks/" in local and "c.arch" in local
    assert "blocks/mine.arch" in {i.label for i in session.complete(uri, 1, 12)}


def test_go_to_definition_of_a_block_call_and_a_use_path(session):
    path = SPECS / "unet.arch"
    text = path.read_text()
    uri = session.open(path)
    session.diagnostics_for(uri, 1)
    line = _line_of(text, "e1: DoubleConv(64)")
    where = session.definition(uri, line, 8)
    assert where.uri.endswith("archdsl/stdlib/unet.arch")
    std = (ROOT / "archdsl" / "stdlib" / "unet.arch").read_text()
    assert where.range.start.line == _line_of(std, "block DoubleConv")
    use_line = _line_of(text, 'use "std/unet.arch"')
    assert session.definition(uri, use_line, 8).uri.endswith("archdsl/stdlib/unet.arch")
    local = SPECS / "resnet50.arch"
    luri = session.open(local)
    session.diagnostics_for(luri, 1)
    ltext = local.read_text()
    at = session.definition(luri, _line_of(ltext, "Bottleneck(512, s=2)"), 4)
    assert at.uri == luri and at.range.start.line == _line_of(ltext, "block Bottleneck")


def test_document_symbols_list_networks_blocks_and_labels(session):
    path = SPECS / "resnet50.arch"
    uri = session.open(path)
    session.diagnostics_for(uri, 1)
    result = session.run(session.client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri))))
    names = {s.name: s for s in result}
    assert names["ResNet50"].kind == lsp.SymbolKind.Class and names["Bottleneck"].kind == lsp.SymbolKind.Function
    assert names["Bottleneck"].detail == "Bottleneck(c, s=1)"
    assert "conv1" in {c.name for c in names["ResNet50"].children}


def test_formatting_goes_through_fmt(session, tmp_path):
    spec = tmp_path / "f.arch"
    uri = session.open(spec, "network N{input 3x8x8\nconv 8 k = 3;relu}\n")
    session.diagnostics_for(uri, 1)
    edits = session.run(session.client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(tab_size=2, insert_spaces=True))))
    assert edits[0].new_text == "network N {\n  input 3x8x8\n  conv 8 k=3; relu\n}\n"


def test_a_typo_comes_with_a_quick_fix(session, tmp_path):
    spec = tmp_path / "q.arch"
    uri = session.open(spec, "network N {\n  input 3x8x8\n  relux\n}\n")
    (d,) = session.diagnostics_for(uri, 1)
    assert "did you mean 'relu'" in d.message
    actions = session.run(session.client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d]))))
    (edit,) = actions[0].edit.changes[uri]
    assert edit.new_text == "relu"
