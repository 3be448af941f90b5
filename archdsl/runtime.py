"""Process-wide interpreter state that analysing huge specs needs, changed
only for the duration of one call and always restored, so library users'
settings survive (errors included).

Written as classes rather than with contextlib, which `archdsl check` would
import for these two alone."""
from __future__ import annotations

import gc
import sys


class gc_paused:  # noqa: N801 (used as a function: `with gc_paused():`)
    """The cyclic GC rescans every live node on each collection, which makes
    building a 50k-layer graph quadratic; nothing built here forms garbage cycles.

    On the way out the objects built meanwhile (millions for 50k layers) join
    the oldest generation, as long-lived objects do, instead of waiting in the
    youngest: re-enabling the GC would otherwise start with a collection that
    scans every one of them (about a tenth of the whole analysis)."""

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc) -> None:
        if self.enabled:
            gc.freeze()  # everything tracked -> the permanent generation ...
            gc.unfreeze()  # ... -> the oldest one; no collection in between
            gc.enable()


class recursion_limit:  # noqa: N801 (used as a function: `with recursion_limit(n):`)
    """At least `needed` frames of recursion (nested blocks recurse), restored after."""

    def __init__(self, needed: int):
        self.needed = needed

    def __enter__(self) -> None:
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.old, self.needed))

    def __exit__(self, *exc) -> None:
        sys.setrecursionlimit(self.old)
