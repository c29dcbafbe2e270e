"""The fast convolution plans against the reference one (issue #11).

``functional/conv.py`` computes a convolution by one of five plans: ``columns`` (im2col, one
GEMM, col2im: the readable reference), ``gather`` (the same with im2col and col2im as one
gather each, for small images), ``taps`` (the offset loop on a few-channel small side),
``subpixel-taps`` (taps after a sub-pixel split of a strided layer) and ``winograd`` (sub-pixel
split + Winograd tiles, ``functional/conv_winograd.py``), picked per layer by ``make_plan``. Here the fast plans must give what the reference gives:

* a seeded random-shape sweep, float64, forward and the gradients of input, weight and bias,
  conv2d and conv_transpose2d, on cpu and strict (array-api-strict);
* the same drawn shapes against PyTorch (hypothesis), float64 and float32;
* the book's conv-GAN layers (BOOK_SPEC 4.14) with the automatic choice, float32, against
  the reference and PyTorch; and which plan the choice makes there;
* the Winograd matrices' identity, exactly the 1-D correlation they stand for.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
import minigan.nn.functional as F
from minigan.functional import conv as conv_module
from minigan.functional import conv_winograd

from device_params import DEVICES, NOT_NUMPY

torch = pytest.importorskip("torch")

HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


def run(kind, arrays, kwargs, plan, device="cpu", dtype="float64", gy_seed=0):
    """Forward and backward with ``plan`` forced; returns (plan used, [y, gx, gW, gb])."""
    fn = getattr(F, kind)
    ts = [None if a is None else minigan.tensor(a.astype(dtype), device=device, requires_grad=True)
          for a in arrays]
    old = conv_module.PLAN
    conv_module.PLAN = plan
    try:
        y = fn(*ts, **kwargs)
        used = y.creator.plan.name
        gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(dtype)
        y.backward(minigan.tensor(gy, device=device))
    finally:
        conv_module.PLAN = old
    return used, [y.detach().numpy()] + [t.grad.numpy() for t in ts if t is not None]


def random_case(rng, kind, eligible_for):
    """One random convolution, small. ``eligible_for`` 'winograd' or 'subpixel-taps': kernel
    = stride x R, no dilation (the sub-pixel split); ``'taps'``: anything."""
    n, c, oc = rng.integers(1, 3), rng.integers(1, 5), rng.integers(1, 5)
    sh, sw = rng.integers(1, 4), rng.integers(1, 4)
    if eligible_for in ("winograd", "subpixel-taps"):
        r = rng.integers(2, 6)  # R = 5: dcgan-mnist's and small-cnn's 5x5 stride-1 layers
        kh, kw, dh, dw = sh * r, sw * r, 1, 1
    else:
        kh, kw, dh, dw = rng.integers(1, 5), rng.integers(1, 5), rng.integers(1, 3), rng.integers(1, 3)
    ph, pw = rng.integers(0, 3), rng.integers(0, 3)
    w = rng.standard_normal((oc, c, kh, kw) if kind == "conv2d" else (c, oc, kh, kw))
    b = rng.standard_normal(oc) if rng.random() < 0.7 else None
    if kind == "conv2d":
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        h = max(1, span_h - 2 * ph) + rng.integers(0, 3 * sh + 3)
        wd = max(1, span_w - 2 * pw) + rng.integers(0, 3 * sw + 3)
        kwargs = dict(stride=(int(sh), int(sw)), padding=(int(ph), int(pw)), dilation=(int(dh), int(dw)))
    else:
        h, wd = rng.integers(1, 6), rng.integers(1, 6)
        ph = min(ph, ((h - 1) * sh + dh * (kh - 1)) // 2)  # the output must not be empty
        pw = min(pw, ((wd - 1) * sw + dw * (kw - 1)) // 2)
        oph, opw = rng.integers(0, max(sh, dh)), rng.integers(0, max(sw, dw))
        kwargs = dict(stride=(int(sh), int(sw)), padding=(int(ph), int(pw)),
                      output_padding=(int(oph), int(opw)), dilation=(int(dh), int(dw)))
    x = rng.standard_normal((n, c, h, wd))
    return (x, w, b), kwargs


def assert_same(fast, ref, rtol, atol, what):
    for name, a, b in zip(("output", "grad input", "grad weight", "grad bias"), fast, ref):
        assert a.shape == b.shape, f"{what} {name}: {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.abs(b).max())),
                                   err_msg=f"{what} {name}")


def random_case_matches_reference(rng, kind, fast, gy_seed, device="cpu", what=""):
    """Draw one :func:`random_case` for ``fast``, run it under ``fast`` (on ``device``) and under
    the columns plan (cpu), and check that they agree (float64). Returns (outputs, kwargs)."""
    arrays, kwargs = random_case(rng, kind, fast)
    used, out = run(kind, arrays, kwargs, fast, device=device, gy_seed=gy_seed)
    assert used == fast, (kwargs, used)
    _, ref = run(kind, arrays, kwargs, "columns", gy_seed=gy_seed)
    assert_same(out, ref, 1e-9, 1e-11, f"{what}{fast} on {device} vs columns, {kind}{tuple(arrays[0].shape)} {kwargs}")
    return out, kwargs


# ----------------------------------------------------------------------------- fast vs reference
@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("fast", ["winograd", "subpixel-taps", "taps", "gather"])
def test_fast_plans_match_the_reference_on_random_shapes(kind, fast):
    """40 seeded random shapes per (plan, op): forward and every gradient, float64."""
    rng = np.random.default_rng({"winograd": 11, "subpixel-taps": 13, "taps": 15, "gather": 19}[fast]
                                + (kind == "conv2d"))
    for i in range(40):
        random_case_matches_reference(rng, kind, fast, gy_seed=i)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
def test_taps_by_stride_phase_match_the_reference(kind, device):
    """The taps plan's loops go by stride phase when the kernel is a whole number of strides
    (``conv._phased``): 20 random such shapes per op, forward and every gradient, float64."""
    rng = np.random.default_rng(17 + (kind == "conv2d"))
    phased = 0
    for i in range(20):
        arrays, kwargs = random_case(rng, kind, "subpixel-taps")  # kernel = stride x R
        used, out = run(kind, arrays, kwargs, "taps", device=device, gy_seed=i)
        assert used == "taps"
        s = kwargs["stride"]
        phased += s[0] * s[1] > 1
        _, ref = run(kind, arrays, kwargs, "columns", gy_seed=i)
        assert_same(out, ref, 1e-9, 1e-11, f"taps by phase vs columns, {kind} {kwargs}")
    assert phased >= 10  # most draws are strided, so the phase loops really ran


@pytest.mark.parametrize("device", NOT_NUMPY)
@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("fast", ["winograd", "subpixel-taps", "gather"])
def test_fast_plans_on_the_other_devices(kind, fast, device):
    """Only array-API operations: the same numbers on array-api-strict (and CuPy) as on NumPy."""
    rng = np.random.default_rng(21)
    for i in range(6):
        random_case_matches_reference(rng, kind, fast, gy_seed=i, device=device)


def test_winograd_results_come_back_channels_first(monkeypatch):
    """The Winograd plan adds its tiles back channels last, then copies the image channels
    first in blocks of rows (``conv_winograd.channels_first``): a block of a few bytes makes
    every row its own block, so each block boundary is crossed. The input gradient of conv2d
    and the output of conv_transpose2d must be C-ordered (N, C, H, W) arrays - an elementwise
    op between them and a channels-first activation ran 10-20x slower - and equal the
    reference's numbers."""
    monkeypatch.setattr(conv_winograd, "_TRANSPOSE_BLOCK_BYTES", 1)
    rng = np.random.default_rng(23)
    for kind in ("conv2d", "conv_transpose2d"):
        for i in range(8):
            out, kwargs = random_case_matches_reference(rng, kind, "winograd", gy_seed=i, what="row blocks, ")
            untiled = out[1] if kind == "conv2d" else out[0]  # what untiles made
            assert untiled.flags.c_contiguous, (kind, kwargs, untiled.strides)
    img = np.arange(2 * 5 * 3 * 4, dtype=np.float32).reshape(2, 5, 3, 4)  # (N, H, W, C)
    xp = minigan.backend.get_backend("cpu").xp
    first = conv_winograd.channels_first(xp, img[:, 1:4, :, :])  # a cropped view, as untiles has
    np.testing.assert_array_equal(first, np.transpose(img[:, 1:4], (0, 3, 1, 2)))
    assert first.flags.c_contiguous


