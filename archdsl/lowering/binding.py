"""Arguments -> values: a layer's positional and key=value arguments matched
to its kind's attributes and checked, a block call's arguments to its
parameters. One mistake gets one error, with the corrected statement where it
can be written out (and as a machine-applicable fix)."""
from __future__ import annotations

import re

from archdsl.core.ops.base import REQUIRED, Tensor, ValueProblem, Word, long_names
from archdsl.errors import Fix
from archdsl.frontend import syntax as ast
from archdsl.lowering.expressions import INPUT, Context, EvalError, UnknownShape, evaluate, render, show_value
from archdsl.lowering.reporter import Reporter
from archdsl.records import dataclass, field
from archdsl.source import Span
from archdsl.text import close_matches

# Attribute types whose values include bare words (true/false, same/valid, floor/ceil).
WORD_TYPES = frozenset({"bool", "padding", "rounding", "word"})

# What follows the first number of a size typed with spaces or a capital X.
TIMES = re.compile(r"[xX](?:\d+(?:[xX]\d+)*)?")


@dataclass(slots=True)
class Bound:
    """A layer's attributes after binding: `values` when all is well, else None;
    `partial` holds what did bind, `failed` the attributes whose values were bad,
    `structural` whether the layer's arguments themselves were wrong (unknown or
    missing attributes, extra positional values)."""

    values: dict | None
    partial: dict = field(default_factory=dict)
    failed: frozenset = frozenset()
    structural: bool = False


_SCHEMAS: dict[type, tuple] = {}


def _schema(cls) -> tuple[list, dict, dict]:
    """A kind's positional attributes, its attributes by every name and alias, and
    its defaults coerced: the same for every layer of the kind, so made once."""
    schema = _SCHEMAS.get(cls)
    if schema is None or schema[0] is not cls.attrs:
        positional = [a for a in cls.attrs if a.positional]
        by_name = {}
        for attr in cls.attrs:
            for n in (attr.name, *attr.aliases):
                by_name[n] = attr
        default_values = {a.name: a.default_value() for a in cls.attrs if a.default is not REQUIRED}
        schema = _SCHEMAS[cls] = (cls.attrs, positional, by_name, default_values)
    return schema[1:]


