"""What an output pixel reads from the network's input: the record the
receptive-field analysis (analysis.py, tokenfields.py) computes per node."""
from __future__ import annotations

from archdsl.records import dataclass


@dataclass(slots=True, unsafe_hash=True)
class Field:
    """Per spatial axis, what output pixel i of a node reads from the network's
    input: the pixels start + i * jump ... start + i * jump + size - 1 (before
    clipping to the image; `start` is negative where padding is read).

    Never changed once made (nodes with the same window share one), but not
    declared frozen: a frozen class's `__init__` costs several times as much,
    and the analysis makes one per layer."""

    size: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[int, ...]
    # Token tensors only (tokenfields.py): the grid of pixels their tokens came
    # from, over which `start + i * jump` runs; a jump of 0 means every token
    # reads the same window (after global attention).
    grid: tuple[int, ...] | None = None
