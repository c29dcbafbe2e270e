"""``minigan.nn``: modules in PyTorch's names (``import minigan as torch; torch.nn.Linear``)."""
from . import functional, init, utils  # noqa: F401
from .module import Module, Parameter

# --- containers, linear, activations, losses, normalisation (layers work) ---
from .activation import (ELU, GELU, LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, SiLU, Softmax, Softplus,
                         Tanh)
from .containers import Flatten, Identity, ModuleDict, ModuleList, Sequential, Unflatten
from .dropout import Dropout, Dropout2d
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .normalization import BatchNorm1d, BatchNorm2d, InstanceNorm1d, InstanceNorm2d, LayerNorm
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d,
                      ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, ZeroPad1d, ZeroPad2d)
# --- convolutions (conv work) ---
from .conv import Conv2d, ConvTranspose2d  # noqa: E402
# --- pooling, resizing, embedding (issue 10) ---
from .pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: E402
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: E402
from .sparse import Embedding  # noqa: E402
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402
# --- attention ---
from .attention import MultiheadAttention  # noqa: E402
# --- recurrent layers ---
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402

__all__ = [name for name in dir() if not name.startswith("_")]
