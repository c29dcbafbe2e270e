"""What InfoGAN's code learnt (:mod:`minigan.models.infogan`), measured and drawn.

* :func:`code_report` - Q as an unsupervised classifier of the held-out real digits (the
  paper's measure: 5 % error on MNIST), and, judged by the shipped digit classifier, how
  purely each value of c1 makes G draw one digit.
* :func:`code_pictures` - the paper's figure 2: a row per value of c1 with a column per z,
  and c2 and c3 swept from -2 to 2 (beyond the U(-1, 1) they were trained on).

Q's ten code values are not digits until matched to them: :func:`best_matching` pairs each
code with one digit so that the most items agree (the Hungarian problem; with ten codes an
exact search over the 2^10 subsets of digits already taken is instant).
"""
from __future__ import annotations

import os

import numpy as np

import minigan

from .head_reading import head_argmax
from .infogan import CATEGORIES, CONTINUOUS, NOISE, latent

#: latents judged per value of c1, and the batch the pictures' latents travel in (below)
PER_CODE = 100
AMONG = 1000


def best_matching(counts) -> list[int]:
    """The one-to-one pairing of rows to columns of a square ``counts`` matrix with the largest
    total, as ``match[row] = column``: dynamic programming over the set of columns taken
    (rows assigned in order), exact, 2^k * k steps."""
    counts = np.asarray(counts, dtype=np.float64)
    k = counts.shape[0]
    if counts.shape != (k, k):
        raise ValueError(f"best_matching: needs a square matrix, got shape {counts.shape}")
    best = np.full(1 << k, -np.inf)
    choice = np.zeros(1 << k, dtype=np.int64)   # the column the last row took to reach a set
    best[0] = 0.0
    for taken in range(1 << k):
        if best[taken] == -np.inf:
            continue
        row = bin(taken).count("1")
        if row == k:
            continue
        for col in range(k):
            if not taken >> col & 1:
                after = taken | 1 << col
                total = best[taken] + counts[row, col]
                if total > best[after]:
                    best[after], choice[after] = total, col
    match, taken = [0] * k, (1 << k) - 1
    for row in range(k - 1, -1, -1):   # walk back from the full set
        match[row] = int(choice[taken])
        taken &= ~(1 << match[row])
    return match


def matched_accuracy(codes, labels, k: int = CATEGORIES) -> dict:
    """How well ``codes`` (ints 0..k-1) classify ``labels`` once each code is paired with one
    label (:func:`best_matching`), and, looser, once each code is read as its commonest label."""
    codes, labels = np.asarray(codes, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (codes, labels), 1)
    match = best_matching(counts)
    return {"accuracy": float(sum(counts[c, match[c]] for c in range(k)) / max(len(codes), 1)),
            "majority_accuracy": float(counts.max(axis=1).sum() / max(len(codes), 1)),
            "code_to_label": match, "counts": counts.tolist()}


def _eye(i: int) -> np.ndarray:
    return np.eye(CATEGORIES, dtype=np.float32)[i]


def generate_among_random(experiment, G_module, seeds, device=None):
    """G's images of ``seeds`` (N, 74), drawn :data:`AMONG` // 2 at a time inside a batch of
    :data:`AMONG` with random latents. G keeps training mode, as for every picture minigan draws
    (the book never calls ``eval()``), so BatchNorm normalises by the batch's own statistics: a
    grid whose rows share one z, or a batch of one code value, would be normalised against
    itself, so such latents travel among ordinary ones."""
    part, n = AMONG // 2, seeds.shape[0]
    out = []
    for start in range(0, n, part):
        chunk = seeds[start:min(start + part, n)]   # (the array API refuses a stop past the end)
        fill = latent(minigan, AMONG - chunk.shape[0], device)
        batch = minigan.cat((chunk.to(fill.dtype), fill), dim=0)
        out.append(experiment.generate(G_module, batch)[:chunk.shape[0]])
    return np.concatenate(out)


