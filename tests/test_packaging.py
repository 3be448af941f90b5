"""The layout the wheel ships, and library calls that leave the process as
they found it."""
from __future__ import annotations

import gc
import sys
import tomllib

import pytest

import archdsl
from archdsl.frontend.grammar import grammar_text
from tests.conftest import ROOT


def test_the_grammar_is_read_from_grammars_at_the_root():
    """One source of truth: grammars/archdsl.lark is what the parser reads."""
    assert grammar_text() == (ROOT / "grammars" / "archdsl.lark").read_text(encoding="utf-8")
    assert not (ROOT / "archdsl" / "grammars").exists()


def test_every_package_is_listed_for_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "archdsl").rglob("__init__.py")}
    assert found - listed == set(), "packages missing from pyproject.toml"
    assert config["package-dir"]["archdsl.grammars"] == "grammars"
    assert "archdsl.stdlib" in listed


def test_the_core_imports_no_backend():
    """Dependency direction: backends import the core, never the other way."""
    for path in (ROOT / "archdsl" / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "archdsl.backends" not in text and "archdsl.cli" not in text, path


@pytest.mark.parametrize("spec", [
    "network N { input 3x8x8; conv 4 k=3 }",
    "network N { input 3x8x8; conv 4 k=30 }",  # an error inside lowering
    "network N { input 3x8x8; conv 4 k=3",  # a syntax error
])
def test_gc_and_recursion_limit_are_restored(spec):
    limit, enabled = sys.getrecursionlimit(), gc.isenabled()
    try:
        archdsl.loads(spec)
    except archdsl.ArchError:
        pass
    assert sys.getrecursionlimit() == limit
    assert gc.isenabled() == enabled


def test_gc_stays_off_when_the_caller_turned_it_off():
    gc.disable()
    try:
        archdsl.loads("network N { input 3x8x8; conv 4 k=3 }")
        assert not gc.isenabled()
    finally:
        gc.enable()
