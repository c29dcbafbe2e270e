"""The book's models (:mod:`minigan.book`), the steps that train them (:mod:`minigan.training`)
and the order they see the data in (:func:`minigan.experiment.batches`).

* every experiment of ``minigan.book.NAMES`` builds on minigan and on PyTorch with the
  parameter counts of BOOK_SPEC 5.3, the same layers in the same order, the same state-dict
  shapes, the same loss and optimiser settings; its networks map the book's shapes;
* the registry names its experiments, and says which exist when asked for another;
* ``Network`` records ``progress`` on every 10th call, so D's list in a GAN loop holds only its
  losses on fakes (BOOK_SPEC 1.6), and the GAN step is the book's order (1.7);
* ``batches`` yields the book's stored order by default, and shuffles, batches and resumes
  as documented.

Training the models against PyTorch for hundreds of steps is tests/test_book_parity.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan import book
from minigan.experiment import batches
from minigan.training import RECORD_EVERY, Network, gan_step, generator_step, train_step

torch = pytest.importorskip("torch")

FRAMEWORKS = {"minigan": minigan, "torch": torch}

#: BOOK_SPEC section 5.3 ([derived] parameter counts), written out here so that a change of
#: an experiment's ``parameters`` is checked against the book, not against itself.
BOOK_PARAMETERS = {
    "classifier": 159_010,                          # 03
    "classifier-improved": 159_410,                 # 04
    "pattern1010": (19, 22),                        # 06: D, G
    "mnist-gan-v1": (157_201, 157_984),             # 07
    "mnist-gan": (157_601, 178_184),                # 08/09
    "celeba-gan": (11_641_601, 35_070_912),         # 12
    "cnn-classifier": 3_720,                        # 13
    "conv-celeba-gan": (4_294_448, 4_330_816),      # 14
    "conv-celeba-gan-gelu": (4_294_448, 4_330_816),  # 15
    "cgan": (159_601, 180_184),                     # 16
}
#: the experiments of chapters 1-3 that the registry must always hold
CORE = ("classifier", "classifier-improved", "pattern1010", "mnist-gan-v1", "mnist-gan",
        "celeba-gan", "cnn-classifier", "conv-celeba-gan", "conv-celeba-gan-gelu")

#: the big ones: built once per framework, one forward pass each
BIG = {"celeba-gan", "conv-celeba-gan", "conv-celeba-gan-gelu"}
SMALL = [n for n in book.NAMES if n not in BIG]


def _networks(built) -> list[Network]:
    """[D, G] of a GAN's ``Networks``, [net] of a classifier."""
    return [built.D, built.G] if hasattr(built, "G") else [built]


def _count(net) -> int:
    return sum(p.numel() for p in net.parameters())


def _layers(net) -> list[str]:
    return [type(m).__name__ for m in net.module.modules()]


def _optimiser_settings(opt) -> dict:
    keys = ("lr", "betas", "eps", "weight_decay", "momentum", "dampening", "nesterov", "amsgrad")
    group = opt.param_groups[0]
    return {k: (tuple(group[k]) if isinstance(group[k], (tuple, list)) else group[k])
            for k in keys if k in group}


@pytest.fixture(scope="module")
def built():
    """``built(name, fw_name)``: the experiment's networks, each built once in this module."""
    cache = {}

    def get(name, fw_name):
        if (name, fw_name) not in cache:
            minigan.manual_seed(0)
            torch.manual_seed(0)
            cache[name, fw_name] = book.get(name).build(FRAMEWORKS[fw_name])
        return cache[name, fw_name]

    yield get
    cache.clear()


# ============================================================================== the registry
def test_registry_names_every_experiment_once():
    assert len(set(book.NAMES)) == len(book.NAMES)
    assert set(CORE) <= set(book.NAMES)
    missing = set(book.NAMES) - set(BOOK_PARAMETERS)
    assert not missing, f"add the BOOK_SPEC 5.3 parameter counts of {sorted(missing)} here"
    experiments = book.all_experiments()
    assert [e.name for e in experiments] == list(book.NAMES)
    for name in book.NAMES:
        exp = book.get(name)
        assert exp.name == name and exp.kind in ("classifier", "gan")
        assert exp.section and exp.title and exp.book_result
        assert exp.default_epochs >= 1 and exp.book_epochs >= 1


