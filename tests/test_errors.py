"""Bad input gets an error that says what went wrong, in PyTorch's words where PyTorch has
them: shape mismatches name the op and both shapes, device mixes name both devices."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigan
import minigan.nn.functional as F


def raises(exc, *fragments):
    """pytest.raises that requires every fragment (literally, in any order) in the message."""
    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("a_shape, b_shape", [((3, 3), (4, 4)), ((3,), (4,)), ((2, 3), (2,)),
                                              ((5,), (4, 2)), ((2, 3, 4), (5, 4, 2))])
def test_matmul_shape_mismatch_names_op_and_shapes(a_shape, b_shape):
    a, b = minigan.randn(*a_shape), minigan.randn(*b_shape)
    with raises(RuntimeError, "matmul", str(a_shape), str(b_shape)):
        a @ b
    with raises(RuntimeError, "matmul", str(a_shape), str(b_shape)):
        minigan.matmul(a, b)


def test_matmul_of_zero_dim_refused():
    with raises(RuntimeError, "matmul", "at least 1 dimension"):
        minigan.tensor(2.0) @ minigan.randn(2)


@pytest.mark.parametrize("op, name", [(lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"),
                                      (lambda a, b: a * b, "mul"), (lambda a, b: a / b, "div"),
                                      (lambda a, b: a ** b, "pow"), (lambda a, b: a < b, "lt"),
                                      (lambda a, b: minigan.maximum(a, b), "maximum"),
                                      (lambda a, b: minigan.where(a > 0, a, b), "where"),
                                      (lambda a, b: minigan.where(b > 0, a, a), "where")])
def test_broadcast_mismatch_names_op_and_shapes(op, name):
    a, b = minigan.rand(2, 3) + 0.5, minigan.rand(4) + 0.5
    with raises(RuntimeError, name, "(2, 3)", "(4,)", "broadcast"):
        op(a, b)
    try:
        op(a, b)
    except RuntimeError as e:  # our error alone, not "during handling of" the library's
        assert e.__context__ is None or e.__suppress_context__, repr(e.__context__)


def test_cat_and_stack_mismatch_name_op_and_shapes():
    with raises(RuntimeError, "cat", "(2, 3)", "(2, 4)"):
        minigan.cat([minigan.zeros(2, 3), minigan.zeros(2, 4)])
    with raises(RuntimeError, "cat", "(2, 3)", "(3,)"):
        minigan.cat([minigan.zeros(2, 3), minigan.zeros(3)], dim=1)
    with raises(RuntimeError, "stack", "(2, 3)", "(3, 2)"):
        minigan.stack([minigan.zeros(2, 3), minigan.zeros(3, 2)])
    with raises(RuntimeError, "cat", "non-empty"):
        minigan.cat([])


def test_linear_mismatch():
    with raises(RuntimeError, "linear", "(2, 3)", "(4, 2)"):
        F.linear(minigan.randn(2, 3), minigan.randn(4, 2))
    with raises(RuntimeError, "linear", "bias", "(3,)"):
        F.linear(minigan.randn(2, 2), minigan.randn(4, 2), minigan.randn(3))


def test_reshape_expand_permute_and_dims():
    x = minigan.randn(2, 3)
    with raises(RuntimeError, "reshape", "[4]", "6"):
        x.reshape(4)
    with raises(RuntimeError, "view", "[4, 2]", "6"):
        x.view(4, 2)
    with raises(RuntimeError, "only one dimension can be inferred"):
        x.view(-1, -1)
    with raises(RuntimeError, "expand", "(2, 3)", "(4, 3)"):
        x.expand(4, 3)
    with raises(RuntimeError, "permute", "(0, 0)"):
        x.permute(0, 0)
    for bad in (lambda: x.sum(dim=2), lambda: x.softmax(dim=-3), lambda: x.transpose(0, 2),
                lambda: x.squeeze(5), lambda: x.unsqueeze(4), lambda: x.mean(dim=(0, 7))):
        with pytest.raises(IndexError, match="out of range"):
            bad()


def test_unsupported_index_says_what_is_supported():
    with raises(IndexError, "getitem", "boolean mask"):
        minigan.randn(3, 3)[minigan.tensor([[0, 1]]), minigan.tensor([1])]


# ----------------------------------------------------------------------------- devices
@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b.T, lambda a, b: minigan.cat([a, b]),
    lambda a, b: minigan.stack([a, b]), lambda a, b: minigan.where(a > 0, a, b),
    lambda a, b: minigan.maximum(a, b), lambda a, b: F.linear(a, b),
    lambda a, b: F.linear(a, a, b[0]), lambda a, b: a - b.sum(),
], ids=["add", "mul", "matmul", "cat", "stack", "where", "maximum", "linear", "linear_bias",
        "sub_0d"])
def test_mixing_devices_names_both(op):
    cpu, strict = minigan.randn(3, 3), minigan.randn(3, 3, device="strict")
    for a, b in ((cpu, strict), (strict, cpu)):
        with raises(RuntimeError, "same device", str(a.device), str(b.device)):
            op(a, b)


def test_backward_gradient_on_another_device():
    x = minigan.randn(3, requires_grad=True)
    with raises(RuntimeError, "strict", "cpu"):
        (x * 2).backward(minigan.ones(3, device="strict"))


# ----------------------------------------------------------------------------- autograd misuse
def test_backward_on_non_scalar_without_gradient():
    x = minigan.randn(2, 3, requires_grad=True)
    with raises(RuntimeError, "grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_on_tensor_not_requiring_grad():
    with raises(RuntimeError, "element 0 of tensors does not require grad and does not have a grad_fn"):
        minigan.randn(2, 3).sum().backward()
    with raises(RuntimeError, "does not require grad"):
        with minigan.no_grad():
            y = (minigan.randn(2, requires_grad=True) * 2).sum()
        y.backward()


def test_backward_gradient_shape_mismatch():
    x = minigan.randn(3, requires_grad=True)
    with raises(RuntimeError, "gradient of shape (2,)", "(3,)"):
        (x * 2).backward(minigan.ones(2))


def test_autograd_grad_of_input_not_requiring_grad():
    x = minigan.randn(3, requires_grad=True)
    with raises(RuntimeError, "does not require grad"):
        minigan.autograd.grad((x * 2).sum(), minigan.randn(3))


def test_numpy_item_and_inplace_misuse():
    x = minigan.randn(3, requires_grad=True)
    with raises(RuntimeError, "numpy()", "detach"):
        x.numpy()
    with raises(ValueError, "only one element tensors", "(3,)"):
        x.item()
    with raises(RuntimeError, "leaf", "in-place"):
        x.zero_()
    with raises(RuntimeError, "floating point"):
        minigan.tensor([1, 2]).requires_grad_()


# ----------------------------------------------------------------------------- dtypes and data
@pytest.mark.parametrize("bad", ["float16", "complex64"])
def test_unsupported_dtypes_refused_by_name(bad):
    with raises(TypeError, "unsupported dtype " + bad):
        minigan.tensor(np.zeros(3, dtype=bad))
    with raises(TypeError, bad):
        minigan.ones(3, dtype=bad)


def test_gradcheck_refuses_float32():
    x = minigan.randn(3, requires_grad=True)
    with raises(TypeError, "gradcheck", "float32", "float64"):
        minigan.gradcheck(lambda t: t * 2, (x,))


def test_bad_data_and_sizes():
    with raises(ValueError, "not rectangular"):
        minigan.tensor([[1.0, 2.0], [3.0]])
    with raises(TypeError, "str"):
        minigan.tensor("abc")
    with raises(ValueError, "non-negative"):
        minigan.zeros(-1)
    with raises(ValueError, "unknown device type 'gpu'"):
        minigan.zeros(2, device="gpu")


# ----------------------------------------------------------------------------- the test set-up
def test_missing_torch_fails_the_session_when_required(tmp_path):
    """conftest.py: MINIGAN_REQUIRE_TORCH=1 and no PyTorch -> the run fails, loudly."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""
        import sys
        class _BlockTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch blocked for this test")
        sys.meta_path.insert(0, _BlockTorch())
    """))
    tests_dir = os.path.dirname(__file__)
    env = dict(os.environ, MINIGAN_REQUIRE_TORCH="1",
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.path.dirname(tests_dir)]))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          os.path.join(tests_dir, "test_book_ch1.py")],
                         env=env, capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "MINIGAN_REQUIRE_TORCH=1 but PyTorch is not importable" in output
    # and without the variable the same run passes (the book tests do not need torch)
    env.pop("MINIGAN_REQUIRE_TORCH")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          os.path.join(tests_dir, "test_book_ch1.py")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PyTorch NOT importable" in run.stdout


# ----------------------------------------------------------------------------- arrays for tensors
_ARRAY = np.ones((1, 4), dtype=np.float32)


@pytest.mark.parametrize("anomaly", [False, True])
@pytest.mark.parametrize("call, op", [(lambda a: minigan.sigmoid(a), "Sigmoid"),
                                      (lambda a: minigan.relu(a), "ReLU"),
                                      (lambda a: F.linear(a, minigan.rand(2, 4)), "Linear"),
                                      (lambda a: minigan.tanh(a), "Tanh")])
def test_an_op_given_a_numpy_array_names_the_op_and_the_fix(call, op, anomaly):
    """A NumPy array has no ``backend`` and its ``.data`` is a memoryview: the error used to be
    an AttributeError about one of those."""
    context = minigan.autograd.detect_anomaly() if anomaly else contextlib.nullcontext()
    with context, raises(TypeError, f"{op}: input 0 must be a Tensor", "numpy.ndarray", "minigan.from_numpy"):
        call(_ARRAY)


@pytest.mark.parametrize("module", [minigan.nn.Linear(4, 2), minigan.nn.LayerNorm(4), minigan.nn.Sigmoid(),
                                    minigan.nn.Flatten(),
                                    minigan.nn.Sequential(minigan.nn.Linear(4, 2), minigan.nn.Sigmoid())])
def test_a_layer_given_a_numpy_array_names_the_layer_and_the_fix(module):
    name = type(module).__name__
    with raises(TypeError, f"{name}: input must be a Tensor", "numpy.ndarray of shape (1, 4)",
                "minigan.from_numpy") as e:
        module(_ARRAY)
    assert e.value.__suppress_context__  # the one error, not the memoryview's under it


def test_other_attribute_errors_of_ops_and_layers_pass_through_unchanged():
    """Only a non-Tensor input turns into the TypeError; a bug inside forward stays itself."""
    class Broken(minigan.autograd.Function):
        def forward(self, x):
            return x.no_such_attribute

    class BrokenLayer(minigan.nn.Module):
        def forward(self, x):
            return x.no_such_method()

    with pytest.raises(AttributeError, match="no_such_attribute"):
        Broken()(minigan.rand(3))
    with pytest.raises(AttributeError, match="no_such_method"):
        BrokenLayer()(minigan.rand(3))


def test_save_into_a_folder_or_a_missing_folder_says_so_and_leaves_nothing(tmp_path):
    state = {"w": minigan.rand(2)}
    with raises(IsADirectoryError, "save:", str(tmp_path), "is a folder", "model.npz"):
        minigan.save(state, str(tmp_path))
    missing = tmp_path / "nope" / "x.npz"
    with raises(FileNotFoundError, "save:", str(tmp_path / "nope"), "does not exist", "x.npz"):
        minigan.save(state, str(missing))
    assert os.listdir(tmp_path) == []  # no temporary file left behind
