"""``minigan.linalg`` (``torch.linalg``): vector norms, and ``norm`` where it is one.

WGAN-GP's gradient penalty (beyond the book) is ``linalg.vector_norm(grad, 2, dim=1)``; the
norms themselves, with their PyTorch gradients (0 at the zero vector) and second
derivatives, are in :mod:`minigan.functional.vector_norm`.
"""
from __future__ import annotations

from .functional.vector_norm import vector_norm

__all__ = ["vector_norm", "norm"]


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's names
    """``torch.linalg.norm`` for the cases that are vector norms: ``ord=None`` (the 2-norm of
    the flattened input, or over ``dim``; the Frobenius norm over two dims), ``ord='fro'``, and
    a numeric ``ord`` over one dim (or of a 1-D input). Matrix norms (nuclear, spectral,
    induced 1/inf norms) are not supported."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if ord == "fro":
        if (dim is None and A.ndim != 2) or (dim is not None and len(dim) != 2):
            raise RuntimeError(f"linalg.norm: ord='fro' needs a 2-D input or two dims, got shape "
                               f"{A.shape} and dim={dim}")
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if not isinstance(ord, str) and ((dim is None and A.ndim == 1) or (dim is not None and len(dim) == 1)):
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    raise NotImplementedError(f"linalg.norm: ord={ord!r} over a matrix is a matrix norm, which minigan "
                              "does not support; use linalg.vector_norm for vector norms")