def test_registry_error_lists_the_books_names():
    with pytest.raises(KeyError) as info:
        book.get("nope")
    message = str(info.value)
    assert "'nope'" in message
    for name in book.NAMES:
        assert name in message


# ============================================================================== building
@pytest.mark.parametrize("name", book.NAMES)
def test_parameter_counts_are_the_books(name, built):
    exp = book.get(name)
    assert exp.parameters == BOOK_PARAMETERS[name]
    counts = exp.parameters if isinstance(exp.parameters, tuple) else (exp.parameters,)
    for fw_name, fw in FRAMEWORKS.items():
        nets = _networks(built(name, fw_name))
        assert [_count(n) for n in nets] == list(counts), fw_name
        for net in nets:
            assert isinstance(net, Network)
            assert isinstance(net.module, fw.nn.Module)
            assert isinstance(net.optimiser, fw.optim.Optimizer)
            assert net.counter == 0 and net.progress == []
            assert all(p.dtype == fw.float32 for p in net.parameters())


@pytest.mark.parametrize("name", book.NAMES)
def test_same_structure_in_both_frameworks(name, built):
    """Layer types in order, state-dict names and shapes, loss, optimiser and its settings."""
    ours, theirs = _networks(built(name, "minigan")), _networks(built(name, "torch"))
    assert len(ours) == len(theirs)
    for m, t in zip(ours, theirs):
        assert _layers(m) == _layers(t)
        assert "Sequential" in _layers(m)
        assert [(k, tuple(v.shape)) for k, v in m.module.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in t.module.state_dict().items()]
        assert type(m.optimiser).__name__ == type(t.optimiser).__name__
        assert _optimiser_settings(m.optimiser) == _optimiser_settings(t.optimiser)
        assert type(m.loss_function).__name__ == type(t.loss_function).__name__
        assert m.name == t.name
    if len(ours) == 2:  # a GAN: D holds the loss, G borrows it (BOOK_SPEC 1.4)
        assert ours[0].loss_function is not None and ours[1].loss_function is None
        assert (ours[0].name, ours[1].name) == ("D", "G")


def test_book_losses_and_optimisers():
    """BOOK_SPEC 4.03-4.15: which loss and optimiser (and learning rate) each experiment uses."""
    expected = {
        "classifier": ("MSELoss", "SGD", 0.01), "classifier-improved": ("BCELoss", "Adam", 1e-3),
        "pattern1010": ("MSELoss", "SGD", 0.01), "mnist-gan-v1": ("MSELoss", "SGD", 0.01),
        "mnist-gan": ("BCELoss", "Adam", 1e-4), "celeba-gan": ("BCELoss", "Adam", 1e-4),
        "cnn-classifier": ("BCELoss", "Adam", 1e-3), "conv-celeba-gan": ("BCELoss", "Adam", 1e-4),
        "conv-celeba-gan-gelu": ("BCELoss", "Adam", 1e-4), "cgan": ("BCELoss", "Adam", 1e-4),
    }
    assert set(book.NAMES) <= set(expected)
    for name in book.NAMES:
        loss, optimiser, lr = expected[name]
        exp = book.get(name)
        assert type(exp.loss(minigan)).__name__ == loss, name
        opt = exp.optimiser(minigan, [minigan.nn.Parameter(minigan.zeros(1))])
        assert type(opt).__name__ == optimiser and opt.param_groups[0]["lr"] == lr, name


def test_dtype_and_device_arguments_of_build():
    for fw in FRAMEWORKS.values():
        nets = book.get("pattern1010").build(fw, device="cpu", dtype=fw.float64)
        assert all(p.dtype == fw.float64 for net in (nets.D, nets.G) for p in net.parameters())
        net = book.get("cnn-classifier").build(fw, dtype=fw.float64)
        assert all(p.dtype == fw.float64 for p in net.parameters())
        # the optimiser holds the very parameters of the converted module
        assert [id(p) for p in net.optimiser.param_groups[0]["params"]] == \
               [id(p) for p in net.module.parameters()]


