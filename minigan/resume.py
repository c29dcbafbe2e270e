"""Crash-safe checkpoints of a training run, and resuming it exactly.

GAN training runs for hours, one sample at a time. ``minigan train ... --checkpoint-every N``
writes ``OUT/checkpoint.npz`` every N iterations, and Ctrl-C (SIGINT) or SIGTERM write one
before the process exits; ``--resume`` continues from it. A checkpoint holds *everything*
the rest of the run depends on, so a resumed run ends bit-identical to one never stopped:

* every network's weights and buffers, and every optimiser's state (Adam's moments, step);
  an averaged copy of G (``--ema``: :class:`~minigan.optim.swa_utils.AveragedModel`) too;
* each network's ``counter`` and ``progress`` list (the loss plots, BOOK_SPEC 1.6);
* the random number generators: minigan's host generator (seeds, noise) and Python's
  ``random`` (the book's ``generate_real`` and one-hot labels);
* the data position (the iteration count; shuffled orders are re-derived per epoch from the
  run's seed, so no generator state is needed for them) and what the run has drawn so far
  (the GIF's frames, the 1010 GAN's snapshots).

Files are written by :func:`minigan.save`: a temporary file in the same folder, flushed,
fsynced and renamed over the old checkpoint, so a crash mid-write leaves the previous
checkpoint whole. Nothing is pickled.
"""
from __future__ import annotations

import os
import random
import signal

import numpy as np

import minigan

from .backend import host_generator

FORMAT = "minigan.run-checkpoint"
VERSION = 1
FILENAME = "checkpoint.npz"

#: The settings a resumed run must share with the run that wrote the checkpoint.
SETTINGS = ("experiment", "data", "epochs", "steps", "seed", "batch_size", "shuffle", "device", "ema")

__all__ = ["RunState", "ResumeError", "RunInterrupted", "StopSignals", "checkpoint_path"]


class ResumeError(ValueError):
    """A checkpoint that can't resume this run (the message names the file and why)."""


class RunInterrupted(Exception):
    """SIGINT or SIGTERM arrived; the checkpoint was written (``.path``) before stopping."""

    def __init__(self, signum: int, path: str, iteration: int):
        self.signum, self.path, self.iteration = signum, path, iteration
        name = signal.Signals(signum).name
        super().__init__(f"{name} at iteration {iteration:,}: checkpoint written to {path}; "
                         "continue with the same command and --resume")


def checkpoint_path(out: str) -> str:
    return os.path.join(out, FILENAME)


class RunState:
    """What a run checkpoints: named networks (``training.Network``) plus extra lists.

    ``settings`` (a dict with the :data:`SETTINGS` keys) is stored and compared on resume.
    ``extra`` maps names to lists that the run appends to (GIF frames, snapshots);
    ``averaged`` names modules with no optimiser of their own (G's EMA copy).
    """

    def __init__(self, networks: dict, settings: dict, extra: dict | None = None,
                 averaged: dict | None = None):
        self.networks = networks
        self.settings = {k: settings.get(k) for k in SETTINGS}
        self.extra = extra if extra is not None else {}
        self.averaged = averaged if averaged is not None else {}

    # ------------------------------------------------------------------ saving
    def snapshot(self, iteration: int) -> dict:
        state = {
            "format": FORMAT, "version": VERSION, "iteration": int(iteration),
            "settings": self.settings,
            "modules": {k: n.module.state_dict() for k, n in self.networks.items()},
            "optimisers": {k: n.optimiser.state_dict() for k, n in self.networks.items()},
            "counters": {k: n.counter for k, n in self.networks.items()},
            "progress": {k: np.asarray(n.progress, dtype=np.float64) for k, n in self.networks.items()},
            "rng": {"minigan": host_generator().bit_generator.state,
                    "python": random.getstate()},
            "extra": {k: list(v) for k, v in self.extra.items()},
        }
        if self.averaged:
            state["averaged"] = {k: m.state_dict() for k, m in self.averaged.items()}
        return state

    def save(self, path: str, iteration: int) -> None:
        """Write the checkpoint atomically (the previous one stays until this one is whole)."""
        minigan.save(self.snapshot(iteration), path)

    # ------------------------------------------------------------------ resuming
    def restore(self, path: str) -> int:
        """Load ``path`` into the networks, optimisers and generators; return its iteration."""
        from .serialization import CheckpointError
        if not os.path.exists(path):
            raise ResumeError(f"{path}: no checkpoint to resume from (a run writes one with "
                              "--checkpoint-every N, or when stopped by Ctrl-C or SIGTERM)")
        try:
            saved = minigan.load(path)
        except CheckpointError as e:
            raise ResumeError(str(e)) from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ResumeError(f"{path}: not a training checkpoint written by minigan train")
        stored = saved.get("settings", {})
        differ = [f"{k}: checkpoint {stored.get(k)!r}, this run {self.settings.get(k)!r}"
                  for k in SETTINGS if stored.get(k) != self.settings.get(k)]
        if differ:
            raise ResumeError(f"{path}: written by a run with other settings; resume with the "
                              "same command. Differences: " + "; ".join(differ))
        try:
            for k, net in self.networks.items():
                net.module.load_state_dict(saved["modules"][k])
                net.optimiser.load_state_dict(saved["optimisers"][k])
                net.counter = int(saved["counters"][k])
                net.progress = [float(v) for v in np.asarray(saved["progress"][k])]
            for k, module in self.averaged.items():
                module.load_state_dict(saved["averaged"][k])
            for k, values in saved.get("extra", {}).items():
                if k in self.extra:
                    self.extra[k][:] = list(values)
            host_generator().bit_generator.state = saved["rng"]["minigan"]
            random.setstate(_as_random_state(saved["rng"]["python"]))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise ResumeError(f"{path}: incomplete or damaged checkpoint ({type(e).__name__}: {e})") from None
        return int(saved["iteration"])


def _as_random_state(state):
    """``random.setstate`` wants tuples all the way down (JSON gave lists)."""
    version, internal, gauss = state
    return int(version), tuple(int(v) for v in internal), gauss


class StopSignals:
    """``with StopSignals() as stop:`` - SIGINT and SIGTERM set ``stop.signum`` instead of
    killing the process mid-step; the loop checks it at the end of each iteration, writes a
    checkpoint and raises :class:`RunInterrupted`. Old handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum = None
        self._old = {}

    def _handler(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt   # a second Ctrl-C: stop now
        self.signum = signum

    def __enter__(self):
        try:
            for s in self.SIGNALS:
                self._old[s] = signal.signal(s, self._handler)
        except ValueError:            # not the main thread: signals can't be caught here
            self._old = {}
        return self

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        return False
