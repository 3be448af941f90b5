"""Process-wide interpreter state that analysing huge specs needs, changed
only for the duration of one call and always restored, so library users'
settings survive (errors included)."""
from __future__ import annotations

import contextlib
import gc
import sys


@contextlib.contextmanager
def gc_paused():
    """The cyclic GC rescans every live node on each collection, which makes
    building a 50k-layer graph quadratic; nothing built here forms garbage cycles.

    On the way out the objects built meanwhile (millions for 50k layers) join
    the oldest generation, as long-lived objects do, instead of waiting in the
    youngest: re-enabling the GC would otherwise start with a collection that
    scans every one of them (about a tenth of the whole analysis)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()  # everything tracked -> the permanent generation ...
            gc.unfreeze()  # ... -> the oldest one; no collection in between
            gc.enable()


@contextlib.contextmanager
def recursion_limit(needed: int):
    """At least `needed` frames of recursion (nested blocks recurse), restored after."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, needed))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
