"""``torch.nn.utils.parametrizations.spectral_norm``: PyTorch's current spectral normalisation,
built on :mod:`minigan.nn.utils.parametrize` (the older hook-based one is
:func:`minigan.nn.utils.spectral_norm`, in spectral_norm.py).

The layer's weight moves to ``parametrizations.weight.original`` and every read of
``layer.weight`` returns ``original / sigma``, ``sigma = u . (W v)`` with ``W`` the weight as
a matrix (axis ``dim`` first; ``dim`` is 1 for ConvTranspose2d, else 0). ``u`` and ``v``
(buffers ``parametrizations.weight.0._u`` and ``_v``) start random, take 15 steps of power
iteration at once, then one more step (``u = normalize(W v)``, then ``v = normalize(W^T u)``:
the other order from the old function's) at every read in training mode, none in eval mode.
A 1-d weight is simply divided by its norm. As PyTorch's, to the numbers: tested in float64
on Linear, Conv2d and ConvTranspose2d.
"""
from __future__ import annotations

from ...autograd import no_grad
from ...functional.vector_norm import normalize
from ...tensor import Tensor
from ..module import Module
from .parametrize import register_parametrization
from .spectral_norm import default_dim, random_unit_vectors, weight_matrix

__all__ = ["spectral_norm"]


class _SpectralNorm(Module):
    """The parametrization: ``weight -> weight / sigma(weight)``."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] "
                             f"but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = weight_matrix(weight, self.dim)
            u, v = random_unit_vectors(matrix, eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(matrix, 15)

    def _power_method(self, matrix, n_power_iterations):
        with no_grad():
            for _ in range(n_power_iterations):
                self._buffers["_u"] = normalize(matrix.mv(self._v), dim=0, eps=self.eps)
                self._buffers["_v"] = normalize(matrix.t().mv(self._u), dim=0, eps=self.eps)

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        matrix = weight_matrix(weight, self.dim)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        sigma = self._u.dot(matrix.mv(self._v))   # u, v are constants here: buffers, no graph
        return weight / sigma

    def right_inverse(self, value):
        """A weight assigned to the layer is stored as it is (assumed normalised already)."""
        return value


def spectral_norm(module: Module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``torch.nn.utils.parametrizations.spectral_norm``: ``module.<name>`` becomes its
    spectrally normalised value on every read; returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{type(module).__name__}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = default_dim(module)
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
