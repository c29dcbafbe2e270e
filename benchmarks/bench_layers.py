#!/usr/bin/env python
"""Layer by layer: where a GAN's time goes, minigan beside PyTorch.

    python benchmarks/bench_layers.py --model dcgan-mnist [--batch 64] [--nets D G] [--quick] [--out DIR]

``minigan bench train`` says how a whole training iteration compares; this says which layers
make the difference. The model comes from its one definition (:mod:`minigan.registry`): its
G and D are built on both frameworks, minigan's initial parameters copied into PyTorch's, in
training mode as the loop runs them. The model's seeds (``--batch`` of them; the book's
models take one) go through G, G's output through D, and each layer's input is kept. Then
every layer alone is timed on (a C-ordered copy of) its own input, in both frameworks:

* **fwd**: the layer's forward with no graph recorded;
* **fwd+bwd**: forward, then backward of a fixed random upstream gradient, with the input
  requiring a gradient (as D's first layer in the G step, and every layer after the first);
  the layer's parameter gradients are reset to ``None`` before each call.

minigan and PyTorch blocks alternate (:func:`minigan.bench.training.measure_ab`: the order
flips every round, a 0.2 s pause before each block lets the other framework's spinning BLAS
and OpenMP threads go to sleep, busy rounds and slow phases of the VM are measured again);
the figure is the median over the rounds. In-place activations (``ReLU(True)``) run out of
place in both, since every timed call needs its input intact. The columns also name the
convolution plan minigan chose and the memory layout of minigan's output and input gradient
(``NCHW``, ``CNHW``, ``NHWC``; `` view`` for a crop): NumPy runs an elementwise op between
two layouts 10-20x slower than within one, and an output whose layout differs from what the
next layer's gradient comes back in shows up here.

A layer's time alone is not its time in the loop (its input is warm in cache here, and a
layer's backward in the loop often skips the input gradient), so read the ratios and the
order of the rows; ``minigan bench train --profile`` gives the loop's own split.
Writes ``layers_<model>.json`` and ``layers_<model>.png``.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's minigan

import minigan  # noqa: E402
from minigan import registry  # noqa: E402
from minigan.bench import machine  # noqa: E402
from minigan.bench.output import command_line, out_paths, pyplot, write_json  # noqa: E402
from minigan.bench.timing import Case  # noqa: E402
from minigan.bench.training import measure_ab  # noqa: E402


def add_arguments(p):
    p.add_argument("--model", default="dcgan-mnist", choices=registry.NAMES,
                   help="the model whose D and G are timed (default: %(default)s)")
    p.add_argument("--batch", type=int, help="seeds per batch (default: the model's own batch "
                   "size, 1 for the book's models)")
    p.add_argument("--nets", nargs="+", choices=("G", "D"), default=["G", "D"])
    p.add_argument("--repeats", type=int, default=7, help="rounds per measurement (default: %(default)s)")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch.set_num_threads (default: PyTorch's own, as bench train)")
    p.add_argument("--quick", action="store_true", help="2 short rounds, no pauses (a smoke test)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for the JSON and PNG")
    p.add_argument("--no-plot", action="store_true")


# ----------------------------------------------------------------------------- the networks
def networks(name, torch, batch):
    """{'G': (minigan module, torch module), 'D': ...} with equal parameters, and G's seeds."""
    exp = registry.get(name)
    if not hasattr(exp, "seed") or getattr(exp, "conditional", False):
        raise SystemExit(f"bench_layers: {name} is not a GAN with one input per network")
    minigan.manual_seed(0)
    mg, th = exp.build(minigan), exp.build(torch)
    pairs = {}
    for net in ("G", "D"):
        m, t = getattr(mg, net).module, getattr(th, net).module
        with torch.no_grad():
            for pm, pt in zip(m.parameters(), t.parameters()):
                pt.copy_(torch.from_numpy(np.array(pm.detach().numpy())))
        for layer in t.modules():
            if getattr(layer, "inplace", False):
                layer.inplace = False  # each timed call needs its input intact
        pairs[net] = (m, t)
    seeds = exp.seed(minigan, None if batch == 1 else batch).detach().numpy()
    return pairs, seeds


