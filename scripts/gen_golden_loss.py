#!/usr/bin/env python3
"""Generate the PyTorch golden vectors of every netc loss (tests/test_loss.c).

Usage: python3 scripts/gen_golden_loss.py OUTDIR   (normally tests/golden;
the files go to OUTDIR/loss)

For every case below this writes OUTDIR/loss/<case>.safetensors holding

    input    the loss's input, shape (N, C), float32
    target   class indices as floats, shape (N,), for CrossEntropy and NLL;
             otherwise values of the input's shape
    loss     torch's loss value, shape (1,)
    grad     d loss / d input from torch's backward, shape (N, C)

and, in "__metadata__": "spec", the loss as a netc spec writes it (e.g.
'CrossEntropy(ignore_index=1, reduction="sum")'), "loss" (the netc name),
"reduction" and the torch version.  The test builds a model whose chain
is Identity around that loss, feeds input and target, and compares the
loss and the gradient netc computes with these.

The inputs include large magnitudes (logits of 1e4, differences of 1e4),
the breakpoints of the piecewise losses (|input - target| equal to beta
or delta, and 0), probabilities of exactly 0 and 1 for BCE (where torch
clamps each log at -100), targets equal to ignore_index, and zero targets
for KLDiv.  Every loss is generated with each of its reductions.

Only torch and the standard library are needed; the safetensors writer
is scripts/gen_golden.py's.
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402


def big_logits(gen, n, c):
    """Random logits with two rows of large magnitude."""
    x = torch.randn(n, c, generator=gen) * 3
    x[0] = torch.linspace(-1e4, 1e4, c)
    x[1, :] = 50.0
    x[1, 0] = -50.0
    return x


def classes(gen, n, c, ignore=None):
    """Class indices; ignore = v sets every third row's target to v,
    ignore = (v, 1) every row's."""
    t = torch.randint(0, c, (n,), generator=gen)
    if ignore is not None:
        value, every = ignore if isinstance(ignore, tuple) else (ignore, 3)
        t[::every] = value
    return t


def log_probs(gen, n, c):
    x = F.log_softmax(torch.randn(n, c, generator=gen) * 2, dim=1)
    x[0, 0] = -1e3  # a log-probability far below the others
    return x


def regression(gen, n, c, breaks=()):
    """Input and target with equal elements (difference 0), a difference
    of 1e4, and each breakpoint b as an exact difference of +b and -b."""
    y = torch.randn(n, c, generator=gen) * 2
    t = torch.randn(n, c, generator=gen) * 2
    t[0, 0] = y[0, 0]
    y[0, 1], t[0, 1] = 1e4, -3.0
    y[0, 2], t[0, 2] = -2e4, 1e4
    for i, b in enumerate(breaks):
        y[1, 2 * i], t[1, 2 * i] = 0.25 + b, 0.25
        y[1, 2 * i + 1], t[1, 2 * i + 1] = 0.25 - b, 0.25
    return y, t


def probabilities(gen, n, c):
    """Probabilities with exact 0s and 1s against targets 0, 1 and in
    between: every clamp of torch's BCE is reached."""
    p = torch.rand(n, c, generator=gen) * 0.98 + 0.01
    t = torch.rand(n, c, generator=gen)
    t[0] = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.3])[:c]
    p[1, :4] = torch.tensor([0.0, 0.0, 1.0, 1.0])
    t[1, :4] = torch.tensor([0.0, 0.3, 1.0, 0.7])
    p[2, 0], p[2, 1] = 1e-30, 1.0 - 2 ** -24
    return p, t


def bce_logits_input(gen, n, c):
    x = torch.randn(n, c, generator=gen) * 3
    x[0] = torch.tensor([100.0, -100.0, 1e4, -1e4, 0.0])[:c]
    t = torch.rand(n, c, generator=gen)
    t[0] = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5])[:c]
    return x, t


def kl_input(gen, n, c, log_target):
    x = F.log_softmax(torch.randn(n, c, generator=gen), dim=1)
    t = F.softmax(torch.randn(n, c, generator=gen) * 2, dim=1)
    t[0, 1] = 0.0  # xlogy(0, 0) = 0
    if log_target:
        t = F.log_softmax(torch.randn(n, c, generator=gen) * 2, dim=1)
    return x, t


N, C = 6, 5


def ce_case(ignore_index=-100, label_smoothing=0.0, ignore=None):
    def make(gen, reduction):
        x = big_logits(gen, N, C)
        t = classes(gen, N, C, ignore)
        fn = nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=label_smoothing,
                                 reduction=reduction)
        return x, t, fn
    return make


def nll_case(ignore_index=-100, ignore=None):
    def make(gen, reduction):
        x = log_probs(gen, N, C)
        t = classes(gen, N, C, ignore)
        return x, t, nn.NLLLoss(ignore_index=ignore_index, reduction=reduction)
    return make


