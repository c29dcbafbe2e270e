"""``minigan.nn.functional`` (``import minigan.nn.functional as F``): PyTorch's ``torch.nn.functional``."""
from ..functional import *  # noqa: F401,F403

# --- losses, normalisation, dropout (layers work) ---
# --- conv2d, conv_transpose2d (conv work) ---
