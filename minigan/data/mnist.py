"""MNIST: the book's CSV, the original IDX files, and ``MnistDataset`` (BOOK_SPEC sections 2, 3).

The book reads ``mnist_train.csv`` (60,000 rows) and ``mnist_test.csv`` (10,000 rows) with
pandas: no header, the label in column 0, then 784 pixels 0-255 (BOOK_SPEC section 3). Its
``MnistDataset`` gives item i as ``(label, image, target)``: the label as an int, the image as
784 floats ``pixels / 255.0`` and the target as a one-hot vector of 10 floats (section 2).
Training loops straight over the dataset, index 0, 1, 2 ... until ``IndexError`` (section 1.2).

The same 28x28 digits also come as the original IDX files (``train-images-idx3-ubyte.gz`` ...,
also the layout of Fashion-MNIST); :func:`read_idx` reads those. Every bad file raises
:class:`DataError` naming the file, the line or field, and what was expected.
"""
from __future__ import annotations

import gzip
import math
import operator
import os
import zlib

import numpy as np

from .. import backend as B
from ..tensor import Tensor, tensor
from ..utils.data import Dataset
from .errors import DataError

__all__ = ["MnistDataset", "read_mnist_csv", "read_idx", "pixels_to_tensor",
           "DIGIT_CLASSES", "FASHION_CLASSES"]

N_PIXELS = 784  # 28 x 28
CSV_EXPECTED = "expected the book's MNIST CSV (label, 784 pixels 0-255, no header)"
DIGIT_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# pixel value -> float32(pixel) / float32(255): the same numbers as the book's
# `FloatTensor(pixels) / 255.0`, obtained by one gather instead of a convert and a divide.
_UNIT = np.arange(256, dtype=np.float32) / np.float32(255.0)
_ONE_HOT = np.eye(10, dtype=np.float32)


def pixels_to_tensor(pixels: np.ndarray) -> Tensor:
    """uint8 pixels -> a float32 tensor of ``pixels / 255.0`` on the default device.

    Shared by MNIST and CelebA. On the CPU the fresh array is wrapped without a copy; with a
    GPU default (the CelebA notebooks' ``set_default_tensor_type(cuda.FloatTensor)``,
    BOOK_SPEC section 1.10) it is moved there.
    """
    return _to_default_device(_UNIT[pixels])


def _to_default_device(array: np.ndarray) -> Tensor:
    backend = B.get_backend(None)
    if backend.xp.name == "numpy":
        return Tensor._wrap(array, backend)  # `array` is always a fresh array here
    return tensor(array, device=backend.device)


# ============================================================================== the book's CSV
def read_mnist_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """Read the book's MNIST CSV: ``(images uint8 (N, 784), labels int64 (N,))``.

    Read with pandas' C parser and ``header=None``, as the book does (BOOK_SPEC section 3);
    ``.csv.gz`` works too. A file that does not parse cleanly is then walked line by line to
    say exactly where it goes wrong (the 1-based line, and the column for a bad cell); a file
    that can't be read at all (broken gzip data, no permission) says that.
    """
    import pandas as pd

    path = os.fspath(path)
    if not os.path.isfile(path):
        what = "is a folder" if os.path.isdir(path) else "no such file"
        raise DataError(f"{path}: {what}; {CSV_EXPECTED}")
    try:
        table = pd.read_csv(path, header=None)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; {CSV_EXPECTED}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        _explain_csv(path, f"pandas could not parse it ({e})")
    except _UNREADABLE as e:
        raise DataError(f"{path}: {_unreadable(e)}; {CSV_EXPECTED}") from None
    if table.shape[1] != 1 + N_PIXELS or any(dtype.kind not in "iu" for dtype in table.dtypes):
        _explain_csv(path, f"pandas read {table.shape[1]} columns with types "
                           f"{sorted({str(d) for d in table.dtypes})}")
    values = table.to_numpy()
    labels, pixels = values[:, 0], values[:, 1:]
    if pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255 or \
            labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        _explain_csv(path, "a value is out of range")
    return pixels.astype(np.uint8), labels.astype(np.int64)


