"""Derivations as a handout: plain text (Unicode), Markdown (a table per
layer) and LaTeX (`align*` per layer, needs amsmath)."""
from __future__ import annotations

from fractions import Fraction

from archdsl.core.explain import Derivation, Step
from archdsl.core.explain.terms import number_text
from archdsl.core.network import Network
from archdsl.text import shape_text

ARROW = "\u2192"


def result_text(step: Step, latex: bool = False) -> str:
    r = step.result
    if r is None:
        return "unknown"
    if isinstance(r, (int, Fraction)):
        return number_text(r, latex, group=True)
    return str(r)


def formula_parts(step: Step, latex: bool = False) -> list[str]:
    """What follows `quantity =`: the formula with symbols, with numbers, and
    the result, leaving out a part that would only repeat the next one."""
    if step.term is None:
        return [result_text(step, latex)]
    parts = []
    numbers = step.term.show(True, latex)
    if step.symbolic:
        symbols = step.term.show(False, latex)
        if symbols not in (numbers, step.quantity, step.tex):
            parts.append(symbols)
    result = result_text(step, latex)
    if numbers.replace(",", "") != result.replace(",", "").replace("{}", ""):
        parts.append(numbers)
    parts.append(result)
    return parts


def io_text(d: Derivation) -> str:
    ins = ", ".join(shape_text(s) for s in d.in_shapes)
    out = shape_text(d.out_shape)
    return f"{ins} {ARROW} {out}" if ins else out


def _shown(step: Step) -> bool:
    """A step printed as `quantity = ...` (the others are a sentence: `shape kept`)."""
    return step.given != "in"


def rules_used(derivations: list[Derivation]) -> list[str]:
    """The general rules behind the steps, each once, in the order they first apply."""
    seen: dict[str, None] = {}
    for d in derivations:
        for step in d.steps:
            if step.rule:
                seen.setdefault(step.rule)
    return list(seen)


def _compact(d: Derivation) -> bool:
    """A layer with nothing to compute (an activation): one line says it all."""
    return all(s.term is None for s in d.steps)


def _sentence(d: Derivation) -> str:
    parts = []
    for s in d.steps:
        if not _shown(s):
            parts.append(s.note)
        else:
            parts.append(f"{s.quantity} = {result_text(s)}" + (f" ({s.note})" if s.note else ""))
    return "; ".join(p for p in parts if p)


def _title(d: Derivation) -> str:
    """The statement as written, led by the layer's name when the statement has no label."""
    local = d.name.rsplit(".", 1)[-1]
    labelled = d.statement.startswith(local + ":") or d.statement.startswith(local + " ")
    return d.statement if labelled and d.name == local else f"{d.name}: {d.statement}"


# -- text ---------------------------------------------------------------------------

def render_text(net: Network, derivations: list[Derivation]) -> str:
    lines = [f"{net.name} \u00b7 input {shape_text(net.input_shape)} \u00b7 worked derivations", "",
             "Rules used:"]
    lines += [f"  - {rule}" for rule in rules_used(derivations)]
    lines.append("")
    for d in derivations:
        lines += layer_text(d)
        lines.append("")
    return "\n".join(lines)


def layer_text(d: Derivation) -> list[str]:
    lines = [f"{_title(d)}   {io_text(d)}"] + [f"  ({note})" for note in d.notes]
    if _compact(d):
        return lines + [f"  {_sentence(d)}"]
    shown = [s for s in d.steps if _shown(s)]
    width = max((len(s.quantity) for s in shown), default=0)
    for step in d.steps:
        if not _shown(step):
            lines.append(f"  {step.note}")
            continue
        lines.append(f"  {step.quantity.ljust(width)} = " + " = ".join(formula_parts(step)))
        if step.note:
            lines.append(" " * (width + 5) + step.note)
    return lines


# -- Markdown -----------------------------------------------------------------------------

