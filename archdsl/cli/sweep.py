"""`archdsl sweep`: enumerate (or sample) a spec's search space, prune by
budget, and print the Pareto front of parameters, MACs and memory; `--pick ID`
writes one candidate as a concrete spec."""
from __future__ import annotations

import argparse
import json
import re
import sys

from archdsl.cli.common import check_spec_path, positive, write_output
from archdsl.cli.cost import OPTIMIZERS, size
from archdsl.errors import UsageError

NAME = "sweep"
HELP = "explore a spec's choice(...)/range(...) search space: the Pareto front of params, MACs and memory"
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def count(text: str) -> int:
    """argparse type for `5M`, `1.5G`, `25e6`, `11,689,512`."""
    m = re.fullmatch(r"\s*([0-9][0-9_,]*(?:\.[0-9]+)?(?:e[0-9]+)?)\s*([kKmMgGtT]?)\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected a count like 5M, 1.5G or 25e6, got {text!r}")
    return int(float(m.group(1).replace(",", "").replace("_", "")) * _SUFFIX[m.group(2).lower()])


def objectives(text: str):
    """argparse type for --front."""
    from archdsl.sweep.pareto import parse_objectives
    try:
        return parse_objectives(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    p.add_argument("spec", metavar="SPEC", help=".arch file with choice(...) or range(...) values")
    p.add_argument("--network", metavar="NAME", help="pick one network when a file has several")
    p.add_argument("--samples", type=positive, default=None, metavar="N",
                   help="evaluate N distinct random candidates instead of every one")
    p.add_argument("--seed", type=int, default=0, help="random seed for --samples (default 0)")
    p.add_argument("--limit", type=positive, default=1_000_000, metavar="N",
                   help="refuse to enumerate more candidates than this without --samples (default 1,000,000)")
    p.add_argument("--max-params", type=count, default=None, metavar="N", help="prune candidates above N params")
    p.add_argument("--max-macs", type=count, default=None, metavar="N", help="prune candidates above N MACs")
    p.add_argument("--max-memory", type=size, default=None, metavar="SIZE",
                   help="prune candidates above SIZE of memory, e.g. 8GiB")
    p.add_argument("--memory", choices=("train", "inference"), default="train",
                   help="train: one training step's memory (archdsl cost: weights, gradients, optimiser, saved "
                        "activations); inference: the activations (default train)")
    p.add_argument("--batch", type=positive, default=1, metavar="N", help="batch for the memory (default 1)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="optimiser state (default sgd)")
    p.add_argument("--front", type=objectives, default="params+,macs-,memory-", metavar="LIST",
                   help="the front's objectives, + more is better, - less is better (default params+,macs-,memory-: "
                        "the most parameters for the compute and memory; params-,macs-,memory- minimises all)")
    p.add_argument("--pick", type=int, default=None, metavar="ID",
                   help="write candidate ID as a concrete spec (to -o or stdout) instead of sweeping")
    p.add_argument("--plot", metavar="FILE.png", help="draw params against MACs, coloured by memory, front marked")
    p.add_argument("--top", type=positive, default=25, metavar="N", help="front rows in the table (default 25)")
    p.add_argument("-f", "--format", choices=("table", "json"), default=None,
                   help="table (default) or json (-o FILE.json picks it)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar on stderr (default: when stderr is a terminal)")
    p.set_defaults(run=run)


def run(args) -> int:
    check_spec_path(args.spec)
    from archdsl.sweep import Evaluator, Progress, Space, candidate_ids, concrete_spec, sweep
    space = Space(args.spec, args.network)
    if not space.sites:
        raise UsageError(f"{args.spec} has no choice(...) or range(...): it is one network; archdsl check it")
    if args.pick is not None:
        try:
            text = concrete_spec(space, args.pick)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        _check_pick(text, args)
        write_output(args.output, text)
        return 0
    try:
        ids = candidate_ids(space, args.samples, args.seed, args.limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.plot:
        from archdsl.atomic import check_writable
        check_writable(args.plot)
    evaluator = Evaluator(space, args.batch, args.optimizer, args.memory)
    progress = Progress(len(ids), enabled=args.progress)
    result = sweep(space, ids, evaluator, args.max_params, args.max_macs, args.max_memory, progress, args.front)
    fmt = args.format or ("json" if args.output and args.output.endswith(".json") else "table")
    text = _json(result, args) if fmt == "json" else _table(result, args)
    write_output(args.output, text)
    if args.plot:
        from archdsl.sweep.plot import plot_front
        plot_front(result, args.plot)
        print(f"wrote {args.plot} (params against MACs, {len(result.front)} on the front)", file=sys.stderr)
    return 0


def _check_pick(text: str, args) -> None:
    """The written spec must analyse: say what it is on stderr."""
    from archdsl.api import loads
    from archdsl.errors import ArchError
    from archdsl.text import count_text
    try:
        net = loads(text, args.output or "<picked>", base=_base(args.spec), network=args.network)
    except ArchError as exc:  # an invalid candidate: still written, with the reason
        print(f"archdsl: warning: candidate {args.pick} is not a valid network: {exc.first.message}",
              file=sys.stderr)
        return
    print(f"candidate {args.pick}: {net.totals.params:,} params, {count_text(net.totals.macs)} MACs",
          file=sys.stderr)


def _base(spec: str):
    from pathlib import Path
    return Path(spec).parent


def _budgets(args) -> str:
    parts = [f"--{name.replace('_', '-')} {getattr(args, name):,}" for name in ("max_params", "max_macs", "max_memory")
             if getattr(args, name) is not None]
    return ", ".join(parts)


def _table(result, args) -> str:
    from archdsl.core.memory import OPTIMIZER_NAMES
    from archdsl.text import count_text, human_bytes
    space = result.space
    how = f"{args.samples:,} sampled" if args.samples else "every one"
    memory = (f"training memory, batch {args.batch}, {OPTIMIZER_NAMES[args.optimizer]}, fp32" if args.memory == "train"
              else f"inference activations, batch {args.batch}, fp32")
    lines = [f"{space.network.name}: {space.size:,} candidates from {len(space.sites)} choice points, {how}",
             f"  {result.evaluated:,} distinct networks in {result.seconds:.2f} s ({result.rate:,.0f}/s); "
             f"{len(result.invalid):,} invalid, {result.pruned:,} pruned"
             + (f" ({_budgets(args)})" if _budgets(args) else "") + f"; memory is {memory}", "",
             "Choice points:"]
    for s in space.sites:
        lines.append(f"  #{s.index + 1:<3} {s.label}: {', '.join(s.options)}")
    front = result.front
    wanted = ", ".join(f"{'most' if sign > 0 else 'least'} {name}" for name, sign in args.front)
    lines += ["", f"Pareto front ({wanted}): {len(front):,} candidates"
              + (f" (the first {args.top} shown)" if len(front) > args.top else ""), ""]
    rows = [["ID", "Params", "MACs", "Memory", *[f"#{s.index + 1}" for s in space.sites]]]
    for c in front[:args.top]:
        rows.append([str(c.id), count_text(c.params), count_text(c.macs), human_bytes(c.memory), *c.values(space)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        if k == 0:
            lines.append("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    if result.invalid:
        first = result.invalid[0]
        lines += ["", f"Invalid: {len(result.invalid):,}, e.g. candidate {first.id}: {first.error}"]
    lines += ["", f"archdsl sweep {args.spec} --pick ID -o net.arch writes a candidate as a spec"]
    return "\n".join(lines) + "\n"


def _json(result, args) -> str:
    space = result.space
    labels = {s.index: s.label for s in space.sites}

    def entry(c):
        return {"id": c.id, "params": c.params, "macs": c.macs, "memory": c.memory,
                "backward_macs": c.backward_macs, "choices": {labels[i]: _plain(v) for i, v in c.choices}}

    doc = {
        "network": space.network.name, "spec": str(space.path), "size": space.size,
        "sites": [{"index": s.index, "label": s.label, "options": list(s.options), "line": s.expr.span.line}
                  for s in space.sites],
        "memory": {"kind": args.memory, "batch": args.batch, "optimizer": args.optimizer},
        "budgets": {"max_params": args.max_params, "max_macs": args.max_macs, "max_memory": args.max_memory},
        "objectives": [f"{name}{'+' if sign > 0 else '-'}" for name, sign in args.front],
        "evaluated": result.evaluated, "duplicates": result.duplicates, "pruned": result.pruned,
        "invalid": [{"id": c.id, "error": c.error} for c in result.invalid],
        "seconds": round(result.seconds, 3), "rate": round(result.rate, 1),
        "front": [entry(c) for c in result.front],
    }
    return json.dumps(doc, indent=2) + "\n"


def _plain(value):
    from archdsl.lowering.expressions import show_value
    return value if isinstance(value, (int, float, bool)) and not isinstance(value, bool) else show_value(value)
