"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, PyTorch's in every name.

Not used by the book; here for sequence models after it and for users coming from PyTorch.
A recurrent layer reads a sequence x_1 .. x_L one step at a time, carrying a hidden state h
(and, for the LSTM, a cell state c) from each step to the next. One step of each kind, with
PyTorch's gate order and formulas (W_i* multiply the input, W_h* the previous hidden state)::

    RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)          (or relu)
    LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of  W_ih x + b_ih + W_hh h + b_hh
          c' = f * c + i * g                                 (4 gates, stacked i, f, g, o)
          h' = o * tanh(c')                                  (times W_hr with proj_size)
    GRU   r, z = sigmoid of the first two thirds of  W_ih x + b_ih + W_hh h + b_hh
          n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     (3 gates, stacked r, z, n)
          h' = (1 - z) * n + z * h

Each formula is written once, as a *step function* below (``rnn_step``, ``lstm_step``,
``gru_step``), and used by both the cell modules (one step) and the layers (a Python loop over
time). A step function takes the input's part of the gates already computed, ``gi = W_ih x +
b_ih``: it does not depend on h, so a layer computes it for all L steps in one matrix product
before the loop, and only ``W_hh h`` is left inside it (the trick cuDNN uses too).

Layers stack ``num_layers`` of these, the output sequence of one layer being the input of the
next (with ``dropout`` between layers while training). ``bidirectional`` runs a second pass
from x_L back to x_1 with its own weights (the ``_reverse`` names) and joins both passes'
outputs feature-wise. Shapes (PyTorch's): L steps, N samples, D = 2 if bidirectional else 1,
H_out = proj_size or hidden_size::

    input  (L, N, H_in), (N, L, H_in) with batch_first, or one unbatched sample (L, H_in)
    h_0    (D * num_layers, N, H_out)   (D * num_layers, H_out) unbatched; zeros if not given
    c_0    (D * num_layers, N, hidden_size)                     LSTM only
    output (L, N, D * H_out), like the input's layout; the last layer's h at every step
    h_n    like h_0: every layer's and direction's final state (c_n too for the LSTM)

Parameters by PyTorch's names and shapes, so a PyTorch ``state_dict`` loads as it is:
``weight_ih_l{k}`` (gates * hidden_size, input of layer k), ``weight_hh_l{k}`` (gates *
hidden_size, H_out), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (gates * hidden_size), ``weight_hr_l{k}``
(proj_size, hidden_size) with ``proj_size``, each with ``_reverse`` for the backward pass; all
start from U(-1/sqrt(hidden_size), +1/sqrt(hidden_size)), PyTorch's initialisation.

Everything is built from the engine's differentiable ops (``linear``, ``sigmoid``, ``tanh``,
``relu``, indexing, ``stack``, ``cat``), so backward, second derivatives and every backend come
for free. Not supported: ``PackedSequence`` (pad the batch to one length instead).
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..functional.activation import relu, sigmoid, tanh
from ..functional.arithmetic import linear
from ..functional.norm import dropout as dropout_fn
from ..functional.shape import cat, stack
from ..functional.unbind import unbind
from ..tensor import Tensor, empty, zeros
from . import init
from .module import Module, Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "rnn_step", "lstm_step", "gru_step"]


# ============================================================================== one step of each kind
def rnn_step(gi, h, w_hh, b_hh, nonlinearity="tanh"):
    """Elman RNN: h' = act(gi + h W_hh^T + b_hh), act tanh or relu; ``gi`` = x W_ih^T + b_ih."""
    pre = gi + linear(h, w_hh, b_hh)
    return tanh(pre) if nonlinearity == "tanh" else relu(pre)


def lstm_step(gi, state, w_hh, b_hh, w_hr=None):
    """LSTM: (h, c) -> (h', c'), gates i, f, g, o in PyTorch's order along the last axis of
    ``gi + h W_hh^T + b_hh``. With a projection ``w_hr`` the hidden state is o * tanh(c')
    projected to proj_size numbers (the cell state keeps hidden_size)."""
    h, c = state
    i, f, g, o = (gi + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if w_hr is None else linear(h, w_hr)), c


