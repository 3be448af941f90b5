"""Models from elsewhere -> `.arch` specs: `archdsl import MODEL.onnx`,
`archdsl import net.prototxt` (Caffe), `archdsl import yolov3.cfg` (Darknet)
and `archdsl import --torch module:factory`.

A reader turns the source into layers (onnx_reader.py, torch_reader.py,
caffe_reader.py, darknet_reader.py);
structure.py recovers residuals, branches and named tensors; fold.py finds
the repeated parts and writes them as parameterised blocks and repeats;
write.py prints the spec. The result is checked before it is returned: the
spec, analysed, must give every layer's shape and the parameter and buffer
counts the source has, else archdsl says where they part.
"""
from __future__ import annotations

from collections import Counter

from archdsl.errors import ArchError, Diagnostic
from archdsl.records import dataclass
from archdsl.text import shape_text


@dataclass
class Imported:
    """An imported spec: its text, the analysed network, and what it was read from."""

    text: str
    network: object
    model: object
    folded: bool


def import_onnx(path, *, allow_opaque: bool = False, input_shape=None, fold: bool = True,
                name: str | None = None) -> Imported:
    """The spec of an ONNX file."""
    from archdsl.importers.onnx_reader import read_onnx
    model = read_onnx(path, allow_opaque=allow_opaque, input_shape=input_shape)
    if name:
        model.name = name
    return _spec(model, fold, [f"imported by archdsl from {_base(path)}"])


def import_torch(target, input_shape, *, fold: bool = True, name: str | None = None) -> Imported:
    """The spec of a PyTorch module (or `module:factory`), traced at `input_shape`."""
    from archdsl.importers.torch_reader import read_torch
    model, origin = read_torch(target, input_shape)
    if name:
        model.name = name
    return _spec(model, fold, [f"imported by archdsl from {origin}"])


def import_caffe(path, *, input_shape=None, fold: bool = True, name: str | None = None) -> Imported:
    """The spec of a Caffe deploy prototxt (pure Python: no Caffe, no protobuf)."""
    from archdsl.importers.caffe_reader import read_caffe
    model = read_caffe(path, input_shape=input_shape)
    if name:
        model.name = name
    return _spec(model, fold, [f"imported by archdsl from {_base(path)}"])


def import_darknet(path, *, input_shape=None, fold: bool = True, name: str | None = None) -> Imported:
    """The spec of a Darknet `.cfg` (the [net] section gives the input size)."""
    from archdsl.importers.darknet_reader import read_darknet
    model = read_darknet(path, input_shape=input_shape)
    if name:
        model.name = name
    return _spec(model, fold, [f"imported by archdsl from {_base(path)}"])


def _base(path) -> str:
    from pathlib import Path
    return Path(path).name


def _spec(model, fold: bool, header: list[str]) -> Imported:
    from archdsl.importers.structure import structure
    from archdsl.importers.write import write
    program = structure(model)
    attempts = []
    if fold:
        from archdsl.importers.fold import fold_program
        blocks = fold_program(program, model)
        attempts.append((write(program, blocks, header), True))
        program = structure(model)  # unfolded, should the folded text not check
    attempts.append((write(program, (), header), False))
    problem = None
    for text, folded in attempts:
        try:
            net = _check(text, model)
        except ArchError as exc:
            problem = problem or exc
            continue
        return Imported(text, net, model, folded)
    raise problem


def _check(text: str, model):
    """Analyse the spec and compare it with the source: every layer's shape, parameters, buffers."""
    import archdsl
    net = archdsl.loads(text, f"<{model.name}.arch>")
    ours = Counter(tuple(layer.output_shape) for layer in net.layers if layer.op != "input")
    theirs = Counter(tuple(layer.shape) for layer in model.layers if layer.kind != "input")
    if ours != theirs:
        missing = list((theirs - ours).elements())[:3]
        extra = list((ours - theirs).elements())[:3]
        raise ArchError(Diagnostic("error", "the imported spec's layers do not have the source's shapes",
                                   notes=[f"the source has {', '.join(map(shape_text, missing)) or 'nothing more'}; "
                                          f"the spec has {', '.join(map(shape_text, extra)) or 'nothing more'}"]))
    params = sum(layer.params for layer in model.layers)
    if params and net.totals.params != params:
        raise ArchError(Diagnostic("error", f"the imported spec has {net.totals.params:,} parameters, "
                                            f"the source {params:,}"))
    return net
