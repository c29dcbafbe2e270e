"""Contractions: einsum, tensordot, the diagonals (trace, diagonal, diag, diag_embed) and
PyTorch's "add a product" ops (addmm, baddbmm, addmv).

Einstein summation
------------------
An equation such as ``"bij,bjk->bik"`` names each axis of each operand with a subscript (a
letter). The result at one value of the output's subscripts o is the sum, over every other
subscript, of the product of the operands' entries::

    out[o] = sum over the subscripts not in o of  prod_k A_k[subscripts of A_k]

so ``"ij,jk->ik"`` is a matrix product, ``"ii->"`` a trace, ``"i,j->ij"`` an outer product.
PyTorch's rules (``torch.einsum``), which this follows: ``...`` stands for the axes no letter
names, broadcast across the operands from the right; without ``->`` the output is the ``...``
axes, then the letters that occur exactly once, in alphabetical order (A-Z before a-z); a
letter may repeat within one operand (a diagonal) but not in the output; an axis of size 1
broadcasts against its letter's size elsewhere. Operands must share one dtype.

The gradient is again an einsum. ``out`` is linear in each operand, so for operand A::

    dL/dA[a] = sum over the other subscripts of  gy[o] * prod_{k != A} A_k[...]
             = einsum("o,<the others' subscripts>->a", gy, *the other operands)

Two things an einsum cannot write, handled here:

* a subscript repeated in A (``ii``): A_ii = sum_j A_ij delta_ij, so the gradient is taken for
  the ``ij`` form with the identity delta_ij as one more operand: it lands on the diagonal;
* a subscript that only A has and that is summed away (j in ``"ij->i"``): out does not depend
  on the position along j, so the gradient is computed without j and broadcast along it.

The gradient is written with ``F.einsum`` (see autograd.py), so it is differentiable in turn:
``create_graph=True`` gives second derivatives.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..array_ops import einsum_arrays, normalize_dims
from ..autograd import Function
from ..tensor import Tensor

# PyTorch's 52 subscripts, in its order (written out: importing ``string`` for them cost 2 ms of
# ``import minigan``, its Template class compiling a pattern)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ELLIPSIS = "..."


# ----------------------------------------------------------------------------- einsum
class Einsum(Function):
    """An explicit, prepared equation (every subscript one size; see :func:`einsum`), forward
    by the backend's einsum; each operand's gradient an einsum of gy and the other operands."""

    def __init__(self, terms, output, sizes):
        self.terms, self.out_labels, self.sizes = terms, output, sizes
        self.equation = ",".join(terms) + "->" + output

    def forward(self, *operands):
        return einsum_arrays(self.xp, self.equation, operands)

    def backward(self, F, gy):
        operands = [x.data if F.is_array_mode else x for x in self.inputs]
        return tuple(self._operand_grad(F, gy, operands, i) if wanted else None
                     for i, wanted in enumerate(self.needs_input_grad))

    def _operand_grad(self, F, gy, operands, i):
        sizes = dict(self.sizes)
        spare = (c for c in LETTERS if c not in sizes)
        labels, deltas = [], []            # deltas: (subscripts, identity) pairs
        for label in self.terms[i]:
            if label in labels:            # repeated: A_ii = sum_j A_ij delta_ij
                fresh = next(spare)
                sizes[fresh] = sizes[label]
                deltas.append((label + fresh, self._identity(F, sizes[label], gy)))
                label = fresh
            labels.append(label)
        others = [k for k in range(len(self.terms)) if k != i]
        terms = [self.out_labels] + [self.terms[k] for k in others] + [d for d, _ in deltas]
        known = set("".join(terms))
        wanted = "".join(label for label in labels if label in known)
        g = F.einsum(",".join(terms) + "->" + wanted, gy, *[operands[k] for k in others],
                     *[eye for _, eye in deltas])
        if len(wanted) < len(labels):      # subscripts only A had, summed away: broadcast along them
            g = F.reshape(g, tuple(sizes[label] if label in known else 1 for label in labels))
            g = F.expand(g, tuple(sizes[label] for label in labels))
        return g

    def _identity(self, F, n, like):
        """The n x n identity in ``like``'s dtype, an array or a constant Tensor as F wants."""
        dtype = like.dtype if F.is_array_mode else like.data.dtype
        eye = self.xp.eye(n, dtype=dtype)
        return eye if F.is_array_mode else Tensor._wrap(eye, like.backend)


