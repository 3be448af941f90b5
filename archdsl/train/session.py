"""`archdsl train` as a function: spec + data + options -> a trained model,
its checkpoints, metrics log, curves and report.

This is where the pieces meet: the train section (section.py) with the
command line's overrides, the data (data.py, prepare.py), the device and
process group (devices.py, distributed.py), the loop (loop.py), the files
(checkpoint.py, metrics.py, curves.py, report.py). Each rank runs all of it;
rank 0 alone writes and prints."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch

import archdsl
from archdsl.records import dataclass, field

from . import checkpoint, distributed
from .augment import Augmenter
from .config import TrainConfig, apply_overrides, find_problems
from .data import load_data
from .devices import compile_model, memory_format, resolve_device, resolve_precision
from .loop import Parts, State, Trainer, monitored, predict
from .optim import make_loss, make_optimizer, make_schedule
from .package import ArchError, Diagnostic, UsageError
from .prepare import Prepared, prepare
from .progress import Quiet, make_reporter
from .section import read_config, summary_lines

FILES = {"last": "last.pt", "best": "best.pt", "curves": "curves.png", "report": "report.html"}


@dataclass
class TrainOptions:
    """Everything about a run that is not in the spec's train section."""
    data: str = "digits"
    val: str | None = None             # a validation source; else a split of the training data
    resize: bool = False
    out: str | Path | None = None      # default runs/<network>, numbered when taken
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    resume: str | Path | None = None
    progress: str = "auto"
    log_format: str = "csv"
    max_steps: int | None = None
    report: bool = True                # the classification report, curves and HTML at the end
    overrides: dict = field(default_factory=dict)  # flag -> value, see config.OVERRIDES
    network: str | None = None
    input_shape: tuple | None = None


@dataclass
class TrainResult:
    out: Path
    config: TrainConfig
    history: list
    best_epoch: int | None
    stopped: str | None
    files: dict
    classification: object | None = None


def train(spec, options: TrainOptions | None = None, *, on_epoch_end=None, stdout=None) -> TrainResult:
    """Train `spec` (a path, spec text or archdsl.Network). Under torchrun, every
    process calls this; they join one process group for the run."""
    options = options or TrainOptions()
    ctx = distributed.from_environment()
    device = resolve_device(options.device, ctx.local_rank if ctx.distributed else None)
    run = _Run(spec, options, ctx, device, on_epoch_end, stdout or sys.stdout)  # checks need no process group
    distributed.join(ctx, device)
    try:
        return run.run()
    finally:
        distributed.leave(ctx)


def load_network(spec, network=None, input_shape=None):
    """A Network from a path, spec text or a Network."""
    if isinstance(spec, archdsl.Network):
        return spec
    options = {"network": network, "input_shape": tuple(input_shape) if input_shape else None}
    if isinstance(spec, Path) or ("\n" not in spec and "{" not in spec):
        if not Path(spec).is_file():
            raise UsageError(f"{spec}: no such file")
        return archdsl.load(spec, **options)
    return archdsl.loads(spec, **options)


def configure(net, overrides: dict) -> TrainConfig:
    """The spec's train section with the command line's overrides, checked together."""
    config = apply_overrides(read_config(net), overrides)
    problems = find_problems(config)
    if problems:
        raise ArchError([Diagnostic("error", p.message, config.spans.get(p.where), [], p.hint)
                         for p in problems])
    return config