@pytest.mark.parametrize("fast", ["winograd", "subpixel-taps"])
def test_ineligible_geometry_falls_back_to_the_reference(fast):
    """Forcing a sub-pixel plan where it does not apply (dilation, kernel not a multiple of
    the stride) runs the columns plan instead of something wrong."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((3, 2, 3, 3))
    assert run("conv2d", (x, w, None), dict(stride=2), fast)[0] == "columns"
    w = rng.standard_normal((3, 2, 4, 4))
    assert run("conv2d", (x, w, None), dict(stride=2, dilation=2), fast)[0] == "columns"
    assert run("conv2d", (x, w, None), dict(stride=2), fast)[0] == fast


@pytest.mark.parametrize("device", DEVICES)
def test_winograd_gradcheck(device, monkeypatch):
    """Finite differences (float64) through the winograd plan: padding, unequal strides,
    batch 2, both ops."""
    monkeypatch.setattr(conv_module, "PLAN", "winograd")
    rng = np.random.default_rng(8)

    def t(*shape):
        return minigan.tensor(rng.standard_normal(shape), requires_grad=True, device=device)

    x, w, b = t(2, 2, 7, 9), t(3, 2, 4, 6), t(3)
    assert F.conv2d(x, w, b, (2, 3), (1, 2)).creator.plan.name == "winograd"
    assert minigan.gradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 3), (1, 2)), (x, w, b))
    x, w, b = t(2, 2, 3, 4), t(2, 3, 4, 6), t(3)
    assert F.conv_transpose2d(x, w, b, (2, 3), 1, (1, 0)).creator.plan.name == "winograd"
    assert minigan.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, (2, 3), 1, (1, 0)), (x, w, b))


# ----------------------------------------------------------------------------- vs PyTorch, drawn
@st.composite
def winograd_cases(draw):
    kind = draw(st.sampled_from(["conv2d", "conv_transpose2d"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    arrays, kwargs = random_case(rng, kind, "winograd")
    return kind, arrays, kwargs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(case=winograd_cases())
def test_winograd_matches_torch(case, dtype):
    kind, arrays, kwargs = case
    used, out = run(kind, arrays, kwargs, "winograd", dtype=dtype)
    assert used == "winograd"
    ts = [None if a is None else torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y = getattr(torch.nn.functional, kind)(*ts, **kwargs)
    y.backward(torch.tensor(np.random.default_rng(0).standard_normal(tuple(y.shape)).astype(dtype)))
    ref = [y.detach().numpy()] + [t.grad.numpy() for t in ts if t is not None]
    tol = (1e-9, 1e-11) if dtype == "float64" else (1e-4, 1e-5)
    assert_same(out, ref, *tol, f"winograd vs torch {dtype}, {kind} {kwargs}")


# ----------------------------------------------------------------------------- the book's layers
# (kind, in, out, padding, input shape, the plan make_plan picks) for BOOK_SPEC 4.14
BOOK = [
    ("conv2d", 3, 256, 0, (1, 3, 128, 128), "columns"),
    ("conv2d", 256, 256, 0, (1, 256, 61, 61), "winograd"),
    ("conv2d", 256, 3, 0, (1, 256, 27, 27), "subpixel-taps"),
    ("conv_transpose2d", 3, 256, 0, (1, 3, 11, 11), "subpixel-taps"),
    ("conv_transpose2d", 256, 256, 0, (1, 256, 28, 28), "winograd"),
    ("conv_transpose2d", 256, 3, 1, (1, 256, 62, 62), "columns"),
]


@pytest.mark.parametrize("kind, cin, cout, pad, shape, expected", BOOK,
                         ids=[f"{b[0]}({b[1]},{b[2]})" for b in BOOK])
def test_book_layers_automatic_plan_float32(kind, cin, cout, pad, shape, expected):
    """The plan picked for each of the book's layers, and its float32 numbers against the
    reference plan and PyTorch (relative to each tensor's scale)."""
    rng = np.random.default_rng(7)
    w_shape = (cout, cin, 8, 8) if kind == "conv2d" else (cin, cout, 8, 8)
    arrays = (rng.random(shape), rng.standard_normal(w_shape) / np.sqrt(cin * 64), rng.standard_normal(cout))
    kwargs = dict(stride=2, padding=pad)
    used, out = run(kind, arrays, kwargs, None, dtype="float32")
    assert used == expected
    _, ref = run(kind, arrays, kwargs, "columns", dtype="float32")
    assert_same(out, ref, 1e-4, 2e-5, f"{kind}({cin}, {cout}) automatic vs columns")
    ts = [torch.tensor(a.astype("float32"), requires_grad=True) for a in arrays]
    y = getattr(torch.nn.functional, kind)(*ts, **kwargs)
    y.backward(torch.tensor(np.random.default_rng(0).standard_normal(tuple(y.shape)).astype("float32")))
    assert_same(out, [y.detach().numpy()] + [t.grad.numpy() for t in ts], 1e-4, 2e-5,
                f"{kind}({cin}, {cout}) automatic vs torch")


# ----------------------------------------------------------------------------- the matrices
@pytest.mark.parametrize("m, r", [(2, 2), (2, 3), (3, 2), (4, 2), (5, 2), (2, 4), (3, 4), (4, 3), (2, 5),
                                  (3, 5), (2, 7)])
def test_winograd_matrices_compute_the_correlation(m, r):
    """A^T [(G g) * (B^T d)] is the 1-D correlation y_i = sum_k g_k d_(i+k), to rounding."""
    AT, G, BT = conv_winograd.winograd_matrices(m, r)
    n = m + r - 1
    assert AT.shape == (m, n) and G.shape == (n, r) and BT.shape == (n, n)
    rng = np.random.default_rng(m * 10 + r)
    for _ in range(5):
        g, d = rng.standard_normal(r), rng.standard_normal(n)
        direct = np.array([sum(g[k] * d[i + k] for k in range(r)) for i in range(m)])
        np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), direct, rtol=1e-12, atol=1e-12)


