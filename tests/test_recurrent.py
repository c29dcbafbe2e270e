"""Recurrent layers against PyTorch: ``RNN``, ``LSTM``, ``GRU``, ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Each module is built in both libraries, PyTorch's ``state_dict`` is loaded into minigan's by
name (the keys, their order and every shape must be PyTorch's), and one float64 forward and
backward is compared: the output, the final states, and the gradients of every parameter, the
input and the initial states, for a random upstream gradient on the output and on every final
state. Over num_layers 1 and 2, bidirectional, batch_first, unbatched input, given and default
states, bias=False, the RNN's relu and the LSTM's projection; on random sizes by hypothesis;
on the strict array-API device. Dropout between layers is checked by its behaviour (its masks
cannot match PyTorch's); errors by their words; and a GRU learns to sum a sequence.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan import nn

from device_params import DEVICES

torch = pytest.importorskip("torch")

from test_nn_helpers import assert_close, host, mg, th  # noqa: E402  (imports torch itself)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# (name in the ids, class name, extra constructor arguments)
LAYERS = [("rnn_tanh", "RNN", {}), ("rnn_relu", "RNN", {"nonlinearity": "relu"}),
          ("lstm", "LSTM", {}), ("lstm_proj", "LSTM", {"proj_size": 2}), ("gru", "GRU", {})]
CELLS = [("rnn_tanh", "RNNCell", {}), ("rnn_relu", "RNNCell", {"nonlinearity": "relu"}),
         ("lstm", "LSTMCell", {}), ("gru", "GRUCell", {})]
LAYER_IDS = [name for name, _, _ in LAYERS]
CELL_IDS = [name for name, _, _ in CELLS]


# ============================================================================== helpers
def twins(cls, *args, device="cpu", **kwargs):
    """The PyTorch module (float64) and minigan's on ``device`` with PyTorch's weights, loaded
    through ``load_state_dict`` after checking that the keys and shapes are PyTorch's."""
    t_mod = getattr(torch.nn, cls)(*args, **kwargs).double()
    m_mod = getattr(nn, cls)(*args, device=device, dtype=minigan.float64, **kwargs)
    t_state, m_state = t_mod.state_dict(), m_mod.state_dict()
    assert list(m_state) == list(t_state), f"state_dict keys {list(m_state)} vs PyTorch's {list(t_state)}"
    for key, value in t_state.items():
        assert m_state[key].shape == tuple(value.shape), \
            f"{key}: {m_state[key].shape} vs PyTorch's {tuple(value.shape)}"
    m_mod.load_state_dict({k: v.numpy() for k, v in t_state.items()})
    return t_mod, m_mod


def flat(states):
    """A module's result as a flat list of tensors: (out, h) or (out, (h, c)) or h or (h, c)."""
    if isinstance(states, (tuple, list)):
        return [t for s in states for t in flat(s)]
    return [states]


def nest(tensors, like):
    """``tensors`` (a flat list) in the structure of ``like`` (None, one array, or a tuple)."""
    if like is None:
        return None
    return tuple(tensors) if isinstance(like, tuple) else tensors[0]


def compare(t_mod, m_mod, x, hx=None, device="cpu", seed=0):
    """One forward and backward on both: results, and the gradients of the input, the given
    initial states and every parameter (by name), all float64-tight."""
    hx_list = [] if hx is None else list(hx) if isinstance(hx, tuple) else [hx]
    t_in = [th(a, requires_grad=True) for a in [x, *hx_list]]
    m_in = [mg(a, device=device, requires_grad=True) for a in [x, *hx_list]]
    t_out = flat(t_mod(t_in[0], nest(t_in[1:], hx)))
    m_out = flat(m_mod(m_in[0], nest(m_in[1:], hx)))
    assert len(m_out) == len(t_out)
    rng = np.random.default_rng(seed)
    t_loss = m_loss = 0.0
    for i, (t, m) in enumerate(zip(t_out, m_out)):
        assert_close(m, t, "float64", f"result {i}")
        g = rng.standard_normal(tuple(t.shape))
        t_loss = t_loss + (t * th(g)).sum()
        m_loss = m_loss + (m * mg(g, device=device)).sum()
    t_loss.backward()
    m_loss.backward()
    for i, (t, m) in enumerate(zip(t_in, m_in)):
        assert m.grad is not None, f"{'input' if i == 0 else f'initial state {i - 1}'} got no gradient"
        assert_close(m.grad, t.grad, "float64", "gradient of the input" if i == 0 else
                     f"gradient of initial state {i - 1}")
    t_params = dict(t_mod.named_parameters())
    assert [n for n, _ in m_mod.named_parameters()] == list(t_params)
    for name, p in m_mod.named_parameters():
        assert p.grad is not None, f"parameter {name} got no gradient"
        assert_close(p.grad, t_params[name].grad, "float64", f"gradient of {name}")
    return t_out, m_out


