"""Shape operations: reshape/view, permute/transpose, (un)squeeze, flatten, indexing, cat,
stack, pad, clone.

None of these change numbers, so each backward just routes the gradient back into the
input's layout. Indexing's backward places the gradient into zeros with *slice* assignment
only (and a one-hot product for integer-array indices), never fancy-index assignment or
``np.add.at``, which do not exist on every backend.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..array_ops import cumulative_sum, normalize_dims, pad_arrays
from ..autograd import Function
from ..tensor import Tensor, _from_host


# ----------------------------------------------------------------------------- reshape & co.
def _infer_shape(shape, numel, op):
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {list(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return self.xp.reshape(x, self.shape)

    def backward(self, F, gy):
        return F.reshape(gy, self.inputs[0].shape)


def reshape(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = _infer_shape(shape, input.numel(), "reshape")
    if shape == input.shape:
        return input
    return Reshape(shape)(input)


def view(input, *shape):
    """Same as reshape here: minigan arrays are always reshapeable."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return reshape(input, _infer_shape(shape, input.numel(), "view"))  # errors say "view"


def view_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, (1,))
    s, e = start_dim % input.ndim, end_dim % input.ndim
    shape = input.shape[:s] + (math.prod(input.shape[s:e + 1]),) + input.shape[e + 1:]
    return reshape(input, shape)


def unflatten(input, dim, sizes):
    d = dim % input.ndim
    return reshape(input, input.shape[:d] + tuple(sizes) + input.shape[d + 1:])


def squeeze(input, dim=None):
    if dim is None:
        shape = tuple(s for s in input.shape if s != 1)
    else:
        dims = normalize_dims(dim, input.ndim)  # IndexError for a dimension out of range
        shape = tuple(s for i, s in enumerate(input.shape) if not (i in dims and s == 1))
    return reshape(input, shape)


def unsqueeze(input, dim):
    n = input.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"unsqueeze: dimension {dim} out of range for a tensor of {input.ndim} dims")
    d = dim % n
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


class Permute(Function):
    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return self.xp.permute_dims(x, self.dims)

    def backward(self, F, gy):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return F.permute(gy, tuple(inverse))


