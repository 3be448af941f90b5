"""Fitting a data set to a spec: shape and class checks, `--resize`, the
validation split and the normalisation, giving tensors ready to batch.

A mismatch is reported at the spec's `input` line (or its last layer, for
the classes) with both shapes and the fix, like any other spec error."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from archdsl.records import dataclass

from .data import DataSet
from .package import ArchError, Diagnostic

# ITU-R 601 luma, as PIL's convert("L") uses.
LUMA = (0.299, 0.587, 0.114)


@dataclass
class Prepared:
    """Normalised tensors for training and validation (val_x is None without
    validation), the class names and the statistics used, for the checkpoint."""
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor | None
    val_y: torch.Tensor | None
    classes: list[str]
    mean: list[float]
    std: list[float]
    notes: list[str]  # what was done to the data, for the log ("resampled 8x8 to 28x28")
    train_name: str = ""
    val_name: str | None = None


def prepare(net, train: DataSet, val: DataSet | None, *, validation: float, seed: int,
            resize: bool) -> Prepared:
    """Check and fit `train` (and `val`) to `net`; split off validation when no
    `val` is given; normalise both with the training set's statistics."""
    notes: list[str] = []
    x = fit_to_input(train, net, resize, notes)
    check_classes(train, net)
    y = torch.from_numpy(train.y)
    if val is not None:
        vx = fit_to_input(val, net, resize, [])
        check_classes(val, net, training=False)
        vy = torch.from_numpy(val.y)
    elif validation > 0:
        x, y, vx, vy = split(x, y, validation, seed)
        if len(vy) == 0 or len(y) == 0:
            raise ArchError(Diagnostic("error", f"a validation split of {validation:g} leaves "
                                       f"{len(y)} training and {len(vy)} validation samples", None,
                                       hint="use --val-split with a fraction that keeps both non-empty"))
        notes.append(f"validation: {len(vy):,} of {len(train):,} samples held out (seed {seed})")
    else:
        vx = vy = None
    mean, std = statistics(x)
    x = normalise(x, mean, std)
    vx = normalise(vx, mean, std) if vx is not None else None
    return Prepared(x, y, vx, vy, train.classes, mean, std, notes, train.name, val.name if val else None)


def split(x: torch.Tensor, y: torch.Tensor, fraction: float, seed: int):
    """A random hold-out: the first round(N * fraction) of a seeded permutation."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=gen)
    n_val = int(round(len(y) * fraction))
    val, train = perm[:n_val].sort().values, perm[n_val:].sort().values
    return x[train], y[train], x[val], y[val]


def statistics(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation (one pair for flat samples)."""
    dims = [0] + list(range(2, x.dim())) if x.dim() > 2 else list(range(x.dim()))
    mean = x.double().mean(dim=dims)
    std = x.double().std(dim=dims)
    std = torch.where(std > 0, std, torch.ones_like(std))  # a constant channel stays as it is
    return mean.reshape(-1).tolist(), std.reshape(-1).tolist()