class Binder:
    def __init__(self, reporter: Reporter):
        self.report = reporter

    # -- expressions --------------------------------------------------------------------

    def eval(self, expr, ctx: Context):
        """Evaluate an expression; None after reporting an error."""
        try:
            return evaluate(expr, ctx)
        except UnknownShape:
            return None  # an earlier error, already reported, left the shape unknown
        except EvalError as exc:
            self.report.error(exc.message, exc.span, exc.notes, exc.hint, exc.fix)
            return None
        except RecursionError:
            self.report.error("expression is nested too deeply", expr.span, hint="simplify the expression")
            return None

    def eval_int(self, expr, ctx: Context, what: str, minimum: int = 1):
        value = self.eval(expr, ctx)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.report.error(f"{what} must be an integer >= {minimum}, got {show_value(value)}", expr.span,
                              computed(expr, ctx))
            return None
        return value

    # -- layers -------------------------------------------------------------------------

    def bind(self, cls, stmt: ast.Layer, ctx: Context, defaults: dict | None = None) -> Bound:
        """Match positional and key=value arguments to the kind's attributes and coerce them.

        One mistake gets one error: a value given positionally where a required
        attribute is missing (`maxpool 2`), or under a misspelt name close to a
        missing one (`kernal=3`), is reported once, with the corrected layer.
        `defaults` (attribute -> value) come from `defaults { ... }` statements."""
        keyword = stmt.op
        if self.size_typo(stmt, ctx) or self.double_equals(cls, stmt):
            return Bound(None, structural=True)
        positional, by_name, default_values = _schema(cls)
        raw: dict[str, tuple] = {}
        failed: set[str] = set()
        for attr, arg in zip(positional, stmt.args, strict=False):
            raw[attr.name] = (attr.name, arg)
        extra = list(stmt.args[len(positional):])
        unknown = []
        for kw in stmt.kwargs:
            attr = by_name.get(kw.name)
            if attr is None:
                unknown.append(kw)
                continue
            if attr.name in raw:
                first = raw[attr.name][0]
                spelled = f" (as {first} and {kw.name})" if first != kw.name else ""
                self.report.error(f"{attr.name} is given twice{spelled}", kw.span, hint=f"keep one {attr.name}=...")
                failed.add(attr.name)
                continue
            raw[attr.name] = (kw.name, kw.value)
        defaults = defaults or {}
        missing = [a for a in cls.attrs if a.name not in raw and a.default is REQUIRED and a.name not in defaults]
        structural = bool(extra or unknown or missing)
        # A statement written out in a hint carries the value fixes too (`padding="same"`
        # -> `padding=same`), so that the hint does not repeat the error reported next.
        mended = _value_fixes(cls, raw) if extra or unknown else {}
        if extra:
            missing = self._extra_values(cls, stmt, extra, positional, missing, mended)
        for kw in unknown:
            self._unknown_attr(cls, stmt, kw, by_name, missing, mended)
        for attr in missing:
            example = cls.example.replace(cls.keywords[0], keyword, 1) if cls.example else ""
            self.report.error(f"{keyword} needs {attr.name} ({attr.doc})", stmt.span,
                              hint=f"for example `{example}`" if example else None)
        values = {}
        for attr in cls.attrs:
            if attr.name not in raw:
                if attr.name in defaults:
                    values[attr.name] = defaults[attr.name]
                elif attr.default is not REQUIRED:
                    values[attr.name] = default_values[attr.name]
                continue
            written, expr = raw[attr.name]
            if isinstance(expr, ast.Name) and expr.id not in ctx.params and attr.type in WORD_TYPES:
                # `bias=maybe`, `p=foo`: say what the attribute accepts, not "unknown name".
                value = Word(expr.id)
            else:
                value = self.eval(expr, ctx)
            if value is None:
                failed.add(attr.name)
                continue
            try:
                values[attr.name] = attr.coerce(value, written)
            except ValueProblem as exc:
                fix = Fix(expr.span, exc.fix) if exc.fix is not None else None
                self.report.error(exc.message, expr.span, computed(expr, ctx), exc.hint, fix)
                failed.add(attr.name)
        ok = not failed and not structural
        return Bound(values if ok else None, values, frozenset(failed), structural)

    def _extra_values(self, cls, stmt, extra, positional, missing, mended=None):
        """More positional values than the kind takes; most likely meant for the
        missing attributes (`maxpool 2` -> `maxpool k=2`). Returns what is still missing."""
        keyword = stmt.op
        if positional:
            names = ", ".join(a.name for a in positional)
            msg = (f"{keyword} takes {len(positional)} positional value{'s' if len(positional) > 1 else ''} "
                   f"({names}), got {len(stmt.args)}")
        else:
            msg = f"{keyword} takes no positional values"
        takers = missing[:len(extra)] if len(extra) <= len(missing) else []
        fixed = rewrite(stmt, {**(mended or {}), **{arg.span: f"{attr.name}={span_text(arg.span)}"
                                                    for attr, arg in zip(takers, extra, strict=True)}}) \
            if takers else None
        fix = None
        if fixed:
            missing = missing[len(takers):]
            hint = f"write `{fixed}`"
            fix = Fix(stmt.span, fixed)
        else:
            others = [a.name for a in cls.attrs if not a.positional]
            hint = f"name the others, e.g. {others[0]}=..." if others else None
        self.report.error(msg, extra[0].span, hint=hint, fix=fix)
        return missing

    def _unknown_attr(self, cls, stmt, kw, by_name, missing, mended=None) -> None:
        keyword = stmt.op
        options = sorted(by_name)
        close = close_matches(kw.name, options, n=1, cutoff=0.5)
        target = by_name[close[0]] if close else None
        fixed = rewrite(stmt, {**(mended or {}), kw.name_span: close[0]}) if target in missing else None
        fix = Fix(kw.name_span, close[0]) if close else None
        if fixed:
            missing.remove(target)  # the misspelt name was that attribute
            hint = f"did you mean '{close[0]}'? write `{fixed}`"
        elif options:
            hint = (f"did you mean '{close[0]}'? " if close else "") + \
                f"{keyword} takes: {', '.join(a.name for a in cls.attrs)}"
        else:
            hint = f"{keyword} takes no parameters"
            fix = None
        self.report.error(f"unknown parameter '{kw.name}' for {keyword}", kw.name_span, hint=hint, fix=fix)

    def double_equals(self, cls, stmt: ast.Layer) -> bool:
        """`conv 16 k==3` parses as a comparison given positionally: say it is one `=`."""
        if not any(isinstance(arg, ast.Compare) for arg in stmt.args):
            return False
        names = {n for a in cls.attrs for n in (a.name, *a.aliases)}
        for arg in stmt.args:
            if isinstance(arg, ast.Compare) and arg.op == "==" and isinstance(arg.left, ast.Name) \
                    and arg.left.id in names:
                fixed = f"{arg.left.id}={render(arg.right)}"
                self.report.error(f"`{render(arg)}` compares {arg.left.id} with a value", arg.span,
                                  hint=f"an attribute takes one '=': {fixed}", fix=Fix(arg.span, fixed))
                return True
        return False

    def size_typo(self, stmt: ast.Layer, ctx: Context) -> bool:
        """`input 3 x 32 x 32`, `input 3X32X32`, `k=3 x 3`: a size split by spaces or
        written with a capital X lexes as numbers and names. Report it as one error."""
        if not any(isinstance(e, ast.Name) and TIMES.fullmatch(e.id) is not None
                   for e in (*stmt.args, *(kw.value for kw in stmt.kwargs))):
            return False  # nothing reads as the rest of a size
        items = sorted([*stmt.args, *(kw.value for kw in stmt.kwargs)], key=lambda e: (e.span.line, e.span.col))

        def times(e):  # `x`, `X`, `X32`, `x3X3`: the rest of a size
            return isinstance(e, ast.Name) and e.id not in ctx.params and TIMES.fullmatch(e.id) is not None

        def number(e):
            return isinstance(e, ast.Dims) or (isinstance(e, ast.Num) and type(e.value) is int)

        for i, item in enumerate(items):
            if not times(item) or i == 0 or not number(items[i - 1]) or not adjacent(items[i - 1], item):
                continue
            run = [items[i - 1], item]
            for nxt in items[i + 1:]:
                if not (number(nxt) or times(nxt)) or not adjacent(run[-1], nxt):
                    break
                run.append(nxt)
            span = Span(run[0].span.file, run[0].span.line, run[0].span.col, run[-1].span.end_line,
                        run[-1].span.end_col, run[0].span.source)
            text = span_text(span)
            if text is None:
                return False
            fixed = re.sub(r"\s+", "", text).lower()
            if not re.fullmatch(r"\d+(?:x\d+)+", fixed):
                return False
            self.report.error(f"'{text}' is not a size", span, fix=Fix(span, fixed),
                              hint=f"write sizes without spaces and with a lowercase x: {fixed}")
            return True
        return False

    # -- block calls -----------------------------------------------------------------------

    def bind_call(self, block: ast.BlockDef, stmt, ctx: Context, input_=None) -> dict | None:
        """The callee's parameters from a call's arguments; None after reporting.
        `input_` (a Tensor) is the block's input, which defaults may read:
        `block SE(sq=make_divisible(in.c // 4, 8))`."""
        params = block.params
        signature = f"{block.name}({', '.join(p.name for p in params)})" if block.parens else block.name
        where = [f"{signature} is defined at {block.name_span}"]
        args, kwargs = stmt.args, stmt.kwargs
        if len(args) > len(params):
            self.report.error(f"{block.name} takes {len(params)} argument{'s' if len(params) != 1 else ''} "
                              f"but {len(args)} were given", args[len(params)].span, notes=where)
            return None
        given: dict[str, object] = {}
        ok = True
        for param, arg in zip(params, args, strict=False):
            given[param.name] = self.eval(arg, ctx)
        names = {p.name for p in params}
        for kw in kwargs:
            if kw.name not in names:
                close = close_matches(kw.name, names, n=1, cutoff=0.5)
                long = long_names().get(kw.name)
                if not close and long in names:
                    close = [long]  # B(stride=2) for block B(c, s=1)
                self.report.error(f"{block.name} has no parameter '{kw.name}'", kw.name_span, notes=where,
                                  hint=f"did you mean '{close[0]}'?" if close else None,
                                  fix=Fix(kw.name_span, close[0]) if close else None)
                ok = False
            elif kw.name in given:
                self.report.error(f"argument '{kw.name}' of {block.name} is given twice", kw.span)
                ok = False
            else:
                given[kw.name] = self.eval(kw.value, ctx)
        if any(v is None for v in given.values()):
            return None
        callee: dict[str, object] = {} if input_ is None else {INPUT: input_}
        inner = Context(callee, None, None, ctx.is_kind, f"block {block.name}")
        for param in params:
            if param.name in given:
                callee[param.name] = given[param.name]
            elif param.default is not None:
                # Defaults see the parameters before them: block B(c, mid=c/4).
                value = self.eval(param.default, inner)
                if value is None:
                    return None
                callee[param.name] = value
            else:
                self.report.error(f"missing argument '{param.name}' of {block.name}", stmt.span, notes=where,
                                  hint=f"call it as {signature}")
                ok = False
        return callee if ok else None


