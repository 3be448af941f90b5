"""Atomic output: write beside the target, then rename over it, so a failed or
interrupted command never leaves a half-written file or clobbers a good one."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def check_writable(target: str | Path) -> Path:
    """A file the user named for output, before any work: not a directory, in
    a directory that exists. UsageError (exit 2) otherwise."""
    from archdsl.errors import UsageError
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise UsageError(f"directory {parent} does not exist")
    return target


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None):
    """Yield a temporary path in the target's directory; on success it replaces
    the target, on any exception it is removed and the target is untouched."""
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=directory)
    os.close(fd)
    try:
        yield Path(tmp)
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(target).st_mode & 0o777)
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(target: str | Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `target` atomically."""
    with atomic_path(target) as tmp:
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
