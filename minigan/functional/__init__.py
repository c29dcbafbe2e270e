"""Every differentiable operation on Tensors, one file per family.

This package is also the ``F`` namespace that primitive backward formulas run against when
``create_graph=True`` (see autograd.py); :class:`minigan.array_ops.ArrayOps` is its raw-array
twin with the same names. At the bottom the operations become Tensor methods and operators,
so ``t.exp()``, ``t.sum(dim=1)`` and ``a @ b`` are the same functions as ``minigan.exp(t)``.
"""
from __future__ import annotations

from ..tensor import Tensor, zeros_like  # noqa: F401  (zeros_like: F.zeros_like in formulas)
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus,
                         tanh)
from .arithmetic import (abs, add, bmm, clamp, clamp_max, clamp_min, clip, div, dot, eq, erf, exp,
                         ge, gt, le, lerp, linear, log, logical_and, logical_not, logical_or,
                         logical_xor, lt, matmul, maximum, minimum, mm, mul, mv, ne, neg, pow,
                         rdiv, rsub, sign, sqrt, square, sub, to_device, to_dtype, where)
from .contraction import (addmm, addmv, baddbmm, diag, diag_embed, diagonal, einsum, tensordot,
                          trace)
from .distance import cdist
from .gather_sort import argsort, gather, sort, topk
from .inplace import in_place_indexed_method, in_place_method, in_place_operator
from .pointwise import (ceil, cos, expm1, floor, isfinite, isinf, isnan, log1p, log2, log10,
                        logsumexp, reciprocal, round, rsqrt, sin, tan, trunc)
from .predicates import all, allclose, any, equal, isclose
from .product import cumprod, prod
from .reduction import (amax, amin, argmax, argmin, broadcast_to, expand, expand_as, max,
                        mean, min, std, sum, sum_to, var)
from .scatter import index_add, scatter, scatter_add, scatter_reduce
from .shape import (cat, chunk, clone, concat, contiguous, count_nonzero, cumsum, flatten, flip,
                    getitem, hstack, index_select, masked_fill, nan_to_num, nonzero, outer, pad,
                    permute, repeat, reshape, roll, split, squeeze, stack, t, tile, transpose,
                    tril, triu, unflatten, unsqueeze, view, view_as, vstack)
from .unbind import unbind
from .unique import unique, unique_consecutive
from .vector_norm import norm

is_array_mode = False  # this namespace works on Tensors (and records a graph when enabled)

__all__ = [
    "abs", "add", "addmm", "addmv", "all", "allclose", "amax", "amin", "any", "argmax", "argmin",
    "argsort", "baddbmm", "bmm", "broadcast_to", "cat", "cdist", "ceil", "chunk", "clamp",
    "clamp_max", "clamp_min", "clip", "clone", "concat", "contiguous", "cos", "count_nonzero",
    "cumprod", "cumsum", "diag", "diag_embed", "diagonal", "div", "dot", "einsum", "elu", "eq",
    "equal", "erf", "exp", "expand", "expand_as", "expm1", "flatten", "flip", "floor", "gather",
    "ge", "gelu", "getitem", "gt", "hstack", "index_add", "index_select", "isclose", "isfinite",
    "isinf", "isnan", "le", "leaky_relu", "lerp", "linear", "log", "log10", "log1p", "log2",
    "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor", "logsumexp", "lt",
    "masked_fill", "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "mul", "mv",
    "nan_to_num", "ne", "neg", "nonzero", "norm", "outer", "pad", "permute", "pow", "prod",
    "reciprocal", "relu", "repeat", "reshape", "roll", "round", "rsqrt", "scatter", "scatter_add",
    "scatter_reduce", "sigmoid", "sign", "silu", "sin", "softmax", "softplus", "sort", "split",
    "sqrt", "square", "squeeze", "stack", "std", "sub", "sum", "sum_to", "t", "tan", "tanh",
    "tensordot", "tile", "to_device", "to_dtype", "topk", "trace", "transpose", "tril", "triu",
    "trunc", "unbind", "unflatten", "unique", "unique_consecutive", "unsqueeze", "var", "view",
    "view_as", "vstack", "where"
]


# ----------------------------------------------------------------------------- Tensor methods
def _attach_methods():
    methods = ["abs", "add", "addmm", "addmv", "all", "allclose", "amax", "amin", "any", "argmax",
               "argmin", "argsort", "baddbmm", "bmm", "ceil", "chunk", "clamp", "clamp_max",
               "clamp_min", "clip", "clone", "contiguous", "cos", "count_nonzero", "cumprod",
               "cumsum", "diag", "diag_embed", "diagonal", "div", "dot", "eq", "equal", "erf",
               "exp", "expand", "expand_as", "expm1", "flatten", "flip", "floor", "gather", "ge",
               "gt", "index_add", "index_select", "isclose", "isfinite", "isinf", "isnan", "le",
               "lerp", "log", "log10", "log1p", "log2", "log_softmax", "logical_not", "logical_or",
               "logical_xor", "logsumexp", "lt", "masked_fill", "matmul", "max", "maximum", "mean",
               "min", "minimum", "mm", "mul", "mv", "nan_to_num", "ne", "neg", "nonzero", "norm",
               "outer", "permute", "pow", "prod", "reciprocal", "relu", "repeat", "reshape",
               "roll", "round", "rsqrt", "scatter", "scatter_add", "scatter_reduce", "sigmoid",
               "sign", "sin", "softmax", "sort", "split", "sqrt", "square", "squeeze", "std",
               "sub", "sum", "t", "tan", "tanh", "tile", "topk", "trace", "transpose", "tril",
               "triu", "trunc", "unbind", "unflatten", "unique", "unique_consecutive", "unsqueeze",
               "var", "view", "view_as"]
    g = globals()
    for name in methods:
        setattr(Tensor, name, g[name])
    operators = {
        "__add__": add, "__radd__": lambda a, b: add(b, a),
        "__sub__": sub, "__rsub__": lambda a, b: sub(b, a),
        "__mul__": mul, "__rmul__": lambda a, b: mul(b, a),
        "__truediv__": div, "__rtruediv__": lambda a, b: div(b, a),
        "__pow__": pow, "__rpow__": lambda a, b: pow(b, a),
        "__matmul__": matmul, "__rmatmul__": lambda a, b: matmul(b, a),
        "__neg__": neg, "__abs__": abs, "__pos__": lambda a: a,
        "__getitem__": getitem,
        "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
        "__and__": logical_and,
        "__invert__": lambda a: eq(a, False),
    }
    for name, fn in operators.items():
        setattr(Tensor, name, fn)
    for name, fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div)):
        setattr(Tensor, f"__i{name}__", in_place_operator(fn, f"__i{name}__"))
    for name, fn in (("add_", add), ("sub_", sub), ("mul_", mul), ("div_", div), ("lerp_", lerp)):
        setattr(Tensor, name, in_place_method(fn, name))
    for name, fn in (("scatter_", scatter), ("scatter_add_", scatter_add),
                     ("scatter_reduce_", scatter_reduce), ("index_add_", index_add)):
        setattr(Tensor, name, in_place_indexed_method(fn, name))
    Tensor.__hash__ = object.__hash__


_attach_methods()
