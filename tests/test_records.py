"""The method cache behind `archdsl.records.dataclass` (see records.py): it
is complete for the modules `archdsl check` loads, and every cached function
is the code `exec` makes from the same text."""
from __future__ import annotations

import json
import subprocess
import sys

from archdsl import record_code, records, records_build

from .conftest import ROOT

STALE = "a dataclass changed: run `python -m archdsl.records_build` and commit record_code.py"


def test_the_cache_holds_every_method_of_the_hot_modules_and_nothing_else():
    assert sorted(record_code.CODE) == records_build.recorded_texts(), STALE


def test_the_generated_file_is_what_the_builder_writes():
    assert records_build.CODE_FILE.read_text(encoding="utf-8") == records_build.code_source(
        sorted(record_code.CODE)), STALE


def test_each_cached_function_is_the_code_exec_makes():
    def inner(code):
        (nested,) = [c for c in code.co_consts if hasattr(c, "co_code")]
        return nested

    for txt, cached in record_code.CODE.items():
        ns: dict = {}
        exec(txt, {}, ns)
        made = ns["__create_fn__"].__code__
        # The wrapper only binds the names the method reads; the method is the same code.
        assert cached.__code__.co_varnames == made.co_varnames
        a, b = inner(cached.__code__), inner(made)
        assert (a.co_code, a.co_consts, a.co_names, a.co_varnames, a.co_freevars, a.co_name) == (
            b.co_code, b.co_consts, b.co_names, b.co_varnames, b.co_freevars, b.co_name)


def test_check_compiles_no_method():
    code = ("import io, json, sys, contextlib\n"
            "from archdsl.cli import main\n"
            "import archdsl.records as records\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    for fmt in ('table', 'json', 'html'):\n"
            "        main(['check', 'specs/resnet50.arch', '-f', fmt])\n"
            "        main(['check', 'specs/vit_b_16.arch', '-f', fmt])\n"
            "sys.__stdout__.write(json.dumps(records.MISSES))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [], STALE


def test_a_class_the_cache_lacks_is_made_as_dataclasses_makes_it():
    @records.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 2

    p = Point(1)
    assert (p.x, p.y, repr(p), p == Point(1, 2), hash(p) == hash(Point(1, 2))) == (
        1, 2, "test_a_class_the_cache_lacks_is_made_as_dataclasses_makes_it.<locals>.Point(x=1, y=2)", True, True)
    assert Point.__slots__ == ("x", "y")
