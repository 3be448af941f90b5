"""Data sources, each from tiny files written here (nothing downloads), and
fitting data to a spec: the shape and class errors in full, --resize,
grey<->RGB, the validation split and the normalisation."""
from __future__ import annotations

import gzip
import os
import pickle
import struct
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
PIL = pytest.importorskip("PIL.Image")

import archdsl  # noqa: E402
from archdsl.train.data import load_data, read_idx  # noqa: E402
from archdsl.train.prepare import fit_to_input, prepare  # noqa: E402

RNG = np.random.default_rng(0)


def idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_mnist(root, n=6, size=4, gz=True, names="lecun"):
    root.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "t10k"):
        x = RNG.integers(0, 256, (n, size, size), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        for part, data, rank in (("images", x, 3), ("labels", y, 1)):
            name = f"{prefix}-{part}-idx{rank}-ubyte" if names == "lecun" else f"{prefix}-{part}.idx{rank}-ubyte"
            raw = idx_bytes(data)
            if gz:
                with gzip.open(root / f"{name}.gz", "wb") as fh:
                    fh.write(raw)
            else:
                (root / name).write_bytes(raw)
    return root


def write_cifar(root, n=4):
    root.mkdir(parents=True, exist_ok=True)
    for name in ("data_batch_1", "data_batch_2", "test_batch"):
        batch = {b"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}
        with open(root / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
    with open(root / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [b"airplane", b"automobile", b"bird", b"cat"]}, fh, protocol=2)
    return root


def write_folder(root, classes=("cat", "dog"), per_class=3, size=(6, 5), mode="L"):
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            channels = 1 if mode == "L" else 3
            pixels = RNG.integers(0, 256, (size[0], size[1], channels)[: 2 if mode == "L" else 3], dtype=np.uint8)
            PIL.fromarray(pixels, mode).save(root / c / f"{i}.png")
    return root


def spec(shape="1x4x4", classes=10) -> archdsl.Network:
    return archdsl.loads(f"network N {{\n  input {shape}\n  flatten\n  fc {classes}\n  softmax\n}}\n", "n.arch")


# -- sources ------------------------------------------------------------------------

def test_digits_without_importing_sklearn():
    data = load_data("digits")
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == np.float32
    assert data.x.min() == 0 and data.x.max() == 1
    assert data.classes == [str(i) for i in range(10)] and sorted(set(data.y)) == list(range(10))
    from sklearn.datasets import load_digits
    reference = load_digits()
    assert np.array_equal(data.x.reshape(-1, 64) * 16, reference.data)
    assert np.array_equal(data.y, reference.target)


@pytest.mark.parametrize("gz, names, sub", [(True, "lecun", ""), (False, "kaggle", ""), (True, "lecun", "MNIST/raw")])
def test_mnist(tmp_path, gz, names, sub):
    write_mnist(tmp_path / sub if sub else tmp_path, gz=gz, names=names)
    train = load_data(f"mnist:{tmp_path}")
    test = load_data(f"mnist:{tmp_path}", "test")
    assert train.x.shape == (6, 1, 4, 4) and train.x.max() <= 1
    assert list(train.y) == [0, 1, 2, 3, 4, 5]
    assert not np.array_equal(train.x, test.x)  # t10k is another file
    assert train.name == f"mnist:{tmp_path} (train)"


def test_idx_errors(tmp_path):
    bad = tmp_path / "x-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(archdsl.UsageError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short-idx1-ubyte"
    short.write_bytes(idx_bytes(np.zeros(5, np.uint8))[:-2])
    with pytest.raises(archdsl.UsageError, match="the header says 5 values, the file holds 3 bytes"):
        read_idx(short)
    with pytest.raises(archdsl.UsageError, match="no train-images-idx3-ubyte"):
        load_data(f"mnist:{tmp_path}")


def test_cifar10(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    train = load_data(f"cifar10:{tmp_path}")
    assert train.x.shape == (8, 3, 32, 32) and train.classes[:2] == ["airplane", "automobile"]
    assert len(load_data(f"cifar10:{tmp_path}", "test")) == 4


def test_cifar10_refuses_a_pickle_that_runs_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(archdsl.UsageError, match="refusing to load posix.system|refusing to load os.system"):
        load_data(f"cifar10:{tmp_path}")


def test_folder(tmp_path):
    write_folder(tmp_path / "train", size=(6, 5))
    write_folder(tmp_path / "val", per_class=1, size=(6, 5))
    train = load_data(f"folder:{tmp_path}")
    assert train.x.shape == (6, 1, 6, 5) and train.classes == ["cat", "dog"]
    assert list(train.y) == [0, 0, 0, 1, 1, 1]
    assert len(load_data(f"folder:{tmp_path}", "test")) == 2


def test_folder_of_mixed_sizes_needs_resize(tmp_path):
    write_folder(tmp_path, classes=("a",), size=(6, 5))
    write_folder(tmp_path, classes=("b",), per_class=1, size=(9, 9), mode="RGB")
    with pytest.raises(archdsl.UsageError, match=r"differ in size \(1x6x5: 3 \(e.g. a/0.png\), 3x9x9: 1"):
        load_data(f"folder:{tmp_path}")
    fitted = load_data(f"folder:{tmp_path}", size=(4, 4), grey=False)
    assert fitted.x.shape == (4, 3, 4, 4)


def test_npz_layouts(tmp_path):
    x = RNG.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)  # N x H x W x C
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 0, 1]), x_test=x[:2], y_test=np.array([2, 2]),
             classes=np.array(["r", "g", "b"]))
    data = load_data(f"npz:{tmp_path / 'd.npz'}")
    assert data.x.shape == (5, 3, 4, 4) and data.classes == ["r", "g", "b"]
    assert np.allclose(data.x[1, :, 2, 3], x[1, 2, 3] / 255)
    assert list(load_data(f"npz:{tmp_path / 'd.npz'}", "test").y) == [2, 2]
    np.savez(tmp_path / "grey.npz", x=np.zeros((3, 4, 4), np.float32), y=np.array([0, 1, 1]))
    grey = load_data(f"npz:{tmp_path / 'grey.npz'}")
    assert grey.x.shape == (3, 1, 4, 4) and grey.classes == ["0", "1"]


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((2, 4, 4))}, r"has no y \(it holds: x\); save it with np.savez"),
    ({"x": np.zeros((2, 4, 4)), "y": np.array([0.5, 1.0])}, "y must be N integer labels"),
    ({"x": np.zeros((2, 4, 4)), "y": np.array([0, 1, 2])}, "y must be N integer labels for the N=2"),
    ({"x": np.zeros((2, 4, 4)), "y": np.array([0, -1])}, "labels must be 0 or more, found -1"),
])
def test_npz_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(archdsl.UsageError, match=message):
        load_data(f"npz:{tmp_path / 'd.npz'}")


