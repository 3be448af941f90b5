"""Spec -> `torch.nn.Module`, by executing the generated source.

`archdsl build -o model.py` writes `generate_source(...)`; `build()` runs that
same text in a fresh module namespace and instantiates the class, so the
in-process module and the file on disk are the same code."""
from __future__ import annotations

import hashlib
import linecache
import sys
import types
from pathlib import Path

from archdsl.backends.torch.budget import check_param_budget
from archdsl.backends.torch.codegen import generate_source
from archdsl.backends.torch.names import class_name
from archdsl.errors import UsageError
from archdsl.limits import DEFAULT_LIMITS

_NETWORK = "_archdsl_network"  # the analysed Network a module was built from (not pickled)


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
    """Execute generated source as a module named after its text's hash; returns it.

    The same text gives the same module (and classes), in this process and,
    through `_restore`, in any process that unpickles a module built from it.
    The text is registered with linecache so tracebacks and `inspect` show it."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    module_name = f"archdsl_generated_{digest}"
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__archdsl_source__", None) == source:
        return module
    filename = f"<archdsl:{name}#{digest[:8]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(module_name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - our own generated code
    module.__archdsl_source__ = source
    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == module_name:
            value.__reduce__ = _reduce  # pickled as (source, class name, state): loads in a new process
    sys.modules[module_name] = module  # lets torch.package and inspect find the classes
    return module


def _reduce(self):
    source = sys.modules[type(self).__module__].__archdsl_source__
    state = {k: v for k, v in self.__dict__.items() if k != _NETWORK}
    return _restore, (source, type(self).__qualname__, "archdsl_spec" in state), state


def _restore(source: str, qualname: str, network: bool = False):
    """Unpickling: the class from its module's source (executed once per process), uninitialised;
    pickle then restores the state. The network's class gets `summary` back."""
    cls = getattr(load_source(source, qualname), qualname)
    if network:
        cls.summary = _summary
    return cls.__new__(cls)


def _summary(self, fmt: str = "text", file=None, **options) -> None:
    """Print the table `archdsl check` prints for the spec this module was built from."""
    net = self.__dict__.get(_NETWORK)
    if net is None:
        net = spec_network(self.archdsl_spec)
        self.__dict__[_NETWORK] = net
    print(net.summary(fmt, **options), file=file)


def spec_network(spec: dict):
    """The Network a built module records in `archdsl_spec` (its text, analysed again)."""
    from archdsl.api import loads
    return loads(spec["text"], spec["name"], base=spec["base"], input_shape=spec["input_shape"],
                 network=spec["network"])


def _spec_record(net) -> dict | None:
    source = net.graph.span.source if net.graph.span is not None else None
    if source is None:
        return None
    inputs = net.graph.inputs or [net.graph.input]
    shape = tuple(inputs[0].shape) if len(inputs) == 1 else {n.local_name: tuple(n.shape) for n in inputs}
    base = Path(source.name).parent if Path(source.name).is_file() else None
    return {"text": source.text, "name": source.name, "base": str(base) if base else None,
            "input_shape": shape, "network": net.name}


def _check_input(module, args) -> None:
    """A forward pre-hook for unrolled (--flat) modules: the structured ones check in their forward."""
    if not module.check_input:
        return
    for (name, shape), x in zip(module._archdsl_inputs, args, strict=False):
        if tuple(x.shape[1:]) != shape:
            raise ValueError(f"{type(module).__name__}: expected {name} {'×'.join(['N', *map(str, shape)])}, "
                             f"got {'×'.join(map(str, x.shape))}")


def build(spec, *, softmax: str = "logits", input_shape=None, network=None, limits=DEFAULT_LIMITS,
          max_param_bytes: int | None = None, flat: bool = False, weights=None, key_map=None,
          check_input: bool = True):
    """A `torch.nn.Module` for `spec` (path, text or analysed `archdsl.Network`).

    softmax: "logits" (default) keeps a trailing softmax out of `forward`, which
    returns logits for `nn.CrossEntropyLoss`; `model.predict_proba(x)` applies
    it. "keep" compiles it into `forward`.
    flat: every layer unrolled into the network's class (the default is a class
    per block definition); the state_dict keys are the same either way.
    weights: a checkpoint file or a state_dict to load, its keys mapped by
    `key_map` (None, "torchvision" or a rule file; see weights.py).
    check_input: forward compares its input's shape with the spec's (a tuple
    comparison; `model.check_input = False` turns it off).
    The module pickles (torch.save(model)) and loads in another process, and
    `model.summary()` prints its table.
    Raises ArchError for a spec error, a model above the parameter budget or
    weights that do not fit."""
    net, origin = resolve_network(spec, input_shape=input_shape, network=network, limits=limits)
    check_param_budget(net, limits.max_param_bytes if max_param_bytes is None else max_param_bytes)
    source = generate_source(net, softmax=softmax, source_name=origin, flat=flat)
    cls_name = class_name(net.name)
    module = load_source(source, cls_name)
    cls = getattr(module, cls_name)
    cls.summary = _summary
    model = cls()
    model.archdsl_source = source  # the exact text `archdsl build` writes
    model.archdsl_spec = _spec_record(net)
    model.__dict__[_NETWORK] = net
    if flat:
        inputs = net.graph.inputs or [net.graph.input]
        model._archdsl_inputs = [("input" if len(inputs) == 1 else n.local_name, tuple(n.shape)) for n in inputs]
        model.register_forward_pre_hook(_check_input)
    model.check_input = check_input
    if weights is not None:
        from archdsl.backends.torch.weights import load_weights
        load_weights(model, net, weights, key_map)
    return model
