"""Float64 twins: one model on minigan and on PyTorch from the same initial weights, for the
training-parity tests of the GANs (each test steps both with the same data and compares)."""
from __future__ import annotations

import numpy as np

import minigan


def float64_twins(exp, seed: int = 0):
    """``exp.build`` on minigan and on PyTorch in float64, PyTorch's loaded with minigan's
    initial weights (drawn after ``minigan.manual_seed(seed)``): ``(ours, theirs)`` Networks."""
    import torch
    minigan.manual_seed(seed)
    ours = exp.build(minigan, dtype=minigan.float64)
    theirs = exp.build(torch, dtype=torch.float64)
    for m, t in ((ours.D, theirs.D), (ours.G, theirs.G)):
        t.module.load_state_dict({k: torch.from_numpy(np.array(v.numpy(), copy=True))
                                  for k, v in m.module.state_dict().items()})
    return ours, theirs


def state_arrays(module) -> dict:
    """Every parameter and buffer of a module (or of a Network's module) as NumPy arrays."""
    module = getattr(module, "module", module)
    return {k: np.array((v.detach() if hasattr(v, "detach") else v).numpy(), copy=True)
            for k, v in module.state_dict().items()}


def assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-12):
    """D's and G's every parameter and running statistic agree between the twins."""
    for m, t in ((ours.D, theirs.D), (ours.G, theirs.G)):
        sm, st = state_arrays(m), state_arrays(t)
        assert sm.keys() == st.keys()
        for k in st:
            np.testing.assert_allclose(sm[k], st[k], rtol=rtol, atol=atol, err_msg=f"{m.name}.{k}")


def critic_losses(exp, ours, theirs, reals, seeds) -> dict:
    """Both twins stepped by ``wgan_step`` (the model's ``n_critic`` and ``hinge``) on the same
    real batches and seed pairs ``seeds[step] = (seed_a, seed_b)``: each framework's losses."""
    import torch

    from minigan.training import wgan_step
    losses = {}
    for fw, nets in ((minigan, ours), (torch, theirs)):
        losses[fw.__name__] = [
            [loss.item() for loss in wgan_step(fw, nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a),
                                               fw.from_numpy(b), n_critic=exp.n_critic, hinge=exp.hinge)]
            for real, (a, b) in zip(reals, seeds)]
    return losses