def test_gelu_variant_swaps_every_leaky_relu_for_gelu(built):
    """BOOK_SPEC 4.15: D's three activations and G's three become GELU; G still ends BN(3), Sigmoid."""
    for fw_name in FRAMEWORKS:
        gelu, leaky = _networks(built("conv-celeba-gan-gelu", fw_name)), \
            _networks(built("conv-celeba-gan", fw_name))
        for g, l in zip(gelu, leaky):
            layers = _layers(g)
            assert "GELU" in layers and "LeakyReLU" not in layers
            assert layers.count("GELU") == _layers(l).count("LeakyReLU") == 3
            assert [x.replace("GELU", "LeakyReLU") for x in layers] == _layers(l)
        assert _layers(gelu[1])[-2:] == ["BatchNorm2d", "Sigmoid"]
        leaky_d = [m for m in leaky[0].module.modules() if type(m).__name__ == "LeakyReLU"]
        assert all(m.negative_slope == 0.2 for m in leaky_d)


def test_conv_generator_pads_only_the_last_transposed_convolution(built):
    for fw_name in FRAMEWORKS:
        G = built("conv-celeba-gan", fw_name).G
        pads = [tuple(m.padding) for m in G.module.modules() if type(m).__name__ == "ConvTranspose2d"]
        assert pads == [(0, 0), (0, 0), (1, 1)]


# ============================================================================== forward shapes
@pytest.mark.parametrize("fw_name", FRAMEWORKS)
@pytest.mark.parametrize("name", ["classifier", "classifier-improved", "cnn-classifier"])
def test_classifier_maps_an_image_to_ten_scores(name, fw_name, built):
    fw = FRAMEWORKS[fw_name]
    exp, net = book.get(name), built(name, fw_name)
    image = fw.rand(784)
    x = exp.view(image)
    assert tuple(x.shape) == exp.input_shape
    assert exp.input_shape == ((1, 1, 28, 28) if name == "cnn-classifier" else (784,))
    with fw.no_grad():
        scores = net(x)
    assert tuple(scores.shape) == (10,)
    s = scores.detach().numpy()
    assert np.all((s > 0) & (s < 1))  # a Sigmoid
    if name != "cnn-classifier":  # the fully connected ones also read batches
        with fw.no_grad():
            assert tuple(net(exp.view(fw.rand(5, 784))).shape) == (5, 10)


GAN_SHAPES = {  # G's seed, G's output (= a real sample, = D's noise), D's output
    "pattern1010": ((1,), (4,)),
    "mnist-gan-v1": ((1,), (784,)),
    "mnist-gan": ((100,), (784,)),
    "celeba-gan": ((100,), (218, 178, 3)),
    "conv-celeba-gan": ((100,), (1, 3, 128, 128)),
}


@pytest.mark.parametrize("fw_name", FRAMEWORKS)
@pytest.mark.parametrize("name", GAN_SHAPES)
def test_gan_shapes(name, fw_name, built):
    """G(seed) has the shape of a real sample, values in [0, 1]; D of it is one number (shape (1,))."""
    fw = FRAMEWORKS[fw_name]
    exp, nets = book.get(name), built(name, fw_name)
    seed_shape, sample_shape = GAN_SHAPES[name]
    seed = exp.seed(fw)
    assert tuple(seed.shape) == seed_shape == (exp.seed.size,)
    noise = exp.noise(fw)
    assert tuple(noise.shape) == sample_shape
    with fw.no_grad():
        image = nets.G(seed)
        assert tuple(image.shape) == sample_shape
        x = image.detach().numpy()
        assert np.all((x >= 0) & (x <= 1))
        assert tuple(nets.D(image).shape) == (1,)
        if name not in BIG:
            assert tuple(nets.D(noise).shape) == (1,)
    if name == "pattern1010":
        assert seed.tolist() == [0.5]  # notebook 06: G's input is the constant [0.5]
    ones, zeros = exp.targets(fw)
    assert ones.tolist() == [1.0] and zeros.tolist() == [0.0]
    # the pictures of G's outputs, as the viz and eval code reads them
    pictures = exp.to_images(x[None])
    assert pictures.shape == (1, *exp.image_shape) and pictures.dtype == np.float32


