"""Reading a discriminator's second head as a classifier (ACGAN's class head, InfoGAN's Q).

Both models train a head beside D's real-or-fake output that names something about the image:
the digit (ACGAN) or G's code (InfoGAN). After training each is scored as a classifier of the
held-out digits, read the same way: through a *copy* of D, so the reading leaves D's BatchNorm
running statistics as training left them; in training mode, as D reads the batches it trains
on; with dropout off, as any classifier is read; batch by batch, under ``no_grad``.
"""
from __future__ import annotations

import copy

import numpy as np

import minigan


def head_argmax(D_module, images, logits_of, *, batch: int = 500, torch=minigan) -> np.ndarray:
    """The argmax of ``logits_of(reader, x)`` (a head's logits) for every image of ``images``,
    read by a copy of ``D_module`` as the module docstring says; ``torch`` is the framework of
    ``D_module`` and ``images`` (the side-by-side script reads PyTorch's D too)."""
    reader = copy.deepcopy(D_module)
    for m in reader.modules():
        if type(m).__name__.startswith("Dropout"):
            m.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            logits = logits_of(reader, images[start:min(start + batch, len(images))])
            out.append(np.asarray(logits.argmax(dim=1).cpu().numpy()))
    return np.concatenate(out)