def layer_states(cls, kwargs, num_layers, directions, batch, hidden, rng):
    """Random initial states of a layer: h (and c), batched (batch a tuple) or not."""
    out_size = kwargs.get("proj_size") or hidden
    h = rng.standard_normal((num_layers * directions, *batch, out_size))
    if cls != "LSTM":
        return h
    return h, rng.standard_normal((num_layers * directions, *batch, hidden))


# ============================================================================== layers vs PyTorch
@pytest.mark.parametrize("given_hx", [False, True], ids=["zeros", "hx"])
@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("name,cls,kwargs", LAYERS, ids=LAYER_IDS)
def test_layer_matches_torch(name, cls, kwargs, num_layers, bidirectional, layout, given_hx):
    seq, batch, n_in, hidden = 4, 3, 3, 4
    t_mod, m_mod = twins(cls, n_in, hidden, num_layers=num_layers, bidirectional=bidirectional,
                         batch_first=layout == "batch_first", **kwargs)
    rng = np.random.default_rng(num_layers * 10 + bidirectional)
    shape = {"seq_first": (seq, batch, n_in), "batch_first": (batch, seq, n_in), "unbatched": (seq, n_in)}
    x = rng.standard_normal(shape[layout])
    hx = layer_states(cls, kwargs, num_layers, 2 if bidirectional else 1,
                      () if layout == "unbatched" else (batch,), hidden, rng) if given_hx else None
    t_out, m_out = compare(t_mod, m_mod, x, hx)
    directions = 2 if bidirectional else 1
    assert m_out[0].shape == tuple(t_out[0].shape)
    assert m_out[0].shape[-1] == directions * (kwargs.get("proj_size") or hidden)


@pytest.mark.parametrize("name,cls,kwargs", LAYERS, ids=LAYER_IDS)
def test_layer_without_bias_matches_torch(name, cls, kwargs):
    t_mod, m_mod = twins(cls, 3, 4, num_layers=2, bias=False, bidirectional=True, **kwargs)
    assert not any("bias" in n for n, _ in m_mod.named_parameters())
    rng = np.random.default_rng(1)
    compare(t_mod, m_mod, rng.standard_normal((5, 2, 3)),
            layer_states(cls, kwargs, 2, 2, (2,), 4, rng))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,cls,kwargs", LAYERS, ids=LAYER_IDS)
def test_layer_matches_torch_on_every_device(device, name, cls, kwargs):
    """The strict array-API device refuses what would break on CuPy."""
    t_mod, m_mod = twins(cls, 3, 4, num_layers=2, bidirectional=True, batch_first=True,
                         device=device, **kwargs)
    rng = np.random.default_rng(2)
    compare(t_mod, m_mod, rng.standard_normal((2, 5, 3)), layer_states(cls, kwargs, 2, 2, (2,), 4, rng),
            device=device)


@st.composite
def layer_problems(draw):
    name, cls, kwargs = draw(st.sampled_from(LAYERS))
    hidden = draw(st.integers(1, 5))
    kwargs = dict(kwargs)
    if "proj_size" in kwargs:
        if hidden == 1:
            kwargs.pop("proj_size")
        else:
            kwargs["proj_size"] = draw(st.integers(1, hidden - 1))
    kwargs.update(num_layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
                  bidirectional=draw(st.booleans()), batch_first=draw(st.booleans()))
    n_in, seq = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(st.sampled_from([(), (1,), (2,), (3,)]))
    return cls, n_in, hidden, kwargs, seq, batch, draw(st.booleans()), draw(st.integers(0, 2**16))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=layer_problems())
def test_layer_matches_torch_on_random_sizes(problem):
    cls, n_in, hidden, kwargs, seq, batch, given_hx, seed = problem
    t_mod, m_mod = twins(cls, n_in, hidden, **kwargs)
    rng = np.random.default_rng(seed)
    shape = (*batch, seq, n_in) if kwargs["batch_first"] else (seq, *batch, n_in)
    x = rng.standard_normal(shape)
    directions = 2 if kwargs["bidirectional"] else 1
    hx = layer_states(cls, kwargs, kwargs["num_layers"], directions, batch, hidden, rng) if given_hx else None
    compare(t_mod, m_mod, x, hx)


