"""Checkpoints: written atomically, read safely, and refused with the
difference when they do not belong to the spec.

A checkpoint is a dict of plain values and tensors (torch.save), loaded with
`weights_only=True`, so opening one never runs code. It records the
network's architecture -- every layer's name, kind, hyper-parameters and
output shape, and every weight's shape -- and its hash; `verify` compares it
with the spec at hand. `model` holds the `state_dict`, whose keys read like
the spec's layer names (`conv1.weight`)."""
from __future__ import annotations

import difflib
import hashlib
import json
import os
from pathlib import Path

import torch

from .package import ArchError, Diagnostic, UsageError, atomic_path

FORMAT = "archdsl-checkpoint/1"


def architecture(net, model: torch.nn.Module) -> dict:
    """What a checkpoint must match: layers as the analysis sees them, weights as torch does."""
    return {
        "input": list(net.input_shape),
        "layers": [[layer.name, layer.op, layer.hyper, _dims(layer.output_shape)] for layer in net.layers],
        "weights": {key: list(value.shape) for key, value in model.state_dict().items()},
    }


def spec_hash(arch: dict) -> str:
    """A short stable hash of an architecture (not of the spec's text: comments,
    the network's name and the train section do not change it)."""
    return hashlib.sha256(json.dumps(arch, sort_keys=True).encode()).hexdigest()[:16]


def save(path: Path, payload: dict) -> None:
    """torch.save to a temporary file beside `path`, then rename over it: an
    interrupted write never leaves a broken checkpoint or loses the previous one."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())


def load(path) -> dict:
    """A checkpoint's contents on the CPU; a usage error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip and torch raise assorted types
        raise UsageError(f"{path} is not a readable checkpoint ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UsageError(f"{path} is not an archdsl checkpoint (no '{FORMAT}' format tag)")
    return payload


def verify(payload: dict, path, net, model: torch.nn.Module) -> None:
    """Refuse a checkpoint of another architecture, saying what differs and
    pointing at the first spec layer concerned."""
    arch = architecture(net, model)
    saved = payload["spec"]["architecture"]
    if spec_hash(arch) == payload["spec"]["hash"] and arch == saved:
        return
    layers, first = _layer_differences(saved, arch)
    weights = _weight_differences(saved["weights"], arch["weights"])
    notes = [f"checkpoint: {payload['spec'].get('network', '?')}, {_outline(saved)} "
             f"(architecture {payload['spec']['hash']})",
             f"spec:       {net.name}, {_outline(arch)} (architecture {spec_hash(arch)})"]
    notes += _capped(layers, 6, "layer differences") + _capped(weights, 6, "weight differences")
    span = net.layers[first].node.span if first is not None and first < len(net.layers) else \
        (net.layers[0].node.span if net.layers else None)
    raise ArchError(Diagnostic(
        "error", f"{path} was trained on a different network", span, notes,
        "use the spec the checkpoint was trained with (the checkpoint keeps its text under "
        "['spec']['text']), or train this one"))


def _outline(arch: dict) -> str:
    layers = arch["layers"]
    params = sum(_count(shape) for shape in arch["weights"].values())
    out = layers[-1][3] if layers else "?"
    return f"{len(layers)} layers, {_dims(arch['input'])} -> {out}, {params:,} values in the state_dict"


def _count(shape) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def _capped(notes: list[str], limit: int, what: str) -> list[str]:
    if len(notes) <= limit:
        return notes
    return notes[:limit] + [f"... and {len(notes) - limit} more {what}"]


def _layer_differences(saved: dict, arch: dict) -> tuple[list[str], int | None]:
    """Rows that differ, a changed layer as one line with both versions."""
    notes = []
    old = [tuple(row) for row in saved["layers"]]  # the input layer's row carries the input shape
    new = [tuple(row) for row in arch["layers"]]
    first = None
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first = j1 if first is None else first
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for a, b in zip(old[i1:i1 + pairs], new[j1:j1 + pairs], strict=True):
            if a[0] == b[0]:
                notes.append(f"{a[0]}: checkpoint {_row(a, name=False)}, spec {_row(b, name=False)}")
            else:
                notes.append(f"checkpoint {_row(a)}, spec {_row(b)}")
        notes += [f"only in the checkpoint: {_row(r)}" for r in old[i1 + pairs:i2]]
        notes += [f"only in the spec: {_row(r)}" for r in new[j1 + pairs:j2]]
    return notes, first


def _weight_differences(old: dict, new: dict) -> list[str]:
    notes = [f"{key}: checkpoint {_dims(old[key])}, spec {_dims(new[key])}"
             for key in new if key in old and old[key] != new[key]]
    missing = [k for k in new if k not in old]
    extra = [k for k in old if k not in new]
    if missing:
        notes.append(f"weights the checkpoint lacks: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    if extra:
        notes.append(f"weights the spec lacks: {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}")
    return notes


def _row(row, name: bool = True) -> str:
    label, op, hyper, shape = row
    text = f"{op}{' ' + hyper if hyper else ''} -> {shape}"
    return f"{label} ({text})" if name else text


def _dims(shape) -> str:
    if shape is None:
        return "?"
    return "x".join(str(v) for v in shape) if len(shape) else "scalar"
