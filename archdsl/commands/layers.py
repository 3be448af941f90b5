"""`archdsl layers`: the layer kinds and their parameters."""
from __future__ import annotations

NAME = "layers"
HELP = "list the layer kinds of the language and their parameters"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + ".")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..ops import REGISTRY
    seen = set()
    for keyword, cls in REGISTRY.items():
        if cls in seen:
            continue
        seen.add(cls)
        names = " | ".join(cls.keywords)
        print(f"{names}: {cls.doc}")
        for attr in cls.attrs:
            default = "required" if attr.required else f"default {attr.default}"
            how = "positional or " if attr.positional else ""
            aliases = f" (also {', '.join(attr.aliases)})" if attr.aliases else ""
            print(f"    {attr.name}{aliases}: {attr.doc}; {how}key={attr.name}; {default}")
    return 0
