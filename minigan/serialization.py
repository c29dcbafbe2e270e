"""``minigan.save`` / ``minigan.load``: checkpoints as ``.npz`` files, never pickles.

``torch.save`` pickles, and loading a pickle runs whatever code it names. A minigan
checkpoint is a zip archive in NumPy's ``.npz`` layout with two kinds of member:

* ``__minigan__.json``: the structure of the saved object (nested dicts, lists, tuples,
  numbers, strings, booleans, None), with every tensor replaced by a reference;
* one ``.npy`` array per tensor, named by its path in the object, e.g.
  ``model/fc.weight.npy`` or ``optim/state/0/exp_sum.npy``.

So ``unzip -p ckpt.npz __minigan__.json`` shows what is inside, ``numpy.load`` reads the
arrays, and loading uses ``allow_pickle=False``: a file can only ever produce data.

``save`` writes a temporary file in the target's directory, flushes and fsyncs it, then
renames it over the target (``os.replace`` is atomic): a crash mid-write leaves the previous
checkpoint as it was, and the temporary file is removed. ``load`` names the file in every
error: not a zip, truncated, corrupt (zip CRCs are checked), or not a minigan checkpoint.
"""
from __future__ import annotations

import collections
import json
import math
import os
import secrets
import zipfile

import numpy as np

from . import backend as B
from .tensor import Tensor, tensor

FORMAT = "minigan.checkpoint"
VERSION = 1
STRUCTURE = "__minigan__.json"

__all__ = ["save", "load", "CheckpointError"]


class CheckpointError(RuntimeError):
    """A file that can't be loaded as a minigan checkpoint (the message names the file)."""


# ============================================================================== encoding
class _Encoder:
    """Turns an object into JSON-able nodes, collecting its arrays by path.

    Nodes: JSON scalars stand for themselves; everything else is an object with one tag::

        {"list": [...]}  {"tuple": [...]}  {"dict": [[key, value], ...]}  {"odict": ...}
        {"float": "nan" | "inf" | "-inf"}
        {"tensor": member, "dtype": "float32", "shape": [...], "device": "cpu",
         "requires_grad": bool, "parameter": bool}
        {"ndarray": member, "dtype": ..., "shape": [...]}
    """

    def __init__(self):
        self.arrays = {}  # member name -> host array

    def member(self, path):
        name = "/".join(path) or "root"
        candidate, k = name, 1
        while candidate in self.arrays:
            k += 1
            candidate = f"{name}~{k}"
        return candidate

    def encode(self, obj, path):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            from .nn.module import Parameter
            host = np.asarray(obj.backend.xp.to_numpy(obj.data), order="C")
            name = self.member(path)
            self.arrays[name] = host
            return {"tensor": name, "dtype": host.dtype.name, "shape": list(host.shape),
                    "device": str(obj.device), "requires_grad": bool(obj.requires_grad),
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"minigan.save: can't store a NumPy array of dtype {obj.dtype} "
                                f"at {_where(path)} (numeric and bool arrays only)")
            name = self.member(path)
            self.arrays[name] = np.asarray(obj, order="C")
            return {"ndarray": name, "dtype": obj.dtype.name, "shape": list(obj.shape)}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return self.encode(obj.item(), path)
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
            return {"tuple": items} if isinstance(obj, tuple) else {"list": items}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str, tuple))):
                    raise TypeError(f"minigan.save: can't store a dict key of type "
                                    f"{type(k).__name__} at {_where(path)}")
                items.append([self.encode(k, path + ["key"]), self.encode(v, path + [str(k)])])
            return {"odict" if isinstance(obj, collections.OrderedDict) else "dict": items}
        raise TypeError(f"minigan.save: can't store an object of type {type(obj).__name__} at "
                        f"{_where(path)}; checkpoints hold tensors, NumPy arrays, numbers, strings, "
                        "booleans, None, and lists, tuples and dicts of them (no pickling)")


def _where(path):
    return "the top level" if not path else "".join(f"[{p!r}]" for p in path)


# ============================================================================== save
def _write_archive(fileobj, root, arrays):
    """The zip: the structure first, then one ``.npy`` member per array."""
    document = json.dumps({"format": FORMAT, "version": VERSION, "root": root},
                          allow_nan=False, separators=(",", ":"))
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(STRUCTURE, document)
        for name, array in arrays.items():
            _write_member(zf, name + ".npy", array)


def _write_member(zf, name, array):
    with zf.open(name, mode="w", force_zip64=True) as f:
        np.lib.format.write_array(f, array, allow_pickle=False)


