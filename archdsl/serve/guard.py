"""What the live page may read: the spec's own folder and the standard library.

The CLI reads whatever a `use` names, and quotes a line of it in a syntax
error; that is fine on the command line, but a page served over HTTP must not
become a way to read other files. So before anything is lowered, every `use`
reachable from the buffer is resolved and checked; one that leaves the
spec's folder (by `..`, an absolute path or a symlink) or the bundled
library is refused with a positioned error, and the file is never opened."""
from __future__ import annotations

from pathlib import Path

from archdsl.editor.analysis import Problem, Range
from archdsl.errors import ArchError
from archdsl.frontend.parse import parse
from archdsl.lowering.stdlib import PREFIX, STDLIB

MAX_FILES = 200  # `use`s followed from one buffer, a guard against link farms


def allowed(path: Path, root: Path) -> bool:
    """Whether a resolved file lies in the spec's folder or the standard library."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return real.is_file() and (real.is_relative_to(root.resolve()) or real.is_relative_to(STDLIB.resolve()))


def target(use_path: str, base: Path) -> Path:
    """Where a `use` points, as lowering would look (without opening it)."""
    if use_path.startswith(PREFIX):
        return STDLIB / use_path[len(PREFIX):]
    return base / use_path


def refused_uses(program, root: Path) -> list[Problem]:
    """The `use`s of the buffer (and of the files it reaches) that point outside."""
    problems: list[Problem] = []
    seen: set[Path] = set()
    pending = [(program, root, True)]
    while pending and len(seen) < MAX_FILES:
        prog, base, own = pending.pop()
        for use in prog.uses:
            path = target(use.path, base)
            if not allowed(path, root) and _exists_or_outside(path, root):
                where = Range.of(use.span) if own else _first_use(program)
                problems.append(Problem("error", _message(use.path, own, use.span), where))
                continue
            key = path.resolve() if path.exists() else path
            if key in seen or not path.exists():
                continue  # missing files are lowering's to report (it says where it looked)
            seen.add(key)
            try:
                inner = parse(path.read_text(encoding="utf-8"), str(path))
            except (ArchError, OSError, UnicodeDecodeError):
                continue  # lowering reports it, with the allowed file's own lines
            pending.append((inner, path.parent, False))
    return problems


def _exists_or_outside(path: Path, root: Path) -> bool:
    """Refuse what exists outside; and anything whose path leaves the folder,
    so that whether a file exists out there is not revealed either."""
    if path.exists():
        return True
    try:
        return not path.absolute().resolve().is_relative_to(root.resolve()) and \
            not path.absolute().resolve().is_relative_to(STDLIB.resolve())
    except (OSError, RuntimeError):
        return True


def _message(use_path: str, own: bool, span) -> str:
    lines = [f'use "{use_path}" is outside the spec\'s folder; archdsl serve reads only that folder and std/']
    if not own:
        lines.insert(0, f"{span.file}:{span.line}:{span.col}:")
    lines.append("hint: copy the file next to the spec, or run archdsl check on the command line")
    return "\n".join(lines)


def _first_use(program) -> Range:
    return Range.of(program.uses[0].span) if program.uses else Range(0, 0, 0, 1)
