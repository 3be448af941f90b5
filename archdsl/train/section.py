"""The spec's `train { ... }` section -> a checked `TrainConfig`.

Statements parse like layers (`optimizer sgd lr=0.01` is a syntax.Layer with
op "optimizer"); this module gives them their meaning from the schema in
`config.SETTINGS`, collects every mistake with its position and a
did-you-mean, and raises them together as one ArchError. `summary_lines`
is what `archdsl check` prints under the table.

No torch, numpy or matplotlib: `archdsl check` imports this module.
"""
from __future__ import annotations

import difflib
from dataclasses import replace

from .config import (
    SETTINGS,
    BadValue,
    Setting,
    TrainConfig,
    defaults_of,
    find_problems,
    number_text,
    setting_text,
    value_text,
)
from .package import ArchError, Diagnostic, EvalError, constant, syntax

# Statements that are structure, not settings, by their syntax node type.
_STRUCTURE = {syntax.Repeat: "repeat", syntax.Merge: "concat/add", syntax.Residual: "residual"}


def read_config(network_or_sections) -> TrainConfig:
    """The train section of a Network (or a sequence of syntax.TrainDef) as a
    TrainConfig; defaults when there is none. Raises ArchError listing every mistake."""
    sections = getattr(network_or_sections, "train_sections", network_or_sections)
    sections = tuple(sections)
    if not sections:
        return TrainConfig()
    reader = _Reader()
    for stmt in sections[0].body:
        reader.statement(stmt)
    for extra in sections[1:]:
        reader.error("a spec has one train section; this is another", extra.span,
                     notes=[f"the first is at {sections[0].span}"],
                     hint="merge the settings into one train { ... }")
    config = reader.config()
    for problem in find_problems(config):
        setting = problem.where.split(".")[0]
        if setting in reader.failed:
            continue  # already reported; a contradiction with a misspelt key is an echo
        span = config.spans.get(problem.where) or config.spans.get(setting)
        reader.error(problem.message, span or sections[0].span, hint=problem.hint)
    if reader.diagnostics:
        raise ArchError(sorted(reader.diagnostics, key=lambda d: (d.line, d.col)))
    return config