def gru_step(gi, h, w_hh, b_hh):
    """GRU: h -> h', gates r, z, n in PyTorch's order. The reset gate r multiplies the hidden
    part of n *after* its bias, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), PyTorch's (and
    cuDNN's) formula, so the two products cannot be added before the gates are split."""
    gh = linear(h, w_hh, b_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    return n + z * (h - n)          # = (1 - z) * n + z * h, one product fewer


# ============================================================================== checks shared by all
def _refuse_packed(module, input):
    if type(input).__name__ == "PackedSequence" or hasattr(input, "batch_sizes"):
        raise NotImplementedError(
            f"{type(module).__name__}: PackedSequence input is not supported by minigan; pad the "
            "sequences to one length and pass the (L, N, H_in) tensor (masking the padded steps "
            "of the loss yourself)")
    if not isinstance(input, Tensor):
        raise TypeError(f"{type(module).__name__}: input must be a minigan Tensor, got "
                        f"{type(input).__module__}.{type(input).__name__}")


def _check_dtype(module, input, weight):
    if input.dtype != weight.dtype:
        raise ValueError(f"{type(module).__name__}: input dtype (minigan.{input.dtype.name}) does not "
                         f"match weight dtype (minigan.{weight.dtype.name}). Convert input: "
                         f"input.to(minigan.{weight.dtype.name}), or convert model: "
                         f"model.to(minigan.{input.dtype.name})")


def _states_as_tuple(module, hx):
    """``hx`` as a tuple of state tensors ((h,), or (h, c) for the LSTMs), or None."""
    name = type(module).__name__
    if hx is None:
        return None
    if module._has_cell:
        if isinstance(hx, Tensor) or not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of two Tensors, got {type(hx).__name__}")
        return tuple(hx)
    if not isinstance(hx, Tensor):
        raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
    return (hx,)


def _check_sizes(input_size, hidden_size):
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")


# ============================================================================== the layers
class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: the parameters, the checks and the time loop.
    A subclass names its gate count and its step (``_step``), nothing else."""

    _gates = 1          # gate blocks stacked in each weight: 1 (RNN), 4 (LSTM), 3 (GRU)
    _has_cell = False   # LSTM: the state is (h, c)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}",
                          stacklevel=2 if type(self).__init__ is RNNBase.__init__ else 3)  # the caller's line
        for what, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(value, bool):
                raise TypeError(f"{what} should be of type bool, got: {type(value).__name__}")
        _check_sizes(input_size, hidden_size)
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and not self._has_cell:
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout, self.proj_size = float(dropout), proj_size
        make = dict(device=device, dtype=dtype)
        gate_size, out_size = self._gates * hidden_size, proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):     # PyTorch's registration order, hence state_dict order
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = [kind + suffix for kind in shapes]
                for param_name, shape in zip(names, shapes.values()):
                    setattr(self, param_name, Parameter(empty(*shape, **make)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's: every weight and bias from U(-1/sqrt(hidden_size), +1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self):
        """A no-op, as in PyTorch off cuDNN: minigan keeps no flat weight buffer."""

    @property
    def all_weights(self):
        """The parameters per layer and direction: [[weight_ih_l0, weight_hh_l0, ...], ...]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        """(output, h_n) - for the LSTM (output, (h_n, c_n)); shapes in the module docstring."""
        name = type(self).__name__
        _refuse_packed(self, input)
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead "
                             f"(input of shape {input.shape})")
        batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        states = _states_as_tuple(self, hx)
        if states is not None:
            want = 3 if batched else 2
            if any(s.ndim != want for s in states):
                got = ", ".join(f"{s.ndim}-D" for s in states)
                raise RuntimeError(f"{name}: For {'batched 3' if batched else 'unbatched 2'}-D input, "
                                   f"hx should also be {want}-D but got ({got}) tensor(s)")
            if not batched:
                states = tuple(s.unsqueeze(1) for s in states)
        if not batched:                      # one sample: a batch of one, squeezed at the end
            input = input.unsqueeze(batch_dim)
        if self.batch_first:                 # (N, L, H_in) -> (L, N, H_in) from here on
            input = input.transpose(0, 1)
        states = self._checked_states(input, states)
        output, finals = self._run_layers(input, states)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(batch_dim)
            finals = tuple(s.squeeze(1) for s in finals)
        return output, (finals if self._has_cell else finals[0])

    def _checked_states(self, input, states):
        """Check the (L, N, H_in) input and the batched states; zeros where none are given."""
        name = type(self).__name__
        first = self._parameters[self._flat_weights_names[0]]
        _check_dtype(self, input, first)
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        if input.shape[0] == 0:
            raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN")
        n = input.shape[1]
        layers = self.num_layers * (2 if self.bidirectional else 1)
        sizes = [(layers, n, self.proj_size or self.hidden_size)]
        if self._has_cell:
            sizes.append((layers, n, self.hidden_size))
        if states is None:
            return tuple(zeros(*size, dtype=input.dtype, device=input.device) for size in sizes)
        for k, (state, size) in enumerate(zip(states, sizes)):
            if tuple(state.shape) != size:
                which = f"hidden[{k}]" if self._has_cell else "hidden"
                raise RuntimeError(f"{name}: Expected {which} size {size}, got {list(state.shape)}")
        return states

    def _run_layers(self, x, states):
        """The stack of layers on (L, N, H_in); returns the last layer's output and the final
        states stacked like ``states`` (each (layers * directions, N, H))."""
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                out, last = self._run_direction(x, tuple(s[index] for s in states), suffix,
                                                reverse=direction == 1)
                outputs.append(out)
                for kept, s in zip(finals, last):
                    kept.append(s)
            x = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = dropout_fn(x, self.dropout)     # between layers only, never after the last
        return x, tuple(stack(kept) for kept in finals)

    def _run_direction(self, x, state, suffix, reverse):
        """One layer in one direction: the time loop. Returns (outputs (L, N, H_out) in the
        input's time order, final state tuple)."""
        p = self._parameters
        gi = linear(x, p["weight_ih" + suffix], p.get("bias_ih" + suffix))   # all L steps at once
        # unbind, not gi[t]: each gi[t] would send back a gradient of gi's full size, O(L^2)
        steps = unbind(gi, 0)
        length = x.shape[0]
        outputs = [None] * length
        for t in (reversed(range(length)) if reverse else range(length)):
            state = self._step(steps[t], state, suffix)
            outputs[t] = state[0]
        return stack(outputs), state

    def _step(self, gi, state, suffix):
        """One time step: the state tuple after reading ``gi`` (the input's part of the gates)."""
        raise NotImplementedError