def layers_of(module):
    """The layers a Sequential runs, in order (a plain module is one layer)."""
    children = list(module.children())
    return children if children else [module]


def layer_inputs(m_layers, t_layers, x, torch):
    """Each layer's input, pushed through minigan's layers (checked against PyTorch's)."""
    inputs = []
    tx = torch.from_numpy(x.copy())
    for lm, lt in zip(m_layers, t_layers):
        inputs.append(x)
        with minigan.no_grad():
            x = lm(minigan.from_numpy(x.copy())).detach().numpy()
        with torch.no_grad():
            tx = lt(tx)
        # the same layer on both sides: float32 rounding apart, never a different operation
        np.testing.assert_allclose(x, tx.numpy(), rtol=1e-3, atol=1e-4 * (1 + np.abs(x).max()),
                                   err_msg=f"bench_layers: {type(lm).__name__} differs from PyTorch's")
        tx = torch.from_numpy(x.copy())  # go on from minigan's numbers on both sides
    return inputs, x


def layout(a):
    """Memory order of an array, axes from the slowest to the fastest: NCHW / CNHW / NHWC for
    4-D ones, CHW / HWC for unbatched images, C or F for 2-D ones; " view" when it does not
    fill its memory (a crop)."""
    if a is None or a.ndim < 2:
        return None
    order = tuple(int(i) for i in np.argsort([-s for s in a.strides], kind="stable"))
    names = {(0, 1, 2, 3): "NCHW", (1, 0, 2, 3): "CNHW", (0, 2, 3, 1): "NHWC",
             (0, 1, 2): "CHW", (1, 2, 0): "HWC", (0, 1): "C", (1, 0): "F"}
    name = names.get(order, "other")
    span = a.itemsize + sum((n - 1) * abs(s) for n, s in zip(a.shape, a.strides))
    return name if span == a.nbytes or name == "other" else name + " view"


# ----------------------------------------------------------------------------- one layer
def layer_cases(lm, lt, x, torch, seed):
    """(fwd cases, fwd+bwd cases, facts) for one layer on input ``x``."""
    xm = minigan.from_numpy(x.copy())
    xt = torch.from_numpy(x.copy())
    gm_x = minigan.from_numpy(x.copy()).requires_grad_()
    gt_x = torch.from_numpy(x.copy()).requires_grad_()
    with minigan.no_grad():
        y = lm(xm)
    gy = np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(x.dtype)
    gym, gyt = minigan.from_numpy(gy), torch.from_numpy(gy.copy())
    m_params, t_params = list(lm.parameters()), list(lt.parameters())

    def m_fwd():
        with minigan.no_grad():
            lm(xm)

    def t_fwd():
        with torch.no_grad():
            lt(xt)

    def m_fwd_bwd():
        for p in m_params:
            p.grad = None
        gm_x.grad = None
        y = lm(gm_x)
        y.backward(gym)
        return y

    def t_fwd_bwd():
        for p in t_params:
            p.grad = None
        gt_x.grad = None
        lt(gt_x).backward(gyt)

    yg = m_fwd_bwd()  # the facts: plan, layouts
    plan = getattr(getattr(yg.creator, "plan", None), "name", None)
    facts = {"plan": plan, "output_layout": layout(yg.detach().numpy()),
             "input_grad_layout": layout(gm_x.grad.numpy() if gm_x.grad is not None else None),
             "output_shape": list(y.shape)}
    return ([Case("minigan", m_fwd), Case("torch", t_fwd)],
            [Case("minigan", m_fwd_bwd), Case("torch", t_fwd_bwd)], facts)


