"""Arithmetic: + - * / **, matmul, the fused linear layer, and elementwise maths.

Each op is a :class:`~minigan.autograd.Function` whose ``forward`` works on raw arrays and
whose ``backward`` sits right below it (micrograd's habit). Operations with a Python number
(``t * 2.0``) have their own small functions: the number stays a Python scalar, so a float32
tensor stays float32 (NumPy 2 would promote to float64 for a NumPy float64 scalar; PyTorch
does not, and neither do we).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend as B
from .. import memory as _memory
from ..autograd import Function
from ..tensor import Tensor


# ----------------------------------------------------------------------------- operands
def as_scalar(v):
    """``v`` as a Python number if it is a scalar (Python, NumPy scalar, 0-d array), else None."""
    if isinstance(v, numbers.Number) and not isinstance(v, np.ndarray):
        return v.item() if isinstance(v, np.generic) else v
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    return None


def as_tensor_operand(v, like: Tensor, op: str) -> Tensor:
    """Turn a non-scalar operand (list, NumPy/CuPy array) into a constant Tensor beside ``like``."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (list, tuple)):
        from ..tensor import tensor
        return tensor(v, dtype=like.dtype, device=like.device)
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        backend = B.backend_of_array(v)
        return Tensor._wrap(v, backend)
    raise TypeError(f"{op}: unsupported operand type {type(v).__name__}")


def promote(a: Tensor, b: Tensor, op: str):
    """PyTorch's promotion for two tensors: a 0-d tensor does not widen a sized one."""
    if a.backend is not b.backend:
        raise RuntimeError(f"{op}: expected all tensors on the same device, got {a.device} and {b.device}")
    if a.data.dtype == b.data.dtype:  # the common case; both arrays are of one library
        return a, b
    da, db = a.dtype, b.dtype
    fa, fb = da in B.FLOAT_DTYPES, db in B.FLOAT_DTYPES
    if fa and fb:
        if a.ndim == 0 and b.ndim > 0:
            return to_dtype(a, db), b
        if b.ndim == 0 and a.ndim > 0:
            return a, to_dtype(b, da)
        return (to_dtype(a, B.float64), b) if db == B.float64 else (a, to_dtype(b, B.float64))
    if fa:
        return a, to_dtype(b, da)
    if fb:
        return to_dtype(a, db), b
    wide = np.promote_types(da, db)
    return to_dtype(a, wide), to_dtype(b, wide)


def broadcast_error(a: Tensor, b: Tensor, op: str):
    """The error for two shapes that do not broadcast (naming the op), or None if they do."""
    sa, sb = a.data.shape, b.data.shape
    if sa == sb:
        return None
    for x, y in zip(reversed(sa), reversed(sb)):
        if x != y and x != 1 and y != 1:
            return RuntimeError(f"{op}: shapes {tuple(sa)} and {tuple(sb)} are not broadcastable")
    return None


def check_broadcast(a: Tensor, b: Tensor, op: str):
    error = broadcast_error(a, b, op)
    if error is not None:
        raise error


def _binary(a, b, op, TensorFn, ScalarFn, RScalarFn):
    """Dispatch ``a op b`` to the tensor-tensor or tensor-scalar function."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype is b.data.dtype
            and a.backend is b.backend and op != "div"):
        # the usual case, two tensors of one dtype on one device (``x @ W + b``), has nothing
        # to convert or promote: it skips this (0.2 us a call, a tenth of a batch-1 add)
        if isinstance(a, Tensor):
            c = None if isinstance(b, Tensor) else as_scalar(b)
            if c is not None:
                return ScalarFn(c)(_floating_for(a, c, op))
            b = as_tensor_operand(b, a, op)
        else:
            c = as_scalar(a)
            if c is not None:
                return RScalarFn(c)(_floating_for(b, c, op))
            a = as_tensor_operand(a, b, op)
        a, b = promote(a, b, op)
        if op == "div" and a.dtype not in B.FLOAT_DTYPES:  # true division of integers, as torch
            a, b = to_dtype(a, B.get_default_dtype()), to_dtype(b, B.get_default_dtype())
    try:
        return TensorFn()(a, b)
    except Exception:
        # shapes that do not broadcast are checked only once the array library has refused
        # them (the check costs 0.3 us on every call with two shapes), then named by op
        error = broadcast_error(a, b, op)
        if error is None:
            raise
    raise error


def as_floating(t):
    """An integer or bool tensor becomes the default float dtype before a float function
    (exp, log, sqrt, erf, sigmoid, tanh), as in PyTorch (NumPy would give float64)."""
    if isinstance(t, Tensor):
        d = t.data.dtype  # NumPy's and CuPy's own dtypes are minigan's: no ``t.dtype`` lookup
        if d is not B.float32 and d is not B.float64 and t.dtype not in B.FLOAT_DTYPES:
            return to_dtype(t, B.get_default_dtype())
    return t


def _floating_for(t, c, op):
    """An integer tensor meeting a Python float (or dividing) becomes the default float dtype,
    as in PyTorch (NumPy would give float64)."""
    return as_floating(t) if type(c) is float or op == "div" else t


# ----------------------------------------------------------------------------- dtype and device
class ToDtype(Function):
    """A cast; the gradient is cast back centrally by the graph walk."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return self.xp.astype(x, self.dtype)

    def backward(self, F, gy):
        return gy

    @property
    def differentiable(self):
        return self.dtype in B.FLOAT_DTYPES


