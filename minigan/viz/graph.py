"""Pictures: the computation graph behind a tensor (book section 1.1, notebook 01).

The book draws the graph of ``z = 2x + 3y`` to show how backward finds its way from ``z``
to ``a`` and ``b``. :func:`graph` returns that picture as Graphviz DOT text, walking the
graph iteratively from the tensor to its leaves; :func:`render_graph` turns it into a PNG
where Graphviz's ``dot`` program is installed::

    a = minigan.tensor(2.0, requires_grad=True)
    b = minigan.tensor(1.0, requires_grad=True)
    x = 2 * a + 3 * b
    print(minigan.viz.graph(x))      # digraph { ... "MulScalar" -> "Add" ... }
"""
from __future__ import annotations

import shutil
import subprocess

from ..tensor import Tensor


def _tensor_label(t: Tensor, names):
    name = names.get(id(t)) or t.name
    shape = "x".join(str(s) for s in t.shape) or "scalar"
    head = f"{name}\\n" if name else ""
    return f"{head}{shape} {t.dtype.name}"


def graph(output: Tensor, names=None) -> str:
    """DOT text of the graph that made ``output``: ops as boxes, tensors as ellipses.

    ``names`` optionally maps tensors to labels, e.g. ``{"a": a, "b": b}``; tensors with a
    ``.name`` attribute are labelled by it too. Leaves that require grad are drawn green.
    """
    names = {id(t): n for n, t in (names or {}).items()}
    lines = ["digraph minigan {", '  rankdir="BT";', '  node [fontname="Helvetica"];']
    seen_tensors, seen_fns = set(), set()

    def tensor_node(t):
        key = f"t{id(t)}"
        if id(t) not in seen_tensors:
            seen_tensors.add(id(t))
            colour = "palegreen" if t.creator is None and t.requires_grad else "lightgrey"
            lines.append(f'  {key} [label="{_tensor_label(t, names)}", shape=ellipse, '
                         f'style=filled, fillcolor={colour}];')
        return key

    stack = [output]
    tensor_node(output)
    while stack:
        t = stack.pop()
        fn = t.creator
        if fn is None:
            continue
        fkey = f"f{id(fn)}"
        if id(fn) not in seen_fns:
            seen_fns.add(id(fn))
            freed = " (freed)" if fn.freed else ""
            constant = f" {fn.c:g}" if isinstance(getattr(fn, "c", None), (int, float)) else ""
            lines.append(f'  {fkey} [label="{type(fn).__name__}{constant}{freed}", shape=box, style=filled, '
                         'fillcolor=lightblue];')
            for x in fn.inputs:
                lines.append(f"  {tensor_node(x)} -> {fkey};")
                stack.append(x)
        lines.append(f"  {fkey} -> t{id(t)};")
    lines.append("}")
    return "\n".join(dict.fromkeys(lines))  # each edge once, order kept


def render_graph(output: Tensor, path: str, names=None) -> str:
    """Write the graph of ``output`` as a PNG at ``path`` with Graphviz's ``dot``."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("render_graph: Graphviz's 'dot' program is not installed "
                           "(apt-get install graphviz); minigan.viz.graph() gives the DOT text")
    subprocess.run([dot, "-Tpng", "-o", str(path)], input=graph(output, names).encode(), check=True)
    return str(path)
