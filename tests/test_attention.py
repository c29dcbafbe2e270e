"""Attention against PyTorch: ``F.scaled_dot_product_attention`` beyond the op case table
(which runs gradcheck, gradgradcheck and the PyTorch comparison on its plain, masked, causal,
scaled, broadcast and grouped-query forms) and ``nn.MultiheadAttention``.

MultiheadAttention: PyTorch's module and minigan's with the same weights (PyTorch's
``state_dict`` loaded into minigan's), compared on the output, the attention weights and the
gradients of every input, float mask and parameter, over batch_first, unbatched inputs,
kdim/vdim, key_padding_mask, attn_mask (bool, float, 3-D), need_weights, average_attn_weights,
is_causal, add_bias_kv and add_zero_attn, on every device. Dropout is checked in
distribution (its masks cannot match PyTorch's); the errors are checked by their words.
"""
from __future__ import annotations

import math
import re
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan import nn
from minigan.testing import arrays, assert_matches_torch

from device_params import DEVICES

torch = pytest.importorskip("torch")

from test_nn_helpers import assert_close, host, mg, th  # noqa: E402  (imports torch itself)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SDPA = minigan.nn.functional.scaled_dot_product_attention
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ============================================================================== scaled_dot_product_attention
@st.composite
def sdpa_problems(draw):
    """Shapes, a mask (none, bool, float with -inf, causal) and the options, drawn together."""
    side = st.integers(1, 4)
    batch = tuple(draw(st.lists(side, max_size=3)))
    length, source, e, ev = draw(side), draw(side), draw(side), draw(side)
    q, k, v = (draw(arrays(batch + shape)) for shape in ((length, e), (source, e), (source, ev)))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    kwargs = dict(scale=draw(st.sampled_from([None, 0.25, 3.0])))
    mask = ()
    if kind in ("bool", "float"):
        weights = batch + (length, source)
        cut = draw(st.integers(0, len(weights) - 2))
        shape = tuple(draw(st.sampled_from([1, d])) for d in weights[cut:])
        finite = st.floats(-2.0, 2.0)
        mask = (draw(arrays(shape, dtype="bool")) if kind == "bool" else
                draw(arrays(shape, elements=st.one_of(finite, st.just(-math.inf)))),)
    kwargs["is_causal"] = kind == "causal"
    return (q, k, v, *mask), kwargs


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(problem=sdpa_problems())
def test_sdpa_matches_torch_on_random_problems(device, problem):
    """Every option at once, on any batch shape: the output and the gradients of query, key,
    value and a float mask equal PyTorch's (fully masked rows included: zeros on both)."""
    inputs, kwargs = problem
    assert_matches_torch(lambda F, *a: F.nn.functional.scaled_dot_product_attention(*a, **kwargs),
                         *inputs, device=device)


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(problem=sdpa_problems())
def test_sdpa_is_the_softmax_formula(device, problem):
    """softmax(Q K^T * scale + mask) V written out with minigan's own ops, wherever no row is
    fully masked (there the formula is NaN and attention 0)."""
    inputs, kwargs = problem
    q, k, v, *mask = [mg(a, device=device) for a in inputs]
    scale = kwargs["scale"] or 1 / math.sqrt(q.shape[-1])
    scores = q @ k.transpose(-2, -1) * scale
    if kwargs["is_causal"]:
        mask = [minigan.ones(q.shape[-2], k.shape[-2], dtype=minigan.bool, device=device).tril()]
    if mask:
        scores = (scores.masked_fill(~mask[0], -math.inf) if mask[0].dtype == minigan.bool
                  else scores + mask[0])
    with np.errstate(invalid="ignore"):
        expected = host(scores.softmax(dim=-1) @ v)
    got = host(SDPA(*[mg(a, device=device) for a in inputs], **kwargs))
    live = ~np.isnan(expected)
    np.testing.assert_allclose(got[live], expected[live], rtol=1e-10, atol=1e-12)
    assert np.all(got[~live] == 0)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradients_as_torch(device):
    """A query that may see no key: output 0, gradient 0 (PyTorch 2.5+'s safe softmax), no NaN
    and no NumPy warning (the test run makes minigan's RuntimeWarnings errors)."""
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 2))
    keep = rng.random((4, 5)) > 0.3
    keep[1] = False
    hide = rng.standard_normal((2, 4, 5))
    hide[:, 2] = -np.inf
    for mask in (keep, hide):
        (out,) = assert_matches_torch(
            lambda F, q, k, v, m: F.nn.functional.scaled_dot_product_attention(q, k, v, m),
            q, k, v, mask, device=device)
        dead = 1 if mask.dtype == bool else 2
        assert np.all(host(out)[:, dead] == 0)
    x = mg(q, device=device, requires_grad=True)
    SDPA(x, mg(k, device=device), mg(v, device=device), mg(keep, device=device)).sum().backward()
    assert np.all(host(x.grad)[:, 1] == 0) and np.isfinite(host(x.grad)).all()


