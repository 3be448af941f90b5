"""Loading a checkpoint into a built module, with every mismatch named by the
spec's layer and both shapes (never `load_state_dict`'s traceback).

A checkpoint is a state_dict, or a dict holding one under `model`,
`state_dict` or `model_state_dict` (archdsl train's checkpoints, Lightning's,
most training scripts'); `module.` prefixes (DataParallel) are dropped. Its
keys are matched to the module's, which are the spec's layer names, through
a key map:

- none (the default): the keys are the spec's names already, as in a
  checkpoint of a module archdsl built;
- `torchvision`: torchvision's modules register their layers in the order
  they run, as a spec writes them, so the checkpoint's layers are paired with
  the spec's in order, each pair agreeing in what it holds (weight, bias,
  running statistics) and in rank; the auxiliary heads (`aux1.`, `aux2.`,
  `AuxLogits.`) are dropped;
- a rule file: one rule per line, applied in order to every checkpoint key:
  `drop REGEX` ignores the keys it matches, `REGEX REPLACEMENT` renames them
  (Python's re.sub, `\\1` for groups), and `order` pairs what is left by order
  as `torchvision` does. `#` starts a comment.

Imports torch lazily (inside functions); the rules are pure text.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from archdsl.backends.torch.names import attribute_path
from archdsl.errors import ArchError, Diagnostic, UsageError
from archdsl.records import dataclass
from archdsl.source import SourceFile
from archdsl.text import shape_text

KEY_MAPS = ("none", "torchvision")
STATE_KEYS = ("model", "state_dict", "model_state_dict")
_TORCHVISION_DROPS = (r"^aux1\.", r"^aux2\.", r"^AuxLogits\.")
_OPTIONAL = "num_batches_tracked"  # old BatchNorm checkpoints lack it; PyTorch starts it at 0


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # drop | rename | order
    pattern: re.Pattern | None = None
    replacement: str = ""


def read_rules(path: str | Path) -> list[Rule]:
    """A key-map rule file; an ArchError at the line of a rule that does not read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the key map ({exc.strerror or exc})") from None
    source = SourceFile(str(path), text)
    rules, problems = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        span = source.span(number, raw.index(words[0]) + 1, number, len(raw.rstrip()) + 1)
        try:
            if words == ["order"]:
                rules.append(Rule("order"))
            elif words[0] == "drop" and len(words) == 2:
                rules.append(Rule("drop", re.compile(words[1])))
            elif len(words) == 2:
                rules.append(Rule("rename", re.compile(words[0]), words[1]))
            else:
                problems.append(Diagnostic("error", "a key-map rule is `drop REGEX`, `REGEX REPLACEMENT` or `order`",
                                           span, hint="one rule per line; a regex cannot contain spaces (use \\s)"))
        except re.error as exc:
            problems.append(Diagnostic("error", f"not a regular expression: {exc}", span))
    if problems:
        raise ArchError(problems)
    return rules


def key_map_rules(key_map) -> list[Rule]:
    """The rules of `key_map`: None/"none", "torchvision", a rule file, or a list of Rules."""
    if key_map is None or key_map == "none":
        return []
    if key_map == "torchvision":
        return [Rule("drop", re.compile(p)) for p in _TORCHVISION_DROPS] + [Rule("order")]
    if isinstance(key_map, list | tuple):
        return list(key_map)
    if isinstance(key_map, str | Path) and Path(key_map).is_file():
        return read_rules(key_map)
    raise UsageError(f"--key-map takes {' or '.join(KEY_MAPS)} or a rule file, got {key_map!r}")


