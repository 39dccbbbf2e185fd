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

Needs torch and torchvision (Debian's python3-torchvision).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

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
