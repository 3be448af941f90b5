"""Writes `lalr_tables.py`: Lark's LALR tables for the grammar, so that
`archdsl check` parses without importing Lark or rebuilding its tables.

Run `python -m archdsl.frontend.lalr_build` after editing grammars/archdsl.lark
(tests/test_lalr_tables.py fails until then; meanwhile parsing falls back to
Lark, so an edited grammar is never read through stale tables).

Everything is read from a Lark instance built with the options parse.py uses:
the parse table (states renumbered breadth-first from the start state, so the
file does not depend on hash order), each parser state's contextual lexer
(its terminals in Lark's priority order, as one regex, with Lark's keyword
"unless" retyping), and each rule's child filter and callback name. The
runtime that reads them is `lalr.py`."""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from pprint import pformat

LARK_OPTIONS = {"parser": "lalr", "lexer": "contextual", "keep_all_tokens": True, "maybe_placeholders": True}
TABLES_FILE = Path(__file__).with_name("lalr_tables.py")


def lark_parser(grammar: str):
    """The Lark parser parse.py uses when the tables do not match the grammar."""
    from lark import Lark
    return Lark(grammar, **LARK_OPTIONS)


def build_tables(grammar: str) -> dict:
    """The tables as plain literals (see lalr.py for their meaning)."""
    from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild
    from lark.parsers.lalr_analysis import Shift

    lk = lark_parser(grammar)
    table = lk.parser.parser._parse_table
    (start,) = table.start_states.values()
    (end,) = table.end_states.values()
    rules = sorted(lk.rules, key=lambda r: (r.origin.name, tuple(s.name for s in r.expansion), r.alias or ""))
    rule_index = {id(r): i for i, r in enumerate(rules)}

    order, seen = [start], {start: 0}
    for state in order:  # breadth-first: the numbering depends on the grammar alone
        for _sym, (action, arg) in sorted(table.states[state].items()):
            if action is Shift and arg not in seen:
                seen[arg] = len(order)
                order.append(arg)
    assert len(order) == len(table.states), "unreachable parser states"

    actions = []
    for state in order:
        row = {}
        for sym, (action, arg) in sorted(table.states[state].items()):
            row[str(sym)] = seen[arg] if action is Shift else ~rule_index[id(arg)]
        actions.append(row)

    root = _lexer_row(lk.parser.lexer.root_lexer)
    root_order = {name: i for i, name in enumerate(root[4])}
    embedded = {str(t.name) for t in lk.terminals} - set(root_order)  # keywords the root's NAME retypes
    lexers, lexer_index, state_lexer = [], {}, []
    for state in order:
        lexer = _lexer_row(lk.parser.lexer.lexers[state])
        # What lets lalr.py try the root lexer first: a state's terminals come in the
        # root's order, and any the root lacks are keywords that its NAME retypes.
        shared = [root_order[name] for name in lexer[4] if name in root_order]
        assert shared == sorted(shared) and set(lexer[4]) - set(root_order) <= embedded
        key = repr(lexer)
        if key not in lexer_index:
            lexer_index[key] = len(lexers)
            lexers.append(lexer)
        state_lexer.append(lexer_index[key])

    chains = {id(rule): chain for rule, chain in lk._parse_tree_builder.rule_builders}
    rule_rows = []
    for rule in rules:
        expand1, child_filter = False, None
        for wrapper in chains[id(rule)]:
            if wrapper is ExpandSingleChild:
                expand1 = True
            elif isinstance(wrapper, partial) and wrapper.func is ChildFilterLALR:
                include, append_none = wrapper.args
                child_filter = (tuple(tuple(x) for x in include), append_none)
            elif isinstance(wrapper, partial) and wrapper.func is ChildFilterLALR_NoPlaceholders:
                (include,) = wrapper.args
                child_filter = (tuple((i, expand, 0) for i, expand in include), 0)
            else:
                raise AssertionError(f"unsupported Lark rule wrapper {wrapper!r}")
        name = rule.alias or rule.options.template_source or rule.origin.name
        rule_rows.append((str(rule.origin.name), len(rule.expansion), str(name), expand1, child_filter))

    terminal_names = {str(t.name) for t in lk.terminals}
    # Each terminal's own regex, for parse.py's one-line statement reader.
    patterns = {str(t.name): t.pattern.to_regexp() for t in sorted(lk.terminals, key=lambda t: str(t.name))}
    return {"GRAMMAR": grammar, "START": 0, "END": seen[end], "ACTIONS": tuple(actions),
            "STATE_LEXER": tuple(state_lexer), "LEXERS": tuple(lexers), "ROOT_LEXER": root, "RULES": tuple(rule_rows),
            "TERMINALS": tuple(sorted(terminal_names)), "PATTERNS": patterns}


def _lexer_row(basic) -> tuple:
    """One of Lark's BasicLexers as (regexes, newline types, ignored types, unless, terminals in order)."""
    from lark.lexer import PatternStr

    scanner = basic.scanner
    assert not basic.user_callbacks and basic.g_regex_flags == 0 and not basic.use_bytes
    unless = {}
    for type_, callback in sorted(basic.callback.items()):
        words = callback.scanner.terminals
        assert all(isinstance(t.pattern, PatternStr) and not t.pattern.flags for t in words)
        unless[str(type_)] = {t.pattern.value: str(t.name) for t in words}
    return (tuple(m.pattern for m in scanner._mres), tuple(sorted(map(str, basic.newline_types))),
            tuple(sorted(map(str, basic.ignore_types))), unless, tuple(str(t.name) for t in scanner.terminals))


def tables_source(grammar: str) -> str:
    """The text of lalr_tables.py for `grammar`."""
    import lark

    tables = build_tables(grammar)
    lines = [
        '"""LALR tables of grammars/archdsl.lark, read by lalr.py.',
        "",
        f"Generated by `python -m archdsl.frontend.lalr_build` with Lark {lark.__version__}; do not edit.",
        'tests/test_lalr_tables.py checks that they are what Lark builds from the grammar."""',
        "# ruff: noqa: E501",
        "",
    ]
    for name, value in tables.items():
        lines.append(f"{name} = {pformat(value, width=120, sort_dicts=False)}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    from archdsl.frontend.grammar import grammar_text
    text = tables_source(grammar_text())
    if "--check" in sys.argv[1:]:
        current = TABLES_FILE.read_text(encoding="utf-8") if TABLES_FILE.exists() else ""
        if current != text:
            print(f"{TABLES_FILE} is out of date: run python -m archdsl.frontend.lalr_build", file=sys.stderr)
            return 1
        return 0
    TABLES_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