def einsum(*args):
    """``torch.einsum(equation, *operands)``: Einstein summation (module docstring), also as
    ``einsum(equation, [a, b])`` and in the sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    ``einsum("bij,bjk->bik", a, b)`` is a batched matrix product, ``einsum("ii", m)`` a trace,
    ``einsum("...ij->...ji", x)`` a transpose of the last two axes of any batch.
    """
    if args and not isinstance(args[0], str):
        equation, operands = _from_sublists(args)
    else:
        equation, operands = (args[0] if args else ""), args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): expected Tensor as operand {i}, but got {type(t).__name__}")
    terms, output, sizes = _parse(equation, operands)
    operands = [t if tuple(t.shape) == tuple(sizes[c] for c in term)
                else t.expand(tuple(sizes[c] for c in term))       # size-1 axes broadcast
                for t, term in zip(operands, terms)]
    dtype, summed = operands[0].dtype, len(sizes) > len(output)
    if dtype == B.bool_ or (summed and len(operands) == 1 and dtype not in B.FLOAT_DTYPES):
        # PyTorch sums a lone operand with sum(), which counts integers and bools as int64;
        # bools are computed as 0/1 integers (NumPy would sum them with "or"; PyTorch refuses
        # to sum over several bool operands, here they count)
        out = Einsum(terms, output, sizes)(*[t.to(B.int64) for t in operands])
        return out if summed else out.to(B.bool_)
    return Einsum(terms, output, sizes)(*operands)


def _from_sublists(args):
    """PyTorch's sublist form: operands each followed by a list of subscripts (ints in [0, 52),
    ``...`` as Ellipsis), then optionally the output's list; as an equation string."""
    def letters(sublist):
        out = []
        for s in sublist:
            if s is Ellipsis:
                out.append(ELLIPSIS)
            elif isinstance(s, int) and 0 <= s < len(LETTERS):
                out.append(LETTERS[s])
            else:
                raise ValueError("einsum(): subscript in subscript list is not within the valid "
                                 "range [0, 52)")
        return "".join(out)
    pairs = args[:len(args) - len(args) % 2]
    equation = ",".join(letters(sub) for sub in pairs[1::2])
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, pairs[0::2]


def _parse(equation, operands):
    """The subscripts of each operand and of the output (``...`` replaced by letters the
    equation does not use), and each subscript's size; PyTorch's checks and error texts (one
    dtype for all operands included)."""
    shapes = ", ".join(str(tuple(t.shape)) for t in operands)

    def fail(message):
        raise RuntimeError(f"einsum(): {message} (equation {equation!r}, operand shapes {shapes})")

    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    terms, start = [], 0
    for i, text in enumerate(lhs.split(",")):
        terms.append(_subscripts(text, start, i, fail))
        start += len(text) + 1
    if len(terms) != len(operands):
        fail(f"{'fewer' if len(operands) < len(terms) else 'more'} operands were provided than "
             f"specified in the equation")
    output = None if arrow < 0 else _subscripts(equation[arrow + 2:], arrow + 2, None, fail)

    covered = []                       # how many axes each operand's "..." covers
    for i, (term, t) in enumerate(zip(terms, operands)):
        if t.dtype != operands[0].dtype:
            fail(f"expected scalar type {operands[0].dtype.name} but found {t.dtype.name} for "
                 f"operand {i} (einsum does not promote, as PyTorch)")
        named = len(term) - (ELLIPSIS in term)
        if ELLIPSIS not in term and named != t.ndim:
            fail(f"the number of subscripts in the equation ({named}) does not match the number "
                 f"of dimensions ({t.ndim}) for operand {i} and no ellipsis was given")
        if named > t.ndim:
            fail(f"the number of subscripts in the equation ({named}) is more than the number of "
                 f"dimensions ({t.ndim}) for operand {i}")
        covered.append(t.ndim - named)
    used = {c for term in terms for c in term if c != ELLIPSIS}
    for c in output or ():
        if c != ELLIPSIS and c not in used:
            fail(f"output subscript {c} does not appear in the equation for any input operand")
        if c != ELLIPSIS and output.count(c) > 1:
            fail(f"output subscript {c} appears more than once in the output")
    spare = [c for c in LETTERS if c not in used]
    if max(covered) > len(spare):
        fail(f"'...' covers {max(covered)} dimensions, but only {len(spare)} of the 52 subscripts "
             f"are left to name them")
    ellipsis = "".join(spare[:max(covered)])
    terms = ["".join(ellipsis[len(ellipsis) - n:] if c == ELLIPSIS else c for c in term)
             for term, n in zip(terms, covered)]
    if output is None:                 # implicit: "...", then the letters that occur once
        flat = "".join(terms)
        output = ellipsis + "".join(sorted(c for c in used if flat.count(c) == 1))
    else:
        output = "".join(ellipsis if c == ELLIPSIS else c for c in output)
    return terms, output, _sizes(terms, operands, ellipsis, covered, fail)


