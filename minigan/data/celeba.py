"""CelebA: pack the aligned photographs into the book's HDF5 file, and read them back.

The book (BOOK_SPEC section 3, notebooks 10 and 11) walks ``img_align_celeba.zip`` in
``namelist()`` order, keeps the names ending ``.jpg``, and stores image number ``count`` as the
uint8 dataset ``img_align_celeba/{count}.jpg`` of shape (218, 178, 3), gzip level 9, stopping
at 20,000 images. :func:`pack_celeba` writes exactly that layout. :class:`CelebADataset` is the
book's dataset class in both of its forms: the whole (218, 178, 3) image for the fully
connected GAN (section 4.12), or the 128x128 centre crop as (1, 3, 128, 128) for the
convolutional GAN (section 4.14).
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import numbers
import operator
import os
import zipfile
from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from .errors import DataError
from .mnist import pixels_to_tensor

__all__ = ["CelebADataset", "pack_celeba", "crop_centre", "GROUP", "IMAGE_SHAPE"]

GROUP = "img_align_celeba"
IMAGE_SHAPE = (218, 178, 3)  # aligned CelebA: height, width, RGB
HOW_TO_PACK = ("pack one from CelebA's img_align_celeba.zip with: "
               "minigan data pack-celeba img_align_celeba.zip celeba.h5")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def crop_centre(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """The book's ``crop_centre``: the (h, w) centre of an HWC image, as a view.

    Rows start at H//2 - h//2 and columns at W//2 - w//2, so 128x128 of a 218x178 image is
    rows 45-172 and columns 25-152 (BOOK_SPEC section 2).
    """
    height, width = img.shape[:2]
    if not (0 < h <= height and 0 < w <= width):
        raise ValueError(f"crop_centre: cannot take {w}x{h} (w x h) from an image of "
                         f"{width}x{height}")
    top, left = height // 2 - h // 2, width // 2 - w // 2
    return img[top:top + h, left:left + w]


# ============================================================================== packing
def pack_celeba(src, out, limit=None, progress=True) -> int:
    """Pack CelebA images into ``out`` in the book's HDF5 layout; returns the count packed.

    ``src`` is CelebA's ``img_align_celeba.zip`` (entries in ``namelist()`` order, names
    ending ``.jpg``, as the book) or a folder of JPEG/PNG images (all subfolders, sorted
    names). ``limit`` stops after that many images (the book packs 20,000). Images are decoded
    with Pillow as RGB. Aligned CelebA is 218x178; other photographs are resized to cover and
    centre-cropped, so any photographs can be packed. The file is written under a temporary
    name and renamed at the end: an error leaves no half-written ``out``.
    """
    src, out = os.fspath(src), os.fspath(out)
    if limit is not None and (not isinstance(limit, numbers.Integral) or limit < 1):
        raise DataError(f"pack-celeba: limit must be a positive number of images, got {limit!r}")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise DataError(f"{out}: the folder {folder} does not exist")
    partial = f"{out}.partial-{os.getpid()}"
    with contextlib.ExitStack() as stack:
        entries = _entries(src, stack)
        if not entries:
            what = "entries ending .jpg" if os.path.isfile(src) else "JPEG or PNG images"
            raise DataError(f"{src}: found no {what} to pack")
        total = len(entries) if limit is None else min(int(limit), len(entries))
        try:
            _write(partial, entries[:total], src, progress)
            os.replace(partial, out)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    return total


def _write(path, entries, src, progress):
    """Write the book's layout: group img_align_celeba, datasets 0.jpg, 1.jpg ... (gzip 9)."""
    import h5py
    from tqdm.auto import tqdm

    with h5py.File(path, "w") as f, \
            tqdm(total=len(entries), unit="img", desc="packing CelebA", disable=not progress) as bar:
        group = f.create_group(GROUP)
        for count, (name, read) in enumerate(entries):
            group.create_dataset(f"{count}.jpg", data=_decode(src, name, read()),
                                 compression="gzip", compression_opts=9)
            bar.update()


def _entries(src: str, stack: contextlib.ExitStack):
    """[(name, read bytes)] of the images in a zip file or a folder, in packing order."""
    if os.path.isdir(src):
        found = []
        for root, _, files in os.walk(src):
            found += [os.path.join(root, n) for n in files if n.lower().endswith(_IMAGE_SUFFIXES)]
        found.sort(key=lambda p: os.path.relpath(p, src))
        return [(os.path.relpath(p, src), Path(p).read_bytes) for p in found]
    if not os.path.exists(src):
        raise DataError(f"{src}: no such file or folder; expected CelebA's img_align_celeba.zip "
                        "or a folder of JPEG/PNG images")
    try:
        archive = stack.enter_context(zipfile.ZipFile(src))
    except zipfile.BadZipFile:
        raise DataError(f"{src}: not a zip file; expected CelebA's img_align_celeba.zip "
                        "or a folder of JPEG/PNG images") from None
    # the book keeps names ending ".jpg", in the archive's own order
    return [(n, functools.partial(archive.read, n)) for n in archive.namelist() if n.endswith(".jpg")]


