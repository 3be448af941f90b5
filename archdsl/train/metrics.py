"""The metrics log: one row per epoch, CSV or JSON Lines.

The whole log is rewritten (atomically) after every epoch from the run's
history, which the checkpoint also holds; so after `--resume` the log is the
history of the checkpoint, with no rows from epochs that were lost."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .package import write_atomic

COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s", "time_s", "best")
FORMATS = ("csv", "jsonl")


def render(history: list[dict], fmt: str) -> str:
    rows = [{c: row.get(c) for c in COLUMNS} for row in history]
    if fmt == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else _cell(v)) for k, v in row.items()})
    return out.getvalue()


def _cell(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write(path: Path, history: list[dict], fmt: str) -> None:
    write_text(path, render(history, fmt))


def write_text(path: Path, data: str | bytes) -> None:
    """Write beside, then rename over: readers never see half a file."""
    write_atomic(path, data)
