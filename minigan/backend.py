"""Array backends and devices: which array library holds a tensor's numbers.

minigan never computes on NumPy directly inside an op. Every op asks the tensor's
*backend* for its array namespace ``xp`` and calls ``xp.exp``, ``xp.matmul`` ... on it.
Three backends exist:

=========  ======================  ==========================================================
device     array library           purpose
=========  ======================  ==========================================================
``cpu``    NumPy                   the default
``cuda``   CuPy (imported lazily)  NVIDIA GPUs; detected once, safely, never raising on import
``strict`` array-api-strict        a test-only stand-in device: it rejects every NumPy-only
                                   idiom (methods, implicit conversions, fancy assignment), so
                                   code that passes on it also runs on CuPy
=========  ======================  ==========================================================

Random numbers always come from one host ``numpy.random.Generator`` (seeded by
:func:`manual_seed`) and are then moved to the device, so one seed gives the same noise on
every device (DESIGN.md, "Backend rules").
"""
from __future__ import annotations

import math
import os
import threading

import numpy as np

from .array_ops import ArrayOps

# ----------------------------------------------------------------------------- dtypes
# minigan's dtypes are NumPy's dtype objects; every backend understands them by name.
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

SUPPORTED_DTYPES = (float32, float64, int32, int64, uint8, bool_)
FLOAT_DTYPES = (float32, float64)
_DTYPE_ALIASES = {
    "float": float32, "float32": float32, "float64": float64, "double": float64,
    "int": int64, "long": int64, "int64": int64, "int32": int32, "uint8": uint8,
    "bool": bool_,
}


def as_dtype(dtype) -> np.dtype:
    """Return minigan's dtype for ``dtype`` (a dtype, a name, or a NumPy/array-API type).

    Unsupported dtypes are refused by name, e.g. ``float16`` or ``complex64``.
    """
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[dtype]
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = np.dtype(str(dtype).rsplit(".", 1)[-1])  # array_api_strict.float32 -> float32
    if d not in SUPPORTED_DTYPES:
        raise TypeError(
            f"unsupported dtype {d.name}: minigan supports "
            + ", ".join(x.name for x in SUPPORTED_DTYPES))
    return d


_default_dtype = float32


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the floating dtype used by ``tensor``, ``zeros``, ``rand`` ... (like PyTorch)."""
    global _default_dtype
    d = as_dtype(dtype)
    if d not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: only float32 or float64, got {d.name}")
    _default_dtype = d


# ----------------------------------------------------------------------------- devices
class device:
    """A device in PyTorch's shape: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``."""

    __slots__ = ("type", "index")
    TYPES = ("cpu", "cuda", "strict")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {type!r}")
        if ":" in type:
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise ValueError(f"device: bad device index in {type}:{idx!r}")
            index = int(idx)
        if type not in self.TYPES:
            raise ValueError(f"device: unknown device type {type!r}; expected one of {self.TYPES}")
        if type == "cuda" and index is None:
            index = 0
        self.type, self.index = type, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


# ----------------------------------------------------------------------------- CUDA detection
_cuda_lock = threading.Lock()
_cuda_status = None  # (available: bool, reason: str, cupy module or None)


def cuda_status():
    """Detect CuPy + a usable CUDA GPU once; never raises. Returns ``(ok, reason, cupy)``.

    Steps: the ``MINIGAN_DISABLE_CUDA`` override, a guarded ``import cupy``, a guarded
    device count, and a smoke kernel (a tiny sum), because an installed CuPy whose CUDA
    runtime does not match the driver imports fine and fails on first use.
    """
    global _cuda_status
    if _cuda_status is not None:
        return _cuda_status
    with _cuda_lock:
        if _cuda_status is not None:
            return _cuda_status
        if os.environ.get("MINIGAN_DISABLE_CUDA", "") not in ("", "0"):
            _cuda_status = (False, "disabled by the MINIGAN_DISABLE_CUDA environment variable", None)
            return _cuda_status
        try:
            import cupy
        except Exception as e:  # ImportError, or a broken CUDA install raising anything
            _cuda_status = (False, f"CuPy is not importable ({type(e).__name__}: {e}); "
                                   "install minigan[cuda12] or minigan[cuda13]", None)
            return _cuda_status
        try:
            n = cupy.cuda.runtime.getDeviceCount()
            if n < 1:
                raise RuntimeError("no CUDA device found")
            if int((cupy.arange(4, dtype=cupy.float32) * 2).sum().item()) != 12:
                raise RuntimeError("the smoke kernel returned a wrong result")
        except Exception as e:
            _cuda_status = (False, f"CuPy is installed but CUDA is unusable ({type(e).__name__}: {e})", None)
            return _cuda_status
        _cuda_status = (True, f"{n} CUDA device(s)", cupy)
        return _cuda_status


