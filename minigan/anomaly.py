"""Anomaly mode: stop at the first NaN or Inf, and say which op made it and where.

A GAN that trains for hours can turn to NaN at hour three; by the time the loss prints
``nan`` the op that made it is long gone. PyTorch's answer is
``torch.autograd.detect_anomaly()``, and minigan's is the same::

    with minigan.autograd.detect_anomaly():
        loss = D(G(seed))                  # forward: every op's output is checked
        loss.backward()                    # backward: every op's gradients are checked

    AnomalyError: Function 'Log' returned nan values in its 0th output (forward); inputs:
    (3,) float32; created at train.py:42 in step: y = x.log()

While the mode is on, every :class:`~minigan.autograd.Function` records where it was created
(the first stack frame outside the minigan package, i.e. the user's file and line; and, when
minigan's own code such as the book's training loop made the call, the innermost frame of it
too), its forward output is checked for NaN and Inf, and so are the gradients its backward
returns. A failing check raises ``AnomalyError`` (a ``RuntimeError``, as in PyTorch) naming
the Function class, its inputs' shapes and dtypes and the creation site; an exception raised
*inside* a backward gets the same facts as a note. NumPy's own "invalid value" warnings are
silenced while a checked op runs, since the check reports the same event with more context.

Off by default and free when off: the engine reads one module-level flag per Function call
(``autograd._anomaly_enabled``) and one per backward walk; everything in this file runs only
when the flag is set. On, expect ops to cost several times more (a stack walk and a full
scan of every output), so it is a debugging mode, as in PyTorch.
"""
from __future__ import annotations

import functools
import linecache
import os
import sys
import sysconfig

import numpy as np

from . import autograd
from . import backend as B

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "AnomalyError"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
# minigan's engine: frames here are never "where the op was created" - the layer that called
# them is. Frames elsewhere in minigan (the book's loop, training.py, the CLI) are reported
# as the library call site when they sit below the user's frame.
_ENGINE = tuple(_PACKAGE + p for p in ("autograd.py", "anomaly.py", "tensor.py", "array_ops.py",
                                       "backend.py", "functional" + os.sep, "nn" + os.sep,
                                       "optim" + os.sep))
_STDLIB = tuple({os.path.abspath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "platstdlib")})


class AnomalyError(RuntimeError):
    """A NaN or Inf found by anomaly mode. A ``RuntimeError``, as PyTorch raises, so
    ``except RuntimeError`` still catches it; ``op`` is the Function's class name, ``phase``
    ``"forward"`` or ``"backward"``, ``site`` the creation site (``describe_site``'s text)."""

    def __init__(self, message, op=None, phase=None, site=None):
        super().__init__(message)
        self.op, self.phase, self.site = op, phase, site


# ============================================================================== switching it on
def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on (``torch.is_anomaly_enabled``)."""
    return autograd._anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks values (``check_nan``), not only records creation sites."""
    return autograd._anomaly_enabled and autograd._anomaly_check_nan


