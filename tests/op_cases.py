"""The table of differentiable ops that the op test files run (a Chainer-style case table).

Each :class:`OpCase` names an op, a function ``fn(F, *inputs)`` that runs on minigan *and* on
PyTorch (``F`` is the framework module), and a hypothesis strategy of its inputs: NumPy
arrays (floating ones become tensors that require grad) followed by plain arguments (dims,
exponents, slopes ...). Strategies get a ``size`` dict (how many and how long axes) and
``for_gradcheck``: finite differences need inputs off the op's kinks and ties, the PyTorch
comparison does not (and should see ties, where both split the gradient the same way).

Used by test_ops_vs_torch.py, test_ops_gradcheck.py, test_ops_properties.py, test_dtypes.py
and test_cuda.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan.testing import arrays, broadcastable_pairs, shapes

TORCH_SIZE = dict(max_dims=4, max_side=4)   # PyTorch comparisons: cheap, so larger
GRADCHECK_SIZE = dict(max_dims=3, max_side=3)  # full Jacobians: keep them small
GRADGRAD_SIZE = dict(max_dims=2, max_side=3)


@dataclass
class OpCase:
    name: str
    fn: object                       # fn(F, *inputs) -> tensor or tuple of tensors
    inputs: object                   # inputs(size, for_gradcheck) -> strategy of input tuples
    torch_fn: object = None          # when PyTorch spells it differently
    gradgrad: bool = False           # also run gradgradcheck
    dtype: str = "float64"           # the float dtype inputs are cast to
    tags: set = field(default_factory=set)

    def __repr__(self):
        return self.name


def nnf(F):
    """``torch.nn.functional`` / ``minigan.nn.functional``."""
    return F.nn.functional


# ----------------------------------------------------------------------------- input strategies
def unary(**kw):
    """One array of any shape; ``kw`` go to ``arrays`` for both uses, ``gc`` only for gradcheck."""
    gc = kw.pop("gc", {})

    def make(size, for_gradcheck):
        extra = {**kw, **(gc if for_gradcheck else {})}
        return st.tuples(arrays(shapes(**size), **extra))
    return make


def unary_with(arg_strategy, min_dims=0, max_dims=None, **kw):
    """One array, then the extra arguments drawn from ``arg_strategy(shape)`` (a tuple)."""
    gc = kw.pop("gc", {})

    def make(size, for_gradcheck):
        extra = {**kw, **(gc if for_gradcheck else {})}
        sz = dict(size, max_dims=min(size["max_dims"], max_dims or 99))

        @st.composite
        def case(draw):
            shape = draw(shapes(min_dims=min_dims, **sz))
            x = draw(arrays(shape, **extra))
            return (x,) + tuple(draw(arg_strategy(shape)))
        return case()
    return make


def binary(a_kw=None, b_kw=None, same_shape=False):
    a_kw, b_kw = a_kw or {}, b_kw or {}

    def make(size, for_gradcheck):
        pairs = shapes(**size).map(lambda s: (s, s)) if same_shape else broadcastable_pairs(**size)
        return pairs.flatmap(lambda p: st.tuples(arrays(p[0], **a_kw), arrays(p[1], **b_kw)))
    return make


def tie_free_pair(size, for_gradcheck):
    """Two broadcastable arrays for maximum/minimum. For gradcheck their values come from two
    interleaved lattices (never equal); for PyTorch from one coarse lattice (ties happen)."""
    def lattice(offset):
        return st.integers(-8, 8).map(lambda k: k / 4 + offset)
    a_el = lattice(0.0)
    b_el = lattice(0.125 if for_gradcheck else 0.0)
    return broadcastable_pairs(**size).flatmap(
        lambda p: st.tuples(arrays(p[0], elements=a_el), arrays(p[1], elements=b_el)))


def where_inputs(size, for_gradcheck):
    trio = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, **size)
    return trio.flatmap(lambda s: st.tuples(arrays(s.input_shapes[0], dtype="bool"),
                                            arrays(s.input_shapes[1]), arrays(s.input_shapes[2])))


def lerp_inputs(size, for_gradcheck):
    """Both ends and a weight tensor, mutually broadcastable (weights on both sides of 0.5)."""
    trio = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, **size)
    return trio.flatmap(lambda s: st.tuples(arrays(s.input_shapes[0]), arrays(s.input_shapes[1]),
                                            arrays(s.input_shapes[2], min_value=-0.5, max_value=1.5)))


def lerp_scalar_inputs(size, for_gradcheck):
    """Two broadcastable ends and a number weight, on both sides of PyTorch's switch at 0.5."""
    weights = st.sampled_from([0.0, 0.1, 0.5, 0.75, 1.0, -0.3, 1.5])
    return binary()(size, for_gradcheck).flatmap(lambda ab: weights.map(lambda w: ab + (w,)))


def dim_of(shape, allow_none=True):
    """An axis of ``shape`` (negative ones too), or None."""
    n = max(len(shape), 1)
    axis = st.integers(-n, n - 1) if len(shape) else st.sampled_from([0, -1])
    return st.one_of(st.none(), axis) if allow_none else axis


def dims_of(shape):
    """None, one axis, or a tuple of distinct axes of ``shape``."""
    n = len(shape)
    options = [st.none(), dim_of(shape, allow_none=False)]
    if n >= 2:
        options.append(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)
                       .map(lambda ds: tuple(d - n if i % 2 else d for i, d in enumerate(ds))))
    return st.one_of(*options)


def reduce_args(shape):
    return st.tuples(dims_of(shape), st.booleans())


def var_args(shape):
    """dims whose reduced count is at least 2 (var with correction 1 needs 2 values)."""
    def count(dims):
        if dims is None:
            return math.prod(shape)
        dims = (dims,) if isinstance(dims, int) else dims
        return math.prod(shape[d] for d in dims) if shape else 1
    return st.tuples(dims_of(shape).filter(lambda d: count(d) >= 2), st.booleans(),
                     st.sampled_from([0, 1]))


def needs_values(min_count):
    return lambda shape: math.prod(shape) >= min_count


def matmul_inputs(size, for_gradcheck):
    """1-d @ 1-d, matrix @ vector, vector @ matrix, matrix @ matrix and batched products whose
    batch dimensions broadcast, as PyTorch's matmul allows."""
    side = st.integers(1, size["max_side"])

    @st.composite
    def case(draw):
        n, k, m = draw(side), draw(side), draw(side)
        ka, kb = draw(st.sampled_from(["1d", "2d", "batched"])), draw(st.sampled_from(["1d", "2d", "batched"]))
        batch_a, batch_b = draw(broadcastable_pairs(min_dims=1, max_dims=2, max_side=size["max_side"]))
        a_shape = {"1d": (k,), "2d": (n, k), "batched": tuple(batch_a) + (n, k)}[ka]
        b_shape = {"1d": (k,), "2d": (k, m), "batched": tuple(batch_b) + (k, m)}[kb]
        return draw(arrays(a_shape)), draw(arrays(b_shape))
    return case()


def stacked_matrices(batched):
    """Two matrices (mm) or two stacks of one batch size (bmm) whose products are defined."""
    def make(size, for_gradcheck):
        side = st.integers(1, size["max_side"])

        @st.composite
        def case(draw):
            n, k, m = draw(side), draw(side), draw(side)
            lead = (draw(side),) if batched else ()
            return draw(arrays(lead + (n, k))), draw(arrays(lead + (k, m)))
        return case()
    return make


def matrix_vector(matrix):
    """A matrix and a vector (mv) or two vectors of one length (dot)."""
    def make(size, for_gradcheck):
        side = st.integers(1, size["max_side"])

        @st.composite
        def case(draw):
            n, k = draw(side), draw(side)
            return draw(arrays((n, k) if matrix else (k,))), draw(arrays((k,)))
        return case()
    return make