class _Reader:
    """Reads statements one by one, keeping values, spans and every error."""

    def __init__(self):
        self.values: dict[str, object] = {}
        self.spans: dict[str, object] = {}
        self.diagnostics: list[Diagnostic] = []
        self.failed: set[str] = set()  # settings with an error, whose cross-checks are skipped
        self.current: str | None = None

    def error(self, message, span, notes=None, hint=None):
        self.diagnostics.append(Diagnostic("error", message, span, list(notes or []), hint))
        if self.current:
            self.failed.add(self.current)

    def config(self) -> TrainConfig:
        return replace(TrainConfig(), **self.values, spans=dict(self.spans))

    def statement(self, stmt) -> None:
        if not isinstance(stmt, syntax.Layer):
            what = _STRUCTURE.get(type(stmt)) or f"block call {getattr(stmt, 'block', '')}".strip()
            self.error(f"{what} is not a training setting", stmt.span,
                       hint=f"a train section holds settings: {', '.join(SETTINGS)}")
            return
        setting = SETTINGS.get(stmt.op)
        if setting is None:
            close = difflib.get_close_matches(stmt.op, SETTINGS, n=1, cutoff=0.6)
            self.error(f"unknown training setting '{stmt.op}'", stmt.op_span,
                       hint=(f"did you mean '{close[0]}'? " if close else "")
                       + f"the settings are: {', '.join(SETTINGS)}")
            return
        if stmt.label is not None:
            self.error("training settings take no label", stmt.span,
                       hint=f"write `{stmt.op} ...` without `{stmt.label}:`")
        if stmt.op in self.spans:
            self.error(f"{stmt.op} is given twice", stmt.span,
                       notes=[f"first given at {self.spans[stmt.op]}"], hint=f"keep one {stmt.op} line")
            return
        self.spans[stmt.op] = stmt.span
        self.current = stmt.op
        values = self.setting(stmt, setting)
        self.current = None
        if values is not None:
            self.values[stmt.op] = values["value"] if setting.scalar else values

    def setting(self, stmt: syntax.Layer, setting: Setting) -> dict | None:
        args = list(stmt.args)
        kind = None
        if setting.kinds is not None:
            kind = self.kind(stmt, setting, args.pop(0) if args else None)
            if kind is None:
                return None
        keys = setting.keys_of(kind)
        values = defaults_of(setting, kind)
        given: set[str] = set()
        if setting.scalar and stmt.kwargs:
            self.error(f"{stmt.op} takes no keys", stmt.kwargs[0].name_span, hint=f"write `{setting.example}`")
            return None
        if args:
            first, *extra = args
            if setting.primary is None:
                self.error(f"{stmt.op}{' ' + kind if kind else ''} takes no more positional values",
                           first.span, hint=f"name them, e.g. `{setting.example}`")
            else:
                self.assign(stmt, setting, setting.primary, first, first.span, values, given)
            if extra and setting.primary is not None:
                self.error(f"{stmt.op} takes one value", extra[0].span, hint=f"for example `{setting.example}`")
        elif setting.scalar:
            self.error(f"{stmt.op} needs a value", stmt.span, hint=f"for example `{setting.example}`")
            return None
        for kw in stmt.kwargs:
            if kw.name not in keys:
                self.unknown_key(stmt, setting, kind, kw)
                continue
            self.assign(stmt, setting, kw.name, kw.value, kw.span, values, given)
        for key in setting.required:
            if key not in given:
                self.error(f"{stmt.op} needs {key} ({keys[key].doc})", stmt.span,
                           hint=f"for example `{setting.example}`")
        return values

    def kind(self, stmt, setting: Setting, expr) -> str | None:
        """The word choosing the kind (`sgd` in `optimizer sgd`), checked."""
        choices = ", ".join(setting.kinds)
        if expr is None:
            self.error(f"{stmt.op} needs a kind", stmt.span,
                       hint=f"one of: {choices}; for example `{setting.example}`")
            return None
        if not isinstance(expr, syntax.Name):
            self.error(f"{stmt.op} needs a kind first, got {_expr_text(expr)}", expr.span,
                       hint=f"one of: {choices}; for example `{setting.example}`")
            return None
        if expr.id not in setting.kinds:
            close = difflib.get_close_matches(expr.id, setting.kinds, n=1, cutoff=0.5)
            self.error(f"unknown {stmt.op} '{expr.id}'", expr.span,
                       hint=(f"did you mean '{close[0]}'? " if close else "") + f"the choices are: {choices}")
            return None
        return expr.id

    def unknown_key(self, stmt, setting: Setting, kind, kw) -> None:
        keys = setting.keys_of(kind)
        what = f"{stmt.op} {kind}" if kind else stmt.op
        close = difflib.get_close_matches(kw.name, keys, n=1, cutoff=0.5)
        owners = [k for k, ks in (setting.kinds or {}).items() if kw.name in ks]
        if owners and not close:
            hint = f"{kw.name} is a setting of {' and '.join(owners)}; {kind} takes: {', '.join(keys) or 'nothing'}"
        elif keys:
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"{what} takes: {', '.join(keys)}"
        else:
            hint = f"{what} takes no keys"
        self.error(f"unknown key '{kw.name}' for {what}", kw.name_span, hint=hint)

    def assign(self, stmt, setting: Setting, key: str, expr, span, values: dict, given: set) -> None:
        where = stmt.op if setting.scalar else key
        if key in given:
            self.error(f"{where} is given twice", span, hint=f"keep one {where}=...")
            return
        given.add(key)
        try:
            raw = _value(expr)
        except EvalError as exc:
            self.error(exc.message, exc.span)
            return
        check = setting.keys_of(values.get("name")).get(key).check
        try:
            values[key] = check(raw)
        except BadValue as exc:
            self.error(f"{where} {exc.phrase}, got {value_text(raw)}", expr.span, hint=exc.hint)
            return
        self.spans[f"{stmt.op}.{key}"] = span


# Expressions a setting may hold besides words and pairs: constants and arithmetic on them.
_CONSTANTS = (syntax.Num, syntax.Dims, syntax.Str, syntax.BinOp, syntax.Neg)


def _value(expr):
    """A plain Python value: numbers, tuples, bare words as str."""
    if isinstance(expr, syntax.Name):
        return expr.id
    if isinstance(expr, syntax.TupleExpr):
        return tuple(_value(e) for e in expr.items)
    if not isinstance(expr, _CONSTANTS):
        raise EvalError("a training setting takes numbers, words and (a, b) pairs", expr.span)
    return constant(expr)


def _expr_text(expr) -> str:
    try:
        return value_text(_value(expr))
    except EvalError:
        return "an expression"


# -- the summary `archdsl check` prints -------------------------------------------------

def summary_lines(config: TrainConfig) -> list[str]:
    """A few lines saying how the spec trains, for `archdsl check`."""
    lines = [
        f"optimizer   {setting_text('optimizer', config.optimizer)}",
        f"loss        {setting_text('loss', config.loss)}",
        f"batch {config.batch}, epochs {config.epochs}, seed {config.seed}, "
        f"validation {number_text(round(config.validation * 100, 2))}%",
    ]
    if config.schedule["name"] != "none":
        lines.insert(1, f"schedule    {setting_text('schedule', config.schedule)}")
    if config.early_stop is not None:
        stop = config.early_stop
        delta = f" (by more than {number_text(stop['min_delta'])})" if stop["min_delta"] else ""
        lines.append(f"early stop  after {stop['patience']} epochs without a better {stop['monitor']}{delta}")
    if config.clip is not None:
        lines.append(f"clip        gradient norm at {number_text(config.clip['norm'])}")
    augment = config.augment
    if augment["crop"] or augment["flip"]:
        parts = ([f"random crop (padding {augment['crop']})"] if augment["crop"] else []) + \
                (["horizontal flip"] if augment["flip"] else [])
        lines.append(f"augment     {', '.join(parts)}")
    return lines