def test_sdpa_causal_is_aligned_top_left_as_torch():
    """is_causal: query i sees keys 0..i, for L < S and L > S alike (ones(L, S).tril())."""
    rng = np.random.default_rng(0)
    for length, source in ((2, 5), (5, 2), (3, 3)):
        q, k = rng.standard_normal((length, 4)), rng.standard_normal((source, 4))
        v = rng.standard_normal((source, 3))
        tril = np.tril(np.ones((length, source), dtype=bool))
        causal = host(SDPA(mg(q), mg(k), mg(v), is_causal=True))
        np.testing.assert_array_equal(causal, host(SDPA(mg(q), mg(k), mg(v), mg(tril))))
        assert_matches_torch(lambda F, q, k, v: F.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True), q, k, v)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shapes", [((3, 0), (5, 0), (5, 2)), ((2, 0, 4), (2, 5, 4), (2, 5, 3)),
                                    ((2, 3, 4), (2, 0, 4), (2, 0, 3))], ids=["E=0", "L=0", "S=0"])
def test_sdpa_empty_sizes_as_torch(device, shapes):
    """E = 0 (uniform weights), L = 0 (no output rows), S = 0 (no keys: an output of 0)."""
    rng = np.random.default_rng(0)
    assert_matches_torch(lambda F, q, k, v: F.nn.functional.scaled_dot_product_attention(q, k, v),
                         *[rng.standard_normal(s) for s in shapes], device=device)


def test_sdpa_gradgradcheck_with_a_float_mask():
    rng = np.random.default_rng(1)
    args = [mg(rng.standard_normal(s), requires_grad=True) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3), (3, 4))]
    assert minigan.gradgradcheck(lambda q, k, v, m: SDPA(q, k, v, m, scale=0.7), args)


@pytest.mark.parametrize("device", DEVICES)
def test_sdpa_dropout_drops_weights_from_the_seeded_generator(device):
    """dropout_p > 0 (applied in training or not, as PyTorch): with V the identity the output
    is the dropped weights, each 0 or weight / (1 - p), about p of them 0; the same seed gives
    the same draw; dropout_p = 0 is exact attention."""
    rng = np.random.default_rng(0)
    q, k = (mg(rng.standard_normal((8, 64, 4)), device=device) for _ in range(2))
    eye = mg(np.eye(64), device=device)
    weights = host(SDPA(q, k, eye))
    minigan.manual_seed(5)
    dropped = host(SDPA(q, k, eye, dropout_p=0.25))
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], weights[kept] / 0.75, rtol=1e-12)
    assert abs((~kept).mean() - 0.25) < 0.02
    minigan.manual_seed(5)
    np.testing.assert_array_equal(host(SDPA(q, k, eye, dropout_p=0.25)), dropped)
    assert np.all(host(SDPA(q, k, eye, dropout_p=1.0)) == 0)


