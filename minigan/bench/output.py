"""Writing results: JSON (everything), CSV (one line per measurement), PNG (matplotlib, Agg).

pandas and matplotlib are the ``dev`` extra, imported here only when results are written. A
benchmark that ran for minutes should not lose its figures to a missing package, so the JSON
is always written, the CSV falls back to the standard library, and a missing matplotlib
skips the PNG with a note.
"""
from __future__ import annotations

import argparse
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


def _number(kind, lowest, strict, what):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < lowest or (strict and value == lowest):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


# argparse types of the benchmarks' counts and times: a bad one is refused in one line at
# parsing, instead of a run of no samples (``--repeats 0``) or of no sizes (``--sizes -3``)
positive_int = _number(int, 1, False, "at least 1")
positive_float = _number(float, 0.0, True, "above 0")
non_negative_float = _number(float, 0.0, False, "0 or more")


def add_common_arguments(p, stem: str, quiet_timeout: float, per: str, quick_help: str) -> None:
    """The options every benchmark shares: waiting for a quiet CPU, --quick, --out, --no-plot."""
    p.add_argument("--no-wait-quiet", action="store_true",
                   help="don't wait for other processes to go quiet before measuring")
    p.add_argument("--quiet-timeout", type=non_negative_float, default=quiet_timeout, metavar="SECONDS",
                   help=f"wait at most this long for quiet before each {per} (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--out", default=os.path.join("benchmarks", "results"),
                   help=f"folder for {stem}.json, {stem}.csv and {stem}.png (default: %(default)s)")
    p.add_argument("--no-plot", action="store_true", help="don't write the PNG")


def command_line(prog: str, doc: str, add_arguments, default_out=None, **parser_options):
    """The argument parser of one benchmark; ``default_out`` replaces the default ``--out``."""
    p = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0], **parser_options)
    add_arguments(p)
    if default_out:
        p.set_defaults(out=default_out)
    return p
