"""One training run of an experiment, start to finish: what ``minigan train NAME`` does.

:func:`train` seeds every random source, loads the data, builds the networks, runs the
experiment's loop under a progress bar with live losses, and writes into the output folder:

==================  ===========================================================================
``model.npz``       the final weights (``minigan sample / seeds / eval`` read it)
``config.json``     the resolved settings, the data source and every departure from the book
``metrics.json``    the numbers: accuracy, final losses, class coverage of generated digits ...
``loss*.png``       the book's loss plots (BOOK_SPEC section 1.8)
``samples.png``     a grid of generated images (GANs), ``samples_book.png`` the book's 2 x 3
``training.gif``    a fixed set of seeds drawn every few hundred iterations: G learning
``model_ema.npz``   with ``--ema DECAY``: G's weights averaged after every G step (an EMA,
                    :mod:`minigan.optim.swa_utils`), judged beside G's; ``samples_ema.png``
==================  ===========================================================================

Departures from the book (batches, shuffling, a step limit) are printed and recorded.
"""
from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

import minigan

from .backend import seed_value
from .experiment import epochs_for
from .modelfile import save_model
from .resume import RunInterrupted, RunState, StopSignals, checkpoint_path

__all__ = ["RunOptions", "train", "load_real_data"]

#: Frames of the GIF; images in the samples grid, its columns, the GIF's columns.
FRAMES = 30
GRID_SEEDS = 64
GRID_COLUMNS = 8
GIF_COLUMNS = 5
#: The labels the book draws with the CGAN's plot_images (BOOK_SPEC 4.16), and how many
#: samples per label the judge reads for metrics.json's per-label table.
BOOK_LABELS = (9, 3, 1, 5)
LABEL_JUDGE_COUNT = 100


@dataclass
class RunOptions:
    data: str | None = None
    epochs: int | None = None          # None: the experiment's default
    steps: int | None = None           # stop after this many iterations
    seed: int = 0
    out: str = "runs/NAME"
    device: str = "cpu"
    batch_size: int = 1
    shuffle: bool = False
    quiet: bool = False
    gif: bool = True
    discriminator_test: bool = False   # train D alone on real vs noise (the book's D test)
    checkpoint_every: int | None = None   # write OUT/checkpoint.npz every N iterations
    resume: bool = False                  # continue from OUT/checkpoint.npz
    image_size: int | None = None         # a model with an image size (dcgan): 32 or 64
    ema: float | None = None              # also keep an EMA of G's weights with this decay
    argv: list = field(default_factory=list)


def _say(options, *parts):
    if not options.quiet:
        print(*parts, flush=True)


def departures(experiment, options) -> list[str]:
    """Every way this run differs from the book's notebook (for a model beyond the book: from
    its own published defaults), in words."""
    if not getattr(experiment, "book_model", True):
        return _model_departures(experiment, options)
    out = []
    if options.batch_size != 1:
        out.append(f"batch size {options.batch_size} (the book trains one sample at a time)")
    if options.shuffle:
        out.append("shuffled each epoch (the book reads the data in stored order)")
    if options.steps is not None:
        out.append(f"stopped after {options.steps} iterations (--steps)")
    epochs = options.epochs or experiment.default_epochs
    if epochs != experiment.book_epochs and options.steps is None:
        out.append(f"{epochs} epochs (the book: {experiment.book_epochs})")
    if options.device != "cpu":
        out.append(f"device {options.device}")
    return out


def _model_departures(experiment, options) -> list[str]:
    out = [f"not a book model: {experiment.reference or experiment.section}"]
    out += list(getattr(experiment, "notes", ()))   # the model's own (dcgan's image size)
    if options.batch_size != experiment.batch_size:
        out.append(f"batch size {options.batch_size} (its default: {experiment.batch_size})")
    if options.shuffle != experiment.shuffle:
        out.append("stored order (its default: shuffled each epoch)" if experiment.shuffle
                   else "shuffled each epoch (its default: stored order)")
    if options.steps is not None:
        out.append(f"stopped after {options.steps} iterations (--steps)")
    elif options.epochs and options.epochs != experiment.default_epochs:
        out.append(f"{options.epochs} epochs (its default: {experiment.default_epochs})")
    if options.device != "cpu":
        out.append(f"device {options.device}")
    return out


