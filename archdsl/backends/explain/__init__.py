"""`archdsl explain`: worked derivations as text, Markdown or LaTeX, and the
derivation column that `archdsl check --explain` adds to the table."""
from __future__ import annotations

from archdsl.core.explain import derive

FORMATS = ("text", "markdown", "latex")


def render_explain(nets, fmt: str = "text", names: list[str] | None = None) -> str:
    """The derivations of every network's layers (or those `names` match) as `fmt`."""
    from archdsl.backends.explain import formats
    render = {"text": formats.render_text, "markdown": formats.render_markdown,
              "latex": formats.render_latex}.get(fmt)
    if render is None:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return "\n".join(render(net, derive(net, names)) for net in nets)