# what reading a broken (gzipped) file raises: gzip.BadGzipFile is an OSError; a stream cut
# short is an EOFError; corrupt deflate data is a zlib.error
_UNREADABLE = (OSError, EOFError, zlib.error)


def _unreadable(e: BaseException) -> str:
    """Why a file could not be read, in a few words (for a DataError after the path)."""
    if isinstance(e, (gzip.BadGzipFile, EOFError, zlib.error)):
        return f"broken gzip data ({e or type(e).__name__})"
    if isinstance(e, OSError):
        return f"can't read the file ({e.strerror or e})"
    return str(e)


def _explain_csv(path: str, fallback: str):
    """Walk the file (the slow path, only after a failure) and raise at its first bad line."""
    try:
        _walk_csv(path)
    except _UNREADABLE as e:
        raise DataError(f"{path}: {_unreadable(e)}; {CSV_EXPECTED}") from None
    raise DataError(f"{path}: {fallback}; {CSV_EXPECTED}")


def _walk_csv(path: str):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="ascii", errors="replace", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue  # pandas skips blank lines too
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != 1 + N_PIXELS:
                raise DataError(f"{path}, line {lineno}: found {len(cells)} values, expected "
                                f"{1 + N_PIXELS} (label, 784 pixels); {CSV_EXPECTED}")
            for column, cell in enumerate(cells, start=1):
                what = "label" if column == 1 else "pixel"
                lo, hi = (0, 9) if column == 1 else (0, 255)
                try:
                    value = int(cell)
                except ValueError:
                    hint = " (a header row? the book's CSV has none)" if lineno == 1 else ""
                    raise DataError(f"{path}, line {lineno}, column {column}: {what} {cell!r} is "
                                    f"not a whole number{hint}; {CSV_EXPECTED}") from None
                if not lo <= value <= hi:
                    raise DataError(f"{path}, line {lineno}, column {column}: {what} {value} is "
                                    f"outside {lo}..{hi}; {CSV_EXPECTED}")


# ============================================================================== IDX files
# the third byte of an IDX file's magic number -> big-endian NumPy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (``train-images-idx3-ubyte`` and friends), gzipped or raw.

    Layout: two zero bytes, a dtype code (0x08 = uint8), the number of dimensions, each
    dimension as a big-endian int32, then the values in C order. The array comes back in the
    machine's byte order. Whether the file is gzipped is read from its first two bytes.
    The header is checked before the data is read, and the data is read in pieces, so a
    header that lies about the size costs no more memory than the file really holds.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            if f.read(2) == b"\x1f\x8b":
                f.seek(0)
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    return _read_idx_stream(path, stream, None)
            f.seek(0)
            return _read_idx_stream(path, f, os.fstat(f.fileno()).st_size)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; expected an IDX file such as "
                        "train-images-idx3-ubyte.gz") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except _UNREADABLE as e:
        raise DataError(f"{path}: {_unreadable(e)}") from None


_CHUNK = 1 << 20


def _read_exactly(stream, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream), read a megabyte at a time."""
    if n <= _CHUNK:
        return stream.read(n)
    parts, left = [], n
    while left > 0:
        part = stream.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_idx_stream(path: str, stream, size) -> np.ndarray:
    """The IDX array in ``stream``; ``size`` is the file's length when known (a raw file)."""
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        raise DataError(f"{path}: truncated: {len(head)} bytes, too short for an IDX header")
    if head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file: the magic number starts {head.hex()}, "
                        "expected two zero bytes, a dtype code and the number of dimensions")
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        raise DataError(f"{path}: unsupported IDX dtype code 0x{code:02x}; expected one of "
                        + ", ".join(f"0x{c:02x}" for c in _IDX_DTYPES) + " (0x08 = uint8)")
    header = 4 + 4 * ndim
    dims = _read_exactly(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, "
                        f"file has {4 + len(dims)}")
    shape = tuple(int(d) for d in np.frombuffer(dims, ">i4", count=ndim))
    if any(d < 0 for d in shape):
        raise DataError(f"{path}: corrupt header: negative dimension in {list(shape)}")
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if size is not None:  # a raw file: compare sizes before reading anything
        found = size - header
    else:
        body = _read_exactly(stream, expected + 1)  # one more byte tells of extra data
        found = len(body)
    if found != expected:
        problem = "truncated" if found < expected else "extra bytes after the data"
        raise DataError(f"{path}: {problem}: header says {'x'.join(map(str, shape))} = "
                        f"{expected} bytes of data, file has {found}")
    if size is not None:
        body = _read_exactly(stream, expected)
        if len(body) != expected:
            raise DataError(f"{path}: truncated while reading: expected {expected} bytes of "
                            f"data, read {len(body)}")
    return np.frombuffer(body, dtype).reshape(shape).astype(dtype.newbyteorder("="))