def linear_inputs(size, for_gradcheck):
    side = st.integers(1, size["max_side"])

    @st.composite
    def case(draw):
        n_in, n_out = draw(side), draw(side)
        lead = draw(shapes(min_dims=0, max_dims=2, max_side=size["max_side"]))
        x, w = draw(arrays(lead + (n_in,))), draw(arrays((n_out, n_in)))
        if draw(st.booleans()):
            return x, w, draw(arrays((n_out,)))
        return x, w
    return case()


def clamp_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        lo = draw(st.sampled_from([None, -1.0, -0.5, 0.0]))
        hi = draw(st.sampled_from([None, 0.5, 1.0] if lo is not None else [0.5, 1.0]))
        kinks = [b for b in (lo, hi) if b is not None]
        x = draw(arrays(shapes(**size), away_from=kinks if for_gradcheck else None))
        return x, lo, hi
    return case()


def reshape_targets(shape):
    n = math.prod(shape)

    @st.composite
    def target(draw):
        options = [(-1,), (n,), tuple(reversed(shape)), (1,) + tuple(shape), tuple(shape) + (1,)]
        if len(shape) >= 1:
            i = draw(st.integers(0, len(shape) - 1))
            options.append(tuple(-1 if j == i else s for j, s in enumerate(shape)))
        if len(shape) >= 2:
            options.append((shape[0] * shape[1],) + tuple(shape[2:]))
        return (draw(st.sampled_from(options)),)
    return target()


def transpose_args(shape):
    n = len(shape)
    return st.tuples(st.integers(-n, n - 1), st.integers(-n, n - 1))


def permute_args(shape):
    return st.permutations(range(len(shape))).map(lambda p: (tuple(p),))


def unsqueeze_args(shape):
    n = len(shape) + 1
    return st.tuples(st.integers(-n, n - 1))


def squeeze_input(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=size["max_dims"], min_side=1,
                                      max_side=2))
        dim = draw(dim_of(shape)) if shape else None
        return draw(arrays(shape)), dim
    return case()


def expand_input(size, for_gradcheck):
    @st.composite
    def case(draw):
        base = draw(shapes(max_dims=size["max_dims"] - 1, max_side=size["max_side"]))
        target_tail = tuple(draw(st.integers(1, size["max_side"])) if s == 1 else s for s in base)
        lead = draw(shapes(min_dims=0, max_dims=1, max_side=size["max_side"]))
        target = tuple(lead) + tuple(-1 if draw(st.booleans()) and s == b else s
                                     for s, b in zip(target_tail, base))
        return draw(arrays(base)), target
    return case()


def expand_as_inputs(size, for_gradcheck):
    """x and a tensor y of the shape x expands to (y's gradient is None: it is only a shape)."""
    return expand_input(size, for_gradcheck).flatmap(lambda c: st.tuples(
        st.just(c[0]), arrays(_resolve_expand(c[0].shape, c[1]))))


def _resolve_expand(shape, target):
    lead = len(target) - len(shape)
    return tuple(shape[i - lead] if s == -1 else s for i, s in enumerate(target))


def sum_to_inputs(size, for_gradcheck):
    """x of a broadcast shape and the smaller shape it is summed back to."""
    return broadcastable_pairs(**size).map(
        lambda p: (p[0], np.broadcast_shapes(p[0], p[1]))).flatmap(
        lambda p: st.tuples(arrays(p[1]), st.just(tuple(p[0]))))


def unflatten_args(shape):
    @st.composite
    def args(draw):
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        n = shape[dim]
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        first = draw(st.sampled_from(divisors))
        sizes = (first, n // first) if draw(st.booleans()) else (-1, n // first)
        return dim, sizes
    return args()


def view_as_inputs(size, for_gradcheck):
    return shapes(**size).flatmap(lambda s: st.tuples(
        arrays(s), reshape_targets(s).map(lambda t: np.zeros(_infer(t[0], math.prod(s))))))


def _infer(target, n):
    known = math.prod(d for d in target if d != -1)
    return tuple(n // known if d == -1 else d for d in target)


def flatten_args(shape):
    n = max(len(shape), 1)
    return st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).map(
        lambda p: (min(p), max(p)) if len(shape) else (0, -1))


# -- indexing
@st.composite
def _basic_key(draw, shape):
    """A tuple index of ints, slices (positive steps), None and at most one Ellipsis."""
    key, axis, used_ellipsis, nones = [], 0, False, 0
    while axis < len(shape):
        # after an ellipsis the key must reach the last axis: the entries after it index
        # the trailing axes, so stopping early would shift them
        kinds = ["int", "slice", "slice"] + (["none"] if nones < 2 else []) + (
            [] if used_ellipsis else ["ellipsis", "stop"])
        kind = draw(st.sampled_from(kinds))
        if kind == "stop":
            break
        if kind == "none":
            key.append(None)
            nones += 1
            continue
        if kind == "ellipsis":
            if used_ellipsis:
                continue
            used_ellipsis = True
            key.append(Ellipsis)
            # the ellipsis takes some axes; the rest of the key indexes the last ones
            remaining = len(shape) - axis
            axis += draw(st.integers(0, remaining))
            continue
        n = shape[axis]
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.one_of(st.none(), st.integers(-n, n)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            step = draw(st.one_of(st.none(), st.integers(1, 3)))
            key.append(slice(start, stop, step))
        axis += 1
    return key[0] if len(key) == 1 and draw(st.booleans()) else tuple(key)


def getitem_basic(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        return draw(arrays(shape)), draw(_basic_key(shape))
    return case()


def getitem_int_array(size, for_gradcheck):
    """x[:, idx] with one integer array (repeats and negative indices allowed)."""
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        axis = draw(st.integers(0, len(shape) - 1))
        n = shape[axis]
        idx_shape = draw(shapes(min_dims=1, max_dims=2, max_side=4))
        idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-n, n - 1)))
        return draw(arrays(shape)), idx, axis
    return case()


def getitem_mask(size, for_gradcheck):
    """x[mask] with a boolean mask of x's full shape or of its leading axes."""
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        lead = draw(st.integers(1, len(shape)))
        return draw(arrays(shape)), draw(arrays(shape[:lead], dtype="bool"))
    return case()


def _index_fn(F, x, idx, axis):
    return x[(slice(None),) * axis + (idx,)]


def gather_inputs(size, for_gradcheck):
    """x, an axis and an int64 index of x's rank, no longer than x off the axis, repeats allowed."""
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        axis = draw(st.integers(0, len(shape) - 1))
        idx_shape = tuple(draw(st.integers(1, 4)) if d == axis else draw(st.integers(1, n))
                          for d, n in enumerate(shape))
        idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, shape[axis] - 1)))
        return draw(arrays(shape)), axis, idx
    return case()


def _scatter_index(draw, shape, axis, unique):
    """An int64 index for writing into ``shape`` along ``axis``: the same rank, no longer than
    ``shape`` off the axis. ``unique``: the places named along each slice differ (``scatter``,
    whose result for a repeated place PyTorch leaves undefined); else repeats are allowed."""
    n = shape[axis]
    idx_shape = tuple(draw(st.integers(1, n if unique else 4)) if d == axis else draw(st.integers(1, m))
                      for d, m in enumerate(shape))
    if not unique:
        return draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, n - 1)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    keys = rng.random(idx_shape[:axis] + (n,) + idx_shape[axis + 1:])
    order = np.argsort(keys, axis=axis)                       # a permutation per slice
    return np.take(order, np.arange(idx_shape[axis]), axis=axis).astype(np.int64)


def _src_shape(draw, idx_shape, for_gradcheck):
    """src's shape: the index's, or for gradcheck up to one longer on each axis (only its
    leading part is read, the rest gets a zero gradient). PyTorch 2.13's scatter and scatter_add
    backward fail on a longer src ("invalid gradient"), and its scatter_reduce gives the unread
    part a gradient, so the PyTorch comparisons keep the index's shape."""
    return tuple(k + (draw(st.integers(0, 1)) if for_gradcheck else 0) for k in idx_shape)


