"""The public entry points: spec text or file -> analysed `Network`s.

This is the one place the stages meet: parse (frontend), lower (lowering),
analyse (core). It also tells the core where the backends that present a
network live, so that `net.summary()` and Jupyter's display work while the
core imports no backend."""
from __future__ import annotations

from pathlib import Path

from archdsl.core.analysis import analyse
from archdsl.core.network import PRESENTERS, Network
from archdsl.core.shapes import Shape
from archdsl.frontend.parse import parse
from archdsl.limits import DEFAULT_LIMITS, Limits
from archdsl.lowering.workspace import lower_program, read_spec
from archdsl.runtime import gc_paused

PRESENTERS.update({
    "summary": "archdsl.backends.report:summary",
    "html": "archdsl.backends.report:notebook_html",
    "svg": "archdsl.backends.render.volume:notebook_svg",
})


def loads_all(text: str, name: str = "<string>", *, base: str | Path | None = None,
              input_shape: Shape | None = None, limits: Limits = DEFAULT_LIMITS,
              network: str | None = None) -> list[Network]:
    """Every network of a spec's text, analysed. Raises ArchError."""
    base_path = Path(base) if base is not None else None
    with gc_paused():
        program = parse(text, name)
        lowered = lower_program(program, base_path, limits, input_shape, network)
        train = _train_config(program.trains) if program.trains else None  # checked like the rest
        return [Network(done.graph, analyse(done.graph), done.warnings, program.trains, done.allowed, train)
                for done in lowered]


def _train_config(sections):
    # Imported here: a spec without a train section needs none of archdsl.train.
    from archdsl.train.section import read_config
    return read_config(sections)


def load_all(path: str | Path, **options) -> list[Network]:
    """Every network of a spec file, analysed. Raises ArchError."""
    p = Path(path)
    return loads_all(read_spec(p), str(path), base=p.parent, **options)


def loads(text: str, name: str = "<string>", **options) -> Network:
    """The network of a spec's text (the last one when it has several, or `network=`)."""
    return loads_all(text, name, **options)[-1]


def load(path: str | Path, **options) -> Network:
    """The network of a spec file (the last one when it has several, or `network=`)."""
    return load_all(path, **options)[-1]
