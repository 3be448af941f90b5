"""Distributed training: two CPU processes under torchrun (gloo) train to the
same weights as one process with the same global batch, and only rank 0
prints and writes. `--nproc N` hands the command to torchrun."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("this PyTorch has no torch.distributed", allow_module_level=True)

from archdsl.cli import train as command  # noqa: E402
from archdsl.train import distributed  # noqa: E402
from archdsl.train.session import TrainOptions, train  # noqa: E402

from .conftest import ROOT  # noqa: E402

# No dropout: its masks are drawn per process. Augmentation is drawn per
# sample, so it is the same in both runs.
SPEC = """
network Small {
  input 1x8x8
  conv 8 k=3 p=1
  relu
  maxpool k=2
  flatten
  fc 10
  softmax
}
train {
  optimizer sgd lr=0.05 momentum=0.9
  augment crop=1 flip=true
  batch 64
  epochs 1
}
"""


def test_two_gloo_processes_equal_one(tmp_path):
    spec = tmp_path / "small.arch"
    spec.write_text(SPEC)
    single = train(str(spec), TrainOptions(out=tmp_path / "one", progress="quiet", device="cpu", report=False))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "archdsl.train", "train", str(spec), "--device", "cpu", "--progress", "plain", "--no-report",
         "--out", str(tmp_path / "two")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(tmp_path / "one" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], rtol=1e-4, atol=1e-6), key
    assert b["world"] == 2 and len(b["rng"]) == 2
    # Metrics are sums over both processes: the same figures as one process saw.
    one, two = single.history[0], b["state"]["history"][0]
    for metric in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert two[metric] == pytest.approx(one[metric], rel=1e-4), metric
    # Rank 0 alone reports and writes.
    assert proc.stderr.count("training Small on digits") == 1
    assert proc.stderr.count("epoch 1/1") == 1
    assert "2 processes" in proc.stderr
    assert "Warning" not in proc.stderr
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["best.pt", "last.pt", "metrics.csv"]


def test_nproc_hands_the_command_to_torchrun(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda argv: calls.append(argv) or 0)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    argv = ["train", "specs/lenet_mnist.arch", "--nproc", "3", "--resize", "--epochs=2", "--nproc=3"]
    assert command.main(argv) == 0
    assert calls == [[sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
                      "-m", "archdsl.train", "train", "specs/lenet_mnist.arch", "--resize", "--epochs=2"]]


def test_sampler_of_one_is_the_permutation_two_split():
    one = list(distributed.sampler(distributed.Context(), 10, seed=3))
    ranks = [list(distributed.sampler(distributed.Context(r, 2, r), 10, seed=3)) for r in (0, 1)]
    assert sorted(one) == list(range(10))
    assert ranks[0] == one[0::2] and ranks[1] == one[1::2]
