#!/usr/bin/env python3
"""Generate the reference vectors of netc's int8 arithmetic
(runtime/q8_math.c), which tests/test_q8.c checks.

Usage: /usr/bin/python3 scripts/gen_golden_q8.py OUTDIR   (normally
tests/golden; the file goes to OUTDIR/q8/arith.txt)

The formulas are TensorFlow Lite's int8 reference ones, written again here
with Python integers and numpy: QuantizeMultiplier
(quantization_util.cc), SaturatingRoundingDoublingHighMul and
RoundingDivideByPOT (gemmlowp fixedpoint.h), MultiplyByQuantizedMultiplier
(kernels/internal/common.h) and the per-channel FullyConnected reference
kernel (reference/integer_ops/fully_connected.h).  Python's integers do
not overflow and its // floors, so each C idiom (truncating division,
arithmetic shift) is spelled out.

One line per case, fields separated by spaces, floats as float.hex():

    qm REAL MULT SHIFT                QuantizeMultiplier(REAL)
    srdhm A B R                       SaturatingRoundingDoublingHighMul
    rdbpot X E R                      RoundingDivideByPOT(X, E)
    mbqm X MULT SHIFT R               MultiplyByQuantizedMultiplier
    params LO HI SCALE ZP             activation parameters of [LO, HI]
    linear ROWS K CH LO HI            then lines "x", "w", "b" (floats) and
                                      "qx", "qw", "sw", "qb", "mult",
                                      "shift", "qy" (what netc must compute)
                                      and "sy ZP" the output's parameters

Only numpy and the standard library are needed.  When torch is importable
the script also cross-checks, where torch.ao.quantization's scheme is the
same, the activation parameters (MinMaxObserver, qint8, per-tensor affine)
and the per-channel weight quantization (torch.quantize_per_channel with
netc's scales) and prints how many agree.  Weights can differ only at
exact ties (torch rounds halves to even, TFLite away from zero); an
activation scale can differ in its last bit, because the observer divides
in float32 where TFLite's ChooseQuantizationParams (and netc) divide in
double.
"""