def save(obj, f):
    """Write ``obj`` (a state dict, or nested dicts/lists of tensors and plain values) to ``f``.

    ``f`` is a path (written atomically) or a binary file object opened for writing.
    """
    encoder = _Encoder()
    root = encoder.encode(obj, [])  # fails on unsupported objects before touching the disk
    if not isinstance(f, (str, bytes, os.PathLike)):
        _write_archive(f, root, encoder.arrays)
        return
    path = os.fsdecode(f)
    directory = os.path.dirname(os.path.abspath(path))
    # said before the temporary file is made, whose name would otherwise be in the error
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a folder; give the file to write (such as "
                                f"{os.path.join(path, 'model.npz')})")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the folder {directory} does not exist (to write "
                                f"{os.path.basename(path)} in)")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            _write_archive(fh, root, encoder.arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ============================================================================== load
# Limits that a real checkpoint never reaches and a hostile file must not exceed: the
# structure document is small JSON, and an array member's size is checked against its own
# .npy header before anything is allocated.
MAX_STRUCTURE_BYTES = 64 << 20


class _Archive:
    """The members of a checkpoint's zip, read with every size and type checked first.

    NumPy's ``np.load`` is not used: it trusts the .npy header's shape and allocates it
    before reading (a flipped bit in a header can ask for terabytes), and this reader wants
    to refuse object (pickled) arrays by their header, before any of their bytes are read.
    """

    def __init__(self, zf, name):
        self.zf, self.name = zf, name
        self.infos = {}
        for info in zf.infolist():
            self.infos.setdefault(info.filename, info)  # the first of duplicated names

    def structure(self):
        info = self.infos.get(STRUCTURE)
        if info is None:
            members = sorted(self.infos)[:5]
            raise CheckpointError(f"{self.name}: a zip archive, but not a minigan checkpoint (no "
                                  f"{STRUCTURE}; members: {members})")
        if info.file_size > MAX_STRUCTURE_BYTES:
            raise CheckpointError(f"{self.name}: {STRUCTURE} claims {info.file_size} bytes; a "
                                  "checkpoint's structure is small JSON (corrupt file?)")
        with self.zf.open(info) as f:
            raw = f.read()
        return json.loads(raw.decode("utf-8"))

    def array(self, member, dtype_name, shape):
        """The array stored as ``member + '.npy'``, after checking that its header agrees with
        the structure's ``dtype_name`` and ``shape`` and with the member's size in the zip."""
        if not isinstance(member, str):
            raise CheckpointError(f"{self.name}: malformed array reference {member!r}")
        info = self.infos.get(member + ".npy")  # the exact member, never a look-alike name
        if info is None:
            raise CheckpointError(f"{self.name}: the checkpoint refers to array {member!r}, "
                                  "which is missing from the file")
        with self.zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f)
            else:
                raise CheckpointError(f"{self.name}: array {member!r} has .npy format version "
                                      f"{version}, which this reader does not know")
            a_shape, fortran, dtype = header
            if dtype.hasobject:
                raise CheckpointError(f"{self.name}: array {member!r} holds Python objects "
                                      f"(dtype {dtype}); loading it would unpickle them, and "
                                      "minigan never unpickles")
            if dtype.kind not in "biuf" or dtype.name != dtype_name or \
                    list(a_shape) != list(shape):
                raise CheckpointError(f"{self.name}: array {member!r} is {dtype} {list(a_shape)}, "
                                      f"but the checkpoint says {dtype_name} {shape}")
            nbytes = math.prod(a_shape) * dtype.itemsize
            offset = f.tell()
            if offset + nbytes != info.file_size:
                raise CheckpointError(f"{self.name}: array {member!r} should hold {nbytes} bytes "
                                      f"of data after its header, but its zip member has "
                                      f"{info.file_size - offset} (truncated or corrupt)")
            data = f.read(nbytes)  # the zip's CRC is checked when the member is read to its end
            if f.read(1):
                raise CheckpointError(f"{self.name}: array {member!r} has extra bytes")
        if len(data) != nbytes:
            raise CheckpointError(f"{self.name}: array {member!r} is truncated")
        flat = np.frombuffer(data, dtype=dtype)
        a = flat.reshape(a_shape[::-1]).transpose() if fortran else flat.reshape(a_shape)
        return np.array(a, dtype=dtype.newbyteorder("="))  # native order, writable, C order


