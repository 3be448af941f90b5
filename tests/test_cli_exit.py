"""The console script's exit (cli.main.run): a read-only command leaves
without the interpreter's teardown once its output is flushed. Nothing it
printed may be lost, and the exit codes stay those of `main`."""
from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from archdsl.cli import main

from .conftest import ROOT

COMMANDS = [("check", "benchmarks/specs/resnet152.arch"), ("check", "specs/googlenet.arch", "-f", "json"),
            ("explain", "specs/alexnet.arch"), ("layers",), ("check", "tests/errors/add_channel_mismatch.arch")]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_everything_printed_arrives_with_the_exit_code(argv, plain, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    done = subprocess.run([sys.executable, "-m", "archdsl", *argv], cwd=ROOT, capture_output=True, text=True)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    assert (done.returncode, done.stdout, done.stderr) == (code, out.getvalue(), err.getvalue())
    assert len(done.stdout) > 100 or done.returncode == 1


def test_a_usage_error_exits_2(plain):
    done = subprocess.run([sys.executable, "-m", "archdsl", "check", "no/such.arch"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no such file" in done.stderr
