"""What `archdsl check` imports: start-up is most of its time, so the set of
modules it loads is pinned here. No torch, onnx or graphviz, no Lark on a
well-formed spec (the generated tables parse it), no other command's modules
(render, build, export, train) and only the report format it prints."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT

# typing is no weight, but importing it is a twentieth of check: class attributes go unannotated.
# dataclasses (with the inspect, ast and dis it imports) was a fifth: archdsl.records makes the classes.
HEAVY = ("torch", "onnx", "onnxruntime", "onnxscript", "graphviz", "numpy", "lark", "rich", "typing",
         "dataclasses", "inspect")
NOT_FOR_CHECK = ("archdsl.backends.render", "archdsl.backends.torch", "archdsl.backends.onnx",
                 "archdsl.cli.build", "archdsl.cli.export", "archdsl.cli.render", "archdsl.cli.report",
                 "archdsl.cli.train", "archdsl.train", "archdsl.frontend.syntax_errors")
FORMAT_MODULES = {"table": "archdsl.backends.report.text", "json": "archdsl.backends.report.data",
                  "html": "archdsl.backends.report.markup"}


def modules_after(*argv: str) -> list[str]:
    """The modules loaded once `archdsl ARGV` has run, in a fresh interpreter."""
    code = ("import io, json, sys, contextlib\n"
            "from archdsl.cli import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n"
            f"    rc = main({list(argv)!r})\n"
            "sys.__stdout__.write(json.dumps([rc, sorted(sys.modules)]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    rc, modules = json.loads(done.stdout)
    assert rc == 0, done.stderr
    return modules


def _loaded(modules, names):
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


@pytest.mark.parametrize("fmt", sorted(FORMAT_MODULES))
def test_check_imports_only_what_it_needs(fmt):
    modules = modules_after("check", "specs/resnet50.arch", "-f", fmt)
    assert _loaded(modules, HEAVY) == []
    assert _loaded(modules, NOT_FOR_CHECK) == []
    assert FORMAT_MODULES[fmt] in modules
    others = [m for f, m in FORMAT_MODULES.items() if f != fmt]
    assert _loaded(modules, others) == []


def test_a_syntax_error_brings_in_lark_for_its_message(tmp_path):
    """The error path is the one place Lark is imported."""
    spec = tmp_path / "bad.arch"
    spec.write_text("network N {\n  input 3x8x8\n  conv 4 k=\n}\n", encoding="utf-8")
    code = ("import sys\nfrom archdsl.cli import main\n"
            f"rc = main(['check', {str(spec)!r}])\n"
            "print(rc, 'lark' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "True"]
    assert "error: unexpected" in done.stderr
