"""Attention: ``scaled_dot_product_attention``, PyTorch's ``F.scaled_dot_product_attention``.

Each query row looks at every key, scores it by a dot product, turns the scores into weights
that sum to 1 (a softmax over the keys) and returns the weighted sum of the values::

    attention(Q, K, V) = softmax(Q K^T * scale + mask) V          scale = 1 / sqrt(E)

Shapes (PyTorch's notation): query (N..., L, E), key (N..., S, E), value (N..., S, Ev) ->
(N..., L, Ev), where N... are any batch dimensions (heads among them; they broadcast), L the
number of queries, S of keys and values, E their width, Ev the values' width. The weights are
(N..., L, S): one row per query, one column per key.

The mask says which keys a query may see, PyTorch's way round:

* a **bool** mask is True where a query *takes part* (attends); False scores become -inf;
* a **float** mask is added to the scores (-inf hides a key; other values bias it);
* ``is_causal=True`` is the bool mask ``ones(L, S).tril()``: query i sees keys 0..i, aligned at
  the top-left corner as PyTorch does (for L > S the last queries see every key).

A query that sees no key at all (a row of the scores that is -inf throughout) gets weights of
0, so an output of 0 and zero gradients, where a plain softmax would give 0/0 = NaN: PyTorch
(2.5 and later, checked against 2.13) does the same with its ``_safe_softmax``.

The gradient needs nothing new: the function is composed of matmul, mul, masked_fill/add,
dropout and the softmax below, whose backward is the ordinary softmax's, written on its
output y (so a row of zeros passes back zeros) and itself differentiable: ``create_graph=True``
gives second derivatives. A single fused node would save a few Python calls but no arithmetic:
the two products dominate at every size where attention is worth computing.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..tensor import Tensor
from .activation import Softmax
from .norm import dropout

__all__ = ["scaled_dot_product_attention"]

OP = "scaled_dot_product_attention"


class SafeSoftmax(Softmax):
    """Softmax over the last axis that gives 0 (not NaN) on a row that is -inf throughout.

    The backward is Softmax's, gy*y - y*sum(gy*y): it is written on the output y, so a row of
    zero weights sends back a zero gradient (and the masked scores' gradient is zero anyway)."""

    def __init__(self):
        super().__init__(-1)

    def forward(self, x):
        xp = self.xp
        if x.shape[-1] == 0:                       # no keys at all (S = 0): no weights, output 0
            return xp.zeros_like(x)
        top = xp.max(x, axis=-1, keepdims=True)
        dead = top == -math.inf                    # every key hidden from this query
        top = xp.where(dead, xp.zeros_like(top), top)
        e = xp.exp(x - top)                        # a dead row: exp(-inf) = 0 throughout
        total = xp.sum(e, axis=-1, keepdims=True)
        return e / xp.where(dead, xp.ones_like(total), total)   # 0 / 1 there, not 0 / 0


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``F.scaled_dot_product_attention``: softmax(Q K^T * scale + mask) V (module docstring).

    ``attn_mask``: bool (True = attend) or float (added), broadcastable to (N..., L, S).
    ``is_causal``: query i sees keys 0..i (not together with ``attn_mask``, as PyTorch).
    ``dropout_p``: drop attention weights with this probability (and scale the rest by
    1/(1-p)) whenever it is > 0, training or not, as PyTorch; the mask comes from minigan's
    seeded generator. ``scale``: 1/sqrt(E) by default. ``enable_gqa``: grouped-query
    attention, query with Hq heads (dimension -3) and key/value with H heads, H dividing Hq:
    each key/value head serves Hq/H consecutive query heads (PyTorch's repeat_interleave).
    """
    _check(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    e = query.shape[-1]
    if scale is None:
        scale = 1.0 / math.sqrt(e) if e else math.inf   # E = 0: inf times an empty query, as PyTorch
    scores = (query * scale) @ key.transpose(-2, -1)     # (N..., L, S); Q scaled, as PyTorch's MHA
    if is_causal:
        attn_mask = _causal_mask(query.shape[-2], key.shape[-2], query.backend)
    if attn_mask is not None:
        _check_mask_shape(attn_mask, tuple(scores.shape), query, key, value)
        if attn_mask.dtype == B.bool_:
            scores = scores.masked_fill(~attn_mask, -math.inf)
        else:
            scores = scores + attn_mask.to(scores.dtype)
    weights = SafeSoftmax()(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def _causal_mask(length, source_length, backend):
    """The (L, S) bool mask ``ones(L, S).tril()``: True at (i, j) for j <= i."""
    xp = backend.xp
    rows = xp.reshape(xp.arange(length), (length, 1))
    cols = xp.reshape(xp.arange(source_length), (1, source_length))
    return Tensor._wrap(cols <= rows, backend)


def _repeat_heads(query, key, value):
    """Key and value with their H heads (dimension -3) each repeated Hq/H times in place,
    (..., H, S, E) -> (..., Hq, S, E), as ``repeat_interleave(Hq // H, dim=-3)``."""
    shapes = _shapes(query, key, value)
    if min(query.ndim, key.ndim, value.ndim) < 3:
        raise RuntimeError(f"{OP}: enable_gqa=True needs query, key and value with a heads "
                           f"dimension (-3), got {shapes}")
    heads = query.shape[-3]
    if heads % key.shape[-3] or heads % value.shape[-3]:
        raise RuntimeError(f"{OP}: Number of heads in key and value must divide the number of "
                           f"heads in query (enable_gqa=True): key has {key.shape[-3]}, value "
                           f"{value.shape[-3]}, query {heads} ({shapes})")

    def repeated(t):
        groups = heads // t.shape[-3]
        if groups == 1:
            return t
        *batch, h, s, e = t.shape
        return t.unsqueeze(-3).expand(*batch, h, groups, s, e).reshape(*batch, h * groups, s, e)
    return repeated(key), repeated(value)


def _shapes(query, key, value):
    return (f"query {tuple(query.shape)}, key {tuple(key.shape)}, "
            f"value {tuple(value.shape)}")


def _check(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa):
    """PyTorch's refusals (in its words where it has them), each naming the shapes."""
    for name, t in (("query", query), ("key", key), ("value", value), ("attn_mask", attn_mask)):
        if not (isinstance(t, Tensor) or (t is None and name == "attn_mask")):
            raise TypeError(f"{OP}: {name} must be a Tensor, got {type(t).__name__}")
    shapes = _shapes(query, key, value)
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"{OP}: Expected query, key, and value to all be at least 2 dimensional, "
                           f"but got query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: "
                           f"{value.ndim} instead ({shapes})")
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"{OP}: Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype.name} key.dtype: {key.dtype.name} and "
                           f"value.dtype: {value.dtype.name} instead")
    if query.dtype not in B.FLOAT_DTYPES:
        raise RuntimeError(f"{OP}: expected floating-point query, key and value, got "
                           f"{query.dtype.name}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{OP}: query and key must have the same last dimension (E), got "
                           f"{query.shape[-1]} and {key.shape[-1]} ({shapes})")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{OP}: key and value must have the same sequence length (S, "
                           f"dimension -2), got {key.shape[-2]} and {value.shape[-2]} ({shapes})")
    batch = slice(0, -3 if enable_gqa else -2)     # (the heads are _repeat_heads' to check)
    try:
        np.broadcast_shapes(query.shape[batch], key.shape[batch], value.shape[batch])
    except ValueError:
        raise RuntimeError(f"{OP}: the batch dimensions of query, key and value do not "
                           f"broadcast ({shapes})") from None
    if attn_mask is not None:
        if attn_mask.ndim == 0:
            raise RuntimeError(f"{OP}: attn_mask must have at least 1 dimension (S), got a 0-d tensor")
        if is_causal:
            raise RuntimeError(f"{OP}: Explicit attn_mask should not be set when is_causal=True")
        if attn_mask.dtype != B.bool_ and attn_mask.dtype not in B.FLOAT_DTYPES:
            raise RuntimeError(f"{OP}: Expected attn_mask dtype to be bool or float or to match "
                               f"query dtype, but got attn_mask.dtype: {attn_mask.dtype.name} and "
                               f"query.dtype: {query.dtype.name} instead")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{OP}: dropout probability has to be between 0 and 1, but got {dropout_p}")


def _check_mask_shape(attn_mask, scores_shape, query, key, value):
    """The mask must broadcast to the weights' shape (N..., L, S) without enlarging it."""
    try:
        fits = np.broadcast_shapes(tuple(attn_mask.shape), scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"{OP}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to "
                           f"the attention weights' shape {scores_shape} (N..., L, S) "
                           f"({_shapes(query, key, value)})")