def reg_case(cls, breaks=(), **kw):
    def make(gen, reduction):
        y, t = regression(gen, N, C, breaks)
        return y, t, cls(reduction=reduction, **kw)
    return make


def bce_case(gen, reduction):
    p, t = probabilities(gen, N, C)
    return p, t, nn.BCELoss(reduction=reduction)


def bce_logits_case(pos_weight=None):
    def make(gen, reduction):
        x, t = bce_logits_input(gen, N, C)
        pw = None if pos_weight is None else torch.tensor(pos_weight)
        return x, t, nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=pw)
    return make


def kl_case(log_target=False):
    def make(gen, reduction):
        x, t = kl_input(gen, N, C, log_target)
        return x, t, nn.KLDivLoss(reduction=reduction, log_target=log_target)
    return make


MS = ("mean", "sum")

# name: (netc loss, netc arguments other than reduction, reductions, maker)
CASES = {
    "ce": ("CrossEntropy", "", MS, ce_case()),
    "ce_smoothing": ("CrossEntropy", "label_smoothing=0.1", MS, ce_case(label_smoothing=0.1)),
    "ce_smoothing_full": ("CrossEntropy", "label_smoothing=1.0", MS, ce_case(label_smoothing=1.0)),
    "ce_ignore": ("CrossEntropy", "ignore_index=1", MS, ce_case(ignore_index=1, ignore=1)),
    "ce_ignore_default": ("CrossEntropy", "", MS, ce_case(ignore=-100)),
    "ce_ignore_smoothing": ("CrossEntropy", "ignore_index=2, label_smoothing=0.2", MS,
                            ce_case(ignore_index=2, label_smoothing=0.2, ignore=2)),
    "ce_all_ignored": ("CrossEntropy", "ignore_index=3, label_smoothing=0.2", MS,
                       ce_case(ignore_index=3, label_smoothing=0.2, ignore=(3, 1))),
    "nll": ("NLL", "", MS, nll_case()),
    "nll_ignore": ("NLL", "ignore_index=0", MS, nll_case(ignore_index=0, ignore=0)),
    "nll_all_ignored": ("NLL", "ignore_index=4", MS, nll_case(ignore_index=4, ignore=(4, 1))),
    "mse": ("MSE", "", MS, reg_case(nn.MSELoss)),
    "l1": ("L1", "", MS, reg_case(nn.L1Loss)),
    "smooth_l1": ("SmoothL1", "", MS, reg_case(nn.SmoothL1Loss, (1.0,))),
    "smooth_l1_beta": ("SmoothL1", "beta=0.5", MS, reg_case(nn.SmoothL1Loss, (0.5, 0.25), beta=0.5)),
    "smooth_l1_beta0": ("SmoothL1", "beta=0.0", MS, reg_case(nn.SmoothL1Loss, (0.0,), beta=0.0)),
    "huber": ("Huber", "", MS, reg_case(nn.HuberLoss, (1.0,))),
    "huber_delta": ("Huber", "delta=2.5", MS, reg_case(nn.HuberLoss, (2.5, 0.5), delta=2.5)),
    "bce": ("BCE", "", MS, bce_case),
    "bce_logits": ("BCEWithLogits", "", MS, bce_logits_case()),
    "bce_logits_pos_weight": ("BCEWithLogits", "pos_weight=2.5", MS, bce_logits_case(2.5)),
    "bce_logits_pos_weight0": ("BCEWithLogits", "pos_weight=0.0", MS, bce_logits_case(0.0)),
    "kl_div": ("KLDiv", "", ("mean", "sum", "batchmean"), kl_case()),
    "kl_div_log_target": ("KLDiv", "log_target=true", ("mean", "sum", "batchmean"), kl_case(True)),
}


def run(name, reduction, maker, seed):
    gen = torch.Generator().manual_seed(seed)
    x, t, fn = maker(gen, reduction)
    x = x.detach().clone().requires_grad_(True)
    loss = fn(x, t)
    loss.backward()
    target = t.to(torch.float32)
    return [("input", x.detach()), ("target", target), ("loss", loss.detach().reshape(1)),
            ("grad", x.grad.detach())]


def main(argv):
    dirs = golden_dirs(argv, "loss")
    if dirs is None:
        return 2
    outdir = dirs[0]
    seed = 100
    for name, (loss, args, reductions, maker) in CASES.items():
        for reduction in reductions:
            seed += 1
            tensors = run(name, reduction, maker, seed)
            spec_args = ", ".join(a for a in (args, 'reduction="%s"' % reduction) if a)
            meta = {"spec": "%s(%s)" % (loss, spec_args), "loss": loss, "reduction": reduction,
                    "torch_version": torch.__version__}
            case = "%s_%s" % (name, reduction)
            path = os.path.join(outdir, case + ".safetensors")
            write_safetensors(path, tensors, meta)
            print("%-36s %-58s loss %.9g -> %s" % (case, meta["spec"], dict(tensors)["loss"].item(), path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