import math
import os
import sys

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def tfl_round(x):
    """TfLiteRound / C round(): halves away from zero (Python's round is
    to even)."""
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def quantize_multiplier(m):
    if m == 0.0:
        return 0, 0
    q, e = math.frexp(m)
    q_fixed = int(tfl_round(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        e += 1
    if e < -31:
        e, q_fixed = 0, 0
    return q_fixed, e


def c_div(a, b):
    """C's integer division, truncating toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def srdhm(a, b):
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return c_div(ab + nudge, 1 << 31)


def rdbpot(x, e):
    mask = (1 << e) - 1
    rem = x & mask          # two's complement and, as int32's
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)   # Python's >> is arithmetic


def mbqm(x, mult, shift):
    left = max(shift, 0)
    right = max(-shift, 0)
    v = min(max(x * (1 << left), INT32_MIN), INT32_MAX)
    return rdbpot(srdhm(v, mult), right)


def choose_params(lo, hi):
    """TFLite's ChooseQuantizationParams (quantization_util.h): double
    scale; the zero point from (lo, -128) or (hi, 127), whichever adds the
    smaller terms, then nudged into [-128, 127]."""
    l, h = min(float(lo), 0.0), max(float(hi), 0.0)
    if h - l == 0:
        return np.float32(1.0), 0
    s = (h - l) / 255.0
    from_min, from_max = -128.0 - l / s, 127.0 - h / s
    zp = from_min if 128.0 + abs(l / s) < 127.0 + abs(h / s) else from_max
    zp = -128 if zp < -128 else 127 if zp > 127 else tfl_round(zp)
    return np.float32(s), int(zp)


def quantize(x, s, zp):
    q = [tfl_round(float(np.float32(v) / np.float32(s))) + zp for v in x]
    return [int(min(max(v, -128), 127)) for v in q]


def quantize_weights(w):
    qs, ss = [], []
    for row in w:
        m = float(np.max(np.abs(row)))
        s = np.float32(m / 127.0) if m > 0 else np.float32(1.0)
        ss.append(s)
        qs.append([int(min(max(tfl_round(float(v) / float(s)), -127), 127)) for v in row])
    return qs, ss


def quantize_bias(b, s_in, s_w):
    v = tfl_round(float(b) / (float(s_in) * float(s_w)))
    return int(min(max(v, INT32_MIN), INT32_MAX))


def fmt_f(v):
    return float(v).hex()


def linear_case(out, rng, rows, k, ch, act_lo, act_hi, wscale):
    x = rng.standard_normal((rows, k)).astype(np.float32) * np.float32(1.5)
    w = (rng.standard_normal((ch, k)) * wscale).astype(np.float32)
    if ch > 2:
        w[1, :] = 0     # an all-zero channel
    b = (rng.standard_normal(ch) * 0.1).astype(np.float32)
    sx, zx = choose_params(x.min(), x.max())
    qx = [quantize(r, sx, zx) for r in x]
    # The output's range comes from the float result, as calibration does.
    yf = x.astype(np.float64) @ w.astype(np.float64).T + b
    sy, zy = choose_params(yf.min(), yf.max())
    qw, sw = quantize_weights(w)
    qb = [quantize_bias(b[c], sx, sw[c]) for c in range(ch)]
    mult, shift = zip(*[quantize_multiplier(float(sx) * float(sw[c]) / float(sy)) for c in range(ch)])
    qy = []
    for r in range(rows):
        for c in range(ch):
            acc = qb[c] + sum(qw[c][i] * (qx[r][i] - zx) for i in range(k))
            v = mbqm(acc, mult[c], shift[c]) + zy
            qy.append(min(max(v, act_lo), act_hi))
    out.append("linear %d %d %d %d %d" % (rows, k, ch, act_lo, act_hi))
    out.append("x " + " ".join(fmt_f(v) for v in x.ravel()))
    out.append("w " + " ".join(fmt_f(v) for v in w.ravel()))
    out.append("b " + " ".join(fmt_f(v) for v in b))
    out.append("qx %s %d %s" % (fmt_f(sx), zx, " ".join(str(v) for r in qx for v in r)))
    out.append("qw " + " ".join(str(v) for r in qw for v in r))
    out.append("sw " + " ".join(fmt_f(v) for v in sw))
    out.append("qb " + " ".join(str(v) for v in qb))
    out.append("mult " + " ".join(str(v) for v in mult))
    out.append("shift " + " ".join(str(v) for v in shift))
    out.append("sy %s %d" % (fmt_f(sy), zy))
    out.append("qy " + " ".join(str(v) for v in qy))


def cross_check_torch(rng):
    try:
        import torch
        from torch.ao.quantization.observer import MinMaxObserver
    except ImportError:
        print("gen_golden_q8: no torch, cross-check skipped")
        return
    same = total = 0
    for _ in range(200):
        x = torch.from_numpy(rng.standard_normal(50).astype(np.float32) * 3 + rng.standard_normal() * 2)
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
        obs(x)
        ts, tz = obs.calculate_qparams()
        s, zp = choose_params(np.float32(x.min()), np.float32(x.max()))
        total += 1
        same += float(ts) == float(s) and int(tz) == zp
    print("gen_golden_q8: activation parameters equal to MinMaxObserver's in %d of %d ranges" % (same, total))
    same = total = 0
    for _ in range(20):
        w = rng.standard_normal((8, 30)).astype(np.float32)
        qw, sw = quantize_weights(w)
        tq = torch.quantize_per_channel(torch.from_numpy(w), torch.tensor([float(v) for v in sw], dtype=torch.float64),
                                        torch.zeros(8, dtype=torch.int64), 0, torch.qint8).int_repr().numpy()
        total += tq.size
        same += int((tq == np.array(qw)).sum())
    print("gen_golden_q8: weights equal to torch.quantize_per_channel's in %d of %d" % (same, total))


def main():
    outdir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "tests/golden", "q8")
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(16)
    out = []
    # QuantizeMultiplier: powers of two, values that round up to 2^31
    # (renormalised), tiny ones that underflow the shift, > 1 multipliers.
    reals = [0.0, 1.0, 0.5, 0.25, 2.0, 3.0, 1.0 - 2.0 ** -33, 1.0 - 2.0 ** -32, 0.75, 1e-3,
             2.0 ** -31, 2.0 ** -32, 2.0 ** -33, 1e-12, 123.456, 0.999999999]
    reals += list(rng.uniform(1e-5, 2.0, 40))
    reals += list(np.exp(rng.uniform(-25, 3, 40)))
    for r in reals:
        m, s = quantize_multiplier(float(r))
        out.append("qm %s %d %d" % (float(r).hex(), m, s))
    # SRDHM: the overflow, ties of both signs, extremes.
    pairs = [(INT32_MIN, INT32_MIN), (INT32_MAX, INT32_MAX), (INT32_MIN, INT32_MAX), (1 << 30, 1),
             (1, 1 << 30), (-1, 1 << 30), (3, 1 << 30), (-3, 1 << 30), (0, INT32_MIN), (INT32_MIN, 1),
             (INT32_MIN, -1), (1 << 16, 1 << 15), (-(1 << 16), 1 << 15)]
    pairs += [(int(a), int(b)) for a, b in rng.integers(INT32_MIN, INT32_MAX, (60, 2), endpoint=True)]
    for a, b in pairs:
        out.append("srdhm %d %d %d" % (a, b, srdhm(a, b)))
    # RoundingDivideByPOT: exact halves of both signs (ties away from 0).
    xs = [(5, 1), (-5, 1), (6, 2), (-6, 2), (2, 2), (-2, 2), (3, 1), (-3, 1), (0, 5), (1, 0),
          (INT32_MAX, 31), (INT32_MIN, 31), (INT32_MIN, 1), (INT32_MAX, 1), (-1, 1), (1, 1), (-1, 31)]
    xs += [(int(x), int(e)) for x, e in zip(rng.integers(INT32_MIN, INT32_MAX, 60, endpoint=True),
                                             rng.integers(0, 32, 60))]
    for x, e in xs:
        out.append("rdbpot %d %d %d" % (x, e, rdbpot(x, e)))
    # MultiplyByQuantizedMultiplier: with real multipliers' fixed forms.
    for _ in range(80):
        m, s = quantize_multiplier(float(np.exp(rng.uniform(-20, 2))))
        x = int(rng.integers(-(1 << 24), 1 << 24))
        out.append("mbqm %d %d %d %d" % (x, m, s, mbqm(x, m, s)))
    for x, m, s in [(INT32_MAX, 1 << 30, 1), (INT32_MIN, 1 << 30, 1), (100, INT32_MAX, -31), (-100, 1 << 30, 0)]:
        out.append("mbqm %d %d %d %d" % (x, m, s, mbqm(x, m, s)))
    # Activation parameters: ranges away from 0 are widened to hold it.
    for lo, hi in [(0.0, 0.0), (-1.0, 1.0), (0.0, 6.0), (0.5, 3.0), (-3.0, -0.5), (-0.1, 10.0),
                   (-10.0, 0.1), (-1e-8, 1e-8),
                   # zero point 126 from the double scale (127 from the float one)
                   (float.fromhex('-0x1.8cb18ep+6'), float.fromhex('0x1.8f092cp-3'))] + [tuple(sorted(rng.standard_normal(2) * 4)) for _ in range(20)]:
        lo, hi = np.float32(lo), np.float32(hi)
        s, zp = choose_params(lo, hi)
        out.append("params %s %s %s %d" % (fmt_f(lo), fmt_f(hi), fmt_f(s), zp))
    linear_case(out, rng, 3, 17, 5, -128, 127, 0.3)
    linear_case(out, rng, 4, 64, 8, -128, 127, 0.05)
    linear_case(out, rng, 2, 9, 4, 0, 127, 2.0)      # > 1 multipliers possible
    cross_check_torch(rng)
    with open(os.path.join(outdir, "arith.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
