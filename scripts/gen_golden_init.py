#!/usr/bin/env python3
"""Generate the torch.nn.init golden values that tests/test_init.c checks.

Usage: python3 scripts/gen_golden_init.py OUTDIR     (normally tests/golden;
the files go to OUTDIR/init)

gains.txt     torch.nn.init.calculate_gain for every nonlinearity torch
              knows, without a param and, for leaky_relu, with several.
              One line per call: NONLINEARITY PARAM GAIN, PARAM "-" for
              None; GAIN is Python's repr of the float (it round-trips).
              The list of names is torch's (the branches of its
              calculate_gain); the test requires it to equal netc's table,
              compiler/gains.def, so neither can miss a name.
qr.txt        orthogonal_'s core: for a few fixed matrices A (m x n,
              m >= n, float64, from torch.randn under a fixed seed), the Q
              of torch.linalg.qr(A) times sign(diag(R)), as orthogonal_
              computes it.  One case is a line "qr M N" followed by a line
              of the M*N entries of A and a line of the M*N entries of Q,
              both row-major, each as repr of the float64.

netc draws its own random numbers, so inits are compared by their
statistics, not their bits; these files pin the deterministic parts.
Only torch and the standard library are needed.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs  # noqa: E402

# The nonlinearities of torch 1.13's calculate_gain, in its order.
NONLINEARITIES = [
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "sigmoid", "tanh", "relu", "leaky_relu", "selu",
]

# leaky_relu's negative slopes to check besides the default (None: 0.01).
LEAKY_PARAMS = [0.0, 0.01, 0.2, 0.5, 1.0, -0.3, 3.0]

# (rows, cols) of the QR cases: square, tall, a single column.
QR_SHAPES = [(5, 5), (7, 3), (6, 1), (20, 8)]


def write_gains(path):
    with open(path, "w") as f:
        f.write("# torch.nn.init.calculate_gain(nonlinearity[, param]), torch %s\n" % torch.__version__)
        f.write("# nonlinearity param gain   (param - is None)\n")
        for name in NONLINEARITIES:
            f.write("%s - %r\n" % (name, float(torch.nn.init.calculate_gain(name))))
        for p in LEAKY_PARAMS:
            f.write("leaky_relu %r %r\n" % (p, float(torch.nn.init.calculate_gain("leaky_relu", p))))


def signed_q(a):
    """Q of A = QR with the columns multiplied by sign(diag(R)), exactly
    the steps of torch.nn.init.orthogonal_ (for a tall or square A)."""
    q, r = torch.linalg.qr(a)
    return q * torch.diag(r, 0).sign()


def write_qr(path):
    torch.manual_seed(1234)
    with open(path, "w") as f:
        f.write("# orthogonal_'s sign-corrected QR, torch %s: qr M N / A row-major / Q row-major\n"
                % torch.__version__)
        for m, n in QR_SHAPES:
            a = torch.randn(m, n, dtype=torch.float64)
            q = signed_q(a)
            f.write("qr %d %d\n" % (m, n))
            f.write(" ".join(repr(float(v)) for v in a.flatten()) + "\n")
            f.write(" ".join(repr(float(v)) for v in q.flatten()) + "\n")


def main(argv):
    dirs = golden_dirs(argv, "init")
    if dirs is None:
        return 2
    outdir = dirs[0]
    write_gains(os.path.join(outdir, "gains.txt"))
    write_qr(os.path.join(outdir, "qr.txt"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