def to_dtype(x: Tensor, dtype) -> Tensor:
    dtype = B.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return ToDtype(dtype)(x)


class ToDevice(Function):
    """A copy to another device; the gradient is copied back."""

    def __init__(self, target):
        self.target = self.output_backend = target

    def __call__(self, x):
        out = super().__call__(x)
        if out.backend is not self.target:
            # Function.__call__ wraps an output on its inputs' device (and, while memory is
            # counted, charges its bytes there): move both to the device the copy is on
            out.backend = self.target
            if out._mem is not None:
                _memory.release(out._mem)
                out._mem = _memory.charge(out.data, self.target)
        return out

    def forward(self, x):
        self.source_xp = self.xp
        return self.target.xp.from_numpy(self.xp.to_numpy(x))

    def backward(self, F, gy):
        if F.is_array_mode:
            return self.source_xp.from_numpy(self.target.xp.to_numpy(gy))
        return to_device(gy, self.inputs[0].device)


def to_device(x: Tensor, dev) -> Tensor:
    target = B.get_backend(dev)
    if target is x.backend:
        return x
    return ToDevice(target)(x)


# ----------------------------------------------------------------------------- + - * /
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, F, gy):
        return gy, gy


class AddScalar(Function):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, F, gy):
        return gy


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, F, gy):
        return gy, -gy


class SubScalar(Function):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x - self.c

    def backward(self, F, gy):
        return gy


class RSubScalar(Function):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c - x

    def backward(self, F, gy):
        return -gy


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, F, gy):
        a, b = self.input(F, 0), self.input(F, 1)
        need_a, need_b = self.needs_input_grad
        return (gy * b if need_a else None), (gy * a if need_b else None)


class MulScalar(Function):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x * self.c

    def backward(self, F, gy):
        return gy * self.c


class Div(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, F, gy):
        a, b = self.input(F, 0), self.input(F, 1)
        ga = gy / b
        return ga, (-ga * a / b if self.needs_input_grad[1] else None)


class DivScalar(Function):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x / self.c

    def backward(self, F, gy):
        return gy / self.c


class RDivScalar(Function):
    """c / x."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c / x

    def backward(self, F, gy):
        return -gy * self.output(F) / self.input(F, 0)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, F, gy):
        return -gy


def add(input, other, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(input, other, "add", Add, AddScalar, AddScalar)


def sub(input, other, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(input, other, "sub", Sub, SubScalar, RSubScalar)


def rsub(input, other):
    return sub(other, input)


def mul(input, other):
    return _binary(input, other, "mul", Mul, MulScalar, MulScalar)


def div(input, other):
    return _binary(input, other, "div", Div, DivScalar, RDivScalar)


def rdiv(input, other):
    return div(other, input)


def neg(input):
    return Neg()(input)


# ----------------------------------------------------------------------------- powers
class Pow(Function):
    """a ** b with a tensor exponent."""

    def forward(self, a, b):
        return self.xp.pow(a, b)

    def backward(self, F, gy):
        a, b = self.input(F, 0), self.input(F, 1)
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = gy * self.output(F) * F.log(a) if self.needs_input_grad[1] else None
        return ga, gb


class PowScalar(Function):
    """x ** c."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        if self.c == 2:
            return x * x
        return x ** self.c

    def backward(self, F, gy):
        x, c = self.input(F, 0), self.c
        if c == 0:  # x ** 0 == 1; its derivative 0 * x ** -1 would divide by zero at x = 0
            return gy * 0.0
        if c == 1:
            return gy
        if c == 2:
            return gy * x * 2.0
        return gy * c * x ** (c - 1)


