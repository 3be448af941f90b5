"""The optimiser, learning-rate schedule and loss a TrainConfig describes,
built from dispatch tables keyed by the spec's words (`sgd`, `cosine`)."""
from __future__ import annotations

import math

import torch

from .config import TrainConfig

# -- optimisers -----------------------------------------------------------------------

def _sgd(params, o):
    return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"],
                           weight_decay=o["weight_decay"])


def _adam(params, o):
    return torch.optim.Adam(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
                            weight_decay=o["weight_decay"])


def _adamw(params, o):
    return torch.optim.AdamW(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"],
                             weight_decay=o["weight_decay"])


OPTIMIZERS = {"sgd": _sgd, "adam": _adam, "adamw": _adamw}


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    return OPTIMIZERS[config.optimizer["name"]](params, config.optimizer)


# -- losses ---------------------------------------------------------------------------

LOSSES = {
    "crossentropy": lambda loss: torch.nn.CrossEntropyLoss(label_smoothing=loss["label_smoothing"]),
}


def make_loss(config: TrainConfig) -> torch.nn.Module:
    return LOSSES[config.loss["name"]](config.loss)


# -- schedules ------------------------------------------------------------------------

class Schedule:
    """A learning-rate schedule with one interface for the loop: `after_step()`
    per optimiser step (step, cosine and their warm-up move per step, so a
    short warm-up is smooth), `after_epoch(metrics)` per epoch (plateau)."""

    def __init__(self, optimizer, scheduler=None, monitor: str | None = None):
        self.optimizer, self.scheduler, self.monitor = optimizer, scheduler, monitor

    def after_step(self) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.LambdaLR):
            self.scheduler.step()

    def after_epoch(self, metrics: dict) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(metrics[self.monitor])

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)


def _warmup(step: int, per_epoch: int, warmup: float) -> float | None:
    """The warm-up factor while warming up, else None: linear, the first step
    at 1/(warm-up steps) so it never trains at lr 0, the last at 1."""
    steps = warmup * per_epoch
    return min(1.0, (step + 1) / steps) if steps and step < steps else None


def _step_factor(s, epochs, base_lr):
    def factor(step, per_epoch):
        warm = _warmup(step, per_epoch, s["warmup"])
        return warm if warm is not None else s["gamma"] ** (step // per_epoch // s["step_size"])
    return factor


def _cosine_factor(s, epochs, base_lr):
    floor = s["min_lr"] / base_lr

    def factor(step, per_epoch):
        warm = _warmup(step, per_epoch, s["warmup"])
        if warm is not None:
            return warm
        start, total = s["warmup"] * per_epoch, epochs * per_epoch
        progress = min(1.0, (step - start) / max(total - start, 1))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


FACTORS = {"step": _step_factor, "cosine": _cosine_factor}


def make_schedule(config: TrainConfig, optimizer, steps_per_epoch: int, monitor: str) -> Schedule:
    """`monitor` is the metric plateau watches (the training loss stands in for
    val_loss when there is no validation set)."""
    s = config.schedule
    if s["name"] == "none":
        return Schedule(optimizer)
    if s["name"] == "plateau":
        mode = "max" if monitor.endswith("acc") else "min"
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=s["factor"], patience=s["patience"], min_lr=s["min_lr"])
        return Schedule(optimizer, scheduler, monitor)
    factor = FACTORS[s["name"]](s, config.epochs, config.optimizer["lr"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: factor(step, steps_per_epoch))
    return Schedule(optimizer, scheduler)