# (conv2d geometry: big-side H, W, kernel, stride, padding; OC small-side, C big-side; batch; plan)
BEYOND = [
    ((12, 12), 5, 1, 0, 64, 32, 64, "winograd"),     # dcgan-mnist's D, Conv2d(32, 64, 5)
    ((14, 14), 5, 1, 2, 32, 16, 100, "winograd"),    # small-cnn's second Conv2d(16, 32, 5, padding=2)
    ((14, 14), 5, 1, 2, 16, 8, 100, "columns"),      # 8 channels: im2col measured faster
    ((4, 4), 4, 1, 0, 1, 256, 64, "taps"),           # DCGAN's last Conv2d(256, 1, 4): stride 1, no split
    ((27, 27), 8, 2, 0, 3, 256, 1, "subpixel-taps"),  # the book's D3
    ((7, 7), 7, 1, 0, 128, 256, 64, "columns"),      # SAGAN's first ConvT(128, 256, 7): a 1 x 1 small side
    ((4, 4), 4, 1, 0, 100, 512, 128, "columns"),     # DCGAN's first ConvT(100, 512, 4), in conv2d terms
    ((7, 7), 4, 2, 1, 256, 128, 64, "winograd"),     # ... but a 3 x 3 small side keeps Winograd
    ((28, 28), 5, 2, 0, 10, 1, 1, "gather"),         # the book's MNIST CNN at batch 1 (BOOK_SPEC 4.13):
    ((12, 12), 3, 2, 0, 10, 10, 1, "gather"),        # 144 and 250 numbers per kernel offset
    ((12, 12), 3, 2, 0, 10, 10, 64, "columns"),      # ... 16,000 at batch 64: the offset loop
    ((128, 128), 8, 2, 0, 256, 3, 1, "columns"),     # the book's D1: 11,163 numbers per offset
]


