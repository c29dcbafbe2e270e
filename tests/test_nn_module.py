"""The book's networks built from minigan.nn: parameter counts (BOOK_SPEC section 5.3), printed
form, state_dict names, the book's Module subclasses that override ``train()``, and short
training runs that end with the same weights as PyTorch from the same start."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import minigan
from test_nn_helpers import DEVICES, assert_close, copy_parameters, host, mg, th


def book_models(nn):
    """Every fully connected model of the book, in the framework ``nn`` (torch.nn or minigan.nn)."""
    def mnist_d(n_in, n_out=1):  # notebooks 04, 08, 16
        return nn.Sequential(nn.Linear(n_in, 200), nn.LeakyReLU(0.02), nn.LayerNorm(200),
                             nn.Linear(200, n_out), nn.Sigmoid())

    def mnist_g(n_in):
        return nn.Sequential(nn.Linear(n_in, 200), nn.LeakyReLU(0.02), nn.LayerNorm(200),
                             nn.Linear(200, 784), nn.Sigmoid())

    def sigmoid_mlp(a, b, c):  # notebooks 03, 06, 07
        return nn.Sequential(nn.Linear(a, b), nn.Sigmoid(), nn.Linear(b, c), nn.Sigmoid())

    return {
        "03": (sigmoid_mlp(784, 200, 10), 159_010),
        "04": (mnist_d(784, 10), 159_410),
        "06 D": (sigmoid_mlp(4, 3, 1), 19),
        "06 G": (sigmoid_mlp(1, 3, 4), 22),
        "07 D": (sigmoid_mlp(784, 200, 1), 157_201),
        "07 G": (sigmoid_mlp(1, 200, 784), 157_984),
        "08 D": (mnist_d(784), 157_601),
        "08 G": (mnist_g(100), 178_184),
        "16 D": (mnist_d(784 + 10), 159_601),
        "16 G": (mnist_g(100 + 10), 180_184),
    }


def test_book_parameter_counts():
    """BOOK_SPEC section 5.3: 03 159,010; 04 159,410; 06 D 19 / G 22; 07; 08 D 157,601 / G 178,184;
    16 D 159,601 / G 180,184 - and PyTorch agrees."""
    ours, theirs = book_models(minigan.nn), book_models(torch.nn)
    for name, (model, expected) in ours.items():
        count = sum(p.numel() for p in model.parameters())
        assert count == expected, f"notebook {name}: {count} parameters, the book has {expected}"
        assert model.num_parameters() == expected
        assert count == sum(p.numel() for p in theirs[name][0].parameters())


def test_book_models_print_and_name_like_torch():
    ours, theirs = book_models(minigan.nn), book_models(torch.nn)
    for name in ours:
        assert repr(ours[name][0]) == repr(theirs[name][0]), name
        assert list(ours[name][0].state_dict()) == list(theirs[name][0].state_dict()), name


# ============================================================================== book-style classes
class Optimiser:
    """A minimal SGD with the zero_grad/step surface (minigan.optim is tested elsewhere)."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            if p.grad is None:
                continue
            if isinstance(p, torch.Tensor):
                with torch.no_grad():
                    p.sub_(self.lr * p.grad)
            else:
                p.data = p.data - self.lr * p.grad.data  # raw arrays: not recorded


def make_classifier_class(lib):
    """Notebook 04's Classifier, written exactly as the book writes it (``train`` overridden)."""
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(nn.Linear(784, 200), nn.LeakyReLU(0.02), nn.LayerNorm(200),
                                       nn.Linear(200, 10), nn.Sigmoid())
            self.loss_function = nn.BCELoss()
            self.optimiser = Optimiser(self.parameters(), lr=0.1)
            self.counter = 0
            self.progress = []

        def forward(self, inputs):
            return self.model(inputs)

        def train(self, inputs, targets):
            outputs = self.forward(inputs)
            loss = self.loss_function(outputs, targets)
            self.counter += 1
            if self.counter % 10 == 0:
                self.progress.append(loss.item())
            self.optimiser.zero_grad()
            loss.backward()
            self.optimiser.step()

    return Classifier


def test_book_subclass_overriding_train_works():
    C = make_classifier_class(minigan)()
    assert len(list(C.parameters())) == 6 and C.training is True
    assert [n for n, _ in C.named_parameters()][:2] == ["model.0.weight", "model.0.bias"]
    repr_ours = repr(C)
    assert "(loss_function): BCELoss()" in repr_ours and "(2): LayerNorm((200,)" in repr_ours
    rng = np.random.default_rng(0)
    image, target = mg(rng.uniform(0, 1, 784), np.float32), minigan.zeros(10)
    target[3] = 1.0
    first = C.forward(image).detach()
    for _ in range(20):
        C.train(image, target)
    assert C.counter == 20 and len(C.progress) == 2
    assert C.progress[1] < C.progress[0]
    assert host(C.forward(image))[3] > host(first)[3]
    C.zero_grad()
    assert all(p.grad is None for p in C.parameters())
    minigan.nn.Module.eval(C)  # the base class's mode switch still reaches the layers
    assert C.model[2].training is False


