"""The backward vocabulary on raw arrays: the fast path of every primitive's backward.

Primitive backward formulas are written once against a namespace ``F`` (see autograd.py).
With ``create_graph=False`` that namespace is an :class:`ArrayOps` bound to one device's
array module, so ``F.sum(gy, dim=0)`` is one ``xp.sum`` call and no graph is recorded. The
method names and signatures are exactly those of :mod:`minigan.functional`, which is the
other namespace (Tensors, with a graph). Only array-API calls are used here (and the backend's
own einsum, where it has one).
"""
from __future__ import annotations

import math


def cumulative_sum(xp, a, axis):
    """The array API's ``cumulative_sum`` (NumPy 2, array-api-strict), else ``cumsum`` (CuPy)."""
    f = getattr(xp, "cumulative_sum", None)
    return f(a, axis=axis) if f is not None else xp.cumsum(a, axis=axis)


def cumulative_prod(xp, a, axis):
    """The array API's ``cumulative_prod`` (NumPy 2.1+, array-api-strict), else ``cumprod``."""
    f = getattr(xp, "cumulative_prod", None)
    return f(a, axis=axis) if f is not None else xp.cumprod(a, axis=axis)


# NumPy's einsum: ``optimize=True`` (a contraction order, and BLAS through tensordot) costs about
# 9 us of Python per call; the plain C loop is faster until the naive loop's length, the
# product of every subscript's size, reaches about 32^3 (measured on 2 Zen 4 cores: 32x32 @
# 32x32 13 us either way, 64x64 74 vs 21 us, 4x4 @ 4x4 @ 4x4 3 vs 28 us). Without a summed
# subscript (an outer or elementwise product) there is nothing for BLAS to do (the outer
# product of two 1000-vectors: 322 us plain, 601 us optimized).
EINSUM_OPTIMIZE_FROM = 32 ** 3


def einsum_arrays(xp, equation, operands):
    """``equation`` (explicit, with ``->``; no ``...``; one size per subscript, no size-1
    broadcasting: :func:`minigan.functional.einsum` prepares it so) on raw arrays. NumPy and
    CuPy have an einsum; array-api-strict has none, so there :func:`einsum_by_products`."""
    f = getattr(xp, "einsum", None)
    if f is None:
        return einsum_by_products(xp, equation, operands)
    if xp.name != "numpy":
        return f(equation, *operands)
    inputs, output = equation.split("->")
    sizes = {label: n for term, a in zip(inputs.split(","), operands) for label, n in zip(term, a.shape)}
    summed = len(sizes) > len(output)
    worth_it = len(operands) > 1 and summed and math.prod(sizes.values()) >= EINSUM_OPTIMIZE_FROM
    return f(equation, *operands, optimize=worth_it)


def einsum_by_products(xp, equation, operands):
    """Einstein summation by its definition, with array-API calls only: every operand's axes
    laid out in one common order of subscripts (size 1 where it lacks one), the operands
    multiplied one by one with broadcasting, and each subscript summed out as soon as no
    later operand and not the output has it. A subscript repeated in one operand (``ii``)
    first becomes one axis: x_ii = sum_j x_ij delta_ij."""
    inputs, output = equation.split("->")
    terms = inputs.split(",")
    operands = [_diagonals_taken(xp, a, term) for a, term in zip(operands, terms)]
    terms = ["".join(dict.fromkeys(term)) for term in terms]
    order = list(dict.fromkeys("".join(terms) + output))
    last_use = {label: i for i, term in enumerate(terms) for label in term}
    total = None
    for i, (a, term) in enumerate(zip(operands, terms)):
        present = sorted(term, key=order.index)
        a = xp.permute_dims(a, tuple(term.index(label) for label in present))
        a = xp.reshape(a, tuple(a.shape[present.index(label)] if label in term else 1 for label in order))
        total = a if total is None else total * a
        done = tuple(k for k, label in enumerate(order) if last_use.get(label) == i and label not in output)
        if done:
            total = xp.sum(total, axis=done, keepdims=True, dtype=total.dtype)
    kept = [label for label in order if label in output]   # the others are summed: size 1
    total = xp.reshape(total, tuple(total.shape[order.index(label)] for label in kept))
    return xp.permute_dims(total, tuple(kept.index(label) for label in output))


def _diagonals_taken(xp, a, term):
    """``a`` with each subscript repeated in ``term`` reduced to one axis (its diagonal), by
    multiplying with an identity and summing: the array API has no strided diagonal view."""
    seen = {}
    for axis, label in enumerate(term):
        if label in seen:
            first, n = seen[label], a.shape[axis]
            eye = xp.reshape(xp.eye(n, dtype=a.dtype),
                             tuple(n if k in (first, axis) else 1 for k in range(a.ndim)))
            a = xp.sum(a * eye, axis=axis, keepdims=True, dtype=a.dtype)
        else:
            seen[label] = axis
    keep = [axis for axis, label in enumerate(term) if term.index(label) == axis]
    return xp.reshape(a, tuple(a.shape[axis] for axis in keep))