def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(net: Network, derivations: list[Derivation]) -> str:
    lines = [f"## {net.name}: worked derivations", "", f"Input `{shape_text(net.input_shape)}`.", "",
             "Rules used:", ""]
    lines += [f"- {_md(rule)}" for rule in rules_used(derivations)]
    lines.append("")
    for d in derivations:
        lines += [f"#### `{_md(_title(d))}`", "", f"{io_text(d)}" + "".join(f" ({n})" for n in d.notes), ""]
        if _compact(d):
            lines += [_md(_sentence(d)), ""]
            continue
        kept = [s.note for s in d.steps if not _shown(s)]
        if kept:
            lines += [_md("; ".join(kept)), ""]
        lines += ["| quantity | formula | with the numbers | result | note |", "|---|---|---|---:|---|"]
        for s in d.steps:
            if not _shown(s):
                continue
            parts = formula_parts(s)
            symbols = parts[0] if len(parts) == 3 else ""
            numbers = parts[-2] if len(parts) >= 2 else ""
            lines.append(f"| {_md(s.quantity)} | {_cell(symbols)} | {_cell(numbers)} | "
                         f"{_md(parts[-1])} | {_md(s.note)} |")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return f"`{_md(text)}`" if text else ""


# -- LaTeX --------------------------------------------------------------------------------

_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
_MATH = {"\u2212": "$-$", "\u00b7": r"$\cdot$", "\u00d7": r"$\times$", ARROW: r"$\rightarrow$",
         "\u2265": r"$\geq$", "\u2264": r"$\leq$", "\u2308": r"$\lceil$", "\u2309": r"$\rceil$",
         "\u230a": r"$\lfloor$", "\u230b": r"$\rfloor$", "\u03b3": r"$\gamma$", "\u03b2": r"$\beta$",
         "\u2014": "---", "\u2013": "--", "\u2019": "'"}


def latex_text(text: str) -> str:
    """Prose for LaTeX: specials escaped, the few mathematical signs as mathematics."""
    return "".join(_SPECIALS.get(ch) or _MATH.get(ch) or ch for ch in text)


def _quantity_tex(step: Step) -> str:
    return step.tex or rf"\text{{{latex_text(step.quantity)}}}"


def render_latex(net: Network, derivations: list[Derivation]) -> str:
    lines = [f"% {net.name}: worked derivations, generated by archdsl; needs \\usepackage{{amsmath}}",
             f"\\subsection*{{{latex_text(net.name)}: worked derivations}}",
             f"Input ${_shape_tex(shape_text(net.input_shape))}$. Rules used:", r"\begin{itemize}"]
    lines += [f"  \\item {latex_text(rule)}" for rule in rules_used(derivations)]
    lines += [r"\end{itemize}", ""]
    for d in derivations:
        lines += layer_latex(d)
    return "\n".join(lines) + "\n"


def _shape_tex(text: str) -> str:
    return text.replace("x", r" \times ")


def layer_latex(d: Derivation) -> list[str]:
    ins = ", ".join(_shape_tex(shape_text(s)) for s in d.in_shapes)
    io = (ins + r" \rightarrow " if ins else "") + _shape_tex(shape_text(d.out_shape))
    out = [f"\\paragraph{{\\texttt{{{latex_text(_title(d))}}}}} ${io}$" +
           "".join(f" ({latex_text(n)})" for n in d.notes)]
    if _compact(d):
        return out + [latex_text(_sentence(d)) + ".", ""]
    kept = [s.note for s in d.steps if not _shown(s)]
    if kept:
        out.append(latex_text("; ".join(kept)) + ".")
    rows = []
    for s in d.steps:
        if not _shown(s):
            continue
        rows.append(f"  {_quantity_tex(s)} &= " + " = ".join(formula_parts(s, latex=True)))
        if s.note:
            rows.append(f"  &\\quad\\parbox[t]{{0.8\\linewidth}}{{\\footnotesize\\itshape {latex_text(s.note)}}}")
    out += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}", ""]
    return out
