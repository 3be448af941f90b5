"""Completion: what may be typed at the cursor, read from the text before it.

- at the start of a statement: layer kinds, block names with their
  parameters (as a snippet), merges and keywords;
- after a layer kind: its attributes, with their defaults (`s=` "default 1");
- after `key=`: the words that attribute accepts (`p=same`, `mode=bilinear`);
- after `@`: the labels of the buffer;
- inside `use "`: files beside the buffer, folders, and `std/...`."""
from __future__ import annotations

import re
from pathlib import Path

from archdsl.editor.analysis import Snapshot
from archdsl.editor.lookup import signature, walk_statements
from archdsl.records import dataclass

KEYWORDS = {
    "repeat": ("repeat ${1:2} {\n\t$0\n}", "repeat N { ... }: the body N times"),
    "residual": ("residual {\n\t$0\n}", "residual { body } [shortcut { projection }]: out = body(x) + x"),
    "concat": ("concat {\n\tbranch { $1 }\n\tbranch { $0 }\n}", "concatenate branches along channels"),
    "add": ("add {\n\tbranch { $1 }\n\tbranch { $0 }\n}", "sum branches element-wise (broadcasting)"),
    "mul": ("mul {\n\tbranch { $1 }\n\tbranch { $0 }\n}", "multiply branches element-wise (broadcasting)"),
    "if": ("if ${1:s == 1} {\n\t$0\n}", "if cond { ... } else { ... }, decided while lowering"),
    "from": ("from @${1:t} {\n\t$0\n}", "continue from a named tensor"),
    "defaults": ("defaults { ${1:bn eps=1e-3} }", "attribute defaults for what follows"),
    "output": ("output ${1:name}", "mark the flow (or output NAME @t) as an output"),
    "expect": ("expect ${1:64x56x56}", "assert the flow's shape"),
}
TOP_LEVEL = {
    "network": ("network ${1:Name} {\n\tinput ${2:3x224x224}\n\t$0\n}", "a network: starts with its input"),
    "block": ("block ${1:Name}(${2:c}) {\n\t$0\n}", "a parameterised group of statements"),
    "use": ('use "${1:std/resnet.arch}"', "make the blocks of another file available"),
    "train": ("train {\n\toptimizer ${1:sgd} lr=${2:0.01}\n\t$0\n}", "how archdsl train trains this file"),
    "defaults": ("defaults { ${1:bn eps=1e-3} }", "attribute defaults for every network and block here"),
    "layout": ("layout ${1:hwc}", "how the file writes shapes: hwc reads input 227x227x3 as HxWxC"),
}
_USE = re.compile(r'^\s*use\s+"([^"]*)$')
_KWARG_VALUE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z_-]*)$")
_STATEMENT_START = re.compile(r"(?:^|[;{])\s*(?:[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*\s*:\s*)?"
                              r"([A-Za-z_][A-Za-z0-9_]*)?$")
_LAYER_ARGS = re.compile(r"(?:^|[;{:])\s*([A-Za-z_][A-Za-z0-9_]*)\s+([^;{}#]*)$")


@dataclass(frozen=True, slots=True)
class Item:
    """One completion: `insert` is a snippet when `snippet` is set ($1, ${1:default})."""

    label: str
    kind: str  # kind | block | keyword | attribute | value | tensor | file | folder
    detail: str = ""
    doc: str = ""
    insert: str | None = None
    snippet: bool = False
    sort: str = ""


def complete(snap: Snapshot, line: int, character: int) -> list[Item]:
    lines = snap.text.split("\n")
    prefix = lines[line][:character] if 0 <= line < len(lines) else ""
    code = prefix.split("#", 1)[0] if '"' not in prefix else prefix
    if "#" in prefix and '"' not in prefix:
        return []  # in a comment
    m = _USE.match(prefix)
    if m:
        return use_paths(m.group(1), snap.base)
    if re.search(r"@[A-Za-z0-9_]*$", code):
        return _tensors(snap)
    m = _KWARG_VALUE.search(code)
    if m:
        return _values(code, m.group(1))
    depth = _depth(snap.text, line, character)
    if depth == 0:
        return [Item(k, "keyword", doc=d, insert=s, snippet=True) for k, (s, d) in TOP_LEVEL.items()]
    m = _STATEMENT_START.search(code)
    if m:
        return _statement_starts(snap)
    m = _LAYER_ARGS.search(code)
    if m:
        return _attributes(m.group(1), m.group(2))
    return []