class _Decoder:
    def __init__(self, archive, name, device_for):
        self.archive, self.name, self.device_for = archive, name, device_for

    def array(self, node, key):
        dtype, shape = node.get("dtype"), node.get("shape")
        if not isinstance(dtype, str) or not isinstance(shape, list) or \
                not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise CheckpointError(f"{self.name}: malformed array entry {_short(node)}")
        return self.archive.array(node[key], dtype, shape)

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):  # not written by save; tolerated as a list
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) < 1:
            raise CheckpointError(f"{self.name}: malformed structure entry {_short(node)}")
        if "list" in node:
            return [self.decode(v) for v in _items(self, node, "list")]
        if "tuple" in node:
            return tuple(self.decode(v) for v in _items(self, node, "tuple"))
        if "dict" in node or "odict" in node:
            pairs = _items(self, node, "dict" if "dict" in node else "odict")
            items = []
            for pair in pairs:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise CheckpointError(f"{self.name}: malformed dict item {_short(pair)}")
                items.append((self._key(pair[0]), self.decode(pair[1])))
            return collections.OrderedDict(items) if "odict" in node else dict(items)
        if "float" in node:
            if node["float"] not in ("nan", "inf", "-inf"):
                raise CheckpointError(f"{self.name}: malformed float entry {_short(node)}")
            return float(node["float"])
        if "tensor" in node:
            host = self.array(node, "tensor")
            if host.dtype not in B.SUPPORTED_DTYPES:
                raise CheckpointError(f"{self.name}: tensor {node['tensor']!r} has dtype "
                                      f"{host.dtype}, which minigan tensors don't have")
            t = tensor(host, device=self.device_for(node))
            if node.get("parameter"):
                from .nn.module import Parameter
                return Parameter(t, requires_grad=bool(node.get("requires_grad", True)))
            return t.requires_grad_(True) if node.get("requires_grad") else t
        if "ndarray" in node:
            return self.array(node, "ndarray")
        raise CheckpointError(f"{self.name}: unknown structure entry {_short(sorted(node))}")

    def _key(self, node):
        key = self.decode(node)
        key = tuple(key) if isinstance(key, list) else key
        try:
            hash(key)
        except TypeError:
            raise CheckpointError(f"{self.name}: unusable dict key {_short(key)}") from None
        return key


def _items(decoder, node, tag):
    items = node[tag]
    if not isinstance(items, list):
        raise CheckpointError(f"{decoder.name}: malformed {tag} entry {_short(node)}")
    return items


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _device_chooser(map_location):
    """map_location: None (CPU), a device or its name, or a dict {saved device: device}."""
    if map_location is None:
        return lambda node: "cpu"
    if isinstance(map_location, (str, B.device)):
        dev = B.device(map_location)
        return lambda node: dev
    if isinstance(map_location, dict):
        table = {str(B.device(k)): B.device(v) for k, v in map_location.items()}
        cpu = B.device("cpu")
        return lambda node: table.get(str(node.get("device", "cpu")), cpu)
    raise TypeError("minigan.load: map_location must be None, a device, a device name or a dict "
                    f"mapping saved devices to devices, not {type(map_location).__name__}")


# What a damaged archive can raise from zipfile, json and the .npy header parser: a bad zip
# (BadZipFile, and NotImplementedError for an unknown compression method), a CRC mismatch
# (BadZipFile), a cut-off member (EOFError), a malformed header or JSON (ValueError,
# SyntaxError from the header's literal parser, UnicodeDecodeError), a structure of the wrong
# shape (KeyError, TypeError, AttributeError, IndexError), absurd nesting (RecursionError),
# and sizes too big to allocate (MemoryError, OverflowError).
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError,
           SyntaxError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
           MemoryError, OverflowError, OSError)


def load(f, map_location=None, weights_only=True):
    """Read a checkpoint written by :func:`save`. Tensors come back on the CPU, or on
    ``map_location``, with their dtypes. ``weights_only`` is accepted for PyTorch
    compatibility: a minigan checkpoint never holds anything but data.

    Every way a file can be wrong ends in :class:`CheckpointError` naming the file and the
    problem: not a zip (a pickle from ``torch.save`` is recognised and refused), truncated,
    a failed CRC, a structure that does not parse, an array whose header disagrees with the
    structure or with its own size, an object array (it would unpickle: refused from its
    header, before any of its bytes are read). Nothing is ever unpickled.
    """
    device_for = _device_chooser(map_location)
    name = os.fsdecode(f) if isinstance(f, (str, bytes, os.PathLike)) else getattr(f, "name", repr(f))
    name = str(name)
    if isinstance(f, (str, bytes, os.PathLike)):
        try:
            with open(f, "rb") as fh:
                head = fh.read(4)
        except OSError as e:
            raise CheckpointError(f"{name}: can't read the checkpoint ({e.strerror or e})") from e
    else:
        position = f.tell()
        head = f.read(4)
        f.seek(position)
    if head[:2] != b"PK":
        hint = " (this looks like a pickle, e.g. from torch.save; minigan never unpickles)" \
            if head[:1] == b"\x80" else ""
        raise CheckpointError(f"{name}: not a minigan checkpoint: a checkpoint is a .npz zip archive, "
                              f"but the file starts with {head!r}{hint}")
    try:
        with zipfile.ZipFile(f) as zf:
            archive = _Archive(zf, name)
            document = archive.structure()
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise CheckpointError(f"{name}: {STRUCTURE} does not describe a minigan checkpoint")
            if document.get("version") != VERSION:
                raise CheckpointError(f"{name}: checkpoint format version {document.get('version')}, "
                                      f"this minigan reads version {VERSION}")
            if "root" not in document:
                raise CheckpointError(f"{name}: {STRUCTURE} has no 'root' entry")
            return _Decoder(archive, name, device_for).decode(document["root"])
    except CheckpointError:
        raise
    except _DAMAGE as e:
        raise CheckpointError(f"{name}: corrupt or truncated minigan checkpoint "
                              f"({type(e).__name__}: {_short(str(e), 200)})") from e
