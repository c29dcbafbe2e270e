"""einsum, tensordot, prod, cumprod, trace, diag, diagonal, diag_embed, addmm, baddbmm and addmv
beyond the op case table (which checks them against PyTorch on random shapes, with gradcheck
and gradgradcheck): einsum's many equation forms and random equations, second derivatives
against PyTorch's, products with zeros, integer dtypes, the Tensor methods, PyTorch's refusals."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan.testing import arrays, assert_matches_torch

from device_params import DEVICES

torch = pytest.importorskip("torch")

# (equation, operand shapes): every form PyTorch's einsum takes
EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),                    # a matrix product
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),            # a batched one
    ("ij,kj", [(2, 3), (4, 3)]),                         # implicit output: ik
    ("ba,a", [(2, 3), (3,)]),                            # implicit output: b
    ("Ab,ab", [(2, 3), (4, 3)]),                         # implicit: A before a
    ("i,i->", [(4,), (4,)]),                             # a dot product
    ("i,j->ij", [(2,), (3,)]),                           # an outer product
    ("ij->ji", [(2, 3)]),                                # a transpose
    ("ij->", [(2, 3)]),                                  # a sum ...
    ("ij->j", [(2, 3)]),                                 # ... and a column sum
    ("ii->", [(3, 3)]),                                  # a trace
    ("ii", [(3, 3)]),                                    # a trace, implicitly
    ("ii->i", [(3, 3)]),                                 # a diagonal
    ("bii->bi", [(2, 3, 3)]),                            # a batch of diagonals
    ("iii->i", [(2, 2, 2)]),                             # a subscript three times
    ("iij,jk->ki", [(2, 2, 3), (3, 4)]),                 # a diagonal inside a product
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),          # three operands
    ("ij,jk,kl,lm->im", [(2, 2), (2, 3), (3, 2), (2, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (5, 3, 4)]),   # '...' broadcasts from the right
    ("...ij,...jk", [(3, 2, 3), (3, 4)]),                # implicit with '...': the batch first
    ("...ij,...jk->ik", [(2, 2, 3), (2, 3, 4)]),         # '...' summed when the output lacks it
    ("i...->...", [(3, 2, 2)]),
    ("b...,b...->b", [(2, 3, 2), (2, 1, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),                     # a size-1 axis broadcasts
    ("ij,jk->ik", [(2, 1), (3, 4)]),                     # ... also a summed one
    ("i,ij->", [(1,), (3, 3)]),                          # ... and one only a single operand has
    ("->", [()]),                                        # a 0-d operand
    (",ij->ji", [(), (2, 3)]),
    (" ij , jk -> ik ", [(2, 3), (3, 2)]),               # spaces are ignored
    ("ij,jk->ik", [(40, 40), (40, 40)]),                 # big enough for NumPy's optimize=True
    ("ij,jk,kl->il", [(32, 32), (32, 32), (32, 32)]),
]


def _operands(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("equation,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_torch(equation, shapes, device):
    """Values and every operand's gradient, float64, equal to PyTorch's."""
    outs = assert_matches_torch(lambda F, *ops: F.einsum(equation, *ops), *_operands(shapes),
                                device=device)
    assert outs[0].device == minigan.device(device)


@pytest.mark.parametrize("device", DEVICES)
def test_einsum_list_and_sublist_forms(device):
    a, b = _operands([(2, 3), (3, 4)])
    assert_matches_torch(lambda F, x, y: F.einsum("ij,jk->ik", [x, y]), a, b, device=device)
    assert_matches_torch(lambda F, x, y: F.einsum("ij,jk->ik", (x, y)), a, b, device=device)
    assert_matches_torch(lambda F, x, y: F.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b, device=device)
    assert_matches_torch(lambda F, x, y: F.einsum(x, [Ellipsis, 1], y, [1, 2]), a, b, device=device)


# several operands: the gradient of each depends on the others, so second derivatives are not 0
SECOND_DERIVATIVES = [("ij,jk->ik", [(2, 3), (3, 2)]), ("iij,jk->ki", [(2, 2, 3), (3, 2)]),
                      ("...ij,...jk->...ik", [(2, 1, 2, 2), (3, 2, 2)]), ("i,ij->", [(3,), (3, 3)]),
                      ("ij,jk,kl->il", [(2, 2), (2, 3), (3, 2)]), ("ij,ij->ij", [(1, 2), (2, 2)])]


@pytest.mark.parametrize("equation,shapes", SECOND_DERIVATIVES, ids=[e for e, _ in SECOND_DERIVATIVES])
def test_einsum_second_derivatives_match_torch(equation, shapes):
    """create_graph=True: the gradients (einsums themselves) differentiated again, along random
    directions, equal PyTorch's second derivatives."""
    ops, results = _operands(shapes, seed=1), []
    rng = np.random.default_rng(2)
    up = rng.standard_normal(tuple(np.einsum(equation, *ops).shape))
    directions = [rng.standard_normal(a.shape) for a in ops]
    for F in (minigan, torch):
        xs = [F.tensor(a, requires_grad=True) for a in ops]
        grads = F.autograd.grad(F.einsum(equation, *xs), xs, F.tensor(up), create_graph=True)
        total = sum((g * F.tensor(d)).sum() for g, d in zip(grads, directions))
        results.append([g.detach().numpy() for g in F.autograd.grad(total, xs)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", ["cpu", "strict"])
@pytest.mark.parametrize("equation,shapes", SECOND_DERIVATIVES[:3] + [
    ("ii->i", [(3, 3)]), ("bii->bi", [(2, 2, 2)]), ("ij->i", [(2, 3)]), ("ij->", [(2, 3)])],
    ids=lambda v: v if isinstance(v, str) else "")
def test_einsum_gradgradcheck(equation, shapes, device):
    """Finite differences of the create_graph gradient, upstream gradient included, for the
    repeated subscripts (the identity operand) and the summed-away ones (the expand) too."""
    xs = [minigan.tensor(a, requires_grad=True, device=device) for a in _operands(shapes, seed=4)]
    assert minigan.gradgradcheck(lambda *t: minigan.einsum(equation, *t), xs)


@st.composite
def einsum_problems(draw):
    """A random equation (1-3 operands, subscripts repeated within an operand or not, '...' or
    not, explicit or implicit output) and operands for it (some axes of size 1, broadcast)."""
    pool = "abcE"
    sizes = {c: draw(st.integers(1, 3)) for c in pool}
    batch = draw(st.lists(st.integers(1, 3), max_size=2)) if draw(st.booleans()) else None
    terms, shapes = [], []
    for _ in range(draw(st.integers(1, 3))):
        labels = draw(st.lists(st.sampled_from(pool), max_size=3))
        shape = [sizes[c] if labels.count(c) > 1 or draw(st.booleans()) else 1 for c in labels]
        if batch is not None and draw(st.booleans()):
            at = draw(st.integers(0, len(labels)))
            covered = [n if draw(st.booleans()) else 1 for n in batch[draw(st.integers(0, len(batch))):]]
            labels, shape = labels[:at] + ["..."] + labels[at:], shape[:at] + covered + shape[at:]
        terms.append("".join(labels))
        shapes.append(tuple(shape))
    equation = ",".join(terms)
    if draw(st.booleans()):
        used = sorted({c for t in terms for c in t if c.isalpha()})
        out = draw(st.lists(st.sampled_from(used), unique=True)) if used else []
        if "..." in equation and draw(st.booleans()):
            out.insert(draw(st.integers(0, len(out))), "...")
        equation += "->" + "".join(out)
    return equation, [draw(arrays(shape)) for shape in shapes]


@pytest.mark.parametrize("device", ["cpu", "strict"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=einsum_problems())
def test_random_einsum_matches_torch(problem, device):
    """Random equations: values and gradients equal PyTorch's (on "strict", through the
    product-and-sum fallback, since array-api-strict has no einsum)."""
    equation, ops = problem
    assert_matches_torch(lambda F, *xs: F.einsum(equation, *xs), *ops, device=device)


# ----------------------------------------------------------------------------- products and zeros
ZERO_CASES = [
    np.array([1.5, 0.0, -2.0, 0.5]),                         # one zero
    np.array([0.0, 3.0, 0.0, 2.0]),                          # two
    np.zeros(3),                                             # all
    np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, -1.0], [0.0, 4.0, 5.0]]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("x", ZERO_CASES, ids=["one_zero", "two_zeros", "all_zeros", "matrix"])
def test_products_with_zeros_match_torch(x, device):
    """prod and cumprod along every axis, where entries are exactly 0: values and gradients."""
    assert_matches_torch(lambda F, t: F.prod(t), x, device=device)
    for dim in range(x.ndim):
        assert_matches_torch(lambda F, t: F.prod(t, dim, keepdim=True), x, device=device)
        assert_matches_torch(lambda F, t: F.cumprod(t, dim), x, device=device)


def test_prod_gradient_is_the_product_of_the_others():
    """The textbook cases, exactly: no zero y / x; one zero, the product of the others at the
    zero and 0 elsewhere; two zeros, 0 everywhere."""
    for values, expected in [([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]), ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),
                             ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0])]:
        x = minigan.tensor(values, dtype=minigan.float64, requires_grad=True)
        x.prod().backward()
        assert x.grad.tolist() == expected