def load_real_data(experiment, data, split="train"):
    """The real samples an experiment trains on (``--data``; None = the bundled sample)."""
    if experiment.data == "pattern":
        from .book.pattern1010 import ITERATIONS, PatternSource
        return PatternSource(ITERATIONS)
    if experiment.data in ("celeba", "celeba-crop"):
        from .data import CelebADataset, DataError
        if data is None:
            raise DataError(
                f"{experiment.name} trains on CelebA faces, which minigan cannot ship: download "
                "img_align_celeba.zip (torchvision.datasets.CelebA(root='.', download=True), or "
                "the CelebA site), pack it the book's way with `minigan data pack-celeba "
                "celeba/img_align_celeba.zip celeba_aligned_small.h5 --limit 20000`, then pass "
                "--data celeba_aligned_small.h5")
        return CelebADataset(data, crop=128 if experiment.data == "celeba-crop" else None)
    from .data import load_mnist
    return load_mnist(data, split=split)


def _seed_everything(seed: int) -> int:
    """Seed minigan's generator and Python's ``random``; the seed also orders shuffled epochs
    (as the non-negative value the generator took: a negative seed is remapped, as PyTorch)."""
    value = seed_value(seed)
    minigan.manual_seed(value)
    random.seed(value)         # the book's generate_real() and one-hot labels use it
    return value


def _progress_bar(total, options, desc, initial=0):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="it", mininterval=0.5, smoothing=0.05, initial=initial,
                disable=options.quiet, file=sys.stderr, dynamic_ncols=True)


class _Checkpoints:
    """The run's side of :mod:`minigan.resume`: restore on ``--resume``, then write a
    checkpoint every ``--checkpoint-every`` iterations and when a stop signal arrived."""

    def __init__(self, options, config, networks: dict, extra: dict | None = None, averaged=None):
        self.options, self.path = options, checkpoint_path(options.out)
        self.state = RunState(networks, config, extra, averaged)
        self.stop = None

    def start(self) -> int:
        if not self.options.resume:
            return 0
        start = self.state.restore(self.path)
        _say(self.options, f"  resumed from {self.path} at iteration {start:,}")
        return start

    def after(self, it: int) -> None:
        every = self.options.checkpoint_every
        if every and it % every == 0:
            self.state.save(self.path, it)
        if self.stop is not None and self.stop.signum is not None:
            self.state.save(self.path, it)
            raise RunInterrupted(self.stop.signum, self.path, it)


def _tail_mean(values, n=100):
    return float(np.mean(values[-n:])) if values else None


def _fmt(value):
    return "n/a (too few steps to record one)" if value is None else f"{value:.4f}"


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=str)
        f.write("\n")


def _base_config(experiment, options, dataset):
    return {
        "experiment": experiment.name, "section": experiment.section, "title": experiment.title,
        "data": getattr(dataset, "source", type(dataset).__name__), "data_items": len(dataset),
        "epochs": options.epochs or experiment.default_epochs, "book_epochs": experiment.book_epochs,
        "steps": options.steps, "batch_size": options.batch_size, "shuffle": options.shuffle,
        "seed": options.seed, "device": options.device, "ema": options.ema,
        "departures": departures(experiment, options),
        "minigan": minigan.__version__, "python": platform.python_version(),
        "numpy": np.__version__, "command": " ".join(options.argv) or None,
    }


def train(experiment, options: RunOptions) -> dict:
    """Run ``experiment`` with ``options``; write the outputs; return metrics.json's content.

    SIGINT and SIGTERM are caught for the whole run (before the output folder exists), so
    a stop request always ends at an iteration boundary with a checkpoint written.
    """
    with StopSignals() as stop:
        return _train(experiment, options, stop)