# ============================================================================== the dataset
class MnistDataset(Dataset):
    """The book's ``MnistDataset`` (BOOK_SPEC section 2), built from arrays.

    ``ds[i]`` is ``(label, image, target)``: an int, a float32 tensor (784,) of
    ``pixels / 255.0`` and a float32 one-hot tensor (10,). Negative indexes count from the
    end; ``IndexError`` past the end ends the book's ``for label, image, target in dataset``.
    ``batch(indices)`` gathers many items at once for batched training.

    ``MnistDataset("mnist_train.csv")`` also works, as in the notebooks (reads the CSV).
    """

    def __init__(self, images, labels=None, source: str | None = None, classes=None):
        if labels is None and isinstance(images, (str, os.PathLike)):
            source = source or os.fspath(images)
            images, labels = read_mnist_csv(images)
        images, labels = np.asarray(images), np.asarray(labels)
        source = source or "arrays"
        if images.dtype != np.uint8 or images.ndim not in (2, 3) or \
                images.shape[1:] not in ((N_PIXELS,), (28, 28)):
            raise DataError(f"{source}: images must be uint8 of shape (N, 784) or (N, 28, 28), "
                            f"got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0] or labels.dtype.kind not in "iu":
            raise DataError(f"{source}: labels must be integers of shape ({images.shape[0]},) to "
                            f"match the images, got {labels.dtype} {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DataError(f"{source}: labels must be 0..9, found {labels.min()}..{labels.max()}")
        self.images = images.reshape(len(images), N_PIXELS)
        self.labels = labels.astype(np.int64)
        self.source = source
        self.classes = list(classes) if classes is not None else list(DIGIT_CLASSES)
        self._label_list = self.labels.tolist()  # Python ints: fast, and IndexError for free

    def __len__(self):
        return len(self._label_list)

    def __getitem__(self, index):
        i = operator.index(index)  # TypeError for slices and floats: use batch()
        try:
            label = self._label_list[i]
        except IndexError:
            raise IndexError(f"MnistDataset index {i} is out of range for {len(self)} "
                             "images") from None
        return label, pixels_to_tensor(self.images[i]), _to_default_device(_ONE_HOT[label].copy())

    def batch(self, indices):
        """``(labels int64 (B,), images float32 (B, 784), targets one-hot float32 (B, 10))``.

        One gather per array for the whole batch: no per-item Python loop.
        """
        if isinstance(indices, Tensor):
            indices = indices.numpy()
        indices = np.asarray(indices, dtype=np.intp)
        labels = self.labels[indices]
        return labels, pixels_to_tensor(self.images[indices]), _to_default_device(_ONE_HOT[labels])

    def plot_image(self, index, ax=None):
        """Show image ``index`` as 28x28 in 'Blues' with the title "label = ..." (the book's)."""
        import matplotlib.pyplot as plt

        i = operator.index(index)
        label = self._label_list[i]
        ax = ax if ax is not None else plt.gca()
        title = f"label = {label}"
        if self.classes != DIGIT_CLASSES:
            title += f" ({self.classes[label]})"
        ax.set_title(title)
        ax.imshow(self.images[i].reshape(28, 28), interpolation="none", cmap="Blues")
        return ax

    def __repr__(self):
        return f"MnistDataset({len(self)} images from {self.source})"
