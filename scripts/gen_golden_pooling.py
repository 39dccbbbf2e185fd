#!/usr/bin/env python3
"""Generate the PyTorch golden vectors of the pooling kernels
(runtime/pooling.c), which tests/test_pooling.c checks.

Usage: python3 scripts/gen_golden_pooling.py OUTDIR   (normally tests/golden;
the files go to OUTDIR/pooling)

For each pooling module below this writes OUTDIR/pooling/<Name>.safetensors,
<Name> being the torch.nn class name (MaxPool1d, AvgPool2d,
AdaptiveMaxPool2d, ...).  A file holds several cases, each one module call
on one input:

    <i>/x     the input, float32, shape (N, C, L) or (N, C, H, W)
    <i>/dy    the upstream gradient, the output's shape
    <i>/y     the module's output
    <i>/dx    the gradient of (y * dy).sum() with respect to x
    <i>/idx   max pools only: torch's return_indices indices (the flat
              index in the channel plane) as floats

and "__metadata__" holds "cases" (the count), "<i>" (the torch call, for
messages), "<i>/geom" (the geometry the compiler gives the kernel:
space-separated name=value integers batch, c_in, h_in, w_in, c_out, h_out,
w_out, kh, kw, sh, sw, ph, pw, ph_end, pw_end, dh, dw, flags, divisor, with
the field names of compiler/geom.h's comp_geom; a 1-d case has h_in =
h_out = 1 and kh = sh = dh = 1, ph = 0; flags is COMP_GEOM_CEIL (1) |
COMP_GEOM_COUNT_INCLUDE_PAD (2); divisor is divisor_override or 0) and
"torch_version".

Max pool inputs are distinct values (a shuffled grid of multiples of 1/8),
so the chosen index is unique, except in the cases named "ties" (repeated
values and -inf, where the first maximum in window order wins) and "nan"
(NaN in some windows).  Average pool inputs are Gaussian, so a different
summation order or divisor would show in the last bits.

Only torch and the standard library are needed.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

CEIL, COUNT_INCLUDE_PAD = 1, 2


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# (shape, kwargs[, input kind]); kinds: "distinct" (max default), "gauss"
# (avg default), "ties", "nan".
MAXPOOL2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((1, 6, 28, 28), dict(kernel_size=2, stride=2)),
    ((2, 2, 7, 9), dict(kernel_size=2)),
    ((2, 2, 9, 11), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 7, 8), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))),
    ((1, 2, 9, 9), dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    ((2, 2, 10, 9), dict(kernel_size=(3, 2), stride=2, padding=(1, 0), dilation=(2, 1), ceil_mode=True)),
    ((1, 1, 8, 8), dict(kernel_size=3, stride=2, ceil_mode=False)),
    ((1, 1, 8, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((2, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    ((2, 1, 10, 11), dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1), ceil_mode=True)),
    ((3, 1, 6, 6), dict(kernel_size=3, stride=1)),
    ((2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1), "ties"),
    ((1, 2, 6, 6), dict(kernel_size=2, stride=1), "ties"),
    ((1, 2, 6, 6), dict(kernel_size=2), "ties"),
    ((1, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1), "nan"),
]

MAXPOOL1D = [
    ((2, 3, 10), dict(kernel_size=2)),
    ((1, 2, 11), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 12), dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    ((2, 2, 13), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    ((1, 3, 9), dict(kernel_size=2, ceil_mode=True)),
    ((2, 2, 9), dict(kernel_size=3, stride=2, padding=1), "ties"),
]

AVGPOOL2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((1, 6, 28, 28), dict(kernel_size=2, stride=2)),
    ((2, 2, 7, 9), dict(kernel_size=2)),
    ((2, 2, 9, 11), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 9, 11), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 3, 7, 8), dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), count_include_pad=False)),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((2, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    ((2, 2, 7, 7), dict(kernel_size=2, ceil_mode=True, count_include_pad=False)),
    ((2, 2, 9, 11), dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=2)),
    ((2, 2, 6, 7), dict(kernel_size=3, stride=1)),
    ((1, 2, 9, 10), dict(kernel_size=5, stride=2, padding=2, ceil_mode=True)),
    ((1, 2, 9, 10), dict(kernel_size=5, stride=2, padding=2, ceil_mode=True, count_include_pad=False)),
    ((2, 1, 10, 11), dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1), ceil_mode=True,
                          count_include_pad=False)),
    ((1, 1, 12, 12), dict(kernel_size=7, stride=3, padding=3)),
]

AVGPOOL1D = [
    ((2, 3, 10), dict(kernel_size=2)),
    ((1, 2, 11), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 11), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 2, 13), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    ((2, 2, 13), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)),
    ((1, 3, 9), dict(kernel_size=2, ceil_mode=True)),
    ((2, 2, 12), dict(kernel_size=5, stride=1, padding=2)),
]

ADAPTIVE_AVG2D = [
    ((2, 2, 8, 8), (3, 3)),
    ((1, 3, 10, 7), (4, 3)),
    ((2, 2, 7, 7), (5, 5)),
    ((2, 3, 7, 7), (1, 1)),
    ((1, 2, 13, 11), (1, 1)),
    ((1, 2, 20, 20), (1, 1)),
    ((2, 2, 5, 6), (2, 1)),
    ((1, 2, 7, 7), (7, 7)),
    ((2, 1, 3, 3), (5, 4)),
]

ADAPTIVE_AVG1D = [
    ((2, 2, 10), 3),
    ((1, 3, 7), 5),
    ((2, 2, 12), 1),
    ((1, 2, 100), 1),
    ((2, 1, 5), 8),
]

ADAPTIVE_MAX2D = [
    ((2, 2, 8, 8), (3, 3)),
    ((1, 3, 10, 7), (4, 3)),
    ((2, 2, 7, 7), (5, 5)),
    ((2, 2, 7, 7), (1, 1)),
    ((2, 1, 3, 3), (5, 4)),
    ((1, 2, 6, 6), (4, 4), "ties"),
]

ADAPTIVE_MAX1D = [
    ((2, 2, 10), 3),
    ((1, 3, 7), 5),
    ((2, 2, 12), 1),
    ((2, 1, 4), 6),
]


def make_input(shape, kind, gen):
    n = 1
    for s in shape:
        n *= s
    if kind == "gauss":
        return torch.randn(shape, generator=gen)
    if kind == "distinct":
        return ((torch.randperm(n, generator=gen).float() - n / 2) / 8).reshape(shape)
    if kind == "ties":
        x = torch.randint(-2, 3, shape, generator=gen).float()
        flat = x.reshape(-1)
        flat[torch.randperm(n, generator=gen)[: max(1, n // 6)]] = float("-inf")
        return x
    if kind == "nan":
        x = ((torch.randperm(n, generator=gen).float() - n / 2) / 8).reshape(shape)
        flat = x.reshape(-1)
        flat[torch.randperm(n, generator=gen)[: max(2, n // 10)]] = float("nan")
        return x
    raise ValueError(kind)


def geom_text(shape, yshape, kh, kw, sh, sw, ph, pw, dh, dw, flags, divisor):
    if len(shape) == 3:
        shape = (shape[0], shape[1], 1, shape[2])
        yshape = (yshape[0], yshape[1], 1, yshape[2])
    fields = [("batch", shape[0]), ("c_in", shape[1]), ("h_in", shape[2]), ("w_in", shape[3]),
              ("c_out", yshape[1]), ("h_out", yshape[2]), ("w_out", yshape[3]), ("kh", kh), ("kw", kw),
              ("sh", sh), ("sw", sw), ("ph", ph), ("pw", pw), ("ph_end", ph), ("pw_end", pw), ("dh", dh),
              ("dw", dw), ("flags", flags), ("divisor", divisor)]
    return " ".join("%s=%d" % f for f in fields)


def call_text(name, args):
    if isinstance(args, dict):
        return "%s(%s)" % (name, ", ".join("%s=%r" % kv for kv in args.items()))
    return "%s(%r)" % (name, args)


def run(module, x, is_max, gen):
    """y, dx and the indices (max pools) of module on x."""
    x = x.clone().requires_grad_()
    out = module(x)
    y, idx = (out if is_max else (out, None))
    dy = torch.randn(y.shape, generator=gen)
    (y * dy).sum().backward()
    return y.detach(), dy, x.grad.detach(), idx


def geometry(name, shape, args, yshape):
    one_d = name.endswith("1d")
    if name.startswith("Adaptive"):
        return geom_text(shape, yshape, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0)
    kh, kw = (1, args["kernel_size"]) if one_d else pair(args["kernel_size"])
    stride = args.get("stride") or args["kernel_size"]
    sh, sw = (1, stride) if one_d else pair(stride)
    ph, pw = (0, args.get("padding", 0)) if one_d else pair(args.get("padding", 0))
    dh, dw = (1, args.get("dilation", 1)) if one_d else pair(args.get("dilation", 1))
    flags = CEIL if args.get("ceil_mode") else 0
    if name.startswith("Avg") and args.get("count_include_pad", True):
        flags |= COUNT_INCLUDE_PAD
    return geom_text(shape, yshape, kh, kw, sh, sw, ph, pw, dh, dw, flags, args.get("divisor_override") or 0)


def write_module(outdir, name, cls, cases, is_max, adaptive, gen):
    tensors, metadata = [], {"torch_version": torch.__version__}
    for i, case in enumerate(cases):
        shape, args = case[0], case[1]
        kind = case[2] if len(case) > 2 else ("distinct" if is_max else "gauss")
        if adaptive:
            module = cls(args, return_indices=True) if is_max else cls(args)
        else:
            module = cls(**args, return_indices=True) if is_max else cls(**args)
        x = make_input(shape, kind, gen)
        y, dy, dx, idx = run(module, x, is_max, gen)
        tensors += [("%d/x" % i, x), ("%d/dy" % i, dy), ("%d/y" % i, y), ("%d/dx" % i, dx)]
        if idx is not None:
            tensors.append(("%d/idx" % i, idx.to(torch.float32)))
        label = call_text(name, args) + " on %s" % (tuple(shape),) + (" (%s)" % kind if kind in ("ties", "nan") else "")
        metadata["%d" % i] = label
        metadata["%d/geom" % i] = geometry(name, shape, args, tuple(y.shape))
    metadata["cases"] = str(len(cases))
    write_safetensors(os.path.join(outdir, name + ".safetensors"), tensors, metadata)


def main(argv):
    dirs = golden_dirs(argv, "pooling")
    if dirs is None:
        return 2
    outdir = dirs[0]
    gen = torch.Generator().manual_seed(20240611)
    write_module(outdir, "MaxPool2d", nn.MaxPool2d, MAXPOOL2D, True, False, gen)
    write_module(outdir, "MaxPool1d", nn.MaxPool1d, MAXPOOL1D, True, False, gen)
    write_module(outdir, "AvgPool2d", nn.AvgPool2d, AVGPOOL2D, False, False, gen)
    write_module(outdir, "AvgPool1d", nn.AvgPool1d, AVGPOOL1D, False, False, gen)
    write_module(outdir, "AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d, ADAPTIVE_AVG2D, False, True, gen)
    write_module(outdir, "AdaptiveAvgPool1d", nn.AdaptiveAvgPool1d, ADAPTIVE_AVG1D, False, True, gen)
    write_module(outdir, "AdaptiveMaxPool2d", nn.AdaptiveMaxPool2d, ADAPTIVE_MAX2D, True, True, gen)
    write_module(outdir, "AdaptiveMaxPool1d", nn.AdaptiveMaxPool1d, ADAPTIVE_MAX1D, True, True, gen)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
