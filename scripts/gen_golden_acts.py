#!/usr/bin/env python3
"""Generate the PyTorch golden vectors of every elementwise activation,
which tests/test_acts.c checks netc's kernels against.

Usage: python3 scripts/gen_golden_acts.py OUTDIR    (normally tests/golden;
the files go to OUTDIR/acts)

For every activation below this writes OUTDIR/acts/<Name>.safetensors,
<Name> being the torch.nn class name, which is also the netc layer name
(compiler/acts.def).  A file holds one or more cases, each an argument set
of the activation:

    <i>/x     the inputs, float32, shape (n,): a dense grid over [-8, 8],
              the special values below, and every breakpoint of the case
              with its two float32 neighbours
    <i>/dy    the upstream gradient, shape (n,): a fixed pattern of
              exactly representable values of both signs
    <i>/y     the activation applied to x
    <i>/dx    the gradient of (y * dy).sum() with respect to x, i.e. torch's
              backward of dy

and the "__metadata__" object holds "cases" (the number of cases),
"<i>" (case i's layer call in netc's syntax, e.g. GELU(approximate="tanh"),
which the test compiles to find the activation and its arguments exactly
as a spec would) and "torch_version".

Cases with inplace=true run torch's in-place module on a copy of x (a
non-leaf, as in a network), so netc's "accepted, no effect" inplace is
compared with what torch's in-place backward computes.

It also writes two whole-network cases for tests/test_parity.c into
OUTDIR/parity (the format and the replay are gen_golden.py's; the specs,
OUTDIR/parity/<case>.net, are written by hand):

  acts_smooth_adam      input 6
      torch: Linear(6,8), GELU(approximate="tanh"), Linear(8,8), Mish,
             Linear(8,8), Hardswish, Linear(8,6), ELU(alpha=0.5),
             Linear(6,4), Softplus(beta=2, threshold=5)
             MSELoss() against torch.rand targets, Adam(lr=0.01)
  acts_standalone_sgd   input 10
      torch: Linear(10,12), SELU, Identity, LogSigmoid, Linear(12,12),
             Hardtanh(-2, 2), Linear(12,8), Softsign, Tanhshrink, Linear(8,5)
             CrossEntropyLoss(), SGD(lr=0.1, momentum=0.9)
      (the activations after Identity and after Softsign run as ops of
      their own, not fused into a Linear)

Only torch and the standard library are needed.
"""

import os
import struct
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_golden  # noqa: E402
from gen_golden import adam, golden_dirs, sgd, write_safetensors  # noqa: E402

# Values every grid contains: zero of both signs, tiny and huge magnitudes
# (exp overflows float32 past 88.7), and the usual breakpoints.
SPECIALS = [0.0, -0.0, 1e-30, 1e-7, 1e-3, 0.5, 1.0, 2.0, 3.0, 6.0, 20.0, 88.0, 89.0, 100.0, 1e4]

