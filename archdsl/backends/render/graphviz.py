"""Running Graphviz's `dot` program: the only place render touches Graphviz.

`dot` is a separate program, not a Python package, so it may be missing; the
caller then writes the DOT text instead and says how to install it."""
from __future__ import annotations

import shutil
import subprocess

IMAGE_FORMATS = ("svg", "png", "pdf")
TIMEOUT_S = 60
INSTALL_HINT = ("install Graphviz for images: apt-get install graphviz / brew install graphviz / "
                "conda install graphviz")


class GraphvizError(Exception):
    """`dot` is missing, failed, or ran past its time limit."""


def find_dot() -> str | None:
    """The path of the `dot` program, or None when Graphviz is not installed."""
    return shutil.which("dot")


def run_dot(dot_text: str, fmt: str, dot: str | None = None, timeout: float = TIMEOUT_S) -> bytes:
    """Lay out `dot_text` and return the image bytes in `fmt` (svg, png or pdf)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}")
    dot = dot or find_dot()
    if dot is None:
        raise GraphvizError("Graphviz's `dot` program was not found; " + INSTALL_HINT)
    # png gets 2x the default 72 dpi so slides stay sharp.
    args = [dot, f"-T{fmt}"] + (["-Gdpi=144"] if fmt == "png" else [])
    try:
        done = subprocess.run(args, input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"dot ran longer than {timeout:g} s and was stopped") from None
    except OSError as exc:
        raise GraphvizError(f"could not run {dot}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"dot failed (exit {done.returncode}): " + (message[-1] if message else "no message"))
    return done.stdout