def scatter_inputs(unique, with_src=True):
    """x, an axis, an index (see _scatter_index) and src (see _src_shape); without src, a
    number to write."""
    def make(size, for_gradcheck):
        @st.composite
        def case(draw):
            shape = draw(shapes(min_dims=1, **size))
            axis = draw(st.integers(0, len(shape) - 1))
            idx = _scatter_index(draw, shape, axis, unique)
            if not with_src:
                return draw(arrays(shape)), axis, idx, draw(st.sampled_from([0.0, -1.5, 2.25]))
            src_shape = _src_shape(draw, idx.shape, for_gradcheck)
            return draw(arrays(shape)), axis, idx, draw(arrays(src_shape))
        return case()
    return make


def scatter_reduce_inputs(reduces, elements=None):
    """x, axis, index (repeats), src, a reduce of ``reduces`` and include_self. For PyTorch, values
    on a coarse lattice (``elements``, else _tied: amax/amin see ties, prod sees zeros); for
    gradcheck, x's and src's values all distinct (amax/amin without ties, at most one zero), unless
    ``elements`` is given."""
    def make(size, for_gradcheck):
        @st.composite
        def case(draw):
            shape = draw(shapes(min_dims=1, **size))
            axis = draw(st.integers(0, len(shape) - 1))
            idx = _scatter_index(draw, shape, axis, unique=False)
            src_shape = _src_shape(draw, idx.shape, for_gradcheck)
            nx = int(np.prod(shape))
            if for_gradcheck and elements is None:
                values = draw(arrays((nx + int(np.prod(src_shape)),), distinct=True))
                x, src = values[:nx].reshape(shape), values[nx:].reshape(src_shape)
            else:
                el = elements if elements is not None else _tied()
                x, src = draw(arrays(shape, elements=el)), draw(arrays(src_shape, elements=el))
            return x, axis, idx, src, draw(st.sampled_from(reduces)), draw(st.booleans())
        return case()
    return make


def index_add_inputs(size, for_gradcheck):
    """x, a dim, a 1-d int64 index (repeats allowed) of length k, source (x's shape with k on the
    dim) and alpha."""
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        n = shape[axis]
        idx = np.array(draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=4)), dtype=np.int64)
        src_shape = tuple(len(idx) if d == axis % len(shape) else m for d, m in enumerate(shape))
        return (draw(arrays(shape)), axis, idx, draw(arrays(src_shape)),
                draw(st.sampled_from([1, 2.5, -0.5])))
    return case()


CDIST_P = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf]


def cdist_inputs(size, for_gradcheck):
    """x1 (B..., P, M), x2 (B..., R, M) with broadcastable batch axes, and p. For PyTorch the
    values sit on a coarse lattice (zero distances, zero differences and ties of |x1 - x2|, where
    each p has its rule); for gradcheck they are continuous (no zero difference, no tie: kinks
    of p <= 1 and of inf)."""
    @st.composite
    def case(draw):
        batch = draw(broadcastable_pairs(min_dims=0, max_dims=max(size["max_dims"] - 2, 0),
                                         max_side=size["max_side"]))
        p_rows, r_rows, m = (draw(st.integers(1, size["max_side"])) for _ in range(3))
        shapes_ = (tuple(batch[0]) + (p_rows, m), tuple(batch[1]) + (r_rows, m))
        if for_gradcheck:
            rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
            x1, x2 = (rng.uniform(-2, 2, s) for s in shapes_)
        else:
            x1, x2 = (draw(arrays(s, elements=_tied())) for s in shapes_)
        return x1, x2, draw(st.sampled_from(CDIST_P))
    return case()


def _sort_args(shape):
    return st.tuples(dim_of(shape, allow_none=False), st.booleans())


def _topk_args(shape):
    @st.composite
    def case(draw):
        dim = draw(dim_of(shape, allow_none=False))
        n = shape[dim] if shape else 1
        return draw(st.integers(0, n)), dim, draw(st.booleans())
    return case()


# -- joining and splitting
def cat_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        count = draw(st.integers(1, 3))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        xs = []
        for _ in range(count):
            s = list(shape)
            s[axis] = draw(st.integers(1, size["max_side"]))
            xs.append(draw(arrays(tuple(s))))
        return tuple(xs) + (axis,)
    return case()


def stack_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=0, max_dims=size["max_dims"] - 1, max_side=size["max_side"]))
        count = draw(st.integers(1, 3))
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        return tuple(draw(arrays(shape)) for _ in range(count)) + (axis,)
    return case()


def split_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        axis = draw(st.integers(0, len(shape) - 1))
        n = shape[axis]
        if draw(st.booleans()):
            spec = draw(st.integers(1, n))
        else:
            cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
            edges = [0] + cuts + [n]
            spec = [b - a for a, b in zip(edges, edges[1:]) if b > a]
        return draw(arrays(shape)), spec, axis
    return case()


def chunk_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        axis = draw(st.integers(0, len(shape) - 1))
        chunks = draw(st.integers(1, shape[axis]))
        return draw(arrays(shape)), chunks, axis
    return case()


def unbind_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        return draw(arrays(shape)), draw(st.integers(-len(shape), len(shape) - 1))
    return case()


def pad_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        k = draw(st.integers(1, len(shape)))
        widths = tuple(draw(st.integers(0, 2)) for _ in range(2 * k))
        value = draw(st.sampled_from([0.0, 1.5]))
        return draw(arrays(shape)), widths, value
    return case()


def mode_pad_inputs(mode):
    """A (batch of) sample(s) of 2-5 dims and widths for its last 1-3 dims that ``mode`` allows
    (reflect: under the side; circular: up to it; replicate: any)."""
    def make(size, for_gradcheck):
        @st.composite
        def case(draw):
            shape = draw(shapes(min_dims=2, max_dims=min(5, max(2, size.get("max_dims", 4))),
                                max_side=size["max_side"], min_side=2))
            k = draw(st.sampled_from([d for d in (len(shape) - 1, len(shape) - 2) if 1 <= d <= 3]))
            widths = []
            for i in range(k):
                n = shape[len(shape) - 1 - i]
                top = {"reflect": n - 1, "circular": n, "replicate": 3}[mode]
                widths += [draw(st.integers(0, top)), draw(st.integers(0, top))]
            return draw(arrays(shape)), tuple(widths)
        return case()
    return make


def flip_args(shape):
    n = max(len(shape), 1)
    return st.tuples(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n, unique_by=lambda d: d % n)
                     .map(tuple))


def index_select_args(shape):
    n = max(len(shape), 1)
    return st.integers(-n, n - 1).flatmap(lambda d: st.tuples(
        st.just(d), st.lists(st.integers(0, (shape[d % n] if shape else 1) - 1), min_size=0, max_size=5)
        .map(lambda ix: np.array(ix, dtype=np.int64))))


def repeat_args(shape):
    return st.tuples(st.lists(st.integers(0, 3), min_size=max(len(shape), 1), max_size=len(shape) + 2)
                     .map(tuple))


def tile_args(shape):
    return st.tuples(st.lists(st.integers(1, 3), min_size=1, max_size=len(shape) + 1).map(tuple))


def roll_args(shape):
    n = max(len(shape), 1)
    both = st.lists(st.tuples(st.integers(-7, 7), st.integers(-n, n - 1)), min_size=1, max_size=n,
                    unique_by=lambda sd: sd[1] % n)
    return st.one_of(st.tuples(st.integers(-7, 7), st.none()),
                     both.map(lambda sd: (tuple(s for s, _ in sd), tuple(d for _, d in sd))))


def masked_fill_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(**size))
        suffix = shape[len(shape) - draw(st.integers(0, len(shape))):]   # a mask that broadcasts to x
        mask_shape = tuple(draw(st.sampled_from([1, side])) for side in suffix)
        return (draw(arrays(shape)), draw(arrays(mask_shape, dtype="bool")),
                draw(st.sampled_from([0.0, -1.5, 1e4])))
    return case()


