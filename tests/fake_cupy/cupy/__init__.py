"""A NumPy-backed stand-in for CuPy, to run minigan's ``cuda`` tests on a machine with no GPU.

This is **not CuPy and tests no CUDA**: the numbers are NumPy's, computed on the CPU. What it
checks is minigan's device plumbing - that every array of a "cuda" tensor stays a device
array, that data crosses between devices only through ``cupy.asarray`` / ``cupy.asnumpy``, and
that nothing relies on what NumPy allows and CuPy refuses:

* an operation mixing a device array with a NumPy array raises ``TypeError`` (CuPy:
  "Unsupported type <class 'numpy.ndarray'>");
* ``array.flags`` has only read-only ``c_contiguous``, ``f_contiguous`` and ``owndata``:
  there is no ``writeable`` flag to set;
* reductions and indexing down to one number return 0-d device arrays, never NumPy scalars.

What it cannot catch: ``np.asarray(device_array)`` works here (a NumPy subclass is an array
to NumPy; real CuPy raises), and no kernel, stream, cuBLAS or memory pool is involved.

``tests/test_devices.py`` runs ``pytest -m cuda`` with this package's folder first on
``PYTHONPATH``; the test session's header then says "CUDA FAKE" (``FAKE`` below), so no one
mistakes the run for a GPU's. The real GPU run is ``benchmarks/gpu_check.sh``.
"""
from __future__ import annotations

import numpy as _np
from numpy import *  # noqa: F401,F403  (the array API: CuPy mirrors NumPy's names)

__version__ = "0.0-fake-numpy-" + _np.__version__
FAKE = True  # tests/conftest.py reads it: the session header says "CUDA FAKE"


class _Flags:
    """CuPy's ``ndarray.flags``: three read-only booleans, no ``writeable``."""

    __slots__ = ("_c", "_f", "_own")

    def __init__(self, c, f, own):
        self._c, self._f, self._own = c, f, own

    c_contiguous = property(lambda self: self._c)
    f_contiguous = property(lambda self: self._f)
    owndata = property(lambda self: self._own)


class _Device:
    """``cupy.cuda.Device``: device 0, a context manager with ``synchronize``."""

    def __init__(self, index=0):
        self.id = int(index)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        return None


class ndarray(_np.ndarray):
    """A device array: a NumPy array that refuses to mix with host (NumPy) arrays."""

    @property
    def flags(self):
        f = _np.ndarray.flags.__get__(self)
        return _Flags(f.c_contiguous, f.f_contiguous, f.owndata)

    @property
    def device(self):
        return _Device(0)

    def get(self):
        """The array on the host (a NumPy copy), as ``cupy.ndarray.get``."""
        return _np.array(self.view(_np.ndarray), copy=True)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        _refuse_host_arrays(ufunc.__name__, inputs + (out or ()))
        if out is not None:
            kwargs["out"] = tuple(_host(o) for o in out)
        result = getattr(ufunc, method)(*[_host(x) for x in inputs], **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _device(result)

    def __array_function__(self, func, types, args, kwargs):
        _refuse_host_arrays(func.__name__, _leaves((args, kwargs)))
        return _device(func(*_host(args), **_host(kwargs)))

    def __getitem__(self, key):
        # an integer index down to one number gives a 0-d device array, as CuPy's does (a
        # NumPy subclass would give a NumPy scalar, a host value)
        return _device(super().__getitem__(key))

    def __reduce__(self):
        raise TypeError("fake cupy: a device array is not pickled")


def _leaves(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _leaves(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _leaves(o)
    else:
        yield obj


def _refuse_host_arrays(name, objs):
    for o in _leaves(objs):
        if type(o) is _np.ndarray:
            raise TypeError(f"Unsupported type {type(o)} (fake cupy: {name} was given a NumPy array)")


def _host(obj):
    """Device arrays as plain NumPy views (inside lists, tuples and dicts too)."""
    if isinstance(obj, ndarray):
        return obj.view(_np.ndarray)
    if isinstance(obj, list):
        return [_host(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_host(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _host(v) for k, v in obj.items()}
    return obj


def _device(obj):
    """NumPy results as device arrays; NumPy scalars as 0-d device arrays (as CuPy returns)."""
    if isinstance(obj, _np.ndarray):
        return obj.view(ndarray)
    if isinstance(obj, _np.generic):
        return _np.asarray(obj).view(ndarray)
    if isinstance(obj, tuple):
        return tuple(_device(o) for o in obj)
    if isinstance(obj, list):
        return [_device(o) for o in obj]
    return obj


# ------------------------------------------------------------------ moving data
def asarray(a, dtype=None, order=None):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    return _np.array(a, dtype=dtype, order=order or "K", copy=True).view(ndarray)


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    return _np.array(_host(a), dtype=dtype, copy=True, order=order, ndmin=ndmin).view(ndarray)


def asnumpy(a, stream=None, order="C", out=None):
    if isinstance(a, ndarray):
        return a.get()
    return _np.asarray(a)


def ascontiguousarray(a, dtype=None):
    return _device(_np.ascontiguousarray(_host(a), dtype=dtype))


# ------------------------------------------------------------------ making arrays on the device
def _made_on_device(make):
    def made(*args, **kwargs):
        return _device(make(*_host(args), **_host(kwargs)))
    made.__name__ = make.__name__
    return made


for _name in ("zeros", "ones", "empty", "full", "arange", "eye", "identity", "linspace", "tri",
              "frombuffer", "fromfunction"):
    globals()[_name] = _made_on_device(getattr(_np, _name))


# ------------------------------------------------------------------ cupy.cuda and the memory pool
class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        return None


_pool = _MemoryPool()


def get_default_memory_pool():
    return _pool


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDeviceProperties(index):
        return {"name": b"fake CUDA device (NumPy on the CPU)", "totalGlobalMem": 1 << 30,
                "multiProcessorCount": 1, "major": 0, "minor": 0}

    @staticmethod
    def runtimeGetVersion():
        return 0

    @staticmethod
    def driverGetVersion():
        return 0


class _Cuda:
    runtime = _Runtime()
    Device = _Device


cuda = _Cuda()


def get_array_module(*args):
    import cupy
    return cupy if any(isinstance(a, ndarray) for a in args) else _np
