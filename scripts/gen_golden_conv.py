#!/usr/bin/env python3
"""Generate the PyTorch golden vectors of the convolution kernels, which
tests/test_conv.c checks runtime/conv.c against.

Usage: python3 scripts/gen_golden_conv.py OUTDIR    (normally tests/golden;
the files go to OUTDIR/conv)

Every case below is one torch module call (Conv1d, Conv2d, ConvTranspose1d
or ConvTranspose2d) on a random batch, written as OUTDIR/conv/<case>.safetensors
holding (float32):

    x     the input, (N, C_in, L) or (N, C_in, H, W), from torch.randn
    W     the module's weight (its default init)
    b     its bias, (C_out,); absent when bias=False
    dy    the upstream gradient, shaped as the output, from torch.randn
    y     the module's output
    dx    the gradients of (y * dy).sum() with respect to x, the weight and
    dW    the bias (torch's autograd backward of dy)
    db

and "__metadata__" holds "call" (the torch call, for messages),
"transposed" (0 or 1), "batch", "bias" (0 or 1) and every field of
comp_geom (compiler/geom.h) as a decimal integer under its own name: the
geometry the compiler would hand the kernels, 1-d calls being 2-d ones with
h = 1 (kh = sh = dh = 1, no padding along H).  "mode" is the index of
padding_mode in zeros, reflect, replicate, circular.  For padding="same"
the padding is torch's: total d*(k-1), the smaller half first.

Only torch and the standard library are needed.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

MODES = ["zeros", "reflect", "replicate", "circular"]


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# (name, kind, batch, c_in, spatial, c_out, kwargs); spatial is (L,) for
# the 1-d kinds and (H, W) for the 2-d ones.
CASES = [
    # Conv2d
    ("c2_basic", "Conv2d", 2, 3, (7, 6), 4, dict(kernel_size=3)),
    ("c2_pad1", "Conv2d", 3, 2, (5, 5), 3, dict(kernel_size=3, padding=1)),
    ("c2_1x1", "Conv2d", 2, 5, (4, 3), 6, dict(kernel_size=1)),
    ("c2_stride2", "Conv2d", 2, 3, (9, 8), 4, dict(kernel_size=3, stride=2, padding=1)),
    ("c2_stride_tuple", "Conv2d", 1, 2, (10, 7), 3, dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 0))),
    ("c2_dil2", "Conv2d", 2, 2, (9, 9), 3, dict(kernel_size=3, dilation=2, padding=2)),
    ("c2_dil_tuple", "Conv2d", 2, 3, (8, 11), 2, dict(kernel_size=(2, 3), dilation=(3, 2), stride=(1, 2))),
    ("c2_rect_nobias", "Conv2d", 2, 3, (6, 9), 4, dict(kernel_size=(2, 5), padding=(1, 2), bias=False)),
    ("c2_valid", "Conv2d", 2, 3, (6, 7), 2, dict(kernel_size=3, padding="valid")),
    ("c2_same_odd", "Conv2d", 2, 3, (6, 7), 4, dict(kernel_size=3, padding="same")),
    ("c2_same_even", "Conv2d", 2, 2, (6, 7), 3, dict(kernel_size=(4, 2), padding="same")),
    ("c2_same_even_dil", "Conv2d", 2, 2, (9, 8), 3, dict(kernel_size=(2, 4), dilation=(3, 1), padding="same")),
    ("c2_groups2", "Conv2d", 2, 4, (6, 6), 6, dict(kernel_size=3, padding=1, groups=2)),
    ("c2_depthwise", "Conv2d", 2, 4, (7, 5), 4, dict(kernel_size=3, padding=1, groups=4)),
    ("c2_multiplier", "Conv2d", 2, 3, (6, 6), 6, dict(kernel_size=3, stride=2, padding=1, groups=3)),
    ("c2_reflect", "Conv2d", 2, 2, (6, 5), 3, dict(kernel_size=3, padding=2, padding_mode="reflect")),
    ("c2_replicate", "Conv2d", 2, 2, (5, 6), 3, dict(kernel_size=(3, 2), padding=(2, 1), padding_mode="replicate")),
    ("c2_circular", "Conv2d", 2, 2, (5, 6), 3, dict(kernel_size=3, padding=(1, 3), padding_mode="circular")),
    ("c2_reflect_same_even", "Conv2d", 2, 2, (6, 7), 2, dict(kernel_size=4, padding="same", padding_mode="reflect")),
    ("c2_circular_stride_groups", "Conv2d", 2, 4, (7, 8), 2,
     dict(kernel_size=3, stride=2, padding=2, groups=2, padding_mode="circular")),
    ("c2_replicate_dil", "Conv2d", 1, 3, (7, 7), 3, dict(kernel_size=3, dilation=2, padding=3, padding_mode="replicate")),
    ("c2_big_batch", "Conv2d", 5, 3, (8, 8), 8, dict(kernel_size=5, padding=2)),
    # Conv1d
    ("c1_basic", "Conv1d", 2, 3, (11,), 4, dict(kernel_size=3)),
    ("c1_stride_pad", "Conv1d", 3, 2, (13,), 3, dict(kernel_size=4, stride=3, padding=2)),
    ("c1_dil_nobias", "Conv1d", 2, 3, (12,), 2, dict(kernel_size=3, dilation=3, padding=1, bias=False)),
    ("c1_same_even", "Conv1d", 2, 2, (9,), 3, dict(kernel_size=4, padding="same")),
    ("c1_same_even_dil", "Conv1d", 1, 2, (10,), 2, dict(kernel_size=2, dilation=3, padding="same")),
    ("c1_groups", "Conv1d", 2, 6, (8,), 4, dict(kernel_size=3, padding=1, groups=2)),
    ("c1_depthwise_mult", "Conv1d", 2, 3, (9,), 6, dict(kernel_size=5, padding=2, groups=3)),
    ("c1_reflect", "Conv1d", 2, 2, (7,), 3, dict(kernel_size=3, padding=3, padding_mode="reflect")),
    ("c1_replicate", "Conv1d", 2, 2, (6,), 2, dict(kernel_size=2, padding=3, padding_mode="replicate")),
    ("c1_circular", "Conv1d", 2, 2, (6,), 3, dict(kernel_size=3, stride=2, padding=4, padding_mode="circular")),
    # ConvTranspose2d
    ("t2_basic", "ConvTranspose2d", 2, 3, (4, 5), 2, dict(kernel_size=3)),
    ("t2_stride2_pad", "ConvTranspose2d", 2, 3, (4, 4), 4, dict(kernel_size=4, stride=2, padding=1)),
    ("t2_outpad", "ConvTranspose2d", 2, 2, (3, 4), 3, dict(kernel_size=3, stride=2, padding=1, output_padding=1)),
    ("t2_rect_tuple", "ConvTranspose2d", 1, 2, (3, 5), 3,
     dict(kernel_size=(2, 3), stride=(3, 2), padding=(0, 1), output_padding=(2, 1))),
    ("t2_dil", "ConvTranspose2d", 2, 2, (4, 3), 2, dict(kernel_size=3, dilation=2, padding=1, bias=False)),
    ("t2_groups", "ConvTranspose2d", 2, 4, (3, 3), 6, dict(kernel_size=3, stride=2, groups=2)),
    ("t2_depthwise", "ConvTranspose2d", 2, 3, (4, 4), 3, dict(kernel_size=3, padding=1, groups=3)),
    ("t2_1x1_input", "ConvTranspose2d", 3, 5, (1, 1), 4, dict(kernel_size=4)),
    # ConvTranspose1d
    ("t1_basic", "ConvTranspose1d", 2, 3, (6,), 2, dict(kernel_size=3)),
    ("t1_stride_outpad", "ConvTranspose1d", 2, 2, (5,), 3, dict(kernel_size=4, stride=3, padding=2, output_padding=2)),
    ("t1_dil_groups", "ConvTranspose1d", 1, 4, (5,), 2, dict(kernel_size=3, dilation=2, groups=2, bias=False)),
    ("t1_mult", "ConvTranspose1d", 2, 2, (7,), 6, dict(kernel_size=2, stride=2, groups=2)),
]


def geometry(kind, batch, c_in, spatial, c_out, kw, y_shape):
    """The comp_geom fields of one call, as the compiler would size them."""
    two_d = kind.endswith("2d")
    transposed = kind.startswith("ConvTranspose")
    ks = pair(kw["kernel_size"]) if two_d else (1, kw["kernel_size"])
    st = pair(kw.get("stride", 1)) if two_d else (1, kw.get("stride", 1))
    dl = pair(kw.get("dilation", 1)) if two_d else (1, kw.get("dilation", 1))
    op = pair(kw.get("output_padding", 0)) if two_d else (0, kw.get("output_padding", 0))
    pad = kw.get("padding", 0)
    if pad == "valid":
        before = after = (0, 0)
    elif pad == "same":
        total = [d * (k - 1) for d, k in zip(dl, ks)]
        before = tuple(t // 2 for t in total)
        after = tuple(t - t // 2 for t in total)
    else:
        before = after = pair(pad) if two_d else (0, pad)
    h_in, w_in = spatial if two_d else (1, spatial[0])
    h_out, w_out = y_shape[2:] if two_d else (1, y_shape[2])
    return dict(c_in=c_in, h_in=h_in, w_in=w_in, c_out=c_out, h_out=h_out, w_out=w_out,
                kh=ks[0], kw=ks[1], sh=st[0], sw=st[1], ph=before[0], pw=before[1],
                ph_end=after[0], pw_end=after[1], dh=dl[0], dw=dl[1], oph=op[0], opw=op[1],
                groups=kw.get("groups", 1), mode=MODES.index(kw.get("padding_mode", "zeros")),
                flags=0, divisor=0, transposed=int(transposed), batch=batch,
                bias=int(kw.get("bias", True)))


def call_text(kind, c_in, c_out, kw):
    args = [str(c_in), str(c_out)] + ["%s=%r" % (k, v) for k, v in kw.items()]
    return "%s(%s)" % (kind, ", ".join(args))


def main(argv):
    dirs = golden_dirs(argv, "conv")
    if dirs is None:
        return 2
    (outdir,) = dirs
    for i, (name, kind, batch, c_in, spatial, c_out, kw) in enumerate(CASES):
        torch.manual_seed(1000 + i)
        mod = getattr(nn, kind)(c_in, c_out, **kw)
        x = torch.randn((batch, c_in) + tuple(spatial), requires_grad=True)
        y = mod(x)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        tensors = [("x", x), ("W", mod.weight)]
        if mod.bias is not None:
            tensors.append(("b", mod.bias))
        tensors += [("dy", dy), ("y", y), ("dx", x.grad), ("dW", mod.weight.grad)]
        if mod.bias is not None:
            tensors.append(("db", mod.bias.grad))
        meta = {k: str(v) for k, v in geometry(kind, batch, c_in, spatial, c_out, kw, y.shape).items()}
        meta["call"] = call_text(kind, c_in, c_out, kw)
        meta["torch_version"] = torch.__version__
        write_safetensors(os.path.join(outdir, name + ".safetensors"), tensors, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
