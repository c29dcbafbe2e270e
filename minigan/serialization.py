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
class _Decoder:
    def __init__(self, npz, name, device_for):
        self.npz, self.name, self.device_for = npz, name, device_for

    def array(self, node, key):
        member = node[key]
        try:
            a = self.npz[member + ".npy"]  # the exact zip member, never a look-alike name
        except KeyError:
            raise CheckpointError(f"{self.name}: the checkpoint refers to array {member!r}, "
                                  "which is missing from the file") from None
        if a.dtype.name != node["dtype"] or list(a.shape) != list(node["shape"]):
            raise CheckpointError(f"{self.name}: array {member!r} is {a.dtype.name} {list(a.shape)}, "
                                  f"but the checkpoint says {node['dtype']} {node['shape']}")
        return a

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):  # not written by save; tolerated as a list
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) < 1:
            raise CheckpointError(f"{self.name}: malformed structure entry {node!r}")
        if "list" in node:
            return [self.decode(v) for v in node["list"]]
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        if "dict" in node or "odict" in node:
            items = [(self._key(k), self.decode(v)) for k, v in node.get("dict", node.get("odict"))]
            return collections.OrderedDict(items) if "odict" in node else dict(items)
        if "float" in node:
            return float(node["float"])
        if "tensor" in node:
            host = self.array(node, "tensor")
            B.as_dtype(host.dtype)  # refuses dtypes minigan doesn't have
            t = tensor(host, device=self.device_for(node))
            if node.get("parameter"):
                from .nn.module import Parameter
                return Parameter(t, requires_grad=bool(node.get("requires_grad", True)))
            return t.requires_grad_(True) if node.get("requires_grad") else t
        if "ndarray" in node:
            return np.array(self.array(node, "ndarray"))
        raise CheckpointError(f"{self.name}: unknown structure entry {sorted(node)}")

    def _key(self, node):
        key = self.decode(node)
        return tuple(key) if isinstance(key, list) else key


def _device_chooser(map_location):
    """map_location: None (CPU), a device or its name, or a dict {saved device: device}."""
    if map_location is None:
        return lambda node: "cpu"
    if isinstance(map_location, (str, B.device)):
        dev = B.device(map_location)
        return lambda node: dev
    if isinstance(map_location, dict):
        table = {str(B.device(k)): v for k, v in map_location.items()}
        return lambda node: table.get(node.get("device", "cpu"), "cpu")
    raise TypeError("minigan.load: map_location must be None, a device, a device name or a dict "
                    f"mapping saved devices to devices, not {type(map_location).__name__}")


def load(f, map_location=None, weights_only=True):
    """Read a checkpoint written by :func:`save`. Tensors come back on the CPU, or on
    ``map_location``, with their dtypes. ``weights_only`` is accepted for PyTorch
    compatibility: a minigan checkpoint never holds anything but data."""
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
        with np.load(f, allow_pickle=False) as npz:
            if STRUCTURE not in npz.files:
                raise CheckpointError(f"{name}: a zip archive, but not a minigan checkpoint (no "
                                      f"{STRUCTURE}; members: {npz.files[:5]})")
            raw = npz[STRUCTURE]
            document = json.loads(bytes(raw).decode("utf-8"))
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise CheckpointError(f"{name}: {STRUCTURE} does not describe a minigan checkpoint")
            if document.get("version") != VERSION:
                raise CheckpointError(f"{name}: checkpoint format version {document.get('version')}, "
                                      f"this minigan reads version {VERSION}")
            return _Decoder(npz, name, device_for).decode(document["root"])
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError,
            UnicodeDecodeError, TypeError) as e:
        raise CheckpointError(f"{name}: corrupt or truncated minigan checkpoint "
                              f"({type(e).__name__}: {e})") from e
