#!/usr/bin/env python3
"""Generate torchvision's golden outputs of the deterministic parts of the
data transforms (runtime/transform.c), which tests/test_transforms.c
checks bit for bit.

Usage: python3 scripts/gen_golden_transforms.py OUTDIR   (normally
tests/golden; the file goes to OUTDIR/transforms/transforms.safetensors)

Each case i is one call of torchvision.transforms.functional on a float
image x in [0, 1] of shape (C, H, W), as a transform applies it once its
random parameters are drawn:

    i/x      the input
    i/y      torchvision's output
    i/mean, i/std   normalize only: the per-channel values, float32

and "__metadata__" holds "cases", "i" (the call, for messages) and "i/op",
one of

    normalize                        F.normalize(x, mean, std)
    crop TOP LEFT PAD_H PAD_W MODE FILL
                                     F.crop(F.pad(x, [PAD_W, PAD_H], FILL, MODE), TOP, LEFT, H, W)
                                     (MODE 0 constant, 1 edge, 2 reflect, 3 symmetric)
    hflip / vflip                    F.hflip(x) / F.vflip(x)
    erase I J H W VALUE              F.erase(x, I, J, H, W, VALUE)
    mixup LAM                        MixUp of the batch x (N, C, H, W) with its
                                     permutation i/perm and one-hot i/labels
                                     (i/t: the mixed targets), lambda LAM
    cutmix LAM RX RY                 CutMix likewise, its box from LAM and the
                                     centre (RX, RY) (i/box: x1 y1 x2 y2)
    xent_probs LS SUM                F.cross_entropy(i/x, i/t, label_smoothing=LS,
                                     reduction="sum" if SUM else "mean"): i/y the
                                     loss, i/dx its gradient

MixUp and CutMix are torchvision.transforms.v2's (torchvision 0.16+; the
installed torchvision may predate v2, so their computation is written out
here as v2/_augment.py has it, the roll(1, 0) partner being a given
permutation).

Needs torch and torchvision (Debian's python3-torchvision).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

import math  # noqa: E402

import torch  # noqa: E402
import torchvision  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402

MODES = ["constant", "edge", "reflect", "symmetric"]


def main(argv):
    dirs = golden_dirs(argv, "transforms")
    if dirs is None:
        return 2
    g = torch.Generator().manual_seed(19)
    tensors, meta = [], {}
    cases = []

    def image(c, h, w):
        return torch.rand(c, h, w, generator=g)

    # Normalize: one value for all channels, one per channel.
    for c, mean, std in [(1, [0.2860], [0.3530]), (3, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                         (2, [0.5], [0.25])]:
        x = image(c, 5, 6)
        y = F.normalize(x, mean, std)
        m = torch.as_tensor(mean, dtype=torch.float32)
        s = torch.as_tensor(std, dtype=torch.float32)
        cases.append(("F.normalize(x (%d, 5, 6), mean=%s, std=%s)" % (c, mean, std), "normalize", x, y,
                      [("mean", m), ("std", s)]))
    # Crops of a padded image, every mode, offsets at the corners and inside.
    for mode in range(4):
        for top, left, ph, pw, fill in [(0, 0, 2, 2, 0.0), (4, 4, 2, 2, 0.0), (1, 3, 2, 2, 0.5),
                                        (3, 0, 2, 1, 0.0), (0, 2, 1, 3, -1.0)]:
            c, h, w = 2, 5, 6
            x = image(c, h, w)
            padded = F.pad(x, [pw, ph], fill=fill, padding_mode=MODES[mode])
            y = F.crop(padded, top, left, h, w)
            cases.append(("F.crop(F.pad(x (2, 5, 6), [%d, %d], fill=%g, padding_mode=%r), %d, %d, 5, 6)"
                          % (pw, ph, fill, MODES[mode], top, left),
                          "crop %d %d %d %d %d %.9g" % (top, left, ph, pw, mode, fill), x, y, []))
    for c, h, w in [(1, 5, 6), (3, 4, 7)]:
        x = image(c, h, w)
        cases.append(("F.hflip(x (%d, %d, %d))" % (c, h, w), "hflip", x, F.hflip(x), []))
        x = image(c, h, w)
        cases.append(("F.vflip(x (%d, %d, %d))" % (c, h, w), "vflip", x, F.vflip(x), []))
    for i, j, h, w, v in [(1, 2, 3, 2, 0.0), (0, 0, 4, 6, 0.5), (3, 5, 2, 1, -0.25)]:
        x = image(3, 5, 6)
        y = F.erase(x, i, j, h, w, torch.tensor(v))
        cases.append(("F.erase(x (3, 5, 6), %d, %d, %d, %d, %g)" % (i, j, h, w, v),
                      "erase %d %d %d %d %.9g" % (i, j, h, w, v), x, y, []))

    # MixUp and CutMix of a batch with a given permutation and lambda.
    for lam in [0.3, 0.8125, 0.05]:
        n, c, h, w, classes = 5, 2, 4, 6, 3
        x = torch.rand(n, c, h, w, generator=g)
        labels = torch.randint(0, classes, (n,), generator=g)
        perm = torch.randperm(n, generator=g)
        t = torch.nn.functional.one_hot(labels, num_classes=classes).float()
        y = x[perm].mul(1.0 - lam).add_(x.mul(lam))
        tm = t[perm].mul(1.0 - lam).add_(t.mul(lam))
        cases.append(("MixUp lambda=%r" % lam, "mixup %.17g" % lam, x, y,
                      [("labels", labels.float()), ("perm", perm.float()), ("t", tm)]))
        for rx, ry in [(0, 0), (3, 2), (5, 3)]:
            r = 0.5 * math.sqrt(1.0 - lam)
            rw, rh = int(r * w), int(r * h)
            x1, y1 = max(rx - rw, 0), max(ry - rh, 0)
            x2, y2 = min(rx + rw, w), min(ry + rh, h)
            lam_adj = float(1.0 - (x2 - x1) * (y2 - y1) / (w * h))
            y = x.clone()
            y[..., y1:y2, x1:x2] = x[perm][..., y1:y2, x1:x2]
            tc = t[perm].mul(1.0 - lam_adj).add_(t.mul(lam_adj))
            cases.append(("CutMix lambda=%r centre (%d, %d)" % (lam, rx, ry), "cutmix %.17g %d %d" % (lam, rx, ry),
                          x, y, [("labels", labels.float()), ("perm", perm.float()), ("t", tc),
                                 ("box", torch.tensor([x1, y1, x2, y2], dtype=torch.float32))]))
    # CrossEntropy with the mixed targets, with and without label smoothing.
    for ls in [0.0, 0.1]:
        for red in ["mean", "sum"]:
            logits = (torch.randn(6, 5, generator=g) * 3).requires_grad_()
            probs = torch.rand(6, 5, generator=g)
            probs = probs / probs.sum(1, keepdim=True)
            loss = torch.nn.functional.cross_entropy(logits, probs, label_smoothing=ls, reduction=red)
            loss.backward()
            cases.append(("F.cross_entropy(x (6, 5), probabilities, label_smoothing=%g, reduction=%r)" % (ls, red),
                          "xent_probs %g %d" % (ls, red == "sum"), logits.detach(), loss.detach().reshape(1),
                          [("t", probs), ("dx", logits.grad)]))

    for k, (call, op, x, y, extra) in enumerate(cases):
        meta[str(k)] = call
        meta["%d/op" % k] = op
        tensors.append(("%d/x" % k, x))
        tensors.append(("%d/y" % k, y))
        for name, t in extra:
            tensors.append(("%d/%s" % (k, name), t))
    meta["cases"] = str(len(cases))
    meta["torch_version"] = torch.__version__
    meta["torchvision_version"] = torchvision.__version__
    write_safetensors(os.path.join(dirs[0], "transforms.safetensors"), tensors, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
