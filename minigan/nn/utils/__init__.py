"""``torch.nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``, here),
spectral normalisation (``spectral_norm``, ``remove_spectral_norm``, in spectral_norm.py) and
parametrizations (``parametrize``, and ``parametrizations.spectral_norm``, PyTorch's newer
spectral normalisation).

The clipping functions are called between ``loss.backward()`` and ``optimiser.step()`` (GAN code clips a critic's or a
generator's gradients this way). Both change the gradients in place and record nothing.
``clip_grad_norm_`` is PyTorch's to the letter: the total norm is the norm of the
per-parameter norms, and every gradient is multiplied by ``min(max_norm / (total + 1e-6),
1)`` - also when that is 1, so the numbers are the same as PyTorch's.
"""
from __future__ import annotations

import math

from ...autograd import no_grad
from ...functional import clamp, stack
from ...functional.vector_norm import vector_norm
from ...tensor import Tensor, tensor
from . import parametrizations, parametrize  # noqa: F401
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "remove_spectral_norm", "spectral_norm",
           "parameters_to_vector", "vector_to_parameters"]


def _grads(parameters):
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of ``parameters`` so that their total ``norm_type``-norm is at most
    ``max_norm``; return the total norm before clipping (a 0-d tensor). ``foreach`` selects a
    PyTorch kernel and is accepted for compatibility only."""
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return tensor(0.0)
    devices = {g.device for g in grads}
    if len(devices) > 1:
        raise RuntimeError(f"clip_grad_norm_: gradients on several devices: {sorted(map(str, devices))}")
    with no_grad():
        total = vector_norm(stack([vector_norm(g, norm_type) for g in grads]), norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                               f"gradients is non-finite ({total.item()}), so it cannot be clipped; "
                               f"error_if_nonfinite=False would clip anyway")
        factor = clamp(max_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(factor.to(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of ``parameters`` into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters):
    """Every parameter flattened and joined into one vector (a differentiable ``cat``)."""
    from ...functional import cat
    params = list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: no parameters given")
    device = params[0].device
    for p in params:
        if p.device != device:
            raise TypeError(f"Found two parameters on different devices, this is currently not "
                            f"supported: {device} and {p.device}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """The inverse: ``vec``'s numbers copied back into the parameters, in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(f"vector_to_parameters: a vector of {total} numbers is needed for these "
                           f"parameters, got shape {tuple(vec.shape)}")
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[start:start + n].reshape(p.shape))
            start += n
