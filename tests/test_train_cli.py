"""The commands as a person types them: train (the acceptance run, --quiet,
CI-log lines, exit codes with no tracebacks), eval and predict."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

from archdsl.cli import train as command  # noqa: E402
from archdsl.train.data import load_data  # noqa: E402

from .conftest import ROOT  # noqa: E402

TINY = """network Tiny {
  input 1x8x8
  conv 8 k=3 p=1
  relu
  maxpool k=2
  flatten
  fc 10
  softmax
}
train {
  optimizer adam lr=0.01
  batch 64
  epochs 2
}
"""


@pytest.fixture(autouse=True)
def _plain(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(ROOT)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.arch"
    path.write_text(TINY)
    return path


def cli(capsys, *argv):
    """Exit code, stdout, stderr; argparse's own errors exit 2 through SystemExit."""
    capsys.readouterr()
    try:
        code = command.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def trained(tmp_path, tiny, capsys):
    code, _, err = cli(capsys, "train", tiny, "--out", tmp_path / "run", "--quiet", "--device", "cpu")
    assert code == 0, err
    return tmp_path / "run"


def test_acceptance_lenet_on_digits(tmp_path, capsys):
    """The issue's acceptance run: >= 95% validation accuracy, curves written. Its
    time (about 12 s here, the target 60 s) is measured in BENCHMARKS.md, not
    asserted: a timed test fails on a loaded machine, not on slow code."""
    code, out, err = cli(capsys, "train", "specs/lenet_mnist.arch", "--data", "digits", "--resize", "--epochs", "5",
                         "--out", tmp_path / "lenet", "--progress", "plain")
    assert code == 0, err
    rows = list(csv.DictReader(open(tmp_path / "lenet" / "metrics.csv")))
    assert len(rows) == 5 and max(float(r["val_acc"]) for r in rows) >= 0.95
    assert (tmp_path / "lenet" / "curves.png").stat().st_size > 10_000
    # What a CI log shows: one line per epoch on stderr, the report on stdout.
    assert err.startswith("training LeNet on digits: 1,438 training, 359 validation samples; cpu")
    assert "  resampled 8x8 to 28x28\n" in err
    assert sum(line.startswith("epoch ") for line in err.splitlines()) == 5
    assert "\x1b" not in err and "\r" not in err
    assert out.startswith("LeNet, best model (epoch ")
    assert "precision    recall  f1-score   support" in out
    assert "confusion matrix (rows: true class, columns: predicted)" in out


def test_quiet_prints_nothing(tmp_path, tiny, capsys):
    code, out, err = cli(capsys, "train", tiny, "--out", tmp_path / "q", "-q", "--device", "cpu")
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "q" / "report.html").exists()


@pytest.mark.parametrize("argv, code, message", [
    (["--lr", "-1"], 2, "archdsl: error: --lr: must be greater than 0, got -1\n"),
    (["--lr", "fast"], 2, "argument --lr: expected a number, got 'fast'"),
    (["--data", "mnist:/nowhere"], 2, "archdsl: error: --data mnist:/nowhere: /nowhere does not exist\n"),
    (["--data", "cifar"], 2, "unknown source 'cifar'"),
    (["--val-split", "0.9999"], 1, "leaves 0 training and 1797 validation samples"),
    (["--resume", "/nowhere.pt"], 2, "archdsl: error: /nowhere.pt: no such checkpoint\n"),
    (["--precision", "fp8"], 2, "invalid choice: 'fp8'"),
    (["--batch", "0"], 2, "--batch: must be at least 1, got 0"),
])
def test_usage_errors(tmp_path, tiny, capsys, argv, code, message):
    got, _, err = cli(capsys, "train", tiny, "--out", tmp_path / "x", "-q", *argv)
    assert got == code, err
    assert message in err
    assert "Traceback" not in err


def test_spec_errors_are_positioned(tmp_path, capsys):
    bad = tmp_path / "bad.arch"
    bad.write_text(TINY.replace("optimizer adam lr=0.01", "optimizer adam lr=0.01 momentum=0.9"))
    code, out, err = cli(capsys, "train", bad, "-q")
    assert code == 1 and out == ""
    assert err.startswith(f"{bad}:11:26: error: unknown key 'momentum' for optimizer adam\n")
    code, _, err = cli(capsys, "train", "specs/lenet_mnist.arch", "-q", "--out", tmp_path / "l")
    assert code == 1
    assert "specs/lenet_mnist.arch:25:3: error: the data's images are 1x8x8, the spec's input is 1x28x28" in err
    assert "hint: --resize resamples the images to 28x28" in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without CUDA")
def test_cuda_without_cuda(tiny, capsys):
    code, _, err = cli(capsys, "train", tiny, "--device", "cuda", "-q")
    assert code == 2 and "--device cuda: this PyTorch sees no CUDA device" in err


def test_eval(trained, tiny, capsys, tmp_path):
    code, out, err = cli(capsys, "eval", tiny, trained / "best.pt", "--device", "cpu")  # the data it trained on
    assert code == 0, err
    assert out.startswith("Tiny on digits: 1,797 samples, loss ")
    assert "confusion matrix" in out
    code, out, _ = cli(capsys, "eval", tiny, trained / "best.pt", "-f", "json", "--report", tmp_path / "e.html")
    result = json.loads(out)
    assert result["samples"] == 1797 and 0.8 < result["accuracy"] <= 1
    assert np.array(result["confusion"]).sum() == 1797
    assert "Confusion matrix" in (tmp_path / "e.html").read_text()


def test_eval_refuses_another_network(trained, tmp_path, capsys):
    other = tmp_path / "other.arch"
    other.write_text(TINY.replace("fc 10", "fc 32\n  relu\n  fc 10"))
    code, _, err = cli(capsys, "eval", other, trained / "best.pt")
    assert code == 1
    assert "best.pt was trained on a different network" in err
    assert "only in the spec: relu2 (relu -> 10)" in err or "fc1: checkpoint fc 128 -> 10" in err


def test_predict(trained, tiny, tmp_path, capsys):
    digits = load_data("digits")
    files = []
    for i in range(4):
        path = tmp_path / f"digit{i}.png"
        PIL.fromarray((digits.x[i, 0] * 255).round().astype(np.uint8)).save(path)
        files.append(path)
    code, out, err = cli(capsys, "predict", tiny, trained / "best.pt", *files, "--top", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4 and all(len(line.split()) == 5 for line in lines)
    code, out, _ = cli(capsys, "predict", tiny, trained / "best.pt", *files, "-f", "json")
    predicted = [int(p["top"][0]["class"]) for p in json.loads(out)]
    assert sum(p == int(t) for p, t in zip(predicted, digits.y[:4], strict=True)) >= 3
    code, out, _ = cli(capsys, "predict", tiny, trained / "best.pt", files[0], "-f", "csv", "--top", "3")
    assert out.splitlines()[0] == "file,rank,class,probability" and len(out.splitlines()) == 4
    code, _, err = cli(capsys, "predict", tiny, trained / "best.pt", tmp_path / "missing.png")
    assert code == 2 and "missing.png: no such file" in err
