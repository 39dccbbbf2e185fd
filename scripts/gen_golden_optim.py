#!/usr/bin/env python3
"""Generate the optimizer trajectories that tests/test_optim.c replays.

Usage: python3 scripts/gen_golden_optim.py OUTDIR   (normally tests/golden;
the files go to OUTDIR/optim)

For every optimizer of torch.optim that netc has, and several
hyperparameter sets each (CASES below), this trains the same small MLP on
the same fixed batch for STEPS steps and writes

    OUTDIR/optim/<Optim>_<n>.net           the netc spec of the case
    OUTDIR/optim/<Optim>_<n>.safetensors   the trajectory

The safetensors file (float32) holds

    input, target     the batch: (BATCH, 6) and (BATCH, 4), torch.randn
    init/<name>       every parameter before training, state_dict names
    step<s>/<name>    every parameter after optimizer step s (1..STEPS)
    step<s>/loss      the loss of step s's forward pass, shape (1,)
    step<s>/grad/<name> the gradients step s used
    step<s>/ax/<name> ASGD only: the averaged parameters (state "ax")

and metadata naming the optimizer, its keyword arguments (JSON) and the
torch version.  Step s is zero_grad, forward, MSELoss, backward, step() on
the same batch.  The gradients let a test drive the optimizer alone with
torch's exact inputs, where its arithmetic must match bit for bit.  The
optimizers run torch's single-tensor implementation
(foreach=False where the constructor takes it), whose arithmetic netc
reproduces.  Model: Linear(6, 8) -> Tanh -> Linear(8, 4), PyTorch's default
init after torch.manual_seed(SEED + case index).

Needs torch; scripts/gen_golden.py provides the safetensors writer.
"""

import inspect
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

STEPS = 25
BATCH = 10
SEED = 1000

# Optimizer name -> list of keyword-argument sets.  Together they cover
# momentum / nesterov / dampening, amsgrad, centered, weight decay,
# maximize, lr_decay, initial_accumulator_value, non-default betas, etas
# and step_sizes, RAdam's unrectified and rectified phases, and ASGD with
# t0 small enough that averaging starts within the run.
CASES = {
    "SGD": [
        dict(lr=0.05, momentum=0.9, dampening=0.1),
        dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        dict(lr=0.02, weight_decay=0.1, maximize=True),
    ],
    "Adam": [
        dict(lr=0.01),
        dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True),
        dict(lr=0.005, maximize=True),
    ],
    "AdamW": [
        dict(lr=0.01),
        dict(lr=0.01, betas=(0.85, 0.995), weight_decay=0.1, amsgrad=True),
        dict(lr=0.003, weight_decay=0.0, maximize=True),
    ],
    "Adamax": [
        dict(),
        dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05),
        dict(lr=0.005, eps=1e-4, maximize=True),
    ],
    "NAdam": [
        dict(),
        dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, momentum_decay=0.01),
        dict(lr=0.005, eps=1e-6, momentum_decay=0.0),
    ],
    "RAdam": [
        dict(),
        dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.05),
        dict(lr=0.02, eps=1e-6),
    ],
    "Adagrad": [
        dict(),
        dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1),
        dict(lr=0.02, eps=1e-6, maximize=True),
    ],
    "Adadelta": [
        dict(),
        dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01),
        dict(lr=2.0, maximize=True),
    ],
    "RMSprop": [
        dict(),
        dict(lr=0.005, alpha=0.9, weight_decay=0.01, momentum=0.9, centered=True),
        dict(lr=0.002, momentum=0.5, maximize=True),
        dict(lr=0.003, eps=1e-6, centered=True),
    ],
    "ASGD": [
        dict(),
        dict(lr=0.05, lambd=0.001, alpha=0.5, t0=5.0, weight_decay=0.01),
        dict(lr=0.02, t0=10.0, maximize=True),
        dict(lr=0.03, lambd=0.01, alpha=1.0, t0=0.0),
    ],
    "Rprop": [
        dict(),
        dict(lr=0.005, etas=(0.4, 1.5), step_sizes=(1e-4, 0.02)),
        # Maximizing drives tanh into saturation, where the sign of a
        # gradient element that is 0 up to rounding decides a whole step;
        # a small step_sizes max keeps the run away from there.
        dict(lr=0.002, step_sizes=(1e-6, 0.004), maximize=True),
    ],
}


def model():
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4))


def spec_value(v):
    """A Python argument value in netc's syntax."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "(%s)" % ", ".join(spec_value(x) for x in v)
    return repr(v)


def spec_text(name, optim, kwargs):
    args = ", ".join("%s=%s" % (k, spec_value(v)) for k, v in kwargs.items())
    torch_args = ", ".join("%s=%r" % (k, v) for k, v in kwargs.items())
    return ("# Golden case %s (scripts/gen_golden_optim.py): the 6-8-4 Tanh MLP\n"
            "# with MSE, %d steps on one batch.  torch: optim.%s(%s).\n"
            "model %s {\n"
            "    input 6\n"
            "    layers Linear(6, 8) -> Tanh -> Linear(8, 4)\n"
            "    loss MSE\n"
            "    optimizer %s(%s)\n"
            "    train epochs=1 batch=%d\n"
            "}\n" % (name, STEPS, optim, torch_args, name, optim, args, BATCH))


def run_case(index, optim, kwargs):
    torch.manual_seed(SEED + index)
    net = model()
    x = torch.randn(BATCH, 6)
    y = torch.randn(BATCH, 4)
    named = list(net.named_parameters())
    tensors = [("input", x), ("target", y)]
    tensors += [("init/" + n, p.detach().clone()) for n, p in named]

    cls = getattr(torch.optim, optim)
    extra = {"foreach": False} if "foreach" in inspect.signature(cls).parameters else {}
    opt = cls(net.parameters(), **kwargs, **extra)
    loss_fn = nn.MSELoss()
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        tensors += [("step%d/grad/%s" % (step, n), p.grad.detach().clone()) for n, p in named]
        opt.step()
        tensors += [("step%d/%s" % (step, n), p.detach().clone()) for n, p in named]
        tensors.append(("step%d/loss" % step, loss.detach().reshape(1).clone()))
        if optim == "ASGD":
            tensors += [("step%d/ax/%s" % (step, n), opt.state[p]["ax"].clone()) for n, p in named]
    metadata = {
        "optimizer": optim,
        "kwargs": json.dumps(kwargs),
        "steps": str(STEPS),
        "torch_version": torch.__version__,
    }
    return tensors, metadata


def main(argv):
    dirs = golden_dirs(argv, "optim")
    if dirs is None:
        return 2
    outdir = dirs[0]
    index = 0
    for optim, sets in CASES.items():
        for n, kwargs in enumerate(sets, 1):
            name = "%s_%d" % (optim, n)
            tensors, metadata = run_case(index, optim, kwargs)
            index += 1
            write_safetensors(os.path.join(outdir, name + ".safetensors"), tensors, metadata)
            with open(os.path.join(outdir, name + ".net"), "w") as f:
                f.write(spec_text(name, optim, kwargs))
            losses = dict(tensors)
            print("%-11s loss %.6f -> %.6f" % (name, losses["step1/loss"].item(),
                                               losses["step%d/loss" % STEPS].item()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