def permute(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    n = input.ndim
    if len(dims) != n or sorted(d % max(n, 1) for d in dims) != list(range(n)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of the {n} dims of shape {input.shape}")
    dims = tuple(d % n for d in dims)
    if dims == tuple(range(n)):
        return input
    return Permute(dims)(input)


def transpose(input, dim0, dim1):
    n = input.ndim
    normalize_dims((dim0, dim1), n)  # IndexError for a dimension out of range, as PyTorch
    if n < 2 and input.ndim <= 1:
        return input
    dims = list(range(n))
    dims[dim0 % n], dims[dim1 % n] = dims[dim1 % n], dims[dim0 % n]
    return permute(input, tuple(dims))


def t(input):
    return transpose(input, 0, 1) if input.ndim == 2 else input


# ----------------------------------------------------------------------------- indexing
def _normalize_key(key, ndim):
    """Tensors inside an index become raw arrays; a lone key becomes a tuple that names every
    axis (``x[0]`` -> ``x[0, ...]``: the array API has no implicit trailing axes)."""
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if len(key) == 1 and getattr(key[0], "ndim", 0) and B.as_dtype(key[0].dtype) == B.bool_:
        return key  # a lone mask stays alone: the array API allows a mask only as the sole index
    if not any(k is Ellipsis for k in key) and sum(k is not None for k in key) < ndim:
        key = key + (Ellipsis,)
    return key


def _is_basic(k):
    return k is None or k is Ellipsis or isinstance(k, (int, slice))


class GetItem(Function):
    """``x[key]`` for basic keys (ints, slices, None, ...) and boolean masks."""

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        return x[self.key]

    def backward(self, F, gy):
        x = self.inputs[0]
        key = self.key
        if any(k is None for k in key):  # the array API allows no None in setitem: drop the
            key = tuple(k for k in key if k is not None)  # new axes from gy first
            new = _new_axis_positions(self.key, x.ndim)
            gy = F.reshape(gy, tuple(s for i, s in enumerate(gy.shape) if i not in new))
        return IndexBackward(key, x.shape)(gy) if not F.is_array_mode else \
            _scatter_into_zeros(x.backend.xp, gy, key, x.shape, x.data.dtype)


def _new_axis_positions(key, ndim):
    """The output axes that the None entries of a basic (or boolean-mask) ``key`` create."""
    def consumed(k):
        return 0 if k is None or k is Ellipsis else (k.ndim if getattr(k, "ndim", 0) else 1)
    rest = ndim - sum(consumed(k) for k in key)
    positions, axis = set(), 0
    for k in key:
        if k is None:
            positions.add(axis)
        if k is None or isinstance(k, slice) or getattr(k, "ndim", 0):
            axis += 1  # None, a slice and a mask each make one output axis; an int none
        elif k is Ellipsis:
            axis += rest
    return positions


def _scatter_into_zeros(xp, g, key, shape, dtype):
    out = xp.zeros(shape, dtype=dtype)
    out[key] = g
    return out


class IndexBackward(Function):
    """Places a gradient into zeros at ``key``: the backward of GetItem, and its own inverse."""

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, g):
        return _scatter_into_zeros(self.xp, g, self.key, self.shape, g.dtype)

    def backward(self, F, gy):
        return gy[self.key]


class Take(Function):
    """``x[..., idx, ...]`` with one integer array on ``axis``: ``take`` forward, and a one-hot
    product backward, which sums repeated indices correctly without scatter."""

    def __init__(self, indices, axis):
        self.indices, self.axis = indices, axis

    def forward(self, x):
        xp = self.xp
        flat = xp.reshape(self.indices, (-1,))
        n = x.shape[self.axis]
        flat = xp.where(flat < 0, flat + n, flat)
        self.flat = flat
        out = xp.take(x, flat, axis=self.axis)
        shape = x.shape[:self.axis] + tuple(self.indices.shape) + x.shape[self.axis + 1:]
        return xp.reshape(out, shape)

    def backward(self, F, gy):
        x = self.inputs[0]
        xp, a = x.backend.xp, self.axis
        n, k = x.shape[a], self.flat.shape[0]
        one_hot = xp.astype(xp.reshape(self.flat, (k, 1)) == xp.reshape(xp.arange(n), (1, n)), x.data.dtype)
        g = F.reshape(gy, x.shape[:a] + (k,) + x.shape[a + 1:])
        g = F.transpose(g, a, -1)  # (..., k)
        if not F.is_array_mode:
            one_hot = Tensor._wrap(one_hot, x.backend)
        g = F.matmul(g, one_hot)  # (..., n)
        return F.transpose(g, a, -1)


def getitem(input, key):
    key = _normalize_key(key, input.ndim)
    arrays = [i for i, k in enumerate(key) if not _is_basic(k)]
    if not arrays:
        return GetItem(key)(input)
    if len(arrays) == 1:
        k = key[arrays[0]]
        if not hasattr(k, "dtype"):
            k = input.backend.xp.asarray(k)
            key = key[:arrays[0]] + (k,) + key[arrays[0] + 1:]
        if B.as_dtype(k.dtype) == B.bool_:
            return GetItem(key)(input)
        others = [kk for i, kk in enumerate(key) if i != arrays[0]]
        if all((isinstance(kk, slice) and kk == slice(None)) or kk is Ellipsis for kk in others):
            return Take(k, arrays[0])(input)
    raise IndexError(f"getitem: unsupported index {key!r}; minigan supports ints, slices, None, "
                     "..., a boolean mask, or one integer array with ':' on the other axes")


# ----------------------------------------------------------------------------- joining
class Cat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return self.xp.concat(list(xs), axis=self.axis)

    def backward(self, F, gy):
        grads, start = [], 0
        for x in self.inputs:
            n = x.shape[self.axis]
            index = (slice(None),) * self.axis + (slice(start, start + n), Ellipsis)
            grads.append(gy[index])
            start += n
        return tuple(grads)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    n = ref.ndim
    if n == 0:
        raise RuntimeError("cat: zero-dimensional tensors cannot be concatenated")
    axis = dim % n
    for i, t in enumerate(tensors):
        if t.ndim != n or t.shape[:axis] + t.shape[axis + 1:] != ref.shape[:axis] + ref.shape[axis + 1:]:
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {dim}; "
                               f"tensor 0 has shape {ref.shape}, tensor {i} has shape {t.shape}")
        if t.backend is not ref.backend:
            raise RuntimeError(f"cat: expected all tensors on the same device, got {ref.device} and {t.device}")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        from .arithmetic import to_dtype
        wide = B.float64 if B.float64 in dtypes else B.float32
        if not dtypes & set(B.FLOAT_DTYPES):  # integers and bools only: they stay integers
            import numpy as np
            wide = B.as_dtype(np.result_type(*dtypes))
        tensors = [to_dtype(t, wide) for t in tensors]
    return Cat(axis)(*tensors)


