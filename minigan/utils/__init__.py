"""``minigan.utils``: PyTorch's ``torch.utils`` names (``utils.data.Dataset``, ``DataLoader``)."""
from . import data

__all__ = ["data"]
