"""What an experiment of the book is: its networks, loss, optimiser, seeds and data.

An experiment is a description, not a script: :class:`ClassifierExperiment` and
:class:`GanExperiment` hold *functions of the framework* (``minigan`` or ``torch``) that
build the book's networks, loss and optimiser, so one definition serves the command line,
the examples, the tests (which build the same experiment on PyTorch for parity) and the
benchmarks. The book's sections fill them in (``minigan.book``); the models beyond the
book will add their own kinds.

The loops that run an experiment over a dataset are here too, written once:
:meth:`ClassifierExperiment.fit` and :meth:`GanExperiment.fit`. Both are book-faithful by
default (batch 1, stored order, BOOK_SPEC section 1.1-1.2); ``batch_size`` and ``shuffle``
are explicit departures.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import minigan

from .training import Network, conditional_gan_step, gan_step, train_step

__all__ = ["ClassifierExperiment", "GanExperiment", "ConditionalGanExperiment", "GanModel", "Networks",
           "batches", "one_hot", "random_labels", "cycling_labels", "randn_seed", "rand_seed",
           "uniform_seed"]


def batches(n: int, *, epochs: int = 1, batch_size: int = 1, shuffle: bool = False,
            rng: np.random.Generator | None = None, start: int = 0):
    """Yield ``(epoch, position, index)`` over ``epochs`` passes of a dataset of ``n`` items.

    ``index`` is an ``int`` at batch size 1 (the book's ``for ... in dataset`` loop, in
    stored order unless ``shuffle``), else an int array of ``batch_size`` indexes (the last
    batch of an epoch may be smaller). ``start`` skips that many yields (resuming).

    ``rng`` shuffles: an ``int`` seed gives epoch ``e`` the order of
    ``default_rng([seed, e])``, so a resumed run finds the same order without any saved
    generator state (what ``minigan train`` uses); a ``Generator`` is drawn from in turn.
    """
    if n <= 0:
        raise ValueError("the dataset is empty: nothing to train on")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shuffle and rng is None:
        from .backend import host_generator   # minigan's generator, seeded by manual_seed
        rng = host_generator()
    per_epoch = -(-n // batch_size)
    count = 0
    for epoch in range(epochs):
        if isinstance(rng, (int, np.integer)) and count + per_epoch <= start:
            count += per_epoch            # a whole epoch before the resume point
            continue
        order = None
        if shuffle:
            order = (np.random.default_rng([int(rng), epoch]).permutation(n)
                     if isinstance(rng, (int, np.integer)) else rng.permutation(n))
        for position in range(0, n, batch_size):
            if count >= start:
                if batch_size == 1:
                    index = int(order[position]) if shuffle else position
                else:
                    index = order[position:position + batch_size] if shuffle else \
                        np.arange(position, min(position + batch_size, n))
                yield epoch, position, index
            count += 1


def _to(module, device, dtype):
    if dtype is not None:
        module = module.to(dtype)
    if device is not None:
        module = module.to(device)
    return module


# ============================================================================== classifiers
@dataclass(frozen=True)
class ClassifierExperiment:
    """A classifier of the book: one network, its loss and optimiser, trained on MNIST.

    ``network(torch)``, ``loss(torch)`` and ``optimiser(torch, parameters)`` build the parts
    on a framework. ``input_shape`` is the shape one image is viewed as before the network
    (``(784,)`` for the fully connected ones, ``(1, 1, 28, 28)`` for the CNN).
    """
    name: str
    section: str
    title: str
    network: Callable
    loss: Callable
    optimiser: Callable
    book_epochs: int
    default_epochs: int
    parameters: int
    plot_style: str = "bce"
    book_result: str = ""
    input_shape: tuple = (784,)
    per_sample: bool = False   # BatchNorm in training mode: score one image at a time (1.5)
    data: str = "mnist"
    kind: str = "classifier"

    def build(self, torch=minigan, device=None, dtype=None) -> Network:
        module = _to(self.network(torch), device, dtype)
        return Network(module, self.optimiser(torch, module.parameters()), self.loss(torch),
                       name=self.name)

    def view(self, images):
        """One image (784,) or a batch (B, 784) as the network reads it."""
        if images.ndim == 1:
            return images.view(*self.input_shape)
        if self.input_shape == (784,):
            return images
        return images.view(images.shape[0], *self.input_shape[1:])

    def fit(self, net: Network, dataset, *, epochs: int = 1, steps: int | None = None,
            batch_size: int = 1, shuffle: bool = False, rng=None, device=None, dtype=None,
            on_step=None, start: int = 0) -> int:
        """Train ``net`` on ``dataset`` (an MnistDataset); returns the iterations run.

        Batch size 1 runs the book's loop: ``net.train(image, target)`` for each item in
        stored order. ``on_step(iteration, epoch, loss)`` is called after every iteration.
        """
        if self.per_sample and batch_size != 1:
            raise ValueError(f"{self.name} views each image as {self.input_shape} (the book's "
                             f"batch of one); --batch-size {batch_size} is not supported")
        it = start
        for epoch, _, index in batches(len(dataset), epochs=epochs, batch_size=batch_size,
                                       shuffle=shuffle, rng=rng, start=start):
            if steps is not None and it >= steps:
                break
            if batch_size == 1:
                _, image, target = dataset[index]
            else:
                _, image, target = dataset.batch(index)
            image, target = _move(image, device, dtype), _move(target, device, dtype)
            loss = train_step(net, self.view(image), target)
            it += 1
            if on_step is not None:
                on_step(it, epoch, loss)
        return it

    def predict(self, module, dataset, *, batch_size: int = 1000, device=None, dtype=None,
                eval_mode: bool = False):
        """Predicted labels of every item (argmax of the 10 outputs), without gradients.

        A ``per_sample`` network (the book's CNN views each image as a batch of one) sees one
        image at a time, as the book scores its test set; the others see batches. By default
        BatchNorm stays in training mode, as in the book (each image normalised with its own
        statistics, section 1.5); ``eval_mode`` scores with ``module.eval()`` instead - the
        running statistics gathered in training, the proper way - and then puts the module
        back in the mode it was in.
        """
        if eval_mode:
            was_training = module.training
            module.eval()
            try:
                return self.predict(module, dataset, batch_size=batch_size, device=device, dtype=dtype)
            finally:
                module.train(was_training)
        out = []
        with minigan.no_grad():
            if self.per_sample:
                for i in range(len(dataset)):
                    scores = module(self.view(_move(dataset[i][1], device, dtype)))
                    out.append(int(scores.argmax().item()))
                return np.asarray(out)
            for start in range(0, len(dataset), batch_size):
                index = np.arange(start, min(start + batch_size, len(dataset)))
                _, images, _ = dataset.batch(index)
                scores = module(self.view(_move(images, device, dtype)))
                out.append(np.asarray(scores.argmax(dim=1).cpu().numpy()))
        return np.concatenate(out)

    def accuracy(self, module, dataset, **kwargs) -> float:
        """Share of ``dataset`` classified right (the book scores the 10,000 test rows)."""
        return float(np.mean(self.predict(module, dataset, **kwargs) == dataset.labels))

    @property
    def has_batchnorm(self) -> bool:
        """BatchNorm layers (kept in training mode, as the book): eval mode scores differently."""
        return self.per_sample


@dataclass(frozen=True)
class ClassifierModel(ClassifierExperiment):
    """A classifier beyond the book (:mod:`minigan.models.classifiers`): the same loop and scoring.

    Such a model is defined by its tutorial, not by the book, so *its* published defaults are
    the reference: ``batch_size`` images per step, reshuffled every epoch (``shuffle``);
    ``reference`` names the recipe followed and ``book_epochs`` is None. With
    ``eval_scoring`` the network is scored as the tutorial does after ``model.eval()``:
    BatchNorm with the running statistics gathered in training, whole batches at a time.
    ``predict(..., eval_mode=False)`` still gives the training-mode figure.
    """
    reference: str = ""
    batch_size: int = 100
    shuffle: bool = True
    eval_scoring: bool = False
    book_model = False          # (a class attribute, not a field)

    def predict(self, module, dataset, *, eval_mode: bool | None = None, **kwargs):
        """Predicted labels; ``eval_mode`` None means the model's own way (``eval_scoring``)."""
        if not (self.eval_scoring if eval_mode is None else eval_mode):
            return super().predict(module, dataset, **kwargs)
        was_training = module.training   # handled here: the base class would call back into us
        module.eval()
        try:
            return super().predict(module, dataset, **kwargs)
        finally:
            module.train(was_training)


def _move_optional(t, device, dtype):
    return None if t is None else _move(t, device, dtype)


def _move(t, device, dtype):
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    return t


# ============================================================================== GANs
@dataclass
class Networks:
    """The two networks of a GAN, each with its optimiser, counter and progress list."""
    D: Network
    G: Network


def randn_seed(size: int):
    """``generate_random_seed(size)`` (BOOK_SPEC section 2): ``torch.randn(size)``."""
    def seed(torch, batch=None, device=None):
        shape = (size,) if batch is None else (batch, size)
        return torch.randn(*shape, device=device)
    seed.size = size
    return seed


def uniform_seed(size: int, low: float = -1.0, high: float = 1.0):
    """Uniform noise in [low, high): the PyTorch tutorials' ``2 * torch.rand(B, 96) - 1``."""
    def seed(torch, batch=None, device=None):
        shape = (size,) if batch is None else (batch, size)
        return torch.rand(*shape, device=device) * (high - low) + low
    seed.size = size
    return seed


def rand_seed(size: int):
    """``generate_random(size)`` (section 2): uniform [0, 1), the first GAN's 1-value seed."""
    def seed(torch, batch=None, device=None):
        shape = (size,) if batch is None else (batch, size)
        return torch.rand(*shape, device=device)
    seed.size = size
    return seed


@dataclass(frozen=True)
class GanExperiment:
    """A GAN of the book: D and G, D's loss (G borrows it), the optimiser, G's seed, data.

    ``seed(torch, batch, device)`` draws G's input; ``noise(torch, device)`` draws the
    uniform "random image" of the discriminator tests; ``data`` names the real samples'
    source (``"mnist"``, ``"celeba"``, ``"celeba-crop"`` or ``"pattern"``).
    ``to_images(output)`` turns G's output (numpy) into (N, C, H, W) pictures in [0, 1].
    ``generator_optimiser``, where given, builds G's optimiser (two time-scales, as SAGAN's
    slower G); otherwise ``optimiser`` builds both.
    """
    name: str
    section: str
    title: str
    discriminator: Callable
    generator: Callable
    loss: Callable
    optimiser: Callable
    seed: Callable
    noise: Callable
    data: str
    image_shape: tuple
    book_epochs: int
    default_epochs: int
    parameters: tuple
    plot_style: str = "bce"
    book_result: str = ""
    per_sample: bool = False   # BatchNorm in training mode: generate one image at a time
    notes: tuple = field(default=())
    kind: str = "gan"
    generator_optimiser: Callable | None = None   # (torch, params) -> G's optimiser, if not D's kind
    conditional = False         # D and G also read a one-hot label (ConditionalGanExperiment)
    book_model = True           # a GAN of the book (GanModel: one beyond it)

    def build(self, torch=minigan, device=None, dtype=None) -> Networks:
        D = _to(self.discriminator(torch), device, dtype)
        G = _to(self.generator(torch), device, dtype)
        return Networks(
            D=Network(D, self.optimiser(torch, D.parameters()), self.loss(torch), name="D"),
            G=Network(G, self.g_optimiser(torch, G.parameters()), None, name="G"))

    def g_optimiser(self, torch, params):
        """G's optimiser: ``generator_optimiser`` where the model has one, else D's kind."""
        return (self.generator_optimiser or self.optimiser)(torch, params)

    def targets(self, torch, batch=None, device=None, dtype=None):
        """The book's ``FloatTensor([1.0])`` and ``[0.0]`` (shape (1,), or (B, 1) batched)."""
        shape = (1,) if batch is None else (batch, 1)
        ones = torch.ones(*shape, device=device)
        zeros = torch.zeros(*shape, device=device)
        if dtype is not None:
            ones, zeros = ones.to(dtype), zeros.to(dtype)
        return ones, zeros

    def fit(self, nets: Networks, reals, *, epochs: int = 1, steps: int | None = None,
            batch_size: int = 1, shuffle: bool = False, rng=None, device=None, dtype=None,
            on_step=None, start: int = 0) -> int:
        """Run the book's GAN loop (section 1.7) over ``reals``; returns the iterations run.

        ``reals`` is a dataset whose item (or ``batch(indexes)``) gives real samples through
        :meth:`real`. Each iteration is :meth:`iteration` (the book's three steps on one
        sample). ``on_step(iteration, epoch, losses)`` is called after each iteration.
        """
        ones, zeros = self.targets(minigan, None, device, dtype)
        it = start
        for epoch, _, index in batches(len(reals), epochs=epochs, batch_size=batch_size,
                                       shuffle=shuffle, rng=rng, start=start):
            if steps is not None and it >= steps:
                break
            n = None
            if batch_size > 1:
                n = len(index)
                if ones.shape[0] != n or ones.ndim != 2:
                    ones, zeros = self.targets(minigan, n, device, dtype)
            losses = self.iteration(nets, reals, index, n, ones, zeros, device, dtype)
            it += 1
            if on_step is not None:
                on_step(it, epoch, losses)
        return it

    def iteration(self, nets: Networks, reals, index, n, ones, zeros, device=None, dtype=None):
        """One iteration on real item ``index`` (``n`` None), or on a batch of ``n`` items.

        The book's :func:`~minigan.training.gan_step` with two fresh seeds; returns its losses.
        """
        if n is None:
            real = _move(self.real(reals[index]), device, dtype)
        else:
            real = _move(self.real_batch(reals, index), device, dtype)
        seed_a = _move(self.seed(minigan, n, device), None, dtype)
        seed_b = _move(self.seed(minigan, n, device), None, dtype)
        return gan_step(nets.D, nets.G, real, seed_a, seed_b, ones, zeros)

    def discriminator_test(self, D: Network, reals, *, epochs: int = 1, steps: int | None = None,
                           device=None, dtype=None, on_step=None, batch_size: int = 1,
                           shuffle: bool = False, rng=None) -> int:
        """The book's first experiment with every GAN: can D alone learn real from noise?

        For each real sample, ``D.train(real, 1.0)`` then ``D.train(noise, 0.0)`` with the
        experiment's uniform "random image" (BOOK_SPEC 4.06, 4.07, 4.08 ...); a conditional
        D reads the real sample's label, and a random one with the noise (4.16). Returns the
        iterations run; afterwards D should answer near 1 for real samples and near 0 for noise.
        The book's test takes one sample at a time, in stored order (``batch_size`` and
        ``shuffle`` are for the models beyond the book, :meth:`GanModel.discriminator_test`).
        """
        if batch_size != 1 or shuffle:
            raise ValueError(f"{self.name}: the book's discriminator test trains on one sample at a "
                             "time, in stored order (--batch-size and --shuffle do not apply)")
        ones, zeros = self.targets(minigan, None, device, dtype)
        it = 0
        for epoch, _, index in batches(len(reals), epochs=epochs):
            if steps is not None and it >= steps:
                break
            real, condition = self.real_input(reals[index])
            train_step(D, _move(real, device, dtype), ones, _move_optional(condition, device, dtype))
            noise, condition = self.noise_input(device)
            train_step(D, _move(noise, None, dtype), zeros, _move_optional(condition, device, dtype))
            it += 1
            if on_step is not None:
                on_step(it, epoch, None)
        return it

    def discriminator_readout(self, D: Network, reals, device=None, count: int = 4):
        """After the D test: D's answers on the first ``count`` real items and on ``count``
        noise inputs, as two lists of floats (one sample at a time, as the book prints them)."""
        with minigan.no_grad():
            real = [float(D(*self.real_input(reals[i])).item()) for i in range(count)]
            noise = [float(D(*self.noise_input(device)).item()) for _ in range(count)]
        return real, noise

    def real_input(self, item):
        """``(inputs, condition)`` that D reads for a real dataset item (no condition here)."""
        return self.real(item), None

    def noise_input(self, device=None):
        """``(inputs, condition)`` of the D test's noise: the uniform "random image"."""
        return self.noise(minigan, device), None

    def real(self, item):
        """The real sample in a dataset item: MNIST items are (label, image, target)."""
        return item[1] if isinstance(item, tuple) else item

    def real_batch(self, dataset, index):
        if not hasattr(dataset, "batch"):
            raise ValueError(f"{self.name}: --batch-size > 1 needs a dataset with batches "
                             f"(MNIST); {type(dataset).__name__} gives one sample at a time")
        return dataset.batch(index)[1]

    def generate(self, G_module, seeds, labels=None):
        """G's outputs for a (N, size) batch of seeds, as (N, C, H, W) numpy images in [0, 1].

        Networks with BatchNorm in training mode (the book never calls ``eval()``) are fed
        one seed at a time, as the book draws its pictures. ``labels`` is for conditional
        GANs only.
        """
        if labels is not None:
            raise ValueError(f"{self.name} is not a conditional GAN: it draws no requested label")
        with minigan.no_grad():
            if self.per_sample:
                outs = [np.asarray(G_module(s).cpu().numpy()) for s in seeds]
                out = np.stack(outs)
            else:
                out = np.asarray(G_module(seeds).cpu().numpy())
        return self.to_images(out)

    def to_images(self, out):
        """G's raw output (N, ...) as (N, C, H, W) float32 images."""
        n = out.shape[0]
        c, h, w = self.image_shape
        if out.shape[1:] == (h, w, c):        # HWC (the FC CelebA GAN)
            out = out.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(out.reshape(n, c, h, w), dtype=np.float32)

    def sample(self, G_module, count: int, device=None, labels=None):
        """``count`` images from fresh seeds (minigan's RNG): (N, C, H, W) in [0, 1]."""
        seeds = self.seed(minigan, count, device)
        return self.generate(G_module, seeds, labels)

    def after_training(self, nets: Networks, options, say) -> dict:
        """What a model adds to ``minigan train``'s outputs after the common ones: pictures
        written to ``options.out``, lines told through ``say``, and the metrics returned (merged
        into metrics.json). Nothing for the book's GANs; InfoGAN's code report."""
        return {}


# ============================================================================== conditional GANs
def one_hot(torch, labels, num_classes: int = 10, device=None):
    """One-hot float32 vectors of ``labels``: (num_classes,) for an int, (N, num_classes) for a list.

    Built on the host and moved, so it is the same on every framework and device.
    """
    eye = np.eye(num_classes, dtype=np.float32)
    if isinstance(labels, (int, np.integer)):
        host = eye[int(labels)]
    else:
        host = eye[np.asarray(labels, dtype=np.int64).reshape(-1)]
    return torch.tensor(host, device=device)


def random_labels(n=None, num_classes: int = 10):
    """The book's ``random.randint(0, size - 1)`` (Python's ``random``): an int, or a list of ``n``."""
    if n is None:
        return random.randint(0, num_classes - 1)
    return [random.randint(0, num_classes - 1) for _ in range(n)]


def cycling_labels(count: int, num_classes: int = 10) -> np.ndarray:
    """0, 1, ..., 9, 0, 1, ...: ``count`` labels covering every class evenly."""
    return np.arange(count, dtype=np.int64) % num_classes


@dataclass(frozen=True)
class ConditionalGanExperiment(GanExperiment):
    """A GAN whose D and G also read a one-hot class label (the book's CGAN, section 3.2).

    Both networks are called ``module(inputs, one_hot)``. Each iteration is
    :func:`~minigan.training.conditional_gan_step`: the real sample with its own label, a fake
    with a random label, G trained with a *new* random label. Random labels come from Python's
    ``random`` (the book's ``generate_random_one_hot``), which ``minigan train --seed`` seeds.
    """
    num_classes: int = 10
    conditional = True          # (a class attribute, not a field)

    def iteration(self, nets: Networks, reals, index, n, ones, zeros, device=None, dtype=None):
        """One iteration: :func:`~minigan.training.conditional_gan_step` on item(s) ``index``."""
        _, image, label = reals[index] if n is None else reals.batch(index)
        real, real_label = _move(image, device, dtype), _move(label, device, dtype)
        seed_a = _move(self.seed(minigan, n, device), None, dtype)
        label_a = _move(self.random_one_hot(minigan, n, device), None, dtype)
        seed_b = _move(self.seed(minigan, n, device), None, dtype)
        label_b = _move(self.random_one_hot(minigan, n, device), None, dtype)
        return conditional_gan_step(nets.D, nets.G, real, real_label, seed_a, label_a, seed_b,
                                    label_b, ones, zeros)

    def random_one_hot(self, torch, n=None, device=None):
        """The book's ``generate_random_one_hot(10)``; (n, 10) rows when ``n`` is given."""
        return one_hot(torch, random_labels(n, self.num_classes), self.num_classes, device)

    def real_input(self, item):
        """An MNIST item (label, image, one-hot): D reads the image with its own label."""
        return item[1], item[2]

    def noise_input(self, device=None):
        """The D test's noise (4.16): a uniform image with a random label."""
        return self.noise(minigan, device), self.random_one_hot(minigan, None, device)

    def labels_for(self, n: int, labels=None) -> np.ndarray:
        """The ``n`` labels a request asks for (None: 0, 1, ... 9, 0, ...), checked."""
        labels = cycling_labels(n, self.num_classes) if labels is None else np.asarray(labels).reshape(-1)
        if labels.shape[0] != n:
            raise ValueError(f"generate: {n} seeds but {labels.shape[0]} labels")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"{self.name}: labels must be 0..{self.num_classes - 1}, "
                             f"got {labels.min()}..{labels.max()}")
        return labels

    def generate(self, G_module, seeds, labels=None):
        """G's images of ``labels`` (default 0, 1, ... 9, 0, ...) from (N, size) ``seeds``."""
        labels = self.labels_for(len(seeds), labels)
        condition = one_hot(minigan, labels, self.num_classes, seeds.device).to(seeds.dtype)
        with minigan.no_grad():
            out = np.asarray(G_module(seeds, condition).cpu().numpy())
        return self.to_images(out)

    def sample(self, G_module, count: int, device=None, labels=None):
        """``count`` images of ``labels`` (an int for all, a sequence, or None: cycling 0..9)."""
        if labels is not None and np.ndim(labels) == 0:
            labels = np.full(count, int(labels), dtype=np.int64)
        seeds = self.seed(minigan, count, device)
        return self.generate(G_module, seeds, labels)

    def images_per_label(self, G_module, per_label: int, device=None) -> list:
        """``per_label`` images drawn for each label 0, 1, ... (a list of arrays, one per label),
        for the per-label judge: one label at a time (a G without batch statistics draws each
        image alone anyway)."""
        return [self.sample(G_module, per_label, device, labels=label) for label in range(self.num_classes)]