def _subscripts(text, start, operand, fail):
    """One operand's (or, ``operand=None``, the output's) subscripts: letters and ``...``."""
    who = "output" if operand is None else f"operand {operand}"
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == ".":
            if ELLIPSIS in out:
                fail("found '.' for output but an ellipsis (...) was already found" if operand is None
                     else f"found '.' for {who} for which an ellipsis was already found")
            if text[i:i + 3] != ELLIPSIS:
                fail(f"found '.' for {who} that is not part of any ellipsis"
                     + (" (...)" if operand is None else ""))
            out.append(ELLIPSIS)
            i += 3
            continue
        if c in LETTERS:
            out.append(c)
        elif c != " ":
            fail(f"invalid subscript given at index {start + i} in the equation string, "
                 f"subscripts must be in [a-zA-Z]")
        i += 1
    return out


def _sizes(terms, operands, ellipsis, covered, fail):
    """Each subscript's size: one size per subscript within an operand; across operands, a
    size of 1 broadcasts against any other."""
    sizes = {}
    for i, (term, t) in enumerate(zip(terms, operands)):
        here = {}
        for c, n in zip(term, t.shape):
            if c in here:
                if n != here[c]:
                    fail(f"subscript {c} is repeated for operand {i} but the sizes don't match, "
                         f"{n} != {here[c]}")
                continue
            here[c] = n
            seen = sizes.get(c)
            if seen is None or seen == 1:
                sizes[c] = n
            elif n not in (1, seen):
                if c in ellipsis:
                    axis = ellipsis.index(c) - (len(ellipsis) - covered[i])
                    fail(f"dimension {axis} covered by ellipsis in operand {i} has size {n} which "
                         f"does not broadcast with previously seen ellipsis with size {seen} for "
                         f"the respective dimension")
                fail(f"subscript {c} has size {n} for operand {i} which does not broadcast with "
                     f"previously seen size {seen}")
    return sizes