class _Run:
    """One training run's steps, in order; see `run`."""

    def __init__(self, spec, options: TrainOptions, ctx, device, on_epoch_end, stdout):
        self.options, self.ctx, self.device = options, ctx, device
        self.on_epoch_end, self.stdout = on_epoch_end, stdout
        self.net = load_network(spec, options.network, options.input_shape)
        self.config = configure(self.net, options.overrides)
        self.resumed = checkpoint.load(options.resume) if options.resume else None
        if self.config.batch % ctx.world:
            raise UsageError(f"batch {self.config.batch} does not split evenly over {ctx.world} processes; "
                             f"use a multiple of {ctx.world} (the batch is global: the sum over processes)")
        self.precision = resolve_precision(options.precision, device)
        self.reporter = make_reporter(options.progress) if ctx.main else Quiet()

    def run(self) -> TrainResult:
        model = self.build_model()
        data = self.load_data()
        self.out = self.output_dir()
        parts, state = self.assemble(model, data)
        self.announce(data, state)
        trainer = Trainer(parts, state, self.reporter, save=self.saver(parts), on_epoch_end=self.on_epoch_end,
                          max_steps=self.options.max_steps)
        try:
            state = trainer.run()
        except KeyboardInterrupt:
            if self.ctx.main:
                self.interrupted(trainer.state)
            raise
        if state.stopped and self.ctx.main and self.options.progress != "quiet":
            print(state.stopped, file=sys.stderr)
        result = TrainResult(self.out, self.config, state.history, state.best_epoch, state.stopped,
                             {k: self.out / v for k, v in FILES.items()})
        if self.ctx.main and self.options.report:
            self.finish(parts, result)
        distributed.barrier(self.ctx)
        return result

    # -- the steps ------------------------------------------------------------------

    def build_model(self) -> torch.nn.Module:
        torch.manual_seed(self.config.seed)
        model = archdsl.build(self.net)
        if self.ctx.rank:
            # The same initial weights everywhere, but each rank its own dropout masks.
            torch.manual_seed(self.config.seed + 7919 * self.ctx.rank)
        if self.resumed is not None:
            checkpoint.verify(self.resumed, self.options.resume, self.net, model)
        fmt = memory_format(self.options.channels_last, len(self.net.input_shape) + 1)
        return model.to(self.device, memory_format=fmt)

    def load_data(self) -> Prepared:
        o, c = self.options, self.config
        shape = tuple(self.net.input_shape)
        fit = {"size": shape[1:], "grey": shape[0] == 1} if o.resize and len(shape) == 3 else {}
        train_set = load_data(o.data, "train", **fit)
        val_set = load_data(o.val, "test", **fit) if o.val else None
        data = prepare(self.net, train_set, val_set, validation=c.validation, seed=c.seed, resize=o.resize)
        if (c.augment["crop"] or c.augment["flip"]) and data.train_x.dim() != 4:
            raise UsageError(f"augment crop/flip need images (CxHxW); the spec's input is "
                             f"{'x'.join(map(str, shape))}")
        return data

    def output_dir(self) -> Path:
        if self.options.out is not None:
            out = Path(self.options.out)
        elif self.options.resume is not None:
            out = Path(self.options.resume).parent
        else:
            out = _numbered(Path("runs") / self.net.name)
        if self.ctx.main:
            out.mkdir(parents=True, exist_ok=True)
        distributed.barrier(self.ctx)
        return out

    def assemble(self, model, data: Prepared) -> tuple[Parts, State]:
        c, ctx, device = self.config, self.ctx, self.device
        forward = distributed.wrap(ctx, model, device)
        if self.options.compile:
            forward = compile_model(forward)
        optimizer = make_optimizer(c, model.parameters())
        has_val = data.val_x is not None
        steps = _steps_per_epoch(len(data.train_y), ctx, c.batch)
        plateau = monitored(c.schedule.get("monitor", "val_loss"), has_val)
        parts = Parts(
            model=model, forward=forward, optimizer=optimizer,
            schedule=make_schedule(c, optimizer, steps, plateau), loss_fn=make_loss(c),
            scaler=self.precision.scaler(device), precision=self.precision, device=device,
            memory_format=memory_format(self.options.channels_last, data.train_x.dim()), ctx=ctx,
            data=self.to_device(data), config=c,
            augmenter=Augmenter(c.augment["crop"], c.augment["flip"], c.seed, len(data.train_y)))
        state = State()
        if self.resumed is not None:
            state = self.restore(parts)
        return parts, state

    def to_device(self, data: Prepared) -> Prepared:
        """Small data sets live on the device, so a batch is one gather there."""
        if self.device.type == "cpu":
            return data
        moved = {k: getattr(data, k).to(self.device) if getattr(data, k) is not None else None
                 for k in ("train_x", "train_y", "val_x", "val_y")}
        return replace(data, **moved)

    def restore(self, parts: Parts) -> State:
        """Continue exactly where the checkpoint stopped: weights, optimiser,
        schedule, scaler, RNG and the bookkeeping of epochs and best values."""
        saved = self.resumed
        if saved.get("kind") != "last":
            raise UsageError(f"{self.options.resume} is a best checkpoint, which keeps only the weights; "
                             f"resume from last.pt beside it")
        self.check_resumable(saved["config"])
        parts.model.load_state_dict(saved["model"])
        parts.optimizer.load_state_dict(saved["optimizer"])
        parts.schedule.load_state_dict(saved["schedule"])
        if parts.scaler is not None and saved.get("scaler"):
            parts.scaler.load_state_dict(saved["scaler"])
        rng = saved["rng"]
        if len(rng) == self.ctx.world:
            _set_rng(rng[self.ctx.rank], self.device)
        elif self.ctx.main:
            self.reporter.note(f"note: the checkpoint was written by {len(rng)} processes, this run has "
                               f"{self.ctx.world}; dropout masks will not repeat the uninterrupted run")
        return State(**saved["state"])

    def check_resumable(self, saved: dict) -> None:
        now = self.config.to_dict()
        for name in ("optimizer", "schedule"):
            if saved[name]["name"] != now[name]["name"]:
                raise UsageError(f"--resume: the checkpoint trained with {name} {saved[name]['name']}, "
                                 f"this run asks for {now[name]['name']}; their states do not carry over")
        changed = [k for k in now if _plain(now[k]) != _plain(saved.get(k)) and k != "epochs"]
        if changed and self.ctx.main:
            self.reporter.note(f"note: resuming with changed settings: {', '.join(changed)}")

    def announce(self, data: Prepared, state: State) -> None:
        if not self.ctx.main:
            return
        n_val = len(data.val_y) if data.val_y is not None else 0
        world = f", {self.ctx.world} processes" if self.ctx.distributed else ""
        self.reporter.note(f"training {self.net.name} on {data.train_name}: {len(data.train_y):,} training, "
                           f"{n_val:,} validation samples; {_device_text(self.device)}{world}; "
                           f"writing to {self.out}/")
        for note in data.notes:
            self.reporter.note(f"  {note}")
        if state.epoch:
            self.reporter.note(f"  resuming after epoch {state.epoch} of {self.config.epochs}")

    def saver(self, parts: Parts):
        """The per-epoch checkpoint writer (every rank calls it: the RNG states are gathered)."""
        from . import metrics

        def save(kind: str, state: State, best: bool) -> None:
            rng = distributed.gather(self.ctx, _rng_state(self.device))
            if not self.ctx.main:
                return
            meta = self.metadata(parts)
            checkpoint.save(self.out / FILES["last"], {
                **meta, "kind": "last", "epoch": state.epoch, "model": parts.model.state_dict(),
                "optimizer": parts.optimizer.state_dict(), "schedule": parts.schedule.state_dict(),
                "scaler": parts.scaler.state_dict() if parts.scaler is not None else None,
                "state": state.to_dict(), "rng": rng, "world": self.ctx.world})
            if best:
                checkpoint.save(self.out / FILES["best"], {
                    **meta, "kind": "best", "epoch": state.epoch, "metrics": state.history[-1],
                    "model": parts.model.state_dict()})
            metrics.write(self.out / f"metrics.{self.options.log_format}", state.history, self.options.log_format)
        return save

    def metadata(self, parts: Parts) -> dict:
        arch = checkpoint.architecture(self.net, parts.model)
        source = self.net.layers[0].node.span.source if self.net.layers else None
        return {
            "format": checkpoint.FORMAT, "archdsl": archdsl.__version__, "torch": str(torch.__version__),
            "spec": {"network": self.net.name, "hash": checkpoint.spec_hash(arch), "architecture": arch,
                     "file": source.name if source else None, "text": source.text if source else None},
            "classes": list(parts.data.classes), "normalisation": {"mean": parts.data.mean, "std": parts.data.std},
            "resize": self.options.resize, "config": self.config.to_dict(),
            "data": {"train": parts.data.train_name, "val": parts.data.val_name, "source": self.options.data},
        }

    def interrupted(self, state: State) -> None:
        if state.history:
            self.write_curves(state.history)
            print(f"interrupted; {self.out / FILES['last']} holds epoch {state.epoch}: continue with "
                  f"--resume {self.out / FILES['last']}", file=sys.stderr)
        else:
            print("interrupted before the first epoch ended; nothing was saved", file=sys.stderr)

    def write_curves(self, history) -> None:
        from .curves import write_png
        write_png(self.out / FILES["curves"], history, self.curves_title())

    def curves_title(self) -> str:
        return f"{self.net.name} on {self.options.data}: learning curves"

    def finish(self, parts: Parts, result: TrainResult) -> None:
        """The best model on the validation set (the training set without one):
        report printed and written beside the checkpoint, with the curves."""
        from . import report
        from .curves import render_png
        from .metrics import write_text
        data = parts.data
        best_path = self.out / FILES["best"]
        if best_path.exists():
            parts.model.load_state_dict(torch.load(best_path, map_location=self.device, weights_only=True)["model"])
        x, y, on = (data.val_x, data.val_y, "validation") if data.val_x is not None else \
            (data.train_x, data.train_y, "training")
        probs = predict(parts.model, x, self.device, self.precision, parts.memory_format)
        c = report.classify(y.cpu().numpy(), probs.argmax(1).numpy(), list(data.classes))
        result.classification = c
        best = f"epoch {result.best_epoch}" if result.best_epoch else "the last epoch"
        title = f"{self.net.name}, best model ({best}) on the {on} set ({len(y):,} samples)"
        png = render_png(result.history, self.curves_title())
        write_text(self.out / FILES["curves"], png)
        page = report.html_report(
            title=f"{self.net.name}: training report", facts=self.facts(result, data),
            settings=summary_lines(self.config), curves_png=png, history=result.history, classification=c,
            evaluated_on=title)
        write_text(self.out / FILES["report"], page)
        if self.options.progress != "quiet":
            print(report.text_report(c, title), file=self.stdout)
            written = ", ".join(str(result.files[k]) for k in ("best", "last", "curves", "report"))
            print(f"wrote {written}, {self.out / ('metrics.' + self.options.log_format)}", file=sys.stderr)

    def facts(self, result: TrainResult, data: Prepared) -> list[tuple[str, str]]:
        rows = result.history
        best = next((r for r in rows if r["epoch"] == result.best_epoch), rows[-1] if rows else None)
        world = f", {self.ctx.world} processes" if self.ctx.distributed else ""
        stopped = f" ({result.stopped})" if result.stopped else ""
        n_val = len(data.val_y) if data.val_y is not None else 0
        facts = [("network", self.net.name), ("spec", str(self.net.layers[0].node.span.file)),
                 ("data", f"{data.train_name}, {len(data.train_y):,} training samples"),
                 ("validation", f"{data.val_name or 'held out from the training data'}, {n_val:,} samples"),
                 ("device", _device_text(self.device) + world), ("precision", self.options.precision),
                 ("epochs", f"{len(rows)} of {self.config.epochs}{stopped}")]
        if best is not None and best.get("val_acc") is not None:
            facts.append(("best epoch", f"{best['epoch']}: validation accuracy {best['val_acc']:.2%}, "
                                        f"loss {best['val_loss']:.4f}"))
        facts += [("data preparation", note) for note in data.notes]
        return facts


def _steps_per_epoch(n: int, ctx, batch: int) -> int:
    per_rank = n // ctx.world if ctx.distributed else n
    local = batch // ctx.world
    return -(-per_rank // local)


def _numbered(base: Path) -> Path:
    """runs/LeNet, or runs/LeNet-2, -3 ... when a previous run is there."""
    if not (base / FILES["last"]).exists():
        return base
    n = 2
    while (base.parent / f"{base.name}-{n}" / FILES["last"]).exists():
        n += 1
    return base.parent / f"{base.name}-{n}"


def _rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _plain(value):
    """Tuples and lists compare alike (a checkpoint stores betas as a list)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _device_text(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'s' if threads > 1 else ''})"
    return str(device)
