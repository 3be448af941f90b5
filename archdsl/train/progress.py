"""What a person watching a run sees, behind one interface:

- `bar`: a rich progress bar per epoch (loss, accuracy, samples/s, ETA) and
  one line per finished epoch above it;
- `plain`: for CI logs and pipes -- one line per epoch, and within a long
  epoch a progress line every 30 s, no control characters;
- `quiet`: nothing.

`auto` is `bar` on a terminal, else `plain`. Everything goes to stderr (the
final report goes to stdout, so `> report.txt` keeps just that). Only rank 0
reports."""
from __future__ import annotations

import importlib.util
import sys
import time

from .config import number_text

MODES = ("auto", "bar", "plain", "quiet")


def make_reporter(mode: str, *, stream=None):
    stream = stream or sys.stderr
    if mode == "auto":
        terminal = hasattr(stream, "isatty") and stream.isatty()
        mode = "bar" if terminal and importlib.util.find_spec("rich") is not None else "plain"
    return REPORTERS[mode](stream)


def epoch_line(row: dict, epochs: int) -> str:
    """`epoch  3/5  train loss 0.1234 acc 96.5%  val loss ...  lr 1e-3  412 samples/s  3.4s`."""
    width = len(str(epochs))
    parts = [f"epoch {row['epoch']:>{width}}/{epochs}",
             f"train loss {row['train_loss']:.4f} acc {row['train_acc']:6.2%}"]
    if row.get("val_loss") is not None:
        parts.append(f"val loss {row['val_loss']:.4f} acc {row['val_acc']:6.2%}")
    lr = float(f"{row['lr']:.3g}")
    parts += [f"lr {number_text(lr)}", f"{row['samples_per_s']:,.0f} samples/s", f"{row['time_s']:.1f}s"]
    line = "  ".join(parts)
    return line + ("  best" if row.get("best") else "")


class Quiet:
    """Says nothing; the loop asks it for updates never."""
    interval = float("inf")

    def __init__(self, stream=None):
        self.stream = stream

    def begin(self, epochs: int, samples: int) -> None:
        self.epochs, self.samples = epochs, samples

    def epoch_start(self, epoch: int) -> None:
        pass

    def step(self, done: int, loss: float, acc: float, speed: float) -> None:
        pass

    def epoch_end(self, row: dict) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class Plain(Quiet):
    """Lines only: what a CI log shows well."""
    interval = 30.0

    def epoch_start(self, epoch: int) -> None:
        self.epoch = epoch
        self.started = time.perf_counter()

    def step(self, done, loss, acc, speed) -> None:
        eta = (self.samples - done) / speed if speed > 0 else 0
        self._print(f"epoch {self.epoch}/{self.epochs}  {done / self.samples:4.0%} ({done:,}/{self.samples:,})  "
                    f"loss {loss:.4f} acc {acc:6.2%}  {speed:,.0f} samples/s  ETA {_clock(eta)}")

    def epoch_end(self, row: dict) -> None:
        self._print(epoch_line(row, self.epochs))

    def note(self, text: str) -> None:
        self._print(text)

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class Bar(Plain):
    """A live rich bar for the epoch in progress; finished epochs as lines above it."""
    interval = 0.2

    def __init__(self, stream=None):
        from rich.console import Console
        super().__init__(stream)
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True)
        self.progress = self.task = None

    def begin(self, epochs: int, samples: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        super().begin(epochs, samples)
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]} acc {task.fields[acc]} {task.fields[speed]} samples/s ETA"),
            TimeRemainingColumn(), console=self.console, transient=True)
        self.progress.start()

    def epoch_start(self, epoch: int) -> None:
        super().epoch_start(epoch)
        self.task = self.progress.add_task("", total=self.samples, epoch=f"{epoch}/{self.epochs}",
                                           loss="-", acc="-", speed="-")

    def step(self, done, loss, acc, speed) -> None:
        self.progress.update(self.task, completed=done, loss=f"{loss:.4f}", acc=f"{acc:.1%}",
                             speed=f"{speed:,.0f}")

    def epoch_end(self, row: dict) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.console.print(epoch_line(row, self.epochs), markup=False)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


REPORTERS = {"bar": Bar, "plain": Plain, "quiet": Quiet}