def _value_fixes(cls, raw: dict) -> dict[Span, str]:
    """The mechanical fixes of quoted words among a layer's values (`p="same"`), by span."""
    by_name = {a.name: a for a in cls.attrs}
    fixes = {}
    for name, (written, expr) in raw.items():
        if isinstance(expr, ast.Str) and name in by_name:
            try:
                by_name[name].coerce(expr.value, written)
            except ValueProblem as exc:
                if exc.fix is not None:
                    fixes[expr.span] = exc.fix
    return fixes


def computed(expr, ctx: Context) -> list[str]:
    """`g = w // gw = 80 // 120`: a note showing what a computed value was made of."""
    if isinstance(expr, (ast.Num, ast.Dims, ast.Name, ast.Str, ast.Ref, ast.Flow)):
        if not (isinstance(expr, ast.Name) and expr.id in ctx.params):
            return []
    written = render(expr)
    substituted = render(expr, ctx.params)
    try:
        value = show_value(evaluate(expr, ctx))
    except (EvalError, RecursionError, ArithmeticError):
        return []
    parts = [written] + ([substituted] if substituted != written else []) + [value]
    return [" = ".join(dict.fromkeys(parts))] if len(dict.fromkeys(parts)) > 1 else []


def span_text(span: Span) -> str | None:
    """The source text of a one-line span (None across lines)."""
    return span.text()


