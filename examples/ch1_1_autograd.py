"""Book section 1.1 (notebooks 00 and 01): tensors, autograd and the computation graph.

Run:  python examples/ch1_1_autograd.py [--graph graph.png]
Only the public API is used, exactly as the book uses PyTorch's.
"""
import argparse

import minigan as torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="also draw z's computation graph to this PNG (needs Graphviz)")
    args = parser.parse_args()

    # notebook 00: plain numbers, then tensors
    print("tensor(3.5) + 3 =", (torch.tensor(3.5) + 3).item())                     # 6.5

    x = torch.tensor(3.5, requires_grad=True)
    y = (x - 1) * (x - 2) * (x - 3)
    y.backward()
    print(f"y = (x-1)(x-2)(x-3) at x=3.5: y = {y.item()}, dy/dx = {x.grad.item()}")  # 1.875, 5.75

    # notebook 01: a chain, then two inputs
    x = torch.tensor(3.5, requires_grad=True)
    y = x * x
    z = 2 * y + 3
    z.backward()
    print(f"y = x^2, z = 2y + 3: dz/dx = {x.grad.item()}")                            # 14.0

    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    x = 2 * a + 3 * b
    y = 5 * a * a + 3 * b ** 3
    z = 2 * x + 3 * y
    z.backward()
    print(f"z = {z.item()}, dz/da = {a.grad.item()}, dz/db = {b.grad.item()}")        # 83, 64, 33

    if args.graph:
        torch.viz.render_graph(z, args.graph, names={"a": a, "b": b, "x": x, "y": y, "z": z})
        print("graph written to", args.graph)


if __name__ == "__main__":
    main()
