"""`dataclass` and `field`: the standard library's records, made without
importing `dataclasses`.

`dataclasses` costs `archdsl check` about a fifth of its whole run: importing
it pulls in `inspect` (and with it `ast`, `dis`, `tokenize`), and it spends
about a tenth of a millisecond on each of the hundred-odd classes `check`
loads, compiling every generated method with `exec`. This module makes the
same classes for the options archdsl uses (`frozen`, `slots`, `eq`, `repr`,
`unsafe_hash`; fields with `default`, `default_factory`, `init`, `repr`,
`compare`, `hash`, `kw_only`; `__post_init__`; inheritance) with the same
behaviour: the same `__init__` signature, `repr`, equality, hash rules,
`__match_args__`, slots, frozen assignment raising
`dataclasses.FrozenInstanceError`, pickling of frozen slotted records.

Only `__init__` is generated per class, because it is on the hot path; its
text is looked up in `record_code.py` (ordinary functions, compiled once to
bytecode by Python's import system, written by `python -m
archdsl.records_build`) and compiled only when missing there. `__repr__`,
`__eq__`, `__hash__` and the frozen `__setattr__` are closures over the
class's field names: nothing to compile.

`dataclasses.fields()`, `replace()`, `asdict()` and `is_dataclass()` work
on these classes: `__dataclass_fields__` is made, with the standard library's
`Field` objects, the first time something asks for it. Options this module
does not implement (`order`, `match_args=False`, `weakref_slot`, `InitVar`,
a standard library `field()`) make the class with `dataclasses` itself.
tests/test_records.py compares the two on every feature and keeps the
`__init__` cache complete for the modules `archdsl check` loads."""
from __future__ import annotations

import os
import sys
from _thread import get_ident
from operator import attrgetter

