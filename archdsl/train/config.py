"""What a training run is configured with: the schema of the `train { ... }`
section, its defaults, and the checks a value must pass.

One table (`SETTINGS`) says which settings exist, which kinds they come in
(`optimizer sgd`, `schedule cosine`) and which keys each kind takes, with a
validator and a default per key. The spec reader (`section.py`), the CLI
overrides (`apply_overrides`) and `archdsl check`'s summary all read this
table, so a new setting is one entry here.

No torch, numpy or matplotlib: `archdsl check` imports this module.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from archdsl.records import dataclass, field

from .package import UsageError


class BadValue(Exception):
    """A value a key does not accept; `phrase` completes "lr ...", e.g.
    "must be greater than 0". The reader adds the key, the value and the span."""

    def __init__(self, phrase: str, hint: str | None = None):
        super().__init__(phrase)
        self.phrase = phrase
        self.hint = hint


# -- validators -----------------------------------------------------------------

def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False, whole: bool = False) -> Callable[[Any], Any]:
    """A validator for a number in [low, high] (open ends where asked)."""
    def check(value):
        if not _is_number(value):
            raise BadValue("must be a whole number" if whole else "must be a number")
        if whole:
            if isinstance(value, float) and not value.is_integer():
                raise BadValue("must be a whole number")
            value = int(value)
        if low is not None and (value <= low if low_open else value < low):
            raise BadValue(f"must be {'greater than' if low_open else 'at least'} {number_text(low)}")
        if high is not None and (value >= high if high_open else value > high):
            raise BadValue(f"must be {'less than' if high_open else 'at most'} {number_text(high)}")
        return value
    return check


def boolean(value):
    """true/false (the bare words of the spec language)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise BadValue("must be true or false")


