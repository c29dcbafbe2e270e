"""Spectral normalisation (Miyato et al. 2018): a layer's weight divided by its largest
singular value, so the layer is (about) 1-Lipschitz - the SN-GAN discriminator's constraint.

``nn.utils.spectral_norm(layer)`` is PyTorch's ``torch.nn.utils.spectral_norm``, to the
letter: the layer's learnt parameter becomes ``weight_orig``; ``weight_u`` and ``weight_v``
(buffers, saved in the state dict) hold estimates of the first left and right singular
vectors of the weight seen as a matrix (its ``dim`` axis first, the rest flattened: ``dim`` is
1 for ConvTranspose2d, whose weight is (in, out, kh, kw), else 0); and before every forward a
pre-hook (:mod:`minigan.nn.hooks`) sets the plain attribute ``weight`` to::

    weight_orig / sigma,    sigma = u . (W v)

In training mode ``u`` and ``v`` first take ``n_power_iterations`` steps of power iteration
(``v = normalize(W^T u)``, ``u = normalize(W v)``), without a graph: one step per forward is
enough because the weight moves little between steps. In eval mode they stay as they are.
The gradient reaches ``weight_orig`` through ``sigma`` too (u and v are constants there), as
in the paper's eq. 12. ``remove_spectral_norm(layer)`` puts back a plain ``weight``
parameter holding the normalised weight.
"""
from __future__ import annotations

from ...autograd import no_grad
from ...functional.vector_norm import normalize
from ..hooks import PRE
from ..module import Module, Parameter

__all__ = ["spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook that recomputes ``module.<name>`` (PyTorch's class of that name)."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        matrix = weight_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v = normalize(matrix.t().mv(u), dim=0, eps=self.eps)
                    u = normalize(matrix.mv(v), dim=0, eps=self.eps)
            module._buffers[self.name + "_u"], module._buffers[self.name + "_v"] = u, v
        sigma = u.dot(matrix.mv(v))
        return weight / sigma

    def __call__(self, module, args):
        object.__setattr__(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        self.handle.remove()
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in _spectral_norms(module):
            if hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        from ..normalization import _NORM_LAYERS
        if isinstance(module, _NORM_LAYERS):
            raise ValueError(f"spectral_norm: not supported on {type(module).__name__} (its forward "
                             "reads its parameters directly); use it on Linear, Conv2d, "
                             "ConvTranspose2d, Embedding or a module that reads self.weight")
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r} "
                             f"(its parameters: {', '.join(module._parameters) or 'none'})")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        u, v = random_unit_vectors(weight_matrix(weight, dim), eps)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        # ``weight`` stays readable as a plain attribute (init code, printing), as in PyTorch
        object.__setattr__(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        fn.handle = module.register_forward_pre_hook(fn)
        return fn


def _spectral_norms(module):
    return [hook for hook, _ in module.__dict__.get(PRE, {}).values() if isinstance(hook, SpectralNorm)]


def default_dim(module):
    """The weight axis that counts output channels: 1 for ConvTranspose2d ((in, out, kh, kw)),
    else 0 - the matrix's rows, in both spectral norms."""
    from ..conv import ConvTranspose2d
    return 1 if isinstance(module, ConvTranspose2d) else 0


def weight_matrix(weight, dim):
    """The weight as a matrix: axis ``dim`` first, the others flattened into columns."""
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.ndim) if d != dim])
    return weight.reshape(weight.shape[0], -1)


def random_unit_vectors(matrix, eps):
    """Power iteration's random start, (u, v) for the rows and columns of ``matrix``, drawn as
    PyTorch draws them: ``normal_`` from the seeded generator, then normalised."""
    with no_grad():
        h, w = matrix.shape
        u = normalize(matrix.new_empty(h).normal_(0, 1), dim=0, eps=eps)
        v = normalize(matrix.new_empty(w).normal_(0, 1), dim=0, eps=eps)
    return u, v


def spectral_norm(module: Module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``torch.nn.utils.spectral_norm``: divide ``module.<name>`` by its spectral norm before
    every forward (estimated by power iteration); returns ``module``."""
    SpectralNorm.apply(module, name, n_power_iterations, default_dim(module) if dim is None else dim, eps)
    return module


def remove_spectral_norm(module: Module, name="weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` is a plain parameter again, holding the
    normalised weight."""
    for hook in _spectral_norms(module):
        if hook.name == name:
            hook.remove(module)
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