__all__ = ["dataclass", "field", "MISSING", "MISSES"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: No default: the sentinel of `field(default=...)` and of a default_factory argument.
MISSING = _Missing()

#: The `__init__` texts compiled because the cache lacked them (records_build reads them).
MISSES: list[str] = []
_code: dict | None = None

_OPTIONS = frozenset({"init", "repr", "eq", "frozen", "slots", "unsafe_hash", "kw_only"})


class Field:
    """What `field()` returns: one attribute's default and flags, and (once the
    class is made) its name and annotation."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare",
                 "metadata", "kw_only")

    def __init__(self, default, default_factory, init, repr, hash, compare, metadata, kw_only):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = self.type = None
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.hash, self.compare = init, repr, hash, compare
        self.metadata, self.kw_only = metadata, kw_only

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r}, "
                f"init={self.init!r}, repr={self.repr!r}, compare={self.compare!r}, kw_only={self.kw_only!r})")

    def copy_named(self, name: str, annotation, kw_only: bool) -> Field:
        made = Field(self.default, self.default_factory, self.init, self.repr, self.hash, self.compare,
                     self.metadata, self.kw_only if self.kw_only is not MISSING else kw_only)
        made.name, made.type = name, annotation
        return made


def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, hash=None, compare=True,
          metadata=None, kw_only=MISSING):
    """`dataclasses.field`, for `archdsl.records.dataclass`."""
    return Field(default, default_factory, init, repr, hash, compare, metadata, kw_only)


class _Unsupported(Exception):
    """A class this module does not make: `dataclasses` makes it."""


def dataclass(cls=None, /, **options):
    """`dataclasses.dataclass(cls, **options)`, made without importing `dataclasses`."""
    def wrap(cls):
        if options.keys() <= _OPTIONS:
            try:
                return _make(cls, **options)
            except _Unsupported:
                pass
        import dataclasses
        return dataclasses.dataclass(cls, **options)
    return wrap if cls is None else wrap(cls)


def _is_classvar(annotation) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    typing = sys.modules.get("typing")
    return typing is not None and (annotation is typing.ClassVar or getattr(annotation, "__origin__", None)
                                   is typing.ClassVar)


def _is_initvar(annotation) -> bool:
    if isinstance(annotation, str):
        return "InitVar" in annotation
    return type(annotation).__name__ == "InitVar" or annotation.__class__.__module__ == "dataclasses"


def _collect(cls, kw_only: bool) -> tuple[dict, set]:
    """name -> Field in the order `dataclasses` gives (the bases' first), and
    the names the class itself declares."""
    fields: dict = {}
    for base in cls.__mro__[-1:0:-1]:
        if "__dataclass_fields__" in base.__dict__ and "__record_fields__" not in base.__dict__:
            raise _Unsupported  # a base made by dataclasses itself
        for f in base.__dict__.get("__record_fields__", ()):
            fields[f.name] = f
    own = set()
    stdlib = sys.modules.get("dataclasses")
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        if _is_initvar(annotation):
            raise _Unsupported
        default = cls.__dict__.get(name, MISSING)
        if stdlib is not None and isinstance(default, stdlib.Field):
            raise _Unsupported
        if isinstance(default, Field):
            f = default.copy_named(name, annotation, kw_only)
        else:
            f = Field(default, MISSING, True, True, None, True, None, kw_only)
            f.name, f.type = name, annotation
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        fields[name] = f
        own.add(name)
    return fields, own


def _cache() -> dict:
    global _code
    if _code is None:
        if os.environ.get("ARCHDSL_RECORDS_COLD"):  # records_build: every text is a miss
            _code = {}
        else:
            try:
                from archdsl.record_code import CODE
            except ImportError:  # not generated yet: every __init__ compiles
                CODE = {}
            _code = CODE
    return _code


def _init(fields: list, frozen: bool, post_init: bool, qualname: str):
    """The class's `__init__`, from its text: the cached code, else compiled."""
    self_name = "__record_self__" if "self" in [f.name for f in fields] else "self"
    positional, keyword, body, values = [], [], [], {}
    for f in fields:
        name = f.name
        if f.init:
            if f.default is not MISSING:
                values[f"_dflt_{name}"] = f.default
                param = f"{name}=_dflt_{name}"
            elif f.default_factory is not MISSING:
                param = f"{name}=_MISSING"
            else:
                param = name
            (keyword if f.kw_only else positional).append(param)
        if f.default_factory is not MISSING:
            values[f"_fact_{name}"] = f.default_factory
            value = f"_fact_{name}() if {name} is _MISSING else {name}" if f.init else f"_fact_{name}()"
        elif f.init:
            value = name
        elif f.default is not MISSING:
            value = f"_dflt_{name}"
        else:
            continue
        if frozen:
            body.append(f"  _setattr({self_name},{name!r},{value})")
        else:
            body.append(f"  {self_name}.{name}={value}")
    seen_default = False
    for param in positional:
        if "=" in param:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {param!r} follows default argument")
    if post_init:
        body.append(f"  {self_name}.__post_init__()")
    params = [self_name, *positional] + (["*", *keyword] if keyword else [])
    names = ["_setattr", "_MISSING", *values]
    txt = (f"def __make__({','.join(names)}):\n def __init__({','.join(params)}):\n"
           + ("\n".join(body) if body else "  pass") + "\n return __init__")
    make = _cache().get(txt)
    if make is None:
        MISSES.append(txt)
        namespace: dict = {}
        exec(txt, {"__builtins__": __builtins__}, namespace)
        make = namespace["__make__"]
    init = make(object.__setattr__, MISSING, *values.values())
    init.__qualname__ = f"{qualname}.__init__"
    return init


def _key(names: tuple):
    """A function giving the tuple of these attributes (what `dataclasses` compares and hashes)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def _eq(key):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented
    return __eq__


def _hash(key):
    def __hash__(self):
        return hash(key(self))
    return __hash__


def _repr(names: tuple):
    running = set()

    def __repr__(self):
        # As dataclasses' reprlib-like guard: a record that contains itself prints `...`.
        token = (id(self), get_ident())
        if token in running:
            return "..."
        running.add(token)
        try:
            return f"{self.__class__.__qualname__}(" + ", ".join(
                f"{name}={getattr(self, name)!r}" for name in names) + ")"
        finally:
            running.discard(token)
    return __repr__


def _frozen_error(name: str):
    from dataclasses import FrozenInstanceError
    return FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen(made: list, names: frozenset):
    def __setattr__(self, name, value):
        if type(self) is made[0] or name in names:
            raise _frozen_error(name)
        super(made[0], self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is made[0] or name in names:
            raise _frozen_error(name)
        super(made[0], self).__delattr__(name)
    return __setattr__, __delattr__


def _state(names: tuple):
    def __getstate__(self):
        return [getattr(self, name) for name in names]

    def __setstate__(self, state):
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)
    return __getstate__, __setstate__


class _StdlibView:
    """`__dataclass_fields__` / `__dataclass_params__` of a record: made with the
    standard library's own classes the first time `dataclasses` (or anyone)
    asks, then stored on the class in this descriptor's place."""

    def __init__(self, record, attribute: str, params: tuple):
        self.record, self.attribute, self.params = record, attribute, params

    def __get__(self, obj, owner=None):
        import dataclasses
        record = self.record
        fields = {}
        for f in record.__record_fields__:
            made = dataclasses.field(default=dataclasses.MISSING if f.default is MISSING else f.default,
                                     default_factory=dataclasses.MISSING if f.default_factory is MISSING
                                     else f.default_factory, init=f.init,
                                     repr=f.repr, hash=f.hash, compare=f.compare, metadata=f.metadata,
                                     kw_only=f.kw_only)
            made.name, made.type, made._field_type = f.name, f.type, dataclasses._FIELD
            fields[f.name] = made
        init, repr_, eq, unsafe_hash, frozen, kw_only, slots = self.params
        try:  # 3.11
            params = dataclasses._DataclassParams(init, repr_, eq, False, unsafe_hash, frozen)
        except TypeError:  # 3.12 on: match_args, kw_only, slots and weakref_slot too
            params = dataclasses._DataclassParams(init, repr_, eq, False, unsafe_hash, frozen, True, kw_only,
                                                  slots, False)
        type.__setattr__(record, "__dataclass_fields__", fields)
        type.__setattr__(record, "__dataclass_params__", params)
        return getattr(record, self.attribute)


def _make(cls, init=True, repr=True, eq=True, frozen=False, slots=False, unsafe_hash=False, kw_only=False):
    if slots and "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    fields, own = _collect(cls, kw_only)
    bases = [base for base in cls.__mro__[1:] if "__record_fields__" in base.__dict__]
    if bases:
        frozen_base = any(base.__record_frozen__ for base in bases)
        if frozen_base and not frozen:
            raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
        if frozen and not frozen_base:
            raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    every = list(fields.values())
    names = tuple(fields)
    body = cls.__dict__
    methods: dict = {}
    # Class attributes: a plain default stays as one; a field() object goes.
    defaults = {f.name: f.default for f in every if f.name in own and f.default is not MISSING}
    removed = [name for name in own if isinstance(body.get(name), Field) and name not in defaults]

    class_hash = body.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in body))
    if init and "__init__" not in body:
        methods["__init__"] = _init(every, frozen, hasattr(cls, "__post_init__"), cls.__qualname__)
    if repr and "__repr__" not in body:
        methods["__repr__"] = _repr(tuple(f.name for f in every if f.repr))
    compared = tuple(f.name for f in every if f.compare)
    if eq and "__eq__" not in body:
        methods["__eq__"] = _eq(_key(compared))
    made: list = []
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in body:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        methods["__setattr__"], methods["__delattr__"] = _frozen(made, frozenset(names))
    hashed = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
    if unsafe_hash:
        if explicit_hash:
            raise TypeError(f"Cannot overwrite attribute __hash__ in class {cls.__name__}")
        methods["__hash__"] = _hash(_key(hashed))
    elif eq and not explicit_hash:
        methods["__hash__"] = _hash(_key(hashed)) if frozen else None
    if "__match_args__" not in body:
        methods["__match_args__"] = tuple(f.name for f in every if f.init and not f.kw_only)
    if not getattr(cls, "__doc__", None):
        methods["__doc__"] = f"{cls.__name__}({', '.join(f.name for f in every if f.init)})"
    for name, value in methods.items():
        if callable(value) and name != "__init__":
            value.__qualname__ = f"{cls.__qualname__}.{name}"

    if slots:
        inherited = set()
        for base in cls.__mro__[1:-1]:
            declared = base.__dict__.get("__slots__", ())
            inherited.update((declared,) if isinstance(declared, str) else declared)
        namespace = {k: v for k, v in body.items() if k not in fields and k not in ("__dict__", "__weakref__")}
        namespace.update(methods)
        namespace["__slots__"] = tuple(name for name in names if name not in inherited)
        if frozen:  # unpickling must not go through the frozen __setattr__
            getstate, setstate = _state(names)
            namespace.setdefault("__getstate__", getstate)
            namespace.setdefault("__setstate__", setstate)
        qualname = cls.__qualname__
        cls = type(cls)(cls.__name__, cls.__bases__, namespace)
        cls.__qualname__ = qualname
    else:
        for name, value in defaults.items():
            setattr(cls, name, value)
        for name in removed:
            delattr(cls, name)
        for name, value in methods.items():
            setattr(cls, name, value)
    made.append(cls)
    cls.__record_fields__ = tuple(every)
    cls.__record_frozen__ = frozen
    params = (init, repr, eq, unsafe_hash, frozen, kw_only, slots)
    cls.__dataclass_fields__ = _StdlibView(cls, "__dataclass_fields__", params)
    cls.__dataclass_params__ = _StdlibView(cls, "__dataclass_params__", params)
    if getattr(cls, "__abstractmethods__", None):
        import abc
        abc.update_abstractmethods(cls)
    return cls