# ============================================================================== cells vs PyTorch
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("given_hx", [False, True], ids=["zeros", "hx"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,cls,kwargs", CELLS, ids=CELL_IDS)
def test_cell_matches_torch(name, cls, kwargs, device, batched, given_hx, bias):
    t_mod, m_mod = twins(cls, 3, 4, bias=bias, device=device, **kwargs)
    rng = np.random.default_rng(3)
    batch = (2,) if batched else ()
    x = rng.standard_normal(batch + (3,))
    hx = None
    if given_hx:
        hx = rng.standard_normal(batch + (4,))
        if cls == "LSTMCell":
            hx = (hx, rng.standard_normal(batch + (4,)))
    compare(t_mod, m_mod, x, hx, device=device)


def test_cells_run_a_sequence_like_the_layers():
    """A hand-written loop over a cell is the one-layer module with the same weights (the
    step functions are shared: this checks the layers' input projection and stacking)."""
    rng = np.random.default_rng(4)
    x = mg(rng.standard_normal((5, 2, 3)), dtype=np.float32)
    for layer_cls, cell_cls in (("RNN", "RNNCell"), ("LSTM", "LSTMCell"), ("GRU", "GRUCell")):
        layer, cell = getattr(nn, layer_cls)(3, 4), getattr(nn, cell_cls)(3, 4)
        # the layer's "weight_ih_l0" is the cell's "weight_ih"
        cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
        state, outputs = None, []
        for t in range(5):
            state = cell(x[t], state)
            outputs.append(state[0] if layer_cls == "LSTM" else state)
        output, finals = layer(x)
        np.testing.assert_allclose(host(output), host(minigan.stack(outputs)), rtol=1e-6, atol=1e-7)
        h_n = finals[0] if layer_cls == "LSTM" else finals
        np.testing.assert_allclose(host(h_n[0]), host(outputs[-1]), rtol=1e-6, atol=1e-7)


# ============================================================================== the surface
@pytest.mark.parametrize("name,cls,kwargs", LAYERS + CELLS, ids=LAYER_IDS + ["cell_" + i for i in CELL_IDS])
def test_names_shapes_repr_and_initialisation_are_torchs(name, cls, kwargs):
    options = {} if cls.endswith("Cell") else dict(num_layers=2, bidirectional=True, dropout=0.25,
                                                  batch_first=True)
    t_mod = getattr(torch.nn, cls)(6, 16, **options, **kwargs)
    m_mod = getattr(nn, cls)(6, 16, **options, **kwargs)
    t_shapes = [(n, tuple(p.shape)) for n, p in t_mod.named_parameters()]
    assert [(n, p.shape) for n, p in m_mod.named_parameters()] == t_shapes
    assert repr(m_mod) == repr(t_mod)
    bound = 1 / 4   # 1/sqrt(hidden_size) for every parameter
    values = np.concatenate([host(p).ravel() for p in m_mod.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound   # uniform over all of it
    assert all(p.requires_grad and p.dtype == minigan.float32 for p in m_mod.parameters())


def test_layer_attributes():
    lstm = nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=True)
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.proj_size) == (3, 5, 2, 2)
    assert lstm.all_weights[1][0] is lstm.weight_ih_l0_reverse
    assert len(lstm.all_weights) == 4 and len(lstm.all_weights[0]) == 5
    lstm.flatten_parameters()     # PyTorch code calls it; a no-op here
    rnn = nn.RNN(3, 5, 1, "relu")  # positional nonlinearity, as in PyTorch
    assert rnn.nonlinearity == "relu"
    assert nn.GRUCell(3, 4, bias=False).bias_ih is None


@pytest.mark.parametrize("name,cls,kwargs", LAYERS, ids=LAYER_IDS)
def test_state_dict_round_trip(tmp_path, name, cls, kwargs):
    """save -> load into a fresh module gives the same outputs; the same state_dict loads
    into PyTorch's module and gives PyTorch's same outputs."""
    m_mod = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True, dtype=minigan.float64, **kwargs)
    minigan.save(m_mod.state_dict(), tmp_path / "rnn.pt")
    fresh = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True, dtype=minigan.float64, **kwargs)
    fresh.load_state_dict(minigan.load(tmp_path / "rnn.pt"))
    x = np.random.default_rng(5).standard_normal((4, 2, 3))
    a, b = flat(m_mod(mg(x))), flat(fresh(mg(x)))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(host(u), host(v))
    t_mod = getattr(torch.nn, cls)(3, 4, num_layers=2, bidirectional=True, **kwargs).double()
    t_mod.load_state_dict({k: torch.tensor(host(v)) for k, v in m_mod.state_dict().items()})
    for u, v in zip(a, flat(t_mod(th(x)))):
        assert_close(u, v, "float64")


