"""How many bytes minigan's tensors hold, per device: live now, and the peak since a reset.

The book compares its two CelebA GANs by ``torch.cuda.memory_allocated`` and
``max_memory_allocated`` (BOOK_SPEC 4.12, 4.14): 0.700 vs 0.142 GiB, about a fifth. PyTorch
answers those only on a GPU. minigan counts for itself, on every device, so the same
comparison runs on a CPU (``minigan.cuda.memory_allocated("cpu")``, or :func:`allocated`).

What is counted
---------------
Like PyTorch's allocator statistics, the count is of *storage*: the memory under the arrays
that live tensors (parameters, their ``.grad``, optimiser state, activations kept for
backward, anything a user holds) point to, each buffer once however many tensors view it.
A reshaped, sliced or detached tensor shares its source's buffer and adds nothing; Adam's
moments, kept in one flat vector per parameter group and viewed by every parameter's
``state``, count once, as the whole vector.

Not counted: arrays that are not inside a tensor - the scratch of an op (im2col columns a
convolution keeps for its backward), the gradients flowing through ``backward`` before they
land in ``.grad``, an optimiser's work buffers. ``torch.cuda.memory_allocated`` does count
such things where PyTorch makes them tensors. To see everything NumPy holds, trace it with
``tracemalloc``, which knows every NumPy allocation (domain ``numpy.lib.tracemalloc_domain``;
far too slow to leave on, fine for one measured step: ``scripts/memory_celeba.py`` does).

How
---
:class:`~minigan.tensor.Tensor` calls :func:`charge` when it gets an array (``_wrap``, the
``data`` setter) and :func:`release` when it lets go of one (its ``__del__``, the setter).
Buffers are keyed by the ``id`` of their root array (``array.base`` for a NumPy or CuPy
view, else the array): while a charged tensor lives its array keeps the root alive, so the
key stays unique, and the entry goes away with the last tensor.

When
----
That is a few dictionary operations per tensor made and freed: about 9 % of the book's
batch-1 MNIST GAN step and a fifth of the 1010 GAN's, where a tensor lives for about
15 microseconds (``minigan bench train``). So the count starts only when asked: at the first
query (:func:`allocated`, ``minigan.cuda.memory_allocated``, ``reset_peak_memory_stats`` ...)
or :func:`start`. Starting finds every tensor alive at that moment (through the garbage
collector's list of objects) and charges it, so ``allocated`` is exact whatever happened
before; the *peak* is measured from that moment on - which is what the book's cells want,
since they reset the peak before the training they measure (and
``minigan.cuda.max_memory_allocated`` asked first answers the peak since that first ask).
``MINIGAN_COUNT_MEMORY=1`` in the environment, read at import, counts from import;
``MINIGAN_COUNT_MEMORY=0`` never counts (the queries then raise).
"""
from __future__ import annotations

import os

from . import backend as B

_SETTING = os.environ.get("MINIGAN_COUNT_MEMORY", "").strip().lower()
#: ``MINIGAN_COUNT_MEMORY=0`` (read at import) forbids the count: the queries then raise.
DISABLED = _SETTING in ("0", "false", "no", "off")
#: Whether tensors are being counted now (set by :func:`start`; never goes back to False).
COUNTING = False

__all__ = ["start", "allocated", "max_allocated", "reset_peak", "summary", "live_buffers", "charge",
           "release"]

#: id(root array) -> entry [tensors using it, nbytes, device stats, id(root array)]
_entries: dict = {}
#: Backend -> stats [bytes now, peak bytes, CuPy pool (CUDA) or None, pool peak]
_stats: dict = {}


def new_stats(backend):
    """A device's counters: [bytes now, peak, CuPy pool or None, pool peak], made once."""
    pool = None
    if backend.device.type == "cuda":
        pool = backend.xp.get_default_memory_pool()
    stats = _stats[backend] = [0, 0, pool, 0]
    if pool is not None:
        stats[3] = pool.used_bytes()
    return stats


def _root_and_size(array):
    """The object that owns ``array``'s memory, and that memory's size in bytes (slow path)."""
    root = getattr(array, "base", None)
    while root is not None and not hasattr(root, "nbytes"):
        root = getattr(root, "base", None)   # NumPy's broadcast_to keeps a wrapper in between
    if root is None:
        root = array
    size = getattr(root, "nbytes", None)
    if size is None:                          # array-api-strict arrays have no nbytes
        size = int(root.size) * B.as_dtype(root.dtype).itemsize
    return root, int(size)


