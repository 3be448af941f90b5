"""Data sets on disk -> arrays: `--data digits`, `mnist:DIR`, `cifar10:DIR`,
`folder:DIR`, `npz:FILE`.

Every source gives a `DataSet`: images as float32 N x C x H x W scaled to
[0, 1] (uint8 pixels / 255, the digits' 0-16 / 16), integer labels and the
class names. Each reads a `split`: "train" or "test" (MNIST's t10k files,
CIFAR-10's test_batch, an npz's x_test/y_test, a folder's val/ or test/);
a source without a held-out part gives all of it for both.

Nothing downloads: a missing file is a usage error that says what was looked
for and where. numpy and PIL only; fitting the arrays to a spec is prepare.py.
"""
from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np

from archdsl.records import dataclass

from .package import UsageError

SPLITS = ("train", "test")


@dataclass
class DataSet:
    """Images (N x C x H x W float32 in [0, 1]), labels (N int64), class names."""
    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    name: str  # as the user wrote it, with the split: "mnist:data/mnist (test)"

    def __len__(self) -> int:
        return len(self.y)

    @property
    def item_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


def load_data(source: str, split: str = "train", *, size: tuple[int, int] | None = None,
              grey: bool | None = None) -> DataSet:
    """The data set named by `source` ("digits", "mnist:DIR", ...).

    `size` and `grey` matter to `folder:` only, whose images may differ in
    size and mode: with --resize, each is resampled while it is read."""
    kind, _, path = source.partition(":")
    loader = LOADERS.get(kind)
    if loader is None:
        raise UsageError(f"--data: unknown source '{kind}'; the sources are: "
                         + ", ".join(f"{k}{'' if k == 'digits' else ':PATH'}" for k in LOADERS))
    if kind == "digits":
        if path:
            raise UsageError("--data digits takes no path (it is bundled with scikit-learn)")
    elif not path:
        raise UsageError(f"--data {kind} needs a path: {kind}:{'FILE' if kind == 'npz' else 'DIR'}")
    elif not Path(path).exists():
        raise UsageError(f"--data {source}: {path} does not exist")
    options = {"size": size, "grey": grey} if kind == "folder" else {}
    x, y, classes = loader(Path(path) if path else None, split, **options)
    return DataSet(np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64), classes,
                   f"{source} ({split})" if kind != "digits" else "digits")


# -- digits ---------------------------------------------------------------------------

def _digits(_path, _split):
    """scikit-learn's bundled 8x8 digits, read from its csv without importing
    scikit-learn (which costs a second at start-up)."""
    spec = importlib.util.find_spec("sklearn")
    csv = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if csv is not None and csv.exists():
        table = np.loadtxt(csv, delimiter=",", dtype=np.float32)
        pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise UsageError("--data digits needs scikit-learn: pip install 'archdsl[train]'") from None
        bunch = load_digits()
        pixels, labels = bunch.data.astype(np.float32), bunch.target
    return pixels.reshape(-1, 1, 8, 8) / 16.0, labels, [str(i) for i in range(10)]


# -- MNIST (IDX files) ------------------------------------------------------------------

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzipped or not): magic 0 0 type rank, big-endian dims, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise UsageError(f"{path} is not an IDX file (bad magic number)")
    rank = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=rank, offset=4).astype(int)
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - 4 - 4 * rank != expected:
        raise UsageError(f"{path}: the header says {'x'.join(map(str, dims))} values, "
                         f"the file holds {len(raw) - 4 - 4 * rank} bytes of data")
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * rank).reshape(dims)


def _find(directory: Path, stems: list[str]) -> Path | None:
    """The first of `stems` present in `directory`, as is or gzipped."""
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (directory / name).exists():
                return directory / name
    return None


def _mnist(path: Path, split):
    prefix = "train" if split == "train" else "t10k"
    # The files as LeCun's site names them, as Kaggle's copies do, and torchvision's folder.
    roots = [path, path / "MNIST" / "raw", path / "raw"]
    names = {part: [f"{prefix}-{part}-idx{rank}-ubyte", f"{prefix}-{part}.idx{rank}-ubyte"]
             for part, rank in (("images", 3), ("labels", 1))}
    for root in roots:
        images, labels = _find(root, names["images"]), _find(root, names["labels"])
        if images and labels:
            x, y = read_idx(images), read_idx(labels)
            if x.ndim != 3 or len(x) != len(y):
                raise UsageError(f"{images}: expected N x H x W images matching {len(y)} labels, "
                                 f"got {'x'.join(map(str, x.shape))}")
            return x[:, None].astype(np.float32) / 255.0, y.astype(np.int64), [str(i) for i in range(10)]
    raise UsageError(f"mnist:{path}: no {names['images'][0]}[.gz] and {names['labels'][0]}[.gz] in {path}")


# -- CIFAR-10 (python batches) ----------------------------------------------------------

