"""The standard library of blocks bundled with archdsl (`use "std/..."`)."""
from __future__ import annotations

from pathlib import Path

STDLIB = Path(__file__).resolve().parent.parent / "stdlib"
PREFIX = "std/"


def resolve_std(path: str) -> Path | None:
    """The bundled file a `use "std/..."` path names, or None."""
    candidate = STDLIB / path[len(PREFIX):]
    return candidate if candidate.is_file() else None


def is_bundled(file: str) -> bool:
    """Whether a source file is one of the bundled blocks (hints must not ask to edit them)."""
    try:
        return Path(file).resolve().is_relative_to(STDLIB)
    except (OSError, ValueError):
        return False
