"""``minigan.cuda``: PyTorch's ``torch.cuda`` names, backed by CuPy (book section 1.4).

Everything here answers safely on a machine without a GPU: ``is_available()`` is False and
the memory queries say why CUDA can't be used.
"""
from __future__ import annotations

from . import backend as B
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


def memory_allocated(device=None) -> int:
    """Bytes held by live arrays in CuPy's memory pool (torch.cuda.memory_allocated)."""
    return _cupy().get_default_memory_pool().used_bytes()


def max_memory_allocated(device=None) -> int:
    """Peak of ``memory_allocated`` since start or ``reset_peak_memory_stats``.

    CuPy's pool keeps no peak, so this is the pool's total reservation, an upper bound.
    """
    return _cupy().get_default_memory_pool().total_bytes()


def reset_peak_memory_stats(device=None) -> None:
    _cupy().get_default_memory_pool().free_all_blocks()


def empty_cache() -> None:
    if is_available():
        _cupy().get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """All devices draw from the one host generator; this seeds it (as minigan.manual_seed)."""
    B.manual_seed(seed)


FloatTensor = _TensorType("FloatTensor", B.float32, "cuda")
DoubleTensor = _TensorType("DoubleTensor", B.float64, "cuda")
LongTensor = _TensorType("LongTensor", B.int64, "cuda")
