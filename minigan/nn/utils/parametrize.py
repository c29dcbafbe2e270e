"""``torch.nn.utils.parametrize``: a parameter computed from another by a module, on every read.

``register_parametrization(layer, "weight", P)`` moves the layer's parameter to
``layer.parametrizations.weight.original`` and makes ``layer.weight`` a property that returns
``P(original)`` - so the optimiser learns ``original``, while everything that reads
``layer.weight`` (the layer's own forward included) sees the parametrised tensor, with the
gradient flowing back through ``P``. This is how PyTorch's current spectral normalisation
(:func:`minigan.nn.utils.parametrizations.spectral_norm`) is built.

As in PyTorch, the property lives on a class made for the module
(``ParametrizedLinear``, a subclass of ``Linear``); ``remove_parametrizations`` puts the
plain class back. Several parametrizations of one tensor are applied in order; a
parametrization's ``right_inverse`` (if it has one) maps a value assigned to ``layer.weight``
back to ``original``. Not here: PyTorch's ``cached()`` context and parametrizations that
return or take several tensors.
"""
from __future__ import annotations

from ...autograd import no_grad
from ...tensor import Tensor
from ..containers import ModuleDict, ModuleList
from ..module import Module, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "ParametrizationList"]


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, and its ``original`` (parameter or buffer)."""

    def __init__(self, modules, original):
        super().__init__(modules)
        if isinstance(original, Parameter):
            self.register_parameter("original", original)
        else:
            self.register_buffer("original", original)
        self.right_inverse(original.detach())   # the value read stays what it was

    def right_inverse(self, value):
        """``module.<name> = value``: store the value that the parametrizations map to it."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
            self.original.copy_(value)

    def forward(self):
        x = self.original
        for module in self:
            x = module(x)
        return x


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has any parametrization (or one of ``tensor_name``)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations._modules


def _parametrized_property(tensor_name):
    def get(self):
        return self.parametrizations[tensor_name]()

    def set_(self, value):
        self.parametrizations[tensor_name].right_inverse(value)
    return property(get, set_, doc=f"``{tensor_name}``, computed by its parametrizations on every read")


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` on the original tensor
    (appended after those already there). Returns ``module``."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be a Module, got "
                        f"{type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{type(module).__name__}' does not have a parameter, a buffer, "
                         f"or a parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    if not isinstance(original, Tensor):
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is None")
    plist = ParametrizationList([parametrization], original)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"_unparametrized_class": cls})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    module.parametrizations[tensor_name] = plist
    return module


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized=True):
    """Undo :func:`register_parametrization`: ``module.<tensor_name>`` is a plain parameter
    (or buffer) again, holding the parametrised value (``leave_parametrized``) or the
    original one."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {type(module).__name__} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    original = plist.original
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
            original.copy_(value)
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module._unparametrized_class
    return module