# ============================================================================== dropout between layers
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_dropout_acts_between_layers_in_training_only(cls):
    t_mod, m_mod = twins(cls, 3, 4, num_layers=2, dropout=0.5)
    x = np.random.default_rng(6).standard_normal((5, 2, 3))
    t_mod.eval(), m_mod.eval()
    compare(t_mod, m_mod, x)                       # eval: no dropout, PyTorch's numbers
    m_mod.train()
    minigan.manual_seed(0)
    first = flat(m_mod(mg(x)))
    minigan.manual_seed(0)
    again = flat(m_mod(mg(x)))
    minigan.manual_seed(1)
    other = flat(m_mod(mg(x)))
    eval_out = flat(m_mod.eval()(mg(x)))
    assert first[0].shape == eval_out[0].shape == (5, 2, 4)
    np.testing.assert_array_equal(host(first[0]), host(again[0]))      # the seeded generator
    assert not np.allclose(host(first[0]), host(other[0]))             # masks differ by seed
    assert not np.allclose(host(first[0]), host(eval_out[0]))          # and act in training
    # the first layer's final state comes before any dropout: it is the same in both modes
    np.testing.assert_allclose(host(first[1][0]), host(eval_out[1][0]), rtol=1e-12)


def test_dropout_one_cuts_the_input_off_the_last_layer():
    gru = nn.GRU(3, 4, num_layers=2, dropout=1.0, dtype=minigan.float64)
    x = mg(np.random.default_rng(7).standard_normal((5, 2, 3)), requires_grad=True)
    output, h_n = gru(x)
    output.sum().backward()
    np.testing.assert_array_equal(host(x.grad), 0.0)
    assert np.abs(host(output)).max() > 0     # the last layer still runs, on zeros


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)


# ============================================================================== errors
LAYER_ERRORS = [
    # (module, input shape, hx, error, words)
    ("GRU", (5, 2, 6), None, RuntimeError,
     r"GRU: input.size\(-1\) must be equal to input_size. Expected 3, got 6"),
    ("GRU", (5, 2, 3, 1), None, ValueError, "GRU: Expected input to be 2D or 3D, got 4D"),
    ("RNN", (5,), None, ValueError, "RNN: Expected input to be 2D or 3D, got 1D"),
    ("GRU", (5, 2, 3), (1, 3, 4), RuntimeError, r"GRU: Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"),
    ("RNN", (5, 2, 3), (2, 2, 4), RuntimeError, r"Expected hidden size \(1, 2, 4\), got \[2, 2, 4\]"),
    ("GRU", (5, 2, 3), (2, 4), RuntimeError, "For batched 3-D input, hx should also be 3-D"),
    ("GRU", (5, 3), (1, 1, 4), RuntimeError, "For unbatched 2-D input, hx should also be 2-D"),
    ("LSTM", (5, 2, 3), ((1, 2, 4), (1, 3, 4)), RuntimeError,
     r"LSTM: Expected hidden\[1\] size \(1, 2, 4\), got \[1, 3, 4\]"),
    ("LSTM", (5, 2, 3), (1, 2, 4), TypeError, r"LSTM: hx must be a tuple \(h_0, c_0\)"),
    ("GRU", (0, 2, 3), None, RuntimeError, "Expected sequence length to be larger than 0"),
]


@pytest.mark.parametrize("cls,shape,hx,error,words", LAYER_ERRORS)
def test_layer_errors_say_what_is_wrong(cls, shape, hx, error, words):
    module = getattr(nn, cls)(3, 4)
    if hx is not None:
        hx = tuple(minigan.zeros(*s) for s in hx) if isinstance(hx[0], tuple) else minigan.zeros(*hx)
    with pytest.raises(error, match=words):
        module(minigan.zeros(*shape), hx)