def code_grids(device=None, columns: int = 10, sweep=(-2.0, 2.0)) -> dict:
    """The pictures' latents: ``"codes"`` (row c1 = 0..9, column j its own z, c2 = c3 = 0) and,
    for each continuous code, a row per c1 value with one shared z, that code running over
    ``sweep`` along the row and the other at 0. Each is (10 * columns, 74), on the host RNG."""
    z = minigan.randn(columns, NOISE).numpy()
    grids = {"codes": np.concatenate([np.concatenate([z, np.tile(_eye(i), (columns, 1)),
                                                      np.zeros((columns, CONTINUOUS), np.float32)], 1)
                                      for i in range(CATEGORIES)])}
    shared = np.tile(z[:1], (columns, 1))
    values = np.linspace(*sweep, columns, dtype=np.float32)
    for c in range(CONTINUOUS):
        c23 = np.zeros((columns, CONTINUOUS), np.float32)
        c23[:, c] = values
        grids[f"c{c + 2}"] = np.concatenate([np.concatenate([shared, np.tile(_eye(i), (columns, 1)), c23], 1)
                                             for i in range(CATEGORIES)])
    return {k: minigan.tensor(v.astype(np.float32), device=device) for k, v in grids.items()}


def code_pictures(experiment, G_module, out: str, device=None) -> list[str]:
    """``codes.png`` (c1 down, z across), ``code_c2.png`` and ``code_c3.png`` (c1 down, the code
    from -2 to 2 across) in ``out``; returns the paths."""
    from .. import viz
    paths = []
    for name, seeds in code_grids(device).items():
        path = os.path.join(out, "codes.png" if name == "codes" else f"code_{name}.png")
        images = generate_among_random(experiment, G_module, seeds, device)
        viz.save_image(minigan.tensor(images), path, nrow=10, pad_value=1.0)
        paths.append(path)
    return paths


def q_reading(D_module, images, batch: int = 500, torch=minigan):
    """Q's c1 (argmax of its logits) for (N, 784) images in [0, 1]
    (:func:`~minigan.models.head_reading.head_argmax`: a copy of D in training mode, so the
    model's BatchNorm running statistics are left as training left them)."""
    return head_argmax(D_module, images, lambda reader, x: reader.with_codes(x)[1],
                       batch=batch, torch=torch)


def code_report(experiment, nets, data: str, device=None) -> dict:
    """Q read on the held-out real items, and (for digits) G's c1 judged.

    ``real``: :func:`matched_accuracy` of Q's c1 against the true labels of the test split
    (the paper: 95 % on MNIST). ``generated`` (digits only): :data:`PER_CODE` latents per value
    of c1 with random z, c2, c3, judged by the shipped classifier; for each code its commonest
    digit and that digit's share (the code's purity), how many different digits the ten codes
    draw, and the matched accuracy."""
    from ..runs import _is_digits, load_real_data
    test = load_real_data(experiment, data, "test")
    images = test.batch(np.arange(len(test)))[1].to(device)   # the data's own (N, 784) in [0, 1]
    report = {"real": {"count": len(test.labels),
                       **matched_accuracy(q_reading(nets.D.module, images), test.labels)}}
    if not _is_digits(test):
        return report
    from .. import metrics
    codes = np.repeat(np.arange(CATEGORIES), PER_CODE)
    seeds = latent(minigan, len(codes), device, categories=codes)
    judged = metrics.load_judge().predict(experiment.generate(nets.G.module, seeds))
    generated = matched_accuracy(codes, judged)
    counts = np.asarray(generated["counts"])
    generated["per_code"] = [{"code": c, "digit": int(counts[c].argmax()),
                              "purity": float(counts[c].max() / PER_CODE)} for c in range(CATEGORIES)]
    generated["distinct_digits"] = len({row["digit"] for row in generated["per_code"]})
    generated["per_code_count"] = PER_CODE
    report["generated"] = generated
    return report


def format_code_report(report: dict) -> str:
    """The report as the lines ``minigan train infogan`` prints."""
    real = report["real"]
    lines = [f"  Q's code c1 as a classifier of the {real['count']:,} held-out items (each code "
             f"matched to one label): {real['accuracy']:.1%} right (the paper: 95 % on MNIST); "
             f"each code read as its commonest label: {real['majority_accuracy']:.1%}"]
    gen = report.get("generated")
    if gen:
        rows = ", ".join(f"{r['code']}->{r['digit']} {r['purity']:.0%}" for r in gen["per_code"])
        lines.append(f"  G's code c1, {gen['per_code_count']} samples per value judged: "
                     f"{gen['distinct_digits']} different digits; code -> commonest digit, its "
                     f"share: {rows}; matched accuracy {gen['accuracy']:.1%}")
    return "\n".join(lines)