concat = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {tensors[0].shape} "
                               f"at entry 0 and {t.shape} at entry {i}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(input, split_size_or_sections, dim=0):
    n = input.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
    axis, out, start = dim % input.ndim, [], 0
    for s in sizes:
        out.append(getitem(input, (slice(None),) * axis + (slice(start, start + s),)))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    n = input.shape[dim]
    return split(input, -(-n // chunks), dim)


# ----------------------------------------------------------------------------- padding
class Pad(Function):
    def __init__(self, pad, value):
        self.pad, self.value = pad, value

    def forward(self, x):
        return pad_arrays(self.xp, x, self.pad, self.value)

    def backward(self, F, gy):
        x = self.inputs[0]
        index = [slice(None)] * x.ndim
        for i in range(len(self.pad) // 2):
            a = self.pad[2 * i]
            index[x.ndim - 1 - i] = slice(a, a + x.shape[x.ndim - 1 - i])
        return gy[tuple(index)]


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=0.0):
    """``F.pad``: ``pad`` gives (before, after) widths for the last dimension, then the one
    before it, ... (non-negative). ``mode``: ``"constant"`` (``value``), or - for the image
    GANs after the book's (pix2pix's and CycleGAN's ``ReflectionPad2d``) - ``"reflect"`` (the
    border mirrored, without repeating the edge), ``"replicate"`` (the edge repeated) and
    ``"circular"`` (wrapped around). Those three pad 1 to 3 trailing dimensions of a batch or
    a single sample, as PyTorch's, and are built from slices, flips and a concatenation, so
    their gradient is those ops' gradients."""
    if mode not in PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; one of {', '.join(PAD_MODES)}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim or any(p < 0 for p in pad):
        raise RuntimeError(f"pad: bad padding {tuple(pad)} for a tensor of shape {tuple(input.shape)}")
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        return Pad(pad, value)(input)
    dims = len(pad) // 2
    if not 1 <= dims <= 3 or dims not in (input.ndim - 1, input.ndim - 2):
        raise NotImplementedError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dimensions of a (batch of) sample(s) "
            f"((C, W) or (N, C, W) for 1, and so on); got {dims} of shape {tuple(input.shape)}")
    out = input
    for i in range(dims):
        out = _pad_one_axis(out, input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1], mode)
    return out


def _pad_one_axis(x, axis, before, after, mode):
    from .reduction import expand
    n = x.shape[axis]

    def take(start, stop):
        return getitem(x, (slice(None),) * axis + (slice(start, stop),))

    if mode == "reflect" and (before >= n or after >= n):
        raise RuntimeError(f"pad: reflect padding ({before}, {after}) must be smaller than the "
                           f"padded dimension {axis} of size {n} (shape {tuple(x.shape)})")
    if mode == "circular" and (before > n or after > n):
        raise RuntimeError(f"pad: circular padding ({before}, {after}) can wrap at most once: "
                           f"dimension {axis} has size {n} (shape {tuple(x.shape)})")
    parts = []
    if before:
        if mode == "reflect":
            parts.append(flip(take(1, before + 1), (axis,)))
        elif mode == "replicate":
            parts.append(expand(take(0, 1), *_sized(x.shape, axis, before)))
        else:
            parts.append(take(n - before, n))
    parts.append(x)
    if after:
        if mode == "reflect":
            parts.append(flip(take(n - 1 - after, n - 1), (axis,)))
        elif mode == "replicate":
            parts.append(expand(take(n - 1, n), *_sized(x.shape, axis, after)))
        else:
            parts.append(take(0, after))
    return cat(parts, dim=axis) if len(parts) > 1 else x