CELL_ERRORS = [
    ("GRUCell", (2, 5), None, RuntimeError, "GRUCell: input has inconsistent input_size: got 5 expected 3"),
    ("GRUCell", (2, 3), (3, 4), RuntimeError,
     "GRUCell: Input batch size 2 doesn't match hidden0 batch size 3"),
    ("RNNCell", (2, 3), (2, 5), RuntimeError, "hidden0 has inconsistent hidden_size: got 5, expected 4"),
    ("LSTMCell", (2, 3), ((2, 4), (3, 4)), RuntimeError, "doesn't match hidden1 batch size 3"),
    ("LSTMCell", (2, 3, 1), None, ValueError, "LSTMCell: Expected input to be 1D or 2D, got 3D"),
    ("RNNCell", (2, 3), (4,), ValueError, "RNNCell: Expected hidden to be 2D like the input, got 1D"),
    ("LSTMCell", (2, 3), (2, 4), TypeError, r"LSTMCell: hx must be a tuple \(h_0, c_0\)"),
]


@pytest.mark.parametrize("cls,shape,hx,error,words", CELL_ERRORS)
def test_cell_errors_say_what_is_wrong(cls, shape, hx, error, words):
    module = getattr(nn, cls)(3, 4)
    if hx is not None:
        hx = tuple(minigan.zeros(*s) for s in hx) if isinstance(hx[0], tuple) else minigan.zeros(*hx)
    with pytest.raises(error, match=words):
        module(minigan.zeros(*shape), hx)


def test_constructor_and_dtype_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRUCell(3, 0)
    with pytest.raises(TypeError, match="input_size should be of type int"):
        nn.LSTM(3.0, 4)
    with pytest.raises(ValueError, match=r"LSTM: input dtype \(minigan.float64\) does not match "
                                         r"weight dtype \(minigan.float32\)"):
        nn.LSTM(3, 4)(minigan.zeros(5, 3, dtype=minigan.float64))


def test_packed_sequence_is_refused_clearly():
    packed = torch.nn.utils.rnn.pack_sequence([torch.zeros(3, 2), torch.zeros(2, 2)])
    with pytest.raises(NotImplementedError, match="LSTM: PackedSequence input is not supported"):
        nn.LSTM(2, 3)(packed)


# ============================================================================== finite differences
def test_step_functions_pass_gradcheck():
    """The three step formulas on their own, float64 central differences, second order too."""
    rng = np.random.default_rng(8)
    f64 = lambda *shape: mg(rng.standard_normal(shape), requires_grad=True)  # noqa: E731
    from minigan.nn.recurrent import gru_step, lstm_step, rnn_step
    gi, h, c = f64(2, 12), f64(2, 3), f64(2, 3)
    w, b, w_hr = f64(12, 3), f64(12), f64(3, 3)
    assert minigan.gradcheck(lambda gi, h, c, w, b, w_hr: lstm_step(gi, (h, c), w, b, w_hr)[0] *
                             lstm_step(gi, (h, c), w, b)[1], (gi, h, c, w, b, w_hr))
    assert minigan.gradgradcheck(lambda gi, h, w, b: gru_step(gi, h, w, b), (gi[:, :9], h, w[:9], b[:9]))
    assert minigan.gradcheck(lambda gi, h, w, b: rnn_step(gi, h, w, b), (gi[:, :3], h, w[:3], b[:3]))


# ============================================================================== it learns
def test_gru_learns_to_sum_a_sequence():
    """A GRU with a linear read-out learns y = x_1 + ... + x_5 (centred: minus its mean 2.5) from
    its final state: the loss falls from the target's variance (5/12) to under 5 % of it."""
    minigan.manual_seed(0)
    rng = np.random.default_rng(9)
    gru, head = nn.GRU(1, 8, batch_first=True), nn.Linear(8, 1)
    optimiser = minigan.optim.Adam([*gru.parameters(), *head.parameters()], lr=0.03)
    losses = []
    for step in range(200):
        x = rng.uniform(0, 1, (16, 5, 1)).astype(np.float32)
        target = mg(x.sum(axis=(1, 2))[:, None] - 2.5)
        output, h_n = gru(mg(x))
        loss = ((head(h_n[0]) - target) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    start, end = np.mean(losses[:10]), np.mean(losses[-20:])
    assert end < start / 20 and end < 0.05 * 5 / 12, losses[::20]