# ----------------------------------------------------------------------------- tensordot
def tensordot(a, b, dims=2):
    """``torch.tensordot``: the sum over the axes ``dims[0]`` of a paired with ``dims[1]`` of b;
    the output has a's other axes, then b's. ``dims=n`` pairs a's last n axes with b's first n.
    Composed as permute, reshape and one matrix product (a BLAS call on every backend)."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = [d - dims for d in range(dims)], list(range(dims))
    else:
        dims_a, dims_b = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    ca, cb = _axes(dims_a, a.ndim), _axes(dims_b, b.ndim)
    for da, db, i, j in zip(dims_a, dims_b, ca, cb):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} "
                               f"in dim {da} and second has size {b.shape[j]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in ca]
    free_b = [d for d in range(b.ndim) if d not in cb]
    k = math.prod(a.shape[d] for d in ca)
    a2 = a.permute(free_a + ca).reshape(math.prod(a.shape[d] for d in free_a), k)
    b2 = b.permute(cb + free_b).reshape(k, math.prod(b.shape[d] for d in free_b))
    return (a2 @ b2).reshape(tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def _axes(dims, ndim):
    """``dims`` as non-negative axes, in their order (IndexError out of range, as PyTorch)."""
    axes = [normalize_dims(d, ndim)[0] for d in dims]
    for d, axis in zip(dims, axes):
        if axes.count(axis) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return axes


# ----------------------------------------------------------------------------- diagonals
def diagonal(input, offset=0, dim1=0, dim2=1):
    """``torch.diagonal``: the entries (i, i + offset) of the planes spanned by dim1 and dim2,
    as a new last axis (offset > 0 above the main diagonal, < 0 below). The square block that
    holds them is cut out, then ``einsum("...ii->...i")`` (a strided view on NumPy)."""
    n = input.ndim
    d1, d2 = (normalize_dims(d, n)[0] for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input.permute([d for d in range(n) if d not in (d1, d2)] + [d1, d2])
    rows, cols = x.shape[-2:]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    # the block's first row and column, kept within the axes (the array API refuses a slice
    # that starts past the end)
    r0, c0 = (0, min(offset, cols)) if offset >= 0 else (min(-offset, rows), 0)
    return einsum("...ii->...i", x[..., r0:r0 + length, c0:c0 + length])


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """``torch.diag_embed``: each vector along the last axis laid on the ``offset`` diagonal of
    a square matrix (zeros elsewhere) in the output's axes dim1 and dim2."""
    from .arithmetic import where
    from .shape import pad
    n = input.ndim + 1
    d1, d2 = (normalize_dims(d, n)[0] for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    m, k = input.shape[-1], abs(offset)
    eye = Tensor._wrap(input.backend.xp.eye(m, dtype=B.bool_), input.backend)
    square = where(eye, input.unsqueeze(-1), 0)                        # (..., m, m)
    square = pad(square, (k, 0, 0, k) if offset >= 0 else (0, k, k, 0)) if k else square
    rest = iter(range(n - 2))                                           # the batch axes, in order
    return square.permute([n - 2 if d == d1 else n - 1 if d == d2 else next(rest) for d in range(n)])


def diag(input, diagonal=0):
    """``torch.diag``: a vector -> the square matrix with it on the ``diagonal``-th diagonal; a
    matrix -> its ``diagonal``-th diagonal, as a vector."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return input.diagonal(diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def trace(input):
    """``torch.trace``: the sum of a matrix's main diagonal (integers sum as int64)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input.dtype not in B.FLOAT_DTYPES:
        input = input.to(B.int64)
    side = min(input.shape)
    return einsum("ii->", input[:side, :side])


# ----------------------------------------------------------------------------- add a product
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``torch.addmm``: beta * input + alpha * (mat1 @ mat2), input broadcast to the product."""
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} "
                           f"and {mat2.shape[0]}x{mat2.shape[1]})")
    return _add_product("addmm", input, mat1, mat2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``torch.baddbmm``: beta * input + alpha * (batch1 @ batch2), a batch of products."""
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    want = [batch1.shape[0], batch1.shape[2]]
    if list(batch2.shape[:2]) != want:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: {want} "
                           f"but got: {list(batch2.shape[:2])}.")
    return _add_product("baddbmm", input, batch1, batch2, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``torch.addmv``: beta * input + alpha * (mat @ vec)."""
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0] or input.numel() not in (1, mat.shape[0]):
        raise RuntimeError(f"size mismatch, got input ({input.numel()}), "
                           f"mat ({mat.shape[0]}x{mat.shape[1]}), vec ({vec.shape[0]})")
    return _add_product("addmv", input, mat, vec, beta, alpha)


def _add_product(op, input, a, b, beta, alpha):
    """beta * input + alpha * (a @ b), composed. With beta = 0 PyTorch ignores input (NaN and
    inf in it do not propagate) yet gives it a zero gradient: masked_fill does both."""
    if not input.dtype == a.dtype == b.dtype:
        raise RuntimeError(f"{op}: expected input and both factors of one dtype, as PyTorch, got "
                           f"{input.dtype.name}, {a.dtype.name} and {b.dtype.name}")
    if a.dtype not in B.FLOAT_DTYPES:   # integers: PyTorch takes beta and alpha as integers too
        beta, alpha = int(beta), int(alpha)
    product = a @ b
    shape = tuple(product.shape)
    if input.ndim > len(shape) or any(s not in (1, n) for s, n in zip(input.shape[::-1], shape[::-1])):
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} does not broadcast to the "
                           f"product's shape {shape}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        true = Tensor._wrap(input.backend.xp.asarray(True), input.backend)
        return input.masked_fill(true, 0) + product
    return (input if beta == 1 else input * beta) + product
