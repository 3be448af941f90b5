"""archdsl fmt: one canonical layout, idempotent, comments kept, meaning kept.

Properties on the gallery, the standard library and generated specs whose
layout is scrambled: fmt(fmt(x)) == fmt(x); fmt(x) parses to the same
program as x (by the Lark grammar's token stream and by the syntax tree);
and the analysis of fmt(x) equals that of x."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

import archdsl
from archdsl.errors import ArchError
from archdsl.fmt import format_text, syntax_key
from archdsl.frontend.parse import normalise, parse
from tests.conftest import GALLERY, ROOT
from tests.fuzzing import generated_spec

STDLIB = sorted((ROOT / "archdsl" / "stdlib").glob("*.arch"))
SPECS = GALLERY + STDLIB
ERRORS = sorted((ROOT / "tests" / "errors").glob("*.arch"))


def _utf8(path: Path) -> bool:
    try:
        return bool(path.read_bytes().decode("utf-8").strip())
    except UnicodeDecodeError:
        return False


def _tokens(text: str) -> list[tuple[str, str]]:
    """The Lark grammar's tokens without separators and trailing commas."""
    from lark import Lark

    from archdsl.frontend.grammar import grammar_text
    lexer = _tokens.parser if hasattr(_tokens, "parser") else Lark(grammar_text(), parser="lalr",
                                                                    keep_all_tokens=True)
    _tokens.parser = lexer
    toks = [(t.type, str(t)) for t in lexer.lex(text) if t.type != "_SEP"]
    return [t for i, t in enumerate(toks) if not (t[1] == "," and i + 1 < len(toks) and toks[i + 1][1] == ")")]


_POSITION = re.compile(r":\d+:\d+|\bline \d+|\b\d+:\d+\b")


def _unplaced(*texts) -> tuple:
    """Positions and spaces out: a message that quotes the source (`'1X7' is
    not a size`) quotes it as it is laid out."""
    return tuple(re.sub(r"\s+", "", _POSITION.sub(":L:C", t)) if isinstance(t, str) else t for t in texts)


def _figures(text: str, base: Path | None = None):
    """What an analysis says, without positions (they move when lines are re-spaced)."""
    try:
        nets = archdsl.loads_all(text, "spec.arch", base=base)
    except ArchError as exc:
        return ("error", [_unplaced(d.severity, d.message, *d.notes, d.hint) for d in exc.diagnostics])
    out = []
    for net in nets:
        doc = net.to_dict()
        for key in ("warnings", "allowed_warnings"):
            doc[key] = [_unplaced(w["message"], w["code"], *w["notes"], w["hint"]) for w in doc[key]]
        out.append(doc)
    return out


def _same_meaning(before: str, after: str, base: Path | None = None) -> None:
    before = normalise(before)
    assert syntax_key(parse(after)) == syntax_key(parse(before))
    tokens_before = [t for t in _tokens(before) if t[1] != ","]
    tokens_after = [t for t in _tokens(after) if t[1] != ","]
    assert tokens_after == tokens_before
    assert _figures(after, base) == _figures(before, base)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_gallery_and_stdlib_format_to_a_fixed_point_with_the_same_analysis(path):
    text = path.read_text(encoding="utf-8")
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    _same_meaning(text, once, path.parent)
    comments = [line.split("#", 1)[1].rstrip() for line in text.splitlines() if "#" in line]
    assert [line.split("#", 1)[1].rstrip() for line in once.splitlines() if "#" in line] == comments


_WORDS = re.compile(r'"[^"\n]*"|#[^\n]*|\\\n|\n|;|[^\s;]+?(?=[\s;]|$)|\S')


def _scramble(text: str, rng: random.Random) -> str:
    """The same tokens with another layout: spaces, indentation, blank lines,
    comments, trailing semicolons, continuations."""
    out = []
    for line in text.split("\n"):
        code, hash_, comment = line.partition("#")
        parts = re.split(r"(\s+)", code.strip())
        words = [p for p in parts if p and not p.isspace()]
        pieces = []
        for i, word in enumerate(words):
            pieces.append(word)
            if i < len(words) - 1:
                roll = rng.random()
                pieces.append(" " * rng.randint(1, 4) if roll < 0.9 else " \\\n" + " " * rng.randint(0, 6))
        new = " " * rng.randint(0, 8) + "".join(pieces)
        if rng.random() < 0.1 and new.strip() and not new.rstrip().endswith(("{", "\\")):
            new += ";"
        if hash_:
            new += " " * rng.randint(0, 5) + "#" + comment
        elif rng.random() < 0.15 and new.strip() and not new.rstrip().endswith("\\"):
            new += "   # note " + str(rng.randint(0, 99))
        out.append(new)
        if rng.random() < 0.1:
            out.append("" if rng.random() < 0.6 else "# a comment line")
    return "\n".join(out)


