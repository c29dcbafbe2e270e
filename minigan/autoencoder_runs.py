"""One training run of an autoencoder or VAE: what ``minigan train autoencoder|conv-autoencoder|vae``
does after :func:`minigan.runs.train` has seeded everything and loaded the data.

The loop is the model's :meth:`~minigan.models.autoencoding.AutoencoderModel.fit` under the
runs' progress bar, checkpoints and timer (:mod:`minigan.runs`); at the end of every epoch the
held-out loss on the test split is computed. Written into the output folder, beside
``config.json`` and ``metrics.json``:

=====================  =====================================================================
``model.npz``          the final weights (``minigan eval`` scores them; ``minigan sample``
                       decodes prior samples of a VAE)
``reconstructions.png``  one test digit of each class on top, its reconstruction below
``samples.png``        the VAE only: 64 codes z ~ N(0, I) decoded (samples from the prior)
``code_3d.png``        the 3-number code of ``autoencoder``: every test item a point in 3-D,
                       coloured by its digit
``loss.png``           the batch losses (every 10th step, BOOK_SPEC 1.6) and, per epoch, the
                       train and held-out loss per image
=====================  =====================================================================

metrics.json holds the loss per image for each epoch, train and test (the test figure as
PyTorch's VAE example prints it: the summed loss over the test split / its size), and the time.
"""
from __future__ import annotations

import os
import time

import numpy as np

import minigan

from .modelfile import save_model
from .runs import _Checkpoints, _epochs, _progress_bar, _say, _timed_fit, load_real_data

__all__ = ["train_autoencoder", "RECONSTRUCTION_COLUMNS", "PRIOR_SAMPLES"]

#: Test digits in reconstructions.png (the first of each class 0-9, then the next ones);
#: prior samples in samples.png and the columns of its grid.
RECONSTRUCTION_COLUMNS = 10
PRIOR_SAMPLES = 64
GRID_COLUMNS = 8


