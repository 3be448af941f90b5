"""archdsl: a declarative architecture compiler and shape calculator for CNNs.

    >>> import archdsl
    >>> net = archdsl.loads("network N { input 1x28x28; conv 8 k=3; flatten; fc 10 }")
    >>> net.totals.params
    54170
"""
from archdsl.api import load, load_all, loads, loads_all
from archdsl.core.network import Layer, Network
from archdsl.errors import ArchError, Diagnostic, UsageError

__version__ = "0.1.0"
__all__ = ["ArchError", "Diagnostic", "UsageError", "Layer", "Network", "load", "load_all",
           "loads", "loads_all", "build", "export", "__version__"]


def build(spec, **options):
    """A `torch.nn.Module` for a spec (path, text or Network). Imports torch."""
    from archdsl.backends.torch import build as _build
    return _build(spec, **options)


def export(model, path, **options):
    """An ONNX file for a module (its weights as they are: a trained model) or a spec. Imports torch."""
    from archdsl.backends.onnx.export import export as _export_spec
    from archdsl.backends.onnx.export import export_model
    if hasattr(model, "state_dict") and hasattr(model, "forward"):
        return export_model(model, path, **options)
    return _export_spec(model, path, **options)


def load_ipython_extension(ipython):
    """`%load_ext archdsl`: the `%%arch` cell magic (archdsl.jupyter)."""
    from archdsl.jupyter import load_ipython_extension as _load
    _load(ipython)