@pytest.mark.parametrize("hw, k, s, p, oc, c, n, expected", BEYOND)
def test_plan_choice_beyond_the_book(hw, k, s, p, oc, c, n, expected):
    """choose_plan's rules (conv.py, measured with bench_conv --plans and at batch 64)."""
    g = conv_module.conv2d_geometry(*hw, (k, k), (s, s), (1, 1), (p, p, p, p))
    assert conv_module.choose_plan(g, oc, c, n) == expected


@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gather_plan_gives_the_reference_bits(kind, dtype):
    """The gather plan copies the same numbers as im2col and sums each image number's column
    entries in the offset loop's order, so its results are the columns plan's, bit for bit:
    padding, dilation and strides included (20 random shapes per op)."""
    rng = np.random.default_rng(29 + (kind == "conv2d"))
    for i in range(20):
        arrays, kwargs = random_case(rng, kind, "gather")
        used, out = run(kind, arrays, kwargs, "gather", dtype=dtype, gy_seed=i)
        assert used == "gather"
        _, ref = run(kind, arrays, kwargs, "columns", dtype=dtype, gy_seed=i)
        for name, a, b in zip(("output", "grad input", "grad weight", "grad bias"), out, ref):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, {kind}{arrays[0].shape} {kwargs}")


@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
def test_gather_plan_on_an_empty_batch(kind):
    """A batch of 0 images (PyTorch allows it) is small enough for the gather plan, whose
    index then has no pixels: an empty result and gradients, as the columns plan gives."""
    rng = np.random.default_rng(31)
    w = rng.standard_normal((3, 2, 3, 3))
    x = rng.standard_normal((0, 2, 6, 5) if kind == "conv2d" else (0, 3, 6, 5))
    used, out = run(kind, (x, w, None), dict(stride=2, padding=1), None)
    assert used == "gather"
    _, ref = run(kind, (x, w, None), dict(stride=2, padding=1), "columns")
    for a, b in zip(out, ref):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_gather_index_reads_what_the_offset_loop_reads():
    """GatherIndex against a loop over pixels: every column entry names the image number the
    kernel reads there (or the zero past the image for padding), and every image number's
    row of reads lists exactly the entries that read it, in order."""
    g = conv_module.conv2d_geometry(5, 4, (3, 2), (2, 1), (1, 2), (1, 1, 2, 0))
    C, N = 2, 2
    index = conv_module.GatherIndex(g, C, N)
    pixels = N * C * g.H * g.W
    expected = []
    for c in range(C):
        for i in range(g.KH):
            for j in range(g.KW):
                for n in range(N):
                    for oh in range(g.OH):
                        for ow in range(g.OW):
                            r, q = oh * g.SH + i * g.DH - g.PT, ow * g.SW + j * g.DW - g.PL
                            inside = 0 <= r < g.H and 0 <= q < g.W
                            expected.append(((n * C + c) * g.H + r) * g.W + q if inside else pixels)
    np.testing.assert_array_equal(index.columns, expected)
    reads = index.image.reshape(index.reads, pixels)
    for p in range(pixels):
        entries = [k for k, e in enumerate(expected) if e == p]
        assert list(reads[:len(entries), p]) == entries
        assert (reads[len(entries):, p] == len(expected)).all()  # the appended zero
    assert index.reads == max(expected.count(p) for p in range(pixels))