def describe(layer):
    text = repr(layer).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def run(args):
    import torch
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    info = machine.describe(include_torch=True)
    print(machine.summary_line(info))
    exp = registry.get(args.model)
    batch = args.batch or getattr(exp, "batch_size", 1)
    pairs, seeds = networks(args.model, torch, batch)
    settings = dict(repeats=2, min_block_s=0.02, settle_s=0.0, wait_quiet=False) if args.quick else \
        dict(repeats=args.repeats, min_block_s=0.25, settle_s=0.2, wait_quiet=True,
             phase_probe=machine.quick_probe)
    rows = []
    x = seeds
    for net in ("G", "D"):  # G's output is D's input, so G goes first even if only D is timed
        m, t = pairs[net]
        m_layers, t_layers = layers_of(m), layers_of(t)
        inputs, out = layer_inputs(m_layers, t_layers, x, torch)
        if net in args.nets:
            for i, (lm, lt, xi) in enumerate(zip(m_layers, t_layers, inputs)):
                fwd, fwd_bwd, facts = layer_cases(lm, lt, xi, torch, seed=i)
                row = {"net": net, "index": i, "layer": describe(lm), "input_shape": list(xi.shape), **facts}
                for key, cases in (("fwd", fwd), ("fwd_bwd", fwd_bwd)):
                    timings, _ = measure_ab(cases, **settings)
                    mg, th = timings["minigan"].median * 1e3, timings["torch"].median * 1e3
                    row[key] = {"minigan_ms": mg, "torch_ms": th, "ratio": mg / th}
                rows.append(row)
                print(f"{net}{i:<3} {row['layer'][:44]:44} {str(tuple(xi.shape)):>18} "
                      f"fwd {row['fwd']['minigan_ms']:8.3f} / {row['fwd']['torch_ms']:8.3f} "
                      f"fwd+bwd {row['fwd_bwd']['minigan_ms']:8.3f} / {row['fwd_bwd']['torch_ms']:8.3f} "
                      f"({row['fwd_bwd']['ratio']:.2f}) {row['plan'] or '':>13} "
                      f"out {row['output_layout'] or '-'} grad {row['input_grad_layout'] or '-'}",
                      flush=True)
        x = out
    totals = {key: {fw: sum(r[key][f"{fw}_ms"] for r in rows) for fw in ("minigan", "torch")}
              for key in ("fwd", "fwd_bwd")}
    for key, tot in totals.items():
        tot["ratio"] = tot["minigan"] / tot["torch"]
        print(f"sum of the layers' {key}: minigan {tot['minigan']:.2f} ms, torch {tot['torch']:.2f} ms "
              f"({tot['ratio']:.2f})")
    result = {"benchmark": f"layer by layer, {args.model} at batch {batch}: minigan vs PyTorch",
              "method": "each layer alone on its own input; minigan and torch blocks alternating "
                        "(measure_ab), median of the rounds; fwd without a graph, fwd+bwd with the "
                        "input requiring a gradient and a fixed upstream gradient; float32",
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": info, "model": args.model,
              "batch": batch, "settings": {k: v for k, v in settings.items() if k != "phase_probe"},
              "quick": bool(args.quick), "layers": rows, "totals": totals}
    stem = f"layers_{args.model}"
    paths = out_paths(args.out, stem)
    os.makedirs(args.out, exist_ok=True)
    write_json(result, paths["json"])
    if not args.no_plot and plot(result, paths["png"]):
        print(f"wrote {paths['json']}, {paths['png']}")
    else:
        print(f"wrote {paths['json']}")
    return result


def plot(result, path):
    plt = pyplot()
    if plt is None:
        return False
    rows = result["layers"]
    labels = [f"{r['net']}{r['index']} {r['layer'].split('(')[0]}" for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    ax.barh(y - 0.2, [r["fwd_bwd"]["minigan_ms"] for r in rows], 0.4, label="minigan")
    ax.barh(y + 0.2, [r["fwd_bwd"]["torch_ms"] for r in rows], 0.4, label="PyTorch")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("forward + backward, ms (median)")
    ax.set_title(f"{result['model']}, batch {result['batch']}: each layer alone\n"
                 f"{machine.summary_line(result['machine'])[:90]}", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    return run(command_line("bench_layers.py", __doc__, add_arguments).parse_args(argv))


if __name__ == "__main__":
    main()
