"""Reading a model description that is text (a Caffe prototxt, a Darknet cfg):
a file that cannot be read is a usage error naming it, never a traceback."""
from __future__ import annotations

from pathlib import Path

from archdsl.errors import UsageError


def read_text_file(path: str | Path, what: str) -> str:
    """The text of `path`; `what` names the format in the message ("prototxt")."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a readable {what} ({type(exc).__name__})") from None
