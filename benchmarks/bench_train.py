"""`archdsl train` against hand-written PyTorch, measured side by side in one run:

1. training throughput (samples/s of the training pass) of `archdsl train`'s
   loop against a minimal hand-written loop: the same built LeNet, the same
   prepared digits (resampled to 28x28), Adam, batch 64, interleaved and
   taking turns to go first;
2. `archdsl train` in 2 gloo processes under torchrun against 1 process
   (whole-process wall time and training samples/s);
3. the time from starting the process to the end of the first optimiser
   step, against `python -c "import torch"` and against a minimal
   hand-written script that does the same first step.

    python benchmarks/bench_train.py [--epochs 4] [--repeats 3] [--starts 5]

Time to the first step is taken from outside: the process is started by a
tiny driver that wraps the first train_step to exit right after it, so what
follows (validation, checkpoints) is not counted."""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import archdsl
from archdsl.train.data import load_data
from archdsl.train.prepare import prepare
from archdsl.train.session import TrainOptions, train

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "lenet_mnist.arch"
BATCH = 64


# -- 1. throughput ------------------------------------------------------------------------

class HandWritten:
    """The loop a person writes first: shuffle, forward, loss, backward, step,
    on the same model and prepared data. `epoch()` returns its samples/s."""

    def __init__(self):
        net = archdsl.load(SPEC)
        data = prepare(net, load_data("digits"), None, validation=0.2, seed=0, resize=True)
        torch.manual_seed(0)
        self.model = archdsl.build(net)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.x, self.y = data.train_x, data.train_y
        self.speeds: list[float] = []

    def epoch(self) -> None:
        model, optimizer, x, y = self.model, self.optimizer, self.x, self.y
        model.train()
        started = time.perf_counter()
        order = torch.randperm(len(y))
        for i in range(0, len(y), BATCH):
            index = order[i:i + BATCH]
            optimizer.zero_grad()
            loss = self.loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        self.speeds.append(len(y) / (time.perf_counter() - started))


def throughput(epochs: int, repeats: int, tmp: Path) -> dict:
    """Epoch by epoch in lockstep: after each of archdsl's epochs (its
    on_epoch_end hook) the hand-written loop runs one, and every other repeat
    the hand-written loop goes first, so load on the machine hits both alike."""
    ours, hand = [], HandWritten()
    for r in range(repeats):
        if r % 2:
            hand.epoch()
        result = train(str(SPEC), TrainOptions(
            data="digits", resize=True, out=tmp / f"t{r}", device="cpu", progress="quiet", report=False,
            overrides={"epochs": epochs if r % 2 == 0 else epochs - 1, "batch": BATCH}),
            on_epoch_end=lambda row, state: hand.epoch())
        ours += [row["samples_per_s"] for row in result.history]
    return {"archdsl": statistics.median(ours), "hand": statistics.median(hand.speeds),
            "epochs": (len(ours), len(hand.speeds))}


# -- 2. two processes against one -----------------------------------------------------------

def cli_run(nproc: int, epochs: int, out: Path) -> tuple[float, float]:
    args = ["-m", "archdsl.train", "train", str(SPEC), "--data", "digits", "--resize", "--epochs", str(epochs),
            "--device", "cpu", "--no-report", "-q", "--out", str(out)]
    if nproc > 1:
        args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, env=env, cwd=ROOT, capture_output=True)
    wall = time.perf_counter() - started
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    return wall, statistics.median(float(r["samples_per_s"]) for r in rows)


def processes(epochs: int, repeats: int, tmp: Path) -> dict:
    runs = {1: [], 2: []}
    for r in range(repeats):
        for n in ((1, 2) if r % 2 == 0 else (2, 1)):
            runs[n].append(cli_run(n, epochs, tmp / f"p{n}-{r}"))
    return {n: (statistics.median(w for w, _ in v), statistics.median(s for _, s in v)) for n, v in runs.items()}


# -- 3. time to the first step ------------------------------------------------------------------

FIRST_STEP_DRIVER = """
import os, sys
import archdsl.train.loop as loop
from archdsl.cli import train as command
step = loop.Trainer.train_step
def first(self, index):
    step(self, index)
    os._exit(0)
loop.Trainer.train_step = first
command.main(sys.argv[1:])
"""

HAND_FIRST_STEP = """
import gzip, importlib.util, os
from pathlib import Path
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
spec = importlib.util.find_spec("sklearn")
csv = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
table = np.loadtxt(csv, delimiter=",", dtype=np.float32)
x = F.interpolate(torch.from_numpy(table[:, :-1].reshape(-1, 1, 8, 8) / 16), size=(28, 28), mode="bilinear")
y = torch.from_numpy(table[:, -1].astype(np.int64))
x = (x - x.mean()) / x.std()
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5, padding=2),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2450, 500), nn.ReLU(), nn.Linear(500, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
index = torch.randperm(len(y))[:64]
opt.zero_grad(); nn.functional.cross_entropy(model(x[index]), y[index]).backward(); opt.step()
os._exit(0)
"""


def wall(argv: list[str], cwd=ROOT) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, cwd=cwd, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


def first_step(starts: int, tmp: Path) -> dict:
    commands = {
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "hand-written script, first step": [sys.executable, "-c", HAND_FIRST_STEP],
        "archdsl train, first step": [sys.executable, "-c", FIRST_STEP_DRIVER, "train", str(SPEC), "--data", "digits",
                                      "--resize", "-q", "--device", "cpu", "--out", str(tmp / "first")],
    }
    times = {name: [] for name in commands}
    for r in range(starts):
        order = list(commands) if r % 2 == 0 else list(commands)[::-1]
        for name in order:
            times[name].append(wall(commands[name]))
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = throughput(args.epochs, args.repeats, tmp)
        print(f"\n1. training throughput, LeNet on digits 28x28, batch {BATCH}, median over "
              f"{t['epochs'][0]} and {t['epochs'][1]} epochs\n")
        print("| loop | samples/s | ratio |\n|---|---:|---:|")
        print(f"| hand-written | {t['hand']:,.0f} | 1.00 |")
        print(f"| archdsl train | {t['archdsl']:,.0f} | {t['archdsl'] / t['hand']:.2f} |")
        p = processes(args.epochs, max(args.repeats - 1, 1), tmp)
        print(f"\n2. archdsl train, {args.epochs} epochs, whole process (median of {max(args.repeats - 1, 1)})\n")
        print("| processes | wall time | training samples/s | speed-up |\n|---|---:|---:|---:|")
        for n in (1, 2):
            print(f"| {n} | {p[n][0]:.1f} s | {p[n][1]:,.0f} | {p[n][1] / p[1][1]:.2f}x |")
        f = first_step(args.starts, tmp)
        base = f["python -c 'import torch'"]
        print(f"\n3. process start to the end of the first step (median of {args.starts})\n")
        print("| command | wall time | ratio to import torch |\n|---|---:|---:|")
        for name, seconds in f.items():
            print(f"| {name} | {seconds:.2f} s | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
