"""`dataclass`, as the standard library's, without compiling at import.

`dataclasses.dataclass` writes each generated method (`__init__`, `__repr__`,
`__eq__`, a frozen class's `__setattr__`, ...) as source text and compiles it
with `exec` while the class is created: about half a millisecond a class,
which for the hundred-odd classes `archdsl check` loads was more than half of
its own start-up. This decorator is `dataclasses.dataclass` itself, with one
step served from a cache: the text of each method is looked up in
`record_code.py`, which holds those same texts as ordinary Python functions
(compiled once to bytecode, as any module, by Python's import system), and
the function is made from the compiled code and the class module's globals
exactly as `exec` would have made it. A text the cache lacks (a class added
or changed since `python -m archdsl.records_build` last ran, or another
Python version) is compiled as before, so the cache changes how fast classes
are made, never what they are. tests/test_records.py keeps the cache complete
for the modules `archdsl check` loads.

Where the running Python's dataclasses has no `_create_fn` of the known
signature (3.13 builds all methods with one `exec`), this is plain
`dataclasses.dataclass`."""
from __future__ import annotations

import dataclasses
import inspect
import os
import threading
from types import FunctionType

__all__ = ["dataclass", "MISSES"]

_ORIGINAL = getattr(dataclasses, "_create_fn", None)
_KNOWN_SIGNATURE = "(name, args, body, *, globals=None, locals=None, return_type=<dataclasses._MISSING_TYPE object"
_SUPPORTED = _ORIGINAL is not None and str(inspect.signature(_ORIGINAL)).startswith(_KNOWN_SIGNATURE)
_lock = threading.Lock()

#: The method texts compiled because the cache lacked them (records_build reads them).
MISSES: list[str] = []
_code: dict[str, FunctionType] | None = None


def _cache() -> dict[str, FunctionType]:
    global _code
    if _code is None:
        if os.environ.get("ARCHDSL_RECORDS_COLD"):  # records_build: every text is a miss
            _code = {}
            return _code
        try:
            from archdsl.record_code import CODE
        except ImportError:  # not generated yet: everything compiles
            CODE = {}
        _code = CODE
    return _code


def _create_fn(name, args, body, *, globals=None, locals=None, return_type=dataclasses.MISSING):
    # The text as the standard library's _create_fn (3.11, 3.12) writes it.
    if locals is None:
        locals = {}
    return_annotation = ""
    if return_type is not dataclasses.MISSING:
        locals["_return_type"] = return_type
        return_annotation = "->_return_type"
    args = ",".join(args)
    body = "\n".join(f"  {b}" for b in body)
    txt = f" def {name}({args}){return_annotation}:\n{body}"
    local_vars = ", ".join(locals.keys())
    txt = f"def __create_fn__({local_vars}):\n{txt}\n return {name}"
    if globals is None:
        globals = vars(dataclasses)  # what exec inside dataclasses would use
    cached = _cache().get(txt)
    if cached is None:
        MISSES.append(txt)
        ns: dict = {}
        exec(txt, globals, ns)
        make = ns["__create_fn__"]
    else:
        make = FunctionType(cached.__code__, globals)
    return make(**locals)


def dataclass(cls=None, /, **options):
    """`dataclasses.dataclass(cls, **options)`, with the methods' code from the cache."""
    def wrap(cls):
        if not _SUPPORTED:
            return dataclasses.dataclass(cls, **options)
        with _lock:
            dataclasses._create_fn = _create_fn
            try:
                return dataclasses.dataclass(cls, **options)
            finally:
                dataclasses._create_fn = _ORIGINAL
    return wrap if cls is None else wrap(cls)