def normalise(x: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    shape = (1, -1) + (1,) * (x.dim() - 2) if len(mean) > 1 else (1,)
    m = torch.tensor(mean, dtype=x.dtype).reshape(shape)
    s = torch.tensor(std, dtype=x.dtype).reshape(shape)
    return (x - m) / s


# -- shapes ---------------------------------------------------------------------------

def fit_to_input(data: DataSet, net, resize: bool, notes: list[str]) -> torch.Tensor:
    """The data as a tensor of the spec's input shape: as it is when it fits,
    resampled and grey<->RGB converted with --resize, else an error at `input`."""
    want, have = tuple(net.input_shape), data.item_shape
    x = torch.from_numpy(data.x)
    if want == have:
        return x
    problem = _mismatch(want, have, resize)
    if problem is not None:
        raise ArchError(_shape_error(net, data, want, have, *problem))
    if have[0] != want[0]:
        x = convert_channels(x, want[0])
        notes.append(f"converted {'grey to RGB' if want[0] == 3 else 'RGB to grey'}")
    if have[1:] != want[1:]:
        x = resample(x, want[1:])
        notes.append(f"resampled {_dims(have[1:])} to {_dims(want[1:])}")
    return x


def _mismatch(want, have, resize):
    """None if --resize can fit `have` to `want` (and was given); else (notes, hint)."""
    images = len(want) == 3 and len(have) == 3
    channels_ok = have[0] == want[0] or {have[0], want[0]} == {1, 3}
    if images and channels_ok:
        if resize:
            return None
        fixes = []
        if have[1:] != want[1:]:
            fixes.append(f"resamples the images to {_dims(want[1:])}")
        if have[0] != want[0]:
            fixes.append("converts grey to RGB" if want[0] == 3 else "converts RGB to grey")
        return [], ("--resize " + " and ".join(fixes)
                    + f"; or change the spec's input to {_dims(have)} if its layers allow it")
    if images:
        return ([f"there is no conversion from {have[0]} to {want[0]} channels"],
                f"convert the images to {want[0]} channels first, or change the spec's input to {_dims(have)}")
    return [], (f"reshape the data to N x {' x '.join(map(str, want))}, "
                f"or change the spec's input to {_dims(have)}")


def _shape_error(net, data, want, have, notes, hint) -> Diagnostic:
    kind = "images" if len(have) == 3 else "samples"
    return Diagnostic(
        "error", f"the data's {kind} are {_dims(have)}, the spec's input is {_dims(want)}",
        _input_span(net), [f"data: {data.name}, {len(data):,} {kind} of {_dims(have)}", *notes], hint)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if channels == 3:
        return x.expand(-1, 3, *x.shape[2:]).contiguous()
    weights = torch.tensor(LUMA, dtype=x.dtype).reshape(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def resample(x: torch.Tensor, size, chunk: int = 4096) -> torch.Tensor:
    """Bilinear, antialiased when shrinking (so thin strokes are not lost), in
    chunks so a large set does not need twice its memory at once."""
    shrink = any(s < h for s, h in zip(size, x.shape[2:], strict=True))
    parts = [F.interpolate(x[i:i + chunk], size=tuple(size), mode="bilinear", align_corners=False,
                           antialias=shrink) for i in range(0, len(x), chunk)]
    return torch.cat(parts) if parts else x.new_zeros((0, x.shape[1], *size))


# -- classes --------------------------------------------------------------------------

def num_outputs(net) -> int | None:
    """The number of classes the spec predicts: its output size, when flat."""
    shape = tuple(net.output_shape or ())
    return shape[0] if len(shape) == 1 else None


def check_classes(data: DataSet, net, training: bool = True) -> None:
    """The spec must predict exactly the data's classes (any labels it has, for evaluation)."""
    k = num_outputs(net)
    if k is None:
        raise ArchError(Diagnostic(
            "error", f"archdsl train needs a classifier; the spec's output is {_dims(net.output_shape)}",
            _output_span(net), [], "end the network with flatten (or gap) and fc N, N the number of classes"))
    top = int(data.y.max()) + 1 if len(data.y) else 0
    n = max(len(data.classes), top) if training else top
    if (training and n != k) or n > k:
        names = ", ".join(data.classes[:6]) + (", ..." if len(data.classes) > 6 else "")
        raise ArchError(Diagnostic(
            "error", f"the spec's output has {k} classes, the data has {n}", _output_span(net),
            [f"data: {data.name}, classes {names}"],
            f"make the last layer fc {n}" if training else "evaluate on data with the classes it was trained on"))


def _input_span(net):
    return net.layers[0].node.span if net.layers else None


def _output_span(net):
    """The layer that makes the logits: the last one that is not a softmax."""
    for layer in reversed(net.layers):
        if layer.op != "softmax":
            return layer.node.span
    return None


def _dims(shape) -> str:
    return "x".join(str(v) for v in shape)
