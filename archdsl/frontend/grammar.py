"""Where the grammar lives: `grammars/archdsl.lark` at the repository root,
installed as the package `archdsl.grammars` (setuptools' package-dir maps it),
so the wheel holds the one file and an editable install reads the edited one."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

GRAMMAR_FILE = "archdsl.lark"


@lru_cache(maxsize=1)
def grammar_text() -> str:
    """The text of the Lark grammar of the `.arch` language."""
    import archdsl.grammars

    # A plain file beside the package's __init__ (every install but a zipped one)
    # is read directly: importlib.resources costs more to import than the read.
    path = Path(archdsl.grammars.__file__).with_name(GRAMMAR_FILE)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    from importlib import resources
    return resources.files("archdsl.grammars").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def keywords() -> tuple[str, ...]:
    """The grammar's keywords: every literal word it quotes (`"repeat"`,
    `"network"`...), which are the terminals Lark makes of them
    (tests/test_syntax_errors.py compares the two)."""
    return tuple(sorted(set(re.findall(r'"([A-Za-z_][A-Za-z_0-9]*)"(?!i)', grammar_text()))))
