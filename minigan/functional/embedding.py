"""``embedding``: rows of a weight table picked by integer indices (``nn.Embedding``).

Beyond the book: a conditional GAN that learns its label vectors (``nn.Embedding(10, 10)``
for the ten digits, in the PyTorch tutorials' CGANs) instead of the book's fixed one-hot
labels (BOOK_SPEC 4.15).

Forward is ``take`` along the table's rows. Backward adds each upstream row into the row
its index picked; repeated indices add up. minigan does that as a product with the one-hot
matrix of the indices, ``gW = onehot(idx)^T @ gy``: one GEMM, correct for repeats, and no
scatter (``np.add.at`` does not dispatch to CuPy, and the array API has no scatter-add), so
the same code runs on NumPy, CuPy and array-api-strict. The one-hot matrix is
(number of indices) x (table rows) numbers: small for label embeddings.

``padding_idx``: that row's gradient is always zero (PyTorch's rule), so it stays as it was
initialised (zeros in ``nn.Embedding``). ``scale_grad_by_freq``: each row's gradient is
divided by how often its index occurs in the batch.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function
from ..tensor import Tensor

__all__ = ["embedding", "one_hot"]


class Embedding(Function):
    """y[..., :] = W[idx[...], :]; gW = onehot(idx)^T @ gy (the indices are constants)."""

    def __init__(self, indices, padding_idx=None, scale_grad_by_freq=False):
        self.indices, self.padding_idx, self.scale_grad_by_freq = indices, padding_idx, scale_grad_by_freq

    def forward(self, W):
        xp = self.xp
        flat = xp.reshape(self.indices, (-1,))
        out = xp.take(W, flat, axis=0)
        return xp.reshape(out, tuple(self.indices.shape) + (W.shape[1],))

    def _one_hot(self, xp, n, dtype):
        """(n rows of W, K indices) with a 1 where row r was picked by index k; padding_idx's
        row (and, with scale_grad_by_freq, each row divided by its count) as PyTorch."""
        flat = xp.reshape(self.indices, (1, -1))
        hits = xp.reshape(xp.arange(n, dtype=flat.dtype), (n, 1)) == flat
        if self.padding_idx is not None:
            hits = hits & (flat != self.padding_idx)
        M = xp.astype(hits, dtype)
        if self.scale_grad_by_freq:
            counts = xp.sum(M, axis=1, keepdims=True)
            M = M / xp.maximum(counts, 1.0)
        return M

    def backward(self, F, gy):
        W = self.inputs[0]
        n, d = W.shape
        M = self._one_hot(W.backend.xp, n, W.data.dtype)
        if not F.is_array_mode:
            M = Tensor._wrap(M, W.backend)
        return F.matmul(M, F.reshape(gy, (-1, d)))  # linear in gy: double backward is exact


def _check_indices(input, num_rows, who):
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}: input must be a Tensor of indices, got {type(input).__name__}")
    if input.dtype not in (B.int64, B.int32):
        raise RuntimeError(f"{who}: expected the indices to be an integer tensor (int64 or int32), "
                           f"got {input.dtype.name}")
    if input.numel():
        xp = input.backend.xp
        lo, hi = int(xp.min(input.data)), int(xp.max(input.data))
        if lo < 0 or hi >= num_rows:
            raise IndexError(f"{who}: index out of range in self: the indices go from {lo} to "
                             f"{hi}, but the table has {num_rows} rows")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """``F.embedding``: ``weight[input]`` for an integer tensor ``input`` of any shape;
    output shape ``input.shape + (embedding_dim,)``. ``padding_idx``'s row gets no gradient."""
    who = "embedding"
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError(f"{who}: weight must be a 2-D Tensor (num_embeddings, embedding_dim), "
                           f"got {getattr(weight, 'shape', type(weight).__name__)}")
    if max_norm is not None:
        raise NotImplementedError(f"{who}: max_norm (renormalising rows in place) is not supported")
    if sparse:
        raise NotImplementedError(f"{who}: sparse gradients are not supported; use sparse=False")
    num_rows = weight.shape[0]
    padding_idx = _padding_index(padding_idx, num_rows, who)
    _check_indices(input, num_rows, who)
    if input.backend is not weight.backend:
        raise RuntimeError(f"{who}: expected the indices and the weight on the same device, got "
                           f"{input.device} and {weight.device}")
    return Embedding(input.data, padding_idx, scale_grad_by_freq)(weight)


def _padding_index(padding_idx, num_rows, who):
    """PyTorch's rule: -num_rows <= padding_idx < num_rows, negatives counted from the end."""
    if padding_idx is None:
        return None
    if not -num_rows <= padding_idx < num_rows:
        raise AssertionError(f"{who}: padding_idx must be within num_embeddings ({num_rows}), "
                             f"got {padding_idx}")
    return padding_idx % num_rows


def one_hot(tensor, num_classes=-1):
    """``F.one_hot``: int64 (..., num_classes) with a 1 at each index (no gradient)."""
    if not isinstance(tensor, Tensor) or tensor.dtype != B.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = tensor.backend.xp
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(xp.max(tensor.data)) + 1
    _check_indices(tensor, num_classes, "one_hot")
    flat = xp.reshape(tensor.data, (-1, 1))
    hits = flat == xp.reshape(xp.arange(num_classes, dtype=B.int64), (1, num_classes))
    out = xp.reshape(xp.astype(hits, B.int64), tuple(tensor.shape) + (num_classes,))
    return Tensor._wrap(out, tensor.backend)