def _set(mode, check_nan):
    autograd._anomaly_enabled = bool(mode)
    autograd._anomaly_check_nan = bool(check_nan)


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` switches anomaly mode on at once (a plain call, as in
    PyTorch); as a context manager it restores the previous mode on exit, and as a decorator
    it sets the mode for each call of the function."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.mode, self.check_nan = bool(mode), bool(check_nan)
        self.prev = (autograd._anomaly_enabled, autograd._anomaly_check_nan)
        if type(self) is set_detect_anomaly:
            _set(self.mode, self.check_nan)

    def __enter__(self):
        if type(self) is not set_detect_anomaly:  # set_detect_anomaly saved it in __init__
            self.prev = (autograd._anomaly_enabled, autograd._anomaly_check_nan)
        _set(self.mode, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False

    def __call__(self, fn):
        if type(self) is set_detect_anomaly:  # used as a decorator: undo what __init__ did
            _set(*self.prev)
        mode, check_nan = self.mode, self.check_nan

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = (autograd._anomaly_enabled, autograd._anomaly_check_nan)
            _set(mode, check_nan)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(*previous)
        return wrapper


class detect_anomaly(set_detect_anomaly):
    """``with detect_anomaly():`` or ``@detect_anomaly()``: anomaly mode inside the block.

    ``check_nan=False`` only records where each op was created (for the notes added to
    errors raised in a backward), without scanning values.
    """

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])  # @detect_anomaly without parentheses
        return super().__new__(cls)

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)


# ============================================================================== where an op was made
def _is_engine(filename):
    return filename.startswith(_ENGINE)


def _creation_site():
    """``(user, library)``: the first frame outside minigan that is not the standard library
    (the user's file and line), and the innermost minigan frame outside the engine (the book's
    loop, the CLI) when minigan's own code made the call; each a ``(file, line, function)``
    tuple or None. Only plain tuples are kept: holding frames would keep their locals alive."""
    frame = sys._getframe(2)
    library = None
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if filename.startswith(_PACKAGE):
            if library is None and not _is_engine(filename):
                library = (filename, frame.f_lineno, code.co_name)
        elif not (filename.startswith("<frozen") or filename.startswith(_STDLIB)):
            return (filename, frame.f_lineno, code.co_name), library
        frame = frame.f_back
    return None, library


def _format_frame(site):
    filename, lineno, name = site
    shown = filename
    try:
        relative = os.path.relpath(filename)
        if not relative.startswith(".."):
            shown = relative
    except ValueError:  # another drive (Windows)
        pass
    text = f"{shown}:{lineno} in {name}"
    source = linecache.getline(filename, lineno).strip()
    return f"{text}: {source}" if source else text


def describe_site(fn) -> str:
    site = getattr(fn, "created_at", None)
    if site is None:
        return "created while anomaly mode was off (no creation site recorded)"
    user, library = site
    if user is None and library is None:
        return "created at an unknown place"
    if user is None:
        return f"created at {_format_frame(library)}"
    text = f"created at {_format_frame(user)}"
    if library is not None:
        text += f" (inside minigan at {_format_frame(library)})"
    return text


# ============================================================================== the checks
def _describe_arrays(arrays):
    parts = []
    for a in arrays:
        if a is None:
            parts.append("None")
        else:
            parts.append(f"{tuple(a.shape)} {B.as_dtype(a.dtype).name}")
    return ", ".join(parts) if parts else "none"


def _bad_values(xp, a):
    """'nan', 'inf' or None for a raw array (integer and bool arrays are never bad)."""
    if a is None or B.as_dtype(a.dtype) not in B.FLOAT_DTYPES:
        return None
    if bool(xp.all(xp.isfinite(a))):
        return None
    return "nan" if bool(xp.any(xp.isnan(a))) else "inf"


def checked_call(fn, inputs):
    """``Function.__call__`` in anomaly mode: record the creation site, run ``forward`` and
    check its output, then link the result into the graph exactly as the fast path does."""
    for t in inputs:
        if not isinstance(t, autograd.Tensor):
            autograd._refuse_non_tensors(fn, inputs)
    x = inputs[0]
    backend = x.backend
    fn.xp = backend.xp
    for t in inputs:
        if t.backend is not backend:
            raise RuntimeError(f"{type(fn).__name__}: expected all tensors on the same device, "
                               f"got {backend.device} and {t.backend.device}")
    fn.created_at = _creation_site()
    arrays = [t.data for t in inputs]
    with np.errstate(all="ignore"):  # the check below reports it, with the op and its site
        data = fn.forward(*arrays)
    out_backend = fn.output_backend or backend
    if autograd._anomaly_check_nan:
        bad = _bad_values(out_backend.xp, data)
        if bad is not None:
            site = describe_site(fn)
            raise AnomalyError(f"Function '{type(fn).__name__}' returned {bad} values in its 0th "
                               f"output (forward); inputs: {_describe_arrays(arrays)}; {site}",
                               op=type(fn).__name__, phase="forward", site=site)
    out = autograd.Tensor._wrap(data, out_backend)
    if autograd._grad_enabled and fn.differentiable:
        needs = tuple([t.requires_grad for t in inputs])
        if True in needs:
            fn.needs_input_grad = needs
            fn._record(inputs, max([t.generation for t in inputs]), out)
    return out


def checked_backward(fn, F, gy):
    """``fn.backward(F, gy)`` in anomaly mode: each returned gradient is checked, and an
    exception raised inside the backward gets a note naming the op and where it was made."""
    name = type(fn).__name__
    try:
        with np.errstate(all="ignore"):
            gxs = fn.backward(F, gy)
    except Exception as e:
        if hasattr(e, "add_note"):  # Python 3.11+
            e.add_note(f"minigan anomaly mode: raised in the backward of Function '{name}' "
                       f"(inputs: {_describe_arrays([x.data for x in fn.inputs])}), "
                       f"{describe_site(fn)}")
        raise
    if not autograd._anomaly_check_nan:
        return gxs
    for i, gx in enumerate(gxs if type(gxs) is tuple else (gxs,)):
        if gx is None:
            continue
        data = gx if F.is_array_mode else gx.data
        bad = _bad_values(fn.xp, data)
        if bad is not None:
            site = describe_site(fn)
            raise AnomalyError(
                f"Function '{name}Backward' returned {bad} values in its {i}th output (the "
                f"gradient for input {i} of '{name}'); inputs: "
                f"{_describe_arrays([x.data for x in fn.inputs])}; upstream gradient: "
                f"{_describe_arrays([gy if F.is_array_mode else gy.data])}; {site}",
                op=name, phase="backward", site=site)
    return gxs
