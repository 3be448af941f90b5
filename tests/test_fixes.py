"""No hint leads into another error: every machine-applicable fix in the
error corpus (a diagnostic's `fix`, the replacement its hint writes out) is
applied to the spec, and the spec is checked again. It must then analyse, or
stop at a different error that is not earlier in the file."""
from __future__ import annotations

from pathlib import Path

import pytest

import archdsl
from archdsl.errors import Fix

from .conftest import ROOT

ERRORS = ROOT / "tests" / "errors"
CASES = sorted(p for p in ERRORS.glob("*.arch") if not p.name.startswith("warn_"))


def diagnostics(text: str, path: Path):
    try:
        archdsl.loads_all(text, str(path.relative_to(ROOT)), base=path.parent)
    except archdsl.ArchError as exc:
        return exc.diagnostics
    return []


def apply(text: str, fixes: list[Fix]) -> str:
    """Replace each fix's span, last first so earlier offsets stay valid."""
    lines = text.split("\n")
    for fix in sorted(fixes, key=lambda f: (f.span.line, f.span.col), reverse=True):
        s = fix.span
        assert s.line == s.end_line, "fixes replace text on one line"
        line = lines[s.line - 1]
        lines[s.line - 1] = line[: s.col - 1] + fix.text + line[s.end_col - 1:]
    return "\n".join(lines)


def _fixable():
    out = []
    for path in CASES:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # the non-UTF-8 case has no fix to apply
        found = [d for d in diagnostics(text, path) if d.fix is not None]
        if found:
            out.append(pytest.param(path, found, id=path.stem))
    return out


FIXABLE = _fixable()


def test_the_corpus_has_mechanical_hints():
    assert len(FIXABLE) >= 8


@pytest.mark.parametrize("path, fixed", FIXABLE)
def test_applying_a_hint_moves_on(path, fixed, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = path.read_text(encoding="utf-8")
    after = diagnostics(apply(text, [d.fix for d in fixed]), path)
    errors = [d for d in after if d.severity == "error"]
    before = {(d.message, d.line, d.col) for d in fixed}
    assert not [d for d in errors if (d.message, d.line, d.col) in before], "the same error again"
    if errors:
        first = min(d.line for d in fixed)
        assert errors[0].line >= first, f"an earlier error appeared: {errors[0].format()}"