def choice(*words: str) -> Callable[[Any], str]:
    """One of a few bare words."""
    def check(value):
        if isinstance(value, str) and value in words:
            return str(value)
        close = difflib.get_close_matches(str(value), words, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else None
        raise BadValue("must be " + " or ".join(words), hint)
    return check


def pair(item: Callable[[Any], Any], example: str) -> Callable[[Any], tuple]:
    """Two values, written `(a, b)`."""
    def check(value):
        if not isinstance(value, tuple) or len(value) != 2:
            raise BadValue("must be a pair of numbers", hint=f"write it as {example}")
        return tuple(item(v) for v in value)
    return check


POSITIVE = number(0, low_open=True)
NON_NEGATIVE = number(0)
FRACTION = number(0, 1, high_open=True)
COUNT = number(1, whole=True)
COUNT0 = number(0, whole=True)
BETA = number(0, 1, high_open=True)


# -- the schema ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Key:
    """One `key=value` of a setting (or its single positional value)."""
    check: Callable[[Any], Any]
    default: Any
    doc: str


@dataclass(frozen=True, slots=True)
class Setting:
    """One statement of the train section.

    `kinds`: the first value is a word choosing one (`optimizer sgd`), each kind
    with its own keys. `keys`: the keys of a setting without kinds. `primary`:
    the key a lone positional value fills (`early_stop 10` is patience=10;
    `batch 128` fills the hidden key "value"). `optional`: absent means off
    (early_stop, clip) and the config holds None. `required`: keys that must
    be written (a bare `clip` says nothing about the norm)."""
    doc: str
    example: str
    kinds: dict[str, dict[str, Key]] | None = None
    default_kind: str | None = None
    keys: dict[str, Key] = field(default_factory=dict)
    primary: str | None = None
    optional: bool = False
    required: tuple[str, ...] = ()

    @property
    def scalar(self) -> bool:
        """A setting that is one value (`batch 128`), held as that value in the config."""
        return self.kinds is None and list(self.keys) == ["value"]

    def keys_of(self, kind: str | None) -> dict[str, Key]:
        return self.kinds[kind] if self.kinds is not None else self.keys


LR_DOC = "learning rate"
WD_DOC = "weight decay (L2 penalty; decoupled in adamw)"
MONITORS = ("val_loss", "val_acc")

_ADAM_KEYS = {
    "lr": Key(POSITIVE, 1e-3, LR_DOC),
    "betas": Key(pair(BETA, "betas=(0.9, 0.999)"), (0.9, 0.999), "running-average coefficients"),
    "eps": Key(POSITIVE, 1e-8, "term added to the denominator"),
    "weight_decay": Key(NON_NEGATIVE, 0.0, WD_DOC),
}

SETTINGS: dict[str, Setting] = {
    "optimizer": Setting(
        "the optimiser and its hyper-parameters", "optimizer sgd lr=0.01 momentum=0.9",
        kinds={
            "sgd": {"lr": Key(POSITIVE, 0.01, LR_DOC),
                    "momentum": Key(FRACTION, 0.0, "momentum factor"),
                    "nesterov": Key(boolean, False, "Nesterov momentum"),
                    "weight_decay": Key(NON_NEGATIVE, 0.0, WD_DOC)},
            "adam": _ADAM_KEYS,
            "adamw": {**_ADAM_KEYS, "weight_decay": Key(NON_NEGATIVE, 0.01, WD_DOC)},
        }, default_kind="adam"),
    "schedule": Setting(
        "how the learning rate changes", "schedule cosine warmup=2",
        kinds={
            "none": {},
            "step": {"step_size": Key(COUNT, 30, "epochs between decays"),
                     "gamma": Key(number(0, 1, low_open=True), 0.1, "factor per decay"),
                     "warmup": Key(NON_NEGATIVE, 0.0, "epochs of linear warm-up")},
            "cosine": {"warmup": Key(NON_NEGATIVE, 0.0, "epochs of linear warm-up"),
                       "min_lr": Key(NON_NEGATIVE, 0.0, "learning rate at the end")},
            "plateau": {"factor": Key(number(0, 1, low_open=True, high_open=True), 0.1, "factor per decay"),
                        "patience": Key(COUNT0, 10, "epochs without improvement before a decay"),
                        "min_lr": Key(NON_NEGATIVE, 0.0, "lowest learning rate"),
                        "monitor": Key(choice(*MONITORS), "val_loss", "the metric watched")},
        }, default_kind="none"),
    "loss": Setting(
        "the loss function", "loss crossentropy label_smoothing=0.1",
        kinds={"crossentropy": {"label_smoothing": Key(FRACTION, 0.0, "label smoothing")}},
        default_kind="crossentropy"),
    "early_stop": Setting(
        "stop when the monitored metric stops improving", "early_stop patience=10",
        keys={"patience": Key(COUNT, 10, "epochs without improvement before stopping"),
              "min_delta": Key(NON_NEGATIVE, 0.0, "smallest change that counts as improvement"),
              "monitor": Key(choice(*MONITORS), "val_loss", "the metric watched")},
        primary="patience", optional=True),
    "clip": Setting(
        "gradient clipping by global norm", "clip 5",
        keys={"norm": Key(POSITIVE, 1.0, "largest gradient norm")}, primary="norm", optional=True,
        required=("norm",)),
    "augment": Setting(
        "training-time augmentation", "augment crop=4 flip=true",
        keys={"crop": Key(COUNT0, 0, "padding (pixels) of the random crop; 0 is off"),
              "flip": Key(boolean, False, "random horizontal flip")}),
    "batch": Setting("samples per optimiser step (over all processes)", "batch 128",
                     keys={"value": Key(COUNT, 64, "batch size")}, primary="value"),
    "epochs": Setting("passes over the training set", "epochs 30",
                      keys={"value": Key(COUNT, 10, "epochs")}, primary="value"),
    "seed": Setting("seed of every random choice (initialisation, split, order, augmentation)", "seed 0",
                    keys={"value": Key(COUNT0, 0, "seed")}, primary="value"),
    "validation": Setting("fraction of the training set held out for validation", "validation 0.2",
                          keys={"value": Key(FRACTION, 0.2, "fraction held out")}, primary="value"),
}


def defaults_of(setting: Setting, kind: str | None = None) -> dict[str, Any]:
    """Every key of `setting` (of `kind`) at its default, with "name" for kinds."""
    keys = setting.keys_of(kind)
    values = {name: key.default for name, key in keys.items()}
    return {"name": kind, **values} if setting.kinds is not None else values


def _default(name: str):
    setting = SETTINGS[name]
    if setting.optional:
        return None
    values = defaults_of(setting, setting.default_kind)
    return values["value"] if setting.scalar else values


@dataclass(frozen=True)
class TrainConfig:
    """Everything `archdsl train` needs to know about the run besides the data.

    Kind settings are dicts with "name" and every key filled in; `early_stop`
    and `clip` are None when off; `spans` maps "optimizer" or "optimizer.lr" to
    where the spec wrote it (for errors found after reading)."""
    optimizer: dict = field(default_factory=lambda: _default("optimizer"))
    schedule: dict = field(default_factory=lambda: _default("schedule"))
    loss: dict = field(default_factory=lambda: _default("loss"))
    early_stop: dict | None = None
    clip: dict | None = None
    augment: dict = field(default_factory=lambda: _default("augment"))
    batch: int = SETTINGS["batch"].keys["value"].default
    epochs: int = SETTINGS["epochs"].keys["value"].default
    seed: int = SETTINGS["seed"].keys["value"].default
    validation: float = SETTINGS["validation"].keys["value"].default
    spans: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        """Plain values, for checkpoints and reports."""
        return {name: getattr(self, name) for name in SETTINGS}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return cls(**{name: values[name] for name in SETTINGS if name in values})


# -- cross-setting checks -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Problem:
    """A combination of values that cannot work; `where` is a spans key."""
    message: str
    where: str
    hint: str | None = None


def find_problems(config: TrainConfig) -> list[Problem]:
    """What no single key's validator can see: settings that contradict each other."""
    problems = []
    opt, sched = config.optimizer, config.schedule
    if opt["name"] == "sgd" and opt["nesterov"] and opt["momentum"] == 0:
        problems.append(Problem("nesterov needs momentum greater than 0", "optimizer.nesterov",
                                hint="add momentum=0.9"))
    warmup = sched.get("warmup", 0)
    if warmup and warmup >= config.epochs:
        problems.append(Problem(f"the warm-up ({_epochs(warmup)}) is not shorter than the "
                                f"training ({_epochs(config.epochs)})", "schedule.warmup",
                                hint=f"use warmup={max(config.epochs // 10, 1) if config.epochs > 1 else 0} "
                                     "or train longer"))
    return problems


def _epochs(n) -> str:
    return f"{number_text(n)} epoch{'' if n == 1 else 's'}"


# -- CLI overrides ------------------------------------------------------------------

# flag (argparse dest) -> (setting, key); key None: the kind of a kind setting,
# or the value of a scalar setting.
OVERRIDES: dict[str, tuple[str, str | None]] = {
    "optimizer": ("optimizer", None),
    "lr": ("optimizer", "lr"),
    "momentum": ("optimizer", "momentum"),
    "weight_decay": ("optimizer", "weight_decay"),
    "schedule": ("schedule", None),
    "label_smoothing": ("loss", "label_smoothing"),
    "patience": ("early_stop", "patience"),
    "clip": ("clip", "norm"),
    "crop": ("augment", "crop"),
    "flip": ("augment", "flip"),
    "batch": ("batch", None),
    "epochs": ("epochs", None),
    "seed": ("seed", None),
    "val_split": ("validation", None),
}


class BadOverride(UsageError):
    """A CLI flag value the schema refuses: a usage error (exit 2)."""

    def __init__(self, flag: str, message: str, hint: str | None = None):
        super().__init__(f"--{flag.replace('_', '-')}: {message}" + (f" ({hint})" if hint else ""))


def apply_overrides(config: TrainConfig, flags: dict[str, Any]) -> TrainConfig:
    """`config` with the flags given on the command line (None = not given).

    A new kind (`--optimizer sgd`) starts from that kind's defaults; the
    other flags then apply on top of it, whatever order they came in."""
    given = {flag: value for flag, value in flags.items() if value is not None}
    changes: dict[str, Any] = {}
    for flag in sorted(given, key=lambda f: OVERRIDES[f][1] is not None):  # kinds first
        name, key = OVERRIDES[flag]
        setting = SETTINGS[name]
        value = given[flag]
        current = changes.get(name, getattr(config, name))
        if setting.kinds is not None and key is None:
            if value not in setting.kinds:
                close = difflib.get_close_matches(value, setting.kinds, n=1, cutoff=0.5)
                raise BadOverride(flag, f"unknown {name} '{value}'",
                                  (f"did you mean '{close[0]}'? " if close else "")
                                  + f"the choices are: {', '.join(setting.kinds)}")
            if current["name"] != value:
                changes[name] = defaults_of(setting, value)
            continue
        keys = setting.keys_of(current["name"] if setting.kinds is not None and current else None)
        target = key or "value"
        if target not in keys:
            owners = [k for k, ks in (setting.kinds or {}).items() if target in ks]
            raise BadOverride(flag, f"{name} {current['name']} has no {target}",
                              f"{target} belongs to {' and '.join(owners)}; add --{name} {owners[0]}"
                              if owners else None)
        try:
            checked = keys[target].check(value)
        except BadValue as exc:
            raise BadOverride(flag, f"{exc.phrase}, got {value_text(value)}", exc.hint) from None
        if setting.scalar:
            changes[name] = checked
        else:
            base = dict(current) if current is not None else defaults_of(setting)
            base[target] = checked
            changes[name] = base
    return replace(config, **changes)


# -- text ---------------------------------------------------------------------------

def number_text(x) -> str:
    """A constant the way papers write it: 5e-4, 0.9, 128."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    text = f"{x:g}"
    if 0 < abs(x) < 1e-3 or "e" in text:
        mantissa, _, exponent = f"{x:e}".partition("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return text


def value_text(value) -> str:
    """A value in a message, as a spec would write it."""
    if isinstance(value, tuple):
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    if isinstance(value, (int, float)):
        return number_text(value)
    return f"'{value}'"


def setting_text(name: str, values: dict, *, only_changed: bool = True) -> str:
    """`sgd lr=0.01 momentum=0.9`: a kind setting as the spec would write it,
    leaving out keys at their default unless asked."""
    setting = SETTINGS[name]
    kind = values.get("name")
    defaults = defaults_of(setting, kind)
    parts = [kind] if kind else []
    for key, value in values.items():
        if key == "name" or (only_changed and value == defaults.get(key) and key != "lr"):
            continue
        parts.append(f"{key}={value_text(value) if not isinstance(value, str) else value}")
    return " ".join(parts)
