"""Training on a GPU: fp32, bf16 and fp16 autocast (with its gradient scaler),
channels-last, torch.compile, and checkpoints that load on the CPU.
Skipped without CUDA."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from archdsl.train.inference import evaluate, load_trained  # noqa: E402
from archdsl.train.session import TrainOptions, train  # noqa: E402

pytestmark = pytest.mark.gpu

SPEC = """
network Small {
  input 1x8x8
  conv 16 k=3 p=1; bn; relu
  maxpool k=2
  flatten
  dropout 0.1
  fc 10
  softmax
}
train { optimizer adam lr=0.01; batch 64; epochs 2 }
"""


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_cuda_training(tmp_path, precision, channels_last):
    result = train(SPEC, TrainOptions(out=tmp_path, device="cuda", precision=precision,
                                      channels_last=channels_last, progress="quiet"))
    assert result.history[-1]["val_acc"] > 0.8
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in saved["model"].values())
    assert (saved["scaler"] is not None) == (precision == "fp16")
    on_cpu = evaluate(load_trained(SPEC, tmp_path / "best.pt", device="cpu"), "digits")
    assert on_cpu.accuracy > 0.8


def test_cuda_resume_is_exact(tmp_path):
    whole = train(SPEC, TrainOptions(out=tmp_path / "whole", device="cuda", progress="quiet", report=False))

    def stop(row, state):
        if row["epoch"] == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train(SPEC, TrainOptions(out=tmp_path / "cut", device="cuda", progress="quiet", report=False),
              on_epoch_end=stop)
    resumed = train(SPEC, TrainOptions(resume=tmp_path / "cut" / "last.pt", device="cuda", progress="quiet",
                                       report=False))
    # cuDNN may pick non-deterministic kernels, so exactness is asked of the CPU only.
    for a, b in zip(whole.history, resumed.history, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-3, abs=1e-3)


def test_cuda_compile(tmp_path):
    result = train(SPEC, TrainOptions(out=tmp_path, device="cuda", compile=True, progress="quiet", report=False))
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    assert not any(key.startswith(("_orig_mod.", "module.")) for key in saved["model"])
    assert result.history[-1]["val_acc"] > 0.8
