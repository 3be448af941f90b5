"""Using a trained checkpoint: `archdsl eval` (a data set -> loss, accuracy,
classification report) and `archdsl predict` (image files -> classes).

Both rebuild the model from the spec, refuse a checkpoint of another
architecture (checkpoint.verify), and prepare inputs exactly as training
did: the same resampling and the training set's normalisation, which the
checkpoint keeps."""
from __future__ import annotations

import math
from pathlib import Path

import torch

import archdsl
from archdsl.records import dataclass

from . import checkpoint
from .data import load_data, read_image
from .devices import resolve_device, resolve_precision
from .loop import predict as predict_probs
from .package import UsageError
from .prepare import check_classes, fit_to_input, normalise
from .session import load_network


@dataclass
class Loaded:
    """A spec's model with a checkpoint's weights, ready to run."""
    net: object
    model: torch.nn.Module
    payload: dict
    device: torch.device
    precision: object

    @property
    def classes(self) -> list[str]:
        return list(self.payload["classes"])

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        stats = self.payload["normalisation"]
        return normalise(x, stats["mean"], stats["std"])

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return predict_probs(self.model, x, self.device, self.precision)


def load_trained(spec, ckpt, *, device: str = "auto", precision: str = "fp32", network=None,
                 input_shape=None) -> Loaded:
    net = load_network(spec, network, input_shape)
    payload = checkpoint.load(ckpt)
    model = archdsl.build(net)
    checkpoint.verify(payload, ckpt, net, model)
    model.load_state_dict(payload["model"])
    dev = resolve_device(device)
    return Loaded(net, model.to(dev).eval(), payload, dev, resolve_precision(precision, dev))


@dataclass
class Evaluation:
    data: str
    n: int
    loss: float
    accuracy: float
    classification: object
    notes: list


def evaluate(loaded: Loaded, source: str | None = None, *, resize: bool | None = None) -> Evaluation:
    """Loss, accuracy and the classification report of `loaded` on `source`'s
    test split. `source` and `resize` default to what training used."""
    from . import report
    if source is None:
        source = loaded.payload["data"].get("source", "digits")
    if resize is None:
        resize = bool(loaded.payload.get("resize"))
    shape = tuple(loaded.net.input_shape)
    fit = {"size": shape[1:], "grey": shape[0] == 1} if resize and len(shape) == 3 else {}
    data = load_data(source, "test", **fit)
    notes: list[str] = []
    x = loaded.normalise(fit_to_input(data, loaded.net, resize, notes))
    check_classes(data, loaded.net, training=False)
    probs = loaded.probabilities(x)
    y = torch.from_numpy(data.y)
    picked = probs[torch.arange(len(y)), y].clamp_min(1e-12)
    loss = float(-picked.log().mean()) if len(y) else math.nan
    pred = probs.argmax(1)
    c = report.classify(data.y, pred.numpy(), _names(loaded.classes, probs.shape[1]))
    return Evaluation(data.name, len(y), loss, float((pred == y).float().mean()) if len(y) else math.nan, c, notes)


@dataclass
class Prediction:
    file: str
    top: list  # (class name, probability), most likely first


def predict_files(loaded: Loaded, files: list[str], top: int = 1) -> list[Prediction]:
    """The `top` classes of each image file, which is converted to the spec's
    channels and resampled to its input size (photos come in any size)."""
    shape = tuple(loaded.net.input_shape)
    if len(shape) != 3:
        raise UsageError(f"predict reads image files; the spec's input is {'x'.join(map(str, shape))}, not CxHxW")
    if shape[0] not in (1, 3):
        raise UsageError(f"predict reads grey or RGB images; the spec's input has {shape[0]} channels")
    for f in files:
        if not Path(f).is_file():
            raise UsageError(f"{f}: no such file")
    images = torch.stack([torch.from_numpy(read_image(Path(f), size=shape[1:], grey=shape[0] == 1))
                          for f in files])
    probs = loaded.probabilities(loaded.normalise(images))
    names = _names(loaded.classes, probs.shape[1])
    k = min(top, probs.shape[1])
    values, indices = probs.topk(k, dim=1)
    return [Prediction(f, [(names[i], float(v)) for v, i in zip(vs.tolist(), ix.tolist(), strict=True)])
            for f, vs, ix in zip(files, values, indices, strict=True)]


def _names(classes: list[str], k: int) -> list[str]:
    return list(classes) + [str(i) for i in range(len(classes), k)]
