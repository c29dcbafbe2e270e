"""A second core for memory-bound array passes: run one half of the work on a helper thread.

NumPy's ufuncs release the GIL while their loops run, so two Python threads each calling
ufuncs on their own half of an array work at the same time on two cores. Adam's update of a
big weight is ten such passes (:mod:`minigan.optim.adam`); PyTorch spreads the same passes
over its intra-op threads, so minigan does too, without any compiled code.

:func:`run_halves` is the whole interface: ``run_halves(first, second)`` calls ``second()``
on the helper thread and ``first()`` on the caller's, and returns when both are done
(re-raising an exception from either). The helper is one daemon thread, started at the first
use; hand-over is two ``threading.Event`` signals (a few microseconds), so it pays only for
work of tens of microseconds or more. With one usable core, or ``MINIGAN_THREADS=1`` in the
environment, :data:`AVAILABLE` is False and callers keep to one thread.
"""
from __future__ import annotations

import os
import threading

__all__ = ["AVAILABLE", "run_halves"]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # macOS, Windows
        return os.cpu_count() or 1


#: Whether a second core is there to use (and not switched off by ``MINIGAN_THREADS=1``).
AVAILABLE = _usable_cores() >= 2 and os.environ.get("MINIGAN_THREADS", "").strip() != "1"


class _Helper:
    """One daemon thread that runs the jobs handed to it, one at a time."""

    def __init__(self):
        self.job = None
        self.error = None
        self.go = threading.Event()
        self.done = threading.Event()
        self.lock = threading.Lock()     # one caller at a time (a user's own threads)
        threading.Thread(target=self._loop, name="minigan-second-core", daemon=True).start()

    def _loop(self):
        while True:
            self.go.wait()
            self.go.clear()
            try:
                self.job()
            except BaseException as e:   # handed back to the caller
                self.error = e
            self.job = None
            self.done.set()


_helper = None


def run_halves(first, second) -> None:
    """Call ``first()`` here and ``second()`` on the helper thread; return when both finished.

    If another thread is using the helper, both run here, one after the other.
    """
    global _helper
    if _helper is None:
        _helper = _Helper()
    helper = _helper
    if not helper.lock.acquire(blocking=False):
        first()
        second()
        return
    try:
        helper.error = None
        helper.done.clear()
        helper.job = second
        helper.go.set()
        try:
            first()
        finally:
            helper.done.wait()
        if helper.error is not None:
            error, helper.error = helper.error, None
            raise error
    finally:
        helper.lock.release()