def pixel_shuffle_inputs(shuffle):
    """(N, C r^2, H, W) for pixel_shuffle, (N, C, H r, W r) for pixel_unshuffle, r in 1..3."""
    def make(size, for_gradcheck):
        side = st.integers(1, min(size["max_side"], 3))

        @st.composite
        def case(draw):
            r, lead = draw(st.integers(1, 3)), tuple(draw(st.lists(side, min_size=0, max_size=1)))
            c, h, w = draw(side), draw(side), draw(side)
            shape = lead + ((c * r * r, h, w) if shuffle else (c, h * r, w * r))
            return draw(arrays(shape)), r
        return case()
    return make


def prelu_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        shape = draw(shapes(min_dims=1, **size))
        per_channel = len(shape) >= 2 and draw(st.booleans())
        weight = draw(arrays((shape[1] if per_channel else 1,), min_value=0.05, max_value=0.5))
        return draw(arrays(shape, away_from=[0.0] if for_gradcheck else None)), weight
    return case()


def adaptive_pool_inputs(size, for_gradcheck):
    @st.composite
    def case(draw):
        n, c, h, w = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)),
                      draw(st.integers(1, 6)))
        out = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(1, 4)))))
        return draw(arrays((n, c, h, w))), out
    return case()


def triangle_args(shape):
    return st.tuples(st.integers(-3, 3))


def hvstack_inputs(vertical):
    """Two or three vectors or matrices for hstack (lengths / columns may differ) or vstack
    (rows may differ; vectors become rows, so they share a length)."""
    def make(size, for_gradcheck):
        @st.composite
        def case(draw):
            shape = draw(shapes(min_dims=1, max_dims=2, max_side=size["max_side"]))
            axis = None if vertical and len(shape) == 1 else (0 if vertical or len(shape) == 1 else 1)
            parts = []
            for _ in range(draw(st.integers(2, 3))):
                part = list(shape)
                if axis is not None:
                    part[axis] = draw(st.integers(1, size["max_side"]))
                parts.append(draw(arrays(tuple(part))))
            return tuple(parts)
        return case()
    return make


# -- contractions and products
# Equations for the case table (tests/test_contractions.py draws random ones too): products,
# traces and diagonals, sums, outer products, "..." broadcasting, three operands.
EINSUM_EQUATIONS = [
    "ij,jk->ik", "bij,bjk->bik", "ij,kj", "i,i->", "i,j->ij", "ij->ji", "ij->", "ij->j", "ii->",
    "ii->i", "bii->bi", "iij->j", "ijk,jkl->il", "ij,jk,kl->il", "...ij,...jk->...ik", "...i,...i",
    "b...,b...->b", "ba,a", ",ij->ij", "ij,ij->ij", "ij,i->ij",
]


def einsum_inputs(size, for_gradcheck):
    """An equation of EINSUM_EQUATIONS, a size per subscript, and operands of those sizes; the
    axes that "..." covers are drawn once and each operand takes a trailing part of them, some
    of size 1 (they broadcast). The equation comes last."""
    side = st.integers(1, size["max_side"])

    @st.composite
    def case(draw):
        equation = draw(st.sampled_from(EINSUM_EQUATIONS))
        sizes = {c: draw(side) for c in sorted(set(equation)) if c.isalpha()}
        batch = draw(shapes(max_dims=2, max_side=size["max_side"]))
        operands = []
        for term in equation.split("->")[0].split(","):
            covered = batch[draw(st.integers(0, len(batch))):]
            covered = tuple(draw(st.sampled_from([1, n])) for n in covered)
            head, _, tail = term.partition("...")
            shape = (tuple(sizes[c] for c in head) + (covered if "..." in term else ())
                     + tuple(sizes[c] for c in tail))
            operands.append(draw(arrays(shape)))
        return tuple(operands) + (equation,)
    return case()


def tensordot_inputs(size, for_gradcheck):
    """a, b and dims: an int (a's last k axes with b's first k) or two lists of axes, in any
    order, negative ones too."""
    @st.composite
    def case(draw):
        a_shape = draw(shapes(max_dims=3, max_side=size["max_side"]))
        k = draw(st.integers(0, len(a_shape)))
        free_b = list(draw(shapes(max_dims=2, max_side=size["max_side"])))
        if draw(st.booleans()):
            return (draw(arrays(a_shape)), draw(arrays(a_shape[len(a_shape) - k:] + tuple(free_b))), k)
        dims_a = draw(st.permutations(range(len(a_shape))))[:k]
        dims_b = draw(st.permutations(range(k + len(free_b))))[:k]
        b_shape = [0] * (k + len(free_b))
        for da, db in zip(dims_a, dims_b):
            b_shape[db] = a_shape[da]
        rest = iter(free_b)
        b_shape = tuple(n if j in dims_b else next(rest) for j, n in enumerate(b_shape))
        dims_a = [d - len(a_shape) if draw(st.booleans()) else d for d in dims_a]
        return draw(arrays(a_shape)), draw(arrays(b_shape)), (dims_a, dims_b)
    return case()


# products: exact zeros often (1 in 5), every value on a lattice of eighths in [-1.5, 1.5], so
# that no product underflows (1e-200 * 1e-200 is 0 in float64, and y / x then loses the
# gradient that finite differences still see)
PRODUCT_ELEMENTS = st.integers(-12, 12).map(lambda k: k / 8 if abs(k) > 2 else 0.0)


def prod_args(shape):
    return st.one_of(st.tuples(st.none(), st.just(False)),
                     st.tuples(dim_of(shape, allow_none=False), st.booleans()))


def _prod(F, x, dim, keepdim):
    return F.prod(x) if dim is None else F.prod(x, dim, keepdim=keepdim)


def diagonal_args(shape):
    """offset, and two distinct axes (either may be negative)."""
    n = len(shape)
    pair = st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)
    return st.tuples(st.integers(-3, 3), pair.flatmap(lambda p: st.tuples(
        st.sampled_from([p[0], p[0] - n]), st.sampled_from([p[1], p[1] - n]))))


def diag_embed_args(shape):
    return diagonal_args(tuple(shape) + (1,))


def add_product_inputs(kind):
    """input, the two factors of addmm (matrices), baddbmm (stacks) or addmv (matrix, vector),
    with input of a shape that broadcasts to the product's, then beta and alpha."""
    def make(size, for_gradcheck):
        side = st.integers(1, size["max_side"])

        @st.composite
        def case(draw):
            b, n, k, m = draw(side), draw(side), draw(side), draw(side)
            a_shape, b_shape, out = {"mm": ((n, k), (k, m), (n, m)), "bmm": ((b, n, k), (b, k, m), (b, n, m)),
                                     "mv": ((n, k), (k,), (n,))}[kind]
            cut = draw(st.integers(0, len(out)))
            input_shape = tuple(draw(st.sampled_from([1, d])) for d in out[cut:])
            if kind == "mv":
                input_shape = input_shape or (1,)   # addmv: a vector (of length 1 or n)
            beta, alpha = draw(st.sampled_from([1, 0.5, -2, 0])), draw(st.sampled_from([1, 1.5, -1]))
            return draw(arrays(input_shape)), draw(arrays(a_shape)), draw(arrays(b_shape)), beta, alpha
        return case()
    return make


