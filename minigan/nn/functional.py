"""``minigan.nn.functional`` (``import minigan.nn.functional as F``): PyTorch's ``torch.nn.functional``."""
from ..functional import *  # noqa: F401,F403
from ..functional import __all__  # noqa: F401
