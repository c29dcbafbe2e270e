"""``Tensor``: an array plus what autograd needs (``grad``, ``requires_grad``, ``creator``).

Book section 1.1: a PyTorch tensor is "a NumPy array that remembers how it was made". The
numbers live in ``data``, a raw array of the tensor's device (a NumPy, CuPy or array-api-strict
array). Arithmetic and every other op are methods that delegate to :mod:`minigan.functional`;
they are attached at the bottom of ``functional/__init__.py``, so this file stays about the
tensor itself. Creation functions (``tensor``, ``zeros``, ``randn`` ...) are at the end.
"""
from __future__ import annotations

import numbers
import operator
import weakref

import numpy as np

from . import backend as B
from . import memory as _memory

_memory_entries = _memory._entries


class Tensor:
    """A multi-dimensional array that can record the operations applied to it."""

    __slots__ = ("_data", "grad", "requires_grad", "creator", "generation", "backend",
                 "_retains_grad", "_pending", "name", "_mem", "_source", "__weakref__")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__, not NumPy's loop
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.data, self.backend = t.data, t.backend
        self.grad, self.requires_grad, self.creator = None, t.requires_grad, None
        self.generation, self._retains_grad, self.name = 0, False, None
        self._pending = None  # the gradient summed so far during a backward walk

    @staticmethod
    def _wrap(array, backend, requires_grad=False):
        """Wrap a raw array without copying or checking (the hot path of every op).

        While :mod:`minigan.memory` counts, this is :func:`_wrap_counted` instead.
        """
        t = object.__new__(Tensor)
        t._data = array
        t._mem = None
        t.backend = backend
        t.grad = None
        t.requires_grad = requires_grad
        t.creator = None
        t.generation = 0
        t._retains_grad = False
        t._pending = None
        t.name = None
        return t

    # ``data`` is the ``_data`` slot itself (set below the class), a C-level attribute. While
    # minigan.memory counts, it becomes a property whose setter keeps the count, and tensors
    # get a finaliser (``_install_counting``).

    def __copy__(self):
        """``copy.copy``: a second tensor on the same array (counted as sharing it)."""
        new = object.__new__(type(self))
        for name in ("grad", "requires_grad", "creator", "generation", "backend",
                     "_retains_grad", "_pending", "name"):
            setattr(new, name, getattr(self, name))
        new._data = self._data
        new._mem = _memory.charge(self._data, self.backend) if _memory.COUNTING else None
        return new

    def __deepcopy__(self, memo):
        """``copy.deepcopy`` (of a module: ``AveragedModel``'s EMA generator), PyTorch's rules.

        Only a leaf is copied: a tensor that a recorded graph computed raises PyTorch's error
        (its copy could not carry the graph). The copy owns a new array and keeps
        ``requires_grad`` and ``name``, its ``grad`` is a deep copy, and a tensor met twice in
        one ``deepcopy`` (a weight two layers share) is copied once, so the copies share too.
        """
        if self.creator is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment; detach() it first, or "
                               "deepcopy the leaves it was computed from")
        if id(self) in memo:
            return memo[id(self)]
        new = Tensor._wrap(self.backend.xp.astype(self.data, self.data.dtype, copy=True),
                           self.backend, self.requires_grad)
        if type(self) is not Tensor:
            new.__class__ = type(self)  # a subclass of Tensor's slots (one of its own has its own rule)
        memo[id(self)] = new
        new.name = self.name
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        return new

    # ------------------------------------------------------------------ properties
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        d = self.data.dtype
        return d if isinstance(d, np.dtype) else B.as_dtype(d)  # NumPy/CuPy: already ours

    @property
    def device(self):
        return self.backend.device

    @property
    def is_cuda(self):
        return self.backend.device.type == "cuda"

    @property
    def ndim(self):
        return len(self.data.shape)

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    @property
    def T(self):
        from .functional import permute
        return permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        from .functional import transpose
        return transpose(self, -2, -1)

    def dim(self):
        return self.ndim

    def is_floating_point(self):
        return self.dtype in B.FLOAT_DTYPES

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        n = 1
        for s in self.data.shape:
            n *= s
        return n

    # ------------------------------------------------------------------ tensors like this one
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """A new tensor of ``size`` with this one's dtype and device (unless given)."""
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def type_as(self, other):
        """This tensor in ``other``'s dtype and on its device (differentiable, as ``to``)."""
        return self.to(other.device, other.dtype)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ------------------------------------------------------------------ conversions
    def numpy(self):
        """The data as a NumPy array (a copy from the GPU; shares memory on the CPU)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self.backend.xp.to_numpy(self.data)

    def item(self):
        if self.numel() != 1:
            raise ValueError(f"item(): only one element tensors can be converted to Python "
                             f"scalars, got shape {self.shape}")
        a = self.backend.xp.to_numpy(self.data).reshape(())
        return a.item()

    def tolist(self):
        return self.backend.xp.to_numpy(self.data).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __index__(self):
        if self.dtype not in (B.int32, B.int64, B.uint8):
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def detach(self):
        """A new tensor that shares the data but is cut from the graph.

        As in PyTorch, an in-place change made through it reaches ``self``: ``p.detach().copy_(x)``
        (how PyTorch's own averaging code writes a parameter) changes ``p``. minigan's in-place
        methods replace a tensor's array (``functional/inplace.py``), so the detached tensor
        hands its new array on to ``self`` while the two still share one (``_replace_array``).
        """
        alias = Tensor._wrap(self._data, self.backend)
        source, upstream = self, self._source_of_alias()
        while upstream is not None and upstream._data is source._data:   # p.detach().detach():
            source, upstream = upstream, upstream._source_of_alias()     # the first, still shared
        alias._source = weakref.ref(source)   # not a strong one: a detached fake must not keep G's graph
        return alias

    def _source_of_alias(self):
        """The tensor this one was detached from, while it lives; else None."""
        ref = getattr(self, "_source", None)   # a slot only detach() sets
        return ref() if ref is not None else None

    def _replace_array(self, array):
        """What every in-place method does to the tensor: give it ``array`` instead of its own
        (and to the tensor it was detached from, while that one still has the old array)."""
        old = self._data
        self.data = array
        source = self._source_of_alias()
        if source is not None and source._data is old:   # one array, as PyTorch's shared storage
            source._replace_array(array)

    def detach_(self):
        self.creator, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype not in B.FLOAT_DTYPES:
            raise RuntimeError(f"only floating point tensors can require gradients, got {self.dtype.name}")
        if self.creator is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        self.requires_grad = bool(requires_grad)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this tensor's gradient during backward; a returned tensor
        replaces it (minigan/grad_hooks.py). Returns a handle whose ``remove()`` undoes it."""
        from . import grad_hooks
        return grad_hooks.register(self, hook)

    def retain_grad(self):
        """Keep ``.grad`` on a non-leaf tensor after backward (as PyTorch)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        from .functional import to_device, to_dtype
        dev, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                dev, dtype = a.device, a.dtype
            elif isinstance(a, (B.device, str)) and not (isinstance(a, str) and a in B._DTYPE_ALIASES):
                dev = a
            else:
                dtype = a
        out = self
        if dtype is not None and B.as_dtype(dtype) != self.dtype:
            out = to_dtype(out, B.as_dtype(dtype))
        if dev is not None and B.device(dev) != self.device:
            out = to_device(out, dev)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))

    def float(self):
        return self.to(B.float32)

    def double(self):
        return self.to(B.float64)

    def long(self):
        return self.to(B.int64)

    def int(self):
        return self.to(B.int32)

    def bool(self):
        return self.to(B.bool_)

    def type(self, dtype=None):
        """PyTorch's type names: ``torch.FloatTensor`` / ``torch.cuda.FloatTensor`` ..."""
        names = {B.float32: "FloatTensor", B.float64: "DoubleTensor", B.int64: "LongTensor",
                 B.int32: "IntTensor", B.uint8: "ByteTensor", B.bool_: "BoolTensor"}
        if dtype is None:
            prefix = "torch.cuda." if self.is_cuda else "torch."
            return prefix + names[self.dtype]
        if isinstance(dtype, str):
            on_cuda = ".cuda." in dtype
            inverse = {v: k for k, v in names.items()}
            out = self.to(inverse[dtype.rsplit(".", 1)[-1]])
            return out.to("cuda") if on_cuda else out.to("cpu")
        if isinstance(dtype, _TensorType):
            return dtype._convert(self)
        return self.to(dtype)

    # ------------------------------------------------------------------ in-place, on data only
    def _check_inplace(self, what):
        from .autograd import is_grad_enabled
        if self.requires_grad and self.creator is None and is_grad_enabled():
            raise RuntimeError(f"{what}: a leaf Variable that requires grad is being used in an "
                               "in-place operation (wrap it in minigan.no_grad())")

    def __setitem__(self, key, value):
        """Item assignment on the data (``target[label] = 1.0``); not recorded in the graph."""
        self._check_inplace("__setitem__")
        if isinstance(value, Tensor):
            value = value.data
        elif isinstance(value, np.ndarray) and self.backend.xp.name != "numpy":
            value = self.backend.xp.from_numpy(value)
        if isinstance(key, Tensor):  # a 0-d integer label becomes an int: the array API
            key = int(key) if key.ndim == 0 and key.dtype in (B.int32, B.int64, B.uint8) \
                else key.data  # takes no array as a whole setitem key
        self.data[key] = value

    def zero_(self):
        self._check_inplace("zero_")
        self._replace_array(self.backend.xp.zeros_like(self.data))
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        xp = self.backend.xp
        self._replace_array(xp.full(self.data.shape, value, dtype=self.data.dtype))
        return self

    def copy_(self, src):
        self._check_inplace("copy_")
        src = src if isinstance(src, Tensor) else tensor(src)
        if tuple(src.shape) != self.shape:
            src_data = self.backend.xp.broadcast_to(src.to(self.device).data, self.shape)
        else:
            src_data = src.to(self.device).data
        self._replace_array(self.backend.xp.astype(src_data, self.data.dtype, copy=True))
        return self

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """Clamp the values into [min, max] in place (WGAN's weight clipping:
        ``with no_grad(): p.clamp_(-0.01, 0.01)``). Like the other in-place methods it
        changes the numbers only and records nothing in the graph, so it refuses a tensor
        that a recorded graph computes (use ``clamp``, which is differentiable)."""
        self._check_inplace("clamp_")
        from .autograd import is_grad_enabled
        if self.creator is not None and is_grad_enabled():
            raise RuntimeError("clamp_: in-place clamping of a tensor computed by a recorded graph "
                               "is not supported (its gradient would be wrong); use clamp()")
        if min is None and max is None:
            raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None")
        lo, hi = (v.to(self.device).data if isinstance(v, Tensor) else v for v in (min, max))
        self._replace_array(self.backend.xp.clip(self.data, lo, hi))
        return self

    clip_ = clamp_

    def uniform_(self, a=0.0, b=1.0):
        self._check_inplace("uniform_")
        self._replace_array(_from_host(B.host_generator().uniform(a, b, self.shape), self.dtype, self.backend))
        return self

    def normal_(self, mean=0.0, std=1.0):
        self._check_inplace("normal_")
        self._replace_array(_from_host(B.host_generator().normal(mean, std, self.shape), self.dtype, self.backend))
        return self

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (book section 1.1)."""
        _autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    # ------------------------------------------------------------------ printing
    def __repr__(self):
        arr = self.backend.xp.to_numpy(self.data)
        body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (B.get_default_dtype(), B.int64, B.bool_):
            extras.append(f"dtype=minigan.{self.dtype.name}")
        if self.creator is not None:
            extras.append(f"grad_fn=<{type(self.creator).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __hash__ = object.__hash__


# ============================================================================== creation
def _infer_dtype(data):
    """dtype PyTorch would give a nested Python list/number: bool, int64 or the default float."""
    if isinstance(data, bool):
        return B.bool_
    if isinstance(data, numbers.Integral):
        return B.int64
    if isinstance(data, numbers.Real):
        return B.get_default_dtype()
    if isinstance(data, (list, tuple)):
        kinds = {_infer_dtype(x) for x in data}
        if not kinds:
            return B.get_default_dtype()
        for d in (B.get_default_dtype(), B.float64, B.float32, B.int64, B.bool_):
            if d in kinds:
                return d
        return kinds.pop()
    raise TypeError(f"tensor(): can't convert {type(data).__name__} to a tensor")


def _from_host(array, dtype, backend):
    """Move a host NumPy array to ``backend`` as ``dtype`` (one copy at most)."""
    array = np.asarray(array, dtype=dtype)
    return backend.xp.from_numpy(array) if backend.xp.name != "numpy" else array


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Make a tensor from a list, a number, a NumPy/CuPy array or another tensor (copies)."""
    dtype = B.as_dtype(dtype)
    if isinstance(data, Tensor):
        src_backend = data.backend
        backend = B.get_backend(device) if device is not None else src_backend
        arr = data.data if backend is src_backend else _from_host(data.backend.xp.to_numpy(data.data), data.dtype, backend)
        arr = backend.xp.astype(arr, dtype or data.dtype, copy=True)
    elif isinstance(data, np.ndarray) or isinstance(data, np.generic):
        host = np.asarray(data)
        d = dtype or B.as_dtype(host.dtype)  # refuses float16, complex64 ... by name
        backend = B.get_backend(device)
        arr = _from_host(np.array(host, dtype=d, copy=True), d, backend)
    elif hasattr(data, "__dlpack__") or type(data).__module__.split(".")[0] in ("cupy", "array_api_strict"):
        src = B.backend_of_array(data)
        backend = B.get_backend(device) if device is not None else src
        d = dtype or B.as_dtype(data.dtype)
        if backend is src:
            arr = src.xp.astype(data, d, copy=True)
        else:
            arr = _from_host(src.xp.to_numpy(data), d, backend)
    else:
        d = dtype or _infer_dtype(data)
        backend = B.get_backend(device)
        try:
            host = np.array(data, dtype=d)
        except ValueError as e:
            raise ValueError(f"tensor(): data is not rectangular or not numeric ({e})") from None
        arr = _from_host(host, d, backend)
    t = Tensor._wrap(arr, backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A CPU tensor that shares memory with ``array`` (as ``torch.from_numpy``)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    B.as_dtype(array.dtype)
    return Tensor._wrap(array, B.get_backend("cpu"))


def _shape_args(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"invalid size {size}: sizes must be non-negative integers")
    return tuple(int(s) for s in size)


def _make(fill, size, dtype, device, requires_grad):
    backend = B.get_backend(device)
    dtype = B.as_dtype(dtype) or B.get_default_dtype()
    t = Tensor._wrap(fill(backend.xp, _shape_args(size), dtype), backend)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.zeros(s, dtype=d), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.ones(s, dtype=d), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.empty(s, dtype=d), size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, bool):
        dtype = B.bool_
    elif dtype is None and isinstance(fill_value, numbers.Integral):
        dtype = B.int64
    return _make(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (size,), dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) from the seeded host generator (book's ``generate_random``)."""
    return _make(lambda xp, s, d: _from_host(B.host_generator().random(s), d, B.get_backend(device)),
                 size, dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal from the seeded host generator (book's ``generate_random_seed``)."""
    return _make(lambda xp, s, d: _from_host(B.host_generator().standard_normal(s), d, B.get_backend(device)),
                 size, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    host = B.host_generator().integers(low, high, size=_shape_args((size,)))
    return Tensor._wrap(_from_host(host, B.as_dtype(dtype) or B.int64, B.get_backend(device)),
                        B.get_backend(device))


def randperm(n, dtype=None, device=None):
    host = B.host_generator().permutation(n)
    return Tensor._wrap(_from_host(host, B.as_dtype(dtype) or B.int64, B.get_backend(device)),
                        B.get_backend(device))


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = B.int64 if ints else B.get_default_dtype()
    backend = B.get_backend(device)
    t = Tensor._wrap(_from_host(np.arange(start, end, step), B.as_dtype(dtype), backend), backend)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced numbers from ``start`` to ``end``, both included (float64 on the
    host, then ``dtype``)."""
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative integer, got {steps!r}")
    backend = B.get_backend(device)
    dtype = B.as_dtype(dtype) or B.get_default_dtype()
    t = Tensor._wrap(_from_host(np.linspace(float(start), float(end), int(steps)), dtype, backend), backend)
    return t.requires_grad_(True) if requires_grad else t


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (ones on the diagonal)."""
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if not isinstance(v, numbers.Integral) or v < 0:
            raise RuntimeError(f"eye: {name} must be a non-negative integer, got {v!r}")
    return _make(lambda xp, s, d: xp.eye(s[0], s[1], dtype=d), (int(n), int(m)), dtype, device,
                 requires_grad)


def _like(maker, t, dtype, device, requires_grad, *extra):
    return maker(*extra, t.shape, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad) if extra else maker(
        t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    return _like(rand, t, dtype, device, requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    return _like(randn, t, dtype, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return _like(empty, t, dtype, device, requires_grad)


def normal(mean, std=1.0, size=None, dtype=None, device=None, requires_grad=False):
    """``torch.normal``: N(mean, std^2) samples from the seeded host generator - of ``size``
    for number arguments, else of the broadcast shape of the tensor(s) given."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number mean and std, give size=")
        return _make(lambda xp, s, d: _from_host(B.host_generator().normal(mean, std, s), d,
                                                  B.get_backend(device)), (size,), dtype, device, requires_grad)
    ref = tensors[0]
    host = B.host_generator().normal(*(np.asarray(v.cpu().numpy() if isinstance(v, Tensor) else v)
                                       for v in (mean, std)))
    return Tensor._wrap(_from_host(np.asarray(host), ref.dtype, ref.backend), ref.backend)


def bernoulli(input, p=None):
    """``torch.bernoulli``: 1 with probability ``input`` (or ``p``), else 0, in the input's dtype."""
    probs = np.asarray(input.cpu().numpy(), dtype=np.float64) if p is None else np.full(input.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    draws = (B.host_generator().random(input.shape) < probs).astype(np.float64)
    return Tensor._wrap(_from_host(draws, input.dtype, input.backend), input.backend)


def multinomial(input, num_samples, replacement=False):
    """``torch.multinomial``: indices drawn from the rows of ``input`` (non-negative weights,
    1-d or 2-d), without replacement unless asked; int64."""
    weights = np.asarray(input.cpu().numpy(), dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(weights.shape)}")
    rows = weights.reshape(-1, weights.shape[-1])
    if np.any(rows < 0) or np.any(~np.isfinite(rows)) or np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0, "
                           "or a row that sums to 0")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not replacement and num_samples > np.count_nonzero(rows, axis=1).min():
        raise RuntimeError("multinomial: invalid multinomial distribution (with replacement=False, "
                           "not enough non-negative category to sample)")
    gen = B.host_generator()
    out = np.stack([gen.choice(rows.shape[1], size=num_samples, replace=replacement, p=r / r.sum())
                    for r in rows])
    out = out.reshape(weights.shape[:-1] + (num_samples,))
    return Tensor._wrap(_from_host(out, B.int64, input.backend), input.backend)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


# ============================================================================== legacy types
class _TensorType:
    """``minigan.FloatTensor`` / ``minigan.cuda.FloatTensor``: PyTorch's legacy constructors.

    ``FloatTensor([1.0])`` makes a float32 tensor from data; ``FloatTensor(3)`` an
    uninitialised (here: zero) one of size 3; ``t.type(minigan.cuda.FloatTensor)`` converts.
    """

    def __init__(self, name, dtype, device_type):
        self.__name__ = name
        self.dtype = dtype
        self.device_type = device_type

    def __call__(self, *args):
        if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray, Tensor, float)):
            return tensor(args[0], dtype=self.dtype, device=self.device_type)
        return zeros(*args, dtype=self.dtype, device=self.device_type)

    def _convert(self, t):
        return t.to(self.dtype).to(self.device_type)

    def __instancecheck__(self, obj):
        return isinstance(obj, Tensor) and obj.dtype == self.dtype and obj.device.type == self.device_type

    def __repr__(self):
        prefix = "minigan.cuda." if self.device_type == "cuda" else "minigan."
        return f"<class '{prefix}{self.__name__}'>"


# ============================================================================== counting memory
# minigan.memory counts the bytes tensors hold only once asked (its first query, or
# ``minigan.memory.start()``): the count costs a few dictionary operations per tensor made and
# freed, several per cent of a batch-1 step, so a run that never asks never pays. Starting
# installs the three functions below on Tensor; tensors alive then are found and charged.
Tensor.data = Tensor.__dict__["_data"]


_wrap_plain = Tensor.__dict__["_wrap"].__func__


def _wrap_counted(array, backend, requires_grad=False):
    """``Tensor._wrap`` while memory is counted: the plain wrap, and its buffer charged."""
    t = _wrap_plain(array, backend, requires_grad)
    t._mem = _memory.charge(array, backend)
    return t


def _set_data_counted(self, array):
    """``tensor.data = array`` while memory is counted: the count moves to the new buffer."""
    entry = _memory.charge(array, B.backend_of_array(array))
    old = getattr(self, "_mem", None)   # None: a Parameter being made, or made before counting
    self._data = array
    self._mem = entry
    if old is not None:
        _memory.release(old)


def _del_counted(self):
    try:  # minigan.memory.release, inline: this runs for every tensor that goes away
        entry = self._mem
        if entry[0] == 1:
            entry[2][0] -= entry[1]
            del _memory_entries[entry[3]]
        else:
            entry[0] -= 1
    except Exception:        # made before counting began (None), a failed constructor, shutdown
        pass


def _install_counting(live_tensors):
    """Make every new tensor counted, and charge ``live_tensors`` (those made before)."""
    Tensor.data = property(operator.attrgetter("_data"), _set_data_counted,
                           doc="The raw array (NumPy, CuPy ...).")
    Tensor._wrap = staticmethod(_wrap_counted)
    Tensor.__del__ = _del_counted
    for t in live_tensors:
        if getattr(t, "_mem", None) is None and hasattr(t, "_data"):
            t._mem = _memory.charge(t._data, t.backend)


FloatTensor = _TensorType("FloatTensor", B.float32, "cpu")
DoubleTensor = _TensorType("DoubleTensor", B.float64, "cpu")
LongTensor = _TensorType("LongTensor", B.int64, "cpu")

from . import autograd as _autograd  # noqa: E402  (autograd imports this module first)

if _memory._SETTING in ("1", "true", "yes", "on"):   # MINIGAN_COUNT_MEMORY=1: count from import
    _memory.start()
