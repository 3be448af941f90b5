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
           "loads", "loads_all", "build", "__version__"]


def build(spec, **options):
    """A `torch.nn.Module` for a spec (path, text or Network). Imports torch."""
    from archdsl.backends.torch import build as _build
    return _build(spec, **options)
