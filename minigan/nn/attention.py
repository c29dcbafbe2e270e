"""``MultiheadAttention``: PyTorch's ``nn.MultiheadAttention`` ("Attention Is All You Need").

Not used by the book; here for the attention GANs after it (SAGAN-style blocks) and for users
coming from PyTorch. The query, key and value are each projected to ``embed_dim`` numbers,
split into ``num_heads`` heads of ``head_dim = embed_dim / num_heads``, every head runs
scaled dot-product attention on its own, and the heads' outputs are joined and projected
once more (``out_proj``)::

    head_i = attention(query W_q,i, key W_k,i, value W_v,i)
    output = cat(head_1, ..., head_h) W_o + b_o

Shapes (PyTorch's): L queries, S keys/values, N samples, E = ``embed_dim``. Inputs are
(L, N, E) (``batch_first=False``, the default), (N, L, E) (``batch_first=True``) or one
unbatched sample (L, E). The key has ``kdim`` features and the value ``vdim`` (both E unless
given). The weights returned are (N, L, S) averaged over the heads, or (N, num_heads, L, S).

Masks, PyTorch's way round *for this layer* (the opposite of ``scaled_dot_product_attention``'s
bool mask): True in ``key_padding_mask`` (N, S) or ``attn_mask`` (L, S) / (N*num_heads, L, S)
means "do not attend". A float mask is added to the scores instead. Both become one additive
mask of -inf and 0.

The parameters are PyTorch's, by name, shape and starting distribution, so a PyTorch
``state_dict`` loads as it is: ``in_proj_weight`` (3E, E) holding W_q, W_k, W_v one above the
other (or ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim)
when kdim or vdim differ from E), ``in_proj_bias`` (3E), ``bias_k`` and ``bias_v`` (1, 1, E)
with ``add_bias_kv``, and ``out_proj`` a Linear(E, E).

The forward follows ``torch.nn.functional.multi_head_attention_forward`` step by step, both
of its paths included: with ``need_weights=True`` the weights are computed here and returned;
with ``need_weights=False`` the heads go through ``F.scaled_dot_product_attention``. One
departure: a query that may attend to no key at all (every key padded or masked) gets weights
and an output of zeros (before ``out_proj``) on both paths; PyTorch gives zeros only on the
second and NaN on the first (a softmax of a row of -inf), which would poison a whole batch's
gradients.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..functional.arithmetic import linear
from ..functional.attention import SafeSoftmax, scaled_dot_product_attention
from ..functional.contraction import baddbmm
from ..functional.norm import dropout
from ..functional.shape import cat, pad
from ..tensor import Tensor, empty, zeros
from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """``nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None, dtype=None)``.

    ``dropout`` drops attention weights while training; ``add_bias_kv`` appends one learnt
    key and value (``bias_k``, ``bias_v``) to every sequence; ``add_zero_attn`` appends a key
    and value of zeros after the heads are split. ``forward`` returns ``(output, weights)``
    (weights None when ``need_weights=False``)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        make = dict(device=device, dtype=dtype)
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise AssertionError(f"MultiheadAttention: embed_dim must be divisible by num_heads "
                                 f"(embed_dim={embed_dim}, num_heads={num_heads})")
        e = self.embed_dim
        if self._qkv_same_embed_dim:                       # PyTorch's registration order
            self.in_proj_weight = Parameter(empty(3 * e, e, **make))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(e, e, **make))
            self.k_proj_weight = Parameter(empty(e, self.kdim, **make))
            self.v_proj_weight = Parameter(empty(e, self.vdim, **make))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * e, **make))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, **make)   # NonDynamicallyQuantizableLinear there
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, e, **make))
            self.bias_v = Parameter(empty(1, 1, e, **make))
        else:
            self.bias_k = self.bias_v = None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's: Glorot-uniform projections, zero biases (out_proj's too), Glorot-normal
        bias_k and bias_v; out_proj's weight keeps Linear's default."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    _reset_parameters = reset_parameters   # PyTorch's name for it

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")

    # ------------------------------------------------------------------ forward
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """(output, weights): output like ``query`` with E features; weights (N, L, S), or
        (N, num_heads, L, S) with ``average_attn_weights=False``, (L, S) / (num_heads, L, S)
        for an unbatched query, or None with ``need_weights=False``."""
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        key_padding_mask = _additive(key_padding_mask, "key_padding_mask", query)
        attn_mask = _additive(attn_mask, "attn_mask", query)
        if batched and self.batch_first:   # to (L, N, E), keeping "query is key" for self-attention
            query, key, value = _seq_first(query, key, value)
        if not batched:                    # one sample: a batch of one, squeezed at the end
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        output, weights = self._attend(query, key, value, key_padding_mask, need_weights,
                                       attn_mask, average_attn_weights, is_causal)
        if not batched:
            return output.squeeze(1), None if weights is None else weights.squeeze(0)
        if self.batch_first:
            output = output.transpose(1, 0)
        return output, weights

    def _attend(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                average_attn_weights, is_causal):
        """``F.multi_head_attention_forward`` on (L, N, E) inputs and additive masks."""
        length, n, e = query.shape
        heads, head_dim = self.num_heads, self.head_dim
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: Need attn_mask if specifying the is_causal hint. "
                               "You may use the Transformer module method "
                               "`generate_square_subsequent_mask` to create this mask.")
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = None               # the hint alone: scaled_dot_product_attention's causal mask
        else:
            is_causal = False              # the mask given is used as it is
        self._check_embeddings(query, key, value)
        q, k, v = self._in_projection(query, key, value)
        source = key.shape[0]
        if attn_mask is not None:
            attn_mask = self._mask_3d(attn_mask, n, length, source)
        if self.bias_k is not None:        # one more key and value, learnt, for every sample
            k = cat([k, self.bias_k.repeat(1, n, 1)])
            v = cat([v, self.bias_v.repeat(1, n, 1)])
            attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
        # (L, N, E) -> (N*heads, L, head_dim): the heads become batch entries
        q = q.reshape(length, n * heads, head_dim).transpose(0, 1)
        k = k.reshape(k.shape[0], n * heads, head_dim).transpose(0, 1)
        v = v.reshape(v.shape[0], n * heads, head_dim).transpose(0, 1)
        if self.add_zero_attn:             # one more key and value of zeros, per head
            z = zeros(n * heads, 1, head_dim, dtype=k.dtype, device=k.device)
            k, v = cat([k, z], dim=1), cat([v, z], dim=1)
            attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
        source = k.shape[1]
        if key_padding_mask is not None:   # (N, S) -> (N*heads, 1, S), merged into attn_mask
            if tuple(key_padding_mask.shape) != (n, source):
                raise AssertionError(f"MultiheadAttention: Expected key_padded_mask.shape to be "
                                     f"{(n, source)} (N, S), but got {tuple(key_padding_mask.shape)}")
            key_padding_mask = (key_padding_mask.reshape(n, 1, 1, source)
                                .expand(n, heads, 1, source).reshape(n * heads, 1, source))
            attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
        p = self.dropout if self.training else 0.0

        if need_weights:                   # PyTorch's explicit path: the weights are returned
            q = q * math.sqrt(1.0 / head_dim)
            kt = k.transpose(-2, -1)
            scores = q @ kt if attn_mask is None else baddbmm(attn_mask, q, kt)
            weights = SafeSoftmax()(scores)     # (PyTorch: softmax, NaN on a fully masked row)
            if p > 0.0:
                weights = dropout(weights, p)
            output = (weights @ v).transpose(0, 1).reshape(length * n, e)
            output = self.out_proj(output).reshape(length, n, e)
            weights = weights.reshape(n, heads, length, source)
            return output, weights.mean(dim=1) if average_attn_weights else weights

        if attn_mask is not None:          # (1 or N*heads, L or 1, S) -> (1 or N, heads, L or 1, S)
            attn_mask = (attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1
                         else attn_mask.reshape(n, heads, -1, source))
        output = scaled_dot_product_attention(q.reshape(n, heads, length, head_dim),
                                              k.reshape(n, heads, source, head_dim),
                                              v.reshape(n, heads, source, head_dim),
                                              attn_mask, p, is_causal)
        output = output.permute(2, 0, 1, 3).reshape(length * n, e)
        return self.out_proj(output).reshape(length, n, e), None

    def _in_projection(self, query, key, value):
        """query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v; self-attention (one tensor
        for all three) as one product with the packed weight."""
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
        if self._qkv_same_embed_dim:
            if query is key and key is value:
                return linear(query, self.in_proj_weight, b).chunk(3, dim=-1)
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)

    # ------------------------------------------------------------------ checks (PyTorch's words)
    def _check_shapes(self, query, key, value, key_padding_mask, attn_mask):
        """PyTorch's ``_mha_shape_check``: True for a batched (3-D) query, False for 2-D."""
        for name, t in (("query", query), ("key", key), ("value", value),
                        ("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if not (isinstance(t, Tensor) or (t is None and "mask" in name)):
                raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(t).__name__}")
        shapes = (f"(query {tuple(query.shape)}, key {tuple(key.shape)}, "
                  f"value {tuple(value.shape)})")
        if query.ndim not in (2, 3):
            raise AssertionError(f"MultiheadAttention: query should be unbatched 2D or batched 3D "
                                 f"tensor but received {query.ndim}-D query tensor {shapes}")
        kind = "batched (3-D)" if query.ndim == 3 else "unbatched (2-D)"
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"MultiheadAttention: For {kind} `query`, expected `key` and "
                                 f"`value` to be {query.ndim}-D but found {key.ndim}-D and "
                                 f"{value.ndim}-D tensors respectively {shapes}")
        if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
            raise AssertionError(f"MultiheadAttention: For {kind} `query`, expected "
                                 f"`key_padding_mask` to be `None` or {query.ndim - 1}-D but found "
                                 f"{key_padding_mask.ndim}-D tensor instead {shapes}")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(f"MultiheadAttention: For {kind} `query`, expected `attn_mask` "
                                     f"to be `None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor "
                                     f"instead {shapes}")
            if query.ndim == 2 and attn_mask.ndim == 3:
                expected = (self.num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"MultiheadAttention: Expected `attn_mask` shape to be "
                                         f"{expected} but got {tuple(attn_mask.shape)} {shapes}")
        return query.ndim == 3

    def _check_embeddings(self, query, key, value):
        """(L, N, E) query and (S, N, kdim) key, (S, N, vdim) value: the sizes agree."""
        shapes = (f"(query {tuple(query.shape)}, key {tuple(key.shape)}, "
                  f"value {tuple(value.shape)}, sequence first)")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"MultiheadAttention: was expecting embedding dimension of "
                                 f"{self.embed_dim}, but got {query.shape[-1]} {shapes}")
        if self._qkv_same_embed_dim:
            if tuple(key.shape) != tuple(value.shape):
                raise AssertionError(f"MultiheadAttention: key shape {tuple(key.shape)} does not "
                                     f"match value shape {tuple(value.shape)}")
        elif tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"MultiheadAttention: key's sequence and batch dims "
                                 f"{tuple(key.shape[:2])} do not match value's {tuple(value.shape[:2])}")
        if key.shape[1] != query.shape[1]:
            raise AssertionError(f"MultiheadAttention: query and key must have the same batch "
                                 f"size N, got {query.shape[1]} and {key.shape[1]} {shapes}")
        for name, t, want in (("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != want:
                raise AssertionError(f"MultiheadAttention: {name} has {t.shape[-1]} features but "
                                     f"{name[0]}dim is {want} {shapes}")

    def _mask_3d(self, attn_mask, n, length, source):
        """attn_mask as (1, L, S) or (N*num_heads, L, S), checked."""
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (length, source):
                raise RuntimeError(f"MultiheadAttention: The shape of the 2D attn_mask is "
                                   f"{tuple(attn_mask.shape)}, but should be {(length, source)}.")
            return attn_mask.unsqueeze(0)
        if tuple(attn_mask.shape) != (n * self.num_heads, length, source):
            raise RuntimeError(f"MultiheadAttention: The shape of the 3D attn_mask is "
                               f"{tuple(attn_mask.shape)}, but should be "
                               f"{(n * self.num_heads, length, source)}.")
        return attn_mask


def _seq_first(query, key, value):
    """(N, L, E) -> (L, N, E) for all three, one transpose per distinct tensor (PyTorch keeps
    ``query is key is value`` true, which picks the packed projection)."""
    if key is value:
        if query is key:
            query = key = value = query.transpose(1, 0)
        else:
            query, key = query.transpose(1, 0), key.transpose(1, 0)
            value = key
        return query, key, value
    return query.transpose(1, 0), key.transpose(1, 0), value.transpose(1, 0)


def _additive(mask, name, query):
    """PyTorch's ``_canonical_mask``: a bool mask (True = do not attend) as 0 / -inf in the
    query's dtype; a float mask as it is (cast to the query's dtype); others refused."""
    if mask is None:
        return None
    if mask.dtype == B.bool_:
        return zeros(tuple(mask.shape), dtype=query.dtype, device=mask.device).masked_fill(mask, -math.inf)
    if mask.dtype not in B.FLOAT_DTYPES:
        raise AssertionError(f"MultiheadAttention: only bool and floating types of {name} are "
                             f"supported, got {mask.dtype.name}")
    return mask.to(query.dtype)