def attention_inputs(form):
    """query (N..., L, E), key (N..., S, E), value (N..., S, Ev) for scaled_dot_product_attention,
    then per ``form``: "bool_mask" / "float_mask" a mask that broadcasts to (N..., L, S) (bool:
    True = attend, rows of all False included, which give zeros; float: added, with some -inf
    for the PyTorch comparison only), "scale" a scale; "batch" batch dimensions that broadcast
    between the three; "gqa" query heads (dimension -3) a multiple of key's and value's."""
    def make(size, for_gradcheck):
        side = st.integers(1, size["max_side"])
        n_batch = max(size["max_dims"] - 2, 0)

        @st.composite
        def case(draw):
            length, source, e, ev = draw(side), draw(side), draw(side), draw(side)
            if form == "batch":
                trio = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=1,
                                                              max_dims=max(n_batch, 1), max_side=3))
                bq, bk, bv = trio.input_shapes
            elif form == "gqa":
                heads, groups = draw(st.integers(1, 2)), draw(st.integers(1, 3))
                lead = tuple(draw(st.lists(side, max_size=max(n_batch - 1, 0))))
                bq, bk, bv = lead + (heads * groups,), lead + (heads,), lead + (heads,)
            else:
                bq = bk = bv = tuple(draw(st.lists(side, max_size=n_batch)))
            q, k = draw(arrays(bq + (length, e))), draw(arrays(bk + (source, e)))
            v = draw(arrays(bv + (source, ev)))
            if form in ("bool_mask", "float_mask"):
                weights = bq + (length, source)
                # at least (L or 1, S): PyTorch's fused 4-D kernel refuses 1-D masks
                cut = draw(st.integers(0, len(weights) - 2))
                mask_shape = tuple(draw(st.sampled_from([1, d])) for d in weights[cut:])
                if form == "bool_mask":
                    return q, k, v, draw(arrays(mask_shape, dtype="bool"))
                finite = st.floats(-2.0, 2.0)
                elements = finite if for_gradcheck else st.one_of(finite, finite, st.just(-math.inf))
                return q, k, v, draw(arrays(mask_shape, elements=elements))
            if form == "scale":
                return q, k, v, draw(st.sampled_from([0.1, 0.5, 2.0]))
            return q, k, v
        return case()
    return make


def softmax_args(shape):
    return st.tuples(dim_of(shape, allow_none=False))


def _split(F, x, spec, axis):
    return tuple(x.split(spec, dim=axis))


def _chunk(F, x, chunks, axis):
    return tuple(x.chunk(chunks, dim=axis))


def _unbind(F, x, axis):
    return tuple(x.unbind(axis))


def _max_dim(F, x, dim, keepdim):
    values, indices = F.max(x, dim, keepdim=keepdim)
    return values, indices


def _min_dim(F, x, dim, keepdim):
    values, indices = F.min(x, dim=dim, keepdim=keepdim)
    return values, indices


def _tied(lattice_step=0.5):
    """Elements on a coarse lattice, so reductions see ties (PyTorch splits them evenly)."""
    return st.integers(-4, 4).map(lambda k: k * lattice_step)


def _dim_keepdim(shape):
    return st.tuples(dim_of(shape, allow_none=False), st.booleans())


def _amax_args(shape):
    return st.tuples(dims_of(shape), st.booleans())


def _norm_args(shape):
    """A vector norm's p (smooth away from 0), dims and keepdim."""
    return st.tuples(st.sampled_from([2, 2.0, 3, 1.5]), dims_of(shape), st.booleans())


POSITIVE = dict(min_value=0.5, max_value=2.5)
NONZERO = dict(min_magnitude=0.5)
HALVES = [k / 2 for k in range(-4, 5)]  # the steps of floor, ceil, trunc and round in [-2, 2]
# x * 10 and x * 100 at least 0.03 from any step of round: finite differences see it flat
OFF_GRID = st.integers(-200, 200).map(lambda k: k / 100 + 0.0031)
SCALARS = st.sampled_from([2.0, -1.5, 0.5, 3, np.float64(2.5)])


def _with_scalar(**kw):
    return unary_with(lambda shape: st.tuples(SCALARS), **kw)


