#!/usr/bin/env python3
"""PyTorch golden vectors for PReLU, RReLU, GLU, Softmin and AlphaDropout.

Usage: python3 scripts/gen_golden_acts2.py OUTDIR      (normally tests/golden)

Writes
  OUTDIR/acts2/<layer>.safetensors   forward and backward of each layer on
                                     inputs that include 0, -0, +-1e-30,
                                     +-1, +-20, +-100, +-1e4 (read by
                                     tests/test_acts2.c)
  OUTDIR/parity/<case>.safetensors   whole-network cases in the format of
                                     scripts/gen_golden.py, replayed by
                                     tests/test_parity.c next to their
                                     hand-written <case>.net specs

Layer files (all float32; the layers' arguments are in the metadata, as
Python reprs of the doubles torch received):
  prelu          x (4, 3, 5), dy; for the shared slope w1 (1,) and the
                 per-channel slopes w3 (3,): y1, dx1, dw1 and y3, dx3, dw3;
                 x2 (6, 3), dy2 with w3: y2, dx2, dw2 (a rank-2 input)
  rrelu          x, dy; eval mode (training=False), default arguments:
                 y_def, dx_def; lower/upper from the metadata: y_arg, dx_arg
  glu            x (3, 4, 6), dy_last, dy_mid; dim=-1: y_last, dx_last;
                 dim=1: y_mid, dx_mid
  softmin        x (3, 4, 5), dy; dim=1: y_d1, dx_d1; dim=-1: y_dl, dx_dl
  alpha_dropout  x, dy (n values), for each p in the metadata list "ps":
                 keep_<i> (1 kept, 0 dropped: torch's bernoulli noise),
                 y_<i>, dx_<i>.  The noise is redrawn with the generator
                 state F.alpha_dropout used, and the script checks that
                 torch's formula applied to it reproduces F.alpha_dropout's
                 output exactly, so the C test can apply the same noise.

RReLU's training mode and AlphaDropout's noise come from torch's generator,
which netc does not reproduce; tests/test_acts2.c checks their statistics.
The one deterministic training-mode RReLU, lower == upper, is a parity case.

Parity cases (see scripts/gen_golden.py for the file format):
  prelu_channels_adam  input 6
      torch: Linear(6,5), PReLU(num_parameters=5), Linear(5,3)
             CrossEntropyLoss(), Adam(lr=0.05)
  prelu_dims_sgd       input (3, 4)
      torch: Linear(4,6), PReLU(num_parameters=3, init=0.1), Flatten(),
             Linear(18,4), PReLU(), Linear(4,2)
             MSELoss(), SGD(lr=0.1, momentum=0.9)
  glu_softmin_adam     input 8
      torch: Linear(8,12), GLU(), Linear(6,10), GLU(dim=1), Softmin(dim=1)
             MSELoss(), Adam(lr=0.01)
  glu_mid_dim_adam     input (4, 6)
      torch: Linear(6,6), GLU(dim=1), Softmin(dim=1), Flatten(), Linear(12,3)
             CrossEntropyLoss(), Adam(lr=0.02)
  rrelu_fixed_sgd      input 5
      torch: Linear(5,7), RReLU(lower=0.1, upper=0.1), AlphaDropout(p=0.0),
             Linear(7,3)
             CrossEntropyLoss(), SGD(lr=0.2)
      (RReLU with lower == upper is deterministic in training mode, and
      AlphaDropout(p=0) is the identity)

Only torch and the standard library are needed.
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_golden  # noqa: E402  (write_safetensors, run_case, sgd, adam)

SPECIALS = [0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, 0.5, -0.5, 20.0, -20.0, 100.0, -100.0, 1e4, -1e4]


def with_specials(shape, scale=3.0):
    """A tensor of the given shape: the special values first, then
    scale * randn."""
    n = 1
    for d in shape:
        n *= d
    x = torch.randn(n) * scale
    k = min(n, len(SPECIALS))
    x[:k] = torch.tensor(SPECIALS[:k])
    return x.reshape(shape)


def grads(fn, x, dy, *params):
    """fn(x, *params), and the gradients of sum(fn * dy) for x and params."""
    x = x.clone().requires_grad_(True)
    ps = [p.clone().requires_grad_(True) for p in params]
    y = fn(x, *ps)
    y.backward(dy)
    return [y.detach()] + [x.grad.detach()] + [p.grad.detach() for p in ps]


def gen_prelu():
    torch.manual_seed(101)
    x = with_specials((4, 3, 5))
    dy = torch.randn(4, 3, 5)
    w1 = torch.tensor([0.2])
    w3 = torch.tensor([0.1, -0.5, 2.0])
    x2 = with_specials((6, 3))
    dy2 = torch.randn(6, 3)
    y1, dx1, dw1 = grads(F.prelu, x, dy, w1)
    y3, dx3, dw3 = grads(F.prelu, x, dy, w3)
    y2, dx2, dw2 = grads(F.prelu, x2, dy2, w3)
    return [("x", x), ("dy", dy), ("w1", w1), ("w3", w3), ("y1", y1), ("dx1", dx1), ("dw1", dw1),
            ("y3", y3), ("dx3", dx3), ("dw3", dw3), ("x2", x2), ("dy2", dy2), ("y2", y2), ("dx2", dx2),
            ("dw2", dw2)], {}


def gen_rrelu():
    torch.manual_seed(102)
    x = with_specials((40,))
    dy = torch.randn(40)
    lower, upper = -0.2, 0.7
    y_def, dx_def = grads(lambda t: F.rrelu(t, training=False), x, dy)
    y_arg, dx_arg = grads(lambda t: F.rrelu(t, lower, upper, training=False), x, dy)
    return [("x", x), ("dy", dy), ("y_def", y_def), ("dx_def", dx_def), ("y_arg", y_arg),
            ("dx_arg", dx_arg)], {"lower": repr(lower), "upper": repr(upper)}


def gen_glu():
    torch.manual_seed(103)
    x = with_specials((3, 4, 6))
    dy_last = torch.randn(3, 4, 3)
    dy_mid = torch.randn(3, 2, 6)
    y_last, dx_last = grads(lambda t: F.glu(t, -1), x, dy_last)
    y_mid, dx_mid = grads(lambda t: F.glu(t, 1), x, dy_mid)
    return [("x", x), ("dy_last", dy_last), ("dy_mid", dy_mid), ("y_last", y_last), ("dx_last", dx_last),
            ("y_mid", y_mid), ("dx_mid", dx_mid)], {}


def gen_softmin():
    torch.manual_seed(104)
    x = with_specials((3, 4, 5))
    dy = torch.randn(3, 4, 5)
    y_d1, dx_d1 = grads(lambda t: F.softmin(t, dim=1), x, dy)
    y_dl, dx_dl = grads(lambda t: F.softmin(t, dim=-1), x, dy)
    return [("x", x), ("dy", dy), ("y_d1", y_d1), ("dx_d1", dx_d1), ("y_dl", y_dl), ("dx_dl", dx_dl)], {}


def alpha_dropout_formula(x, keep, p):
    """torch 1.13's _dropout_impl for alpha_dropout, given its noise."""
    alpha = 1.7580993408473766
    a = 1. / (((alpha * alpha * p + 1) * (1 - p)) ** 0.5)
    noise = keep.clone()
    b = noise.add(-1).mul_(alpha * a).add_(alpha * a * p)
    noise.mul_(a)
    return x * noise + b


