"""`archdsl fmt`: one canonical layout for `.arch` files.

    >>> from archdsl.fmt import format_text
    >>> print(format_text("network N{input 3x8x8\\n  conv 8 k = 3 ;relu}"), end="")
    network N {
      input 3x8x8
      conv 8 k=3; relu
    }

Indentation is two spaces per brace; tokens are spaced by their role
(`k=3`, `Name(a, b)`, `c/4` among a layer's arguments, `c / 4` elsewhere);
trailing comments align at one column; comments, blank lines (at most one),
`;` chains, `\\` continuations and one-line bodies are kept where the author
put them, and so are tables the author lined up (see `align`). The result
parses to the same program (checked on every call) and formatting it again
changes nothing."""
from __future__ import annotations

from functools import lru_cache

from archdsl.errors import ArchError, Diagnostic
from archdsl.fmt.align import render
from archdsl.fmt.key import syntax_key
from archdsl.fmt.printer import Printer
from archdsl.frontend.parse import normalise, parse

__all__ = ["format_text", "syntax_key"]


@lru_cache(maxsize=1)
def _tree_parser():
    """Lark's parser of the grammar with every token kept and no transformer:
    the concrete tree, comments (inside `_SEP`) and positions included."""
    from lark import Lark

    from archdsl.frontend.grammar import grammar_text
    from archdsl.frontend.lalr_build import LARK_OPTIONS
    return Lark(grammar_text(), **LARK_OPTIONS, cache=True)


def format_text(text: str, name: str = "<string>") -> str:
    """The canonical layout of a spec's text. Raises ArchError on a syntax error."""
    program = parse(text, name)  # syntax errors, worded as everywhere else
    text = normalise(text)
    printer = Printer(text)
    printer.walk(_tree_parser().parse(text))
    out = render(printer.lines)
    if syntax_key(parse(out, name)) != syntax_key(program):
        # Never hand back text that means something else; this is a bug in fmt.
        raise ArchError(Diagnostic("error", "archdsl fmt would change the meaning of this file; "
                                            "it is left as it is (please report this)"))
    return out
