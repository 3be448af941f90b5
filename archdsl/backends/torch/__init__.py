"""The PyTorch backend: IR -> Python source -> `nn.Module`.

Importing this package does not import torch: `generate_source` is pure
text, so `archdsl build -o model.py` stays fast; `build` imports torch when
it executes the source."""
from archdsl.backends.torch.budget import check_param_budget
from archdsl.backends.torch.build import build, load_source, resolve_network
from archdsl.backends.torch.codegen import SOFTMAX_MODES, generate_source, trailing_softmax

__all__ = ["build", "check_param_budget", "generate_source", "load_source", "resolve_network",
           "trailing_softmax", "SOFTMAX_MODES"]