def gen_alpha_dropout():
    ps = [0.1, 0.5, 0.85]
    torch.manual_seed(105)
    n = 64
    x = with_specials((n,))
    dy = torch.randn(n)
    tensors = [("x", x), ("dy", dy)]
    for i, p in enumerate(ps):
        state = torch.get_rng_state()
        xg = x.clone().requires_grad_(True)
        y = F.alpha_dropout(xg, p, training=True)
        y.backward(dy)
        torch.set_rng_state(state)
        keep = torch.empty_like(x).bernoulli_(1 - p)
        again = alpha_dropout_formula(x, keep, p)
        if not torch.equal(again, y.detach()):
            raise AssertionError("alpha_dropout p=%g: the transcription differs from torch" % p)
        tensors += [("keep_%d" % i, keep), ("y_%d" % i, y.detach()), ("dx_%d" % i, xg.grad.detach())]
    return tensors, {"ps": json.dumps(ps)}


LAYERS = {
    "prelu": gen_prelu,
    "rrelu": gen_rrelu,
    "glu": gen_glu,
    "softmin": gen_softmin,
    "alpha_dropout": gen_alpha_dropout,
}

PARITY = {
    "prelu_channels_adam": (
        21, 12, (6,),
        lambda: nn.Sequential(nn.Linear(6, 5), nn.PReLU(num_parameters=5), nn.Linear(5, 3)),
        nn.CrossEntropyLoss(), ("class", 3),
        gen_golden.adam(lr=0.05)),
    "prelu_dims_sgd": (
        22, 10, (3, 4),
        lambda: nn.Sequential(nn.Linear(4, 6), nn.PReLU(num_parameters=3, init=0.1), nn.Flatten(),
                              nn.Linear(18, 4), nn.PReLU(), nn.Linear(4, 2)),
        nn.MSELoss(), "rand",
        gen_golden.sgd(lr=0.1, momentum=0.9)),
    "glu_softmin_adam": (
        23, 9, (8,),
        lambda: nn.Sequential(nn.Linear(8, 12), nn.GLU(), nn.Linear(6, 10), nn.GLU(dim=1),
                              nn.Softmin(dim=1)),
        nn.MSELoss(), "rand",
        gen_golden.adam(lr=0.01)),
    "glu_mid_dim_adam": (
        24, 8, (4, 6),
        lambda: nn.Sequential(nn.Linear(6, 6), nn.GLU(dim=1), nn.Softmin(dim=1), nn.Flatten(),
                              nn.Linear(12, 3)),
        nn.CrossEntropyLoss(), ("class", 3),
        gen_golden.adam(lr=0.02)),
    "rrelu_fixed_sgd": (
        25, 11, (5,),
        lambda: nn.Sequential(nn.Linear(5, 7), nn.RReLU(lower=0.1, upper=0.1), nn.AlphaDropout(p=0.0),
                              nn.Linear(7, 3)),
        nn.CrossEntropyLoss(), ("class", 3),
        gen_golden.sgd(lr=0.2)),
}


def main(argv):
    dirs = gen_golden.golden_dirs(argv, "acts2")
    if dirs is None:
        return 2
    outdir = dirs[0]
    for name, gen in LAYERS.items():
        tensors, meta = gen()
        meta = dict(meta, torch_version=torch.__version__)
        path = os.path.join(outdir, name + ".safetensors")
        gen_golden.write_safetensors(path, tensors, meta)
        print("%-22s %d tensors -> %s" % (name, len(tensors), path))
    pdir = os.path.join(argv[1], "parity")
    os.makedirs(pdir, exist_ok=True)
    for name, case in PARITY.items():
        # A model in training mode, as gen_golden runs it (RReLU draws, here
        # with lower == upper, so deterministically).
        tensors, metadata = gen_golden.run_case(name, case)
        path = os.path.join(pdir, name + ".safetensors")
        gen_golden.write_safetensors(path, tensors, metadata)
        print("%-22s batch %-3s loss %.6f -> %s" % (name, metadata["batch"], dict(tensors)["loss"].item(), path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