class RPowScalar(Function):
    """c ** x."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c ** x

    def backward(self, F, gy):
        return gy * self.output(F) * float(np.log(self.c))


def pow(input, exponent):
    return _binary(input, exponent, "pow", Pow, PowScalar, RPowScalar)


# ----------------------------------------------------------------------------- matmul and linear
def _matmul_arrays(xp, a, b):
    if a.ndim <= 2 and b.ndim <= 2:
        return xp.matmul2d(a, b)  # np.dot: BLAS for every 2-D case (BASELINES.md section 4)
    return xp.matmul(a, b)


class MatMul(Function):
    """``a @ b`` with PyTorch's rules: 1-d operands, batched operands that broadcast."""

    def forward(self, a, b):
        if a.ndim <= 2 and b.ndim <= 2:  # _matmul_arrays, inline: a call saved on every product
            return self.xp.matmul2d(a, b)
        return self.xp.matmul(a, b)

    def backward(self, F, gy):
        a, b = self.inputs
        if F.is_array_mode:  # self.input(F, i), inline
            a, b = a.data, b.data
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, in a few calls
            return (F.matmul(gy, b.T) if need_a else None), (F.matmul(a.T, gy) if need_b else None)
        a2 = F.reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
        b2 = F.reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
        g = gy
        if a.ndim == 1 and b.ndim == 1:
            g = F.reshape(gy, (1, 1))
        elif a.ndim == 1:
            g = F.unsqueeze(gy, -2)
        elif b.ndim == 1:
            g = F.unsqueeze(gy, -1)
        ga = gb = None
        if need_a:
            ga = F.matmul(g, F.transpose(b2, -1, -2))
            ga = F.sum_to(ga, a2.shape) if ga.ndim > a2.ndim else ga
            ga = F.reshape(ga, a.shape) if a.ndim == 1 else ga
        if need_b:
            gb = F.matmul(F.transpose(a2, -1, -2), g)
            gb = F.sum_to(gb, b2.shape) if gb.ndim > b2.ndim else gb
            gb = F.reshape(gb, b.shape) if b.ndim == 1 else gb
        return ga, gb


def matmul(input, other):
    if isinstance(input, Tensor) and isinstance(other, Tensor):  # the common 2-D case, checked briefly
        a, b = input.data, other.data
        if (input.backend is other.backend and a.ndim == 2 and b.ndim == 2
                and a.shape[1] == b.shape[0] and a.dtype == b.dtype):
            return MatMul()(input, other)
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        ref = input if isinstance(input, Tensor) else other
        input, other = as_tensor_operand(input, ref, "matmul"), as_tensor_operand(other, ref, "matmul")
    sa, sb = input.data.shape, other.data.shape
    if not sa or not sb:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}")
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise RuntimeError(f"matmul: shapes {sa} and {sb} cannot be multiplied ({k_a} != {k_b})")
    for x, y in zip(reversed(sa[:-2]), reversed(sb[:-2])):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"matmul: shapes {sa} and {sb} have batch dimensions that do not broadcast")
    input, other = promote(input, other, "matmul")
    return MatMul()(input, other)


def mm(input, mat2):
    """``torch.mm``: a matrix product of two 2-d tensors (no broadcasting, no vectors)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices (2-d), got shapes "
                           f"{tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input, mat2):
    """``torch.bmm``: products of two stacks of matrices, (b, n, k) @ (b, k, m) -> (b, n, m),
    with equal batch sizes (no broadcasting)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: expected two 3-d tensors with the same batch size, got shapes "
                           f"{tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def mv(input, vec):
    """``torch.mv``: a matrix times a vector, (n, m) @ (m,) -> (n,)."""
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: expected a matrix (n, m) and a vector (m,), got shapes "
                           f"{tuple(input.shape)} and {tuple(vec.shape)}")
    return matmul(input, vec)


def dot(input, other):
    """``torch.dot``: the inner product of two vectors of one length (no broadcasting)."""
    if input.ndim != 1 or other.ndim != 1 or input.shape != other.shape:
        raise RuntimeError(f"dot: expected two 1-d tensors of the same length, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}")
    return matmul(input, other)


def lerp(input, end, weight):
    """``torch.lerp``: ``input + weight * (end - input)``, computed as PyTorch does: from the
    nearer end, ``end - (end - input) * (1 - weight)`` where ``|weight| >= 0.5``, so that weight
    1 gives ``end`` exactly. ``weight`` is a number or a tensor (broadcast with both ends).
    The average of an EMA or SWA model (:mod:`minigan.optim.swa_utils`) is one ``lerp_``."""
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp: end must be a Tensor, got {type(end).__name__}")
    diff = end - input
    if not isinstance(weight, Tensor):
        weight = float(weight)
        return input + weight * diff if -0.5 < weight < 0.5 else end - diff * (1.0 - weight)
    near_input = abs(weight) < 0.5
    return where(near_input, input + weight * diff, end - diff * (1.0 - weight))