class RNN(RNNBase):
    """``nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)``:
    Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, gi, state, suffix):
        p = self._parameters
        return (rnn_step(gi, state[0], p["weight_hh" + suffix], p.get("bias_hh" + suffix),
                         self.nonlinearity),)


class LSTM(RNNBase):
    """``nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None)``: long short-term
    memory (Hochreiter & Schmidhuber 1997); ``forward`` returns (output, (h_n, c_n)). With
    ``proj_size`` > 0 each hidden state is projected to proj_size numbers by ``weight_hr``
    (Sak et al. 2014), so h_0, h_n and the output have proj_size features and c keeps
    hidden_size."""

    _gates, _has_cell = 4, True

    def _step(self, gi, state, suffix):
        p = self._parameters
        return lstm_step(gi, state, p["weight_hh" + suffix], p.get("bias_hh" + suffix),
                         p.get("weight_hr" + suffix))


class GRU(RNNBase):
    """``nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, device=None, dtype=None)``: gated recurrent unit (Cho et
    al. 2014) with PyTorch's placement of the reset gate (``gru_step``)."""

    _gates = 3

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def _step(self, gi, state, suffix):
        p = self._parameters
        return (gru_step(gi, state[0], p["weight_hh" + suffix], p.get("bias_hh" + suffix)),)


# ============================================================================== the cells
class RNNCellBase(Module):
    """One step, for loops written by hand: ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` (None without bias). Input (N, H_in) or one sample (H_in); the state (N,
    hidden_size) or (hidden_size), zeros if not given."""

    _gates = 1
    _has_cell = False

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        make = dict(device=device, dtype=dtype)
        gate_size = self._gates * hidden_size
        self.weight_ih = Parameter(empty(gate_size, input_size, **make))
        self.weight_hh = Parameter(empty(gate_size, hidden_size, **make))
        if bias:
            self.bias_ih = Parameter(empty(gate_size, **make))
            self.bias_hh = Parameter(empty(gate_size, **make))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def forward(self, input, hx=None):
        name = type(self).__name__
        _refuse_packed(self, input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead "
                             f"(input of shape {input.shape})")
        _check_dtype(self, input, self.weight_ih)
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        n = input.shape[0]
        states = _states_as_tuple(self, hx)
        if states is None:
            states = tuple(zeros(n, self.hidden_size, dtype=input.dtype, device=input.device)
                           for _ in range(2 if self._has_cell else 1))
        else:
            for k, s in enumerate(states):
                which = f"hx[{k}]" if self._has_cell else "hidden"
                if s.ndim != (2 if batched else 1):
                    raise ValueError(f"{name}: Expected {which} to be {'2D' if batched else '1D'} like "
                                     f"the input, got {s.ndim}D instead (shape {s.shape})")
            if not batched:
                states = tuple(s.unsqueeze(0) for s in states)
            for k, s in enumerate(states):
                if s.shape[0] != n:
                    raise RuntimeError(f"{name}: Input batch size {n} doesn't match hidden{k} batch "
                                       f"size {s.shape[0]}")
                if s.shape[1] != self.hidden_size:
                    raise RuntimeError(f"{name}: hidden{k} has inconsistent hidden_size: got "
                                       f"{s.shape[1]}, expected {self.hidden_size}")
        gi = linear(input, self.weight_ih, self.bias_ih)
        out = self._step(gi, states)
        if not batched:
            out = tuple(s.squeeze(0) for s in out)
        return out if self._has_cell else out[0]


class RNNCell(RNNCellBase):
    """``nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', device=None,
    dtype=None)``: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu); returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):    # (PyTorch says so only at the first call)
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, gi, states):
        return (rnn_step(gi, states[0], self.weight_hh, self.bias_hh, self.nonlinearity),)


class LSTMCell(RNNCellBase):
    """``nn.LSTMCell(input_size, hidden_size, bias=True, device=None, dtype=None)``: one LSTM
    step; ``forward(input, (h, c))`` returns (h', c')."""

    _gates, _has_cell = 4, True

    def _step(self, gi, states):
        return lstm_step(gi, states, self.weight_hh, self.bias_hh)


class GRUCell(RNNCellBase):
    """``nn.GRUCell(input_size, hidden_size, bias=True, device=None, dtype=None)``: one GRU
    step; returns h'."""

    _gates = 3

    def _step(self, gi, states):
        return (gru_step(gi, states[0], self.weight_hh, self.bias_hh),)
