"""minigan: a from-scratch reverse-mode autograd engine on NumPy and CuPy, PyTorch-shaped.

``import minigan as torch`` runs the code of Tariq Rashid's *Make Your First GAN With
PyTorch*: the same names (``tensor``, ``zeros``, ``randn``, ``cat``, ``no_grad``,
``nn``, ``optim``, ``cuda`` ...), arguments, defaults and semantics.

Reading order for learners: backend.py -> tensor.py -> autograd.py -> array_ops.py ->
functional/ (arithmetic, reduction, shape, activation) -> gradcheck.py -> testing.py.
"""
from __future__ import annotations

from . import backend as _backend
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (bool_ as bool, device, float32, float64, get_default_dtype, int32,  # noqa: A004
                      int64, manual_seed, set_default_dtype, uint8)
from .functional import *  # noqa: F401,F403  (every op is also a top-level function)
from .functional import __all__ as _functional_names
from .tensor import (DoubleTensor, FloatTensor, LongTensor, Tensor, arange, as_tensor, bernoulli, empty,
                     empty_like, eye, from_numpy, full, full_like, linspace, multinomial, normal, ones,
                     ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros,
                     zeros_like)
from . import autograd, cuda, nn  # noqa: E402
# --- optim, utils.data, save/load (optimiser work) ---
from . import optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402
# --- viz (engine work) ---
from . import viz  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
# --- torch.linalg's vector norms (issue 10) ---
from . import linalg  # noqa: E402

__version__ = "0.1.0"

float = float32  # noqa: A001 - PyTorch's alias
double = float64
long = int64
int = int32  # noqa: A001


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor):
    return t.numel()


def set_default_tensor_type(t) -> None:
    """``set_default_tensor_type(torch.cuda.FloatTensor)`` as in the book's CelebA notebooks:
    sets the default dtype and device of creation functions (``rand``, ``randn`` ...)."""
    if isinstance(t, str):
        on_cuda = ".cuda." in t
        name = t.rsplit(".", 1)[-1]
        dtype = {"FloatTensor": float32, "DoubleTensor": float64}.get(name)
        if dtype is None:
            raise TypeError(f"set_default_tensor_type: unsupported type {t!r}")
        device_type = "cuda" if on_cuda else "cpu"
    else:
        dtype, device_type = t.dtype, t.device_type
    _backend.set_default_device(device_type)
    set_default_dtype(dtype)


def set_default_device(dev) -> None:
    _backend.set_default_device(dev)


def get_default_device():
    return _backend.get_default_device()


__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full",
           "arange", "linspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like",
           "rand_like", "randn_like", "full_like", "empty_like", "normal", "bernoulli", "multinomial",
           "inference_mode", "FloatTensor", "DoubleTensor", "LongTensor",
           "float32", "float64", "int32", "int64", "uint8", "bool", "device", "manual_seed",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "gradcheck",
           "gradgradcheck", "set_default_dtype", "get_default_dtype", "set_default_tensor_type",
           "set_default_device", "get_default_device", "is_tensor", "numel", "autograd", "cuda", "nn",
           "optim", "utils", "save", "load", "viz", "linalg",
           *_functional_names]