def _sized(shape, axis, size):
    return tuple(size if i == axis else s for i, s in enumerate(shape))


class Flip(Function):
    """The order along ``axes`` reversed; its own backward."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return self.xp.flip(x, axis=self.axes)

    def backward(self, F, gy):
        return F.flip(gy, self.axes)


def flip(input, *dims):
    """``torch.flip(input, dims)`` / ``t.flip(dims)`` / ``t.flip(0, 1)``: a copy with the order
    along ``dims`` reversed (the random horizontal flips of image GAN training)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if not dims:
        raise TypeError("flip: give the dims to flip, e.g. flip(x, (3,)) or x.flip(-1)")
    axes = normalize_dims(dims, input.ndim) if input.ndim else ()   # (checks the range)
    if len(axes) != len(dims) and input.ndim:
        raise RuntimeError(f"flip: a dim appears multiple times in the list of dims {list(dims)}")
    return Flip(tuple(axes))(input) if axes else clone(input)


# ----------------------------------------------------------------------------- copies
class Clone(Function):
    def forward(self, x):
        return self.xp.astype(x, x.dtype, copy=True)

    def backward(self, F, gy):
        return gy


def clone(input):
    return Clone()(input)


def contiguous(input):
    return input


# ----------------------------------------------------------------------------- PyTorch's tensor idioms
# Composed of the ops above (their gradients come with them), except cumsum.
def index_select(input, dim, index):
    """``torch.index_select``: the entries at the integer positions ``index`` (1-d) along ``dim``."""
    if not isinstance(index, Tensor) or index.dtype not in (B.int32, B.int64) or index.ndim > 1:
        raise TypeError(f"index_select: index must be a 1-d int32/int64 tensor, got "
                        f"{type(index).__name__}{'' if not isinstance(index, Tensor) else f' {index.dtype.name} of shape {tuple(index.shape)}'}")
    (axis,) = normalize_dims(dim, input.ndim) if input.ndim else (0,)
    return Take(index.reshape(-1).data, axis)(input)


def repeat(input, *sizes):
    """``t.repeat(*sizes)``: the tensor tiled ``sizes[i]`` times along dimension i (extra leading
    sizes add dimensions), as an expand and a reshape per dimension."""
    from .reduction import expand
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than "
                           f"number of dimensions of tensor ({input.ndim})")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
    out = reshape(input, (1,) * (len(sizes) - input.ndim) + tuple(input.shape))
    for axis, times in enumerate(sizes):
        if times != 1:
            shape = tuple(out.shape)
            widened = expand(unsqueeze(out, axis), *(shape[:axis] + (times,) + shape[axis:]))
            out = reshape(widened, shape[:axis] + (times * shape[axis],) + shape[axis + 1:])
    return out


def tile(input, dims):
    """``torch.tile``: ``repeat`` with missing leading counts taken as 1."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return repeat(input, *((1,) * (input.ndim - len(dims)) + dims))


def roll(input, shifts, dims=None):
    """``torch.roll``: entries shifted along ``dims`` (wrapping round); without ``dims``, over
    the flattened tensor."""
    if dims is None:
        return reshape(roll(reshape(input, (-1,)), shifts, 0), tuple(input.shape))
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(dims)}")
    out = input
    for shift, dim in zip(shifts, dims):
        (axis,) = normalize_dims(dim, input.ndim) if input.ndim else (0,)
        n = input.shape[axis] if input.ndim else 1
        s = int(shift) % n if n else 0
        if s:
            lead = (slice(None),) * axis
            out = cat([getitem(out, lead + (slice(n - s, n),)), getitem(out, lead + (slice(0, n - s),))], axis)
    return out


def masked_fill(input, mask, value):
    """``t.masked_fill(mask, value)``: ``value`` where the boolean ``mask`` (broadcast to the
    tensor's shape) is True."""
    from .arithmetic import where
    if not isinstance(mask, Tensor) or mask.dtype != B.bool_:
        raise RuntimeError(f"masked_fill: expected a bool mask tensor, got "
                           f"{mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor "
                           f"with {value.ndim} dimension(s)")
    out = where(mask, value, input)
    if tuple(out.shape) != tuple(input.shape):
        raise RuntimeError(f"masked_fill: the mask of shape {tuple(mask.shape)} must broadcast to "
                           f"the tensor's shape {tuple(input.shape)}")
    return out if out.dtype == input.dtype else out.to(input.dtype)


class CumSum(Function):
    """Running sums along ``axis``; the gradient is the running sum of ``gy`` taken from the
    other end (flip, cumsum, flip)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return cumulative_sum(self.xp, x, self.axis)

    def backward(self, F, gy):
        return F.flip(F.cumsum(F.flip(gy, (self.axis,)), self.axis), (self.axis,))


def cumsum(input, dim):
    """``torch.cumsum``: the running sums along ``dim`` (integers sum as int64, as PyTorch)."""
    (axis,) = normalize_dims(dim, input.ndim) if input.ndim else (0,)
    if input.ndim == 0:
        return clone(input)
    if input.dtype not in B.FLOAT_DTYPES and input.dtype != B.int64:
        input = input.to(B.int64)
    return CumSum(axis)(input)


def outer(input, vec2):
    """``torch.outer``: the (n, m) products of two vectors."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-d tensors, got shapes {tuple(input.shape)} and "
                           f"{tuple(vec2.shape)}")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


