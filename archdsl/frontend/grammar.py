"""Where the grammar lives: `grammars/archdsl.lark` at the repository root,
installed as the package `archdsl.grammars` (setuptools' package-dir maps it),
so the wheel holds the one file and an editable install reads the edited one."""
from __future__ import annotations

from importlib import resources

GRAMMAR_FILE = "archdsl.lark"


def grammar_text() -> str:
    """The text of the Lark grammar of the `.arch` language."""
    return resources.files("archdsl.grammars").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
