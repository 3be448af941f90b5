"""archdsl.train: from a spec to a trained model, on one CPU, one GPU or many
processes (torchrun + DistributedDataParallel).

    >>> from archdsl.train import TrainOptions, train          # doctest: +SKIP
    >>> result = train("specs/lenet_mnist.arch", TrainOptions(data="digits", resize=True))

The spec's `train { ... }` section is read by `read_config` (section.py) and
summarised by `summary_lines`; neither imports torch, so `archdsl check` can
use them. Everything else imports torch and is loaded on first use."""
from __future__ import annotations

from .config import TrainConfig
from .section import read_config, summary_lines

__all__ = ["TrainConfig", "read_config", "summary_lines", "TrainOptions", "TrainResult", "train",
           "load_trained", "evaluate", "predict_files"]

_LAZY = {"TrainOptions": "session", "TrainResult": "session", "train": "session",
         "load_trained": "inference", "evaluate": "inference", "predict_files": "inference"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
