"""Fuzzing: every input either analyses or raises ArchError whose line and
column lie inside the input. Anything else (a traceback, a hang) is a bug.

CI runs a bounded budget (over 20,000 inputs); `pytest --fuzz-long` runs ten
times more. The counts are printed in the terminal summary."""
from __future__ import annotations

import random
import signal
from contextlib import contextmanager

import pytest

import archdsl
from archdsl.lowering.workspace import read_spec

from .conftest import GALLERY
from .fuzzing import generated_spec, mutate_bytes, mutate_tokens

COUNTS: dict[str, dict[str, int]] = {}


def budget(request, n: int) -> int:
    return n * 10 if request.config.getoption("--fuzz-long") else n


@contextmanager
def deadline(seconds: float, what: str):
    """Fail instead of hanging: every single input must finish quickly."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"took over {seconds}s: {what}")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def position_inside(err: archdsl.ArchError, text: str) -> bool:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    for d in err.diagnostics:
        if d.span is None or d.span.file != "fuzz.arch":
            continue  # in a file the spec uses (std/...): positioned there
        if not 1 <= d.line <= len(lines):
            return False
        if not 1 <= d.col <= len(lines[d.line - 1]) + 1:
            return False
    return True


def run_one(text: str, label: str, tally: dict[str, int]) -> None:
    try:
        with deadline(10, label):
            archdsl.loads(text, "fuzz.arch")
        tally["analysed"] += 1
    except archdsl.ArchError as err:
        tally["rejected"] += 1
        assert err.diagnostics, label
        assert err.line >= 0 and err.col >= 0
        assert position_inside(err, text), f"{label}: position outside the input\n{err}\n--- input ---\n{text}"
        str(err)  # formatting the message must not fail either


def _tally(name: str) -> dict[str, int]:
    return COUNTS.setdefault(name, {"analysed": 0, "rejected": 0})


def test_generated_specs(request):
    rng = random.Random(20261122)
    tally = _tally("grammar-generated")
    for i in range(budget(request, 6000)):
        text = generated_spec(rng)
        run_one(text, f"generated #{i}", tally)
    # The generator must produce plenty of valid specs, or it tests only errors.
    assert tally["analysed"] > tally["rejected"] // 10


@pytest.mark.parametrize("spec", GALLERY, ids=[p.stem for p in GALLERY])
def test_token_mutations(spec, request):
    text = spec.read_text(encoding="utf-8")
    rng = random.Random(spec.stem)
    tally = _tally("token mutations")
    # Large specs cost more per input; the budget follows their size.
    rounds = budget(request, 900 if len(text) < 4000 else 400)
    for i in range(rounds):
        run_one(mutate_tokens(text, rng), f"{spec.name} token mutation #{i}", tally)


@pytest.mark.parametrize("spec", GALLERY, ids=[p.stem for p in GALLERY])
def test_byte_mutations(spec, request, tmp_path):
    data = spec.read_bytes()
    rng = random.Random("bytes" + spec.stem)
    tally = _tally("byte mutations")
    rounds = budget(request, 700 if len(data) < 4000 else 300)
    path = tmp_path / "m.arch"
    for i in range(rounds):
        mutated = mutate_bytes(data, rng)
        path.write_bytes(mutated)
        try:
            with deadline(10, f"{spec.name} byte mutation #{i}"):
                archdsl.load(path)
            tally["analysed"] += 1
        except archdsl.ArchError as err:
            tally["rejected"] += 1
            try:
                text = read_spec(path)
            except archdsl.ArchError:
                continue  # not UTF-8: the error itself is the checked outcome
            assert position_inside(err, text), f"{spec.name} byte mutation #{i}: {err}"


def test_budget_reached():
    """Runs last in this module: the CI budget is at least 20,000 inputs."""
    total = sum(t["analysed"] + t["rejected"] for t in COUNTS.values())
    if len(COUNTS) < 3:
        pytest.skip("run the whole fuzz module to count its inputs")
    assert total >= 20_000, COUNTS
