"""`archdsl.records.dataclass` makes the classes `dataclasses.dataclass`
makes (see records.py): the same `__init__`, repr, equality, hashing, frozen
assignment, slots, pickling and `dataclasses.fields()`; and its `__init__`
cache is complete for the modules `archdsl check` loads."""
from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import json
import pickle
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archdsl import record_code, records, records_build

from .conftest import ROOT

STALE = "a record class changed: run `python -m archdsl.records_build` and commit record_code.py"


# -- the cache ---------------------------------------------------------------

def test_the_cache_holds_every_init_of_the_hot_modules_and_nothing_else():
    assert sorted(record_code.CODE) == records_build.recorded_texts(), STALE


def test_the_generated_file_is_what_the_builder_writes():
    assert records_build.CODE_FILE.read_text(encoding="utf-8") == records_build.code_source(
        sorted(record_code.CODE)), STALE


def test_each_cached_function_is_the_code_its_text_compiles_to():
    for txt, cached in record_code.CODE.items():
        namespace: dict = {}
        exec(txt, {}, namespace)
        made = namespace["__make__"].__code__
        (a,) = [c for c in cached.__code__.co_consts if hasattr(c, "co_code")]
        (b,) = [c for c in made.co_consts if hasattr(c, "co_code")]
        assert cached.__code__.co_varnames == made.co_varnames
        assert (a.co_code, a.co_consts, a.co_names, a.co_varnames, a.co_freevars, a.co_name) == (
            b.co_code, b.co_consts, b.co_names, b.co_varnames, b.co_freevars, b.co_name)


def test_check_compiles_no_init_and_never_imports_dataclasses():
    code = ("import io, json, sys, contextlib\n"
            "from archdsl.cli import main\n"
            "import archdsl.records as records\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    for fmt in ('table', 'json', 'html'):\n"
            "        main(['check', 'specs/resnet50.arch', '-f', fmt])\n"
            "        main(['check', 'specs/vit_b_16.arch', '-f', fmt])\n"
            "sys.__stdout__.write(json.dumps([records.MISSES, 'dataclasses' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [[], False], STALE


# -- the same classes as dataclasses -----------------------------------------

def make(decorate, name: str, fields: list[tuple], bases=(), body=None, **options):
    """A class `name` with `fields` ((name, annotation, default or a field() keywords dict or None)),
    made by `decorate` (records.dataclass or dataclasses.dataclass) with `options`."""
    field = records.field if decorate is records.dataclass else dataclasses.field
    namespace = {"__module__": __name__, "__qualname__": name, "__annotations__": {}, **(body or {})}
    for fname, annotation, default in fields:
        namespace["__annotations__"][fname] = annotation
        if isinstance(default, dict):
            namespace[fname] = field(**default)
        elif default is not None:
            namespace[fname] = default
    return decorate(**options)(type(name, bases, namespace))


def signature(cls) -> list[tuple]:
    """__init__'s parameters: (name, kind, default), a default_factory as 'factory'."""
    out = []
    for p in inspect.signature(cls.__init__).parameters.values():
        default = p.default
        if default is inspect.Parameter.empty:
            default = "none"
        elif default is records.MISSING or type(default).__name__ == "_HAS_DEFAULT_FACTORY_CLASS":
            default = "factory"
        out.append((p.name, p.kind, default))
    return out


def stdlib_view(cls) -> list[tuple]:
    return [(f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.hash, f.compare, f.kw_only)
            for f in dataclasses.fields(cls)]


OPTIONS = st.fixed_dictionaries({}, optional={
    "frozen": st.booleans(), "slots": st.booleans(), "eq": st.booleans(), "repr": st.booleans(),
    "unsafe_hash": st.booleans(), "kw_only": st.booleans()})


@st.composite
def field_specs(draw):
    names = draw(st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=5))
    fields = []
    for fname in names:
        kind = draw(st.sampled_from(["plain", "default", "factory", "field_default", "flags"]))
        if kind == "plain":
            default = None
        elif kind == "default":
            default = draw(st.integers(-3, 3))
        elif kind == "factory":
            default = {"default_factory": list}
        elif kind == "field_default":
            default = {"default": draw(st.text(max_size=2)), "repr": draw(st.booleans())}
        else:
            default = {"default": 0, "compare": draw(st.booleans()), "repr": draw(st.booleans()),
                       "kw_only": draw(st.booleans()), "hash": draw(st.sampled_from([None, True, False]))}
        fields.append((fname, "int", default))
    return fields


def outcome(thunk):
    try:
        return ("ok", thunk())
    except Exception as exc:  # the same exception type, whichever class
        return ("raises", type(exc))