# ----------------------------------------------------------------------------- the array namespace
def _erf_series(xp, x):
    """erf(x) to float64 accuracy with array-API calls only (no SciPy needed).

    |x| < 3: the all-positive series erf x = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (2n+1)!!,
    which has no cancellation. |x| >= 3: the continued fraction of erfc, evaluated bottom-up.
    """
    ax = xp.abs(x)
    small = xp.minimum(ax, 3.0)
    term = small
    total = small
    for n in range(1, 80):  # terms decrease once n > x^2; 80 reaches 1e-17 at |x| = 3
        term = term * (2.0 * small * small) / (2 * n + 1)
        total = total + term
    erf_small = 1.1283791670955126 * xp.exp(-small * small) * total
    big = xp.maximum(ax, 3.0)
    frac = xp.zeros_like(big)
    for k in range(60, 0, -1):  # erfc x = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
        frac = (k / 2.0) / (big + frac)
    erf_big = 1.0 - xp.exp(-big * big) / (1.7724538509055159 * (big + frac))
    result = xp.where(ax < 3.0, erf_small, erf_big)
    return xp.where(x < 0, -result, result)


def _sigmoid_tanh(xp, x):
    """sigma(x) = (1 + tanh(x/2)) / 2: never overflows, unlike 1 / (1 + e^-x) at x << 0."""
    y = xp.tanh(x * 0.5)
    y *= 0.5
    y += 0.5
    return y


class ArrayNamespace:
    """The array module of one backend, plus the few names minigan needs that some lack.

    Attribute look-ups fall through to the wrapped module once and are then cached on the
    instance, so ``xp.exp`` costs one dict hit, as on the module itself.
    """

    def __init__(self, module, name):
        self._module = module
        self.name = name

    def __getattr__(self, attr):
        value = getattr(self._module, attr)
        setattr(self, attr, value)
        return value


def _numpy_expand(a, shape):
    """Broadcast ``a`` to ``shape``. np.broadcast_to costs ~3 us of Python for any size; for
    small results (every batch-1 gradient) a filled copy is 4x cheaper. Big ones stay views."""
    if math.prod(shape) <= 4096:
        out = np.empty(shape, dtype=a.dtype)
        out[...] = a
        return out
    return np.broadcast_to(a, shape)