# name: [(netc call, torch module, breakpoints), ...]
ACTS = {
    "Identity": [("Identity", nn.Identity(), [])],
    "ReLU": [("ReLU", nn.ReLU(), [0.0]),
             ("ReLU(inplace=true)", nn.ReLU(inplace=True), [0.0])],
    "Sigmoid": [("Sigmoid", nn.Sigmoid(), [])],
    "Tanh": [("Tanh", nn.Tanh(), [])],
    "LeakyReLU": [("LeakyReLU", nn.LeakyReLU(), [0.0]),
                  ("LeakyReLU(negative_slope=0.2)", nn.LeakyReLU(negative_slope=0.2), [0.0]),
                  ("LeakyReLU(-0.5)", nn.LeakyReLU(-0.5), [0.0])],
    "ELU": [("ELU", nn.ELU(), [0.0]),
            ("ELU(alpha=0.5)", nn.ELU(alpha=0.5), [0.0]),
            ("ELU(alpha=2, inplace=true)", nn.ELU(alpha=2.0, inplace=True), [0.0]),
            ("ELU(alpha=-0.7)", nn.ELU(alpha=-0.7), [0.0])],
    "SELU": [("SELU", nn.SELU(), [0.0]),
             ("SELU(inplace=true)", nn.SELU(inplace=True), [0.0])],
    "CELU": [("CELU", nn.CELU(), [0.0]),
             ("CELU(alpha=0.5)", nn.CELU(alpha=0.5), [0.0]),
             ("CELU(2.5)", nn.CELU(2.5), [0.0])],
    "GELU": [("GELU", nn.GELU(), []),
             ("GELU(approximate=\"tanh\")", nn.GELU(approximate="tanh"), []),
             ("GELU(approximate=\"none\")", nn.GELU(approximate="none"), [])],
    "Hardshrink": [("Hardshrink", nn.Hardshrink(), [-0.5, 0.5]),
                   ("Hardshrink(lambd=1.5)", nn.Hardshrink(lambd=1.5), [-1.5, 1.5]),
                   ("Hardshrink(lambd=0)", nn.Hardshrink(lambd=0.0), [0.0]),
                   ("Hardshrink(-0.5)", nn.Hardshrink(-0.5), [-0.5, 0.5])],
    "Hardsigmoid": [("Hardsigmoid", nn.Hardsigmoid(), [-3.0, 3.0]),
                    ("Hardsigmoid(inplace=true)", nn.Hardsigmoid(inplace=True), [-3.0, 3.0])],
    "Hardtanh": [("Hardtanh", nn.Hardtanh(), [-1.0, 1.0]),
                 ("Hardtanh(min_val=-2, max_val=0.5)", nn.Hardtanh(min_val=-2.0, max_val=0.5), [-2.0, 0.5]),
                 ("Hardtanh(0, 6, inplace=true)", nn.Hardtanh(0.0, 6.0, inplace=True), [0.0, 6.0])],
    "Hardswish": [("Hardswish", nn.Hardswish(), [-3.0, 3.0])],
    "LogSigmoid": [("LogSigmoid", nn.LogSigmoid(), [])],
    "ReLU6": [("ReLU6", nn.ReLU6(), [0.0, 6.0])],
    "SiLU": [("SiLU", nn.SiLU(), [])],
    "Mish": [("Mish", nn.Mish(), [])],
    "Softplus": [("Softplus", nn.Softplus(), [20.0]),
                 ("Softplus(beta=2, threshold=10)", nn.Softplus(beta=2.0, threshold=10.0), [5.0]),
                 ("Softplus(0.5, 5)", nn.Softplus(0.5, 5.0), [10.0]),
                 ("Softplus(beta=-1)", nn.Softplus(beta=-1.0), [-20.0])],
    "Softshrink": [("Softshrink", nn.Softshrink(), [-0.5, 0.5]),
                   ("Softshrink(lambd=1.5)", nn.Softshrink(lambd=1.5), [-1.5, 1.5]),
                   ("Softshrink(0)", nn.Softshrink(0.0), [0.0])],
    "Softsign": [("Softsign", nn.Softsign(), [])],
    "Tanhshrink": [("Tanhshrink", nn.Tanhshrink(), [])],
    "Threshold": [("Threshold(0.1, 20)", nn.Threshold(0.1, 20.0), [0.1]),
                  ("Threshold(threshold=-1, value=-3)", nn.Threshold(threshold=-1.0, value=-3.0), [-1.0]),
                  ("Threshold(0, 0, inplace=true)", nn.Threshold(0.0, 0.0, inplace=True), [0.0])],
}