# ============================================================================== beyond the book
@dataclass(frozen=True)
class GanModel(GanExperiment):
    """A GAN beyond the book (:mod:`minigan.models`): the same loop, data, pictures and judge.

    Such a model is defined by its tutorial, not by the book, so *its* published defaults are
    the reference: ``batch_size`` samples per step, reshuffled every epoch (``shuffle``), and
    pixels scaled from the data's [0, 1] into ``image_range`` - [-1, 1] for a generator ending
    in Tanh. :meth:`scale` maps reals into that range and :meth:`to_images` maps G's outputs
    back to [0, 1] for the pictures and the judge. ``reference`` names the recipe followed;
    ``book_epochs`` is None. Models whose step is not the book's three-step order override
    :meth:`iteration` (WGAN's critic iterations, :mod:`minigan.models.wgan`).
    """
    reference: str = ""
    batch_size: int = 64
    shuffle: bool = True
    image_range: tuple = (-1.0, 1.0)
    book_model = False          # (a class attribute, not a field)

    def scale(self, images):
        """Pixels in [0, 1] (tensors) as the model's ``image_range``."""
        low, high = self.image_range
        return images if (low, high) == (0.0, 1.0) else images * (high - low) + low

    def real(self, item):
        return self.scale(super().real(item))

    def real_batch(self, dataset, index):
        return self.scale(super().real_batch(dataset, index))

    def noise_input(self, device=None):
        """The D test's uniform "random image", in the model's pixel range."""
        return self.scale(self.noise(minigan, device)), None

    def to_images(self, out):
        """G's raw output back from ``image_range`` to [0, 1] (clipped), as (N, C, H, W)."""
        low, high = self.image_range
        images = super().to_images(out)
        return np.clip((images - low) / (high - low), 0.0, 1.0).astype(np.float32)

    def noise_batch(self, n: int, device=None):
        """``n`` of the D test's uniform "random images" as one batch, in the pixel range (a noise
        image already shaped as a batch of one, DCGAN's (1, nc, size, size), joins on that axis)."""
        parts = [self.noise(minigan, device) for _ in range(n)]
        return self.scale(minigan.cat(parts) if parts[0].ndim == 4 else minigan.stack(parts))

    def discriminator_test(self, D: Network, reals, *, epochs: int = 1, steps: int | None = None,
                           device=None, dtype=None, on_step=None, batch_size: int | None = None,
                           shuffle: bool | None = None, rng=0) -> int:
        """The book's D test on batches (the model's own unless given): D trained on each batch
        of reals (target 1), then on as many uniform random images (target 0) - one sample at a
        time would not suit a D with BatchNorm or convolutions. A critic (WGAN, SN-GAN) takes
        its own step instead, with the noise as its fakes (:meth:`critic_test_step`). ``rng``
        orders shuffled batches as in :func:`batches` (``minigan train`` passes its seed)."""
        batch_size = self.batch_size if batch_size is None else batch_size
        shuffle = self.shuffle if shuffle is None else shuffle
        it = 0
        for epoch, _, index in batches(len(reals), epochs=epochs, batch_size=batch_size,
                                       shuffle=shuffle, rng=rng):
            if steps is not None and it >= steps:
                break
            real = _move(self.real_batch(reals, index), device, dtype)
            noise = _move(self.noise_batch(real.shape[0], device), None, dtype)
            if D.loss_function is None:
                self.critic_test_step(D, real, noise)
            else:
                ones, zeros = self.targets(minigan, real.shape[0], device, dtype)
                train_step(D, real, ones)
                train_step(D, noise, zeros)
            it += 1
            if on_step is not None:
                on_step(it, epoch, None)
        return it

    def critic_test_step(self, D: Network, real, noise):
        """A D test step for a model whose D has no BCE targets (overridden by the critics)."""
        raise ValueError(f"{self.name}: its discriminator has no loss of its own to test")

    def discriminator_readout(self, D: Network, reals, device=None, count: int = 4):
        """D's answers on the first ``count`` reals and on ``count`` noise images, read as one
        batch of both: a D with BatchNorm in training mode normalises by the batch, and a batch
        of reals alone and one of noise alone would each be normalised into the same shape."""
        both = minigan.cat((_move(self.real_batch(reals, np.arange(count)), device, None),
                            self.noise_batch(count, device)))
        with minigan.no_grad():
            answers = np.asarray(D.module(both).cpu().numpy()).reshape(-1)
        return [float(v) for v in answers[:count]], [float(v) for v in answers[count:]]


def epochs_for(steps: int | None, epochs: int, n: int, batch_size: int) -> int:
    """Enough epochs to run ``steps`` iterations (``steps`` wins over ``epochs``)."""
    if steps is None:
        return epochs
    return max(1, math.ceil(steps * batch_size / max(n, 1)))