def _numpy_namespace():
    xp = ArrayNamespace(np, "numpy")
    # np.dot, np.copyto, np.concatenate, np.where and np.empty_like are C functions behind a
    # Python dispatcher (the __array_function__ protocol, which lets objects that are not
    # ndarrays take over the call). This namespace only ever holds ndarrays, so it calls the C
    # function itself: 0.18 us less per call, and a batch-1 MNIST GAN step makes about 60.
    for name in ("dot", "copyto", "concatenate", "where", "empty_like"):
        f = getattr(np, name)
        setattr(xp, name, getattr(f, "_implementation", f))
    # (n,1) @ (1,m) through np.matmul skips BLAS (6x slower, BASELINES.md section 4); np.dot
    # hands every 2-D product to BLAS, so 2-D products go through it.
    xp.matmul2d = xp.dot
    # np.reshape and np.transpose are Python wrappers around the array methods (three calls
    # each: the function, its __array_function__ dispatcher, _wrapfunc); a batch-1 step makes
    # dozens of them, so call the methods. (NumPy scalars have both methods too.)
    xp.reshape = lambda a, shape: a.reshape(shape)
    xp.permute_dims = lambda a, axes: a.transpose(axes)
    # np.sum is a Python wrapper around np.add.reduce; float sums skip it
    xp.sum_floats = np.add.reduce
    xp.expand = _numpy_expand
    try:  # SciPy is optional: one ufunc each instead of several (sigmoid) or a long series (erf)
        from scipy.special import erf as scipy_erf
        from scipy.special import expit
        xp.erf = scipy_erf
        small_sigmoid = expit
    except Exception:
        xp.erf = lambda x: _erf_series(np, x)
        small_sigmoid = lambda x: _sigmoid_tanh(np, x)  # noqa: E731

    def sigmoid(x):
        # expit is one call (best at batch 1) but ~2.6x slower per element than
        # 1 / (1 + e^-x) done in place; e^-x overflowing to inf gives the right 0.
        if x.size <= 4096 or x.dtype.kind != "f":  # (integers: a float result, not in place)
            return small_sigmoid(x)
        # Four passes in one array. 1 / y is a division: NumPy runs divide with AVX2 but
        # reciprocal only with its baseline 128-bit loop; with the in-place exp, 38 instead of
        # 45 us for 64 x 784 numbers (Zen 4), the same numbers bit for bit.
        with np.errstate(over="ignore"):
            y = np.negative(x)
            np.exp(y, out=y)
            y += 1.0
            return np.divide(1.0, y, out=y)
    xp.sigmoid = sigmoid
    xp.to_numpy = np.asarray
    xp.from_numpy = np.asarray
    xp.array_type = np.ndarray
    return xp


def _cupy_namespace(cupy):
    xp = ArrayNamespace(cupy, "cupy")
    xp.matmul2d = cupy.matmul
    xp.sum_floats = cupy.sum
    xp.expand = cupy.broadcast_to
    for std, old in (("concat", "concatenate"), ("permute_dims", "transpose"), ("pow", "power")):
        if not hasattr(cupy, std):
            setattr(xp, std, getattr(cupy, old))
    if not hasattr(cupy, "astype"):
        xp.astype = lambda a, dtype, copy=True: a.astype(dtype, copy=copy)
    try:
        from cupyx.scipy.special import erf as cupy_erf
        from cupyx.scipy.special import expit as cupy_expit
        xp.erf = cupy_erf
        xp.sigmoid = cupy_expit
    except Exception:
        xp.erf = lambda x: _erf_series(cupy, x)
        xp.sigmoid = lambda x: _sigmoid_tanh(cupy, x)
    xp.to_numpy = cupy.asnumpy
    xp.from_numpy = cupy.asarray
    xp.array_type = cupy.ndarray
    return xp


def _strict_namespace():
    try:
        import array_api_strict
    except ImportError as e:
        raise RuntimeError("the 'strict' test device needs the array-api-strict package "
                           "(pip install minigan[dev])") from e
    xp = ArrayNamespace(array_api_strict, "array_api_strict")

    # array-api-strict has dtype objects of its own; minigan passes NumPy's. Translate them at
    # this boundary, so op code can stay the same on every backend.
    def native(dtype):
        return getattr(array_api_strict, np.dtype(dtype).name) if isinstance(dtype, np.dtype) else dtype

    def with_native_dtype(fn):
        def wrapped(*args, dtype=None, **kwargs):
            return fn(*args, dtype=None if dtype is None else native(dtype), **kwargs)
        return wrapped

    for name in ("zeros", "ones", "full", "empty", "eye", "asarray", "arange", "zeros_like", "ones_like",
                 "sum"):
        setattr(xp, name, with_native_dtype(getattr(array_api_strict, name)))
    xp.astype = lambda x, dtype, copy=True: array_api_strict.astype(x, native(dtype), copy=copy)
    xp.matmul2d = array_api_strict.matmul
    xp.sum_floats = array_api_strict.sum
    xp.expand = array_api_strict.broadcast_to
    xp.erf = lambda x: _erf_series(array_api_strict, x)
    xp.sigmoid = lambda x: _sigmoid_tanh(array_api_strict, x)
    xp.to_numpy = lambda a: np.from_dlpack(a)
    xp.from_numpy = array_api_strict.asarray
    xp.array_type = type(array_api_strict.asarray(0.0))
    return xp