def test_sdpa_keeps_float32_and_the_device():
    rng = np.random.default_rng(0)
    q, k, v = (mg(rng.standard_normal(s), dtype="float32", device="strict", requires_grad=True)
               for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    out = SDPA(q, k, v, mg(rng.standard_normal((3, 5)), device="strict"), dropout_p=0.1)
    out.sum().backward()
    assert out.dtype == minigan.float32 and str(out.device) == "strict" and q.grad.dtype == minigan.float32


def _q(*shape, dtype="float64"):
    return mg(np.zeros(shape), dtype=dtype)


SDPA_ERRORS = [
    # (call, exception, words of the message), PyTorch's wording where it has one
    (lambda: SDPA(_q(4), _q(4), _q(4)), RuntimeError,
     "Expected query, key, and value to all be at least 2 dimensional, but got query.dim: 1"),
    (lambda: SDPA(_q(3, 4, dtype="float32"), _q(5, 4), _q(5, 4)), RuntimeError,
     "Expected query, key, and value to have the same dtype, but got query.dtype: float32"),
    (lambda: SDPA(*(minigan.zeros(3, 4, dtype=minigan.int64),) * 3), RuntimeError, "floating-point"),
    (lambda: SDPA(_q(2, 3, 4), _q(2, 5, 3), _q(2, 5, 6)), RuntimeError,
     "query and key must have the same last dimension (E), got 4 and 3 (query (2, 3, 4), key (2, 5, 3)"),
    (lambda: SDPA(_q(2, 3, 4), _q(2, 5, 4), _q(2, 6, 6)), RuntimeError, "same sequence length (S"),
    (lambda: SDPA(_q(2, 3, 4), _q(3, 5, 4), _q(3, 5, 6)), RuntimeError,
     "batch dimensions of query, key and value do not broadcast"),
    (lambda: SDPA(_q(3, 4), _q(5, 4), _q(5, 6), minigan.zeros(3, 5, dtype=minigan.int64)), RuntimeError,
     "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: int64"),
    (lambda: SDPA(_q(2, 3, 4), _q(2, 5, 4), _q(2, 5, 6), _q(3, 4)), RuntimeError,
     "attn_mask of shape (3, 4) does not broadcast to the attention weights' shape (2, 3, 5)"),
    (lambda: SDPA(_q(2, 3, 4), _q(2, 5, 4), _q(2, 5, 6), _q(7, 2, 3, 5)), RuntimeError,
     "attn_mask of shape (7, 2, 3, 5) does not broadcast"),
    (lambda: SDPA(_q(3, 4), _q(5, 4), _q(5, 6), _q()), RuntimeError, "at least 1 dimension"),
    (lambda: SDPA(_q(3, 4), _q(5, 4), _q(5, 6), _q(3, 5), is_causal=True), RuntimeError,
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda: SDPA(_q(3, 4), _q(5, 4), _q(5, 6), dropout_p=1.5), ValueError,
     "dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda: SDPA(_q(1, 4, 3, 4), _q(1, 3, 5, 4), _q(1, 3, 5, 6), enable_gqa=True), RuntimeError,
     "Number of heads in key and value must divide the number of heads in query"),
    (lambda: SDPA(_q(3, 4), _q(5, 4), _q(5, 6), enable_gqa=True), RuntimeError, "heads dimension (-3)"),
    (lambda: SDPA(np.zeros((3, 4)), _q(5, 4), _q(5, 6)), TypeError, "query must be a Tensor, got ndarray"),
]


@pytest.mark.parametrize("call, error, words", SDPA_ERRORS, ids=[e[2][:40] for e in SDPA_ERRORS])
def test_sdpa_errors_name_the_op_and_the_shapes(call, error, words):
    with pytest.raises(error, match=re.escape(words)) as info:
        call()
    assert "scaled_dot_product_attention" in str(info.value)


def test_sdpa_is_in_nn_functional_only_as_in_torch():
    assert minigan.nn.functional.scaled_dot_product_attention is SDPA
    assert not hasattr(torch, "scaled_dot_product_attention")
    assert not hasattr(minigan, "scaled_dot_product_attention")


# ============================================================================== MultiheadAttention
def twins(device="cpu", dtype="float64", embed_dim=8, num_heads=2, **kwargs):
    """PyTorch's module and minigan's with PyTorch's weights, loaded through load_state_dict
    from NumPy arrays by PyTorch's keys (a checkpoint's way)."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(embed_dim, num_heads, **kwargs).to(getattr(torch, dtype))
    for p in theirs.parameters():   # biases and bias_k too, away from their zero start
        torch.nn.init.uniform_(p, -0.6, 0.6)
    ours = nn.MultiheadAttention(embed_dim, num_heads, **kwargs, device=device, dtype=dtype)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def run_twins(theirs, ours, inputs, masks, flags, dtype, device, self_attention=False, seed=0):
    """Both modules on the same numbers: compare the output and weights, then backpropagate
    the same random upstream gradients (of the output and of the weights) and compare the
    gradients of query, key, value, every float mask and every parameter."""
    t_in = [th(a, dtype, requires_grad=True) for a in inputs]
    m_in = [mg(a, dtype, device=device, requires_grad=True) for a in inputs]
    if self_attention:
        t_in, m_in = [t_in[0]] * 3, [m_in[0]] * 3
    t_masks, m_masks = {}, {}
    for name, a in masks.items():
        floating = a.dtype.kind == "f"
        t_masks[name] = th(a, dtype if floating else None, requires_grad=floating)
        m_masks[name] = mg(a, dtype if floating else None, device=device, requires_grad=floating)
    t_out, t_w = theirs(*t_in, **t_masks, **flags)
    m_out, m_w = ours(*m_in, **m_masks, **flags)
    assert_close(m_out, t_out, dtype, "output", scale=10)
    assert (m_w is None) == (t_w is None)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(tuple(t_out.shape))
    t_loss, m_loss = (t_out * th(g, dtype)).sum(), (m_out * mg(g, dtype, device=device)).sum()
    if t_w is not None:
        assert_close(m_w, t_w, dtype, "attention weights", scale=10)
        gw = rng.standard_normal(tuple(t_w.shape))
        t_loss = t_loss + (t_w * th(gw, dtype)).sum()
        m_loss = m_loss + (m_w * mg(gw, dtype, device=device)).sum()
    t_loss.backward()
    m_loss.backward()
    for name, t, m in zip(("query", "key", "value"), t_in, m_in):
        assert_close(m.grad, t.grad, dtype, f"gradient of {name}", scale=10)
    for name in masks:
        if t_masks[name].requires_grad:
            assert_close(m_masks[name].grad, t_masks[name].grad, dtype, f"gradient of {name}", scale=10)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"parameter {name} got no gradient"
        assert_close(p.grad, t_params[name].grad, dtype, f"gradient of {name}", scale=10)
    return m_out, m_w


def _visible_mask(rng, shape, kind):
    """A random mask (True / -inf = do not attend) that leaves key 0 visible to every query:
    PyTorch's need_weights path gives NaN for a query that sees nothing (see below)."""
    hidden = rng.random(shape) < 0.4
    hidden[..., 0] = False
    if kind == "bool":
        return hidden
    return np.where(hidden, -np.inf, rng.standard_normal(shape))


L, S, N, E, H = 3, 4, 2, 8, 2
# (name, module kwargs, forward flags, masks(rng) -> dict of NumPy masks, options)
CONFIGS = [
    ("default", {}, {}, lambda r: {}, {}),
    ("batch_first", dict(batch_first=True), {}, lambda r: {}, {}),
    ("self_attention_batch_first", dict(batch_first=True), {}, lambda r: {}, dict(self_attention=True)),
    ("self_attention_no_weights", {}, dict(need_weights=False), lambda r: {}, dict(self_attention=True)),
    ("unbatched", {}, {}, lambda r: {}, dict(batched=False)),
    ("unbatched_batch_first_3d_mask", dict(batch_first=True), {},
     lambda r: {"attn_mask": _visible_mask(r, (H, L, S), "float")}, dict(batched=False)),
    ("unbatched_key_padding", {}, dict(need_weights=False),
     lambda r: {"key_padding_mask": _visible_mask(r, (S,), "bool")}, dict(batched=False)),
    ("kdim_vdim", dict(kdim=5, vdim=3), {}, lambda r: {}, {}),
    ("kdim_vdim_batch_first_no_weights", dict(kdim=5, vdim=3, batch_first=True), dict(need_weights=False),
     lambda r: {"key_padding_mask": _visible_mask(r, (N, S), "bool")}, {}),
    ("no_bias", dict(bias=False), {}, lambda r: {}, {}),
    ("no_bias_no_weights", dict(bias=False), dict(need_weights=False), lambda r: {}, {}),
    ("per_head_weights", {}, dict(average_attn_weights=False), lambda r: {}, {}),
    ("key_padding_bool", {}, {}, lambda r: {"key_padding_mask": _visible_mask(r, (N, S), "bool")}, {}),
    ("key_padding_float", {}, {},
     lambda r: {"key_padding_mask": _visible_mask(r, (N, S), "float")}, {}),
    ("attn_mask_bool", {}, {}, lambda r: {"attn_mask": _visible_mask(r, (L, S), "bool")}, {}),
    ("attn_mask_float", {}, {}, lambda r: {"attn_mask": _visible_mask(r, (L, S), "float")}, {}),
    ("attn_mask_float_no_weights", {}, dict(need_weights=False),
     lambda r: {"attn_mask": _visible_mask(r, (L, S), "float")}, {}),
    ("attn_mask_3d_bool", {}, {}, lambda r: {"attn_mask": _visible_mask(r, (N * H, L, S), "bool")}, {}),
    ("attn_mask_3d_float_no_weights", dict(batch_first=True), dict(need_weights=False),
     lambda r: {"attn_mask": _visible_mask(r, (N * H, L, S), "float")}, {}),
    ("both_masks_bool", {}, dict(average_attn_weights=False),
     lambda r: {"attn_mask": _visible_mask(r, (L, S), "bool"),
                "key_padding_mask": _visible_mask(r, (N, S), "bool")}, {}),
    ("both_masks_no_weights", {}, dict(need_weights=False),
     lambda r: {"attn_mask": _visible_mask(r, (N * H, L, S), "float"),
                "key_padding_mask": _visible_mask(r, (N, S), "float")}, {}),
    ("is_causal", {}, dict(is_causal=True),
     lambda r: {"attn_mask": np.triu(np.ones((L, L), dtype=bool), 1)}, dict(source=L)),
    ("is_causal_no_weights", dict(batch_first=True), dict(is_causal=True, need_weights=False),
     lambda r: {"attn_mask": np.triu(np.ones((L, L), dtype=bool), 1)}, dict(source=L, self_attention=True)),
    ("is_causal_key_padding_no_weights", {}, dict(is_causal=True, need_weights=False),
     lambda r: {"attn_mask": np.triu(np.ones((L, L), dtype=bool), 1),
                "key_padding_mask": _visible_mask(r, (N, L), "bool")}, dict(source=L)),
    ("bias_kv_zero_attn", dict(add_bias_kv=True, add_zero_attn=True), {},
     lambda r: {"attn_mask": _visible_mask(r, (L, S), "float"),
                "key_padding_mask": _visible_mask(r, (N, S), "float")}, {}),
    ("bias_kv_no_weights", dict(add_bias_kv=True, batch_first=True), dict(need_weights=False),
     lambda r: {"key_padding_mask": _visible_mask(r, (N, S), "bool")}, {}),
    ("zero_attn_kdim_unbatched", dict(add_zero_attn=True, kdim=5, vdim=3), {},
     lambda r: {"attn_mask": _visible_mask(r, (L, S), "bool")}, dict(batched=False)),
]


def _inputs(rng, module_kwargs, options):
    source = options.get("source", S)
    kdim, vdim = module_kwargs.get("kdim") or E, module_kwargs.get("vdim") or E
    if not options.get("batched", True):
        lead = lambda n: (n,)                                  # noqa: E731
    elif module_kwargs.get("batch_first"):
        lead = lambda n: (N, n)                                # noqa: E731
    else:
        lead = lambda n: (n, N)                                # noqa: E731
    return [rng.standard_normal(lead(L) + (E,)), rng.standard_normal(lead(source) + (kdim,)),
            rng.standard_normal(lead(source) + (vdim,))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, module_kwargs, flags, make_masks, options", CONFIGS,
                         ids=[c[0] for c in CONFIGS])
def test_multihead_attention_matches_torch(name, module_kwargs, flags, make_masks, options, dtype, device):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    theirs, ours = twins(device, dtype, E, H, **module_kwargs)
    inputs = _inputs(rng, module_kwargs, options)
    out, weights = run_twins(theirs, ours, inputs, make_masks(rng), flags, dtype, device,
                             options.get("self_attention", False))
    assert out.dtype == getattr(minigan, dtype) and str(out.device).split(":")[0] == device  # (cuda: "cuda:0")


@pytest.mark.parametrize("device", DEVICES)
def test_multihead_attention_in_eval_matches_torch_without_grad(device):
    """eval() and no_grad: PyTorch takes its fused inference path for batch-first
    self-attention; the numbers are the same."""
    theirs, ours = twins(device, batch_first=True)
    theirs.eval(), ours.eval()
    x = np.random.default_rng(0).standard_normal((N, L, E))
    kpm = np.zeros((N, L), dtype=bool)
    kpm[0, -1] = True
    with torch.no_grad():
        t_out, t_w = theirs(th(x), th(x), th(x), key_padding_mask=th(kpm))
    with minigan.no_grad():
        xm = mg(x, device=device)
        m_out, m_w = ours(xm, xm, xm, key_padding_mask=mg(kpm, device=device))
    assert_close(m_out, t_out, "float64", "output", scale=10)
    assert_close(m_w, t_w, "float64", "weights", scale=10)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_query_that_sees_nothing_gets_zeros(need_weights):
    """Every key padded for one sample: PyTorch gives zeros with need_weights=False (its
    scaled_dot_product_attention) but NaN with need_weights=True (a plain softmax); minigan
    gives zeros (before out_proj, whose bias remains) on both paths, with finite gradients.
    Everywhere else the two agree."""
    theirs, ours = twins()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((L, N, E))
    kpm = np.zeros((N, L), dtype=bool)
    kpm[1] = True
    t_out, t_w = theirs(th(x), th(x), th(x), key_padding_mask=th(kpm), need_weights=need_weights)
    xm = mg(x, requires_grad=True)
    m_out, m_w = ours(xm, xm, xm, key_padding_mask=mg(kpm), need_weights=need_weights)
    m_out.sum().backward()
    assert np.isfinite(host(m_out)).all() and np.isfinite(host(xm.grad)).all()
    bias_only = np.broadcast_to(host(ours.out_proj.bias), (L, E))
    np.testing.assert_allclose(host(m_out)[:, 1], bias_only, rtol=1e-12)
    np.testing.assert_allclose(host(m_out)[:, 0], host(t_out)[:, 0], rtol=1e-9)
    if need_weights:
        assert np.isnan(host(t_out)[:, 1]).all()
        assert np.all(host(m_w)[1] == 0)
    else:
        np.testing.assert_allclose(host(m_out), host(t_out), rtol=1e-9)


def test_multihead_attention_gradgradcheck():
    """Second derivatives through the whole layer (both paths), float64 finite differences."""
    _, ours = twins(embed_dim=4, num_heads=2, kdim=3)
    rng = np.random.default_rng(0)
    q, k, v = (mg(rng.standard_normal(s), requires_grad=True) for s in ((2, 1, 4), (3, 1, 3), (3, 1, 4)))
    mask = mg(rng.standard_normal((2, 3)))
    assert minigan.gradgradcheck(lambda q, k, v: ours(q, k, v, attn_mask=mask)[0], (q, k, v))
    assert minigan.gradgradcheck(lambda q, k, v: ours(q, k, v, need_weights=False)[0], (q, k, v))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_dropout_in_training_only(device, need_weights):
    """Dropout on the attention weights while training: the weights are 0 or w / (1 - p),
    about p of them 0, from the seeded generator (the same seed, the same masks); in eval()
    the layer is exact: equal to PyTorch's in eval, whatever its dropout."""
    theirs, ours = twins(device, dropout=0.3)
    rng = np.random.default_rng(0)
    x = mg(rng.standard_normal((16, 4, E)), device=device)
    ours.eval()
    exact_out, exact_w = ours(x, x, x, average_attn_weights=False)
    theirs.eval()
    t_out, _ = theirs(th(host(x)), th(host(x)), th(host(x)))
    assert_close(exact_out, t_out, "float64", "eval output", scale=10)
    ours.train()
    minigan.manual_seed(1)
    out, w = ours(x, x, x, need_weights=need_weights, average_attn_weights=False)
    assert tuple(out.shape) == (16, 4, E)
    minigan.manual_seed(1)
    again, _ = ours(x, x, x, need_weights=need_weights)
    np.testing.assert_array_equal(host(again), host(out))
    assert not np.allclose(host(out), host(exact_out))
    if need_weights:
        dropped, exact = host(w), host(exact_w)
        kept = dropped != 0
        np.testing.assert_allclose(dropped[kept], exact[kept] / 0.7, rtol=1e-12)
        assert abs((~kept).mean() - 0.3) < 0.03
    else:
        assert w is None


# ---------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("kwargs", [{}, dict(kdim=5, vdim=3), dict(bias=False), dict(add_bias_kv=True),
                                    dict(kdim=6, bias=False, add_bias_kv=True, add_zero_attn=True)],
                         ids=["default", "kdim_vdim", "no_bias", "bias_kv", "all"])