@pytest.mark.parametrize("fw_name", FRAMEWORKS)
def test_mnist_gan_reads_batches(fw_name, built):
    fw = FRAMEWORKS[fw_name]
    exp, nets = book.get("mnist-gan"), built("mnist-gan", fw_name)
    seeds = exp.seed(fw, 5)
    with fw.no_grad():
        images = nets.G(seeds)
        assert tuple(seeds.shape) == (5, 100) and tuple(images.shape) == (5, 784)
        assert tuple(nets.D(images).shape) == (5, 1)
    ones, zeros = exp.targets(fw, 5)
    assert tuple(ones.shape) == tuple(zeros.shape) == (5, 1)


# ============================================================================== the steps
def _pattern(rng):
    return rng.uniform([0.8, 0.0, 0.8, 0.0], [1.0, 0.2, 1.0, 0.2])


def _twin(nets):
    """A second pair built from the same experiment with the same weights."""
    other = book.get("pattern1010").build(minigan, dtype=minigan.float64)
    for a, b in ((nets.D, other.D), (nets.G, other.G)):
        b.module.load_state_dict({k: minigan.tensor(v.numpy().copy()) for k, v in
                                  a.module.state_dict().items()})
    return other


def _book_train(net, inputs, targets, log, label):
    """The book's ``D.train`` as notebook 06 writes it, logging (label, loss) of every call."""
    outputs = net.module(inputs)
    loss = net.loss_function(outputs, targets)
    log.append((label, loss.item()))
    net.optimiser.zero_grad()
    loss.backward()
    net.optimiser.step()


def _book_train_g(G, D, inputs, targets, log):
    """The book's ``G.train(D, inputs, targets)``."""
    loss = D.loss_function(D.module(G.module(inputs)), targets)
    log.append(("G", loss.item()))
    G.optimiser.zero_grad()
    loss.backward()
    G.optimiser.step()


def test_gan_counters_and_progress_hold_only_fake_losses():
    """BOOK_SPEC 1.6: after N steps D.counter == 2N, G.counter == N, every 10th call recorded,
    and D's recorded losses are all losses on fakes (target 0), reproduced by the book's loop."""
    exp = book.get("pattern1010")
    minigan.manual_seed(1)
    nets = exp.build(minigan, dtype=minigan.float64)
    book_nets = _twin(nets)
    ones, zeros = exp.targets(minigan, dtype=minigan.float64)
    half = minigan.tensor(np.full(1, 0.5))
    rng = np.random.default_rng(2)
    N = 37
    returned, log = [], []
    for i in range(N):
        real = _pattern(rng)
        losses = gan_step(nets.D, nets.G, minigan.tensor(real), half, half, ones, zeros)
        returned.append([loss.item() for loss in losses])
        # the same iteration, written as the book's three calls
        _book_train(book_nets.D, minigan.tensor(real), ones, log, "D real")
        _book_train(book_nets.D, book_nets.G.module(half).detach(), zeros, log, "D fake")
        _book_train_g(book_nets.G, book_nets.D, half, ones, log)

    D, G = nets.D, nets.G
    assert (D.counter, G.counter) == (2 * N, N)
    assert len(D.progress) == 2 * N // RECORD_EVERY == 7
    assert len(G.progress) == N // RECORD_EVERY == 3
    # the book's loop: D's calls are log entries 0, 1, 3, 4, 6, 7 ... (real, fake, G, real ...)
    d_calls = [entry for entry in log if entry[0] != "G"]
    g_calls = [entry for entry in log if entry[0] == "G"]
    d_recorded = [d_calls[c - 1] for c in range(RECORD_EVERY, 2 * N + 1, RECORD_EVERY)]
    g_recorded = [g_calls[c - 1] for c in range(RECORD_EVERY, N + 1, RECORD_EVERY)]
    assert {label for label, _ in d_recorded} == {"D fake"}  # the quirk of 1.6
    np.testing.assert_allclose(D.progress, [v for _, v in d_recorded], rtol=1e-12, atol=0)
    np.testing.assert_allclose(G.progress, [v for _, v in g_recorded], rtol=1e-12, atol=0)
    # and gan_step returned the book's three losses, in the book's order, every iteration
    np.testing.assert_allclose(np.ravel(returned), [v for _, v in log], rtol=1e-12, atol=0)
    reals = {round(r[0], 12) for r in returned}
    assert not reals & {round(p, 12) for p in D.progress}
    assert all(isinstance(p, float) for p in D.progress + G.progress)