@pytest.mark.parametrize("device", DEVICES)
def test_notebook_04_training_matches_torch(device):
    """30 single-sample steps of notebook 04's classifier (Linear, LeakyReLU, LayerNorm,
    Sigmoid, BCELoss, SGD) in float64 from the same weights end with the same weights."""
    t_model, m_model = make_classifier_class(torch)().double(), make_classifier_class(minigan)().double()
    copy_parameters(t_model, m_model)
    m_model.to(device)
    m_model.optimiser = Optimiser(m_model.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for step in range(30):
        image, target = rng.uniform(0, 1, 784), np.zeros(10)
        target[step % 10] = 1.0
        t_model.train(th(image), th(target))
        m_model.train(mg(image, device=device), mg(target, device=device))
    for (name, p), tp in zip(m_model.named_parameters(), t_model.parameters()):
        assert_close(p, tp, "float64", name, scale=10)
    np.testing.assert_allclose(m_model.progress, t_model.progress, rtol=1e-7)


def test_notebook_06_gan_steps_match_torch():
    """The 1010-pattern GAN of notebook 06 (book section 2.2): D on real, D on G(0.5).detach(),
    G through D with D's MSE loss - 40 rounds, same weights as PyTorch at the end."""
    results = {}
    for lib in (torch, minigan):
        nn = lib.nn
        lib.manual_seed(0)
        D = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()).double()
        G = nn.Sequential(nn.Linear(1, 3), nn.Sigmoid(), nn.Linear(3, 4), nn.Sigmoid()).double()
        results[lib] = (D, G)
    copy_parameters(results[torch][0], results[minigan][0])
    copy_parameters(results[torch][1], results[minigan][1])
    random.seed(0)
    reals = [[random.uniform(0.8, 1.0), random.uniform(0.0, 0.2), random.uniform(0.8, 1.0),
              random.uniform(0.0, 0.2)] for _ in range(40)]
    for lib, make in ((torch, th), (minigan, mg)):
        D, G = results[lib]
        loss_fn = lib.nn.MSELoss()
        opt_d, opt_g = Optimiser(D.parameters(), 0.01), Optimiser(G.parameters(), 0.01)
        seed, one, zero = make(np.array([0.5])), make(np.array([1.0])), make(np.array([0.0]))
        for i in range(40):
            for inputs, target in ((make(np.array(reals[i])), one), (G(seed).detach(), zero)):
                opt_d.zero_grad()
                loss_fn(D(inputs), target).backward()
                opt_d.step()
            opt_g.zero_grad()
            loss_fn(D(G(seed)), one).backward()
            opt_g.step()
    for (name, p), tp in zip(results[minigan][1].named_parameters(), results[torch][1].parameters()):
        assert_close(p, tp, "float64", "G " + name, scale=10)
    for (name, p), tp in zip(results[minigan][0].named_parameters(), results[torch][0].parameters()):
        assert_close(p, tp, "float64", "D " + name, scale=10)


def test_batchnorm_mlp_training_matches_torch():
    """A batched GAN-style MLP with BatchNorm1d, Tanh and BCEWithLogitsLoss: 10 steps, same
    weights and running statistics as PyTorch."""
    def build(nn):
        return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8),
                             nn.BatchNorm1d(8, momentum=None), nn.Tanh(), nn.Linear(8, 1)).double()
    t_model, m_model = build(torch.nn), build(minigan.nn)
    copy_parameters(t_model, m_model)
    opt_t, opt_m = Optimiser(t_model.parameters(), 0.05), Optimiser(m_model.parameters(), 0.05)
    rng = np.random.default_rng(3)
    for step in range(10):
        x, y = rng.standard_normal((6, 5)), rng.integers(0, 2, (6, 1)).astype(float)
        for model, opt, make, loss_fn in ((t_model, opt_t, th, torch.nn.BCEWithLogitsLoss()),
                                          (m_model, opt_m, mg, minigan.nn.BCEWithLogitsLoss())):
            opt.zero_grad()
            loss_fn(model(make(x)), make(y)).backward()
            opt.step()
    t_state, m_state = t_model.state_dict(), m_model.state_dict()
    for name in t_state:
        if t_state[name].is_floating_point():
            assert_close(m_state[name], t_state[name], "float64", name, scale=10)
    t_model.eval()
    m_model.eval()
    x = rng.standard_normal((3, 5))
    assert_close(m_model(mg(x)), t_model(th(x)), "float64", "eval output", scale=10)