def test_multihead_attention_state_dict_is_torchs(kwargs):
    """The same keys in the same order with the same shapes; a PyTorch state_dict loads into
    minigan's module and minigan's back into PyTorch's (strict both ways)."""
    theirs, ours = twins(**kwargs)
    t_state, m_state = theirs.state_dict(), ours.state_dict()
    assert list(m_state) == list(t_state)
    assert [tuple(v.shape) for v in m_state.values()] == [tuple(v.shape) for v in t_state.values()]
    for k in t_state:
        np.testing.assert_array_equal(host(m_state[k]), host(t_state[k]))
    fresh = torch.nn.MultiheadAttention(E, H, **kwargs).double()
    fresh.load_state_dict({k: torch.from_numpy(np.array(host(v))) for k, v in m_state.items()})
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(host(v), host(t_state[k]))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert type(ours.out_proj) is nn.Linear


def test_multihead_attention_attributes_and_initialisation():
    """PyTorch's attributes; Glorot-uniform projections within their bound, zero biases
    (out_proj's too), Glorot-normal bias_k/bias_v, out_proj's weight Linear's default."""
    minigan.manual_seed(0)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    assert (m.embed_dim, m.num_heads, m.head_dim, m.kdim, m.vdim, m.batch_first) == (64, 4, 16, 64, 64, False)
    assert m._qkv_same_embed_dim and m.q_proj_weight is None and m.in_proj_weight.shape == (192, 64)
    w = host(m.in_proj_weight)
    bound = math.sqrt(6 / (64 + 192))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01
    assert np.all(host(m.in_proj_bias) == 0) and np.all(host(m.out_proj.bias) == 0)
    assert np.abs(host(m.out_proj.weight)).max() <= 1 / 8
    assert m.bias_k.shape == (1, 1, 64) and abs(host(m.bias_k).std() - math.sqrt(2 / 128)) < 0.06
    assert m.in_proj_weight.dtype == minigan.float32
    other = nn.MultiheadAttention(6, 3, kdim=4, vdim=2, bias=False, dtype=minigan.float64)
    assert other.in_proj_weight is None and other.in_proj_bias is None and other.out_proj.bias is None
    shapes = [w.shape for w in (other.q_proj_weight, other.k_proj_weight, other.v_proj_weight)]
    assert shapes == [(6, 6), (6, 4), (6, 2)]
    assert other.bias_k is None and other.bias_v is None and other.k_proj_weight.dtype == minigan.float64
    assert "embed_dim=64, num_heads=4" in repr(m) and "(out_proj): Linear" in repr(m)


