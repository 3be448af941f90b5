"""Spec -> `torch.nn.Module`, by executing the generated source.

`archdsl build -o model.py` writes `generate_source(...)`; `build()` runs that
same text in a fresh module namespace and instantiates the class, so the
in-process module and the file on disk are the same code."""
from __future__ import annotations

import linecache
import sys
import types
from pathlib import Path

from archdsl.backends.torch.budget import check_param_budget
from archdsl.backends.torch.codegen import generate_source
from archdsl.backends.torch.names import class_name
from archdsl.errors import UsageError
from archdsl.limits import DEFAULT_LIMITS

_counter = 0


def resolve_network(spec, *, input_shape=None, network=None, limits=DEFAULT_LIMITS):
    """A `Network` from a path, spec text or an analysed Network."""
    from archdsl.api import load, loads
    from archdsl.core.network import Network
    if isinstance(spec, Network):
        if input_shape is not None or network is not None:
            raise UsageError("input_shape and network apply to a path or text, not an analysed Network")
        return spec, None
    options = dict(input_shape=tuple(input_shape) if input_shape else None, limits=limits, network=network)
    if isinstance(spec, Path) or (isinstance(spec, str) and "{" not in spec and "\n" not in spec):
        return load(spec, **options), str(spec)
    if isinstance(spec, str):
        return loads(spec, **options), None
    raise UsageError(f"build() takes a path, spec text or archdsl.Network, not {type(spec).__name__}")


def load_source(source: str, name: str):
    """Execute generated source as a fresh module; returns the module object.

    The text is registered with linecache so tracebacks and `inspect` show it."""
    global _counter
    _counter += 1
    module_name = f"archdsl_generated_{_counter}_{name}"
    filename = f"<archdsl:{name}#{_counter}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(module_name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - our own generated code
    sys.modules[module_name] = module  # lets pickle and torch.package find the class
    return module


def build(spec, *, softmax: str = "logits", input_shape=None, network=None, limits=DEFAULT_LIMITS,
          max_param_bytes: int | None = None):
    """A `torch.nn.Module` for `spec` (path, text or analysed `archdsl.Network`).

    softmax: "logits" (default) keeps a trailing softmax out of `forward`, which
    returns logits for `nn.CrossEntropyLoss`; `model.predict_proba(x)` applies
    it. "keep" compiles it into `forward`.
    Raises ArchError for a spec error or a model above the parameter budget."""
    net, origin = resolve_network(spec, input_shape=input_shape, network=network, limits=limits)
    check_param_budget(net, limits.max_param_bytes if max_param_bytes is None else max_param_bytes)
    source = generate_source(net, softmax=softmax, source_name=origin)
    cls_name = class_name(net.name)
    module = load_source(source, cls_name)
    model = getattr(module, cls_name)()
    model.archdsl_source = source  # the exact text `archdsl build` writes
    return model
