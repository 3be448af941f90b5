"""Python names for the generated module: attribute paths that read like the
spec's layer names, and variable names for `forward`.

The spec's dotted names ("inception3a.branch2.conv1") become nested submodule
attributes, so `state_dict` keys are the spec's names. A segment that would
shadow an `nn.Module` attribute (`forward`, `training`, `to`...) or is a
Python keyword gets a trailing underscore. No torch here: `archdsl build -o`
writes source without importing torch; a test checks the list below against
`dir(nn.Module())` of the installed torch.
"""
from __future__ import annotations

import keyword

# Every attribute of an nn.Module instance that a submodule name must not shadow.
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double
dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule
half ipu load_state_dict modules mtia named_buffers named_children named_modules named_parameters
parameters register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict to
to_empty train training type xpu zero_grad predict_proba
""".split())

# Names the generated file itself uses at module level or in forward.
_RESERVED_LOCALS = frozenset({"self", "torch", "nn", "F"})


def safe_segment(name: str) -> str:
    """One attribute name: unchanged unless it would shadow something."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in MODULE_ATTRIBUTES \
            or name.startswith("_"):
        return name + "_" if not name.startswith("_") else "l" + name
    return name


def attribute_path(dotted: str) -> str:
    """`inception3a.branch2.conv1` -> the same path, each segment made safe."""
    return ".".join(safe_segment(s) for s in dotted.split("."))


def class_name(network: str) -> str:
    """The generated class: named after the network (which the grammar makes an identifier)."""
    if keyword.iskeyword(network) or network in _RESERVED_LOCALS or network.startswith("_"):
        return "Net" + network
    return network


def local_name(stem: str) -> str:
    """A forward-local variable stem that cannot collide with the module's globals."""
    return stem + "_" if stem in _RESERVED_LOCALS or keyword.iskeyword(stem) else stem