# ---------------------------------------------------------------------------------- errors
def _mha(**kwargs):
    return nn.MultiheadAttention(E, H, dtype="float64", **kwargs)


def _x(*shape, dtype="float64"):
    return mg(np.zeros(shape), dtype=dtype)


def _int(*shape):
    return minigan.zeros(*shape, dtype=minigan.int64)


MHA_ERRORS = [
    (lambda: nn.MultiheadAttention(0, 2), ValueError,
     "embed_dim and num_heads must be greater than 0, got embed_dim=0 and num_heads=2 instead"),
    (lambda: nn.MultiheadAttention(10, 3), AssertionError,
     "embed_dim must be divisible by num_heads (embed_dim=10, num_heads=3)"),
    (lambda: _mha()(_x(1, 3, 2, E), _x(1, 4, 2, E), _x(1, 4, 2, E)), AssertionError,
     "query should be unbatched 2D or batched 3D tensor but received 4-D query tensor"),
    (lambda: _mha()(_x(L, N, E), _x(S, E), _x(S, E)), AssertionError,
     "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found 2-D and 2-D"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), key_padding_mask=_x(S)), AssertionError,
     "expected `key_padding_mask` to be `None` or 2-D but found 1-D tensor"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), attn_mask=_x(L)), AssertionError,
     "expected `attn_mask` to be `None`, 2-D or 3-D but found 1-D tensor"),
    (lambda: _mha()(_x(L, E), _x(S, E), _x(S, E), attn_mask=_x(1, L, S)), AssertionError,
     "Expected `attn_mask` shape to be (2, 3, 4) but got (1, 3, 4)"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), attn_mask=_x(L, L)), RuntimeError,
     "The shape of the 2D attn_mask is (3, 3), but should be (3, 4)."),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), attn_mask=_x(N, L, S)), RuntimeError,
     "The shape of the 3D attn_mask is (2, 3, 4), but should be (4, 3, 4)."),
    (lambda: _mha()(_x(L, N, 6), _x(S, N, 6), _x(S, N, 6)), AssertionError,
     "was expecting embedding dimension of 8, but got 6"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S + 1, N, E)), AssertionError,
     "key shape (4, 2, 8) does not match value shape (5, 2, 8)"),
    (lambda: _mha(kdim=5, vdim=3)(_x(L, N, E), _x(S, N, 5), _x(S + 1, N, 3)), AssertionError,
     "key's sequence and batch dims (4, 2) do not match value's (5, 2)"),
    (lambda: _mha(kdim=5, vdim=3)(_x(L, N, E), _x(S, N, 4), _x(S, N, 3)), AssertionError,
     "key has 4 features but kdim is 5"),
    (lambda: _mha()(_x(L, N, E), _x(S, N + 1, E), _x(S, N + 1, E)), AssertionError,
     "query and key must have the same batch size N, got 2 and 3"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), key_padding_mask=_x(N, S + 1)), AssertionError,
     "Expected key_padded_mask.shape to be (2, 4) (N, S), but got (2, 5)"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), is_causal=True), RuntimeError,
     "Need attn_mask if specifying the is_causal hint"),
    (lambda: _mha()(_x(L, N, E), _x(S, N, E), _x(S, N, E), attn_mask=_int(L, S)),
     AssertionError, "only bool and floating types of attn_mask are supported, got int64"),
    (lambda: _mha()(np.zeros((L, N, E)), _x(S, N, E), _x(S, N, E)), TypeError,
     "query must be a Tensor, got ndarray"),
]


@pytest.mark.parametrize("call, error, words", MHA_ERRORS, ids=[e[2][:40] for e in MHA_ERRORS])
def test_multihead_attention_errors_in_torchs_words(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()


def test_torch_refuses_the_same_multihead_attention_inputs():
    """The errors above that PyTorch shares come with PyTorch's exception type too."""
    t = torch.nn.MultiheadAttention(E, H).double()
    z = lambda *s: torch.zeros(s, dtype=torch.float64)   # noqa: E731
    with pytest.raises(AssertionError, match="divisible"):
        torch.nn.MultiheadAttention(10, 3)
    with pytest.raises(AssertionError, match="4-D query"):
        t(z(1, 3, 2, E), z(1, 4, 2, E), z(1, 4, 2, E))
    with pytest.raises(RuntimeError, match=re.escape("should be (3, 4)")):
        t(z(L, N, E), z(S, N, E), z(S, N, E), attn_mask=z(L, L))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        t(z(L, N, 6), z(S, N, 6), z(S, N, 6))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        t(z(L, N, E), z(S, N, E), z(S, N, E), is_causal=True)