def normalize_dims(dim, ndim):
    """``dim`` (None, int or sequence, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    out = []
    for d in dim:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
        if ndim:  # a 0-d tensor accepts dim 0 or -1, as PyTorch, and has no axis to reduce
            out.append(d % ndim)
    return tuple(sorted(set(out)))


def sum_to_axes(shape, target):
    """Which axes to sum (and which of those to keep) to reduce ``shape`` to ``target``."""
    lead = len(shape) - len(target)
    if lead < 0:
        raise RuntimeError(f"sum_to: can't reduce shape {tuple(shape)} to the larger {tuple(target)}")
    axes = tuple(range(lead))
    keep = tuple(lead + i for i, t in enumerate(target) if t == 1 and shape[lead + i] != 1)
    for i, t in enumerate(target):
        if t != 1 and shape[lead + i] != t:
            raise RuntimeError(f"sum_to: shape {tuple(shape)} is not broadcastable from {tuple(target)}")
    return axes, keep


class ArrayOps:
    """PyTorch-named operations on the raw arrays of one backend."""

    is_array_mode = True

    def __init__(self, xp):
        self.xp = xp
        self._scalar_ones = {}
        self._sum = xp.sum_floats  # gradients are floats: the fastest float sum of the backend

    def scalar_one(self, dtype):
        """A shared, read-only 0-d one: the seed gradient of ``loss.backward()``."""
        one = self._scalar_ones.get(dtype)
        if one is None:
            one = self.xp.ones((), dtype=dtype)
            if self.xp.name != "numpy":
                # other backends: a fresh one each time (CuPy arrays have flags, but no
                # writeable flag to set: they cannot be made read-only)
                return one
            one.flags.writeable = False  # NumPy: make sharing safe, any in-place write raises
            self._scalar_ones[dtype] = one
        return one

    # ---- broadcasting and reductions
    def sum_to(self, a, shape):
        """Sum ``a`` down to ``shape``: the one place where broadcasting is undone."""
        shape = tuple(shape)
        if tuple(a.shape) == shape:
            return a
        xp = self.xp
        lead = a.ndim - len(shape)
        if lead > 0 and tuple(a.shape[lead:]) == shape:  # the usual case: a bias's batch axes
            if lead == 1:
                if a.shape[0] == 1:
                    # a batch of one: the sum of one number is that number. A view, as
                    # shared as ``gy`` itself already is (Add hands the same array to both
                    # inputs); 0.14 instead of 0.9 us. (-0 stays -0; NumPy's and PyTorch's
                    # sums turn it into +0, the same value.)
                    return xp.reshape(a, shape)
                return self._sum(a, axis=0)
            return self._sum(a, axis=tuple(range(lead)))
        axes, keep = sum_to_axes(a.shape, shape)
        if keep:
            a = self._sum(a, axis=keep, keepdims=True)
        if axes:
            a = self._sum(a, axis=axes)
        return xp.reshape(a, shape)

    def sum(self, a, dim=None, keepdim=False):
        return self._sum(a, axis=None if dim is None else normalize_dims(dim, a.ndim), keepdims=keepdim)

    def mean(self, a, dim=None, keepdim=False):
        return self.xp.mean(a, axis=None if dim is None else normalize_dims(dim, a.ndim), keepdims=keepdim)

    def expand(self, a, shape):
        return self.xp.expand(a, tuple(shape))

    broadcast_to = expand

    # ---- shape
    def reshape(self, a, shape):
        return self.xp.reshape(a, tuple(shape))

    def transpose(self, a, dim0, dim1):
        axes = list(range(a.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.xp.permute_dims(a, tuple(axes))

    def permute(self, a, dims):
        return self.xp.permute_dims(a, tuple(dims))

    def unsqueeze(self, a, dim):
        return self.xp.expand_dims(a, axis=dim)

    def cat(self, arrays, dim=0):
        return self.xp.concat(list(arrays), axis=dim)

    # ---- arithmetic and elementwise
    def matmul(self, a, b):
        if a.ndim <= 2 and b.ndim <= 2:
            return self.xp.matmul2d(a, b)  # BLAS also for the batch-1 outer product
        return self.xp.matmul(a, b)

    def exp(self, a):
        return self.xp.exp(a)

    def log(self, a):
        return self.xp.log(a)

    def sqrt(self, a):
        return self.xp.sqrt(a)

    def tanh(self, a):
        return self.xp.tanh(a)

    def sin(self, a):
        return self.xp.sin(a)

    def cos(self, a):
        return self.xp.cos(a)

    def erf(self, a):
        return self.xp.erf(a)

    def sigmoid(self, a):
        return self.xp.sigmoid(a)

    def abs(self, a):
        return self.xp.abs(a)

    def sign(self, a):
        return self.xp.sign(a)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def flip(self, a, dims):
        return self.xp.flip(a, axis=tuple(dims))

    def cumsum(self, a, dim):
        return cumulative_sum(self.xp, a, dim)

    def cumprod(self, a, dim):
        return cumulative_prod(self.xp, a, dim)

    def einsum(self, equation, *operands):
        """Only the explicit, prepared equations that backward formulas write (see einsum_arrays)."""
        return einsum_arrays(self.xp, equation, operands)

    def zeros_like(self, a):
        return self.xp.zeros_like(a)

    def to_dtype(self, a, dtype):
        return self.xp.astype(a, dtype)

    def pad(self, a, pad, mode="constant", value=0.0):
        return pad_arrays(self.xp, a, pad, value)


def pad_arrays(xp, x, pad, value=0.0):
    """Constant-pad the last len(pad)//2 axes; ``pad`` is PyTorch's (left, right, top, bottom ...)."""
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    shape = tuple(s + a + b for s, (a, b) in zip(x.shape, widths))
    out = xp.full(shape, value, dtype=x.dtype)
    out[tuple(slice(a, a + s) for s, (a, _) in zip(x.shape, widths))] = x
    return out