# Whole networks, as gen_golden.CASES: name: (seed, batch, input shape,
# model builder, loss, target kind, optimizer).
PARITY = {
    "acts_smooth_adam": (
        21, 10, (6,),
        lambda: nn.Sequential(nn.Linear(6, 8), nn.GELU(approximate="tanh"), nn.Linear(8, 8), nn.Mish(),
                              nn.Linear(8, 8), nn.Hardswish(), nn.Linear(8, 6), nn.ELU(alpha=0.5),
                              nn.Linear(6, 4), nn.Softplus(beta=2.0, threshold=5.0)),
        nn.MSELoss(), "rand",
        adam(lr=0.01)),
    "acts_standalone_sgd": (
        22, 12, (10,),
        lambda: nn.Sequential(nn.Linear(10, 12), nn.SELU(), nn.Identity(), nn.LogSigmoid(),
                              nn.Linear(12, 12), nn.Hardtanh(-2.0, 2.0), nn.Linear(12, 8), nn.Softsign(),
                              nn.Tanhshrink(), nn.Linear(8, 5)),
        nn.CrossEntropyLoss(), ("class", 5),
        sgd(lr=0.1, momentum=0.9)),
}


def f32(v):
    """v rounded to float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def neighbours(v):
    """The float32 values just below and above float32(v)."""
    t = torch.tensor([f32(v)], dtype=torch.float32)
    return [torch.nextafter(t, torch.tensor([-float("inf")])).item(),
            torch.nextafter(t, torch.tensor([float("inf")])).item()]


def grid(breakpoints):
    """The case's inputs: -8 to 8 in steps of 0.05, the specials with both
    signs, and each breakpoint with its neighbours; sorted, no duplicates
    (but both zeros)."""
    values = [f32(-8.0 + 0.05 * i) for i in range(321)]
    for s in SPECIALS:
        values += [f32(s), f32(-s)]
    for b in breakpoints:
        values += [f32(b)] + neighbours(b)
    seen, out = set(), []
    for v in sorted(values):
        key = struct.pack("<f", v)  # keeps -0.0 apart from 0.0
        if key not in seen:
            seen.add(key)
            out.append(v)
    return torch.tensor(out, dtype=torch.float32)


def upstream(n):
    """A fixed upstream gradient: magnitudes 0.25 to 1.5 in steps of 1/8,
    alternating in sign; exact in float32."""
    return torch.tensor([(0.25 + ((i * 37) % 11) / 8.0) * (1 if i % 2 == 0 else -1)
                         for i in range(n)], dtype=torch.float32)


def run_act_case(module, breakpoints):
    x = grid(breakpoints)
    dy = upstream(x.numel())
    leaf = x.clone().requires_grad_(True)
    y = module(leaf * 1.0)  # a non-leaf input, so in-place modules work as in a network
    y.backward(dy)
    return x, dy, y.detach().clone(), leaf.grad.detach().clone()


def main(argv):
    dirs = golden_dirs(argv, "acts")
    if dirs is None:
        return 2
    outdir = dirs[0]
    for name, cases in ACTS.items():
        tensors = []
        metadata = {"cases": str(len(cases)), "torch_version": torch.__version__}
        for i, (call, module, breakpoints) in enumerate(cases):
            x, dy, y, dx = run_act_case(module, breakpoints)
            tensors += [("%d/x" % i, x), ("%d/dy" % i, dy), ("%d/y" % i, y), ("%d/dx" % i, dx)]
            metadata[str(i)] = call
        path = os.path.join(outdir, name + ".safetensors")
        write_safetensors(path, tensors, metadata)
        print("%-12s %d case%s, %d points each -> %s"
              % (name, len(cases), "" if len(cases) == 1 else "s", tensors[0][1].numel(), path))
    parity = os.path.join(argv[1], "parity")
    os.makedirs(parity, exist_ok=True)
    for name, case in PARITY.items():
        tensors, metadata = gen_golden.run_case(name, case)
        path = os.path.join(parity, name + ".safetensors")
        write_safetensors(path, tensors, metadata)
        print("%-22s batch %-3s loss %.6f -> %s" % (name, metadata["batch"], dict(tensors)["loss"].item(), path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