class _ArrayUnpickler(pickle.Unpickler):
    """CIFAR's batches are pickles; allow only what they hold (dicts, lists,
    bytes, numpy arrays), so a doctored file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("_codecs", "encode"),  # how protocol-2 pickles from Python 3 store bytes
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            batch = _ArrayUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise UsageError(f"{path} is not a CIFAR-10 python batch: {exc}") from None
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}


def _cifar10(path: Path, split):
    root = path / "cifar-10-batches-py" if (path / "cifar-10-batches-py").is_dir() else path
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    files = [root / n for n in names if (root / n).exists()]
    if not files:
        raise UsageError(f"cifar10:{path}: no {' or '.join(names[:1] + names[-1:])} in {root}")
    xs, ys = [], []
    for file in files:
        batch = _unpickle(file)
        data, labels = np.asarray(batch["data"]), np.asarray(batch["labels"])
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(labels)
    meta = root / "batches.meta"
    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in _unpickle(meta)["label_names"]] \
        if meta.exists() else [str(i) for i in range(10)]
    return np.concatenate(xs).astype(np.float32) / 255.0, np.concatenate(ys), classes


# -- a folder of class subfolders (PIL) ---------------------------------------------------

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def _folder(path: Path, split, size=None, grey=None):
    """DIR/<class>/<image>; with DIR/train and DIR/val (or test), the split's part."""
    parts = {"train": ["train"], "test": ["val", "test"]}[split]
    root = next((path / p for p in parts if (path / p).is_dir()), None)
    if root is None:
        root = path if not (path / "train").is_dir() else path / "train"
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UsageError(f"folder:{path}: {root} has no class subfolders (expected {root}/<class>/<image>)")
    files = [(f, label) for label, c in enumerate(classes) for f in sorted((root / c).iterdir())
             if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise UsageError(f"folder:{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {root}")
    images = [read_image(f, size=size, grey=grey) for f, _ in files]
    _check_same_size(images, files, root)
    return np.stack(images), np.array([label for _, label in files]), classes


def read_image(path: Path, *, size: tuple[int, int] | None = None, grey: bool | None = None) -> np.ndarray:
    """One image as C x H x W float32 in [0, 1]: grey stays one channel and
    colour is RGB unless `grey` says which; resampled to `size` (H, W) if given."""
    try:
        from PIL import Image
    except ImportError:
        raise UsageError("reading images needs Pillow: pip install 'archdsl[train]'") from None
    try:
        with Image.open(path) as img:
            img.load()
            is_grey = img.mode in ("1", "L", "LA", "I", "I;16", "F") if grey is None else grey
            img = img.convert("L" if is_grey else "RGB")
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32) / 255.0
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the image ({exc})") from None
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _check_same_size(images, files, root):
    shapes: dict[tuple, list] = {}
    for image, (f, _) in zip(images, files, strict=True):
        shapes.setdefault(image.shape, []).append(f)
    if len(shapes) > 1:
        counts = ", ".join(f"{'x'.join(map(str, s))}: {len(fs)} (e.g. {fs[0].relative_to(root)})"
                           for s, fs in sorted(shapes.items(), key=lambda kv: -len(kv[1])))
        raise UsageError(f"the images under {root} differ in size ({counts}); "
                         "--resize resamples each to the spec's input size")


# -- npz --------------------------------------------------------------------------------

def _npz(path: Path, split):
    """x (N x H x W, N x C x H x W or N x H x W x C) and y; x_test/y_test for the test
    split when present; `classes` optional."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"npz:{path}: cannot read ({exc})") from None
    with archive:
        keys = ("x_test", "y_test") if split == "test" and "x_test" in archive else ("x", "y")
        missing = [k for k in keys if k not in archive]
        if missing:
            raise UsageError(f"npz:{path} has no {' and '.join(missing)} (it holds: "
                             f"{', '.join(archive.files) or 'nothing'}); save it with np.savez(FILE, x=..., y=...)")
        x, y = archive[keys[0]], archive[keys[1]]
        classes = [str(c) for c in archive["classes"]] if "classes" in archive else None
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise UsageError(f"npz:{path}: {keys[1]} must be N integer labels for the N={len(x)} images "
                         f"of {keys[0]}, got {y.dtype} of shape {'x'.join(map(str, y.shape))}")
    if len(y) and y.min() < 0:
        raise UsageError(f"npz:{path}: labels must be 0 or more, found {int(y.min())}")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = _channels_first(x.astype(np.float32) / scale, path)
    return x, y, classes or [str(i) for i in range(int(y.max()) + 1 if len(y) else 0)]


def _channels_first(x: np.ndarray, path) -> np.ndarray:
    """N x H x W -> N x 1 x H x W; N x H x W x C (1 or 3 last, not second) -> N x C x H x W.
    When both readings fit, N x C x H x W (PyTorch's layout) is assumed."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        return x.transpose(0, 3, 1, 2)
    if x.ndim < 2:
        raise UsageError(f"npz:{path}: x must hold N samples, got shape {x.shape}")
    return x


LOADERS = {"digits": _digits, "mnist": _mnist, "cifar10": _cifar10, "folder": _folder, "npz": _npz}