@pytest.mark.parametrize("seed", range(60))
def test_generated_specs_with_scrambled_layouts(seed):
    rng = random.Random(seed)
    text = _scramble(generated_spec(rng), rng)
    try:
        parse(text)
    except ArchError:
        pytest.skip("the generator made a syntax error")  # fmt refuses those; tested below
    once = format_text(text)
    assert format_text(once) == once, f"not idempotent for seed {seed}"
    _same_meaning(text, once)


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.name)
def test_scrambled_gallery_specs_come_back_to_one_layout(path):
    text = path.read_text(encoding="utf-8")
    canonical = format_text(format_text(text, str(path)), str(path))
    for seed in range(3):
        indent = " " * random.Random(seed).randint(0, 6)  # every line alike: tables keep their columns
        scrambled = re.sub(r"(?m)^[ \t]+", indent, text)
        scrambled = re.sub(r"(?<=\S)[ \t]{2,}(?=#)", "    ", scrambled)  # comments at another column
        assert format_text(scrambled, str(path)) == canonical


CASES = {
    "spacing": ("network N{input 3x8x8\n  conv 8 k = 3 ;relu}\n",
                "network N {\n  input 3x8x8\n  conv 8 k=3; relu\n}\n"),
    "operators tight among layer arguments, spaced in calls": (
        "block B(c, m = c / 4) {\n conv c / 4 k = ( 1 , 3 )\n}\nnetwork N { input 8x8x8\nB( 8 , m=8*2 ) }\n",
        "block B(c, m=c / 4) {\n  conv c/4 k=(1, 3)\n}\nnetwork N {\n  input 8x8x8\n  B(8, m=8 * 2)\n}\n"),
    "one-line bodies stay": ("network N {\n  input 3x8x8\n  repeat 2 {conv 8 k=3;relu}\n}\n",
                             "network N {\n  input 3x8x8\n  repeat 2 { conv 8 k=3; relu }\n}\n"),
    "comments kept and aligned, blank lines collapsed": (
        "# header\n\n\n\nnetwork N {   # the net\n\n  input 3x8x8 # in\n      # a note\n  conv 16 k=3 p=1   # c\n\n}\n",
        "# header\n\nnetwork N {         # the net\n  input 3x8x8       # in\n  # a note\n"
        "  conv 16 k=3 p=1   # c\n}\n"),
    "continuations kept": ("network N {\n input 3x8x8\n conv 8 k=3 \\\n      bias=false\n}\n",
                           "network N {\n  input 3x8x8\n  conv 8 k=3 \\\n      bias=false\n}\n"),
    "residual, shortcut, if, from, labels, refs": (
        "block B(c,s=1){\nresidual{conv c k=3 s=s p=1;bn}shortcut always{conv c k=1 s=s}\n"
        "if s==1 and in.c==c{relu}else if s>1{relu6}else{identity}\n}\n"
        "network N{input 3x8x8\nx:conv 8 k=1\na,b:split 2\nfrom @a{conv 4 k=1}\nconcat @b @\nadd @x;B(8)}\n",
        "block B(c, s=1) {\n  residual { conv c k=3 s=s p=1; bn } shortcut always { conv c k=1 s=s }\n"
        "  if s == 1 and in.c == c { relu } else if s > 1 { relu6 } else { identity }\n}\n"
        "network N {\n  input 3x8x8\n  x: conv 8 k=1\n  a, b: split 2\n  from @a { conv 4 k=1 }\n"
        "  concat @b @\n  add @x; B(8)\n}\n"),
    "trailing commas and negatives": ("network N{ input 3x8x8\nreshape ( - 1 , 64, )\npermute (1,)\n"
                                      "conv make_divisible( 8*0.75 , 8 , ) k=1\n}\n",
                                      "network N {\n  input 3x8x8\n  reshape (-1, 64)\n  permute (1,)\n"
                                      "  conv make_divisible(8*0.75, 8) k=1\n}\n"),
    "merges with branches": ("network N {\n input 3x8x8\n concat {\n branch { conv 4 k=1 }\n"
                             "   branch {\n conv 4 k=3 p=1\n }\n branch { }\n }\n}\n",
                             "network N {\n  input 3x8x8\n  concat {\n    branch { conv 4 k=1 }\n"
                             "    branch {\n      conv 4 k=3 p=1\n    }\n    branch { }\n  }\n}\n"),
    "tables the author aligned stay aligned": (
        "network N {\n  input 3x8x8\n  a:   conv 8 k=1;        relu\n  bbb: conv 16 k=3 p=1;   relu\n}\n",
        "network N {\n  input 3x8x8\n  a:   conv 8 k=1;      relu\n  bbb: conv 16 k=3 p=1; relu\n}\n"),
    "unaligned labels stay unaligned": (
        "network N {\n  input 3x8x8\n  a: conv 8 k=1\n  bbb: conv 16 k=3 p=1\n}\n",
        "network N {\n  input 3x8x8\n  a: conv 8 k=1\n  bbb: conv 16 k=3 p=1\n}\n"),
    "argument tables": (
        "block B(a, b, c) { conv a k=1 }\nnetwork N {\n  input 3x8x8\n"
        "  B(3,  16, relu, 2)\n  B(5, 240, hardswish, 1)\n}\n",
        "block B(a, b, c) { conv a k=1 }\nnetwork N {\n  input 3x8x8\n"
        "  B(3,  16, relu,      2)\n  B(5, 240, hardswish, 1)\n}\n"),
    "a comment at the end without a newline": ("network N { input 3x8x8 } # end",
                                                "network N { input 3x8x8 }   # end\n"),
    "CRLF and BOM": ("\ufeffnetwork N {\r\n  input 3x8x8\r\n}\r\n", "network N {\n  input 3x8x8\n}\n"),
}


