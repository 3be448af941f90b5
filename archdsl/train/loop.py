"""The training loop: epochs of shuffled batches, validation, the schedule,
early stopping and the best/last bookkeeping.

It is written for any number of processes: each rank trains on its share of
every global batch (DistributedDataParallel averages the gradients), and the
metrics are sums over ranks, so every rank takes the same decisions (stop,
best) from the same numbers without asking rank 0.

Metrics are summed as tensors on the device and read back only when the
reporter wants an update, so a GPU is not made to wait on every step."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from archdsl.records import dataclass, field

from . import distributed
from .augment import Augmenter
from .config import TrainConfig
from .devices import Precision
from .optim import Schedule
from .prepare import Prepared

EVAL_BATCH = 512


@dataclass
class Parts:
    """What the loop runs. `model` is the module as built (its state_dict keys
    read like the spec); `forward` is what trains: the same module, or its
    DistributedDataParallel / torch.compile wrapper."""
    model: torch.nn.Module
    forward: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    loss_fn: torch.nn.Module
    scaler: object | None
    precision: Precision
    device: torch.device
    memory_format: torch.memory_format
    ctx: distributed.Context
    data: Prepared
    config: TrainConfig
    augmenter: Augmenter


@dataclass
class State:
    """What changes as training goes and a checkpoint must restore."""
    epoch: int = 0                 # epochs completed
    step: int = 0                  # optimiser steps taken
    history: list = field(default_factory=list)
    best: float | None = None      # the best monitored value so far
    best_epoch: int | None = None
    stale: int = 0                 # epochs since the monitored value last improved
    stopped: str | None = None     # why training ended before its last epoch

    def to_dict(self) -> dict:
        return dict(vars(self))


def monitored(name: str, has_validation: bool) -> str:
    """The metric a setting watches; the training figure stands in without validation."""
    return name if has_validation else name.replace("val_", "train_")


class Trainer:
    """Runs epochs until the configured count, early stopping or `max_steps`.

    `save(kind, state)` is called on every rank after each epoch ("last", and
    "best" when the monitored metric improved); `on_epoch_end(row, state)` is
    a hook for callers (tests interrupt a run there)."""

    def __init__(self, parts: Parts, state: State, reporter, *, save: Callable | None = None,
                 on_epoch_end: Callable | None = None, max_steps: int | None = None):
        self.p, self.state, self.reporter = parts, state, reporter
        self.save, self.on_epoch_end, self.max_steps = save, on_epoch_end, max_steps
        has_val = parts.data.val_x is not None
        stop = parts.config.early_stop
        self.monitor = monitored(stop["monitor"] if stop else "val_acc", has_val)
        self.local_batch = parts.config.batch // parts.ctx.world
        self.sampler = distributed.sampler(parts.ctx, len(parts.data.train_y), parts.config.seed)

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.sampler) // self.local_batch)

    def run(self) -> State:
        config, state = self.p.config, self.state
        self.reporter.begin(config.epochs, len(self.sampler) * self.p.ctx.world)
        try:
            while state.epoch < config.epochs and state.stopped is None:
                row = self.epoch(state.epoch + 1)
                state.epoch += 1
                if not math.isfinite(row["train_loss"]):
                    state.stopped = (f"stopped: the training loss became {row['train_loss']} in epoch {row['epoch']}; "
                                     "lower the learning rate (--lr) or clip the gradients (clip 1)")
                improved = self.judge(row)
                row["best"] = improved
                state.history.append(row)
                self.p.schedule.after_epoch(row)
                if self.save is not None:
                    self.save("last", state, best=improved)
                self.reporter.epoch_end(row)
                if self.on_epoch_end is not None:
                    self.on_epoch_end(row, state)
        finally:
            self.reporter.close()
        return state

    def judge(self, row: dict) -> bool:
        """Did the monitored metric improve? Updates best, staleness and early stopping."""
        state, stop = self.state, self.p.config.early_stop
        value = row[self.monitor]
        delta = stop["min_delta"] if stop else 0.0
        higher = self.monitor.endswith("acc")
        improved = state.best is None or (value > state.best + delta if higher else value < state.best - delta)
        if improved:
            state.best, state.best_epoch, state.stale = value, row["epoch"], 0
        else:
            state.stale += 1
            if stop and state.stale >= stop["patience"]:
                state.stopped = (f"early stop: no better {self.monitor} for {state.stale} epochs "
                                 f"(best {state.best:.4f} at epoch {state.best_epoch})")
        return improved

    def epoch(self, epoch: int) -> dict:
        p = self.p
        p.model.train()
        self.sampler.set_epoch(epoch - 1)
        p.augmenter.start_epoch(epoch)
        order = torch.tensor(list(self.sampler), dtype=torch.long)
        self.reporter.epoch_start(epoch)
        sums = torch.zeros(3, dtype=torch.float64, device=p.device)  # loss * n, correct, n
        started = last_update = time.perf_counter()
        lr = p.schedule.lr
        for i in range(0, len(order), self.local_batch):
            index = order[i:i + self.local_batch]
            sums += self.train_step(index)
            self.state.step += 1
            now = time.perf_counter()
            if now - last_update >= self.reporter.interval:
                last_update = now
                loss, correct, n = sums.tolist()
                done = min(i + self.local_batch, len(order)) * p.ctx.world
                self.reporter.step(done, loss / n, correct / n, done / (now - started))
            if self.max_steps is not None and self.state.step >= self.max_steps:
                self.state.stopped = f"--max-steps {self.max_steps} reached"
                break
        loss, correct, n = distributed.all_sum(p.ctx, sums).tolist()
        seconds = time.perf_counter() - started
        row = {"epoch": epoch, "lr": lr, "train_loss": loss / n, "train_acc": correct / n,
               "val_loss": None, "val_acc": None, "samples_per_s": n / seconds, "time_s": seconds}
        if p.data.val_x is not None:
            val = self.evaluate(p.data.val_x, p.data.val_y)
            row.update(val_loss=val["loss"], val_acc=val["acc"])
        return row

    def train_step(self, index: torch.Tensor) -> torch.Tensor:
        """One optimiser step on the samples `index`; returns (loss * n, correct, n)."""
        p = self.p
        x, y = self.batch(p.data.train_x, p.data.train_y, index)
        x = p.augmenter(x, index)
        with p.precision.autocast(p.device):
            logits = p.forward(x)
            loss = p.loss_fn(logits, y)
        p.optimizer.zero_grad(set_to_none=True)
        clip = p.config.clip
        if p.scaler is not None:
            p.scaler.scale(loss).backward()
            if clip:
                p.scaler.unscale_(p.optimizer)
                torch.nn.utils.clip_grad_norm_(p.model.parameters(), clip["norm"])
            p.scaler.step(p.optimizer)
            p.scaler.update()
        else:
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(p.model.parameters(), clip["norm"])
            p.optimizer.step()
        p.schedule.after_step()
        with torch.no_grad():
            n = y.new_tensor(len(y), dtype=torch.float64)
            correct = (logits.argmax(1) == y).sum().to(torch.float64)
            return torch.stack([loss.detach().to(torch.float64) * n, correct, n])

    def batch(self, xs: torch.Tensor, ys: torch.Tensor, index: torch.Tensor):
        p = self.p
        x = xs[index.to(xs.device)].to(p.device, non_blocking=True)
        y = ys[index.to(ys.device)].to(p.device, non_blocking=True)
        if x.dim() == 4:
            x = x.contiguous(memory_format=p.memory_format)
        return x, y

    @torch.no_grad()
    def evaluate(self, xs: torch.Tensor, ys: torch.Tensor) -> dict:
        """Loss and accuracy over a whole set, each rank on its shard, summed."""
        p = self.p
        p.model.eval()
        sums = torch.zeros(3, dtype=torch.float64, device=p.device)
        index = distributed.shard(p.ctx, len(ys))
        for i in range(0, len(index), EVAL_BATCH):
            x, y = self.batch(xs, ys, index[i:i + EVAL_BATCH])
            with p.precision.autocast(p.device):
                logits = p.model(x)
                loss = p.loss_fn(logits.float(), y)
            sums += torch.stack([loss.to(torch.float64) * len(y), (logits.argmax(1) == y).sum().double(),
                                 torch.tensor(float(len(y)), dtype=torch.float64, device=p.device)])
        p.model.train()
        loss, correct, n = distributed.all_sum(p.ctx, sums).tolist()
        return {"loss": loss / max(n, 1), "acc": correct / max(n, 1)}


@torch.no_grad()
def predict(model: torch.nn.Module, xs: torch.Tensor, device: torch.device, precision: Precision,
            memory_format=torch.contiguous_format) -> torch.Tensor:
    """Class probabilities for every sample of `xs` (one process, no sharding)."""
    model.eval()
    out = []
    for i in range(0, len(xs), EVAL_BATCH):
        x = xs[i:i + EVAL_BATCH].to(device)
        if x.dim() == 4:
            x = x.contiguous(memory_format=memory_format)
        with precision.autocast(device):
            logits = model(x)
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out) if out else torch.zeros(0)
