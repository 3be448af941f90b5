"""Rewrite the layer-kind pattern of arch.tmLanguage.json from archdsl's
registry (every kind's keywords and aliases, and the merges), after a kind is
added to the language:

    python grammars/editors/update_kinds.py

tests/test_tmgrammar.py fails, naming the kinds, until this has been run.
(The Pygments lexer and the live page read the registry themselves.)"""
from __future__ import annotations

import json
from pathlib import Path

GRAMMAR = Path(__file__).with_name("arch.tmLanguage.json")


def kinds() -> list[str]:
    from archdsl.core.ops import MERGES, REGISTRY
    names = (set(REGISTRY) | set(MERGES) | {"output", "expect"}) - {"input"}
    return sorted(names, key=lambda k: (-len(k), k))  # longest first: `conv` must not cut `convtranspose`


def main() -> None:
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    grammar["repository"]["layer"]["match"] = "\\b(" + "|".join(kinds()) + ")\\b(?!\\s*=[^=])"
    GRAMMAR.write_text(json.dumps(grammar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