def _depth(text: str, line: int, character: int) -> int:
    """Braces open at the cursor (comments and strings skipped)."""
    from archdsl.frontend.braces import braces
    offset = sum(len(x) + 1 for x in text.split("\n")[:line]) + character
    return max(sum(1 if kind == "{" else -1 for kind, _ in braces(text, offset)), 0)


def _statement_starts(snap: Snapshot) -> list[Item]:
    from archdsl.core.ops import REGISTRY
    items = []
    for name, cls in sorted(REGISTRY.items()):
        if name == "input" or name in cls.keywords[1:]:
            continue  # aliases stay out of the list; the main keyword is offered
        items.append(Item(name, "kind", detail=getattr(cls, "example", ""), doc=getattr(cls, "doc", ""),
                          sort=f"1{name}"))
    items.append(Item("input", "kind", detail="input 3x224x224", doc="the network's input (channels first)",
                      sort="1input"))
    for name, block in sorted(snap.workspace.blocks.items()):
        items.append(Item(name, "block", detail=f"block {signature(block)}", doc=f"defined at {block.name_span}",
                          insert=_call_snippet(block), snippet=True, sort=f"0{name}"))
    for name, (snippet, doc) in KEYWORDS.items():
        items.append(Item(name, "keyword", doc=doc, insert=snippet, snippet=True, sort=f"2{name}"))
    return items


def _call_snippet(block) -> str:
    if not block.parens:
        return block.name
    required = [p for p in block.params if p.default is None]
    inner = ", ".join(f"${{{i + 1}:{p.name}}}" for i, p in enumerate(required))
    return f"{block.name}({inner})"


def _attributes(kind: str, written: str) -> list[Item]:
    from archdsl.core.ops import REGISTRY
    cls = REGISTRY.get(kind)
    if cls is None:
        return []
    given = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", written))
    items = []
    for attr in cls.attrs:
        if attr.name in given or given & set(attr.aliases):
            continue
        default = "required" if attr.required else f"default {_shown(attr.default)}"
        doc = attr.doc + (f" (also {', '.join(attr.aliases)})" if attr.aliases else "")
        if attr.choices:
            doc += f"; one of {', '.join(attr.choices)}"
        items.append(Item(f"{attr.name}=", "attribute", detail=default, doc=doc, insert=f"{attr.name}=",
                          sort=f"{0 if attr.required else 1}{attr.name}"))
    return items


def _shown(value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "none" if value is None else str(value)


def _values(code: str, key: str) -> list[Item]:
    from archdsl.core.ops import REGISTRY
    m = _LAYER_ARGS.search(code)
    cls = REGISTRY.get(m.group(1)) if m else None
    words: tuple[str, ...] = ()
    if cls is not None:
        for attr in cls.attrs:
            if key == attr.name or key in attr.aliases:
                if attr.choices:
                    words = attr.choices
                elif attr.type == "padding":
                    words = ("same", "valid", "half")
                elif attr.type == "bool":
                    words = ("true", "false")
    return [Item(w, "value", detail=f"{key}={w}") for w in words]


def _tensors(snap: Snapshot) -> list[Item]:
    if snap.program is None:
        return []
    seen: dict[str, str] = {}
    for item in (*snap.program.networks, *snap.program.blocks):
        for stmt in walk_statements(item.body):
            for label in getattr(stmt, "labels", ()) or ((stmt.label,) if getattr(stmt, "label", None) else ()):
                seen.setdefault(label, f"in {item.name}")
    return [Item(name, "tensor", detail=where, insert=name) for name, where in seen.items()]


def use_paths(typed: str, base: Path) -> list[Item]:
    """Files and folders a `use` path can go on with, from what is typed so far."""
    from archdsl.lowering.stdlib import PREFIX, STDLIB
    folder, _, _partial = typed.rpartition("/")
    items = []
    if typed.startswith(PREFIX) or not folder:
        for path in sorted(STDLIB.glob("*.arch")):
            items.append(Item(f"{PREFIX}{path.name}", "file", detail="standard library", insert=f"{PREFIX}{path.name}"))
    if not typed.startswith(PREFIX):
        where = (base / folder) if folder else base
        try:
            entries = sorted(where.iterdir())
        except OSError:
            entries = []
        lead = f"{folder}/" if folder else ""
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                items.append(Item(f"{lead}{entry.name}/", "folder", insert=f"{lead}{entry.name}/"))
            elif entry.suffix == ".arch":
                items.append(Item(f"{lead}{entry.name}", "file", insert=f"{lead}{entry.name}"))
    return items
