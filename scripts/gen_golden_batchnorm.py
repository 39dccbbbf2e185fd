#!/usr/bin/env python3
"""Generate the PyTorch golden vectors of BatchNorm1d/BatchNorm2d, which
tests/test_batchnorm.c checks netc's kernels (runtime/batchnorm.c) against.

Usage: python3 scripts/gen_golden_batchnorm.py OUTDIR   (normally
tests/golden; the files go to OUTDIR/batchnorm)

Every case below writes OUTDIR/batchnorm/<case>.safetensors: one torch
module, run for a few training steps on different inputs and then once in
eval mode.  Tensors (float32; x of shape (N, C), (N, C, L) or (N, C, H, W)):

    init/weight, init/bias              the affine parameters (affine only;
                                        random, not torch's 1 and 0)
    init/running_mean, init/running_var the running statistics before step 1
                                        (track_running_stats only; random,
                                        not torch's 0 and 1)
    step<s>/x, step<s>/dy               training step s's input and the
                                        upstream gradient (s = 1 .. steps)
    step<s>/y                           the module's training-mode output
    step<s>/save_mean, step<s>/save_invstd
                                        the batch mean and 1/sqrt(var + eps)
                                        (torch.native_batch_norm's saved
                                        statistics for the same x)
    step<s>/dx, step<s>/dw, step<s>/db  the gradients of (y * dy).sum() for
                                        x, weight and bias (dw, db: affine)
    step<s>/running_mean, step<s>/running_var, step<s>/num_batches_tracked
                                        the buffers after the step
                                        (track_running_stats only)
    eval/x, eval/y                      one forward in eval mode after the
                                        last step (running statistics when
                                        tracked, else the batch's)

The parameters do not change between steps (no optimizer runs): what is
checked is the kernels, and the running statistics' update over steps.
Inputs have a nonzero mean per channel (a random offset and scale per
channel), so the statistics and the cancellation in x - mean matter.

"__metadata__" holds: "module" (the torch module as netc's layer call,
e.g. BatchNorm2d(3, eps=0.001, momentum=None)), "dims" (1 or 2),
"num_features", "eps", "momentum" ("None" or the number), "affine" and
"track_running_stats" ("true"/"false"), "shape" (step inputs' shape, a
JSON list), "steps", and "torch_version".

torch runs single-threaded (golden_dirs): with more threads torch's
statistics of (N, C) input depend on its thread count.

Only torch and the standard library are needed.
"""

import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

# name: (dims, shape, kwargs, steps)
CASES = {
    "bn1d_nc": (1, (16, 5), dict(), 3),
    "bn1d_nc_momentum_none": (1, (8, 4), dict(momentum=None), 3),
    "bn1d_nc_noaffine_notrack": (1, (10, 6), dict(affine=False, track_running_stats=False), 2),
    "bn1d_ncl_eps": (1, (6, 3, 7), dict(eps=1e-3, momentum=0.3), 3),
    "bn1d_ncl_noaffine": (1, (4, 3, 10), dict(affine=False), 3),
    "bn1d_ncl_len1": (1, (12, 3, 1), dict(momentum=0.3), 2),
    "bn2d": (2, (5, 4, 6, 6), dict(), 3),
    "bn2d_momentum_none_eps": (2, (4, 3, 5, 7), dict(eps=1e-2, momentum=None), 3),
    "bn2d_notrack": (2, (3, 2, 9, 9), dict(eps=1e-4, track_running_stats=False), 2),
    "bn2d_noaffine_notrack": (2, (2, 3, 8, 8), dict(affine=False, track_running_stats=False), 2),
    "bn2d_14x14": (2, (2, 3, 14, 14), dict(momentum=0.3), 2),
    "bn2d_28x28": (2, (2, 2, 28, 28), dict(), 1),
}


