"""The error corpus: every tests/errors/*.arch is run through `archdsl check`
and its whole stderr compared with the .expected file next to it (file:line:col,
the quoted line, the caret, notes and hint). Files named warn_* are specs that
only warn: exit 0, and 1 under --strict. `pytest --update-golden` rewrites the
.expected files; review them like code."""
from __future__ import annotations

from pathlib import Path

import pytest

ERRORS = Path(__file__).resolve().parent / "errors"
CASES = sorted(ERRORS.glob("*.arch"))
# Inputs that are not an .arch file of the corpus: name -> the check argument.
SPECIAL = {"directory_as_spec": "tests/errors/uses", "missing_file": "tests/errors/nowhere.arch"}


@pytest.fixture(autouse=True)
def _plain(plain):
    pass


def run_check(cli, *argv):
    return cli("check", *argv, "-f", "json")


def test_corpus_is_large_enough():
    assert len([c for c in CASES if not c.name.startswith("warn_")]) >= 30


@pytest.mark.parametrize("spec", [c for c in CASES if not c.name.startswith("warn_")], ids=lambda p: p.stem)
def test_error_message(spec, cli, golden):
    code, out, err = run_check(cli, f"tests/errors/{spec.name}")
    assert code == 1
    assert out == ""  # no partial table on error
    assert "Traceback" not in err
    golden(spec.with_suffix(".expected"), err)


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_not_a_spec(name, cli, golden):
    """A command-line argument that is not a file is a usage error (exit 2), like a bad flag."""
    code, out, err = run_check(cli, SPECIAL[name])
    assert code == 2 and out == ""
    golden(ERRORS / f"{name}.expected", err)


@pytest.mark.parametrize("spec", [c for c in CASES if c.name.startswith("warn_")], ids=lambda p: p.stem)
def test_warning_message(spec, cli, golden):
    code, out, err = run_check(cli, f"tests/errors/{spec.name}")
    assert code == 0 and out.startswith("{")
    golden(spec.with_suffix(".expected"), err)
    strict, _, strict_err = run_check(cli, f"tests/errors/{spec.name}", "--strict")
    n = err.count(": warning: ")
    closing = f"archdsl: error: {n} warning{'s' if n > 1 else ''} treated as errors (--strict)\n"
    assert strict == 1 and strict_err == err + closing


def test_every_expected_file_has_its_case():
    stems = {c.stem for c in CASES} | set(SPECIAL)
    orphans = [p.name for p in ERRORS.glob("*.expected") if p.stem not in stems]
    assert orphans == []


def test_alexnet_224_shows_the_arithmetic():
    text = (ERRORS / "warn_alexnet_224.expected").read_text(encoding="utf-8")
    assert "(224 - 11 + 0)/4 + 1 = 54.25" in text


def test_every_error_points_somewhere():
    """Spec errors carry file:line:col and a caret (file-level problems aside)."""
    fileless = {"empty", "no_network"}
    for spec in CASES:
        if spec.stem in fileless:
            continue
        text = spec.with_suffix(".expected").read_text(encoding="utf-8")
        first = text.splitlines()[0]
        assert first.startswith("tests/errors/"), spec.name
        assert ":" in first.split(": ")[0]
