"""``minigan.nn``: modules in PyTorch's names (``import minigan as torch; torch.nn.Linear``)."""
from . import functional, init  # noqa: F401
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "functional", "init"]