@pytest.mark.parametrize("op", ["prod", "cumprod"])
@pytest.mark.parametrize("x", ZERO_CASES[:2] + [np.array([0.0, 2.0, 0.0, 3.0, 0.0])],
                         ids=["one_zero", "two_zeros", "three_zeros"])
def test_second_derivatives_at_zeros_match_torch(op, x):
    """Second derivatives where entries are 0: the zero-aware formulas are differentiated
    again (cumprod's through its n x n products) and equal PyTorch's."""
    results = []
    for F in (minigan, torch):
        t = F.tensor(x, requires_grad=True)
        out = F.prod(t, 0) if op == "prod" else F.cumprod(t, 0)
        up = F.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
        (g,) = F.autograd.grad(out, t, up, create_graph=True)
        (gg,) = F.autograd.grad((g * F.tensor(np.arange(1.0, 1.0 + x.size))).sum(), t)
        results.append((g.detach().numpy(), gg.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert minigan.gradgradcheck(lambda t: getattr(minigan, op)(t, 0),
                                 (minigan.tensor(x, requires_grad=True),))


# ----------------------------------------------------------------------------- dtypes, methods
def test_integer_inputs_match_torch():
    """No gradients, PyTorch's dtypes: products and one-operand einsum sums count as int64,
    einsum of several int32 operands stays int32, bools multiply as and."""
    a = np.arange(1, 13).reshape(3, 4)
    for fn in (lambda F, t: F.einsum("ij,kj->ik", t, t), lambda F, t: F.einsum("ii", t[:, :3]),
               lambda F, t: F.einsum("ij->j", t.to(F.int32)), lambda F, t: F.einsum("ij->ji", t.to(F.int32)),
               lambda F, t: F.einsum("ij,ij->", t.to(F.int32), t.to(F.int32)),
               lambda F, t: F.einsum("i,i->i", t[0] > 2, t[1] > 6), lambda F, t: F.einsum("i->", t[0] > 2),
               lambda F, t: F.tensordot(t, t, ([1], [1])), lambda F, t: t.prod(), lambda F, t: t.prod(1),
               lambda F, t: t.to(F.int32).prod(0), lambda F, t: t.to(F.uint8).prod(0),
               lambda F, t: (t > 5).prod(1), lambda F, t: t.prod(dtype=F.float64), lambda F, t: t.cumprod(1),
               lambda F, t: (t > 3).cumprod(1), lambda F, t: t.to(F.int32).cumprod(0, dtype=F.float32),
               lambda F, t: F.trace(t), lambda F, t: F.trace(t.to(F.int32)), lambda F, t: F.diag(t, 1),
               lambda F, t: F.diag(t[0], -1), lambda F, t: F.diagonal(t.to(F.int32), -1),
               lambda F, t: F.diag_embed(t, 1),
               lambda F, t: F.addmm(t[:, :3], t, t.T[:, :3], beta=2, alpha=3),
               lambda F, t: F.addmm(t[:, :3], t, t.T[:, :3], beta=0.5, alpha=2.5),   # (ints: 0, 2)
               lambda F, t: F.baddbmm(t[:1, :1], t[None], t.T[None]),
               lambda F, t: F.addmv(t[0, :3], t[:, :3], t[1, :3])):
        for device in ("cpu", "strict"):
            ours, theirs = fn(minigan, minigan.tensor(a, device=device)), fn(torch, torch.tensor(a))
            assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
            np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


def test_the_tensor_methods_are_the_functions():
    x = minigan.tensor(np.arange(1.0, 25.0).reshape(2, 3, 4))
    m = minigan.tensor(np.arange(1.0, 7.0).reshape(2, 3))
    for method, function in [(x.prod(2), minigan.prod(x, 2)), (x.prod(), minigan.prod(x)),
                             (x.cumprod(-1), minigan.cumprod(x, -1)),
                             (x.diagonal(1, 2, 1), minigan.diagonal(x, 1, 2, 1)),
                             (m.trace(), minigan.trace(m)), (m.diag(-1), minigan.diag(m, -1)),
                             (m.diag_embed(), minigan.diag_embed(m)),
                             (m[0].addmm(m.T, m), minigan.addmm(m[0], m.T, m)),
                             (m[0].addmv(m.T, m[:, 0]), minigan.addmv(m[0], m.T, m[:, 0])),
                             (m[:, :2].baddbmm(m[None], m.T[None]),
                              minigan.baddbmm(m[:, :2], m[None], m.T[None]))]:
        np.testing.assert_array_equal(method.numpy(), function.numpy())
    assert x.prod(1, keepdim=True).shape == (2, 1, 4) and x.prod(keepdim=True).shape == (1, 1, 1)


def test_addmm_with_beta_zero_ignores_input_but_gives_it_a_zero_gradient():
    """PyTorch's rule: beta = 0 means NaN and inf in input do not propagate."""
    x = minigan.full((2, 2), float("nan"), requires_grad=True)
    a, b = minigan.ones(2, 3), minigan.ones(3, 2)
    out = minigan.addmm(x, a, b, beta=0)
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


# ----------------------------------------------------------------------------- PyTorch's refusals
def _ones(F, *shape, dtype=None):
    return F.ones(*shape, dtype=dtype or F.float32)


# (call, the exception, the message; same_text: PyTorch's message matches the pattern too)
REFUSALS = [
    (lambda F: F.einsum("ij,jk->ik", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): fewer operands were provided than specified in the equation", True),
    (lambda F: F.einsum("ij->ij", _ones(F, 2, 3), _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): more operands were provided than specified in the equation", True),
    (lambda F: F.einsum("ij,jk->ik", _ones(F, 2, 3), _ones(F, 4, 5)), RuntimeError,
     r"einsum\(\): subscript j has size 4 for operand 1 which does not broadcast with previously "
     r"seen size 3", True),
    (lambda F: F.einsum("i1->i", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): invalid subscript given at index 1 in the equation string, subscripts must be "
     r"in \[a-zA-Z\]", True),
    (lambda F: F.einsum("ij-->ji", _ones(F, 2, 3)), RuntimeError,
     r"invalid subscript given at index 2", True),
    (lambda F: F.einsum("ij->j->i", _ones(F, 2, 3)), RuntimeError,
     r"invalid subscript given at index 5", True),
    (lambda F: F.einsum("ijk->i", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): the number of subscripts in the equation \(3\) does not match the number of "
     r"dimensions \(2\) for operand 0 and no ellipsis was given", True),
    (lambda F: F.einsum("...ijk->i", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): the number of subscripts in the equation \(3\) is more than the number of "
     r"dimensions \(2\) for operand 0", True),
    (lambda F: F.einsum("ii->i", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): subscript i is repeated for operand 0 but the sizes don't match, 3 != 2", True),
    (lambda F: F.einsum("ij->ii", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): output subscript i appears more than once in the output", True),
    (lambda F: F.einsum("ij->k", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): output subscript k does not appear in the equation for any input operand", True),
    (lambda F: F.einsum("i.j->i", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): found '\.' for operand 0 that is not part of any ellipsis", True),
    (lambda F: F.einsum("...i...->i", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): found '\.' for operand 0 for which an ellipsis was already found", True),
    (lambda F: F.einsum("ij->i..", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): found '\.' for output that is not part of any ellipsis \(\.\.\.\)", True),
    (lambda F: F.einsum("ij->...i...", _ones(F, 2, 3)), RuntimeError,
     r"einsum\(\): found '\.' for output but an ellipsis \(\.\.\.\) was already found", True),
    (lambda F: F.einsum("...ij,...jk", _ones(F, 2, 2, 2, 3), _ones(F, 5, 3, 4)), RuntimeError,
     r"einsum\(\): dimension 0 covered by ellipsis in operand 1 ?has size 5 which does not broadcast "
     r"with previously seen ellipsis with size 2 for the respective dimension", True),
    (lambda F: F.einsum("ij,jk->ik"), ValueError,
     r"einsum\(\): must specify the equation string and at least one operand", True),
    (lambda F: F.einsum(_ones(F, 2), [0, 52]), ValueError,
     r"einsum\(\): subscript in subscript list is not within the valid range \[0, 52\)", True),
    (lambda F: F.einsum("i,i->", _ones(F, 3), _ones(F, 3, dtype=F.int64)), RuntimeError,
     r"einsum\(\): expected scalar type float32 but found int64 for operand 1", False),
    (lambda F: F.tensordot(_ones(F, 2, 3, 4), _ones(F, 3, 4, 5), -1), RuntimeError,
     r"tensordot expects dims >= 0, but got dims=-1", True),
    (lambda F: F.tensordot(_ones(F, 2, 3, 4), _ones(F, 4, 3, 5), 2), RuntimeError,
     r"contracted dimensions need to match, but first has size 3 in dim -2 and second has size 4 "
     r"in dim 0", True),
    (lambda F: F.tensordot(_ones(F, 2, 3, 4), _ones(F, 4, 3, 5), ([1, 2], [1])), RuntimeError,
     r"both dimension lists should have same length", True),
    (lambda F: F.tensordot(_ones(F, 2, 3, 4), _ones(F, 4, 3, 5), ([1, 1], [1, 1])), RuntimeError,
     r"dim 1 appears multiple times in the list of dims", True),
    (lambda F: F.tensordot(_ones(F, 2, 3, 4), _ones(F, 4, 3, 5), ([1, 3], [1, 0])), IndexError,
     r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)", True),
    (lambda F: F.tensordot(_ones(F, 2, 3), _ones(F, 3, dtype=F.int64), 1), RuntimeError,
     r"both inputs should have same dtype", True),
    (lambda F: F.trace(_ones(F, 2, 3, 4)), RuntimeError,
     r"trace: expected a matrix, but got tensor with dim 3", True),
    (lambda F: F.diag(_ones(F, 2, 3, 4)), RuntimeError, r"diag\(\): Supports 1D or 2D tensors. Got 3D", True),
    (lambda F: F.diagonal(_ones(F, 2, 3, 4), 0, 2, -1), RuntimeError,
     r"diagonal dimensions cannot be identical 2, -1", True),
    (lambda F: F.diagonal(_ones(F, 3)), IndexError,
     r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)", True),
    (lambda F: F.diag_embed(_ones(F, 2, 3), 0, 0, 0), RuntimeError,
     r"diagonal dimensions cannot be identical 0, 0", True),
    (lambda F: F.addmm(_ones(F, 2, 2), _ones(F, 3), _ones(F, 3, 2)), RuntimeError,
     r"mat1 must be a matrix, got 1-D tensor", True),
    (lambda F: F.addmm(_ones(F, 2, 2), _ones(F, 2, 3), _ones(F, 4, 2)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)", True),
    (lambda F: F.addmm(_ones(F, 3), _ones(F, 2, 3), _ones(F, 3, 2)), RuntimeError,
     r"addmm: input of shape \(3,\) does not broadcast to the product's shape \(2, 2\)", False),
    (lambda F: F.addmm(_ones(F, 2, 2, dtype=F.float64), _ones(F, 2, 3), _ones(F, 3, 2)), RuntimeError,
     r"addmm: expected input and both factors of one dtype, as PyTorch, got float64, float32 and "
     r"float32", False),
    (lambda F: F.baddbmm(_ones(F, 2, 2), _ones(F, 4, 2, 3), _ones(F, 3, 3, 2)), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[4, 3\] but got: \[3, 3\]\.", True),
    (lambda F: F.addmv(_ones(F, 2), _ones(F, 2, 3), _ones(F, 4)), RuntimeError,
     r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)", True),
    (lambda F: F.addmv(_ones(F, 2), _ones(F, 2, 3), _ones(F, 3, 1)), RuntimeError,
     r"vector \+ matrix @ vector expected, got 1, 2, 2", True),
    (lambda F: F.ones(2, 3).prod((0, 1)), TypeError, r"prod", False),
    (lambda F: F.ones(2, 3).prod(2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)", True),
]


@pytest.mark.parametrize("call,error,pattern,same_text", REFUSALS, ids=[r[2][:40] for r in REFUSALS])
def test_refuses_what_torch_refuses(call, error, pattern, same_text):
    """minigan raises ``error`` with ``pattern``; PyTorch refuses too, with the same text where
    ``same_text`` (elsewhere minigan's words differ: einsum's dtype rule, addmm's broadcast)."""
    with pytest.raises(error, match=pattern) as ours:
        call(minigan)
    with pytest.raises(Exception) as theirs:
        call(torch)
    if same_text:
        assert ours.type is theirs.type or issubclass(theirs.type, ours.type)
        assert re.search(pattern, str(theirs.value)), str(theirs.value)


def test_einsum_errors_name_the_equation_and_the_shapes():
    with pytest.raises(RuntimeError, match=r"\(equation 'ij,jk->ik', operand shapes \(2, 3\), \(4, 5\)\)"):
        minigan.einsum("ij,jk->ik", minigan.ones(2, 3), minigan.ones(4, 5))
    with pytest.raises(TypeError, match="einsum\\(\\): expected Tensor as operand 1, but got ndarray"):
        minigan.einsum("i,i", minigan.ones(2), np.ones(2))