def configured(experiment, options):
    """The experiment as this run needs it: a model with an image size (``configure``, as
    dcgan) set to ``--image-size`` and shaped for its ``--data`` (digits or faces)."""
    configure = getattr(experiment, "configure", None)
    if configure is None:
        if options.image_size is not None:
            raise ValueError(f"--image-size {options.image_size}: {experiment.name} has no image "
                             "size to set (a model with one, such as dcgan, takes it)")
        return experiment
    return configure(image_size=options.image_size, data=options.data)


def _train(experiment, options, stop) -> dict:
    experiment = configured(experiment, options)
    os.makedirs(options.out, exist_ok=True)
    rng = _seed_everything(options.seed)
    dataset = load_real_data(experiment, options.data, "train")
    config = _base_config(experiment, options, dataset)
    if hasattr(experiment, "configure"):   # what model files need to rebuild the networks
        config.update(image_size=experiment.image_size, image_channels=experiment.nc)
    where = f"book section {experiment.section}" if getattr(experiment, "book_model", True) \
        else experiment.section
    _say(options, f"minigan train {experiment.name}: {experiment.title} - {where}")
    _say(options, f"  data: {config['data']} ({len(dataset):,} items)")
    for d in config["departures"]:
        _say(options, f"  departure from the book: {d}" if getattr(experiment, "book_model", True)
             else f"  {d}")
    if experiment.kind == "classifier":
        metrics = _train_classifier(experiment, options, dataset, rng, config, stop)
    elif experiment.kind == "autoencoder":
        from .autoencoder_runs import train_autoencoder
        metrics = train_autoencoder(experiment, options, dataset, rng, config, stop)
    elif options.discriminator_test:
        metrics = _discriminator_test(experiment, options, dataset, rng, config)
    else:
        metrics = _train_gan(experiment, options, dataset, rng, config, stop)
    _write_json(os.path.join(options.out, "config.json"), config)
    _write_json(os.path.join(options.out, "metrics.json"), metrics)
    _say(options, f"  wrote {options.out}/: " + ", ".join(sorted(os.listdir(options.out))))
    return metrics


def _timed_fit(experiment, nets, dataset, options, rng, on_step, first, bar):
    """``experiment.fit`` with the run's options from iteration ``first``; the bar is closed
    however it ends. Returns (iterations, seconds)."""
    start = time.perf_counter()
    try:
        iterations = experiment.fit(nets, dataset, epochs=_epochs(experiment, options, dataset),
                                    steps=options.steps, batch_size=options.batch_size,
                                    shuffle=options.shuffle, rng=rng, device=options.device,
                                    on_step=on_step, start=first)
    finally:
        bar.close()
    return iterations, time.perf_counter() - start


def _timing(iterations: int, seconds: float, first: int) -> tuple[dict, str]:
    """metrics.json's timing and the line's words. A resumed run timed only the iterations
    after ``first``, so its time per iteration is over those (``resumed_at`` says so)."""
    ran = iterations - first
    timing = {"iterations": iterations, "seconds": round(seconds, 2),
              "ms_per_iteration": round(1000 * seconds / max(ran, 1), 4)}
    if first:
        timing["resumed_at"] = first
        return timing, f"{iterations:,} iterations ({ran:,} after resuming at {first:,} in {seconds:.1f} s)"
    return timing, f"{iterations:,} iterations in {seconds:.1f} s"


def _epochs(experiment, options, dataset) -> int:
    return epochs_for(options.steps, options.epochs or experiment.default_epochs,
                      len(dataset), options.batch_size)