def test_train_step_records_every_tenth_loss():
    exp = book.get("classifier-improved")
    net = exp.build(minigan)
    rng = np.random.default_rng(3)
    losses = []
    for call in range(1, 26):
        x = minigan.tensor(rng.random(784, dtype=np.float32))
        y = minigan.tensor(np.eye(10, dtype=np.float32)[call % 10])
        losses.append(train_step(net, x, y).item())
        assert net.counter == call
        assert len(net.progress) == call // RECORD_EVERY
    assert net.progress == [losses[9], losses[19]]
    assert "25" in repr(net) and "2 progress points" in repr(net)


def test_fake_step_detaches_and_generator_step_moves_only_g():
    """1.7 step 2: no gradient reaches G; step 3: D's loss, through D into G, only G steps."""
    exp = book.get("pattern1010")
    nets = exp.build(minigan)
    ones, zeros = exp.targets(minigan)
    half = exp.seed(minigan)
    g_before = [p.detach().numpy().copy() for p in nets.G.parameters()]
    train_step(nets.D, nets.G(half).detach(), zeros)
    assert all(p.grad is None for p in nets.G.parameters())
    d_before = [p.detach().numpy().copy() for p in nets.D.parameters()]
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(g_before, nets.G.parameters()))
    generator_step(nets.G, nets.D, half, ones)
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(d_before, nets.D.parameters()))
    assert all(p.grad is not None for p in nets.D.parameters())  # left for D's zero_grad
    assert not all(np.array_equal(a, p.detach().numpy()) for a, p in zip(g_before, nets.G.parameters()))
    assert (nets.D.counter, nets.G.counter) == (1, 1)


# ============================================================================== batches
def _indexes(it):
    return [(e, p, i.tolist() if isinstance(i, np.ndarray) else i) for e, p, i in it]


def test_batches_default_is_the_books_stored_order():
    got = list(batches(5))
    assert got == [(0, 0, 0), (0, 1, 1), (0, 2, 2), (0, 3, 3), (0, 4, 4)]
    assert all(type(i) is int for _, _, i in got)
    assert list(batches(3, epochs=2)) == [(0, 0, 0), (0, 1, 1), (0, 2, 2),
                                          (1, 0, 0), (1, 1, 1), (1, 2, 2)]


def test_batches_of_several_and_the_smaller_last_batch():
    assert _indexes(batches(5, batch_size=2)) == [(0, 0, [0, 1]), (0, 2, [2, 3]), (0, 4, [4])]
    assert _indexes(batches(4, batch_size=4, epochs=2)) == [(0, 0, [0, 1, 2, 3]), (1, 0, [0, 1, 2, 3])]


def test_batches_shuffle_one_permutation_per_epoch():
    n = 10
    got = list(batches(n, epochs=3, shuffle=True, rng=np.random.default_rng(5)))
    ref = np.random.default_rng(5)
    for epoch in range(3):
        order = [i for e, _, i in got if e == epoch]
        assert order == ref.permutation(n).tolist()
        assert sorted(order) == list(range(n))
        assert [p for e, p, _ in got if e == epoch] == list(range(n))
    epochs = [[i for e, _, i in got if e == k] for k in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    assert all(type(i) is int for _, _, i in got)
    batched = _indexes(batches(n, batch_size=4, shuffle=True, rng=np.random.default_rng(5)))
    assert [len(i) for _, _, i in batched] == [4, 4, 2]
    assert sum((i for _, _, i in batched), []) == np.random.default_rng(5).permutation(n).tolist()


@pytest.mark.parametrize("kwargs", [dict(), dict(batch_size=3), dict(shuffle=True)])
def test_batches_start_resumes_where_a_run_stopped(kwargs):
    """``start`` skips that many yields; shuffled runs draw the skipped epochs' orders too."""
    def run(start):
        rng = np.random.default_rng(9) if kwargs.get("shuffle") else None
        return _indexes(batches(7, epochs=3, rng=rng, start=start, **kwargs))
    full = run(0)
    for start in (0, 1, 6, 7, 8, len(full) - 1, len(full), len(full) + 5):
        assert run(start) == full[start:]


def test_batches_refuse_an_empty_dataset_and_a_bad_batch_size():
    with pytest.raises(ValueError, match="empty"):
        list(batches(0))
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(5, batch_size=0))
