"""The Pygments lexer: registered through the `pygments.lexers` entry point,
it tells the parts of every gallery spec apart, and every ```arch block of
the docs highlights with it."""
from __future__ import annotations

import re
from importlib.metadata import entry_points

import pytest

pygments = pytest.importorskip("pygments")
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename  # noqa: E402
from pygments.token import Comment, Error, Keyword, Name, Number, Operator  # noqa: E402

from archdsl.pygments_lexer import ArchLexer  # noqa: E402
from tests.conftest import GALLERY, ROOT  # noqa: E402


def test_the_lexer_is_an_entry_point_found_by_name_and_filename():
    (ep,) = [e for e in entry_points(group="pygments.lexers") if e.name == "arch"]
    assert ep.load() is ArchLexer
    assert isinstance(get_lexer_by_name("arch"), ArchLexer)
    assert isinstance(get_lexer_by_name("archdsl"), ArchLexer)
    assert isinstance(get_lexer_for_filename("resnet50.arch"), ArchLexer)


def _tokens(text: str) -> list[tuple[object, str]]:
    return [(t, v) for t, v in ArchLexer().get_tokens(text) if v.strip()]


def test_the_parts_of_a_spec():
    tokens = dict((v, t) for t, v in _tokens(
        'use "std/resnet.arch"\nblock B(c, s=1) {\n  conv c/4 k=3 s=s p=half  # x\n}\nnetwork N {\n'
        "  input 3x224x224\n  stem: B(64)\n  a, b: split 2\n  concat @a @\n  if in.c >= 8 { relu }\n"
        "  dropout 1e-4 # archdsl: allow not-whole\n}\n"))
    assert tokens["use"] is Keyword.Namespace and tokens['"std/resnet.arch"'] in pygments.token.String
    assert tokens["block"] is Keyword.Declaration and tokens["B"] is Name.Function
    assert tokens["N"] is Name.Class and tokens["conv"] is Name.Builtin and tokens["split"] is Name.Builtin
    assert tokens["k"] is Name.Attribute and tokens["half"] is Keyword.Constant
    assert tokens["3x224x224"] is Number and tokens["1e-4"] is Number.Float
    assert tokens["stem"] is Name.Label and tokens["a, b"] is Name.Label
    assert tokens["@a"] is Name.Variable and tokens["@"] is Name.Variable.Magic
    assert tokens["if"] is Keyword and tokens[">="] is Operator and tokens["in"] is Name.Builtin.Pseudo
    assert tokens["# x"] is Comment.Single and tokens["not-whole"] is Comment.Preproc


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.name)
def test_gallery_specs_lex_without_errors_and_find_their_layers(path):
    tokens = _tokens(path.read_text(encoding="utf-8"))
    assert not [v for t, v in tokens if t in Error]
    assert any(t is Name.Builtin for t, _ in tokens) and any(t in Comment for t, _ in tokens)
    assert "".join(v for _, v in ArchLexer().get_tokens(path.read_text())) == path.read_text()


def test_the_docs_highlight_their_arch_blocks():
    blocks = []
    for doc in [ROOT / "docs" / "editor.md", ROOT / "README.md"]:
        blocks += re.findall(r"```arch\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    for block in blocks:
        out = highlight(block, get_lexer_by_name("arch"), HtmlFormatter())
        assert 'class="err"' not in out and 'class="nb"' in out