class Linear(Function):
    """Fused ``x @ W.T + b`` (book's ``nn.Linear``): one node, hand-derived backward.

    Shapes: x (..., IN), W (OUT, IN), b (OUT,) -> y (..., OUT). The book feeds 1-d samples
    (no batch dimension), so x is often just (IN,).
    """

    def forward(self, x, W, b=None):
        y = self.xp.matmul2d(x, W.T) if x.ndim <= 2 else self.xp.matmul(x, W.T)
        if b is not None:
            y += b
        return y

    def backward_arrays(self, gy):
        xp = self.xp
        x, W = self.inputs[0].data, self.inputs[1].data
        n_in, n_out = W.shape[1], W.shape[0]
        gx = gW = gb = None
        if self.needs_input_grad[0]:
            gx = _matmul_arrays(xp, gy, W) if gy.ndim <= 2 else xp.matmul(gy, W)
        gy2 = xp.reshape(gy, (-1, n_out))
        if self.needs_input_grad[1]:
            # (OUT, N) @ (N, IN); at N = 1 this is an outer product, so np.dot, never `@`
            gW = xp.matmul2d(xp.permute_dims(gy2, (1, 0)), xp.reshape(x, (-1, n_in)))
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy if gy.ndim == 1 else xp.sum(gy2, axis=0)
        return gx, gW, gb

    def composite(self, F, x, W, b=None):
        y = F.matmul(x, F.transpose(W, 0, 1))
        return y if b is None else y + b


def linear(input, weight, bias=None):
    """``F.linear``: y = x W^T + b."""
    if input.shape[-1:] != weight.shape[1:2] or weight.ndim != 2:
        raise RuntimeError(f"linear: input of shape {input.shape} does not fit a weight of shape "
                           f"{weight.shape} (expected input (..., {weight.shape[-1]}))")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise RuntimeError(f"linear: bias of shape {bias.shape} for a weight of shape {weight.shape}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear: input is {input.dtype.name} but the weight is {weight.dtype.name}")
    return Linear()(input, weight) if bias is None else Linear()(input, weight, bias)


# ----------------------------------------------------------------------------- elementwise maths
class Exp(Function):
    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, F, gy):
        return gy * self.output(F)


class Log(Function):
    def forward(self, x):
        return self.xp.log(x)

    def backward(self, F, gy):
        return gy / self.input(F, 0)


class Sqrt(Function):
    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, F, gy):
        return gy * 0.5 / self.output(F)


class Abs(Function):
    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, F, gy):
        return gy * F.sign(self.input(F, 0))


class Sign(Function):
    differentiable = False

    def forward(self, x):
        return self.xp.sign(x)


class Erf(Function):
    def forward(self, x):
        return self.xp.erf(x)

    def backward(self, F, gy):
        x = self.input(F, 0)
        return gy * 1.1283791670955126 * F.exp(-(x * x))