def layer_call(dims, c, kw):
    """The module as netc spells the layer: positional num_features, then
    the arguments that differ from torch's defaults."""
    args = [str(c)]
    if "eps" in kw:
        args.append("eps=%r" % kw["eps"])
    if "momentum" in kw:
        args.append("momentum=%s" % ("None" if kw["momentum"] is None else repr(kw["momentum"])))
    if kw.get("affine", True) is False:
        args.append("affine=false")
    if kw.get("track_running_stats", True) is False:
        args.append("track_running_stats=false")
    return "BatchNorm%dd(%s)" % (dims, ", ".join(args))


def batch(shape, offset, scale):
    """A batch whose channel c has mean about offset[c], spread scale[c]."""
    view = (1, shape[1]) + (1,) * (len(shape) - 2)
    return torch.randn(shape) * scale.view(view) + offset.view(view)


def run_case(name, dims, shape, kw, steps):
    torch.manual_seed(sum(ord(ch) for ch in name))
    c = shape[1]
    bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(c, **kw)
    affine = kw.get("affine", True)
    track = kw.get("track_running_stats", True)
    tensors = []
    with torch.no_grad():
        if affine:
            bn.weight.copy_(torch.rand(c) * 1.5 + 0.25)
            bn.bias.copy_(torch.randn(c))
            tensors += [("init/weight", bn.weight.clone()), ("init/bias", bn.bias.clone())]
        if track:
            bn.running_mean.copy_(torch.randn(c) * 0.5)
            bn.running_var.copy_(torch.rand(c) + 0.5)
            tensors += [("init/running_mean", bn.running_mean.clone()),
                        ("init/running_var", bn.running_var.clone())]
    offset = torch.randn(c) * 2.0
    scale = torch.rand(c) * 2.0 + 0.5
    bn.train()
    for s in range(1, steps + 1):
        x = batch(shape, offset, scale)
        dy = torch.randn(shape)
        # The saved statistics come from the same computation as the
        # module's forward (native_batch_norm without running statistics).
        _, save_mean, save_invstd = torch.native_batch_norm(
            x, bn.weight, bn.bias, None, None, True, 0.0, bn.eps)
        xg = x.clone().requires_grad_()
        bn.zero_grad()
        y = bn(xg)
        (y * dy).sum().backward()
        p = "step%d/" % s
        tensors += [(p + "x", x), (p + "dy", dy), (p + "y", y), (p + "save_mean", save_mean),
                    (p + "save_invstd", save_invstd), (p + "dx", xg.grad)]
        if affine:
            tensors += [(p + "dw", bn.weight.grad.clone()), (p + "db", bn.bias.grad.clone())]
        if track:
            tensors += [(p + "running_mean", bn.running_mean.clone()),
                        (p + "running_var", bn.running_var.clone()),
                        (p + "num_batches_tracked", bn.num_batches_tracked.to(torch.float32).reshape(1))]
    bn.eval()
    x = batch(shape, offset, scale)
    with torch.no_grad():
        y = bn(x)
    tensors += [("eval/x", x), ("eval/y", y)]
    metadata = {
        "module": layer_call(dims, c, kw),
        "dims": str(dims),
        "num_features": str(c),
        "eps": repr(bn.eps),
        "momentum": "None" if bn.momentum is None else repr(bn.momentum),
        "affine": "true" if affine else "false",
        "track_running_stats": "true" if track else "false",
        "shape": json.dumps(list(shape)),
        "steps": str(steps),
        "torch_version": torch.__version__,
    }
    return tensors, metadata


def main(argv):
    dirs = golden_dirs(argv, "batchnorm")
    if dirs is None:
        return 2
    for name, (dims, shape, kw, steps) in CASES.items():
        tensors, metadata = run_case(name, dims, shape, kw, steps)
        path = os.path.join(dirs[0], name + ".safetensors")
        write_safetensors(path, tensors, metadata)
        print("%-26s %-48s %s x %d steps -> %s" % (name, metadata["module"], metadata["shape"], steps, path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
