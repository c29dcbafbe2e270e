"""``minigan.nn``: modules in PyTorch's names (``import minigan as torch; torch.nn.Linear``)."""
from . import functional, init  # noqa: F401
from .module import Module, Parameter

# --- containers, linear, activations, losses, normalisation (layers work) ---
# --- convolutions (conv work) ---

__all__ = [name for name in dir() if not name.startswith("_")]