class Clamp(Function):
    """Gradient 1 where min <= x <= max (inclusive, as PyTorch), else 0."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return self.xp.clip(x, self.lo, self.hi)

    def backward(self, F, gy):
        x = self.input(F, 0)
        inside = None
        if self.lo is not None:
            inside = x >= self.lo
        if self.hi is not None:
            upper = x <= self.hi
            inside = upper if inside is None else inside & upper
        return F.where(inside, gy, 0.0)


class Maximum(Function):
    """Ties split the gradient evenly between both inputs, as PyTorch does."""

    def forward(self, a, b):
        return self.xp.maximum(a, b)

    def backward(self, F, gy):
        a, b = self.input(F, 0), self.input(F, 1)
        half = gy * 0.5
        ga = F.where(a > b, gy, F.where(a == b, half, 0.0))
        gb = F.where(b > a, gy, F.where(a == b, half, 0.0))
        return ga, gb


class Minimum(Function):
    def forward(self, a, b):
        return self.xp.minimum(a, b)

    def backward(self, F, gy):
        a, b = self.input(F, 0), self.input(F, 1)
        half = gy * 0.5
        ga = F.where(a < b, gy, F.where(a == b, half, 0.0))
        gb = F.where(b < a, gy, F.where(a == b, half, 0.0))
        return ga, gb


class Where(Function):
    """where(cond, a, b); ``cond`` is a bool tensor and gets no gradient."""

    def forward(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def backward(self, F, gy):
        cond = self.input(F, 0)
        ga = F.where(cond, gy, 0.0) if self.needs_input_grad[1] else None
        gb = F.where(cond, 0.0, gy) if self.needs_input_grad[2] else None
        return None, ga, gb


def exp(input):
    return Exp()(as_floating(input))


def log(input):
    return Log()(as_floating(input))


def sqrt(input):
    return Sqrt()(as_floating(input))


def abs(input):  # noqa: A001 - PyTorch's name
    return Abs()(input)


def sign(input):
    return Sign()(input)


def erf(input):
    return Erf()(as_floating(input))


def square(input):
    return PowScalar(2)(input)


def clamp(input, min=None, max=None):  # noqa: A002 - PyTorch's names
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    lo = as_scalar(min) if min is not None else None
    hi = as_scalar(max) if max is not None else None
    return Clamp(lo, hi)(input)


clip = clamp


def _binary_tensors(a, b, op):
    ref = a if isinstance(a, Tensor) else b
    a, b = as_tensor_operand(a, ref, op), as_tensor_operand(b, ref, op)
    a, b = promote(a, b, op)
    check_broadcast(a, b, op)
    return a, b


def _full_like_operand(v, ref):
    c = as_scalar(v)
    if c is None:
        return v
    return Tensor._wrap(ref.backend.xp.full((), c, dtype=ref.dtype), ref.backend)


def maximum(input, other):
    other = _full_like_operand(other, input)
    return Maximum()(*_binary_tensors(input, other, "maximum"))


def minimum(input, other):
    other = _full_like_operand(other, input)
    return Minimum()(*_binary_tensors(input, other, "minimum"))


def clamp_min(input, min):  # noqa: A002 - PyTorch's name
    """``torch.clamp_min``: ``clamp(input, min=min)``."""
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002 - PyTorch's name
    """``torch.clamp_max``: ``clamp(input, max=max)``."""
    return clamp(input, max=max)


def where(condition, input, other):
    """``where(cond, a, b)``: a where cond is true, else b. a or b may be Python numbers."""
    ref = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else condition
    if not isinstance(condition, Tensor):
        condition = as_tensor_operand(condition, ref, "where")
    if condition.dtype != B.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {condition.dtype.name}")
    like = ref if ref is not condition else None
    if like is None:  # both branches are numbers
        from ..tensor import tensor
        like = tensor(0.0, device=condition.device)
    a = _full_like_operand(input, like) if not isinstance(input, Tensor) else input
    b = _full_like_operand(other, like) if not isinstance(other, Tensor) else other
    a, b = _binary_tensors(a, b, "where")
    for t in (a, b):
        check_broadcast(condition, t, "where")
    return Where()(condition, a, b)


# ----------------------------------------------------------------------------- comparisons (no grad)
class Compare(Function):
    differentiable = False

    def __init__(self, op):
        self.op = op

    def forward(self, a, b):
        return self.op(a, b)


class CompareScalar(Function):
    differentiable = False

    def __init__(self, op, c):
        self.op, self.c = op, c

    def forward(self, x):
        return self.op(x, self.c)


def compare(a, b, op, name):
    import operator
    fn = getattr(operator, name)
    if not isinstance(b, Tensor):
        c = as_scalar(b)
        if c is not None:
            return CompareScalar(fn, c)(a)
        b = as_tensor_operand(b, a, name)
    a, b = promote(a, b, name)
    check_broadcast(a, b, name)
    return Compare(fn)(a, b)


def eq(a, b):
    return compare(a, b, None, "eq")


def ne(a, b):
    return compare(a, b, None, "ne")


def lt(a, b):
    return compare(a, b, None, "lt")


def le(a, b):
    return compare(a, b, None, "le")


def gt(a, b):
    return compare(a, b, None, "gt")


def ge(a, b):
    return compare(a, b, None, "ge")


class LogicalAnd(Function):
    differentiable = False

    def forward(self, a, b):
        return self.xp.logical_and(a, b)


def logical_and(a, b):
    return LogicalAnd()(a, b)


class LogicalOr(Function):
    differentiable = False

    def forward(self, a, b):
        return self.xp.logical_or(a, b)


class LogicalXor(Function):
    differentiable = False

    def forward(self, a, b):
        return self.xp.logical_xor(a, b)


class LogicalNot(Function):
    differentiable = False

    def forward(self, a):
        return self.xp.logical_not(a)


def logical_or(a, b):
    return LogicalOr()(a, b)


def logical_xor(a, b):
    return LogicalXor()(a, b)


def logical_not(a):
    return LogicalNot()(a)
