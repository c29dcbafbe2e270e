"""``unbind`` (minigan/functional/unbind.py): slices with one backward. Values and gradients
against PyTorch (and gradcheck, gradgradcheck) are in the op table; here what it adds."""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan.functional.unbind import Slice, Slices


def test_slices_share_one_node_and_unused_slices_get_zeros():
    x = minigan.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    rows = minigan.unbind(x)
    assert len(rows) == 3 and all(type(r.creator) is Slice for r in rows)
    assert len({id(r.creator.inputs[0].creator) for r in rows}) == 1     # one Slices node
    assert type(rows[0].creator.inputs[0].creator) is Slices
    (rows[0] * 2 + rows[2] * 3).sum().backward()                         # row 1 unused
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0] * 4, [0.0] * 4, [3.0] * 4])


def test_gradient_along_a_later_axis_and_repeated_use():
    x = minigan.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    a, b, c = x.unbind(-1)
    (a * b + a).sum().backward()                                         # a used twice
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0 + 1.0, 0.0, 0.0], [4.0 + 1.0, 3.0, 0.0]])


def test_without_a_graph_the_slices_are_views():
    x = minigan.tensor(np.arange(6.0).reshape(2, 3))
    first, _ = minigan.unbind(x)
    assert first.creator is None and np.shares_memory(first.numpy(), x.numpy())


def test_errors_name_the_problem():
    with pytest.raises(IndexError, match="no dimensions"):
        minigan.unbind(minigan.tensor(1.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        minigan.unbind(minigan.zeros(2, 3), 2)
