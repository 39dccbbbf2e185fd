#!/usr/bin/env python3
"""Golden files for tests/test_checkpoint.c: a torch state_dict, written
as safetensors the way safetensors.torch.save_file writes it
(torch_check.save_safetensors) (every tensor
in its own dtype, so BatchNorm's num_batches_tracked is int64; no netc
metadata), of the nn.Sequential equivalent to the test's spec

    model ck { input (1, 6, 6)
               layers Conv2d(1, 2, 3) -> BatchNorm2d(2) -> ReLU -> Flatten -> Linear(32, 3) ... }

trained two Adam steps so that the running statistics have moved.  The
test loads it into netc by names and shapes, and checks that the file netc
saves for the spec has exactly this file's keys and shapes: what
load_state_dict(strict=True) requires.

    ckpt/torch_state.safetensors

usage: gen_golden_ckpt.py OUTDIR   (needs python3-torch)
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs  # noqa: E402
# safetensors.torch.save_file's layout: every tensor in its own dtype
from torch_check import save_safetensors  # noqa: E402


def main(argv):
    dirs = golden_dirs(argv, "ckpt")
    if dirs is None:
        return 2
    torch.manual_seed(7)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(8, 1, 6, 6)
    y = torch.randint(0, 3, (8,))
    model.train()
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    save_safetensors(os.path.join(dirs[0], "torch_state.safetensors"), model.state_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