# ----------------------------------------------------------------------------- the Winograd block
@pytest.mark.parametrize("m", [2, 3, 4, 5])
@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
def test_every_winograd_block_matches_the_reference(kind, m, monkeypatch):
    """F(m x m, R x R) for each block m that ``output_block`` can choose, forced on 20 seeded
    random shapes per op: forward and every gradient, float64, against the columns plan."""
    monkeypatch.setattr(conv_winograd, "output_block", lambda R, OH, OW: m)
    rng = np.random.default_rng(40 + m + 10 * (kind == "conv2d"))
    for i in range(20):
        random_case_matches_reference(rng, kind, "winograd", gy_seed=i, what=f"F({m}) ")


# (R, output side, the block output_block picks): the layers measured for its docstring
BLOCKS = [
    (2, 7, 4),    # dcgan-mnist's and SAGAN's Conv2d(64, 128, 4, 2, 1) to 7 x 7: 2 tiles of 4
    (2, 8, 4),    # DCGAN's Conv2d(64, 128, 4, 2, 1) to 8 x 8: not 3 or 5 (3 tiles, or 2 of 5)
    (2, 1, 2),    # a 1 x 1 output: the smallest block
    (3, 28, 4),   # ACGAN's Conv2d(128, 64, 3, padding=1) on 28 x 28: 7 tiles of 4
    (3, 14, 4),   # its Conv2d(128, 128, 3) on 14 x 14
    (4, 27, 3),   # the book's D2 (k8 s2) to 27 x 27: 9 tiles of 3 (n = 6: not 4)
    (4, 28, 3),   # the book's G2
    (5, 8, 2),    # dcgan-mnist's Conv2d(32, 64, 5): n = 6 already at m = 2
    (7, 5, 2),    # past MAX_TILE: still the smallest block
]


@pytest.mark.parametrize("R, side, m", BLOCKS)
def test_output_block_choice(R, side, m):
    assert conv_winograd.output_block(R, side, side) == m


@pytest.mark.parametrize("R", [2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2])
def test_winograd_float32_rounding_stays_near_direct(R, stride):
    """The accuracy behind MAX_TILE (conv_winograd's docstring): in float32, with the block
    output_block picks, the output is within 1e-5 of the float64 truth, relative to its
    largest number (measured 2-7e-6; PyTorch's direct sum 0.6-3e-6; n = 7 tiles reach 2e-5)."""
    rng = np.random.default_rng(R + 10 * stride)
    k = R * stride
    x, w = rng.standard_normal((2, 64, 24, 24)), rng.standard_normal((64, 64, k, k)) * 0.05
    truth = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride).numpy()
    used, out = run("conv2d", (x, w, None), dict(stride=stride), "winograd", dtype="float32")
    assert used == "winograd"
    error = float(np.abs(out[0] - truth).max() / np.abs(truth).max())
    assert error <= 1e-5, f"F({conv_winograd.output_block(R, *truth.shape[2:])}, {R}): {error:.1e}"
