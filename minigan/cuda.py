"""``minigan.cuda``: PyTorch's ``torch.cuda`` names, backed by CuPy (book section 1.4).

Everything here answers safely on a machine without a GPU: ``is_available()`` is False, the
device queries say why CUDA can't be used, and the memory queries answer for the CPU from
minigan's own count of what its tensors hold (:mod:`minigan.memory`).
"""
from __future__ import annotations

from . import backend as B
from . import memory as _memory
from .tensor import _TensorType


def is_available() -> bool:
    return B.cuda_status()[0]


def unavailable_reason() -> str:
    """Why CUDA can't be used here (empty string when it can)."""
    ok, reason, _ = B.cuda_status()
    return "" if ok else reason


def _cupy():
    ok, reason, cupy = B.cuda_status()
    if not ok:
        raise RuntimeError(f"CUDA is not available: {reason}")
    return cupy


def device_count() -> int:
    return _cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def get_device_name(device=None) -> str:
    cupy = _cupy()
    index = 0 if device is None else B.device(device).index if not isinstance(device, int) else device
    props = cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def synchronize(device=None) -> None:
    """Wait for all queued GPU work (needed before reading a clock)."""
    if is_available():
        _cupy().cuda.Device().synchronize()


# ============================================================================== memory
# The book prints ``torch.cuda.memory_allocated(device) / 1024**3`` and ``max_memory_allocated``
# (BOOK_SPEC 4.12, 4.14). Here they answer on any device: from CuPy's memory pool for a CUDA
# device, and from minigan's own count of the bytes tensors hold (minigan.memory) for the CPU,
# so the book's memory cells print real figures on a machine without a GPU. ``device=None``
# means the current CUDA device where CUDA works, else the default device (the CPU).
def _memory_device(device):
    if device is None:
        return B.device("cuda") if is_available() else B.get_default_device()
    if isinstance(device, int) and not isinstance(device, bool):
        return B.device(f"cuda:{device}")
    return B.device(device)


def _pool(dev):
    cupy = _cupy()
    with cupy.cuda.Device(dev.index):
        return cupy.get_default_memory_pool()


def memory_allocated(device=None) -> int:
    """Bytes in use: CuPy's pool on a CUDA device, minigan's tensor count on another (the CPU)."""
    dev = _memory_device(device)
    if dev.type == "cuda":
        return _pool(dev).used_bytes()
    return _memory.allocated(dev)


def max_memory_allocated(device=None) -> int:
    """Peak of :func:`memory_allocated` since start or :func:`reset_peak_memory_stats`.

    On the CPU the exact peak of minigan's count. CuPy's pool keeps no peak: on a CUDA device
    this is the most its ``used_bytes`` was when minigan looked - at every new tensor buffer,
    which is where use grows - and never less than now.
    """
    dev = _memory_device(device)
    if dev.type == "cuda":
        used = _pool(dev).used_bytes()
        return used if _memory.DISABLED else max(_memory._stats_of(dev)[3], used)
    return _memory.max_allocated(dev)


def reset_peak_memory_stats(device=None) -> None:
    """Measure the peak afresh from now (frees nothing, as PyTorch's)."""
    dev = _memory_device(device)
    if dev.type != "cuda" or not _memory.DISABLED:
        _memory.reset_peak(dev)


def memory_reserved(device=None) -> int:
    """Bytes held from the system: CuPy's pool total on CUDA; the allocated count elsewhere
    (NumPy returns memory to the system; there is no cache to hold it)."""
    dev = _memory_device(device)
    if dev.type == "cuda":
        return _pool(dev).total_bytes()
    return _memory.allocated(dev)


def memory_summary(device=None, abbreviated=False) -> str:
    """A short text report of the counts (``torch.cuda.memory_summary``'s role)."""
    return _memory.summary(_memory_device(device))


def empty_cache() -> None:
    """Give CuPy's cached, unused blocks back to the driver (nothing to do on the CPU)."""
    if is_available():
        _cupy().get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """All devices draw from the one host generator; this seeds it (as minigan.manual_seed)."""
    B.manual_seed(seed)


FloatTensor = _TensorType("FloatTensor", B.float32, "cuda")
DoubleTensor = _TensorType("DoubleTensor", B.float64, "cuda")
LongTensor = _TensorType("LongTensor", B.int64, "cuda")