@pytest.mark.parametrize("source, message", [
    ("imagenet:x", "unknown source 'imagenet'; the sources are: digits, mnist:PATH"),
    ("digits:here", "digits takes no path"),
    ("mnist", "--data mnist needs a path: mnist:DIR"),
    ("npz:/nowhere.npz", "/nowhere.npz does not exist"),
])
def test_source_errors(source, message):
    with pytest.raises(archdsl.UsageError, match=message):
        load_data(source)


# -- fitting to the spec ------------------------------------------------------------------

def test_shape_mismatch_says_both_shapes_and_the_fix():
    with pytest.raises(archdsl.ArchError) as info:
        prepare(archdsl.load("specs/lenet_mnist.arch"), load_data("digits"), None, validation=0.2, seed=0,
                resize=False)
    text = info.value.format().replace(os.sep, "/")
    assert text == textwrap.dedent("""\
        specs/lenet_mnist.arch:25:3: error: the data's images are 1x8x8, the spec's input is 1x28x28
         25 |   input 1x28x28
            |   ^^^^^^^^^^^^^
            = data: digits, 1,797 images of 1x8x8
        hint: --resize resamples the images to 28x28; or change the spec's input to 1x8x8 if its layers allow it""")


def test_channels_and_size_are_fitted_with_resize():
    data = load_data("digits")
    with pytest.raises(archdsl.ArchError, match="resamples the images to 16x16 and converts grey to RGB"):
        fit_to_input(data, spec("3x16x16"), False, [])
    notes = []
    x = fit_to_input(data, spec("3x16x16"), True, notes)
    assert x.shape == (1797, 3, 16, 16) and notes == ["converted grey to RGB", "resampled 8x8 to 16x16"]
    assert torch.equal(x[:, 0], x[:, 2])
    rgb = load_data("digits")
    rgb.x = np.repeat(rgb.x, 3, axis=1)
    grey = fit_to_input(rgb, spec("1x8x8"), True, [])
    assert torch.allclose(grey[:, 0], torch.from_numpy(data.x[:, 0]), atol=1e-6)  # luma of grey is grey


def test_no_conversion_between_odd_channel_counts():
    data = load_data("digits")
    data.x = np.repeat(data.x, 4, axis=1)
    with pytest.raises(archdsl.ArchError) as info:
        fit_to_input(data, spec("3x8x8"), True, [])
    d = info.value.first
    assert d.notes[1] == "there is no conversion from 4 to 3 channels"
    assert d.hint == "convert the images to 3 channels first, or change the spec's input to 4x8x8"


def test_class_count_mismatch():
    with pytest.raises(archdsl.ArchError) as info:
        prepare(spec("1x8x8", classes=7), load_data("digits"), None, validation=0.2, seed=0, resize=False)
    d = info.value.first
    assert (d.message, d.hint, d.line) == ("the spec's output has 7 classes, the data has 10",
                                           "make the last layer fc 10", 4)
    assert d.notes == ["data: digits, classes 0, 1, 2, 3, 4, 5, ..."]


def test_a_spec_that_is_not_a_classifier():
    net = archdsl.loads("network N { input 1x8x8; conv 4 k=3 }")
    with pytest.raises(archdsl.ArchError, match="needs a classifier; the spec's output is 4x6x6"):
        prepare(net, load_data("digits"), None, validation=0.2, seed=0, resize=False)


def test_split_and_normalisation():
    data = prepare(spec("1x8x8"), load_data("digits"), None, validation=0.2, seed=0, resize=False)
    assert (len(data.train_y), len(data.val_y)) == (1438, 359)
    assert abs(data.train_x.mean().item()) < 1e-5 and abs(data.train_x.std().item() - 1) < 1e-3
    assert data.val_x.mean().item() != 0  # the validation set uses the training set's statistics
    again = prepare(spec("1x8x8"), load_data("digits"), None, validation=0.2, seed=0, resize=False)
    other = prepare(spec("1x8x8"), load_data("digits"), None, validation=0.2, seed=1, resize=False)
    assert torch.equal(data.val_y, again.val_y) and not torch.equal(data.val_y, other.val_y)
    given = prepare(spec("1x8x8"), load_data("digits"), load_data("digits"), validation=0.2, seed=0, resize=False)
    assert len(given.train_y) == len(given.val_y) == 1797
    none = prepare(spec("1x8x8"), load_data("digits"), None, validation=0, seed=0, resize=False)
    assert none.val_x is None
