"""Training runs on the digits, small enough for two cores: learning, the
files a run leaves, --seed determinism, bit-exact --resume, early stopping,
schedules and refused checkpoints."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

import archdsl  # noqa: E402
from archdsl.train import checkpoint  # noqa: E402
from archdsl.train.config import TrainConfig  # noqa: E402
from archdsl.train.optim import make_schedule  # noqa: E402
from archdsl.train.session import TrainOptions, train  # noqa: E402

TINY = """
network Tiny {
  input 1x8x8
  conv 8 k=3 p=1
  relu
  maxpool k=2
  flatten
  dropout 0.25
  fc 10
  softmax
}
train {
  optimizer sgd lr=0.05 momentum=0.9 nesterov=true
  schedule cosine warmup=1
  augment crop=1 flip=true
  batch 64
  epochs 3
}
"""

PLATEAU = TINY.replace("optimizer sgd lr=0.05 momentum=0.9 nesterov=true", "optimizer adam lr=0.01") \
              .replace("schedule cosine warmup=1", "schedule plateau patience=0 factor=0.5\n  early_stop 5\n  clip 1")

# What differs between two identical runs: the clock.
TIMING = ("samples_per_s", "time_s")


def run(tmp_path, spec=TINY, name="run", **options):
    options.setdefault("progress", "quiet")
    options.setdefault("device", "cpu")
    return train(spec, TrainOptions(out=tmp_path / name, **options))


def figures(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_learns_and_leaves_its_files(tmp_path):
    result = run(tmp_path)
    assert len(result.history) == 3
    assert result.history[-1]["val_acc"] > 0.8
    out = tmp_path / "run"
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png", "report.html"):
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = (out / "metrics.csv").read_text().splitlines()
    assert csv[0] == "epoch,lr,train_loss,train_acc,val_loss,val_acc,samples_per_s,time_s,best"
    assert len(csv) == 4
    page = (out / "report.html").read_text()
    assert "Classification report" in page and "Confusion matrix" in page and "data:image/png;base64," in page
    assert result.classification.matrix.sum() == 359
    # The checkpoint's keys read like the spec, and it says what it was trained on.
    saved = torch.load(out / "best.pt", weights_only=True)
    assert list(saved["model"]) == ["conv1.weight", "conv1.bias", "fc1.weight", "fc1.bias"]
    assert saved["spec"]["network"] == "Tiny" and "network Tiny" in saved["spec"]["text"]
    assert saved["classes"] == [str(i) for i in range(10)]
    assert saved["epoch"] == result.best_epoch


def test_the_learning_rate_follows_the_schedule(tmp_path):
    result = run(tmp_path)
    lrs = [row["lr"] for row in result.history]
    steps = math.ceil(1438 / 64)
    assert lrs[0] == pytest.approx(0.05 / steps)          # warm-up starts at one step's worth
    assert lrs[1] == pytest.approx(0.05)                   # warm-up over after one epoch
    assert lrs[2] == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # half-way down the cosine


def test_schedule_factors():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    config = TrainConfig(schedule={"name": "step", "step_size": 2, "gamma": 0.1, "warmup": 0.0}, epochs=6,
                         optimizer={"name": "sgd", "lr": 1.0, "momentum": 0.0, "nesterov": False,
                                    "weight_decay": 0.0})
    schedule = make_schedule(config, opt, steps_per_epoch=3, monitor="val_loss")
    lrs = []
    for _ in range(18):
        lrs.append(schedule.lr)
        opt.step()
        schedule.after_step()
    assert lrs == pytest.approx([1.0] * 6 + [0.1] * 6 + [0.01] * 6)


def test_seed_makes_runs_identical(tmp_path):
    a = run(tmp_path, name="a")
    b = run(tmp_path, name="b")
    c = run(tmp_path, name="c", overrides={"seed": 1})
    assert figures(a.history) == figures(b.history)
    assert same_weights(weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt"))
    assert figures(a.history) != figures(c.history)


class Interrupt(KeyboardInterrupt):
    pass


def stop_after(epoch):
    def hook(row, state):
        if row["epoch"] == epoch:
            raise Interrupt
    return hook


@pytest.mark.parametrize("spec", [TINY, PLATEAU], ids=["sgd-cosine-augment", "adam-plateau-earlystop-clip"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, spec):
    whole = run(tmp_path, spec, name="whole")
    with pytest.raises(Interrupt):
        train(spec, TrainOptions(out=tmp_path / "cut", progress="quiet", device="cpu"), on_epoch_end=stop_after(1))
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 1
    resumed = train(spec, TrainOptions(resume=tmp_path / "cut" / "last.pt", progress="quiet", device="cpu"))
    assert resumed.out == tmp_path / "cut"
    assert figures(resumed.history) == figures(whole.history)
    for name in ("last.pt", "best.pt"):
        assert same_weights(weights(tmp_path / "whole" / name), weights(tmp_path / "cut" / name)), name
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)["optimizer"]["state"]
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["optimizer"]["state"]
    assert all(torch.equal(a[k][s], b[k][s]) for k in a for s in a[k] if torch.is_tensor(a[k][s]))
    assert (tmp_path / "cut" / "metrics.csv").read_text().count("\n") == 4


def test_resume_can_extend_the_run(tmp_path):
    run(tmp_path, overrides={"epochs": 2})
    more = train(TINY, TrainOptions(resume=tmp_path / "run" / "last.pt", progress="quiet", device="cpu",
                                    overrides={"epochs": 3}))
    assert [row["epoch"] for row in more.history] == [1, 2, 3]


def test_early_stopping(tmp_path):
    spec = TINY.replace("epochs 3", "epochs 6\n  early_stop patience=2 monitor=val_acc min_delta=1")
    result = run(tmp_path, spec)
    assert len(result.history) == 3 and result.best_epoch == 1
    best = result.history[0]["val_acc"]
    assert result.stopped == f"early stop: no better val_acc for 2 epochs (best {best:.4f} at epoch 1)"


def test_a_diverging_run_stops_and_says_why(tmp_path):
    result = run(tmp_path, overrides={"lr": 1e8}, report=False)
    assert len(result.history) == 1
    assert result.stopped.startswith("stopped: the training loss became nan in epoch 1; lower the learning rate")


def test_max_steps_and_jsonl_log(tmp_path):
    result = run(tmp_path, max_steps=2, log_format="jsonl", report=False)
    assert result.stopped == "--max-steps 2 reached" and len(result.history) == 1
    assert (tmp_path / "run" / "metrics.jsonl").read_text().startswith('{"epoch": 1, "lr": ')
    assert not (tmp_path / "run" / "report.html").exists()


def test_a_checkpoint_of_another_network_is_refused(tmp_path):
    run(tmp_path, max_steps=1, report=False)
    wider = TINY.replace("conv 8 k=3 p=1", "conv 12 k=3 p=1")
    with pytest.raises(archdsl.ArchError) as info:
        train(wider, TrainOptions(resume=tmp_path / "run" / "last.pt", progress="quiet", device="cpu"))
    d = info.value.first
    assert d.message.endswith("last.pt was trained on a different network")
    assert d.line == 4  # the first layer that differs
    assert "conv1: checkpoint conv 3x3, s1, p1 -> 8x8x8, spec conv 3x3, s1, p1 -> 12x8x8" in d.notes
    assert "conv1.weight: checkpoint 8x1x3x3, spec 12x1x3x3" in d.notes
    # A comment, the network's name or the train section do not make it another network.
    renamed = TINY.replace("network Tiny", "# the same\nnetwork Small").replace("epochs 3", "epochs 4")
    model = archdsl.build(renamed)
    checkpoint.verify(checkpoint.load(tmp_path / "run" / "last.pt"), "last.pt", archdsl.loads(renamed), model)


def test_best_checkpoint_cannot_resume(tmp_path):
    run(tmp_path, max_steps=1, report=False)
    with pytest.raises(archdsl.UsageError, match="a best checkpoint, which keeps only the weights"):
        train(TINY, TrainOptions(resume=tmp_path / "run" / "best.pt", progress="quiet", device="cpu"))


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a zip")
    with pytest.raises(archdsl.UsageError, match="is not a readable checkpoint"):
        checkpoint.load(tmp_path / "x.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "y.pt")
    with pytest.raises(archdsl.UsageError, match="not an archdsl checkpoint"):
        checkpoint.load(tmp_path / "y.pt")


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    target = tmp_path / "last.pt"
    checkpoint.save(target, {"format": checkpoint.FORMAT, "n": 1})

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError):
        checkpoint.save(target, {"format": checkpoint.FORMAT, "n": 2})
    monkeypatch.undo()
    assert checkpoint.load(target)["n"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_default_output_folder_is_numbered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = train(TINY, TrainOptions(progress="quiet", device="cpu", max_steps=1, report=False))
    second = train(TINY, TrainOptions(progress="quiet", device="cpu", max_steps=1, report=False))
    assert (str(first.out), str(second.out)) == ("runs/Tiny", "runs/Tiny-2")


def test_batch_must_split_over_processes(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(archdsl.UsageError, match="batch 64 does not split evenly over 3 processes"):
        train(TINY, TrainOptions(progress="quiet", device="cpu"))
