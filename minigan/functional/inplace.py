"""In-place arithmetic: ``t += x``, ``t -= x``, ``t *= x``, ``t /= x`` and ``t.add_(x)``,
``t.sub_(x)``, ``t.mul_(x)``, ``t.div_(x)``, and ``t.lerp_(end, weight)`` (an EMA's average);
and the indexed writes ``t.scatter_``, ``t.scatter_add_``, ``t.scatter_reduce_``, ``t.index_add_``.

The hand-written update of a parameter (before an optimiser class is introduced, and in every
tutorial that shows what one does)::

    with minigan.no_grad():
        for p in model.parameters():
            p -= lr * p.grad

has to change the parameter itself. Without ``__isub__`` Python would compute ``p - lr *
p.grad`` into a new tensor and rebind the loop variable ``p`` to it: the model would never
change, silently. So, as in PyTorch:

* **not recording** (under ``no_grad``, or nothing involved requires grad): the result is
  computed and written into ``t``, which keeps its identity, shape and dtype (``t`` becomes
  the result's numbers, as minigan's other in-place methods: its array is replaced, so a
  view of the old array taken with ``.numpy()`` keeps the old numbers);
* a **leaf that requires grad**, while recording: refused, as PyTorch refuses it;
* **a tensor of a recorded graph**: the operators compute out of place and Python rebinds the
  name (``h += b`` in a forward pass gets the right gradient); the methods refuse, since they
  cannot rebind the caller's name and ``h.add_(b)`` must not leave ``h`` unchanged.

The result must fit ``t``: the other operand broadcasts to ``t``'s shape (not the other way),
and an integer tensor cannot take a floating result (``t /= 2`` on int64), both as PyTorch.

Two differences remain, shared with every in-place method (``fill_``, ``copy_``, ``zero_``
...), because minigan *replaces* a tensor's array instead of writing into it (gradients share
arrays: Add hands one array to both of its inputs, so writing into one ``.grad`` would change
another):

* a view changed in place (``v = x.view(-1); v += 1``) does not change ``x``, where
  PyTorch's views share storage (item assignment, ``x[0] += 1``, does). A *detached* tensor
  is the exception that PyTorch code leans on (``p.detach().copy_(avg)``, ``x.detach().zero_()``):
  ``detach()`` remembers its source, and its new array is handed on to the source while the
  two still share the old one (``Tensor._replace_array``), so the source changes too; once
  the source has an array of its own (changed in place itself), they part, where PyTorch's
  would still share;
* minigan keeps no version counters, so a tensor changed in place *after* a recorded graph
  read it and *before* that graph's backward gives the gradient of its new numbers, where
  PyTorch raises "modified by an inplace operation" (a counter checked by every op would
  cost the batch-1 hot path; the optimiser step, the usual in-place update, comes after
  backward has freed the graph).
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import is_grad_enabled
from ..tensor import Tensor


def _recording(t, other):
    return is_grad_enabled() and (t.requires_grad or (isinstance(other, Tensor) and other.requires_grad))


def _write_into(t, result, name):
    """Make ``result``'s numbers ``t``'s own, checking that they fit (shape, dtype)."""
    if result.shape != t.shape:
        raise RuntimeError(f"{name}: output with shape {list(t.shape)} doesn't match the "
                           f"broadcast shape {list(result.shape)}")
    data = result.data
    if result.dtype != t.dtype:
        if result.dtype in B.FLOAT_DTYPES and t.dtype not in B.FLOAT_DTYPES:
            raise RuntimeError(f"{name}: result type {result.dtype.name} can't be cast to the "
                               f"desired output type {t.dtype.name}")
        data = t.backend.xp.astype(data, t.data.dtype)
    t._replace_array(data)
    return t


def in_place_operator(op, name):
    """``__iadd__`` and the like: in place unless a recorded graph owns ``t`` (module doc)."""
    def operator(t, other):
        if _recording(t, other):
            t._check_inplace(name)  # a leaf that requires grad: refused, as every in-place method
            return op(t, other)  # recorded out of place; Python rebinds the name to it
        return _write_into(t, op(t, other), name)
    operator.__name__ = name
    return operator


def in_place_method(op, name):
    """``add_`` and the like: in place, or refused where it cannot be (module doc)."""
    def method(t, other, *args, **kwargs):
        if _recording(t, other):
            t._check_inplace(name)
            raise RuntimeError(f"{name}: the result would have to be recorded in the graph, which "
                               f"minigan's in-place methods do not do; write t = t.{name[:-1]}(x) "
                               f"or use the operator")
        return _write_into(t, op(t, other, *args, **kwargs), name)
    method.__name__ = name
    return method


def in_place_indexed_method(op, name):
    """``scatter_``, ``scatter_add_``, ``scatter_reduce_``, ``index_add_``: as
    :func:`in_place_method`, but the operand that may require grad (``src`` / ``source``) comes
    after ``dim`` and ``index``, so every Tensor argument is looked at."""
    def method(t, *args, **kwargs):
        operands = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        if is_grad_enabled() and (t.requires_grad or any(a.requires_grad for a in operands)):
            t._check_inplace(name)
            raise RuntimeError(f"{name}: the result would have to be recorded in the graph, which "
                               f"minigan's in-place methods do not do; write t = t.{name[:-1]}(...) "
                               "or run it under minigan.no_grad()")
        return _write_into(t, op(t, *args, **kwargs), name)
    method.__name__ = name
    return method
