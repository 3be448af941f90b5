"""Files -> lowered, analysed networks. Resolves `use` (relative to the using
file, or `std/...` from the bundled library), detects cycles and duplicate
blocks, then lowers every network."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from archdsl.errors import ArchError, Diagnostic, OptionError
from archdsl.frontend import syntax as ast
from archdsl.frontend.parse import parse
from archdsl.limits import DEFAULT_LIMITS, Limits
from archdsl.lowering.layout import file_layouts
from archdsl.lowering.lowerer import Lowerer
from archdsl.lowering.stdlib import PREFIX, resolve_std
from archdsl.records import dataclass
from archdsl.source import SourceFile


def read_spec(path: str | Path) -> str:
    """Read a spec file as UTF-8; every failure is an ArchError with a one-line cause."""
    p = Path(path)
    name = str(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ArchError(Diagnostic("error", f"{name}: no such file")) from None
    except IsADirectoryError:
        raise ArchError(Diagnostic("error", f"{name}: is a directory, not a spec file",
                                   hint="pass a .arch file, e.g. specs/alexnet.arch")) from None
    except PermissionError:
        raise ArchError(Diagnostic("error", f"{name}: permission denied")) from None
    except OSError as exc:
        raise ArchError(Diagnostic("error", f"{name}: cannot read ({exc.strerror or exc})")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        # Quote the line with the bad byte shown as U+FFFD so the caret has context.
        shown = SourceFile(name, data[: exc.start].decode("utf-8", "replace") + "\ufffd"
                           + data[exc.end:].decode("utf-8", "replace"))
        raise ArchError(Diagnostic("error", f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                                   shown.span(line, len(data[: exc.start].decode("utf-8", "replace")
                                                        .rsplit("\n", 1)[-1]) + 1),
                                   hint="save the file as UTF-8")) from None


class Workspace:
    """Every file reached through `use`, parsed once, and the blocks they define."""

    def __init__(self):
        self.programs: dict[Path, ast.Program] = {}
        self.blocks: dict[str, ast.BlockDef] = {}
        self.diagnostics: list[Diagnostic] = []
        self.defaults: dict[str, list[ast.Defaults]] = {}  # each file's top-level `defaults`, by file name

    def add_program(self, program: ast.Program, base: Path | None, chain: tuple[Path, ...] = ()) -> None:
        if program.defaults:
            self.defaults[program.source.name] = program.defaults
        for use in program.uses:
            self._use(use, base, chain)
        for block in program.blocks:
            first = self.blocks.get(block.name)
            if first is not None and first is not block:
                self.diagnostics.append(Diagnostic(
                    "error", f"block {block.name} is defined twice", block.name_span,
                    notes=[f"first defined at {first.name_span}"], hint="rename one of them"))
                continue
            self.blocks[block.name] = block

    def _use(self, use: ast.Use, base: Path | None, chain: tuple[Path, ...]) -> None:
        target = _resolve(use.path, base)
        if target is None:
            where = f"relative to {base}" if base else "relative to the current directory"
            self.diagnostics.append(Diagnostic("error", f"cannot find \"{use.path}\" ({where})", use.span,
                                               hint="paths in `use` are relative to the file that uses them; "
                                                    "bundled blocks are under std/, e.g. use \"std/resnet.arch\""))
            return
        key = target.resolve()
        if key in chain:
            cycle = " -> ".join(p.name for p in (*chain[chain.index(key):], key))
            self.diagnostics.append(Diagnostic("error", f"`use` cycle: {cycle}", use.span,
                                               hint="move the shared blocks into a third file that both use"))
            return
        if key in self.programs:
            return
        try:
            program = _parse_used(read_spec(target), str(target))
        except ArchError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return
        self.programs[key] = program
        self.add_program(program, target.parent, (*chain, key))


@lru_cache(maxsize=64)
def _parse_used(text: str, name: str) -> ast.Program:
    # A file reached through `use` (std/resnet.arch) is read on every load, and parsed
    # again only when its text changed: a language server re-analyses on each keystroke.
    # Lowering only reads syntax trees, so one tree serves every load.
    return parse(text, name)


def _resolve(path: str, base: Path | None) -> Path | None:
    if path.startswith(PREFIX):
        return resolve_std(path)
    candidate = (base or Path.cwd()) / path
    return candidate if candidate.is_file() else None


@dataclass(frozen=True, slots=True)
class Lowered:
    """One network's graph, its warnings, and the warnings the spec allowed."""

    graph: object
    warnings: list[Diagnostic]
    allowed: list[Diagnostic]


def lower_program(program: ast.Program, base: Path | None, limits: Limits = DEFAULT_LIMITS,
                  input_shape: tuple[int, ...] | None = None, network: str | None = None):
    """Resolve uses and lower the networks of one parsed file; returns graphs with their warnings."""
    ws = Workspace()
    if base is not None:
        ws.programs[(base / Path(program.source.name).name).resolve()] = program
    chain = ((base / Path(program.source.name).name).resolve(),) if base is not None else ()
    ws.add_program(program, base, chain)
    networks = program.networks
    if network is not None:
        networks = [n for n in networks if n.name == network]
        if not networks:
            names = ", ".join(n.name for n in program.networks) or "none"
            raise OptionError(Diagnostic("error", f"no network named {network} in {program.source.name}",
                                         hint=f"networks in the file: {names}"))
    if not networks and not ws.diagnostics:
        if not program.source.text.strip():
            what = "is empty"
        elif not program.blocks and not program.uses:
            what = "defines no network (it has only comments)"
        else:
            what = "defines no network (only blocks)"
        raise ArchError(Diagnostic("error", f"{Path(program.source.name).name} {what}",
                                   program.source.span(1, 1, 1, 1),
                                   hint="add `network Name { input 3x224x224 ... }`"))
    # The file's own program is among ws.programs when it has a base directory: once each.
    layouts, problems = file_layouts({id(p): p for p in (program, *ws.programs.values())}.values())
    if problems:  # read in the wrong layout, every shape would give errors of its own
        raise ArchError([*ws.diagnostics, *problems])
    results, errors = [], list(ws.diagnostics)
    for net in networks:
        lowerer = Lowerer(ws.blocks, limits, input_shape, ws.defaults, layouts)
        try:
            graph = lowerer.lower_network(net)
        except OptionError:
            raise  # about the options, not the spec: reported on its own
        except ArchError as exc:
            errors.extend(exc.diagnostics)
            continue
        results.append(Lowered(graph, lowerer.report.warnings, lowerer.report.allowed))
    if errors:
        raise ArchError(errors)
    return results