def charge(array, backend):
    """Count ``array``'s buffer on ``backend``'s device for one more tensor; returns the entry.

    Called for every tensor made while the count runs (``Tensor._wrap``, the ``data`` setter).
    """
    try:
        root = array.base
        if root is None:
            root = array
        size = root.nbytes
    except AttributeError:        # array-api-strict (no .base, no .nbytes), NumPy's as_strided
        root, size = _root_and_size(array)
    key = id(root)
    entry = _lookup(key)
    if entry is not None:
        entry[0] += 1
        return entry
    stats = _stats.get(backend)
    if stats is None:
        stats = new_stats(backend)
    now = stats[0] + size
    stats[0] = now
    if now > stats[1]:
        new_peak(stats, now)
    entry = _entries[key] = [1, size, stats, key]
    return entry


_lookup = _entries.get


def new_peak(stats, now):
    """Record a new peak ``now`` (and, on CUDA, a look at the pool, whose peak CuPy keeps not)."""
    stats[1] = now
    if stats[2] is not None:
        used = stats[2].used_bytes()
        if used > stats[3]:
            stats[3] = used


def release(entry):
    """One tensor fewer uses ``entry``'s buffer; the last one takes its bytes off the count.

    ``Tensor.__del__`` does the same inline (it runs for every tensor that goes away).
    """
    if entry[0] == 1:
        entry[2][0] -= entry[1]
        del _entries[entry[3]]
    else:
        entry[0] -= 1


# ============================================================================== queries
def _backend(device):
    if isinstance(device, int) and not isinstance(device, bool):
        device = f"cuda:{device}"
    return B.get_backend(device)


def start() -> None:
    """Count from now on: every tensor made or freed, and every tensor alive now (found once,
    through ``gc.get_objects()``). The peak starts at what is allocated now. Called by the
    first query; calling it again does nothing."""
    global COUNTING
    if COUNTING:
        return
    if DISABLED:
        raise RuntimeError("minigan's memory count is off (MINIGAN_COUNT_MEMORY=0 when minigan "
                           "was imported): unset it to count the bytes tensors hold")
    import gc
    import importlib

    tensor = importlib.import_module(f"{__package__}.tensor")  # (minigan.tensor is also a function)
    COUNTING = True
    Tensor = tensor.Tensor   # type(o), not isinstance: some objects' __class__ is a lazy property
    tensor._install_counting([o for o in gc.get_objects() if issubclass(type(o), Tensor)])
    for stats in _stats.values():   # the peak starts now
        stats[1] = stats[0]


def _stats_of(device):
    if not COUNTING:
        start()
    backend = _backend(device)
    stats = _stats.get(backend)
    return stats if stats is not None else new_stats(backend)


def allocated(device=None) -> int:
    """Bytes held by live tensors on ``device`` (default: the default device), each buffer once."""
    return _stats_of(device)[0]


def max_allocated(device=None) -> int:
    """The most :func:`allocated` has been since the program started or :func:`reset_peak`."""
    return _stats_of(device)[1]


def reset_peak(device=None) -> None:
    """Start measuring the peak again from what is allocated now."""
    stats = _stats_of(device)
    stats[1] = stats[0]
    if stats[2] is not None:
        stats[3] = stats[2].used_bytes()


def live_buffers(device=None) -> list[int]:
    """The sizes in bytes of the buffers counted on ``device`` now, biggest first."""
    stats = _stats_of(device)
    return sorted((e[1] for e in list(_entries.values()) if e[2] is stats), reverse=True)


def summary(device=None) -> str:
    """A few lines on the count, in the spirit of ``torch.cuda.memory_summary``."""
    backend = _backend(device)
    stats = _stats_of(device)
    sizes = live_buffers(device)
    gib = 1024 ** 3
    lines = [f"minigan memory on {backend.device}: tensors' buffers (each counted once)",
             f"  allocated now    {stats[0]:>15,} bytes  {stats[0] / gib:8.3f} GiB  in {len(sizes):,} buffers",
             f"  peak             {stats[1]:>15,} bytes  {stats[1] / gib:8.3f} GiB"]
    if sizes:
        lines.append(f"  largest buffers  " + ", ".join(f"{s:,}" for s in sizes[:5]))
    if stats[2] is not None:
        pool = stats[2]
        lines.append(f"  CuPy pool: used {pool.used_bytes():,}, peak seen {stats[3]:,}, "
                     f"reserved {pool.total_bytes():,} bytes")
    return "\n".join(lines)