def read_state_dict(weights) -> dict:
    """The state_dict in a checkpoint file (or in a dict already loaded)."""
    import torch
    if isinstance(weights, str | Path):
        p = Path(weights)
        if not p.is_file():
            raise UsageError(f"{weights}: no such checkpoint")
        try:
            weights = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - pickle, zip and torch raise assorted types
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise UsageError(f"{weights} is not a readable state_dict ({type(exc).__name__}: {first}); "
                             "a whole pickled model is not read (it could run code): save its state_dict()") from None
    if isinstance(weights, torch.nn.Module):
        weights = weights.state_dict()
    if not isinstance(weights, dict):
        raise UsageError(f"weights must be a state_dict or a checkpoint file, not {type(weights).__name__}")
    for key in STATE_KEYS:
        inner = weights.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            weights = inner
            break
    tensors = {k: v for k, v in weights.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise UsageError("the checkpoint holds no tensors")
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def map_keys(state: dict, wanted: dict, rules: list[Rule]) -> tuple[dict, dict, list[str]]:
    """(spec key -> tensor, spec key -> checkpoint key, unmatched checkpoint keys)."""
    named: dict[str, str] = {}  # checkpoint key after renames -> original
    for key in state:
        new = key
        dropped = False
        for rule in rules:
            if rule.kind == "drop" and rule.pattern.search(new):
                dropped = True
                break
            if rule.kind == "rename":
                new = rule.pattern.sub(rule.replacement, new)
        if not dropped:
            named[new] = key
    if any(r.kind == "order" for r in rules):
        origin = _pair_in_order(list(named), {k: tuple(state[named[k]].shape) for k in named}, wanted)
        origin = {spec: named[ck] for spec, ck in origin.items()}
    else:
        origin = {k: named[k] for k in named if k in wanted}
    used = set(origin.values())
    unmatched = [named[k] for k in named if named[k] not in used and not named[k].endswith(_OPTIONAL)]
    return {spec: state[ck] for spec, ck in origin.items()}, origin, unmatched


def _owners(keys, shapes) -> list[tuple[str, tuple]]:
    """Keys grouped by the module that holds them, in order, each with what it holds."""
    groups: dict[str, list] = {}
    for key in keys:
        owner, _, leaf = key.rpartition(".")
        if leaf != _OPTIONAL:
            groups.setdefault(owner, []).append((leaf, len(shapes[key])))
    return [(owner, tuple(sorted(held))) for owner, held in groups.items()]


def _pair_in_order(keys: list[str], shapes: dict, wanted: dict) -> dict[str, str]:
    """spec key -> checkpoint key, pairing modules in order where they hold the same things."""
    theirs = _owners(keys, shapes)
    ours = _owners(list(wanted), {k: tuple(v) for k, v in wanted.items()})
    matcher = difflib.SequenceMatcher(None, [s for _, s in ours], [s for _, s in theirs], autojunk=False)
    pairs: dict[str, str] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for (mine, held), (other, _) in zip(ours[i1:i2], theirs[j1:j2], strict=True):
                for leaf, _ in held:
                    if f"{other}.{leaf}" in shapes:
                        pairs[f"{mine}.{leaf}"] = f"{other}.{leaf}"
                if f"{mine}.{_OPTIONAL}" in wanted and f"{other}.{_OPTIONAL}" in shapes:
                    pairs[f"{mine}.{_OPTIONAL}"] = f"{other}.{_OPTIONAL}"
    return pairs


def load_weights(model, net, weights, key_map=None) -> None:
    """Load `weights` (a path or a state_dict) into `model`, built from `net`;
    an ArchError listing every mismatch, by layer, when they do not fit."""
    import torch
    state = read_state_dict(weights)
    own = model.state_dict()
    wanted = {k: tuple(v.shape) for k, v in own.items()}
    mapped, origin, unmatched = map_keys(state, wanted, key_map_rules(key_map))
    spans = {attribute_path(n.name): n.span for n in net.graph.nodes}
    problems = []
    for key, shape in wanted.items():
        owner = key.rpartition(".")[0]
        if key not in mapped:
            if not key.endswith(_OPTIONAL):
                problems.append(Diagnostic("error", f"{key} ({shape_text(shape)}): the checkpoint has no such tensor",
                                           spans.get(_layer(owner, spans))))
            continue
        theirs = tuple(mapped[key].shape)
        if theirs != shape:
            named = f" ({origin[key]})" if origin[key] != key else ""
            problems.append(Diagnostic(
                "error", f"{key}: the spec gives {shape_text(shape)}, the checkpoint{named} has {shape_text(theirs)}",
                spans.get(_layer(owner, spans))))
    for key in unmatched:
        close = difflib.get_close_matches(key, list(wanted), n=1, cutoff=0.6)
        problems.append(Diagnostic(
            "error", f"the checkpoint's {key} ({shape_text(tuple(state[key].shape))}) belongs to no layer of the spec",
            hint=f"did you mean {close[0]}?" if close else None))
    if problems:
        if key_map in (None, "none") and len(unmatched) > len(wanted) // 2:
            problems[-1] = Diagnostic(problems[-1].severity, problems[-1].message, problems[-1].span,
                                      hint="the names are not the spec's: --key-map torchvision pairs a torchvision "
                                           "checkpoint's layers with the spec's in order (docs/torch.md)")
        raise ArchError(problems)
    for key in wanted:
        if key not in mapped:
            mapped[key] = own[key]  # num_batches_tracked, absent from old checkpoints
    with torch.no_grad():
        model.load_state_dict(mapped, strict=True)


def _layer(owner: str, spans: dict) -> str | None:
    """The spec layer a state_dict owner names (itself, or the nearest enclosing name)."""
    while owner and owner not in spans:
        owner = owner.rpartition(".")[0]
    return owner or None
