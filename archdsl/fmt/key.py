"""What a program means, without where it was written: the syntax tree with
every span left out, so that two layouts of one spec compare equal."""
from __future__ import annotations

from dataclasses import fields, is_dataclass

from archdsl.source import SourceFile, Span


def syntax_key(node):
    """A hashable value equal for two parses exactly when they differ only in
    layout (spaces, comments, line breaks, trailing commas)."""
    if isinstance(node, Span | SourceFile):
        return None
    if is_dataclass(node):
        return (type(node).__name__,
                *(syntax_key(getattr(node, f.name)) for f in fields(node) if f.name not in ("source",)))
    if isinstance(node, list | tuple):
        return tuple(syntax_key(x) for x in node)
    if isinstance(node, float):
        return ("float", node)
    return node
