"""Pooling: windowed max/average/min, global and adaptive."""
from __future__ import annotations

from archdsl.core.ops.base import GLOBAL, Attr, Family, Op, ShapeError, broadcast, register, require_spatial
from archdsl.core.ops.windowed import (
    Window,
    output_spatial,
    receptive_window,
    resolve_window,
    window_lints,
    window_text,
)
from archdsl.records import dataclass
from archdsl.text import axes_text, dims_text

_WINDOW_ATTRS = (
    Attr("k", "axes", aliases=("kernel",), doc="window size"),
    Attr("s", "axes", None, aliases=("stride",), doc="stride (default: the window size, as in PyTorch)"),
    Attr("p", "padding", 0, aliases=("padding", "pad"), doc="padding: int, per axis, same or valid"),
    Attr("ceil", "bool", False, aliases=("ceil_mode",), doc="round the output size up (PyTorch's ceil_mode)"),
    Attr("round", "rounding", None, aliases=("rounding",),
         doc="floor, ceil (= ceil=true) or caffe (Caffe's rule: the last window is dropped only when padded); "
             "default floor, or ceil with ceil=true"),
)


@dataclass(frozen=True, slots=True)
class Pool(Op):
    """Windowed pooling; `mode` is max, avg or min."""

    family = Family.POOL
    shape_neutral = frozenset({"include_pad"})
    mode: str
    channels: int
    window: Window
    rounding: str  # floor | ceil | caffe (window.ROUNDINGS)
    include_pad: bool
    in_size: tuple[int, ...] = ()  # the input's spatial size: Caffe's rounding compiles from it

    @property
    def ceil_mode(self) -> bool:
        return self.rounding != "floor"

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        name = cls.keywords[0]
        rounding = _rounding(v)
        w = resolve_window(name, shape, v["k"], v["s"], v["p"], v.get("d", (1,)))
        if not w.same:
            for k, (pb, _) in zip(w.kernel, w.padding, strict=True):
                caffe = rounding == "caffe"
                if (pb >= k) if caffe else (pb > k // 2):
                    # PyTorch's (or Caffe's) limit, not the arithmetic's: the size is still known.
                    try:
                        size = (shape[0], *output_spatial(name, shape, w, rounding))
                    except ShapeError:
                        size = None
                    if caffe:
                        raise ShapeError(f"{name} padding {pb} is not smaller than the window {k}",
                                         notes=["Caffe requires pad < kernel for pooling"],
                                         hint=f"use p={k - 1} or less", culprit="p", shape=size)
                    raise ShapeError(f"{name} padding {pb} is more than half the window {k}",
                                     notes=["PyTorch requires pad <= kernel / 2 for pooling"],
                                     hint=f"use p={k // 2} or less, or p=same", culprit="p", shape=size)
        if cls.mode_name == "avg" and len(shape) == 4 and not w.same:
            small = [(n, k) for n, k in zip(shape[1:], w.kernel, strict=True) if n < k]
            if small:
                # PyTorch's avg_pool3d (CPU and CUDA) checks the unpadded input
                # against the window, unlike 1-D/2-D and max pooling.
                size = dims_text(shape[1:])
                window = dims_text(w.kernel)
                raise ShapeError(f"avgpool over a volume needs an input at least as large as its window "
                                 f"({size} < {window} on some axis)",
                                 notes=["PyTorch's AvgPool3d checks the unpadded input against the window"],
                                 hint="use a window that fits, e.g. k=" + dims_text(
                                     min(n, k) for n, k in zip(shape[1:], w.kernel, strict=True)))
        # TensorFlow's 'same' average excludes the padded zeros; PyTorch's explicit
        # padding includes them by default. Each keeps its own convention.
        include = v.get("include_pad")
        if include is None:
            include = not w.same
        return cls(cls.mode_name, shape[0], w, rounding, include, tuple(shape[1:]))

    def infer(self, in_shapes):
        return (self.channels, *output_spatial(self.kind, in_shapes[0], self.window, self.rounding))

    def lint(self, in_shapes):
        return window_lints(self.kind, in_shapes[0], self.window, self.rounding, fixes="p=same / ceil=true")

    def receptive(self, in_shapes):
        return receptive_window(self.window)

    def hyper(self):
        extras = {"floor": [], "ceil": ["ceil"], "caffe": ["caffe ceil"]}[self.rounding]
        if self.mode == "avg" and any(pb or pa for pb, pa in self.window.padding):
            extras.append("incl. pad" if self.include_pad else "excl. pad")
        return window_text(self.window, extras)


def _rounding(v) -> str:
    """`round=` wins; `ceil=true` is `round=ceil`; they must not disagree."""
    rounding = v.get("round")
    if rounding is None:
        return "ceil" if v["ceil"] else "floor"
    if v["ceil"] and rounding == "floor":
        raise ShapeError("ceil=true and round=floor disagree", hint="keep one of them", culprit="round")
    return rounding


@register
@dataclass(frozen=True, slots=True)
class MaxPool(Pool):
    """`maxpool k= s= p=`, as nn.MaxPool1d/2d/3d."""
    keywords = ("maxpool",)
    example = "maxpool k=2 s=2"
    mode_name = "max"
    doc = "Max pooling over a window."
    attrs = _WINDOW_ATTRS + (Attr("d", "axes", 1, aliases=("dilation",), doc="dilation"),)


@register
@dataclass(frozen=True, slots=True)
class AvgPool(Pool):
    """`avgpool k= s= p=`, as nn.AvgPool1d/2d/3d."""
    keywords = ("avgpool",)
    example = "avgpool k=2 s=2"
    mode_name = "avg"
    doc = "Average pooling over a window."
    attrs = _WINDOW_ATTRS + (
        Attr("include_pad", "bool", None, aliases=("count_include_pad",),
             doc="count padded zeros in the average (default true, false with p=same)"),
    )


@register
@dataclass(frozen=True, slots=True)
class MinPool(Pool):
    """`minpool k= s= p=`: -maxpool(-x), which PyTorch has no module for."""
    keywords = ("minpool",)
    example = "minpool k=2 s=2"
    mode_name = "min"
    doc = "Min pooling over a window (computed as -maxpool(-x))."
    attrs = _WINDOW_ATTRS


@dataclass(frozen=True, slots=True)
class GlobalPool(Op):
    """Pools every spatial axis to 1, keeping Cx1x1."""

    family = Family.POOL
    mode: str
    channels: int
    rank: int

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        rank = require_spatial(cls.keywords[0], shape)
        return cls(cls.mode_name, shape[0], rank)

    def infer(self, in_shapes):
        return (self.channels,) + (1,) * self.rank

    def receptive(self, in_shapes):
        return GLOBAL

    def hyper(self):
        return "global"


@register
@dataclass(frozen=True, slots=True)
class GlobalAvgPool(GlobalPool):
    """`gap`: the mean of each channel over the whole map."""
    keywords = ("gap", "globalavgpool")
    example = "gap"
    mode_name = "avg"
    doc = "Global average pooling: CxHxW -> Cx1x1."


@register
@dataclass(frozen=True, slots=True)
class GlobalMaxPool(GlobalPool):
    """`gmp`: the maximum of each channel over the whole map."""
    keywords = ("gmp", "globalmaxpool")
    example = "gmp"
    mode_name = "max"
    doc = "Global max pooling: CxHxW -> Cx1x1."


@dataclass(frozen=True, slots=True)
class AdaptivePool(Op):
    """Pools to a fixed output size whatever the input size (PyTorch's adaptive pooling)."""

    family = Family.POOL
    attrs = (Attr("size", "dims", positional=True, aliases=("output_size", "out"),
                  doc="output size, one value or one per axis (6x6)"),)
    mode: str
    channels: int
    output_size: tuple[int, ...]

    @classmethod
    def make(cls, v, in_shapes):
        (shape,) = in_shapes
        rank = require_spatial(cls.keywords[0], shape)
        return cls(cls.mode_name, shape[0], broadcast(v["size"], rank, "size"))

    def infer(self, in_shapes):
        return (self.channels, *self.output_size)

    def receptive(self, in_shapes):
        # PyTorch's window i spans [floor(i*n/o), ceil((i+1)*n/o)): the widest
        # one bounds the field; exact when n divides evenly (the usual case).
        spatial = in_shapes[0][1:]
        kernel = tuple(_widest_adaptive_window(n, o) for n, o in zip(spatial, self.output_size, strict=True))
        stride = tuple(max(n // o, 1) for n, o in zip(spatial, self.output_size, strict=True))
        return kernel, stride, (0,) * len(kernel)

    def hyper(self):
        return f"to {axes_text(self.output_size)}"


def _widest_adaptive_window(n: int, o: int) -> int:
    if n % o == 0:
        return n // o
    if o > 4096:  # a bound, not worth a long loop: uneven windows are at most ceil(n/o) + 1
        return -(-n // o) + 1
    return max(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))


@register
@dataclass(frozen=True, slots=True)
class AdaptiveAvgPool(AdaptivePool):
    """`adaptiveavgpool SIZE`, as nn.AdaptiveAvgPool1d/2d/3d."""
    keywords = ("adaptiveavgpool", "adaptivepool")
    example = "adaptiveavgpool 6x6"
    mode_name = "avg"
    doc = "Adaptive average pooling to a given output size."


@register
@dataclass(frozen=True, slots=True)
class AdaptiveMaxPool(AdaptivePool):
    """`adaptivemaxpool SIZE`, as nn.AdaptiveMaxPool1d/2d/3d."""
    keywords = ("adaptivemaxpool",)
    example = "adaptivemaxpool 1"
    mode_name = "max"
    doc = "Adaptive max pooling to a given output size."
