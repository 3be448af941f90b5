"""The generated LALR tables (archdsl/frontend/lalr_tables.py) against Lark.

They must be exactly what Lark builds from grammars/archdsl.lark today, and
the Lark-free parser over them must build the same syntax tree as Lark, or
refuse the same inputs (which parse.py then hands to Lark for the message)."""
from __future__ import annotations

import random

import pytest

from archdsl.frontend import lalr, lalr_build
from archdsl.frontend import parse as frontend
from archdsl.frontend.grammar import grammar_text, keywords
from archdsl.lowering.stdlib import STDLIB
from archdsl.source import SourceFile

from .conftest import GALLERY, ROOT
from .fuzzing import generated_spec, mutate_bytes, mutate_tokens

STALE = "the grammar changed: run `python -m archdsl.frontend.lalr_build` and commit lalr_tables.py"


def test_the_tables_are_what_lark_builds_from_the_grammar():
    assert lalr_build.TABLES_FILE.read_text(encoding="utf-8") == lalr_build.tables_source(grammar_text()), STALE


def test_the_keywords_read_from_the_grammar_are_larks_literal_words():
    words = {t.pattern.value for t in frontend.parser().terminals
             if t.pattern.type == "str" and t.pattern.value.isidentifier()}
    assert set(keywords()) == words and "repeat" in words


def test_the_lark_free_parser_is_used():
    assert lalr.GRAMMAR == grammar_text(), STALE
    assert frontend.fast_parser() is not None


def _texts():
    def read(paths):
        return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(paths)]
    specs = read(GALLERY)
    texts = specs + read(STDLIB.glob("*.arch")) + read((ROOT / "tests" / "errors").glob("*.arch"))
    rng = random.Random(9)
    texts += [generated_spec(rng) for _ in range(600)]
    texts += [mutate_tokens(rng.choice(specs), rng) for _ in range(600)]
    texts += [mutate_bytes(rng.choice(specs).encode(), rng).decode("utf-8", "replace") for _ in range(300)]
    return texts


def _parse(parse, source):
    """repr of the tree (spans included), or None when the parser refused the text."""
    frontend._transformer.source = source
    try:
        return repr(parse(source.text))
    except Exception as exc:  # Lark's syntax errors; Fallback; an ArchError from a callback
        if isinstance(exc, (AssertionError, TypeError, AttributeError, KeyError, IndexError)):
            raise
        return None


def test_the_same_trees_as_lark_and_the_same_refusals():
    fast, lark = frontend.fast_parser(), frontend.parser()
    texts = _texts()
    parsed = 0
    with frontend._lock:
        for text in texts:
            source = SourceFile("t.arch", frontend.normalise(text))
            ours, theirs = _parse(fast.parse, source), _parse(lark.parse, source)
            assert ours == theirs, text
            parsed += ours is not None
    assert parsed > len(texts) // 4  # the corpus exercises both outcomes


@pytest.mark.parametrize("text", ["network N {\n  input 3x8x8\n  conv 4 k=3 s=\n}\n",
                                  "network N {\n  conv 4 (k=3\n  relu\n  bn 1 2 ,\n}\n"])
def test_a_syntax_error_gets_lark_s_message(text):
    """parse() falls back to Lark: the diagnostic is the one Lark's exception gives."""
    with pytest.raises(frontend.ArchError) as fast:
        frontend.parse(text, "t.arch")
    with frontend._lock:
        frontend._transformer.source = SourceFile("t.arch", text)
        with pytest.raises(frontend.ArchError) as slow:
            frontend._parse_with_lark(SourceFile("t.arch", text))
    assert [d.format() for d in fast.value.diagnostics] == [d.format() for d in slow.value.diagnostics]
