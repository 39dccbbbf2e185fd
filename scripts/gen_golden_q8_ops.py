#!/usr/bin/env python3
"""Generate the reference vectors of netc's int8 kernels
(runtime/q8_kernels.c), which tests/test_q8.c checks.

Usage: /usr/bin/python3 scripts/gen_golden_q8_ops.py OUTDIR   (normally
tests/golden; the file goes to OUTDIR/q8/ops.txt)

Each kernel is written again from TensorFlow Lite's int8 reference
kernels (reference/integer_ops/conv.h, depthwise_conv.h, pooling.h, the
LUT of kernels/internal/common.h, CalculateActivationRangeQuantized) with
Python integers, reusing scripts/gen_golden_q8.py's fixed-point
arithmetic.  The float activation a table is computed from is torch's
(torch.nn's module in float32), which netc's activations are tested
against; torch is needed.

One line per case, fields separated by spaces, floats as float.hex():

    conv N CIN H W COUT KH KW SH SW PH PW DH DW G ACT A B
                          then "x", "w", "b" (floats); netc takes them
                          through parameters, weight and bias quantization
                          and multipliers as netc quantize does, and must
                          give "qy" (after "sy SCALE ZP", the output's
                          parameters)
    maxpool N C H W KH KW SH SW PH PW DH DW        then "qx", "qy"
    avgpool N C H W KH KW SH SW PH PW INCLUDE_PAD DIVISOR ZP   then "qx", "qy"
    lut NAME A B SIN ZPIN SOUT ZPOUT               then "t" (256 int8)
    clamp NAME A B SCALE ZP LO HI
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden_q8 import (choose_params, fmt_f, mbqm, quantize, quantize_bias,  # noqa: E402
                           quantize_multiplier, quantize_weights, tfl_round)


def clamp_range(act, a, b, s, zp):
    """CalculateActivationRangeQuantized: zp + round(f / scale) in float."""
    def q(f):
        return zp + int(tfl_round(float(np.float32(f) / np.float32(s))))
    lo, hi = -128, 127
    if act == "ReLU":
        lo = q(0.0)
    elif act == "ReLU6":
        lo, hi = q(0.0), q(6.0)
    elif act == "Hardtanh":
        lo, hi = q(a), q(b)
    return max(lo, -128), min(hi, 127)


def conv_case(out, rng, n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, g, act, a=0.0, b=0.0):
    x = (rng.standard_normal((n, cin, h, w)) * 1.3).astype(np.float32)
    wt = (rng.standard_normal((cout, cin // g, kh, kw)) * 0.4).astype(np.float32)
    bias = (rng.standard_normal(cout) * 0.2).astype(np.float32)
    conv = torch.nn.functional.conv2d(torch.from_numpy(x).double(), torch.from_numpy(wt).double(),
                                      torch.from_numpy(bias).double(), (sh, sw), (ph, pw), (dh, dw), g)
    if act == "ReLU":
        conv = conv.clamp(min=0)
    elif act == "ReLU6":
        conv = conv.clamp(0, 6)
    elif act == "Hardtanh":
        conv = conv.clamp(a, b)
    sx, zx = choose_params(x.min(), x.max())
    sy, zy = choose_params(float(conv.min()), float(conv.max()))
    qx = np.array(quantize(x.ravel(), sx, zx)).reshape(x.shape)
    qw, swt = quantize_weights(wt.reshape(cout, -1))
    qw = np.array(qw).reshape(wt.shape)
    qb = [quantize_bias(bias[c], sx, swt[c]) for c in range(cout)]
    mult, shift = zip(*[quantize_multiplier(float(sx) * float(swt[c]) / float(sy)) for c in range(cout)])
    lo, hi = clamp_range(act, a, b, sy, zy)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cin_g, cout_g = cin // g, cout // g
    qy = []
    for s in range(n):
        for c in range(cout):
            grp = c // cout_g
            for oh in range(ho):
                for ow in range(wo):
                    acc = qb[c]
                    for ci in range(cin_g):
                        for i in range(kh):
                            ih = oh * sh - ph + i * dh
                            if ih < 0 or ih >= h:
                                continue
                            for j in range(kw):
                                iw = ow * sw - pw + j * dw
                                if 0 <= iw < w:
                                    acc += int(qw[c, ci, i, j]) * (int(qx[s, grp * cin_g + ci, ih, iw]) - zx)
                    v = mbqm(acc, mult[c], shift[c]) + zy
                    qy.append(min(max(v, lo), hi))
    out.append("conv %d %d %d %d %d %d %d %d %d %d %d %d %d %d %s %s %s" % (
        n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, g, act, fmt_f(a), fmt_f(b)))
    out.append("x " + " ".join(fmt_f(v) for v in x.ravel()))
    out.append("w " + " ".join(fmt_f(v) for v in wt.ravel()))
    out.append("b " + " ".join(fmt_f(v) for v in bias))
    out.append("sy %s %d" % (fmt_f(sy), zy))
    out.append("qy " + " ".join(str(v) for v in qy))


def pool_out(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


def maxpool_case(out, rng, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw):
    qx = rng.integers(-128, 128, (n, c, h, w))
    ho, wo = pool_out(h, kh, sh, ph, dh), pool_out(w, kw, sw, pw, dw)
    qy = []
    for pl in qx.reshape(n * c, h, w):
        for oh in range(ho):
            for ow in range(wo):
                m = -128
                for i in range(kh):
                    ih = oh * sh - ph + i * dh
                    for j in range(kw):
                        iw = ow * sw - pw + j * dw
                        if 0 <= ih < h and 0 <= iw < w:
                            m = max(m, int(pl[ih, iw]))
                qy.append(m)
    out.append("maxpool %d %d %d %d %d %d %d %d %d %d %d %d" % (n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw))
    out.append("qx " + " ".join(str(int(v)) for v in qx.ravel()))
    out.append("qy " + " ".join(str(v) for v in qy))


def avgpool_case(out, rng, n, c, h, w, kh, kw, sh, sw, ph, pw, include_pad, divisor, zp):
    qx = rng.integers(-128, 128, (n, c, h, w))
    ho, wo = pool_out(h, kh, sh, ph, 1), pool_out(w, kw, sw, pw, 1)
    qy = []
    for pl in qx.reshape(n * c, h, w):
        for oh in range(ho):
            for ow in range(wo):
                a0, b0 = oh * sh - ph, min(oh * sh - ph + kh, h + ph)
                a1, b1 = ow * sw - pw, min(ow * sw - pw + kw, w + pw)
                tot, cnt = 0, 0
                for ih in range(max(a0, 0), min(b0, h)):
                    for iw in range(max(a1, 0), min(b1, w)):
                        tot += int(pl[ih, iw])
                        cnt += 1
                # torch's divide_factor
                div = divisor if divisor else (b0 - a0) * (b1 - a1) if include_pad else cnt
                tot += (div - cnt) * zp       # padded / overridden elements are real 0
                avg = (tot + div // 2) // div if tot > 0 else -((-tot + div // 2) // div)
                qy.append(min(max(avg, -128), 127))
    out.append("avgpool %d %d %d %d %d %d %d %d %d %d %d %d %d" % (
        n, c, h, w, kh, kw, sh, sw, ph, pw, include_pad, divisor, zp))
    out.append("qx " + " ".join(str(int(v)) for v in qx.ravel()))
    out.append("qy " + " ".join(str(v) for v in qy))


def torch_act(name, a, b):
    nn = torch.nn
    return {"Sigmoid": lambda: nn.Sigmoid(), "Tanh": lambda: nn.Tanh(), "GELU": lambda: nn.GELU(),
            "SiLU": lambda: nn.SiLU(), "ELU": lambda: nn.ELU(a), "LeakyReLU": lambda: nn.LeakyReLU(a),
            "Hardswish": lambda: nn.Hardswish(), "Softplus": lambda: nn.Softplus(a, b),
            "Mish": lambda: nn.Mish(), "ReLU": lambda: nn.ReLU()}[name]()


def lut_case(out, name, a, b, s_in, zp_in, s_out, zp_out):
    s_in, s_out = np.float32(s_in), np.float32(s_out)
    x = np.array([s_in * np.float32(q - zp_in) for q in range(-128, 128)], dtype=np.float32)
    y = torch_act(name, a, b)(torch.from_numpy(x)).numpy()
    inv = np.float32(1.0) / s_out
    t = [min(max(int(tfl_round(float(np.float32(v) * inv))) + zp_out, -128), 127) for v in y]
    out.append("lut %s %s %s %s %d %s %d" % (name, fmt_f(a), fmt_f(b), fmt_f(s_in), zp_in, fmt_f(s_out), zp_out))
    out.append("t " + " ".join(str(v) for v in t))


def main():
    outdir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "tests/golden", "q8")
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(1616)
    out = []
    conv_case(out, rng, 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, "ReLU")
    conv_case(out, rng, 1, 4, 9, 8, 6, 3, 2, 2, 1, 0, 1, 2, 1, 2, "Identity")     # groups, dilation
    conv_case(out, rng, 2, 5, 6, 6, 5, 3, 3, 1, 2, 1, 1, 1, 1, 5, "ReLU6")        # depthwise
    conv_case(out, rng, 1, 2, 1, 11, 3, 1, 4, 1, 1, 0, 2, 1, 1, 1, "Hardtanh", -0.5, 1.0)  # Conv1d as h = 1
    maxpool_case(out, rng, 2, 3, 6, 7, 2, 2, 2, 2, 0, 0, 1, 1)
    maxpool_case(out, rng, 1, 2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1)
    maxpool_case(out, rng, 1, 2, 8, 8, 2, 3, 1, 2, 1, 1, 2, 1)
    avgpool_case(out, rng, 2, 3, 6, 6, 2, 2, 2, 2, 0, 0, 1, 0, -7)
    avgpool_case(out, rng, 1, 2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 0, 13)
    avgpool_case(out, rng, 1, 2, 7, 7, 3, 3, 2, 2, 1, 1, 0, 0, -128)
    avgpool_case(out, rng, 1, 2, 5, 5, 2, 2, 1, 1, 1, 1, 1, 3, 40)
    for name, a, b in [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("GELU", 0, 0), ("SiLU", 0, 0), ("ELU", 1.0, 0),
                       ("LeakyReLU", 0.01, 0), ("Hardswish", 0, 0), ("Softplus", 1.0, 20.0), ("Mish", 0, 0),
                       ("ReLU", 0, 0)]:
        for s_in, zp_in, s_out, zp_out in [(0.031, -3, 0.0039, -128), (0.1, 20, 0.05, 5), (0.004, 127, 0.02, -128)]:
            lut_case(out, name, a, b, s_in, zp_in, s_out, zp_out)
    for name, a, b in [("ReLU", 0, 0), ("ReLU6", 0, 0), ("Hardtanh", -1.0, 1.0), ("Identity", 0, 0),
                       ("Hardtanh", -100.0, 100.0)]:
        for s, zp in [(0.05, -20), (0.01, 100), (0.5, -128), (0.003, 0)]:
            lo, hi = clamp_range(name, a, b, np.float32(s), zp)
            out.append("clamp %s %s %s %s %d %d %d" % (name, fmt_f(a), fmt_f(b), fmt_f(np.float32(s)), zp, lo, hi))
    with open(os.path.join(outdir, "ops.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