def train_autoencoder(experiment, options, dataset, rng, config, stop=None) -> dict:
    """Train ``experiment`` (an AutoencoderModel) as ``options`` say; write its pictures and
    weights into ``options.out``; return metrics.json's content."""
    if options.discriminator_test:
        raise ValueError(f"--discriminator-test: {experiment.name} is an autoencoder, it has no "
                         "discriminator to test")
    net = experiment.build(device=options.device)
    test = load_real_data(experiment, options.data, "test")
    config["test_data"] = test.source
    epochs = _epochs(experiment, options, dataset)
    per_epoch = -(-len(dataset) // options.batch_size)
    total = min(epochs * per_epoch, options.steps) if options.steps else epochs * per_epoch
    # per-image losses of each finished epoch, and the running [sum, images] of the current one:
    # checkpointed with the weights, so a resumed run reports the same figures
    train_losses, test_losses, running = [], [], [0.0, 0]
    checkpoints = _Checkpoints(options, config, {"autoencoder": net},
                               {"train_loss": train_losses, "test_loss": test_losses,
                                "running": running})
    checkpoints.stop = stop
    first = checkpoints.start()
    bar = _progress_bar(total, options, experiment.name, initial=first)
    held_out_seconds = [0.0]

    def end_epoch():
        train_losses.append(running[0] / running[1])
        start = time.perf_counter()
        test_losses.append(experiment.held_out_loss(net.module, test, device=options.device))
        held_out_seconds[0] += time.perf_counter() - start
        running[:] = [0.0, 0]
        bar.set_postfix(epoch=len(train_losses), train=f"{train_losses[-1]:.4g}",
                        test=f"{test_losses[-1]:.4g}", refresh=False)

    def on_step(it, epoch, loss, items):
        bar.update(1)
        running[0] += experiment.per_item(float(loss.item()), items)
        running[1] += items
        if it % per_epoch == 0:
            end_epoch()
        checkpoints.after(it)

    iterations, seconds = _timed_fit(experiment, net, dataset, options, rng, on_step, first, bar)
    partial = running[1] > 0          # --steps stopped inside an epoch: score that part too
    if partial:
        end_epoch()

    out = options.out
    module = net.module
    save_model(os.path.join(out, "model.npz"), experiment, {"autoencoder": module}, config)
    _draw_reconstructions(experiment, module, test, os.path.join(out, "reconstructions.png"),
                          options.device)
    if experiment.variational:
        samples = experiment.sample(module, PRIOR_SAMPLES, options.device)
        from . import viz
        viz.save_image(minigan.tensor(samples), os.path.join(out, "samples.png"),
                       nrow=GRID_COLUMNS, pad_value=1.0)
    if experiment.code_size == 3:
        _draw_code_3d(experiment, module, test, os.path.join(out, "code_3d.png"), options.device)
    _draw_losses(experiment, _per_image(experiment, net.progress, len(dataset), options.batch_size),
                 train_losses, test_losses, partial, os.path.join(out, "loss.png"))

    what = "loss per image: " + ("summed over pixels" if experiment.loss_reduction == "sum"
                                 else "mean over pixels")
    metrics = {"experiment": experiment.name, "iterations": iterations, "seconds": round(seconds, 2),
               "held_out_seconds": round(held_out_seconds[0], 2),
               "ms_per_iteration": round(1000 * (seconds - held_out_seconds[0]) / max(iterations, 1), 4),
               "epochs_completed": len(train_losses) - int(partial), "last_epoch_partial": partial,
               "train_loss_per_epoch": train_losses, "test_loss_per_epoch": test_losses,
               "test_loss": test_losses[-1] if test_losses else None, "test_items": len(test),
               "loss": what, "parameters": experiment.parameters, "book": experiment.book_result}
    _say(options, f"  {iterations:,} iterations in {seconds:.1f} s (of which {held_out_seconds[0]:.1f} s "
                  f"scoring the test split); {what}: train {_fmt(metrics['train_loss_per_epoch'])}, "
                  f"held-out {_fmt(metrics['test_loss_per_epoch'])} on {len(test):,} test items")
    return metrics


def _fmt(values):
    return f"{values[-1]:.4f}" if values else "n/a"


def _picked(test, count):
    """Indexes of test items to show: the first of each digit, then the next items in order."""
    labels = np.asarray(test.labels)
    picked = [int(np.flatnonzero(labels == k)[0]) for k in range(10) if (labels == k).any()]
    chosen = set(picked)
    rest = [i for i in range(len(test)) if i not in chosen]
    return np.asarray((picked + rest)[:count])


def _draw_reconstructions(experiment, module, test, path, device=None):
    """Test digits on the top row, their reconstructions below (one PNG grid)."""
    from . import viz
    index = _picked(test, RECONSTRUCTION_COLUMNS)
    images = test.batch(index)[1]
    if device is not None:
        images = images.to(device)
    inputs = images.numpy().reshape(len(index), *experiment.image_shape)
    recon = experiment.reconstruct(module, images)
    viz.save_image(minigan.tensor(np.concatenate([inputs, recon])), path, nrow=len(index),
                   pad_value=1.0)


def _draw_code_3d(experiment, module, test, path, device=None):
    """Every test item's 3-number code as a point in 3-D, coloured by its digit."""
    from .viz._figure import new_figure, save_figure
    images = test.batch(np.arange(len(test)))[1]
    if device is not None:
        images = images.to(device)
    codes = experiment.code(module, images)
    labels = np.asarray(test.labels)
    fig = new_figure((10, 9))
    ax = fig.add_subplot(projection="3d")
    points = ax.scatter(codes[:, 0], codes[:, 1], codes[:, 2], c=labels, cmap="tab10",
                        vmin=-0.5, vmax=9.5, s=6, alpha=0.8)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit", shrink=0.7)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    ax.set_zlabel("code 3")
    ax.set_title(f"{experiment.name}: the 3-number codes of {len(test):,} test digits")
    save_figure(fig, path)


def _per_image(experiment, progress, n, batch_size):
    """The recorded batch losses (every 10th step) as losses per image: the ``k``-th point is
    step ``10 k``'s, whose batch may be an epoch's short last one."""
    from .training import RECORD_EVERY
    per_epoch = -(-n // batch_size)
    out = []
    for k, value in enumerate(progress, start=1):
        position = (k * RECORD_EVERY - 1) % per_epoch          # the batch's place in its epoch
        items = min(batch_size, n - position * batch_size)
        out.append(experiment.per_item(value, items) / items)
    return out


def _draw_losses(experiment, progress, train_losses, test_losses, partial, path):
    """Two panels: the recorded batch losses per image, and each epoch's train and held-out
    losses per image."""
    from . import viz
    from .viz._figure import new_figure, save_figure
    fig = new_figure((16, 12))
    top, bottom = fig.subplots(2, 1)
    viz.plot_progress(progress, style="wasserstein", ax=top,       # a free axis: losses of 100s
                      title=f"{experiment.name}: the batch's loss per image, every 10th step")
    epochs = np.arange(1, len(train_losses) + 1)
    bottom.plot(epochs, train_losses, marker="o", label="train (mean over the epoch's batches)")
    bottom.plot(epochs, test_losses, marker="s", label="held-out (test split)")
    bottom.set_xlabel("epoch" + (" (the last one partial: --steps)" if partial else ""))
    bottom.set_ylabel("loss per image")
    bottom.grid(True)
    bottom.legend()
    save_figure(fig, path)
