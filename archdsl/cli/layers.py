"""`archdsl layers`: the layer kinds and their parameters, written as a spec writes them."""
from __future__ import annotations

import difflib

from archdsl.errors import UsageError

NAME = "layers"
HELP = "list the layer kinds of the language and their parameters"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    p.add_argument("kinds", nargs="*", metavar="KIND",
                   help="only these layer kinds (any keyword or alias, e.g. conv, linear)")
    p.set_defaults(run=run)


def run(args) -> int:
    from archdsl.core.ops import REGISTRY
    classes = [_lookup(REGISTRY, name) for name in args.kinds] if args.kinds else list(REGISTRY.values())
    seen = set()
    for cls in classes:
        if cls not in seen:
            seen.add(cls)
            print("\n".join(describe_kind(cls)))
    return 0


def _lookup(registry: dict, name: str):
    cls = registry.get(name.lower())
    if cls is not None:
        return cls
    close = difflib.get_close_matches(name.lower(), list(registry), n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
        "; `archdsl layers` lists them all"
    raise UsageError(f"unknown layer kind {name!r}{hint}")


def describe_kind(cls) -> list[str]:
    """The heading line of a layer kind and one line per attribute."""
    lines = [f"{' | '.join(cls.keywords)}: {cls.doc}"]
    for attr in cls.attrs:
        aliases = f" (also {', '.join(attr.aliases)})" if attr.aliases else ""
        how = f"positional or key={attr.name}" if attr.positional else f"key={attr.name}"
        parts = [f"    {attr.name}{aliases}: {attr.doc}", how]
        if attr.required:
            parts.append("required")
        elif attr.default is not None or "default" not in attr.doc:
            # A None default whose doc already explains it ("default: the window size") says no more.
            parts.append(f"default: {spec_value(attr.default)}")
        lines.append("; ".join(parts))
    return lines


def spec_value(value) -> str:
    """A default as a spec would write it: true, none, 1e-5, 2x2."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:  # 1e-05 -> 1e-5, 1e+20 -> 1e20
            mantissa, exponent = text.split("e")
            sign = "-" if exponent.startswith("-") else ""
            text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
        return text
    if isinstance(value, tuple):
        return "x".join(spec_value(v) for v in value)
    return str(value)
