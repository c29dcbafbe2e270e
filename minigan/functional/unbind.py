"""``unbind``: a tensor's slices along one axis as separate tensors, with one backward.

Taking the slices one at a time (``x[t]`` for every t) is right but slow to differentiate:
each slice's backward sends back a gradient of x's *full* size, zeros but for its own slice,
so the L slices of a sequence cost O(L^2) numbers in backward - a recurrent layer's time loop
reads its input exactly that way. Here the slices share one node that collects their
gradients and sends back one array, O(L)::

    x  --Slices-->  marker (a 0-d zero)  --Slice(t)-->  x's slice t (a view, no copy)

Each ``Slice`` hands its gradient to the ``Slices`` node and sends a zero on to the marker;
``Slices`` has a lower generation than every ``Slice``, so the graph walk (newest generation
first) runs it after all of them, once, and stacks what they handed in (zeros for a slice
that got none). The same two-node trick makes :mod:`minigan.nn.backward_hooks` identities.
With ``create_graph=True`` the gradients are Tensors and the stack is recorded, so second
derivatives work.
"""
from __future__ import annotations

from ..array_ops import normalize_dims
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor

__all__ = ["unbind"]


class Slices(Function):
    """x -> a 0-d zero (the marker its slices hang on); backward stacks the slices' gradients."""

    def __init__(self, axis, count):
        self.axis, self.grads = axis, [None] * count

    def forward(self, x):
        return self.xp.zeros((), dtype=x.dtype)

    def backward(self, F, gy):
        grads, self.grads = self.grads, [None] * len(self.grads)
        x = self.inputs[0]
        shape = x.data.shape[:self.axis] + x.data.shape[self.axis + 1:]
        if F.is_array_mode:
            xp = self.xp
            zeros = xp.zeros(shape, dtype=x.data.dtype)
            return xp.stack([zeros if g is None else g for g in grads], axis=self.axis)
        zeros = Tensor._wrap(self.xp.zeros(shape, dtype=x.data.dtype), x.backend)
        return F.stack([zeros if g is None else g for g in grads], dim=self.axis)


class Slice(Function):
    """The marker -> slice ``t`` of x (the view taken at the call); backward hands the
    gradient to the :class:`Slices` node and sends a zero on."""

    def __init__(self, slices, t, value):
        self.slices, self.t, self.value = slices, t, value

    def forward(self, marker):
        return self.value

    def backward(self, F, gy):
        self.slices.grads[self.t] = gy
        marker = self.inputs[0]
        zero = self.xp.zeros((), dtype=marker.data.dtype)
        return zero if F.is_array_mode else Tensor._wrap(zero, marker.backend)


def unbind(input, dim=0):
    """``torch.unbind``: the slices of ``input`` along ``dim``, as a tuple of tensors (views)."""
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    (axis,) = normalize_dims(dim, input.ndim)
    data, backend = input.data, input.backend
    views = [data[(slice(None),) * axis + (t, ...)] for t in range(data.shape[axis])]
    if not (is_grad_enabled() and input.requires_grad):
        return tuple(Tensor._wrap(v, backend) for v in views)
    slices = Slices(axis, len(views))
    marker = slices(input)
    return tuple(Slice(slices, t, v)(marker) for t, v in enumerate(views))