def hstack(tensors):
    """``torch.hstack``: joined along dimension 1 (0 for vectors)."""
    tensors = [t if t.ndim else reshape(t, (1,)) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """``torch.vstack``: vectors become rows, then joined along dimension 0."""
    return cat([t if t.ndim >= 2 else reshape(t, (1, -1)) for t in tensors], 0)


def _triangle(input, diagonal, lower, name):
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    xp = input.backend.xp
    n, m = input.shape[-2:]
    rows, cols = xp.reshape(xp.arange(n), (n, 1)), xp.reshape(xp.arange(m), (1, m))
    keep = (cols - rows <= diagonal) if lower else (cols - rows >= diagonal)
    from .arithmetic import where
    return where(Tensor._wrap(keep, input.backend), input, 0)


def tril(input, diagonal=0):
    """``torch.tril``: the entries on and below the ``diagonal``-th diagonal; zeros elsewhere."""
    return _triangle(input, diagonal, True, "tril")


def triu(input, diagonal=0):
    """``torch.triu``: the entries on and above the ``diagonal``-th diagonal; zeros elsewhere."""
    return _triangle(input, diagonal, False, "triu")


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """``torch.nan_to_num``: NaN, +inf and -inf replaced (by default with 0 and the dtype's
    largest and smallest finite numbers); the gradient passes where nothing was replaced."""
    from .arithmetic import where
    if input.dtype not in B.FLOAT_DTYPES:
        return clone(input)
    big = float(np.finfo(np.dtype(input.dtype.name)).max)
    xp = input.backend.xp
    data = input.data
    out = where(Tensor._wrap(xp.isnan(data), input.backend), float(nan), input)
    out = where(Tensor._wrap(data == float("inf"), input.backend), big if posinf is None else float(posinf), out)
    return where(Tensor._wrap(data == -float("inf"), input.backend), -big if neginf is None else float(neginf), out)


def nonzero(input, as_tuple=False):
    """``torch.nonzero``: the (n, ndim) int64 indices of the non-zero entries (or a tuple of
    ndim index vectors)."""
    host = np.asarray(input.cpu().numpy())
    found = np.nonzero(host if host.ndim else host.reshape(1))   # (a 0-d tensor: as a vector here,
    if as_tuple:
        return tuple(Tensor._wrap(_from_host(i, B.int64, input.backend), input.backend) for i in found)
    stacked = np.stack(found, axis=1) if host.ndim else np.zeros((len(found[0]), 0), dtype=np.int64)  # (k, 0) here)
    return Tensor._wrap(_from_host(stacked, B.int64, input.backend), input.backend)


def count_nonzero(input, dim=None):
    """``torch.count_nonzero``: how many entries are not zero (over ``dim``), int64."""
    from .reduction import sum as total
    return total((input != 0).to(B.int64), dim=dim) if dim is not None else total((input != 0).to(B.int64))