@settings(max_examples=300, deadline=None)
@given(fields=field_specs(), options=OPTIONS, data=st.data())
def test_a_random_class_behaves_as_the_dataclass_of_it(fields, options, data):
    made = outcome(lambda: make(records.dataclass, "Rec", fields, **options))
    reference = outcome(lambda: make(dataclasses.dataclass, "Rec", fields, **options))
    assert made[0] == reference[0], (made, reference)
    if made[0] == "raises":
        assert made[1] == reference[1]
        return
    ours, theirs = made[1], reference[1]
    assert signature(ours) == signature(theirs)
    assert stdlib_view(ours) == stdlib_view(theirs)
    for attribute in ("__match_args__", "__slots__"):
        assert getattr(ours, attribute, None) == getattr(theirs, attribute, None)
    assert (ours.__hash__ is None) == (theirs.__hash__ is None)
    assert ("__eq__" in ours.__dict__) == ("__eq__" in theirs.__dict__)
    assert ("__repr__" in ours.__dict__) == ("__repr__" in theirs.__dict__)

    required = [p.name for p in inspect.signature(theirs.__init__).parameters.values()
                if p.default is inspect.Parameter.empty and p.name != "self"]
    values = {name: data.draw(st.integers(0, 2), label=name) for name in required}
    mine, ref = ours(**values), theirs(**values)
    other = {name: data.draw(st.integers(0, 2), label="other " + name) for name in required}
    mine2, ref2 = ours(**other), theirs(**other)
    if "__repr__" in theirs.__dict__:
        assert repr(mine) == repr(ref)
    assert (mine == mine2) == (ref == ref2)
    assert (mine == ours(**values)) == (ref == theirs(**values))
    if theirs.__hash__ is not None:
        assert outcome(lambda: hash(mine) == hash(ours(**values))) == outcome(
            lambda: hash(ref) == hash(theirs(**values)))
    for name in [f.name for f in dataclasses.fields(theirs)]:
        assert getattr(mine, name) == getattr(ref, name)
        assert outcome(lambda name=name: setattr(mine, name, 1))[0] == outcome(
            lambda name=name: setattr(ref, name, 1))[0]
    assert dataclasses.asdict(mine) == dataclasses.asdict(ref)
    assert dataclasses.asdict(dataclasses.replace(mine, **other)) == dataclasses.asdict(
        dataclasses.replace(ref, **other))
    assert hasattr(mine, "__dict__") == hasattr(ref, "__dict__")


@records.dataclass(frozen=True, slots=True)
class FrozenPoint:
    x: int
    y: list = records.field(default_factory=list)


@records.dataclass(slots=True)
class SlottedPoint:
    x: int
    y: int = 2


@records.dataclass(frozen=True, slots=True)
class FrozenPoint3(FrozenPoint):
    z: int = 0


def test_records_pickle_and_copy_as_dataclasses_do():
    for value in (FrozenPoint(1, [2]), SlottedPoint(3), FrozenPoint3(1, [2], 3)):
        for again in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
            assert again == value and type(again) is type(value)


def test_frozen_assignment_raises_the_standard_error():
    point = FrozenPoint(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2
    with pytest.raises(AttributeError):
        del point.x


def test_inheritance_orders_fields_and_slots_as_dataclasses_do():
    assert [f.name for f in dataclasses.fields(FrozenPoint3)] == ["x", "y", "z"]
    assert FrozenPoint3.__slots__ == ("z",)
    assert repr(FrozenPoint3(1)) == "FrozenPoint3(x=1, y=[], z=0)"
    assert FrozenPoint3.__match_args__ == ("x", "y", "z")
    params = FrozenPoint3.__dataclass_params__
    assert (params.init, params.repr, params.eq, params.order, params.unsafe_hash, params.frozen) == (
        True, True, True, False, False, True)
    with pytest.raises(TypeError, match="non-frozen dataclass from a frozen one"):
        records.dataclass(type("Loose", (FrozenPoint,), {"__annotations__": {"w": "int"}}))
    with pytest.raises(TypeError, match="frozen dataclass from a non-frozen one"):
        records.dataclass(frozen=True)(type("Tight", (SlottedPoint,), {"__annotations__": {"w": "int"}}))


def test_post_init_runs_after_the_fields_are_set():
    seen = []

    @records.dataclass
    class Counted:
        n: int

        def __post_init__(self):
            seen.append(self.n)

    Counted(4)
    assert seen == [4]


def test_a_recursive_record_prints_dots_as_dataclasses_does():
    @records.dataclass(eq=False)
    class Box:
        inner: object = None

    box = Box()
    box.inner = box
    assert repr(box).endswith("Box(inner=...)")


def test_what_it_does_not_implement_dataclasses_makes():
    @records.dataclass(order=True)
    class Ordered:
        n: int

    assert Ordered(1) < Ordered(2)
    assert "__lt__" in Ordered.__dict__


def test_every_record_of_the_hot_modules_agrees_with_its_stdlib_view():
    import pkgutil
    seen = 0
    for package in records_build.HOT_PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__, package + "."):
            if info.ispkg or info.name.endswith(("_build", "record_code", "__main__")):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if isinstance(value, type) and "__record_fields__" in value.__dict__:
                    params = [p.name for p in inspect.signature(value).parameters.values()]
                    assert params == [f.name for f in dataclasses.fields(value) if f.init], value
                    seen += 1
    assert seen > 80
