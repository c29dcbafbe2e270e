"""The pool of big work arrays the convolution plans borrow from (minigan/functional/work_arrays.py)."""
from __future__ import annotations

import numpy as np

from minigan.backend import get_backend
from minigan.functional import work_arrays as W


def test_a_returned_array_is_lent_again_and_small_ones_are_not_pooled(monkeypatch):
    pool = W.WorkArrays()
    settled = []
    monkeypatch.setattr(W, "settle_malloc", lambda xp: settled.append(xp.name))
    xp = get_backend("cpu").xp
    shape = (W.WorkArrays.min_size,)
    a = pool.take(xp, shape, np.dtype(np.float32))  # an array's dtype, as the plans pass
    assert settled == ["numpy"]  # glibc's thresholds are settled before the first lend, once
    pool.give_back(xp, a.reshape(2, -1))  # a view gives back its base
    b = pool.take(xp, shape, np.float32)  # the scalar type finds the same arrays
    assert b is a and settled == ["numpy"]
    small = pool.take(xp, (10,), np.float32)
    pool.give_back(xp, small)
    assert pool.count == 0  # under min_size: malloc's business, not the pool's


def test_other_backends_are_never_pooled():
    pool = W.WorkArrays()
    xp = get_backend("strict").xp
    a = pool.take(xp, (W.WorkArrays.min_size,), xp.float32)
    pool.give_back(xp, a)
    assert pool.count == 0 and not pool.malloc_settled


def test_settling_malloc_is_harmless():
    W.settle_malloc(get_backend("cpu").xp)  # an allocation and a free; nothing to observe
    W.settle_malloc(get_backend("strict").xp)  # not NumPy: does nothing