def rewrite(stmt, fixes: dict[Span, str]) -> str | None:
    """The statement as written with some spans replaced; None when it spans lines."""
    span = stmt.span
    if span.source is None or span.end_line != span.line or any(s.line != span.line for s in fixes):
        return None
    text = span.text()
    for fix in sorted(fixes, key=lambda s: s.col, reverse=True):
        start, end = fix.col - span.col, fix.end_col - span.col
        text = text[:start] + fixes[fix] + text[end:]
    return text


def adjacent(a, b) -> bool:
    """Nothing but blanks between two expressions (no `key=` in between)."""
    if a.span.end_line != b.span.line or a.span.source is None:
        return False
    return not a.span.source.line(b.span.line)[a.span.end_col - 1: b.span.col - 1].strip()


def attr_expr(cls, stmt: ast.Layer, name: str):
    """The expression a layer gives for attribute `name`, by keyword, alias or position."""
    attr = next((a for a in cls.attrs if a.name == name), None)
    if attr is None:
        return None
    for kw in stmt.kwargs:
        if kw.name in (attr.name, *attr.aliases):
            return kw.value
    positional = [a.name for a in cls.attrs if a.positional]
    if name in positional and positional.index(name) < len(stmt.args):
        return stmt.args[positional.index(name)]
    return None


def mentions(expr, env) -> bool:
    """Whether an expression uses a block parameter."""
    if isinstance(expr, ast.Name):
        return expr.id in env
    if isinstance(expr, (ast.BinOp, ast.Compare, ast.BoolOp)):
        return mentions(expr.left, env) or mentions(expr.right, env)
    if isinstance(expr, (ast.Neg, ast.Not)):
        return mentions(expr.operand, env)
    if isinstance(expr, ast.TupleExpr):
        return any(mentions(e, env) for e in expr.items)
    if isinstance(expr, ast.Function):
        return any(mentions(e, env) for e in expr.args)
    if isinstance(expr, ast.Conditional):
        return any(mentions(e, env) for e in (expr.then, expr.cond, expr.orelse))
    return False


def is_tensor(value) -> bool:
    return isinstance(value, Tensor)
