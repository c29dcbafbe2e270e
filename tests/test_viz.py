"""minigan.viz: the computation graph of the book's section 1.1 example, as DOT and PNG."""
import shutil

import pytest

import minigan as torch


def book_graph():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    x = 2 * a + 3 * b
    y = 5 * a * a + 3 * b ** 3
    z = 2 * x + 3 * y
    return a, b, z


def test_graph_names_every_op_and_leaf():
    a, b, z = book_graph()
    dot = torch.viz.graph(z, names={"a": a, "b": b, "z": z})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for op in ("Add", "Mul", "MulScalar 2", "MulScalar 3", "MulScalar 5", "PowScalar 3"):
        assert f'label="{op}"' in dot, op
    assert dot.count("fillcolor=palegreen") == 2          # the two leaves a and b
    assert 'label="a\\nscalar float32"' in dot and 'label="z\\nscalar float32"' in dot
    # every edge points at a node that exists
    nodes = {line.split()[0] for line in dot.splitlines() if "[label=" in line}
    for line in dot.splitlines():
        if "->" in line:
            src, _, dst = line.strip(" ;").partition(" -> ")
            assert src in nodes and dst in nodes


def test_graph_marks_freed_functions_after_backward():
    a, b, z = book_graph()
    z.backward()
    assert "(freed)" in torch.viz.graph(z)


def test_graph_of_a_leaf_is_one_node():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    dot = torch.viz.graph(a)
    assert dot.count("[label=") == 1 and "->" not in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_render_graph_writes_png(tmp_path):
    a, b, z = book_graph()
    path = torch.viz.render_graph(z, tmp_path / "graph.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_render_graph_without_graphviz_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    a, b, z = book_graph()
    with pytest.raises(RuntimeError, match="Graphviz"):
        torch.viz.render_graph(z, tmp_path / "g.png")