class Backend:
    """One device's array namespace and its identity. One instance per device, shared."""

    __slots__ = ("device", "xp", "ops")

    def __init__(self, dev, xp):
        self.device = dev
        self.xp = xp
        self.ops = ArrayOps(xp)  # the raw-array twin of minigan.functional (backward fast path)

    def __repr__(self):
        return f"<Backend {self.device} on {self.xp.name}>"


_backends = {}
_array_type_to_backend = {}


def get_backend(dev) -> Backend:
    """Return the backend for a device (a ``device``, a string or ``None`` for the default)."""
    if dev is None:
        dev = _default_device
    elif not isinstance(dev, device):
        dev = device(dev)
    b = _backends.get(dev)
    if b is not None:
        return b
    if dev.type == "cpu":
        xp = _numpy_namespace()
    elif dev.type == "cuda":
        ok, reason, cupy = cuda_status()
        if not ok:
            raise RuntimeError(f"device {dev} was asked for, but CUDA is not available: {reason}")
        if dev.index >= cupy.cuda.runtime.getDeviceCount():
            raise RuntimeError(f"device {dev} does not exist: "
                               f"{cupy.cuda.runtime.getDeviceCount()} CUDA device(s) found")
        xp = _cupy_namespace(cupy)
    else:
        xp = _strict_namespace()
    b = Backend(dev, xp)
    _backends[dev] = b
    if dev.type != "cuda":
        _array_type_to_backend[xp.array_type] = b
    return b


def backend_of_array(a) -> Backend:
    """The backend an array already lives on (NumPy -> cpu, CuPy -> its GPU, strict)."""
    b = _array_type_to_backend.get(type(a))
    if b is not None:
        return b
    mod = type(a).__module__.split(".")[0]
    if mod == "cupy":
        return get_backend(device("cuda", a.device.id))
    if mod == "array_api_strict":
        return get_backend(device("strict"))
    return get_backend(device("cpu"))


def _env_default_device():
    name = os.environ.get("MINIGAN_DEVICE", "").strip()
    return device(name) if name else device("cpu")


_default_device = _env_default_device()


def get_default_device() -> device:
    return _default_device


def set_default_device(dev) -> None:
    """Where creation functions (``zeros``, ``randn`` ...) put tensors by default."""
    global _default_device
    dev = device(dev)
    get_backend(dev)  # fail now, with the reason, if the device is unusable
    _default_device = dev


# ----------------------------------------------------------------------------- the host RNG
_generator = np.random.default_rng()


_SEED_LOW, _SEED_HIGH = -0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff  # PyTorch's range


def seed_value(seed) -> int:
    """``seed`` as the non-negative integer the generator is seeded with, by PyTorch's rule
    (``torch.manual_seed``): any integer in [-2**63, 2**64 - 1], a negative one remapped to
    ``0xffff_ffff_ffff_ffff + seed``; anything outside is refused by name."""
    value = int(seed)
    if not _SEED_LOW <= value <= _SEED_HIGH:
        raise RuntimeError(f"manual_seed: seed {value} is out of range: expected an integer in "
                           f"[-2**63, 2**64 - 1], as PyTorch")
    return value + _SEED_HIGH if value < 0 else value


def manual_seed(seed: int):
    """Seed the one host random generator that every device's random numbers come from
    (negative seeds as in PyTorch: :func:`seed_value`)."""
    global _generator
    _generator = np.random.default_rng(seed_value(seed))
    return _generator


def host_generator() -> np.random.Generator:
    return _generator