def _decode(src: str, name: str, data: bytes) -> np.ndarray:
    """uint8 (218, 178, 3) RGB pixels of one image file's bytes."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("RGB")
            img.load()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{src}: entry {name} is not a readable image ({e})") from None
    height, width = IMAGE_SHAPE[:2]
    if img.size != (width, height):
        # cover the 178x218 frame (the smaller scale that fills it), then cut the centre
        scale = max(width / img.width, height / img.height)
        size = (max(width, math.ceil(img.width * scale)), max(height, math.ceil(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
        left, top = (size[0] - width) // 2, (size[1] - height) // 2
        img = img.crop((left, top, left + width, top + height))
    return np.asarray(img, dtype=np.uint8)


# ============================================================================== reading
class CelebADataset(Dataset):
    """The book's CelebA dataset over the packed HDF5 file (BOOK_SPEC section 2).

    ``crop=None`` (the fully connected GAN, section 4.12): item i is a float32 tensor
    (218, 178, 3), HWC, ``pixels / 255.0``. ``crop=128`` (the convolutional GAN, section
    4.14): the 128x128 ``crop_centre``, HWC -> CHW, shape (1, 3, 128, 128), / 255.0.
    ``IndexError`` past the end stops the book's ``for image in dataset`` loop. The file is
    opened read-only at construction (so a bad file fails at once) and images are read one at
    a time; ``close()`` or ``with`` releases it.
    """

    def __init__(self, path, crop=None):
        self.path = os.fspath(path)
        if crop is not None and (not isinstance(crop, int) or not 0 < crop <= min(IMAGE_SHAPE[:2])):
            raise DataError(f"CelebADataset: crop must be None or a side of 1..{min(IMAGE_SHAPE[:2])} "
                            f"pixels, got {crop!r}")
        self.crop = crop
        self._file = None
        with _h5_errors(self.path, GROUP):
            self._length = len(self._group())

    def _group(self):
        """The open ``img_align_celeba`` group (the file is opened on first use)."""
        if self._file is None:
            self._file = _open_celeba(self.path)
        return self._file[GROUP]

    def __len__(self):
        return self._length

    def raw(self, index) -> np.ndarray:
        """Image ``index`` as stored: uint8 (218, 178, 3)."""
        index = operator.index(index)
        if not -self._length <= index < self._length:
            raise IndexError(f"CelebADataset index {index} is out of range for "
                             f"{self._length} images")
        key = f"{index % self._length}.jpg"
        with _h5_errors(self.path, f"{GROUP}/{key}"):
            try:
                dataset = self._group()[key]
            except KeyError:
                raise DataError(f"{self.path}: {GROUP}/{key} is missing; the book's layout numbers "
                                f"the images 0.jpg ... {self._length - 1}.jpg") from None
            if not hasattr(dataset, "shape") or not hasattr(dataset, "dtype"):
                raise DataError(f"{self.path}: {GROUP}/{key} is a {type(dataset).__name__}, not "
                                f"an image dataset (uint8 {IMAGE_SHAPE})")
            if dataset.shape != IMAGE_SHAPE or dataset.dtype != np.uint8:
                raise DataError(f"{self.path}: {GROUP}/{key} is {dataset.dtype} {dataset.shape}, "
                                f"expected uint8 {IMAGE_SHAPE}")
            return dataset[()]

    def __getitem__(self, index):
        img = self.raw(index)
        if self.crop is None:
            return pixels_to_tensor(img)
        chw = crop_centre(img, self.crop, self.crop).transpose(2, 0, 1)
        return pixels_to_tensor(chw[np.newaxis])  # (1, 3, crop, crop), contiguous after the gather

    def plot_image(self, index, ax=None):
        """Show image ``index`` (its centre crop when ``crop`` is set), as the book's notebooks."""
        import matplotlib.pyplot as plt

        img = self.raw(index)
        if self.crop is not None:
            img = crop_centre(img, self.crop, self.crop)
        ax = ax if ax is not None else plt.gca()
        ax.imshow(img, interpolation="nearest")
        return ax

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):  # an open h5py file does not pickle; reopen on first use
        state = self.__dict__.copy()
        state["_file"] = None
        return state

    def __repr__(self):
        crop = "" if self.crop is None else f", crop={self.crop}"
        return f"CelebADataset({self.path!r}{crop}: {self._length} images)"


# What h5py raises for a damaged file: OSError ("Can't synchronously read data", "filter
# returned failure"), RuntimeError ("bad symbol table node signature"), and, for damaged
# names and types, KeyError, ValueError or TypeError.
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


@contextlib.contextmanager
def _h5_errors(path: str, what: str):
    """Turn an error from inside h5py into a DataError naming the file and the entry."""
    try:
        yield
    except DataError:
        raise
    except _H5_ERRORS as e:
        raise DataError(f"{path}: damaged HDF5 file: can't read {what} "
                        f"({type(e).__name__}: {e}); {HOW_TO_PACK}") from None


def _open_celeba(path: str):
    """Open the packed file read-only, with an error that says how to make one if it is wrong."""
    import h5py

    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file; {HOW_TO_PACK}")
    with _h5_errors(path, "the file's header"):
        is_hdf5 = h5py.is_hdf5(path)
    if not is_hdf5:
        raise DataError(f"{path}: not an HDF5 file (expected CelebA packed by the book's layout); "
                        f"{HOW_TO_PACK}")
    try:
        f = h5py.File(path, "r")
    except _H5_ERRORS as e:
        raise DataError(f"{path}: the HDF5 file cannot be opened ({e})") from None
    try:
        with _h5_errors(path, f"the group '{GROUP}'"):
            group = f.get(GROUP)
            if not isinstance(group, h5py.Group):
                names = sorted(f.keys())
                shown = ", ".join(names[:8]) + (f" ... ({len(names)} in all)" if len(names) > 8 else "")
                raise DataError(f"{path}: no group '{GROUP}' (the file has: {shown or 'nothing'}); "
                                f"{HOW_TO_PACK}")
            if len(group) == 0:
                raise DataError(f"{path}: the group '{GROUP}' holds no images; {HOW_TO_PACK}")
    except BaseException:
        f.close()
        raise
    return f
