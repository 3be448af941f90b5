"""Shared test options: `--update-golden` rewrites golden files, `--fuzz-long`
runs the long fuzzing budget; GPU tests skip where CUDA is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs on a fresh checkout without Hypothesis's example database, so random
# examples would differ from run to run: derandomized, a run is repeatable (a
# failure fails the same way on every machine). HYPOTHESIS_PROFILE=explore
# draws new random examples, as a session hunting for bugs should.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"
GALLERY = sorted(SPECS.glob("*.arch"))


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")
    parser.addoption("--fuzz-long", action="store_true", help="run the long fuzzing budget")


def pytest_collection_modifyitems(config, items):
    cuda = False
    if any("gpu" in item.keywords for item in items):
        try:
            import torch
            cuda = torch.cuda.is_available()
        except ImportError:
            cuda = False
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords and not cuda:
            item.add_marker(skip_gpu)


@pytest.fixture
def golden(request):
    """`golden(relpath, text)` compares text with tests/golden/relpath (or with the
    file at an absolute path, such as an error case's .expected), or writes it
    under --update-golden. The diff of a rewrite is reviewed like code."""
    update = request.config.getoption("--update-golden")

    def check(relpath: str | Path, text: str) -> None:
        path = Path(relpath) if Path(relpath).is_absolute() else GOLDEN / relpath
        if update or not path.exists():
            if not update:
                pytest.fail(f"missing golden file {path}; run pytest --update-golden and review it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path}; run pytest --update-golden to accept"

    return check


@pytest.fixture
def plain(monkeypatch):
    """What a pipe receives: no colour whatever the runner's terminal, and the
    repository as the working directory, so messages name files relatively."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.chdir(ROOT)


@pytest.fixture
def cli(capsys, plain):
    """`cli("check", "spec.arch", ...)` runs the command in-process and returns
    (exit code, stdout, stderr); argparse's own rejections give their exit code."""
    from archdsl.cli import main

    def run(*argv) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def pytest_terminal_summary(terminalreporter):
    try:
        from tests.test_fuzz import COUNTS
    except ImportError:
        return
    if COUNTS:
        total = sum(t["analysed"] + t["rejected"] for t in COUNTS.values())
        terminalreporter.write_line(f"fuzz: {total:,} inputs, none crashed or hung: " + "; ".join(
            f"{name} {t['analysed'] + t['rejected']:,} ({t['analysed']:,} analysed, {t['rejected']:,} rejected)"
            for name, t in COUNTS.items()))
