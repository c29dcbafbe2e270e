"""Every model ``minigan train`` knows, by name: the book's (:mod:`minigan.book`) and those
beyond it (:mod:`minigan.models`), found through one lookup.

The command line and the model files use this; the book knows nothing of the models and the
models nothing of the command line.
"""
from __future__ import annotations

from . import book, models

NAMES = book.NAMES + models.NAMES


def get(name: str):
    """The experiment or model called ``name`` (see :data:`NAMES`)."""
    if name in book.NAMES:
        return book.get(name)
    if name in models.NAMES:
        return models.get(name)
    raise KeyError(f"no model called {name!r}; the book's are: {', '.join(book.NAMES)}; "
                   f"beyond the book: {', '.join(models.NAMES)}")


def defaults(experiment) -> tuple[int, bool]:
    """``(batch size, shuffle)`` the experiment trains with by default: the book's (1, stored
    order) for its models, the published ones for the models beyond it."""
    return getattr(experiment, "batch_size", 1), getattr(experiment, "shuffle", False)