# ============================================================================== classifiers
def _train_classifier(experiment, options, dataset, rng, config, stop=None):
    from . import viz
    net = experiment.build(device=options.device)
    epochs = _epochs(experiment, options, dataset)
    total = epochs * -(-len(dataset) // options.batch_size)
    total = min(total, options.steps) if options.steps else total
    checkpoints = _Checkpoints(options, config, {"classifier": net})
    checkpoints.stop = stop
    first = checkpoints.start()
    bar = _progress_bar(total, options, experiment.name, initial=first)

    def on_step(it, epoch, loss):
        bar.update(1)
        if it % 500 == 0 and net.progress:
            bar.set_postfix(epoch=epoch + 1, loss=f"{net.progress[-1]:.4f}", refresh=False)
        checkpoints.after(it)

    iterations, seconds = _timed_fit(experiment, net, dataset, options, rng, on_step, first, bar)
    test = load_real_data(experiment, options.data, "test")
    config["test_data"] = test.source
    # BatchNorm in training mode updates its running statistics even while scoring (as in
    # PyTorch), so the model is saved, and scored in eval mode, before the book's scoring
    eval_mode = (experiment.accuracy(net.module, test, device=options.device, eval_mode=True)
                 if experiment.has_batchnorm else None)
    save_model(os.path.join(options.out, "model.npz"), experiment, {"classifier": net.module}, config)
    accuracy = experiment.accuracy(net.module, test, device=options.device)
    train_accuracy = experiment.accuracy(net.module, dataset, device=options.device)
    viz.plot_progress(net.progress, os.path.join(options.out, "loss.png"), style=experiment.plot_style,
                      title=f"{experiment.name}: loss every 10th step")
    _say(options, f"  test accuracy {accuracy:.4f} on {len(test):,} test items "
                  f"(train {train_accuracy:.4f}); book: {experiment.book_result}")
    timing, _ = _timing(iterations, seconds, first)
    metrics = {"experiment": experiment.name, **timing,
               "test_accuracy": accuracy, "test_items": len(test), "train_accuracy": train_accuracy,
               "final_loss_mean_last_100": _tail_mean(net.progress), "book": experiment.book_result}
    if experiment.has_batchnorm:
        metrics.update(batchnorm_accuracies(experiment, net.module, test, options.device,
                                            train_mode=accuracy, eval_mode=eval_mode))
        _say(options, f"  BatchNorm in eval mode (running statistics, not the book's): test accuracy "
                      f"{metrics['test_accuracy_eval_mode']:.4f}")
    return metrics


def batchnorm_accuracies(experiment, module, test, device=None, train_mode=None, eval_mode=None) -> dict:
    """Both ways of scoring a network with BatchNorm (BOOK_SPEC 1.5).

    ``test_accuracy_train_mode``: the book's - BatchNorm in training mode, each test image
    normalised with its own statistics; ``test_accuracy_eval_mode``: ``module.eval()``, the
    running statistics gathered during training. Either may be given if already known.
    Eval mode is scored first: scoring in training mode moves the running statistics.
    """
    if eval_mode is None:
        eval_mode = experiment.accuracy(module, test, device=device, eval_mode=True)
    if train_mode is None:
        train_mode = experiment.accuracy(module, test, device=device)
    return {"test_accuracy_train_mode": train_mode, "test_accuracy_eval_mode": eval_mode,
            "batchnorm": "test_accuracy is the book's (BatchNorm in training mode, one image at a "
                         "time); test_accuracy_eval_mode uses BatchNorm's running statistics"}


# ============================================================================== GANs
def _discriminator_test(experiment, options, dataset, rng, config):
    """D alone, real (1) against uniform noise (0): the test before each GAN of the book."""
    from . import viz
    nets = experiment.build(device=options.device)
    D = nets.D
    epochs = options.epochs or 1
    per_epoch = -(-len(dataset) // options.batch_size)
    total = min(epochs * per_epoch, options.steps) if options.steps else epochs * per_epoch
    bar = _progress_bar(total, options, f"{experiment.name} D test")
    start = time.perf_counter()
    iterations = experiment.discriminator_test(D, dataset, epochs=epochs, steps=options.steps,
                                               device=options.device, batch_size=options.batch_size,
                                               shuffle=options.shuffle, rng=rng,
                                               on_step=lambda *a: bar.update(1))
    seconds = time.perf_counter() - start
    bar.close()
    viz.plot_progress(D.progress, os.path.join(options.out, "loss_d_test.png"), style=experiment.plot_style,
                      title=f"{experiment.name}: discriminator test")
    real, noise = experiment.discriminator_readout(D, dataset, options.device)
    config["discriminator_test"] = True
    _say(options, "  D(real) = " + ", ".join(f"{v:.4f}" for v in real)
         + "; D(noise) = " + ", ".join(f"{v:.4g}" for v in noise))
    return {"experiment": experiment.name, "discriminator_test": True, "iterations": iterations,
            "seconds": round(seconds, 2), "d_real": real, "d_noise": noise,
            "d_progress_points": len(D.progress)}


def _train_gan(experiment, options, dataset, rng, config, stop=None):
    from . import viz
    from .book import pattern1010
    display = _display_inputs(experiment, options.device)
    nets = experiment.build(device=options.device)
    epochs = _epochs(experiment, options, dataset)
    per_epoch = -(-len(dataset) // options.batch_size)
    total = min(epochs * per_epoch, options.steps) if options.steps else epochs * per_epoch
    is_pattern = experiment.data == "pattern"
    frame_every = max(1, total // FRAMES)
    frames, snapshots = [], []
    half = pattern1010.half_seed(minigan, None, options.device)
    ema = _GeneratorAverage(nets.G, options.ema) if options.ema is not None else None
    checkpoints = _Checkpoints(options, config, {"D": nets.D, "G": nets.G},
                               {"frames": frames, "snapshots": snapshots},
                               averaged={"G_ema": ema.model} if ema else None)
    checkpoints.stop = stop
    if ema:
        _say(options, f"  keeping an EMA of G's weights (decay {options.ema}, updated after every "
                      "G step), judged beside G at the end")
        note = ema_memory_note(options.ema, total // getattr(experiment, "n_critic", 1))
        if note:
            _say(options, "  note: " + note)
    first = checkpoints.start()
    if ema:
        ema.sync()
    bar = _progress_bar(total, options, experiment.name, initial=first)

    def frame():
        images = experiment.generate(nets.G.module, display["gif_seeds"], display["gif_labels"])
        frames.append(viz.to_uint8_image(viz.make_grid(images, nrow=display["gif_nrow"], padding=2,
                                                       pad_value=1.0)))

    def on_step(it, epoch, losses):
        bar.update(1)
        if ema:
            ema.after_iteration()
        if is_pattern:
            if (it - 1) % pattern1010.SNAPSHOT_EVERY == 0:   # the book's i = 0, 1000, ... 9000
                with minigan.no_grad():
                    snapshots.append(np.asarray(nets.G.module(half).cpu().numpy()).tolist())
        elif options.gif and it % frame_every == 0:
            frame()
        if it % 500 == 0 and nets.D.progress and nets.G.progress:
            bar.set_postfix(epoch=epoch + 1, D=f"{nets.D.progress[-1]:.3f}",
                            G=f"{nets.G.progress[-1]:.3f}", refresh=False)
        checkpoints.after(it)

    if options.gif and not is_pattern and first == 0:
        frame()
    iterations, seconds = _timed_fit(experiment, nets, dataset, options, rng, on_step, first, bar)
    out = options.out
    save_model(os.path.join(out, "model.npz"), experiment, {"D": nets.D.module, "G": nets.G.module}, config)
    if ema:   # the same kind of file, G's average in G's place: minigan sample/seeds/eval read it
        save_model(os.path.join(out, "model_ema.npz"), experiment,
                   {"D": nets.D.module, "G": ema.model.module}, config)
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, os.path.join(out, "losses.png"),
                          style=experiment.plot_style, title=experiment.name)
    timing, timed = _timing(iterations, seconds, first)
    metrics = {"experiment": experiment.name, **timing,
               "d_loss_mean_last_100": _tail_mean(nets.D.progress),
               "g_loss_mean_last_100": _tail_mean(nets.G.progress),
               "d_progress_points": len(nets.D.progress), "g_progress_points": len(nets.G.progress),
               "book": experiment.book_result}
    _say(options, f"  {timed}; D loss ~ "
                  f"{_fmt(metrics['d_loss_mean_last_100'])}, G loss ~ "
                  f"{_fmt(metrics['g_loss_mean_last_100'])} (mean of the last 100 recorded points)")
    if ema:
        metrics["ema"] = {"decay": options.ema, "updates": int(ema.model.n_averaged)}
    if is_pattern:
        with minigan.no_grad():
            final = np.asarray(nets.G.module(half).cpu().numpy()).tolist()
        metrics["final_g_half"] = final
        metrics["snapshots"] = snapshots
        viz.plot_pattern_snapshots(snapshots, os.path.join(out, "snapshots.png"))
        _say(options, "  final G(0.5) = [" + ", ".join(f"{v:.4f}" for v in final) + "]; book: "
                      + experiment.book_result)
        if ema:
            with minigan.no_grad():
                final = np.asarray(ema.model.module(half).cpu().numpy()).tolist()
            metrics["ema"]["final_g_half"] = final
            _say(options, "  EMA of G: G(0.5) = [" + ", ".join(f"{v:.4f}" for v in final) + "]")
        return metrics
    samples = experiment.generate(nets.G.module, display["seeds"], display["labels"])
    viz.save_image(minigan.tensor(samples), os.path.join(out, "samples.png"), nrow=display["nrow"],
                   pad_value=1.0)
    if ema:   # the same seeds through the averaged weights
        viz.save_image(minigan.tensor(experiment.generate(ema.model.module, display["seeds"],
                                                          display["labels"])),
                       os.path.join(out, "samples_ema.png"), nrow=display["nrow"], pad_value=1.0)
    if experiment.conditional:   # the book's G.plot_images(9), (3), (1), (5): a row of six each
        viz.plot_images(experiment.sample(nets.G.module, 6 * len(BOOK_LABELS), options.device,
                                          labels=np.repeat(BOOK_LABELS, 6)),
                        os.path.join(out, "samples_book.png"), rows=len(BOOK_LABELS), cols=6,
                        titles=[f"label {k}" for k in np.repeat(BOOK_LABELS, 6)])
    else:
        viz.plot_images(samples[:6], os.path.join(out, "samples_book.png"))
    if options.gif and frames:
        frame()
        viz.save_gif(frames, os.path.join(out, "training.gif"), duration_ms=150)
    if experiment.data == "mnist" and _is_digits(dataset):
        generators = _random_state()   # the EMA is judged on the very seeds (and labels) G was
        metrics.update(_judge_digits(experiment, nets.G.module, options, "1,000 samples judged"))
        if ema:
            _set_random_state(generators)
            metrics["ema"].update(_judge_digits(experiment, ema.model.module, options,
                                                "EMA of G, the same seeds judged"))
    metrics.update(experiment.after_training(nets, options, lambda text: _say(options, text)))
    return metrics


class _GeneratorAverage:
    """``--ema DECAY``: an EMA of G's weights (:class:`~minigan.optim.swa_utils.AveragedModel`),
    updated after every step G takes - once per iteration in the book's loop, once every
    ``n_critic`` in WGAN's - so that a decay means the same thing for every GAN."""

    def __init__(self, G, decay: float):
        from .optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
        self.G = G
        self.model = AveragedModel(G.module, multi_avg_fn=get_ema_multi_avg_fn(decay))
        self.sync()

    def sync(self) -> None:
        """Take G's step count as seen (at the start, and after a resume restored it)."""
        self._seen = self.G.counter

    def after_iteration(self) -> None:
        if self.G.counter != self._seen:   # G stepped in this iteration
            self._seen = self.G.counter
            self.model.update_parameters(self.G.module)


def ema_memory_note(decay: float, g_steps: int) -> str | None:
    """A warning when an EMA remembers too much of a short run: its weights on the last
    1 / (1 - decay) G steps add up to 63 %, and after ``g_steps`` the untrained start still
    weighs ``decay ** g_steps``. Measured (README): decay 0.999 over dcgan-mnist's 640 and
    WGAN-GP's 1,260 G steps averaged in the start's blur (Frechet 453 and 303, against G's 54
    and 115); 0.99 suited WGAN-GP (104). Suggests the largest usual decay remembering at most
    a fifth of the run."""
    memory = 1.0 / (1.0 - decay) if decay < 1 else float("inf")
    if memory <= g_steps / 5:
        return None
    fitting = [d for d in (0.9, 0.99, 0.995, 0.999, 0.9999) if 1.0 / (1.0 - d) <= g_steps / 5]
    advice = f"a decay of {fitting[-1]} fits it" if fitting else "the run is too short for an EMA"
    return (f"--ema {decay} averages over about {memory:,.0f} G steps and this run takes "
            f"{g_steps:,}: the untrained start keeps a weight of {decay ** g_steps:.0%} in the "
            f"average; {advice}")


def _random_state():
    from .backend import host_generator
    return host_generator().bit_generator.state, random.getstate()


def _set_random_state(state) -> None:
    from .backend import host_generator
    host_generator().bit_generator.state, python = state
    random.setstate(python)


def _judge_digits(experiment, G_module, options, heading: str) -> dict:
    """Class coverage and Fréchet distance of 1,000 generated digits (and, for a conditional
    GAN, how often the judge reads the requested label); printed under ``heading``."""
    from .metrics import frechet_distance_images
    images = experiment.sample(G_module, 1000, options.device)   # judged twice below
    result = {"mode_collapse": judge_generator(experiment, G_module, device=options.device,
                                               images=images),
              # the same 1,000 images against the held-out test digits, on the judge's hidden features
              "frechet_distance": frechet_distance_images(
                  images, load_real_data(experiment, options.data, "test").images)}
    mc = result["mode_collapse"]
    _say(options, f"  {heading}: {mc['classes_covered']} of 10 digit classes, largest "
                  f"class {mc['largest_class']} at {mc['largest_share']:.1%}, "
                  f"entropy {mc['entropy_bits']:.2f} of 3.32 bits, Fréchet distance to the "
                  f"test digits {result['frechet_distance']:.2f}")
    if experiment.conditional:
        from .book.cgan import format_label_table, label_accuracy
        result["label_accuracy"] = label_accuracy(G_module, LABEL_JUDGE_COUNT, options.device,
                                                  experiment=experiment)
        _say(options, f"  {LABEL_JUDGE_COUNT} samples per requested label, judged:\n"
                      + format_label_table(result["label_accuracy"]))
    return result


def _display_inputs(experiment, device) -> dict:
    """Fixed seeds (and labels) for the samples grid and the GIF, drawn once before training.

    A conditional GAN's grids have one row per label (0 at the top), a column per seed.
    """
    if experiment.conditional:
        k = experiment.num_classes
        seeds = experiment.seed(minigan, k * GRID_COLUMNS, device)
        labels = np.repeat(np.arange(k), GRID_COLUMNS)
        in_gif = np.arange(k * GRID_COLUMNS) % GRID_COLUMNS < GIF_COLUMNS
        gif_seeds = minigan.tensor(seeds.cpu().numpy()[in_gif], device=device)
        return {"seeds": seeds, "labels": labels, "nrow": GRID_COLUMNS,
                "gif_seeds": gif_seeds, "gif_labels": labels[in_gif], "gif_nrow": GIF_COLUMNS}
    seeds = experiment.seed(minigan, GRID_SEEDS if experiment.image_shape[1] <= 64 else 16, device)
    return {"seeds": seeds, "labels": None, "nrow": GRID_COLUMNS,
            "gif_seeds": seeds[:GIF_COLUMNS ** 2], "gif_labels": None, "gif_nrow": GIF_COLUMNS}


def _is_digits(dataset):
    classes = getattr(dataset, "classes", None)
    return classes is None or list(classes) == [str(i) for i in range(10)]


def judge_generator(experiment, G_module, count: int = 1000, device=None, images=None) -> dict:
    """Class coverage of ``count`` generated digits (or of ``images`` already drawn from
    ``experiment.sample``), judged by the shipped classifier."""
    from . import metrics
    if images is None:
        images = experiment.sample(G_module, count, device)
    return metrics.mode_collapse_report(images)


def options_dict(options: RunOptions) -> dict:
    return asdict(options)