@pytest.mark.parametrize("name", CASES)
def test_layout_rules(name):
    text, expected = CASES[name]
    assert format_text(text) == expected
    assert format_text(expected) == expected
    _same_meaning(text, expected)


@pytest.mark.parametrize("path", [p for p in ERRORS if _utf8(p)], ids=lambda p: p.name)
def test_error_corpus_formats_or_refuses_with_the_syntax_error(path):
    text = path.read_text(encoding="utf-8")
    try:
        parse(text, str(path))
    except ArchError as exc:
        with pytest.raises(ArchError) as raised:
            format_text(text, str(path))
        assert raised.value.format() == exc.format()
        return
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    _same_meaning(text, once, path.parent)


def test_cli_check_diff_and_rewrite(cli, tmp_path):
    spec = tmp_path / "n.arch"
    spec.write_text("network N{input 3x8x8\nrelu}\n")
    code, out, err = cli("fmt", "--check", spec)
    assert code == 1 and f"would reformat {spec}" in err
    code, out, err = cli("fmt", "--diff", spec)
    assert code == 0 and "-network N{input 3x8x8" in out and "+network N {" in out
    assert spec.read_text() == "network N{input 3x8x8\nrelu}\n"  # --diff changes nothing
    code, out, err = cli("fmt", spec)
    assert code == 0 and spec.read_text() == "network N {\n  input 3x8x8\n  relu\n}\n"
    assert cli("fmt", "--check", spec)[0] == 0


def test_cli_refuses_a_syntax_error_with_its_position(cli, tmp_path):
    spec = tmp_path / "bad.arch"
    spec.write_text("network N {\n  input 3x8x8\n  conv( 8\n}\n")
    code, out, err = cli("fmt", spec)
    assert code == 1 and f"{spec}:3:" in err and "error:" in err
    assert spec.read_text() == "network N {\n  input 3x8x8\n  conv( 8\n}\n"
    assert cli("fmt", tmp_path / "missing.arch")[0] == 2


def test_the_gallery_is_in_canonical_form(cli):
    code, out, err = cli("fmt", "--check", *GALLERY)
    assert code == 0, err