CASES = [
    # ---------------------------------------------------------------- arithmetic
    OpCase("add", lambda F, a, b: a + b, binary(), gradgrad=True),
    OpCase("add_alpha", lambda F, a, b: F.add(a, b, alpha=2.5), binary()),
    OpCase("sub", lambda F, a, b: a - b, binary(), gradgrad=True),
    OpCase("mul", lambda F, a, b: a * b, binary(), gradgrad=True),
    OpCase("div", lambda F, a, b: a / b, binary(b_kw=NONZERO), gradgrad=True),
    OpCase("neg", lambda F, x: -x, unary(), gradgrad=True),
    OpCase("add_scalar", lambda F, x, c: x + c, _with_scalar()),
    OpCase("radd_scalar", lambda F, x, c: c + x, _with_scalar()),
    OpCase("sub_scalar", lambda F, x, c: x - c, _with_scalar()),
    OpCase("rsub_scalar", lambda F, x, c: c - x, _with_scalar(), gradgrad=True),
    OpCase("mul_scalar", lambda F, x, c: x * c, _with_scalar()),
    OpCase("rmul_scalar", lambda F, x, c: c * x, _with_scalar()),
    OpCase("div_scalar", lambda F, x, c: x / c, _with_scalar()),
    OpCase("rdiv_scalar", lambda F, x, c: c / x, _with_scalar(**NONZERO), gradgrad=True),
    OpCase("pow_scalar", lambda F, x, c: x ** c,
           unary_with(lambda s: st.tuples(st.sampled_from([2, 3, 0.5, -1.5, 2.5, 1])), **POSITIVE),
           gradgrad=True),
    OpCase("pow_int_any_sign", lambda F, x, c: x ** c,
           unary_with(lambda s: st.tuples(st.sampled_from([2, 3, 1]))), gradgrad=True),
    OpCase("square", lambda F, x: F.square(x), unary()),
    OpCase("pow_tensor", lambda F, a, b: a ** b, binary(a_kw=POSITIVE), gradgrad=True),
    OpCase("rpow_scalar", lambda F, x, c: c ** x,
           unary_with(lambda s: st.tuples(st.sampled_from([2.0, 0.5, 3, np.e])))),
    OpCase("matmul", lambda F, a, b: a @ b, matmul_inputs, gradgrad=True),
    OpCase("matmul_fn", lambda F, a, b: F.matmul(a, b), matmul_inputs),
    OpCase("mm", lambda F, a, b: F.mm(a, b), stacked_matrices(False), gradgrad=True),
    OpCase("bmm", lambda F, a, b: a.bmm(b), stacked_matrices(True), gradgrad=True),
    OpCase("mv", lambda F, a, b: F.mv(a, b), matrix_vector(True), gradgrad=True),
    OpCase("dot", lambda F, a, b: a.dot(b), matrix_vector(False), gradgrad=True),
    OpCase("linear", lambda F, *xs: nnf(F).linear(*xs), linear_inputs, gradgrad=True),
    OpCase("exp", lambda F, x: F.exp(x), unary(), gradgrad=True),
    OpCase("log", lambda F, x: F.log(x), unary(**POSITIVE), gradgrad=True),
    OpCase("sqrt", lambda F, x: x.sqrt(), unary(**POSITIVE), gradgrad=True),
    OpCase("abs", lambda F, x: F.abs(x), unary(gc=dict(away_from=[0.0])), gradgrad=True),
    OpCase("erf", lambda F, x: F.erf(x), unary(min_value=-3.5, max_value=3.5), gradgrad=True),
    # ---------------------------------------------------------------- more pointwise maths
    OpCase("sin", lambda F, x: F.sin(x), unary(min_value=-4, max_value=4), gradgrad=True),
    OpCase("cos", lambda F, x: x.cos(), unary(min_value=-4, max_value=4), gradgrad=True),
    OpCase("tan", lambda F, x: F.tan(x), unary(min_value=-1.2, max_value=1.2), gradgrad=True),
    OpCase("log1p", lambda F, x: F.log1p(x), unary(min_value=-0.5, max_value=3), gradgrad=True),
    OpCase("expm1", lambda F, x: x.expm1(), unary(), gradgrad=True),
    OpCase("log2", lambda F, x: F.log2(x), unary(**POSITIVE), gradgrad=True),
    OpCase("log10", lambda F, x: x.log10(), unary(**POSITIVE), gradgrad=True),
    OpCase("reciprocal", lambda F, x: F.reciprocal(x), unary(**NONZERO), gradgrad=True),
    OpCase("rsqrt", lambda F, x: x.rsqrt(), unary(**POSITIVE), gradgrad=True),
    OpCase("floor", lambda F, x: F.floor(x), unary(gc=dict(away_from=HALVES)), gradgrad=True),
    OpCase("ceil", lambda F, x: x.ceil(), unary(gc=dict(away_from=HALVES))),
    OpCase("trunc", lambda F, x: F.trunc(x), unary(gc=dict(away_from=HALVES))),
    OpCase("round", lambda F, x: x.round(), unary(gc=dict(away_from=HALVES))),
    OpCase("round_decimals", lambda F, x, d: F.round(x, decimals=d),
           unary_with(lambda s: st.tuples(st.sampled_from([1, 2, -1])), gc=dict(elements=OFF_GRID)),
           torch_fn=lambda F, x, d: F.round(x, decimals=d)),
    OpCase("logsumexp", lambda F, x, dim, keepdim: F.logsumexp(
               x, dim if dim is not None else tuple(range(x.ndim)), keepdim=keepdim),
           unary_with(_amax_args), gradgrad=True),
    OpCase("clamp", lambda F, x, lo, hi: F.clamp(x, min=lo, max=hi), clamp_inputs, gradgrad=True),
    OpCase("clip", lambda F, x, lo, hi: F.clip(x, lo, hi), clamp_inputs),
    OpCase("clamp_method", lambda F, x, lo, hi: x.clamp(lo, hi), clamp_inputs),
    OpCase("maximum", lambda F, a, b: F.maximum(a, b), tie_free_pair, gradgrad=True),
    OpCase("minimum", lambda F, a, b: F.minimum(a, b), tie_free_pair, gradgrad=True),
    OpCase("max_binary", lambda F, a, b: F.max(a, b), tie_free_pair),
    OpCase("where", lambda F, c, a, b: F.where(c, a, b), where_inputs, gradgrad=True),
    OpCase("lerp", lambda F, a, b, w: F.lerp(a, b, w), lerp_inputs, gradgrad=True),
    OpCase("lerp_scalar", lambda F, a, b, w: a.lerp(b, w), lerp_scalar_inputs),
    OpCase("where_scalar", lambda F, x, c: F.where(x > 0.3, x, c), _with_scalar(gc=dict(away_from=[0.3]))),
    # ---------------------------------------------------------------- reductions
    OpCase("sum", lambda F, x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim),
           unary_with(reduce_args), gradgrad=True),
    OpCase("sum_all", lambda F, x: F.sum(x), unary(), gradgrad=True),
    OpCase("mean", lambda F, x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
           unary_with(reduce_args), gradgrad=True),
    OpCase("mean_all", lambda F, x: F.mean(x), unary(), gradgrad=True),
    OpCase("var", lambda F, x, dim, keepdim, corr: x.var(dim=dim, keepdim=keepdim, correction=corr),
           unary_with(var_args), gradgrad=True),
    OpCase("var_unbiased", lambda F, x, dim, keepdim, corr: F.var(x, dim, unbiased=bool(corr), keepdim=keepdim),
           unary_with(var_args)),
    OpCase("std", lambda F, x, dim, keepdim, corr: x.std(dim=dim, keepdim=keepdim, correction=corr),
           unary_with(var_args, distinct=True), gradgrad=True),  # std has a kink at 0
    OpCase("max_all", lambda F, x: x.max(), unary(elements=_tied(), gc=dict(distinct=True))),
    OpCase("min_all", lambda F, x: F.min(x), unary(elements=_tied(), gc=dict(distinct=True))),
    OpCase("max_dim", _max_dim, unary_with(_dim_keepdim, min_dims=0, distinct=True)),
    OpCase("min_dim", _min_dim, unary_with(_dim_keepdim, min_dims=0, distinct=True)),
    OpCase("amax", lambda F, x, dim, keepdim: F.amax(x, dim=dim if dim is not None else tuple(range(x.ndim)), keepdim=keepdim),
           unary_with(_amax_args, elements=_tied(), gc=dict(distinct=True)), gradgrad=True),
    OpCase("amin", lambda F, x, dim, keepdim: x.amin(dim=dim if dim is not None else tuple(range(x.ndim)), keepdim=keepdim),
           unary_with(_amax_args, elements=_tied(), gc=dict(distinct=True))),
    # |x| >= 1e-12: |x| ** 3 stays a normal float32 (the dtype tests run the norms in float32,
    # where a smaller |x| makes |x| ** p underflow to 0; PyTorch then answers a gradient of 0
    # and the two frameworks' code paths disagree, as in float64 below 1e-154)
    OpCase("norm", lambda F, x, p, dim, keepdim: F.norm(x, p, dim, keepdim),
           unary_with(_norm_args, min_magnitude=1e-12, gc=dict(min_magnitude=0.2)), gradgrad=True),
    OpCase("norm_method", lambda F, x, p, dim, keepdim: x.norm(p, dim, keepdim),
           unary_with(_norm_args, min_magnitude=1e-12, gc=dict(min_magnitude=0.2))),
    OpCase("norm_fro", lambda F, x: x.norm(), unary(min_magnitude=1e-12, gc=dict(min_magnitude=0.2))),
    # F.normalize: the norm over the last axis. Elements of magnitude >= 0.2 keep every
    # slice's norm far above eps, where the clamp would make a kink, and keep 1/||x|| small:
    # the gradient (I - y y^T) g / ||x|| is a cancellation (exactly 0 for a one-element
    # slice), whose rounding 1/||x|| would magnify (at |x| = 1e-12 PyTorch answers -3.8e-6)
    OpCase("normalize", lambda F, x: nnf(F).normalize(x, dim=-1),
           unary_with(lambda shape: st.just(()), min_dims=1, min_magnitude=0.2), gradgrad=True),
    # ---------------------------------------------------------------- contractions and products
    OpCase("einsum", lambda F, *a: F.einsum(a[-1], *a[:-1]), einsum_inputs, gradgrad=True),
    OpCase("tensordot", lambda F, a, b, dims: F.tensordot(a, b, dims), tensordot_inputs, gradgrad=True),
    OpCase("prod", _prod, unary_with(prod_args, elements=PRODUCT_ELEMENTS), gradgrad=True),
    OpCase("cumprod", lambda F, x, dim: F.cumprod(x, dim),
           unary_with(softmax_args, min_dims=1, elements=PRODUCT_ELEMENTS), gradgrad=True),
    OpCase("trace", lambda F, x: F.trace(x), unary_with(lambda s: st.just(()), min_dims=2, max_dims=2),
           gradgrad=True),
    OpCase("diag", lambda F, x, k: F.diag(x, k),
           unary_with(lambda s: st.tuples(st.integers(-3, 3)), min_dims=1, max_dims=2), gradgrad=True),
    OpCase("diagonal", lambda F, x, k, dims: F.diagonal(x, k, *dims), unary_with(diagonal_args, min_dims=2),
           gradgrad=True),
    OpCase("diag_embed", lambda F, x, k, dims: F.diag_embed(x, k, *dims),
           unary_with(diag_embed_args, min_dims=1, max_dims=3), gradgrad=True),
    OpCase("addmm", lambda F, i, a, b, beta, alpha: F.addmm(i, a, b, beta=beta, alpha=alpha),
           add_product_inputs("mm"), gradgrad=True),
    OpCase("baddbmm", lambda F, i, a, b, beta, alpha: i.baddbmm(a, b, beta=beta, alpha=alpha),
           add_product_inputs("bmm"), gradgrad=True),
    OpCase("addmv", lambda F, i, a, b, beta, alpha: F.addmv(i, a, b, beta=beta, alpha=alpha),
           add_product_inputs("mv"), gradgrad=True),
    # ---------------------------------------------------------------- shape
    OpCase("reshape", lambda F, x, shape: x.reshape(shape), unary_with(reshape_targets), gradgrad=True),
    OpCase("view", lambda F, x, shape: x.view(shape), unary_with(reshape_targets)),
    OpCase("transpose", lambda F, x, d0, d1: x.transpose(d0, d1), unary_with(transpose_args, min_dims=1),
           gradgrad=True),
    OpCase("permute", lambda F, x, dims: x.permute(dims), unary_with(permute_args), gradgrad=True),
    OpCase("t", lambda F, x: x.t(), unary_with(lambda s: st.just(()), min_dims=1, max_dims=2)),
    OpCase("T", lambda F, x: x.T, unary_with(lambda s: st.just(()), min_dims=2, max_dims=2)),
    OpCase("mT", lambda F, x: x.mT, unary_with(lambda s: st.just(()), min_dims=2)),
    OpCase("squeeze", lambda F, x, dim: x.squeeze() if dim is None else x.squeeze(dim), squeeze_input),
    OpCase("unsqueeze", lambda F, x, dim: x.unsqueeze(dim), unary_with(unsqueeze_args), gradgrad=True),
    OpCase("expand", lambda F, x, target: x.expand(target), expand_input, gradgrad=True),
    OpCase("broadcast_to", lambda F, x, target: F.broadcast_to(x, target), expand_input),
    OpCase("expand_as", lambda F, x, y: x.expand_as(y), expand_as_inputs),
    OpCase("sum_to", lambda F, x, shape: F.sum_to(x, shape), sum_to_inputs,
           torch_fn=lambda F, x, shape: x.sum_to_size(shape), gradgrad=True),
    OpCase("unflatten", lambda F, x, dim, sizes: x.unflatten(dim, sizes), unary_with(unflatten_args, min_dims=1)),
    OpCase("view_as", lambda F, x, y: x.view_as(y), view_as_inputs),
    OpCase("contiguous", lambda F, x: x.contiguous(), unary()),
    OpCase("flatten", lambda F, x, s, e: x.flatten(s, e), unary_with(flatten_args)),
    OpCase("getitem_basic", lambda F, x, key: x[key], getitem_basic, gradgrad=True),
    OpCase("getitem_int_array", _index_fn, getitem_int_array, gradgrad=True),
    OpCase("getitem_mask", lambda F, x, mask: x[mask], getitem_mask, gradgrad=True),
    OpCase("gather", lambda F, x, axis, idx: F.gather(x, axis, idx), gather_inputs, gradgrad=True),
    # sort and topk: distinct values, so that the order (and PyTorch's, not stable) is unique
    OpCase("sort", lambda F, x, dim, descending: tuple(F.sort(x, dim, descending)),
           unary_with(_sort_args, distinct=True), gradgrad=True),
    OpCase("topk", lambda F, x, k, dim, largest: tuple(x.topk(k, dim, largest)),
           unary_with(_topk_args, distinct=True), gradgrad=True),
    OpCase("scatter", lambda F, x, axis, idx, src: F.scatter(x, axis, idx, src),
           scatter_inputs(unique=True), gradgrad=True),
    OpCase("scatter_value", lambda F, x, axis, idx, v: x.scatter(axis, idx, value=v),
           scatter_inputs(unique=True, with_src=False), gradgrad=True),
    OpCase("scatter_add", lambda F, x, axis, idx, src: F.scatter_add(x, axis, idx, src),
           scatter_inputs(unique=False), gradgrad=True),
    OpCase("scatter_add_method", lambda F, x, axis, idx, src: x.scatter_add(axis, idx, src),
           scatter_inputs(unique=False)),
    OpCase("scatter_reduce", lambda F, x, axis, idx, src, reduce, incl: F.scatter_reduce(
        x, axis, idx, src, reduce, include_self=incl),
        scatter_reduce_inputs(["sum", "prod", "mean", "amax", "amin"]), gradgrad=True),
    # prod with zeros, two meeting at one place too (exact first derivatives; the second
    # derivative there is refused, as PyTorch, so no gradgradcheck)
    OpCase("scatter_reduce_prod_zeros", lambda F, x, axis, idx, src, reduce, incl: x.scatter_reduce(
        axis, idx, src, reduce, include_self=incl),
        scatter_reduce_inputs(["prod"], elements=PRODUCT_ELEMENTS)),
    OpCase("index_add", lambda F, x, dim, idx, src, alpha: F.index_add(x, dim, idx, src, alpha=alpha),
           index_add_inputs, gradgrad=True),
    OpCase("index_add_method", lambda F, x, dim, idx, src, alpha: x.index_add(dim, idx, src, alpha=alpha),
           index_add_inputs),
    OpCase("cdist", lambda F, a, b, p: F.cdist(a, b, p), cdist_inputs, gradgrad=True),
    OpCase("argsort", lambda F, x, dim, descending: F.argsort(x, dim, descending),
           unary_with(_sort_args, min_dims=1, distinct=True), tags={"no_grad_output"}),
    OpCase("cat", lambda F, *a: F.cat(list(a[:-1]), dim=a[-1]), cat_inputs, gradgrad=True),
    OpCase("concat", lambda F, *a: F.concat(a[:-1], dim=a[-1]), cat_inputs),
    OpCase("stack", lambda F, *a: F.stack(list(a[:-1]), dim=a[-1]), stack_inputs),
    OpCase("split", _split, split_inputs, gradgrad=True),
    OpCase("chunk", _chunk, chunk_inputs),
    OpCase("unbind", _unbind, unbind_inputs, gradgrad=True),
    OpCase("pad", lambda F, x, widths, value: nnf(F).pad(x, widths, value=value), pad_inputs,
           gradgrad=True),
    OpCase("pad_reflect", lambda F, x, widths: nnf(F).pad(x, widths, mode="reflect"),
           mode_pad_inputs("reflect"), gradgrad=True),
    OpCase("pad_replicate", lambda F, x, widths: nnf(F).pad(x, widths, mode="replicate"),
           mode_pad_inputs("replicate"), gradgrad=True),
    OpCase("pad_circular", lambda F, x, widths: nnf(F).pad(x, widths, mode="circular"),
           mode_pad_inputs("circular"), gradgrad=True),
    OpCase("flip", lambda F, x, dims: F.flip(x, dims), unary_with(flip_args, min_dims=1), gradgrad=True),
    OpCase("flip_method", lambda F, x, dims: x.flip(*dims), unary_with(flip_args, min_dims=1)),
    OpCase("index_select", lambda F, x, dim, ix: F.index_select(x, dim, ix),
           unary_with(index_select_args, min_dims=1), gradgrad=True),
    OpCase("repeat", lambda F, x, sizes: x.repeat(*sizes), unary_with(repeat_args), gradgrad=True),
    OpCase("tile", lambda F, x, dims: F.tile(x, dims), unary_with(tile_args)),
    OpCase("roll", lambda F, x, shifts, dims: F.roll(x, shifts, dims), unary_with(roll_args, min_dims=1),
           gradgrad=True),
    OpCase("masked_fill", lambda F, x, mask, value: x.masked_fill(mask, value),
           masked_fill_inputs, gradgrad=True),
    OpCase("cumsum", lambda F, x, dim: F.cumsum(x, dim), unary_with(softmax_args, min_dims=1),
           gradgrad=True),
    OpCase("clamp_min", lambda F, x: F.clamp_min(x, 0.25), unary(gc=dict(away_from=[0.25]))),
    OpCase("clamp_max", lambda F, x: x.clamp_max(-0.25), unary(gc=dict(away_from=[-0.25]))),
    OpCase("pixel_shuffle", lambda F, x, r: nnf(F).pixel_shuffle(x, r), pixel_shuffle_inputs(True),
           gradgrad=True),
    OpCase("pixel_unshuffle", lambda F, x, r: nnf(F).pixel_unshuffle(x, r), pixel_shuffle_inputs(False)),
    OpCase("prelu", lambda F, x, w: nnf(F).prelu(x, w), prelu_inputs, gradgrad=True),
    OpCase("adaptive_avg_pool2d", lambda F, x, out: nnf(F).adaptive_avg_pool2d(x, out), adaptive_pool_inputs,
           gradgrad=True),
    OpCase("outer", lambda F, a, b: F.outer(a, b), matrix_vector(False), gradgrad=True),
    OpCase("hstack", lambda F, *parts: F.hstack(list(parts)), hvstack_inputs(False)),
    OpCase("vstack", lambda F, *parts: F.vstack(list(parts)), hvstack_inputs(True)),
    OpCase("tril", lambda F, x, k: F.tril(x, k), unary_with(triangle_args, min_dims=2), gradgrad=True),
    OpCase("triu", lambda F, x, k: x.triu(k), unary_with(triangle_args, min_dims=2)),
    OpCase("nan_to_num", lambda F, x: F.nan_to_num(x, nan=0.5), unary()),
    OpCase("clone", lambda F, x: x.clone(), unary()),
    # ---------------------------------------------------------------- activations
    OpCase("sigmoid", lambda F, x: F.sigmoid(x), unary(min_value=-6, max_value=6), gradgrad=True),
    OpCase("tanh", lambda F, x: x.tanh(), unary(min_value=-4, max_value=4), gradgrad=True),
    OpCase("relu", lambda F, x: F.relu(x), unary(gc=dict(away_from=[0.0])), gradgrad=True),
    OpCase("leaky_relu", lambda F, x, slope: nnf(F).leaky_relu(x, slope),
           unary_with(lambda s: st.tuples(st.sampled_from([0.01, 0.02, 0.2])),
                      gc=dict(away_from=[0.0])), gradgrad=True),
    OpCase("gelu", lambda F, x: nnf(F).gelu(x), unary(min_value=-4, max_value=4), gradgrad=True),
    OpCase("gelu_tanh", lambda F, x: nnf(F).gelu(x, approximate="tanh"),
           unary(min_value=-4, max_value=4), gradgrad=True),
    OpCase("softplus", lambda F, x, beta, threshold: nnf(F).softplus(x, beta, threshold),
           unary_with(lambda s: st.tuples(st.sampled_from([1.0, 0.5, 2.0]), st.sampled_from([20.0, 1.0])),
                      min_value=-6, max_value=6, gc=dict(away_from=[-2.0, -1.0, 0.5, 1.0, 2.0])),
           gradgrad=True),   # (gradcheck keeps clear of the switches at beta x = threshold)
    OpCase("silu", lambda F, x: nnf(F).silu(x), unary(min_value=-6, max_value=6), gradgrad=True),
    OpCase("elu", lambda F, x, alpha: nnf(F).elu(x, alpha),
           unary_with(lambda s: st.tuples(st.sampled_from([1.0, 0.3, 2.0])), min_value=-6, max_value=6,
                      gc=dict(away_from=[0.0])), gradgrad=True),
    OpCase("softmax", lambda F, x, dim: F.softmax(x, dim=dim), unary_with(softmax_args, min_dims=1),
           gradgrad=True),
    OpCase("log_softmax", lambda F, x, dim: F.log_softmax(x, dim=dim),
           unary_with(softmax_args, min_dims=1), gradgrad=True),
    # ---------------------------------------------------------------- attention
    OpCase("sdpa", lambda F, q, k, v: nnf(F).scaled_dot_product_attention(q, k, v),
           attention_inputs("plain"), gradgrad=True),
    OpCase("sdpa_bool_mask", lambda F, q, k, v, m: nnf(F).scaled_dot_product_attention(q, k, v, attn_mask=m),
           attention_inputs("bool_mask"), gradgrad=True),
    OpCase("sdpa_float_mask", lambda F, q, k, v, m: nnf(F).scaled_dot_product_attention(q, k, v, m),
           attention_inputs("float_mask"), gradgrad=True),
    OpCase("sdpa_causal", lambda F, q, k, v: nnf(F).scaled_dot_product_attention(q, k, v, is_causal=True),
           attention_inputs("plain"), gradgrad=True),
    OpCase("sdpa_scale", lambda F, q, k, v, s: nnf(F).scaled_dot_product_attention(q, k, v, scale=s),
           attention_inputs("scale")),
    OpCase("sdpa_batch", lambda F, q, k, v: nnf(F).scaled_dot_product_attention(q, k, v),
           attention_inputs("batch")),
    OpCase("sdpa_gqa", lambda F, q, k, v: nnf(F).scaled_dot_product_attention(q, k, v, enable_gqa=True),
           attention_inputs("gqa"), gradgrad=True),
    # ---------------------------------------------------------------- dtype
    OpCase("to_float32", lambda F, x: x.to(F.float32), unary(), tags={"casts"}),
    OpCase("to_float64", lambda F, x: x.double(), unary(), dtype="float32", tags={"casts"}),
    OpCase("to_dtype_fn", lambda F, x: F.to_dtype(x, F.float32), unary(), tags={"casts"},
           torch_fn=lambda F, x: x.to(F.float32)),
    OpCase("to_int64", lambda F, x: x.to(F.int64), unary(), tags={"casts", "no_grad_output"}),
]

