#!/usr/bin/env python3
"""torch_predict.py — the PyTorch twin of `netc predict` at a large batch, for bench/run.sh.

The 784-256-256-10 ReLU MLP of specs/mnist_mlp_default.net (nn.Sequential,
default nn.Linear initialisation: the weights do not change the time) in
eval mode under torch.no_grad(), one thread, runs model(x) on the test
images of an IDX directory as one batch (at most --batch of them).

usage: torch_predict.py DATA_DIR [--batch N] [--threads N] [--warmup N] [--calls N]

DATA_DIR holds t10k-images-idx3-ubyte (gzip-compressed or not), read
with bench/torch_common.py's loader: pixels / 255 as float32, converted
before any clock starts.

Prints on stderr, in the format of `netc predict`'s timing line:
  predict: N samples in S s (R samples/s)
      the median of --calls timed calls after --warmup untimed ones:
      PyTorch's steady state, its best case (its allocator has by then
      stopped asking the kernel for fresh pages for each call's outputs);
  predict first call: N samples in S s (R samples/s)
      the first call of the process, as a one-batch run would see it;
  torch: VERSION, T thread(s), BLAS LIBRARY
"""
import argparse

import torch
from torch import nn

from torch_common import load_images, print_torch, set_threads, time_predict


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--calls", type=int, default=11)
    a = ap.parse_args()

    set_threads(a.threads)
    torch.manual_seed(1)

    x = load_images(a.data, "t10k", limit=a.batch)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )
    time_predict(model, x, a.warmup, a.calls)
    print_torch()


if __name__ == "__main__":
    main()
