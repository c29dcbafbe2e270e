"""``model.npz``: a trained experiment's weights, with the name of the experiment they fit.

``minigan train`` writes one; ``minigan sample``, ``seeds`` and ``eval`` read it back. The
file is a :func:`minigan.save` archive (``.npz``, never a pickle) holding::

    {"format": "minigan.model", "version": 1, "experiment": "mnist-gan",
     "config": {... the resolved training settings ...},
     "modules": {"D": state_dict, "G": state_dict}}      # or {"classifier": state_dict},
                                                           # or {"autoencoder": state_dict}

so a file can always say which model it holds, and a command given the wrong kind says so.
"""
from __future__ import annotations

import os

import minigan

FORMAT = "minigan.model"
VERSION = 1

__all__ = ["save_model", "load_model", "ModelFileError"]


class ModelFileError(ValueError):
    """A model file that can't serve the command asking for it (the message names the file)."""


def save_model(path, experiment, modules: dict, config: dict) -> None:
    """Write ``modules`` (name -> nn.Module) of ``experiment`` to ``path`` atomically."""
    minigan.save({"format": FORMAT, "version": VERSION, "experiment": experiment.name,
                  "config": config,
                  "modules": {name: m.state_dict() for name, m in modules.items()}}, path)


def load_model(path, *, kind: str | None = None, device=None):
    """``(experiment, modules, config)`` from a model file.

    ``kind`` (``"gan"`` or ``"classifier"``) is what the caller needs; a file holding another
    kind raises :class:`ModelFileError` naming the file, the model it holds and what was
    expected. Modules are built by the experiment and loaded strictly.
    """
    from . import registry
    from .serialization import CheckpointError
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: no such file (expected a model.npz written by minigan train)")
    try:
        saved = minigan.load(path, map_location=device)
    except CheckpointError as e:
        raise ModelFileError(str(e)) from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ModelFileError(f"{path}: a minigan checkpoint, but not a model file written by "
                             "minigan train (no 'format': 'minigan.model')")
    name = saved.get("experiment")
    try:
        experiment = registry.get(name)
    except KeyError as e:
        raise ModelFileError(f"{path}: holds a model called {name!r}, which this minigan does not "
                             f"know ({e.args[0]})") from None
    config = saved.get("config", {})
    if hasattr(experiment, "configure") and isinstance(config, dict):
        # a model with an image size (dcgan): rebuild it at the size and channels it trained with
        try:
            experiment = experiment.configure(image_size=config.get("image_size"),
                                              channels=config.get("image_channels"))
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{path}: its config does not describe a {name!r} model: {e}") from None
    if kind is not None and experiment.kind != kind:
        wanted = {"gan": "a generator (a GAN such as mnist-gan)",
                  "classifier": "a classifier (such as classifier-improved)",
                  "autoencoder": "an autoencoder (autoencoder, conv-autoencoder, vae)"}.get(kind, kind)
        raise ModelFileError(f"{path}: holds the {experiment.kind} {name!r}, but this command "
                             f"needs {wanted}")
    built = experiment.build(device=device)
    if experiment.kind == "gan":
        modules = {"D": built.D.module, "G": built.G.module}
    elif experiment.kind == "autoencoder":     # minigan.models.autoencoding: one module
        modules = {"autoencoder": built.module}
    else:
        modules = {"classifier": built.module}
    states = saved.get("modules", {})
    if set(states) != set(modules):
        raise ModelFileError(f"{path}: expected modules {sorted(modules)} for {name!r}, "
                             f"found {sorted(states)}")
    for key, module in modules.items():
        try:
            module.load_state_dict(states[key])
        except (KeyError, RuntimeError, ValueError) as e:
            raise ModelFileError(f"{path}: the {key} weights don't fit {name!r}: {e}") from None
    return experiment, modules, saved.get("config", {})