CASE_BY_NAME = {c.name: c for c in CASES}
assert len(CASE_BY_NAME) == len(CASES), "duplicate case names"

# Every differentiable op that minigan.functional exports must have a case here (a test checks).
COVERED_FUNCTIONAL = {
    "abs", "add", "addmm", "addmv", "amax", "amin", "baddbmm", "bmm", "broadcast_to", "cat",
    "cdist", "ceil", "chunk", "clamp", "clamp_max", "clamp_min", "clip", "clone", "concat", "contiguous",
    "cos", "cumprod", "cumsum", "diag", "diag_embed", "diagonal", "div", "dot", "einsum", "elu",
    "erf", "exp", "expand", "expand_as", "expm1", "flatten", "flip", "floor", "gather", "gelu",
    "getitem", "hstack", "index_add", "index_select", "leaky_relu", "lerp", "linear", "log", "log10",
    "log1p", "log2", "log_softmax", "logsumexp", "masked_fill", "matmul", "max", "maximum",
    "mean", "min", "minimum", "mm", "mul", "mv", "nan_to_num", "neg", "norm", "outer", "pad",
    "permute", "pow", "prod", "reciprocal", "relu", "repeat", "reshape", "roll", "round",
    "rsqrt", "scatter", "scatter_add", "scatter_reduce", "sigmoid", "silu", "sin", "softmax", "softplus", "sort", "split", "sqrt", "square",
    "squeeze", "stack", "std", "sub", "sum", "sum_to", "t", "tan", "tanh", "tensordot", "tile",
    "to_device", "to_dtype", "topk", "trace", "transpose", "tril", "triu", "trunc", "unbind",
    "unflatten", "unsqueeze", "var", "view", "view_as", "vstack", "where",
}
NOT_DIFFERENTIABLE = {
    "all", "allclose", "any", "argmax", "argmin", "argsort", "count_nonzero", "eq", "equal",
    "ge", "gt", "isclose", "isfinite", "isinf", "isnan", "le", "logical_and", "logical_not",
    "logical_or", "logical_xor", "lt", "ne", "nonzero", "sign", "unique", "unique_consecutive",
}


def to_minigan(inputs, device="cpu", dtype="float64"):
    """Inputs of a case as minigan objects: float arrays -> tensors requiring grad."""
    out = []
    for a in inputs:
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                out.append(minigan.tensor(a.astype(dtype), device=device, requires_grad=True))
            else:
                out.append(minigan.tensor(a, device=device))
        else:
            out.append(a)
    return tuple(out)
