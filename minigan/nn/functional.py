"""``minigan.nn.functional`` (``import minigan.nn.functional as F``): PyTorch's ``torch.nn.functional``."""
from ..functional import *  # noqa: F401,F403

# --- losses, normalisation, dropout (layers work) ---
from ..functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                              cross_entropy, l1_loss, mse_loss, nll_loss)
from ..functional.norm import batch_norm, dropout, instance_norm, layer_norm  # noqa: F401
from ..functional.image_blocks import (adaptive_avg_pool2d, dropout2d, pixel_shuffle,  # noqa: F401
                                       pixel_unshuffle, prelu)
from ..functional.vector_norm import normalize  # noqa: F401
# --- conv2d, conv_transpose2d (conv work) ---
from ..functional.conv import conv2d, conv_transpose2d  # noqa: E402,F401
# --- pooling, resizing, embedding (issue 10) ---
from ..functional.embedding import embedding, one_hot  # noqa: E402,F401
from ..functional.interpolate import (interpolate, upsample, upsample_bilinear,  # noqa: E402,F401
                                      upsample_nearest)
from ..functional.pool import avg_pool2d, max_pool2d, max_pool2d_with_indices  # noqa: E402,F401
# --- attention ---
from ..functional.attention import scaled_dot_product_attention  # noqa: E402,F401
