"""Writing results: JSON (everything), CSV (one line per measurement), PNG (matplotlib, Agg).

pandas and matplotlib are the ``dev`` extra, imported here only when results are written. A
benchmark that ran for minutes should not lose its figures to a missing package, so the JSON
is always written, the CSV falls back to the standard library, and a missing matplotlib
skips the PNG with a note.
"""
from __future__ import annotations

import csv
import json
import os


def write_json(result: dict, path: str) -> str:
    with open(path, "w") as f:
        json.dump(result, f, indent=1, default=float)
        f.write("\n")
    return path


def write_csv(rows: list[dict], path: str) -> str:
    """One line per row, columns in first-seen order; numbers to 6 significant digits.

    Lists and dicts (the raw samples) stay in the JSON only.
    """
    rows = [{k: v for k, v in r.items() if not isinstance(v, (list, dict, tuple))} for r in rows]
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        pd.DataFrame(rows).to_csv(path, index=False, float_format="%.6g")
        return path
    columns = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return path


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend, or None if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def out_paths(out_dir: str, stem: str) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    return {ext: os.path.join(out_dir, f"{stem}.{ext}") for ext in ("json", "csv", "png")}
